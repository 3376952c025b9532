//! Admin credentials: bearer tokens with a role, known by their SHA-256 (the token itself is
//! shown once, when issued). A credential is live until revoked or past its end; rotating
//! one gives the old token an end and issues a new one under the same name, so clients
//! switch without downtime.

use super::sql::{query_opt, Db, Row, StoreError};
use serde::Serialize;

/// A stored credential (never its token).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Credential {
    /// Id.
    pub id: i64,
    /// Who holds it (a person or a system), as the audit log names them.
    pub name: String,
    /// `read_only`, `operator` or `administrator`.
    pub role: String,
    /// When issued, unix ms.
    pub created_at_ms: i64,
    /// Who issued it.
    pub created_by: String,
    /// When it stops working, unix ms; absent: until revoked.
    pub expires_at_ms: Option<i64>,
    /// When it was revoked, unix ms.
    pub revoked_at_ms: Option<i64>,
    /// Its last use (at most a minute old), unix ms.
    pub last_used_at_ms: Option<i64>,
}

/// A credential to issue.
#[derive(Clone, Debug)]
pub struct NewCredential<'a> {
    /// Holder.
    pub name: &'a str,
    /// Role name.
    pub role: &'a str,
    /// SHA-256 (hex) of the token.
    pub token_sha256: &'a str,
    /// Issuer.
    pub created_by: &'a str,
    /// When issued, unix ms.
    pub now_ms: i64,
    /// End, unix ms.
    pub expires_at_ms: Option<i64>,
}

const COLUMNS: &str =
    "id, name, role, created_at_ms, created_by, expires_at_ms, revoked_at_ms, last_used_at_ms";

fn credential(r: &Row) -> Result<Credential, StoreError> {
    Ok(Credential {
        id: r.i64(0)?,
        name: r.text(1)?,
        role: r.text(2)?,
        created_at_ms: r.i64(3)?,
        created_by: r.text(4)?,
        expires_at_ms: r.opt_i64(5)?,
        revoked_at_ms: r.opt_i64(6)?,
        last_used_at_ms: r.opt_i64(7)?,
    })
}

/// Stores a new credential; returns it.
pub async fn create(db: &dyn Db, new: &NewCredential<'_>) -> Result<Credential, StoreError> {
    let row = query_opt(
        db,
        &format!(
            "INSERT INTO admin_credentials (name, role, token_sha256, created_at_ms, \
             created_by, expires_at_ms) VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
        ),
        &[
            new.name.into(),
            new.role.into(),
            new.token_sha256.into(),
            new.now_ms.into(),
            new.created_by.into(),
            new.expires_at_ms.into(),
        ],
    )
    .await?
    .ok_or_else(|| StoreError::Decode("INSERT RETURNING gave no row".into()))?;
    credential(&row)
}

/// Every credential, newest first.
pub async fn list(db: &dyn Db) -> Result<Vec<Credential>, StoreError> {
    db.query(
        &format!("SELECT {COLUMNS} FROM admin_credentials ORDER BY id DESC"),
        &[],
    )
    .await?
    .iter()
    .map(credential)
    .collect()
}

/// The credential `id`.
pub async fn get(db: &dyn Db, id: i64) -> Result<Option<Credential>, StoreError> {
    query_opt(
        db,
        &format!("SELECT {COLUMNS} FROM admin_credentials WHERE id = $1"),
        &[id.into()],
    )
    .await?
    .map(|r| credential(&r))
    .transpose()
}

/// The credential whose token hashes to `token_sha256`, if it is live at `now_ms`.
pub async fn live_by_token(
    db: &dyn Db,
    token_sha256: &str,
    now_ms: i64,
) -> Result<Option<Credential>, StoreError> {
    query_opt(
        db,
        &format!(
            "SELECT {COLUMNS} FROM admin_credentials WHERE token_sha256 = $1 \
             AND revoked_at_ms IS NULL AND (expires_at_ms IS NULL OR expires_at_ms > $2)"
        ),
        &[token_sha256.into(), now_ms.into()],
    )
    .await?
    .map(|r| credential(&r))
    .transpose()
}

/// Records the use of credential `id` at `now_ms`.
pub async fn touch(db: &dyn Db, id: i64, now_ms: i64) -> Result<(), StoreError> {
    db.execute(
        "UPDATE admin_credentials SET last_used_at_ms = $2 WHERE id = $1",
        &[id.into(), now_ms.into()],
    )
    .await?;
    Ok(())
}

/// Revokes credential `id` at `now_ms` and ends its console sessions; returns whether it
/// was live.
pub async fn revoke(db: &dyn Db, id: i64, now_ms: i64) -> Result<bool, StoreError> {
    let n = db
        .execute(
            "UPDATE admin_credentials SET revoked_at_ms = $2 \
             WHERE id = $1 AND revoked_at_ms IS NULL",
            &[id.into(), now_ms.into()],
        )
        .await?;
    db.execute(
        "DELETE FROM console_sessions WHERE credential_id = $1",
        &[id.into()],
    )
    .await?;
    Ok(n == 1)
}

/// Gives credential `id` an end at `until_ms` (or keeps an earlier one), as a rotation
/// does to the token it replaces.
pub async fn end_at(db: &dyn Db, id: i64, until_ms: i64) -> Result<(), StoreError> {
    db.execute(
        "UPDATE admin_credentials SET expires_at_ms = $2 \
         WHERE id = $1 AND (expires_at_ms IS NULL OR expires_at_ms > $2)",
        &[id.into(), until_ms.into()],
    )
    .await?;
    Ok(())
}
