//! The one error type of the HTTP layer: a status, a stable machine-readable code, a
//! message, and for bad input the field at fault, rendered as
//! `{"error": code, "message": ..., "field": ...}`.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use posgate_actors::entity::EntityError;
use posgate_actors::ledger::LedgerError;
use posgate_actors::store::StoreError;
use serde::Serialize;
use std::fmt;

/// An HTTP error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code (`invalid_body`, `not_found`, `unauthorized`, `busy`...).
    pub code: &'static str,
    /// Human-readable explanation; never contains secrets or card data.
    pub message: String,
    /// The request field at fault, for 400s.
    pub field: Option<String>,
}

/// Body of every error answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable code.
    pub error: &'static str,
    /// Explanation.
    pub message: String,
    /// Field at fault, when the body or a parameter was invalid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    /// 400: `field` is invalid.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError {
            field: Some(field.into()),
            ..ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", message)
        }
    }

    /// 400: a query parameter is invalid.
    pub fn invalid_query(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError {
            field: Some(field.into()),
            ..ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", message)
        }
    }

    /// 400: a path parameter is invalid (not a number, out of range).
    pub fn invalid_path(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError {
            field: Some(field.into()),
            ..ApiError::new(StatusCode::BAD_REQUEST, "invalid_path", message)
        }
    }

    /// 405: the route exists, not with this method (the answer adds `Allow`).
    pub fn method_not_allowed(method: &str) -> ApiError {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{method} is not allowed here: see the Allow header"),
        )
    }

    /// 401: missing or wrong credentials.
    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or invalid credentials (bearer token or console session)",
        )
    }

    /// 403: a console session request that changes something came without its CSRF token
    /// (`X-CSRF-Token`), or with another session's.
    pub fn csrf_mismatch() -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf_mismatch",
            "a console request that changes something needs the session's X-CSRF-Token header",
        )
    }

    /// 403: the principal's role does not permit the operation.
    pub fn forbidden(role: &str, method: &str, route: &str) -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("the {role} role may not {method} {route}"),
        )
    }

    /// 429 with `Retry-After`: the caller (a principal, or a login's source address) went
    /// over its rate.
    pub fn rate_limited(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many {what}; retry after Retry-After seconds"),
        )
    }

    /// 404.
    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    /// 409: conflicts with the current state.
    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 413.
    pub fn too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("request body larger than {limit} bytes"),
        )
    }

    /// 415.
    pub fn unsupported_media_type(expected: &str) -> ApiError {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("content type must be {expected}"),
        )
    }

    /// 502: an upstream system (a venue over WJ091) answered with a failure or nonsense.
    pub fn bad_gateway(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_GATEWAY, code, message)
    }

    /// 504: an upstream system (a venue over WJ091) did not answer in time.
    pub fn gateway_timeout(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::GATEWAY_TIMEOUT, code, message)
    }

    /// 503 with `Retry-After`: back-pressure or a dependency down.
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if self.status == StatusCode::SERVICE_UNAVAILABLE
            || self.status == StatusCode::TOO_MANY_REQUESTS
        {
            response.insert_header((header::RETRY_AFTER, "1"));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        response.json(ErrorBody {
            error: self.code,
            message: self.message.clone(),
            field: self.field.clone(),
        })
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Constraint { constraint } => ApiError::conflict(format!(
                "already exists or refers to something missing ({constraint})"
            )),
            StoreError::Unavailable(_) | StoreError::Conflict(_) => {
                tracing::warn!(error = %e, "store unavailable");
                ApiError::unavailable("store_unavailable", "database unavailable, retry later")
            }
            StoreError::CommitUnknown(_) => {
                tracing::warn!(error = %e, "store commit outcome unknown");
                ApiError::unavailable(
                    "store_unavailable",
                    "database connection lost while committing: the change may or may not \
                     be saved; read it back before retrying",
                )
            }
            StoreError::Decode(_) | StoreError::Invariant(_) => {
                tracing::error!(error = %e, "store error");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error",
                )
            }
        }
    }
}

impl From<EntityError> for ApiError {
    fn from(e: EntityError) -> Self {
        match e {
            EntityError::NotFound | EntityError::Foreign => ApiError::not_found("entity"),
            EntityError::Disabled => ApiError::conflict("disabled or suspended"),
            EntityError::Busy => ApiError::unavailable("busy", "busy, retry later"),
            EntityError::ShuttingDown => ApiError::unavailable("shutting_down", "shutting down"),
            EntityError::Store(s) => {
                tracing::warn!(error = %s, "entity store failure");
                ApiError::unavailable("store_unavailable", "database unavailable, retry later")
            }
        }
    }
}

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> Self {
        EntityError::from(e).into()
    }
}
