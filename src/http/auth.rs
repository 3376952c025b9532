//! Authentication and authorization of the admin API. A request authenticates with a bearer
//! token (the configured `admin.token`, the break-glass administrator, compared in constant
//! time; or an issued admin credential, known by its SHA-256) or with a console session
//! cookie and its CSRF token ([`crate::console::session`]). The caller's [`Principal`] is
//! left in the request's extensions for the handlers and the audit log; its [`Role`] decides
//! what it may call ([`enforce_role`]), and each principal's rate is bounded.

use super::error::ApiError;
use crate::app::Gateway;
use crate::secret::{constant_time_eq, sha256_hex, Secret};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage};
use posgate_actors::store::admin_audit::AuditVia;
use posgate_actors::store::admin_credentials;
use serde::{Deserialize, Serialize};

/// The configured admin token, stored as app data.
#[derive(Clone)]
pub struct AdminToken(pub Secret<String>);

impl AdminToken {
    /// Whether `presented` is the token (constant time; an empty token matches nothing).
    pub fn matches(&self, presented: &str) -> bool {
        let expected = self.0.expose();
        !expected.is_empty() && constant_time_eq(presented.as_bytes(), expected.as_bytes())
    }
}

/// What an authenticated caller may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads only.
    ReadOnly,
    /// The daily work: everything but credentials and the keys devices and partners hold.
    Operator,
    /// Everything.
    Administrator,
}

/// Routes (and the routes under them) whose changes only an administrator may make: the
/// admin credentials and the secrets issued to devices and partners.
const ADMINISTRATOR_ONLY: [&str; 7] = [
    "/admin/v1/credentials",
    "/admin/v1/terminals/{id}/posparam",
    "/admin/v1/terminals/{id}/ds50/api-keys",
    "/admin/v1/merchants/{id}/ds50/api-keys",
    "/admin/v1/jpos/terminals/{id}/master-key",
    "/admin/v1/pospal/apps/{app_id}",
    "/admin/v1/venues/{companycode}/ktv",
];

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::ReadOnly => "read_only",
            Role::Operator => "operator",
            Role::Administrator => "administrator",
        }
    }

    /// The role of a stored name.
    pub fn parse(name: &str) -> Option<Role> {
        [Role::ReadOnly, Role::Operator, Role::Administrator]
            .into_iter()
            .find(|r| r.as_str() == name)
    }

    /// Whether the role may call `method` on `route` (a route pattern). Reading the
    /// credentials is an administrator's too.
    pub fn permits(self, method: &Method, route: &str) -> bool {
        let under = |r: &str| route == r || route.starts_with(&format!("{r}/"));
        match self {
            Role::Administrator => true,
            Role::Operator => {
                !under(ADMINISTRATOR_ONLY[0])
                    && (method.is_safe() || !ADMINISTRATOR_ONLY.iter().any(|r| under(r)))
            }
            Role::ReadOnly => method.is_safe() && !under(ADMINISTRATOR_ONLY[0]),
        }
    }
}

/// Who is calling, and how they authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The credential's name (`admin` for the configured token).
    pub name: String,
    /// Its role.
    pub role: Role,
    /// How the request authenticated.
    pub via: AuditVia,
    /// The issued credential; `None` for the configured token.
    pub credential_id: Option<i64>,
}

/// The principal a presented token stands for: the configured token, else a live issued
/// credential (its use recorded); `None` for any other token.
pub async fn principal_of_token(
    gw: &Gateway,
    configured: &AdminToken,
    presented: &str,
    via: AuditVia,
) -> Result<Option<Principal>, ApiError> {
    if configured.matches(presented) {
        return Ok(Some(Principal {
            name: "admin".into(),
            role: Role::Administrator,
            via,
            credential_id: None,
        }));
    }
    if !presented.starts_with(CREDENTIAL_PREFIX) {
        return Ok(None);
    }
    let (hash, now) = (sha256_hex(presented), posgate_actors::store::now_ms());
    let found = crate::http::admin::with_db(gw, move |db| {
        Box::pin(async move {
            let found = admin_credentials::live_by_token(db, &hash, now).await?;
            if let Some(c) = &found {
                if c.last_used_at_ms.is_none_or(|t| now - t >= 60_000) {
                    admin_credentials::touch(db, c.id, now).await?;
                }
            }
            Ok(found)
        })
    })
    .await?;
    Ok(found.and_then(|c| {
        Some(Principal {
            role: Role::parse(&c.role)?,
            name: c.name,
            via,
            credential_id: Some(c.id),
        })
    }))
}

/// Every issued token starts so (the configured one need not).
pub const CREDENTIAL_PREFIX: &str = "pgt_";

/// Middleware: authenticates the request (bearer token, else session cookie) or refuses it
/// with 401 (403 `csrf_mismatch` for a session request without its CSRF token), then holds
/// the principal to `admin.requests_per_minute` (429 `rate_limited`).
pub async fn require_admin(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let principal = authenticate(&req).await?;
    if let Some(limits) = req.app_data::<web::Data<crate::http::limits::AdminLimits>>() {
        limits.admit(&principal.name)?;
    }
    req.extensions_mut().insert(principal);
    next.call(req).await
}

/// Middleware (inside the audit recorder, so that refusals are recorded): refuses with 403
/// `forbidden` what the principal's role does not permit.
pub async fn enforce_role(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let route = req
        .match_pattern()
        .unwrap_or_else(|| req.path().to_string());
    let role = req.extensions().get::<Principal>().map(|p| p.role);
    match role {
        Some(role) if role.permits(req.method(), &route) => next.call(req).await,
        Some(role) => Err(ApiError::forbidden(role.as_str(), req.method().as_str(), &route).into()),
        None => Err(ApiError::unauthorized().into()),
    }
}

async fn authenticate(req: &ServiceRequest) -> Result<Principal, ApiError> {
    let (Some(token), Some(gw)) = (
        req.app_data::<web::Data<AdminToken>>(),
        req.app_data::<web::Data<Gateway>>(),
    ) else {
        return Err(ApiError::unauthorized());
    };
    if let Some(header) = req.headers().get(actix_web::http::header::AUTHORIZATION) {
        let presented = header
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        return principal_of_token(gw, token, presented, AuditVia::Token)
            .await?
            .ok_or_else(ApiError::unauthorized);
    }
    crate::console::session::authenticate(gw, req.request()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_permit_by_method_and_route() {
        let (get, post, delete) = (Method::GET, Method::POST, Method::DELETE);
        let credentials = "/admin/v1/credentials/{id}";
        let posparam = "/admin/v1/terminals/{id}/posparam";
        let commands = "/admin/v1/terminals/{id}/commands";
        assert!(Role::Administrator.permits(&post, credentials));
        assert!(
            !Role::Operator.permits(&get, credentials),
            "credentials are administrators'"
        );
        assert!(!Role::Operator.permits(&post, posparam));
        assert!(!Role::Operator.permits(&delete, "/admin/v1/merchants/{id}/ds50/api-keys"));
        assert!(Role::Operator.permits(&post, commands));
        assert!(Role::Operator.permits(&get, "/admin/v1/venues/{companycode}/ktv-not"));
        assert!(Role::ReadOnly.permits(&get, commands));
        assert!(!Role::ReadOnly.permits(&post, commands));
        assert!(!Role::ReadOnly.permits(&get, "/admin/v1/credentials"));
        for role in [Role::ReadOnly, Role::Operator, Role::Administrator] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
