//! Bearer-token authentication of the admin API, compared in constant time.

use super::error::ApiError;
use crate::secret::{constant_time_eq, Secret};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, Error};

/// The admin token, stored as app data.
#[derive(Clone)]
pub struct AdminToken(pub Secret<String>);

/// Middleware: refuses the request with 401 unless `Authorization: Bearer <admin token>`.
pub async fn require_admin(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let expected = req
        .app_data::<web::Data<AdminToken>>()
        .map(|t| t.0.clone())
        .ok_or_else(ApiError::unauthorized)?;
    let presented = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if expected.expose().is_empty()
        || !constant_time_eq(presented.as_bytes(), expected.expose().as_bytes())
    {
        return Err(ApiError::unauthorized().into());
    }
    next.call(req).await
}
