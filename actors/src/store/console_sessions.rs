//! Console login sessions, known by the SHA-256 of their id (the id itself lives only in the
//! browser's cookie). Any replica can check a session: they are rows, not process memory.

use super::sql::{query_opt, Db, StoreError};

/// A live session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    /// The admin credential logged in with; `None` for the configured admin token.
    pub credential_id: Option<i64>,
    /// Who logged in (the credential's name).
    pub principal: String,
    /// The credential's role (`administrator`...).
    pub role: String,
    /// When it was created, unix ms.
    pub created_at_ms: i64,
    /// Last request seen with it, unix ms (updated at most every minute).
    pub last_seen_at_ms: i64,
    /// Absolute end, unix ms.
    pub expires_at_ms: i64,
}

/// Stores a new session.
pub async fn create(db: &dyn Db, id_sha256: &str, row: &SessionRow) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO console_sessions (id_sha256, principal, role, created_at_ms, \
         last_seen_at_ms, expires_at_ms, credential_id) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            id_sha256.into(),
            row.principal.as_str().into(),
            row.role.as_str().into(),
            row.created_at_ms.into(),
            row.last_seen_at_ms.into(),
            row.expires_at_ms.into(),
            row.credential_id.into(),
        ],
    )
    .await?;
    Ok(())
}

/// The session `id_sha256` if it is live at `now_ms`: before its absolute expiry, seen
/// within `idle_ms`, and its credential (if not the configured token) neither revoked nor
/// past its end.
pub async fn live(
    db: &dyn Db,
    id_sha256: &str,
    now_ms: i64,
    idle_ms: i64,
) -> Result<Option<SessionRow>, StoreError> {
    let row = query_opt(
        db,
        "SELECT s.principal, s.role, s.created_at_ms, s.last_seen_at_ms, s.expires_at_ms, \
         s.credential_id FROM console_sessions s \
         LEFT JOIN admin_credentials c ON c.id = s.credential_id \
         WHERE s.id_sha256 = $1 AND s.expires_at_ms > $2 AND s.last_seen_at_ms > $3 \
         AND (s.credential_id IS NULL OR (c.revoked_at_ms IS NULL \
         AND (c.expires_at_ms IS NULL OR c.expires_at_ms > $2)))",
        &[id_sha256.into(), now_ms.into(), (now_ms - idle_ms).into()],
    )
    .await?;
    row.map(|r| {
        Ok(SessionRow {
            principal: r.text(0)?,
            role: r.text(1)?,
            created_at_ms: r.i64(2)?,
            last_seen_at_ms: r.i64(3)?,
            expires_at_ms: r.i64(4)?,
            credential_id: r.opt_i64(5)?,
        })
    })
    .transpose()
}

/// Records that the session was used at `now_ms`.
pub async fn touch(db: &dyn Db, id_sha256: &str, now_ms: i64) -> Result<(), StoreError> {
    db.execute(
        "UPDATE console_sessions SET last_seen_at_ms = $2 WHERE id_sha256 = $1",
        &[id_sha256.into(), now_ms.into()],
    )
    .await?;
    Ok(())
}

/// Ends the session (logout); returns whether it existed.
pub async fn delete(db: &dyn Db, id_sha256: &str) -> Result<bool, StoreError> {
    Ok(db
        .execute(
            "DELETE FROM console_sessions WHERE id_sha256 = $1",
            &[id_sha256.into()],
        )
        .await?
        == 1)
}

/// Removes the sessions that ended before `now_ms` (expired or idle longer than `idle_ms`);
/// returns how many.
pub async fn purge(db: &dyn Db, now_ms: i64, idle_ms: i64) -> Result<u64, StoreError> {
    db.execute(
        "DELETE FROM console_sessions WHERE expires_at_ms <= $1 OR last_seen_at_ms <= $2",
        &[now_ms.into(), (now_ms - idle_ms).into()],
    )
    .await
}
