//! The Pospal notification endpoint (pospal-notifications.txt): posgate as the consumer of
//! Pospal's webhooks, at `pospal.notify_path` (default `POST /pospal/v1/notify`).
//!
//! Decode order: size (413) -> envelope (400) -> `appId` known and active (403) ->
//! `data-signature` = upper-case hex md5(appKey + raw body), compared in constant time (401).
//! Nothing inside `body` is read before the sender is authenticated; a refused request is
//! kept only as untrusted evidence (`partner_refusals`, bounded, [`REFUSALS_KEPT_PER_MINUTE`]). An authenticated
//! notification is then stored byte for byte in the partner intake
//! ([`posgate_actors::store::intake`]) BEFORE it is interpreted, and [`interpret`] runs:
//! body -> plan -> the merchant's actor, which answers once its effects are durable.
//!
//! Answers: 200 for a first delivery and for a duplicate (same business key); 200 as well
//! for an authenticated notification that cannot be interpreted (a dead letter, kept with
//! its reason for an operator to replay: Pospal retries only 5 times within about 7
//! minutes and would then drop it anyway, and the same bytes would fail the same way, so a
//! refusal would only delay the operator's view); 503 when the store or the actor cannot
//! take it now (Pospal retries on its schedule: 10 s, 30 s, 1, 2, 3 min). The response
//! body is informative only; Pospal reads the status.

use crate::app::Gateway;
use crate::config::PospalConfig;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use posgate_actors::entity::{pospal_plan, EntityError, PospalDelivery, PospalNotify};
use posgate_actors::store::intake::{self, NewIntake, NewRefusal, Partner};
use posgate_actors::store::{now_ms, pospal as store_pospal};
use posgate_actors::store::{Store, StoreError};
use posgate_protocols::pospal::{
    verify_signature, AppKey, Cmd, Envelope, KeyEncryptionKey, PospalError, Refusal, SealError,
};
use serde_json::json;

/// Registers the notification route at its configured path.
pub fn configure(cfg: &mut web::ServiceConfig, paths: &PospalConfig) {
    cfg.route(&paths.notify_path, web::post().to(notify));
}

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "data-signature";

/// The request headers kept with a stored notification (none of them is a secret).
const KEPT_HEADERS: [&str; 3] = [SIGNATURE_HEADER, "content-type", "user-agent"];

fn refused(refusal: Refusal, cmd: &str) -> HttpResponse {
    count(cmd, refusal.as_str());
    HttpResponse::build(
        StatusCode::from_u16(refusal.http_status()).unwrap_or(StatusCode::BAD_REQUEST),
    )
    .json(json!({"error": refusal.as_str(), "message": refusal.description()}))
}

fn count(cmd: &str, result: &'static str) {
    metrics::counter!("posgate_pospal_notifications_total",
        "cmd" => cmd.to_string(), "result" => result)
    .increment(1);
}

/// The `cmd` as a metrics label: the known names, or `unknown` (labels stay bounded).
fn cmd_label(cmd: &Cmd) -> String {
    match cmd {
        Cmd::Unknown(_) => "unknown".into(),
        known => known.as_str().into(),
    }
}

/// What interpreting a stored notification gave.
#[derive(Debug)]
pub enum Interpreted {
    /// Consumed (first delivery or duplicate); its effects are durable.
    Applied(PospalDelivery),
    /// Cannot be interpreted; the reason names a field and a rule, never a wire value.
    Dead(String),
    /// Not consumed now (store or actor busy); may be retried as is.
    Busy(String),
}

/// Interprets an authenticated notification of `merchant_id` (live or replayed): body,
/// plan, then the merchant's actor. Strict where money is decided (amounts exact to the
/// fen, points to the hundredth), tolerant elsewhere (see `docs/protocols.md`).
pub async fn interpret(gw: &Gateway, merchant_id: i64, raw: &[u8]) -> Interpreted {
    let notification = match Envelope::decode(raw).and_then(Envelope::into_notification) {
        Ok(n) => n,
        Err(e) => return Interpreted::Dead(e.to_string()),
    };
    let plan = match pospal_plan(&notification) {
        Ok(plan) => plan,
        Err(e) => return Interpreted::Dead(e.to_string()),
    };
    let message = PospalNotify {
        notification,
        plan,
        today: gw.business_date(),
    };
    let result = match gw.merchants.ask(&merchant_id.to_string(), message) {
        Ok(rx) => rx.await.unwrap_or(Err(EntityError::ShuttingDown)),
        Err(e) => Err(e),
    };
    match result {
        Ok(delivery) => Interpreted::Applied(delivery),
        Err(e @ (EntityError::NotFound | EntityError::Disabled | EntityError::Foreign)) => {
            Interpreted::Dead(format!("merchant: {e}"))
        }
        Err(e) => Interpreted::Busy(e.to_string()),
    }
}

/// Records the interpretation's end on the intake row (applied or dead; a busy one stays
/// `received` for Pospal's retry).
async fn settle(gw: &Gateway, intake_id: i64, outcome: &Interpreted) -> Result<(), String> {
    let dead = match outcome {
        Interpreted::Applied(_) => None,
        Interpreted::Dead(reason) => Some(reason.clone()),
        Interpreted::Busy(_) => return Ok(()),
    };
    gw.store
        .transaction(move |db| {
            Box::pin(async move {
                match dead {
                    None => intake::mark_applied(db, intake_id, now_ms()).await,
                    Some(reason) => intake::mark_dead(db, intake_id, &reason, now_ms()).await,
                }
            })
        })
        .await
        .map_err(|e| e.to_string())
}

/// Refused requests kept a minute (the rest are only counted).
pub const REFUSALS_KEPT_PER_MINUTE: u32 = 60;
/// Refused requests kept in all (the oldest go).
pub const REFUSALS_KEPT_MAX: i64 = 1000;

/// Why a request was not authenticated.
pub struct Unauthenticated {
    /// The answer.
    pub refusal: Refusal,
    /// The `cmd` label (`none` when the envelope could not be read).
    pub cmd: String,
    /// Why (field names and rules, never wire values).
    pub reason: String,
    /// The `appId` it claims, when the envelope could be read.
    pub claimed_app_id: String,
}

/// Authenticates a notification: its envelope and the app of its `appId`, and the
/// signature. Returns the merchant and the envelope, or why not.
async fn authenticate(
    gw: &Gateway,
    signature: Option<&str>,
    body: &[u8],
) -> Result<(i64, Envelope), Unauthenticated> {
    let envelope = Envelope::decode(body).map_err(|e| Unauthenticated {
        refusal: e.code(),
        cmd: "none".into(),
        reason: e.to_string(),
        claimed_app_id: String::new(),
    })?;
    let cmd = cmd_label(&envelope.cmd);
    let refused = |refusal: Refusal, reason: &str| Unauthenticated {
        refusal,
        cmd: cmd.clone(),
        reason: reason.to_string(),
        claimed_app_id: envelope.app_id.clone(),
    };
    let app_id = envelope.app_id.clone();
    let app = gw
        .store
        .transaction(move |db| Box::pin(async move { store_pospal::get_app(db, &app_id).await }))
        .await;
    let app = match app {
        Ok(Some(app)) if app.active => app,
        Ok(_) => {
            return Err(refused(
                PospalError::UnknownApp.code(),
                "unknown or disabled appId",
            ))
        }
        Err(e) => {
            tracing::warn!(error = %e, "Pospal app lookup failed");
            return Err(refused(Refusal::Busy, "store unavailable"));
        }
    };
    let opened = gw
        .pospal_kek
        .open(&app.app_id, app.app_key.expose())
        .and_then(|bytes| String::from_utf8(bytes).map_err(|_| SealError::Open));
    let key = match opened {
        Ok(key) => AppKey::new(key),
        Err(e) => {
            // A key-encryption key that changed: every notification of the app fails the
            // same way until the key is put again; Pospal retries meanwhile.
            tracing::error!(cmd, app_id = %app.app_id, error = %e, "Pospal appKey cannot be opened");
            return Err(refused(Refusal::Busy, "stored appKey does not open"));
        }
    };
    if !signature.is_some_and(|s| verify_signature(&key, body, s)) {
        return Err(refused(
            PospalError::BadSignature.code(),
            "bad data-signature",
        ));
    }
    Ok((app.merchant_id, envelope))
}

/// What identifies a notification across Pospal's retries: everything but `timestamp`
/// (the time of each push) and `version`.
fn message_identity(envelope: &Envelope) -> String {
    json!([
        envelope.app_id,
        envelope.cmd.as_str(),
        envelope.born_timestamp_ms,
        envelope.body_raw
    ])
    .to_string()
}

/// Stores an authenticated notification before interpretation; returns its intake id.
async fn store_intake(
    gw: &Gateway,
    headers: &[(&'static str, String)],
    merchant_id: i64,
    envelope: &Envelope,
    body: &[u8],
) -> Result<i64, String> {
    let headers = headers.to_vec();
    let owner = merchant_id.to_string();
    let kind: String = envelope.cmd.as_str().chars().take(128).collect();
    let identity = message_identity(envelope);
    let body = body.to_vec();
    gw.store
        .transaction(move |db| {
            Box::pin(async move {
                let headers: Vec<(&str, String)> =
                    headers.iter().map(|(n, v)| (*n, v.clone())).collect();
                let new = NewIntake {
                    partner: Partner::Pospal,
                    owner: &owner,
                    kind: &kind,
                    body: &body,
                    identity: Some(identity.as_bytes()),
                    headers: &headers,
                };
                intake::record(db, &new, now_ms()).await.map(|i| i.id)
            })
        })
        .await
        .map_err(|e| e.to_string())
}

/// What became of a request.
pub enum Taken {
    /// Not authenticated.
    Refused(Unauthenticated),
    /// Authenticated but not stored (store busy): Pospal retries.
    NotStored(String, String),
    /// Stored as intake row `id`, then interpreted.
    Stored(i64, String, Interpreted),
}

/// The pipeline of one request: authenticate, store, interpret, settle the intake row.
pub async fn take(gw: &Gateway, body: &[u8], headers: &[(&'static str, String)]) -> Taken {
    let signature = headers
        .iter()
        .find(|(name, _)| *name == SIGNATURE_HEADER)
        .map(|(_, value)| value.as_str());
    let (merchant_id, envelope) = match authenticate(gw, signature, body).await {
        Ok(found) => found,
        Err(refused) => return Taken::Refused(refused),
    };
    let cmd = cmd_label(&envelope.cmd);
    let intake_id = match store_intake(gw, headers, merchant_id, &envelope, body).await {
        Ok(id) => id,
        Err(e) => return Taken::NotStored(cmd, e),
    };
    let outcome = interpret(gw, merchant_id, body).await;
    match settle(gw, intake_id, &outcome).await {
        Ok(()) => Taken::Stored(intake_id, cmd, outcome),
        Err(e) => Taken::NotStored(cmd, e),
    }
}

/// Keeps a refused request as evidence (bounded, within the minute's budget).
async fn keep_refused(
    gw: &Gateway,
    refused: &Unauthenticated,
    body: &[u8],
    headers: Vec<(&'static str, String)>,
) {
    if refused.refusal == Refusal::Busy {
        return;
    }
    if !gw.pospal_refusals.take(now_ms()) {
        metrics::counter!("posgate_intake_refusals_unkept_total", "partner" => "pospal")
            .increment(1);
        return;
    }
    let (refusal, reason) = (refused.refusal.as_str(), refused.reason.clone());
    let owner = refused.claimed_app_id.clone();
    let body = body.to_vec();
    let kept = gw
        .store
        .transaction(move |db| {
            Box::pin(async move {
                let headers: Vec<(&str, String)> =
                    headers.iter().map(|(n, v)| (*n, v.clone())).collect();
                let new = NewRefusal {
                    partner: Partner::Pospal,
                    refusal,
                    reason: &reason,
                    claimed_owner: &owner,
                    body: &body,
                    headers: &headers,
                };
                intake::record_refusal(db, &new, REFUSALS_KEPT_MAX, now_ms()).await
            })
        })
        .await;
    if let Err(e) = kept {
        tracing::warn!(error = %e, "refused Pospal request not kept");
    }
}

/// The kept request headers (none of them is a secret), each cut to 256 characters.
fn kept_headers(req: &HttpRequest) -> Vec<(&'static str, String)> {
    KEPT_HEADERS
        .iter()
        .filter_map(|&name| {
            let value = req.headers().get(name)?.to_str().ok()?;
            Some((name, value.chars().take(256).collect()))
        })
        .collect()
}

/// Pospal notification (spec 1.2-1.4).
pub async fn notify(gw: web::Data<Gateway>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let headers = kept_headers(&req);
    match take(&gw, &body, &headers).await {
        Taken::Refused(refused) => {
            tracing::info!(cmd = %refused.cmd, reason = %refused.reason, "Pospal notification refused");
            keep_refused(&gw, &refused, &body, headers).await;
            self::refused(refused.refusal, &refused.cmd)
        }
        Taken::NotStored(cmd, e) => {
            tracing::warn!(cmd, error = %e, "Pospal notification not stored; Pospal will retry");
            refused(Refusal::Busy, &cmd)
        }
        Taken::Stored(intake_id, cmd, outcome) => answer(intake_id, &cmd, outcome),
    }
}

/// The HTTP answer of a stored and interpreted notification.
fn answer(intake_id: i64, cmd: &str, outcome: Interpreted) -> HttpResponse {
    match outcome {
        Interpreted::Applied(delivery) => {
            let result = match delivery {
                PospalDelivery::Accepted => "accepted",
                PospalDelivery::Duplicate => "duplicate",
            };
            count(cmd, result);
            HttpResponse::Ok().json(json!({"status": result}))
        }
        Interpreted::Dead(reason) => {
            tracing::warn!(cmd, intake_id, %reason, "Pospal notification kept as a dead letter");
            count(cmd, "dead_letter");
            HttpResponse::Ok().json(json!({"status": "dead_letter", "intake_id": intake_id}))
        }
        Interpreted::Busy(e) => {
            tracing::warn!(cmd, error = %e, "Pospal notification not consumed; Pospal will retry");
            refused(Refusal::Busy, cmd)
        }
    }
}

/// Replays a stored (or operator-corrected) notification of `merchant_id`: the signature
/// is not checked again (the original was authenticated, the operator is), but the
/// `appId` of the bytes must still be an app of that merchant, so a correction cannot move
/// data to another merchant.
pub async fn replay(gw: &Gateway, merchant_id: i64, raw: &[u8]) -> Interpreted {
    let app_id = match Envelope::decode(raw) {
        Ok(envelope) => envelope.app_id,
        Err(e) => return Interpreted::Dead(e.to_string()),
    };
    let app = gw
        .store
        .transaction(move |db| Box::pin(async move { store_pospal::get_app(db, &app_id).await }))
        .await;
    match app {
        Ok(Some(app)) if app.merchant_id == merchant_id => interpret(gw, merchant_id, raw).await,
        Ok(_) => Interpreted::Dead("appId: not an app of this merchant".into()),
        Err(e) => Interpreted::Busy(e.to_string()),
    }
}

/// Seals an appKey for storage (a fresh random nonce each time).
pub fn seal_key(kek: &KeyEncryptionKey, app_id: &str, app_key: &str) -> String {
    kek.seal(app_id, app_key.as_bytes(), rand::random())
}

/// Seals every appKey still stored in clear (a database from before sealing). Runs at
/// startup, after the migrations; idempotent, and safe with replicas starting together (a
/// row changed meanwhile is left to its writer).
pub async fn seal_clear_keys(store: &Store, kek: &KeyEncryptionKey) -> Result<(), StoreError> {
    let kek = kek.clone();
    let sealed = store
        .transaction(move |db| {
            Box::pin(async move {
                let mut sealed = 0usize;
                for (app_id, key) in store_pospal::clear_keys(db).await? {
                    let stored = seal_key(&kek, &app_id, key.expose());
                    if store_pospal::replace_key(db, &app_id, key.expose(), &stored).await? {
                        sealed += 1;
                    }
                }
                Ok(sealed)
            })
        })
        .await?;
    if sealed > 0 {
        tracing::info!(sealed, "Pospal appKeys stored in clear are now sealed");
    }
    Ok(())
}
