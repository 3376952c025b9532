//! The console's front page in one answer: this replica's requests by protocol (from its
//! own metrics), devices online, and what waits for an operator across the database.

use super::with_db;
use crate::app::Gateway;
use crate::http::error::{ApiError, ErrorBody};
use crate::telemetry::{request_counts, RequestCount, ONLINE_WINDOW_MS};
use actix_web::{get, web, HttpResponse};
use posgate_actors::model::TerminalFamily;
use posgate_actors::store::{now_ms, overview};
use serde::Serialize;
use utoipa::ToSchema;

/// How many business days before today the venue completeness count looks at (today's
/// business day is still open, so it is not counted).
pub const VENUE_DAYS_BACK: i64 = 7;

/// Terminals of one family.
#[derive(Serialize, ToSchema)]
pub struct DeviceCount {
    /// `mqtt_pos`, `jpos` or `ds50`.
    #[schema(pattern = "^(mqtt_pos|jpos|ds50)$")]
    pub family: &'static str,
    /// Seen (any request) within the last 5 minutes.
    pub online: i64,
    /// Registered.
    pub total: i64,
}

/// The console's front page.
#[derive(Serialize, ToSchema)]
pub struct Overview {
    /// Requests by protocol this replica answered since it started, with errors (HTTP
    /// status 400 or more; MQTT messages malformed, busy, on an unknown topic or not
    /// stored).
    pub requests: Vec<RequestCount>,
    /// Always `replica`: `requests` counts this replica only (Prometheus sums replicas).
    #[schema(pattern = "^replica$")]
    pub requests_scope: &'static str,
    /// Terminals by family, every family listed.
    pub devices: Vec<DeviceCount>,
    /// jpos requests waiting for the sweeper.
    pub jpos_pending: i64,
    /// Offline exceptions waiting for an operator.
    pub offline_exceptions_open: i64,
    /// Partner messages that gave up (dead letters).
    pub dead_letters: i64,
    /// Pospal balance mismatches still open.
    pub pospal_mismatches_open: i64,
    /// Active venues times business days of the 7 before today that are not complete.
    pub venue_days_incomplete: i64,
    /// When this answer was made, unix ms.
    pub generated_at_ms: i64,
}

/// The business dates the venue count looks at: the [`VENUE_DAYS_BACK`] before today.
fn venue_dates(gw: &Gateway) -> Vec<String> {
    let today = gw.business_date();
    (1..=VENUE_DAYS_BACK)
        .map(|back| {
            (today - chrono::Duration::days(back))
                .format("%Y-%m-%d")
                .to_string()
        })
        .collect()
}

/// `(family, n)` pairs to the count of `family`.
fn of_family(counts: &[(String, i64)], family: TerminalFamily) -> i64 {
    counts
        .iter()
        .find(|(f, _)| f == family.as_str())
        .map_or(0, |(_, n)| *n)
}

/// The console's front page: requests and errors by protocol on this replica since it
/// started, devices online (seen within 5 minutes) and registered by family, jpos requests
/// pending, open offline exceptions, dead letters, open Pospal mismatches, and the venue
/// business days of the last 7 that are not complete.
#[utoipa::path(tag = "overview", security(("bearer" = [])), responses(
    (status = 200, body = Overview), (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)))]
#[get("/overview")]
pub async fn get(gw: web::Data<Gateway>) -> Result<HttpResponse, ApiError> {
    let now = now_ms();
    let dates = venue_dates(&gw);
    let db = with_db(&gw, move |db| {
        Box::pin(async move { overview::read(db, now - ONLINE_WINDOW_MS, &dates).await })
    })
    .await?;
    let devices = TerminalFamily::ALL
        .iter()
        .map(|&family| DeviceCount {
            family: family.as_str(),
            online: of_family(&db.backlog.devices_seen, family),
            total: of_family(&db.devices_total, family),
        })
        .collect();
    Ok(HttpResponse::Ok().json(Overview {
        requests: request_counts(&gw.metrics.render()),
        requests_scope: "replica",
        devices,
        jpos_pending: db.jpos_pending,
        offline_exceptions_open: db.backlog.open_exceptions,
        dead_letters: db.backlog.dead_letters,
        pospal_mismatches_open: db.pospal_mismatches_open,
        venue_days_incomplete: db.venue_days_incomplete,
        generated_at_ms: now,
    }))
}
