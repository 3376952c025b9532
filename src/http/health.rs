//! Operations endpoints: liveness, readiness, Prometheus metrics.

use crate::app::Gateway;
use actix_web::{get, web, HttpResponse};
use serde_json::json;

/// Liveness: the process answers.
#[utoipa::path(tag = "operations", responses((status = 200, description = "process up")))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Readiness: the database answers.
#[utoipa::path(tag = "operations", responses(
    (status = 200, description = "database reachable"),
    (status = 503, description = "database unreachable")
))]
#[get("/readyz")]
pub async fn readyz(gw: web::Data<Gateway>) -> HttpResponse {
    match gw.store.ping().await {
        Ok(()) => {
            HttpResponse::Ok().json(json!({"status": "ready", "database": gw.store.backend_name()}))
        }
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .json(json!({"status": "unavailable", "database": gw.store.backend_name()}))
        }
    }
}

/// Prometheus text exposition.
#[utoipa::path(tag = "operations", responses((status = 200, description = "Prometheus metrics")))]
#[get("/metrics")]
pub async fn metrics(gw: web::Data<Gateway>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(gw.metrics.render())
}
