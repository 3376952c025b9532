//! DS50 payment boxes: issuing a device's `posparam.ini` (with a fresh API key, of which only
//! the SHA-256 is stored) and pushing voice broadcasts to one device or to every active DS50
//! device of a merchant over MQTT (`{mqtt_topic}/{SN}`, each device's topic as issued in its
//! `posparam.ini`, `pos/message` by default), fanned out by the merchant's actor.

use super::{found, with_db};
use crate::app::Gateway;
use crate::http::ds50::key_hash;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::json::{ValidJson, Validate};
use actix_web::{delete, post, web, HttpResponse};
use posgate_actors::entity::{BroadcastError, Ds50Broadcast};
use posgate_actors::model::{Terminal, TerminalFamily, TerminalStatus};
use posgate_actors::store::ds50 as store_ds50;
use posgate_actors::store::{catalog, now_ms};
use posgate_protocols::ds50::{
    validate_topic_prefix, Broadcast, BroadcastMode, MqttAuth, MqttParams, PaymentParams, PosParam,
    WireDate,
};
use posgate_protocols::secret::Sensitive;
use posgate_protocols::Fen;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Longest API key lifetime, days (ten years).
pub const KEY_LIFETIME_DAYS_MAX: u32 = 3650;
const DAY_MS: i64 = 86_400_000;

/// An API key lifetime: 1..=[`KEY_LIFETIME_DAYS_MAX`] days.
fn check_lifetime(days: u32) -> Result<(), ApiError> {
    if days == 0 || days > KEY_LIFETIME_DAYS_MAX {
        return Err(ApiError::invalid(
            "expires_in_days",
            "must be within 1..=3650",
        ));
    }
    Ok(())
}

/// Issue a `posparam.ini`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PosParamBody {
    /// Days the new API key stays valid, 1..=3650 (default 365).
    #[serde(default = "default_days")]
    pub expires_in_days: u32,
    /// The device's broadcast topic prefix (`mqtt_topic`; broadcasts go to
    /// `{mqtt_topic}/{SN}`). Absent: the one the device has (`pos/message` at first).
    pub mqtt_topic: Option<String>,
}

fn default_days() -> u32 {
    365
}

impl Validate for PosParamBody {
    fn validate(&self) -> Result<(), ApiError> {
        check_lifetime(self.expires_in_days)?;
        if let Some(topic) = &self.mqtt_topic {
            validate_topic_prefix(topic)
                .map_err(|e| ApiError::invalid("mqtt_topic", e.to_string()))?;
        }
        Ok(())
    }
}

/// A voice broadcast (spec 3.4).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BroadcastBody {
    /// Text the device speaks (with `trans_type` `00`).
    pub message: Option<String>,
    /// Amount, fen.
    pub amount: i64,
    /// `00` guidance (message and amount) or `99` amount only.
    pub trans_type: String,
    /// Order id.
    pub order_id: String,
}

impl Validate for BroadcastBody {
    fn validate(&self) -> Result<(), ApiError> {
        self.build().map(|_| ())
    }
}

impl BroadcastBody {
    fn build(&self) -> Result<Broadcast, ApiError> {
        let mode = match self.trans_type.as_str() {
            "00" => BroadcastMode::Guidance,
            "99" => BroadcastMode::AmountOnly,
            _ => return Err(ApiError::invalid("trans_type", "must be \"00\" or \"99\"")),
        };
        if self.amount < 0 {
            return Err(ApiError::invalid("amount", "must not be negative"));
        }
        Broadcast::new(
            self.message.as_deref(),
            Fen(self.amount),
            mode,
            &self.order_id,
        )
        .map_err(|e| ApiError::invalid("body", e.to_string()))
    }
}

/// Devices a broadcast was published to.
#[derive(Serialize, ToSchema)]
pub struct BroadcastResult {
    /// Serial numbers, in terminal id order.
    pub published: Vec<String>,
}

async fn ds50_terminal(gw: &Gateway, id: i64) -> Result<Terminal, ApiError> {
    let terminal = with_db(gw, move |db| {
        Box::pin(async move { catalog::get_terminal(db, id).await })
    })
    .await?;
    let terminal = found(terminal, "terminal")?;
    if terminal.family != TerminalFamily::Ds50 {
        return Err(ApiError::conflict("not a ds50 terminal"));
    }
    Ok(terminal)
}

/// `(host, port, https)` of a base URL such as `https://pay.example.com:8443/x`.
fn split_base_url(url: &str) -> Option<(String, u16, bool)> {
    let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else {
        (false, url.strip_prefix("http://")?)
    };
    let authority = rest.split('/').next()?;
    let (host, port) = match authority.rsplit_once(':') {
        // `[::1]` has colons but no port; `[::1]:8443` and `host:8443` have one.
        Some((host, port)) if !port.contains(']') => (host, port.parse().ok()?),
        _ => (authority, if https { 443 } else { 80 }),
    };
    (!host.is_empty()).then(|| {
        (
            format!("{}://{host}", if https { "https" } else { "http" }),
            port,
            https,
        )
    })
}

/// The broker devices should connect to: the embedded broker's address or the external one.
fn mqtt_endpoint(gw: &Gateway) -> Result<(String, u16), ApiError> {
    let m = &gw.config.mqtt;
    if m.embedded_broker {
        let (host, port) = m
            .embedded_listen
            .rsplit_once(':')
            .ok_or_else(|| ApiError::invalid("mqtt.embedded_listen", "not host:port"))?;
        let port = port
            .parse()
            .map_err(|_| ApiError::invalid("mqtt.embedded_listen", "not host:port"))?;
        Ok((host.to_string(), port))
    } else {
        Ok((m.host.clone(), m.port))
    }
}

/// A freshly issued API key: 32 random bytes, hex, and its expiry.
struct NewKey {
    key: String,
    expires_at_ms: i64,
    expiry: WireDate,
}

fn new_key(now: i64, days: u32) -> Result<NewKey, ApiError> {
    let expires_at_ms = now + i64::from(days) * DAY_MS;
    let expiry = chrono::DateTime::from_timestamp_millis(expires_at_ms)
        .map(|t| t.date_naive())
        .and_then(|d| {
            use chrono::Datelike;
            WireDate::new(
                u16::try_from(d.year()).ok()?,
                u8::try_from(d.month()).ok()?,
                u8::try_from(d.day()).ok()?,
            )
        })
        .ok_or_else(|| ApiError::invalid("expires_in_days", "out of range"))?;
    Ok(NewKey {
        key: hex::encode(rand::random::<[u8; 32]>()),
        expires_at_ms,
        expiry,
    })
}

/// Issue a merchant-wide key.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MerchantKeyBody {
    /// Days the key stays valid, 1..=3650 (default 365).
    #[serde(default = "default_days")]
    pub expires_in_days: u32,
}

impl Validate for MerchantKeyBody {
    fn validate(&self) -> Result<(), ApiError> {
        check_lifetime(self.expires_in_days)
    }
}

/// A merchant-wide API key, shown once.
#[derive(Serialize, ToSchema)]
pub struct MerchantKeyView {
    /// The key (for `pgw_api_key`); posgate keeps only its SHA-256.
    pub api_key: String,
    /// `pgw_api_key_expiry`, `YYYYMMDD` (UTC).
    pub api_key_expiry: String,
    /// Unix milliseconds after which the key is refused (`P1`).
    pub expires_at_ms: i64,
}

/// Issue an API key that opens every DS50 device of a merchant (the spec's key per merchant),
/// valid `expires_in_days`. Shown once; only its SHA-256 is stored.
#[utoipa::path(tag = "ds50", request_body = MerchantKeyBody, security(("bearer" = [])), responses(
    (status = 201, body = MerchantKeyView), (status = 400, body = ErrorBody),
    (status = 404, body = ErrorBody)))]
#[post("/merchants/{id}/ds50/api-keys")]
pub async fn merchant_key(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
    body: ValidJson<MerchantKeyBody>,
) -> Result<HttpResponse, ApiError> {
    let merchant = id.into_inner();
    let now = now_ms();
    let NewKey {
        key,
        expires_at_ms,
        expiry,
    } = new_key(now, body.0.expires_in_days)?;
    let hash = key_hash(&key);
    let stored = with_db(&gw, move |db| {
        Box::pin(async move {
            if catalog::get_merchant(db, merchant).await?.is_none() {
                return Ok(false);
            }
            store_ds50::insert_merchant_api_key(db, &hash, merchant, expires_at_ms, now).await?;
            Ok(true)
        })
    })
    .await?;
    if !stored {
        return Err(ApiError::not_found("merchant"));
    }
    tracing::info!(merchant, "DS50 merchant API key issued");
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(MerchantKeyView {
            api_key: key,
            api_key_expiry: expiry.to_compact(),
            expires_at_ms,
        }))
}

/// How many keys a revocation removed.
#[derive(Serialize, ToSchema)]
pub struct Revoked {
    /// Keys revoked (0 when there were none).
    pub revoked: u64,
}

/// Revoke every API key of a DS50 device (a lost or stolen device, a leaked file): its sales
/// are refused (`63`) until a new `posparam.ini` is issued.
#[utoipa::path(tag = "ds50", security(("bearer" = [])), responses(
    (status = 200, body = Revoked), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[delete("/terminals/{id}/ds50/api-keys")]
pub async fn revoke_device_keys(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let terminal = ds50_terminal(&gw, id.into_inner()).await?;
    let terminal_id = terminal.id;
    let revoked = with_db(&gw, move |db| {
        Box::pin(async move { store_ds50::revoke_device_keys(db, terminal_id).await })
    })
    .await?;
    tracing::info!(
        terminal = terminal_id,
        revoked,
        "DS50 device API keys revoked"
    );
    Ok(HttpResponse::Ok().json(Revoked { revoked }))
}

/// Revoke every merchant-wide DS50 API key of a merchant (device keys stay valid).
#[utoipa::path(tag = "ds50", security(("bearer" = [])), responses(
    (status = 200, body = Revoked), (status = 404, body = ErrorBody)))]
#[delete("/merchants/{id}/ds50/api-keys")]
pub async fn revoke_merchant_keys(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let merchant = id.into_inner();
    let revoked = with_db(&gw, move |db| {
        Box::pin(async move {
            if catalog::get_merchant(db, merchant).await?.is_none() {
                return Ok(None);
            }
            store_ds50::revoke_merchant_keys(db, merchant)
                .await
                .map(Some)
        })
    })
    .await?;
    let revoked = found(revoked, "merchant")?;
    tracing::info!(merchant, revoked, "DS50 merchant API keys revoked");
    Ok(HttpResponse::Ok().json(Revoked { revoked }))
}

/// Issue a DS50 device's `posparam.ini`: a fresh API key (32 random bytes, hex) valid for
/// `expires_in_days`, of which only the SHA-256 is stored, with this gateway's MQTT broker
/// and payment endpoints. The answer is the file itself; the key is not shown again.
#[utoipa::path(tag = "ds50", request_body = PosParamBody, security(("bearer" = [])), responses(
    (status = 201, description = "posparam.ini (JSON)"), (status = 400, body = ErrorBody),
    (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[post("/terminals/{id}/posparam")]
pub async fn posparam(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
    body: ValidJson<PosParamBody>,
) -> Result<HttpResponse, ApiError> {
    let terminal = ds50_terminal(&gw, id.into_inner()).await?;
    let (endpoint, port, https) = split_base_url(&gw.config.mqtt.public_base_url)
        .ok_or_else(|| ApiError::invalid("mqtt.public_base_url", "not an http(s) URL"))?;
    let (mqtt_host, mqtt_port) = mqtt_endpoint(&gw)?;
    let now = now_ms();
    let NewKey {
        key,
        expires_at_ms,
        expiry,
    } = new_key(now, body.0.expires_in_days)?;
    let terminal_id = terminal.id;
    let topic = match body.0.mqtt_topic.clone() {
        Some(topic) => topic,
        None => {
            with_db(&gw, move |db| {
                Box::pin(async move { store_ds50::mqtt_topic(db, terminal_id).await })
            })
            .await?
        }
    };
    let params = PosParam {
        mqtt: MqttParams {
            endpoint: mqtt_host,
            port: mqtt_port,
            auth: MqttAuth::Password {
                username: gw.config.mqtt.username.clone(),
                password: Sensitive::new(gw.config.mqtt.password.expose().clone()),
            },
            topic: topic.clone(),
        },
        payment: PaymentParams {
            endpoint,
            port,
            ssl_verify: https,
            api_key: Sensitive::new(key.clone()),
            api_key_expiry: expiry,
            sale_path: gw.config.ds50.sale_path.clone(),
            details_path: gw.config.ds50.details_path.clone(),
        },
    };
    let file = params
        .render()
        .map_err(|e| ApiError::invalid("posparam", e.to_string()))?;
    let hash = key_hash(&key);
    with_db(&gw, move |db| {
        Box::pin(async move {
            store_ds50::set_mqtt_topic(db, terminal_id, &topic, now).await?;
            store_ds50::insert_api_key(db, &hash, terminal_id, expires_at_ms, now).await
        })
    })
    .await?;
    tracing::info!(terminal = terminal_id, "DS50 API key issued");
    Ok(HttpResponse::Created()
        .content_type("application/json")
        .insert_header(("Cache-Control", "no-store"))
        .body(file))
}

/// Asks the merchant's actor to publish `message`; maps its refusals.
async fn fan_out(
    gw: &Gateway,
    merchant_id: i64,
    terminal_id: Option<i64>,
    message: &Broadcast,
) -> Result<Vec<String>, ApiError> {
    let ask = Ds50Broadcast {
        payload: message.encode(),
        terminal_id,
    };
    let result = gw.merchants.ask(&merchant_id.to_string(), ask)?.await;
    match result {
        Ok(Ok(published)) => Ok(published),
        Ok(Err(e @ (BroadcastError::Publish { .. } | BroadcastError::Store(_)))) => {
            Err(ApiError::unavailable("mqtt_unavailable", e.to_string()))
        }
        Ok(Err(e)) => Err(ApiError::conflict(e.to_string())),
        Err(_) => Err(ApiError::unavailable(
            "busy",
            "the merchant's actor stopped; retry",
        )),
    }
}

/// Push a voice broadcast to one DS50 device, on its topic (`{mqtt_topic}/{SN}`).
#[utoipa::path(tag = "ds50", request_body = BroadcastBody, security(("bearer" = [])), responses(
    (status = 200, body = BroadcastResult), (status = 400, body = ErrorBody),
    (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
#[post("/terminals/{id}/broadcast")]
pub async fn broadcast(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
    body: ValidJson<BroadcastBody>,
) -> Result<HttpResponse, ApiError> {
    let terminal = ds50_terminal(&gw, id.into_inner()).await?;
    if terminal.status != TerminalStatus::Active {
        return Err(ApiError::conflict("terminal is not active"));
    }
    let message = body.0.build()?;
    let published = fan_out(&gw, terminal.merchant_id, Some(terminal.id), &message).await?;
    Ok(HttpResponse::Ok().json(BroadcastResult { published }))
}

/// Push a voice broadcast to every active DS50 device of a merchant, one message per device
/// on each device's topic, fanned out by the merchant's actor.
#[utoipa::path(tag = "ds50", request_body = BroadcastBody, security(("bearer" = [])), responses(
    (status = 200, body = BroadcastResult), (status = 400, body = ErrorBody),
    (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
#[post("/merchants/{id}/broadcast")]
pub async fn broadcast_to_merchant(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
    body: ValidJson<BroadcastBody>,
) -> Result<HttpResponse, ApiError> {
    let merchant = id.into_inner();
    let exists = with_db(&gw, move |db| {
        Box::pin(async move { Ok(catalog::get_merchant(db, merchant).await?.is_some()) })
    })
    .await?;
    if !exists {
        return Err(ApiError::not_found("merchant"));
    }
    let message = body.0.build()?;
    let published = fan_out(&gw, merchant, None, &message).await?;
    Ok(HttpResponse::Ok().json(BroadcastResult { published }))
}

#[cfg(test)]
mod tests {
    use super::split_base_url;

    #[test]
    fn base_urls() {
        assert_eq!(
            split_base_url("https://pay.example.com/x"),
            Some(("https://pay.example.com".into(), 443, true))
        );
        assert_eq!(
            split_base_url("http://127.0.0.1:8080"),
            Some(("http://127.0.0.1".into(), 8080, false))
        );
        assert_eq!(
            split_base_url("https://[::1]:8443"),
            Some(("https://[::1]".into(), 8443, true))
        );
        assert_eq!(
            split_base_url("http://[::1]"),
            Some(("http://[::1]".into(), 80, false))
        );
        assert_eq!(split_base_url("ftp://x"), None);
        assert_eq!(split_base_url("https://:1"), None);
        assert_eq!(split_base_url("https://h:99999"), None);
    }
}
