//! The admin audit log: one row per change made through the admin API or the console (who,
//! how authenticated, which operation, on what, with what result, and the request body with
//! its secrets masked by the caller).

use super::sql::{Db, Row, StoreError};
use serde::Serialize;

/// How the caller of an audited request authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AuditVia {
    /// A bearer token on the request.
    Token,
    /// A console session cookie.
    Session,
    /// A console login (the request that creates a session).
    Login,
}

impl AuditVia {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditVia::Token => "token",
            AuditVia::Session => "session",
            AuditVia::Login => "login",
        }
    }

    fn parse(s: &str) -> Result<AuditVia, StoreError> {
        match s {
            "token" => Ok(AuditVia::Token),
            "session" => Ok(AuditVia::Session),
            "login" => Ok(AuditVia::Login),
            other => Err(StoreError::Decode(format!("admin_audit.via {other:?}"))),
        }
    }
}

/// One audited request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// Row id (0 before it is stored).
    pub id: i64,
    /// When the request was answered, unix ms.
    pub at_ms: i64,
    /// Who made it (the credential's name; `anonymous` for a refused login).
    pub principal: String,
    /// The credential's role.
    pub role: String,
    /// How the caller authenticated.
    pub via: AuditVia,
    /// HTTP method.
    pub method: String,
    /// Route pattern (`/admin/v1/terminals/{id}`).
    pub route: String,
    /// The path as requested.
    pub path: String,
    /// HTTP status answered.
    pub status: i64,
    /// The JSON request body with secrets masked; absent when there was none.
    pub body: Option<String>,
}

/// Records `entry` (its `id` is ignored).
pub async fn record(db: &dyn Db, entry: &AuditEntry) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO admin_audit (at_ms, principal, role, via, method, route, path, status, \
         body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            entry.at_ms.into(),
            entry.principal.as_str().into(),
            entry.role.as_str().into(),
            entry.via.as_str().into(),
            entry.method.as_str().into(),
            entry.route.as_str().into(),
            entry.path.as_str().into(),
            entry.status.into(),
            entry.body.clone().into(),
        ],
    )
    .await?;
    Ok(())
}

/// Up to `limit` entries, newest first, with ids below `before_id` when given.
pub async fn list(
    db: &dyn Db,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditEntry>, StoreError> {
    db.query(
        "SELECT id, at_ms, principal, role, via, method, route, path, status, body \
         FROM admin_audit WHERE id < $1 ORDER BY id DESC LIMIT $2",
        &[before_id.unwrap_or(i64::MAX).into(), limit.into()],
    )
    .await?
    .iter()
    .map(entry)
    .collect()
}

fn entry(r: &Row) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        id: r.i64(0)?,
        at_ms: r.i64(1)?,
        principal: r.text(2)?,
        role: r.text(3)?,
        via: AuditVia::parse(&r.text(4)?)?,
        method: r.text(5)?,
        route: r.text(6)?,
        path: r.text(7)?,
        status: r.i64(8)?,
        body: r.opt_text(9)?,
    })
}
