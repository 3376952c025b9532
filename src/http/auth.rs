//! Authentication of the admin API: a bearer token, compared in constant time, or a console
//! session cookie with its CSRF token on every request that is not a read
//! ([`crate::console::session`]). The caller's [`Principal`] is left in the request's
//! extensions, for the handlers and the admin audit log.

use super::error::ApiError;
use crate::app::Gateway;
use crate::secret::{constant_time_eq, Secret};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage};
use posgate_actors::store::admin_audit::AuditVia;
use serde::Serialize;

/// The admin token, stored as app data.
#[derive(Clone)]
pub struct AdminToken(pub Secret<String>);

impl AdminToken {
    /// Whether `presented` is the token (constant time; an empty token matches nothing).
    pub fn matches(&self, presented: &str) -> bool {
        let expected = self.0.expose();
        !expected.is_empty() && constant_time_eq(presented.as_bytes(), expected.as_bytes())
    }
}

/// What an authenticated caller may do. Today the one admin token is an administrator;
/// stored sessions name their role so that finer roles can be added without a migration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything the admin API offers.
    Administrator,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
        }
    }

    /// The role of a stored name.
    pub fn parse(name: &str) -> Option<Role> {
        (name == "administrator").then_some(Role::Administrator)
    }
}

/// Who is calling, and how they authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The credential's name (`admin` for the admin token).
    pub name: String,
    /// Its role.
    pub role: Role,
    /// How the request authenticated.
    pub via: AuditVia,
}

impl Principal {
    /// The holder of the admin token.
    pub fn admin_token(via: AuditVia) -> Principal {
        Principal {
            name: "admin".into(),
            role: Role::Administrator,
            via,
        }
    }
}

/// Middleware: authenticates the request (bearer token, else session cookie) or refuses it
/// with 401 (403 `csrf_mismatch` for a session request without its CSRF token).
pub async fn require_admin(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let principal = authenticate(&req).await?;
    req.extensions_mut().insert(principal);
    next.call(req).await
}

async fn authenticate(req: &ServiceRequest) -> Result<Principal, ApiError> {
    let token = req
        .app_data::<web::Data<AdminToken>>()
        .ok_or_else(ApiError::unauthorized)?;
    if let Some(header) = req.headers().get(actix_web::http::header::AUTHORIZATION) {
        let presented = header
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        return if token.matches(presented) {
            Ok(Principal::admin_token(AuditVia::Token))
        } else {
            Err(ApiError::unauthorized())
        };
    }
    let gw = req
        .app_data::<web::Data<Gateway>>()
        .ok_or_else(ApiError::unauthorized)?;
    crate::console::session::authenticate(gw, req.request()).await
}
