//! Operations endpoints: liveness, readiness, Prometheus metrics.

use crate::app::Gateway;
use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use serde_json::json;

/// Liveness: the process answers.
#[utoipa::path(tag = "operations", responses((status = 200, description = "process up")))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Body of `/readyz`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Readiness {
    /// `ready` or `unavailable`.
    pub status: &'static str,
    /// `postgres` or `sqlite`.
    pub database: &'static str,
    /// Why not ready: `database_unreachable` or `migrations_pending`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// With `migrations_pending`: the versions this binary has that the database lacks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing_versions: Vec<i64>,
    /// Versions the database has that this binary does not know (a newer release's
    /// expand-only migrations during a rolling upgrade): reported, still ready.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub schema_ahead: Vec<i64>,
}

/// Readiness: the database answers and holds every migration this binary knows.
#[utoipa::path(tag = "operations", responses(
    (status = 200, body = Readiness, description = "database reachable and migrated (a schema \
        ahead of the binary is listed in `schema_ahead`)"),
    (status = 503, body = Readiness, description = "not ready: `reason` is \
        `database_unreachable` or `migrations_pending` (with `missing_versions`)")
))]
#[get("/readyz")]
pub async fn readyz(gw: web::Data<Gateway>) -> HttpResponse {
    let mut body = Readiness {
        status: "unavailable",
        database: gw.store.backend_name(),
        reason: None,
        missing_versions: Vec::new(),
        schema_ahead: Vec::new(),
    };
    match gw.store.schema_status().await {
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed: database unreachable");
            body.reason = Some("database_unreachable");
        }
        Ok(schema) => {
            body.schema_ahead = schema.ahead;
            if schema.pending.is_empty() {
                body.status = "ready";
                return HttpResponse::Ok().json(body);
            }
            tracing::warn!(missing = ?schema.pending, "readiness check failed: migrations pending");
            body.reason = Some("migrations_pending");
            body.missing_versions = schema.pending;
        }
    }
    HttpResponse::ServiceUnavailable().json(body)
}

/// Prometheus text exposition. Pool state, waiting work and devices online are sampled at
/// scrape time.
#[utoipa::path(tag = "operations", responses((status = 200, description = "Prometheus metrics")))]
#[get("/metrics")]
pub async fn metrics(gw: web::Data<Gateway>) -> HttpResponse {
    crate::telemetry::sample(&gw.store, gw.config.database.pool_size).await;
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(gw.metrics.render())
}
