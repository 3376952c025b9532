//! The Pospal notification endpoint (pospal-notifications.txt): posgate as the consumer of
//! Pospal's webhooks, at `pospal.notify_path` (default `POST /pospal/v1/notify`).
//!
//! Decode order: size (413) -> envelope (400) -> `appId` known and active (403) ->
//! `data-signature` = upper-case hex md5(appKey + raw body), compared in constant time (401)
//! -> body (400) -> plan (400). Nothing inside `body` is read before the sender is
//! authenticated, and nothing is stored for a refused notification. The verified
//! notification goes to its merchant's actor, which answers once its effects are durable:
//! 200 for a first delivery and for a duplicate (same business key), 503 when the store or
//! the actor cannot take it now (Pospal retries on its schedule: 10 s, 30 s, 1, 2, 3 min).
//! The response body is informative only; Pospal reads the status.

use crate::app::Gateway;
use crate::config::PospalConfig;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use posgate_actors::entity::{pospal_plan, EntityError, PospalDelivery, PospalNotify};
use posgate_actors::store::pospal as store_pospal;
use posgate_protocols::pospal::{verify_signature, AppKey, Cmd, Envelope, PospalError, Refusal};
use serde_json::json;

/// Registers the notification route at its configured path.
pub fn configure(cfg: &mut web::ServiceConfig, paths: &PospalConfig) {
    cfg.route(&paths.notify_path, web::post().to(notify));
}

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "data-signature";

fn refused(refusal: Refusal, cmd: &str) -> HttpResponse {
    metrics::counter!("posgate_pospal_notifications_total",
        "cmd" => cmd.to_string(), "result" => refusal.as_str())
    .increment(1);
    HttpResponse::build(
        StatusCode::from_u16(refusal.http_status()).unwrap_or(StatusCode::BAD_REQUEST),
    )
    .json(json!({"error": refusal.as_str(), "message": refusal.description()}))
}

/// The `cmd` as a metrics label: the known names, or `unknown` (labels stay bounded).
fn cmd_label(cmd: &Cmd) -> String {
    match cmd {
        Cmd::Unknown(_) => "unknown".into(),
        known => known.as_str().into(),
    }
}

/// Pospal notification (spec 1.2-1.4).
pub async fn notify(gw: web::Data<Gateway>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let envelope = match Envelope::decode(&body) {
        Ok(envelope) => envelope,
        Err(e) => {
            tracing::info!(error = %e, "Pospal notification refused");
            return refused(e.code(), "none");
        }
    };
    let cmd = cmd_label(&envelope.cmd);
    let app_id = envelope.app_id.clone();
    let app = gw
        .store
        .transaction(move |db| Box::pin(async move { store_pospal::get_app(db, &app_id).await }))
        .await;
    let app = match app {
        Ok(Some(app)) if app.active => app,
        Ok(_) => {
            tracing::info!(cmd, "Pospal notification from an unknown or disabled appId");
            return refused(PospalError::UnknownApp.code(), &cmd);
        }
        Err(e) => {
            tracing::warn!(error = %e, "Pospal app lookup failed");
            return refused(Refusal::Busy, &cmd);
        }
    };
    let signature = req
        .headers()
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok());
    let key = AppKey::new(app.app_key.expose().clone());
    if !signature.is_some_and(|s| verify_signature(&key, &body, s)) {
        tracing::info!(
            cmd,
            merchant_id = app.merchant_id,
            "Pospal notification with a bad data-signature"
        );
        return refused(PospalError::BadSignature.code(), &cmd);
    }
    let notification = match envelope.into_notification() {
        Ok(n) => n,
        Err(e) => {
            tracing::info!(cmd, error = %e, "Pospal notification body refused");
            return refused(e.code(), &cmd);
        }
    };
    let plan = match pospal_plan(&notification) {
        Ok(plan) => plan,
        Err(e) => {
            tracing::info!(cmd, error = %e, "Pospal notification cannot be mirrored");
            return refused(Refusal::Malformed, &cmd);
        }
    };
    let message = PospalNotify {
        notification,
        plan,
        today: gw.business_date(),
    };
    let result = match gw.merchants.ask(&app.merchant_id.to_string(), message) {
        Ok(rx) => rx.await.unwrap_or(Err(EntityError::ShuttingDown)),
        Err(e) => Err(e),
    };
    match result {
        Ok(delivery) => {
            let result = match delivery {
                PospalDelivery::Accepted => "accepted",
                PospalDelivery::Duplicate => "duplicate",
            };
            metrics::counter!("posgate_pospal_notifications_total",
                "cmd" => cmd, "result" => result)
            .increment(1);
            HttpResponse::Ok().json(json!({"status": result}))
        }
        Err(EntityError::NotFound | EntityError::Disabled | EntityError::Foreign) => {
            refused(Refusal::UnknownApp, &cmd)
        }
        Err(e) => {
            tracing::warn!(cmd, error = %e, "Pospal notification not consumed; Pospal will retry");
            refused(Refusal::Busy, &cmd)
        }
    }
}
