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
use posgate_actors::store::ds50::MqttCredentials;
use posgate_actors::store::{catalog, now_ms};
use posgate_protocols::ds50::{
    validate_topic_prefix, Broadcast, BroadcastMode, Ds50Error, MqttAuth, MqttParams,
    PaymentParams, PosParam, WireDate,
};
use posgate_protocols::secret::Sensitive;
use posgate_protocols::Fen;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Longest API key lifetime, days (ten years).
pub const KEY_LIFETIME_DAYS_MAX: u32 = 3650;

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
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: u32,
    /// The device's broadcast topic prefix (`mqtt_topic`; broadcasts go to
    /// `{mqtt_topic}/{SN}`), 1 to 31 printable ASCII characters (the firmware's buffer is 31
    /// bytes), no `+` or `#`, not starting or ending with `/`. Absent: the one the
    /// device has (`pos/message` at first).
    #[schema(
        min_length = 1,
        max_length = 31,
        pattern = r##"^[ -"$-*,-.0-~]([ -"$-*,-~]*[ -"$-*,-.0-~])?$"##
    )]
    pub mqtt_topic: Option<String>,
}

fn default_days() -> u32 {
    365
}

impl Validate for PosParamBody {
    fn validate(&self) -> Result<(), ApiError> {
        check_lifetime(self.expires_in_days)?;
        if let Some(topic) = &self.mqtt_topic {
            // Printable ASCII: one byte a character, so the length the document states is
            // the firmware's byte limit.
            if !topic.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) {
                return Err(ApiError::invalid("mqtt_topic", "must be printable ASCII"));
            }
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
    #[schema(max_length = 200, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub message: Option<String>,
    /// Amount, fen (sent as a cents string, at most 12 digits).
    #[schema(minimum = 0, maximum = 999_999_999_999_i64)]
    pub amount: i64,
    /// `00` guidance (the box starts a card sale of `amount`) or `99` amount only.
    #[schema(schema_with = trans_type_values)]
    pub trans_type: String,
    /// Order id, 1-32 bytes; the box ignores a broadcast repeating the previous one.
    #[schema(min_length = 1, max_length = 32, pattern = r"^[^\x00-\x1f\x7f-\x9f]+$")]
    pub order_id: String,
}

fn trans_type_values() -> utoipa::openapi::Object {
    super::dto::text_enum(&["00", "99"])
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

/// The broker the devices reach: `ds50.mqtt_public_host` (else an external broker's
/// `mqtt.host`) and `ds50.mqtt_public_port` (else the broker's port). Never a listen,
/// loopback or unspecified address: with the embedded broker and no public host configured
/// the file is refused.
fn mqtt_endpoint(gw: &Gateway) -> Result<(String, u16), ApiError> {
    let (m, d) = (&gw.config.mqtt, &gw.config.ds50);
    let broker_port = if m.embedded_broker {
        m.embedded_listen
            .rsplit_once(':')
            .and_then(|(_, port)| port.parse().ok())
            .ok_or_else(|| ApiError::invalid("mqtt.embedded_listen", "not host:port"))?
    } else {
        m.port
    };
    let host = match (d.mqtt_public_host.trim(), m.embedded_broker) {
        ("", true) => "",
        ("", false) if is_local_host(&m.host) => "",
        ("", false) => m.host.as_str(),
        (public, _) if is_unspecified_host(public) => "",
        (public, _) => public,
    };
    if host.is_empty() {
        return Err(ApiError::conflict(
            "no public MQTT host configured: set ds50.mqtt_public_host to the broker address \
             the DS50 boxes reach (the broker's listen, loopback or unspecified address is \
             useless to a device)",
        ));
    }
    let port = match d.mqtt_public_port {
        0 => broker_port,
        port => port,
    };
    Ok((host.to_string(), port))
}

/// An IP address host (`[::1]` included), if it is one.
fn host_ip(host: &str) -> Option<std::net::IpAddr> {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// `0.0.0.0` or `::`: a listen address, not one a device can connect to.
fn is_unspecified_host(host: &str) -> bool {
    host_ip(host).is_some_and(|ip| ip.is_unspecified())
}

/// Loopback, unspecified or `localhost`: an address only this machine can use.
fn is_local_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host_ip(host).is_some_and(|ip| ip.is_loopback() || ip.is_unspecified())
}

/// A freshly issued API key: 32 random bytes, hex, and its expiry.
struct NewKey {
    key: String,
    expires_at_ms: i64,
    expiry: WireDate,
}

/// A key valid `days` days: through the end of the expiry date (`pgw_api_key_expiry`,
/// today + `days` in the server's business day, `ledger.utc_offset_minutes`), refused from
/// the next midnight of that day on.
fn new_key(now: i64, days: u32, utc_offset_minutes: i32) -> Result<NewKey, ApiError> {
    let out_of_range = || ApiError::invalid("expires_in_days", "out of range");
    let offset_ms = i64::from(utc_offset_minutes) * 60_000;
    let today = chrono::DateTime::from_timestamp_millis(now + offset_ms)
        .ok_or_else(out_of_range)?
        .date_naive();
    let date = today
        .checked_add_days(chrono::Days::new(u64::from(days)))
        .ok_or_else(out_of_range)?;
    let next_midnight = date
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .ok_or_else(out_of_range)?;
    let expires_at_ms = next_midnight.and_utc().timestamp_millis() - offset_ms;
    let expiry = {
        use chrono::Datelike;
        WireDate::new(
            u16::try_from(date.year()).map_err(|_| out_of_range())?,
            u8::try_from(date.month()).map_err(|_| out_of_range())?,
            u8::try_from(date.day()).map_err(|_| out_of_range())?,
        )
        .ok_or_else(out_of_range)?
    };
    Ok(NewKey {
        key: hex::encode(rand::random::<[u8; 32]>()),
        expires_at_ms,
        expiry,
    })
}

/// A device's own broker login: user `ds50-{SN}` and 24 random bytes (hex) of password.
/// Only the password's SHA-256 is stored; the file shows it once.
fn new_mqtt_login(sn: &str) -> (String, String) {
    (
        format!("ds50-{sn}"),
        hex::encode(rand::random::<[u8; 24]>()),
    )
}

/// Issue a merchant-wide key.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MerchantKeyBody {
    /// Days the key stays valid, 1..=3650 (default 365).
    #[serde(default = "default_days")]
    #[schema(minimum = 1, maximum = 3650)]
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
    /// `pgw_api_key_expiry`, `YYYYMMDD`: the last day the key is valid, in the server's
    /// business day (`ledger.utc_offset_minutes`).
    pub api_key_expiry: String,
    /// Unix milliseconds from which the key is refused (`P1`): the midnight that ends
    /// `api_key_expiry` in the business day.
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
    } = new_key(
        now,
        body.0.expires_in_days,
        gw.config.ledger.utc_offset_minutes,
    )?;
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

/// The payment endpoint of `posparam.ini`: `(endpoint, port, verify TLS)` from
/// `mqtt.public_base_url`. An `http://` URL (track 2 and PIN block in clear) is refused
/// unless `ds50.allow_cleartext` is set.
fn payment_endpoint(gw: &Gateway) -> Result<(String, u16, bool), ApiError> {
    let (endpoint, port, https) = split_base_url(&gw.config.mqtt.public_base_url)
        .ok_or_else(|| ApiError::invalid("mqtt.public_base_url", "not an http(s) URL"))?;
    if !https && !gw.config.ds50.allow_cleartext {
        return Err(ApiError::conflict(
            "mqtt.public_base_url is http://: the box would send track 2 and the PIN block \
             in clear (pgw_ssl_cert 0); serve the DS50 endpoints over https, or set \
             ds50.allow_cleartext = true on a test bench",
        ));
    }
    Ok((endpoint, port, https))
}

/// The topic prefix of a new `posparam.ini`: the one asked for, else the device's.
async fn device_topic(
    gw: &Gateway,
    terminal_id: i64,
    requested: Option<String>,
) -> Result<String, ApiError> {
    match requested {
        Some(topic) => Ok(topic),
        None => {
            with_db(gw, move |db| {
                Box::pin(async move { store_ds50::mqtt_topic(db, terminal_id).await })
            })
            .await
        }
    }
}

/// Issue a DS50 device's `posparam.ini`: a fresh API key (32 random bytes, hex) valid
/// through `pgw_api_key_expiry` (today + `expires_in_days` in the business day) and a fresh
/// broker login of the device's own (`ds50-{SN}` and a random password), of which only the
/// SHA-256 are stored, with the broker the devices reach (`ds50.mqtt_public_host`) and the
/// payment endpoints. The answer is the file itself; the key and the password are not shown
/// again. Refused (409) when no public broker host is configured, when the payment URL is
/// `http://` without `ds50.allow_cleartext`, and (400) when a value does not fit the
/// firmware's buffers.
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
    let (endpoint, port, https) = payment_endpoint(&gw)?;
    let (mqtt_host, mqtt_port) = mqtt_endpoint(&gw)?;
    let now = now_ms();
    let NewKey {
        key,
        expires_at_ms,
        expiry,
    } = new_key(
        now,
        body.0.expires_in_days,
        gw.config.ledger.utc_offset_minutes,
    )?;
    let terminal_id = terminal.id;
    let topic = device_topic(&gw, terminal_id, body.0.mqtt_topic.clone()).await?;
    let (username, password) = new_mqtt_login(&terminal.code);
    let params = PosParam {
        mqtt: MqttParams {
            endpoint: mqtt_host,
            port: mqtt_port,
            auth: MqttAuth::Password {
                username: username.clone(),
                password: Sensitive::new(password.clone()),
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
    let file = params.render().map_err(|e| match e {
        Ds50Error::Invalid { field, reason } => ApiError::invalid(field, reason),
        other => ApiError::invalid("posparam", other.to_string()),
    })?;
    let hash = key_hash(&key);
    let login = MqttCredentials {
        username,
        password_sha256: key_hash(&password),
    };
    with_db(&gw, move |db| {
        Box::pin(async move {
            store_ds50::set_device_params(db, terminal_id, &topic, &login, now).await?;
            store_ds50::insert_api_key(db, &hash, terminal_id, expires_at_ms, now).await
        })
    })
    .await?;
    tracing::info!(
        terminal = terminal_id,
        "DS50 API key and broker login issued"
    );
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
    use super::{is_local_host, new_key, split_base_url};

    #[test]
    fn keys_live_through_their_expiry_date_in_the_business_day() {
        // 2026-12-01 17:00 UTC is 2026-12-02 01:00 at UTC+8.
        let now = 1_796_144_400_000;
        let key = new_key(now, 1, 480).unwrap();
        assert_eq!(key.expiry.to_compact(), "20261203");
        // Refused from 2026-12-04 00:00 UTC+8 = 2026-12-03 16:00 UTC.
        assert_eq!(key.expires_at_ms, 1_796_313_600_000);
        let utc = new_key(now, 1, 0).unwrap();
        assert_eq!(utc.expiry.to_compact(), "20261202");
        assert_eq!(utc.expires_at_ms, 1_796_256_000_000);
    }

    #[test]
    fn local_hosts() {
        for local in [
            "127.0.0.1",
            "0.0.0.0",
            "::1",
            "[::]",
            "localhost",
            "LOCALHOST",
        ] {
            assert!(is_local_host(local), "{local}");
        }
        for public in ["mqtt.example.com", "10.1.2.3", "[2001:db8::1]"] {
            assert!(!is_local_host(public), "{public}");
        }
    }

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
