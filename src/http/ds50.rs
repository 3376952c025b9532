//! The DS50 payment box endpoints (ds50-cloud-speaker.txt 3.5): posgate as the device's
//! Payment Server.
//!
//! Both paths are settings (`ds50.sale_path`, `ds50.details_path`), written into each
//! device's `posparam.ini`.
//!
//! - `POST /ds50/v1/sale` (`pgw_api_sale`, default path): decode, authenticate the device's API key, hash
//!   the PAN with the card key, and ask the device's terminal actor (`ds50:{deviceSn}`),
//!   which debits the card's account. The PAN, track 2, PIN block and EMV data stop here:
//!   they are never stored, logged, or passed on.
//! - `POST /ds50/v1/transactions` (`pgw_api_details`, default path): one page of the device's sales of a
//!   day, amounts in cents, card numbers masked.
//!
//! Authentication: `Authorization: Bearer <key>` or `x-api-key: <key>`. Only the key's
//! SHA-256 is stored; a device key opens its device, a merchant key every DS50 device of its
//! merchant. An unknown key, or a key of another
//! device, answers 401 with code `63`; an expired key 401 with `P1`, in the reply shape of
//! the endpoint so that the device can show it.
//!
//! Every refusal is DS50 JSON in the endpoint's reply shape, never a bare HTTP error: a
//! body over [`REQUEST_BYTES_MAX`] (413), a content type other than JSON (415), another
//! method than POST (405) and an unknown path under `/ds50/` (404) all carry `30`.

use crate::app::Gateway;
use crate::config::Ds50Config;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use posgate_actors::entity::{ds50_auth_code, ds50_entity_code, Ds50Sale, TerminalActor};
use posgate_actors::model::TerminalFamily;
use posgate_actors::store::ds50 as store_ds50;
use posgate_actors::store::{catalog, now_ms};
use posgate_protocols::ds50::limits::REQUEST_BYTES_MAX;
use posgate_protocols::ds50::{
    BatchNo, CardOrg, DetailStatus, DetailsReply, DetailsRequest, DeviceSn, MaskedPan,
    ResponseCode, SaleReply, SaleRequest, TraceNo, TransInfo, TransType, WireDateTime,
};
use posgate_protocols::secret::constant_time_eq;
use posgate_protocols::Fen;

/// Longest API key accepted in a header, characters.
pub const API_KEY_CHARS_MAX: usize = 256;

/// Registers the DS50 routes at their configured paths. Another method on them, or another
/// path under `/ds50/`, gets a DS50 JSON refusal (`30`).
pub fn configure(cfg: &mut web::ServiceConfig, paths: &Ds50Config) {
    cfg.service(
        web::resource(&paths.sale_path)
            .route(web::post().to(sale))
            .default_service(web::to(|| async { refuse_sale(Refusal::Method) })),
    )
    .service(
        web::resource(&paths.details_path)
            .route(web::post().to(details))
            .default_service(web::to(|| async { refuse_details(Refusal::Method) })),
    )
    .route(
        "/ds50/{tail:.*}",
        web::route().to(|| async { refuse_sale(Refusal::Path) }),
    );
}

/// Why a request was refused before its body was decoded. Each answers `30` in the
/// endpoint's reply shape, with the HTTP status that says what went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    /// Not `POST` (405).
    Method,
    /// No DS50 endpoint at this path (404).
    Path,
    /// A `Content-Type` other than `application/json` (415).
    ContentType,
    /// A body over [`REQUEST_BYTES_MAX`] (413).
    TooLarge,
    /// The body broke off (400).
    Broken,
}

impl Refusal {
    fn status(self) -> StatusCode {
        match self {
            Refusal::Method => StatusCode::METHOD_NOT_ALLOWED,
            Refusal::Path => StatusCode::NOT_FOUND,
            Refusal::ContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Refusal::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::Broken => StatusCode::BAD_REQUEST,
        }
    }
}

fn refuse_sale(refusal: Refusal) -> HttpResponse {
    metrics::counter!("posgate_ds50_sales_total", "result" => "malformed").increment(1);
    json(
        refusal.status(),
        SaleReply::decline(ResponseCode::FormatError).encode(),
    )
}

fn refuse_details(refusal: Refusal) -> HttpResponse {
    json(
        refusal.status(),
        DetailsReply::failed(ResponseCode::FormatError).encode(),
    )
}

/// Whether the request's content type, if it names one, is JSON. A device that sends no
/// `Content-Type` is read as JSON (the spec names none; the reference firmware sends
/// `application/json`).
fn is_json_or_unnamed(req: &HttpRequest) -> bool {
    let Some(value) = req.headers().get(actix_web::http::header::CONTENT_TYPE) else {
        return true;
    };
    value
        .to_str()
        .ok()
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

/// Reads a JSON body of at most [`REQUEST_BYTES_MAX`] bytes (reading stops there, whatever
/// the gateway-wide `http.request_body_bytes_max`).
async fn read_body(req: &HttpRequest, mut payload: web::Payload) -> Result<Vec<u8>, Refusal> {
    use futures::StreamExt;
    if !is_json_or_unnamed(req) {
        return Err(Refusal::ContentType);
    }
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| Refusal::Broken)?;
        if body.len() + chunk.len() > REQUEST_BYTES_MAX {
            return Err(Refusal::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Lowercase hex SHA-256 of an API key: what the store holds.
pub fn key_hash(key: &str) -> String {
    crate::secret::sha256_hex(key)
}

/// The API key of a request: `Authorization: Bearer <key>`, else `x-api-key`.
fn presented_key(req: &HttpRequest) -> Option<String> {
    let headers = req.headers();
    let bearer = headers
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let key = bearer.or_else(|| {
        headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    })?;
    (!key.is_empty() && key.len() <= API_KEY_CHARS_MAX).then(|| key.to_string())
}

/// What a presented key was found to be.
struct KeyMatch {
    /// The stored hash (compared again in constant time).
    key_sha256: String,
    /// When it stops opening anything.
    expires_at_ms: i64,
    /// Whether it opens device `sn`: a device key of that device, or a merchant key of the
    /// device's merchant.
    opens: bool,
}

/// Checks the request's API key against device `sn`; the refusal code otherwise. A key is a
/// device key (opens that device) or a merchant key (opens every DS50 device of that
/// merchant).
async fn authenticate(gw: &Gateway, req: &HttpRequest, sn: &DeviceSn) -> Result<(), ResponseCode> {
    let Some(key) = presented_key(req) else {
        return Err(ResponseCode::SecurityViolation);
    };
    let hash = key_hash(&key);
    let (lookup, device) = (hash.clone(), sn.as_str().to_string());
    let found = gw
        .store
        .transaction(move |db| {
            Box::pin(async move {
                if let Some(stored) = store_ds50::find_api_key(db, &lookup).await? {
                    let terminal = catalog::get_terminal(db, stored.terminal_id).await?;
                    return Ok(Some(KeyMatch {
                        key_sha256: stored.key_sha256,
                        expires_at_ms: stored.expires_at_ms,
                        opens: terminal
                            .is_some_and(|t| t.family == TerminalFamily::Ds50 && t.code == device),
                    }));
                }
                let Some(stored) = store_ds50::find_merchant_api_key(db, &lookup).await? else {
                    return Ok(None);
                };
                let terminal = catalog::find_terminal(db, TerminalFamily::Ds50, &device).await?;
                Ok(Some(KeyMatch {
                    key_sha256: stored.key_sha256,
                    expires_at_ms: stored.expires_at_ms,
                    opens: terminal.is_some_and(|t| t.merchant_id == stored.merchant_id),
                }))
            })
        })
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "DS50 API key lookup failed");
            ResponseCode::IssuerUnavailable
        })?;
    let Some(found) = found else {
        return Err(ResponseCode::SecurityViolation);
    };
    if !constant_time_eq(found.key_sha256.as_bytes(), hash.as_bytes()) || !found.opens {
        return Err(ResponseCode::SecurityViolation);
    }
    if found.expires_at_ms <= now_ms() {
        return Err(ResponseCode::ApiKeyExpired);
    }
    Ok(())
}

fn status_of(code: ResponseCode) -> StatusCode {
    match code {
        ResponseCode::SecurityViolation | ResponseCode::ApiKeyExpired => StatusCode::UNAUTHORIZED,
        _ => StatusCode::OK,
    }
}

fn json(status: StatusCode, body: Vec<u8>) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/json")
        .body(body)
}

fn sale_answer(reply: &SaleReply) -> HttpResponse {
    json(status_of(reply.code()), reply.encode())
}

/// The message a sale or reversal becomes for the device's terminal actor: no PAN, track 2,
/// PIN block or EMV data.
fn actor_message(gw: &Gateway, request: &SaleRequest, card_hmac: String) -> Ds50Sale {
    let (y, m, d) = request.date.parts();
    Ds50Sale {
        card_hmac,
        card_masked: request.pan().masked().as_str().to_string(),
        card_org: request.card_org.as_str().to_string(),
        idempotency_key: request.idempotency_key(),
        reversal: request.trans_type == TransType::Reversal,
        amount: request.amount.get(),
        date: chrono::NaiveDate::from_ymd_opt(i32::from(y), u32::from(m), u32::from(d))
            .unwrap_or_default(),
        business_date: gw.business_date(),
        time: request.time.to_wire(),
        batch_no: request.batch_no.to_wire(),
        trace_no: request.trace_no.to_wire(),
    }
}

/// Whether the card of a sale is past its expiry month on the server's business date.
fn card_expired(gw: &Gateway, request: &SaleRequest) -> bool {
    use chrono::Datelike;
    let today = gw.business_date();
    request.track2.is_expired_at(
        u16::try_from(today.year()).unwrap_or(u16::MAX),
        u8::try_from(today.month()).unwrap_or(12),
    )
}

/// DS50 sale (spec 3.5.1/3.5.2), or reversal (`transType` `REVERSAL`). Declines are
/// answered 200 with their code; key failures 401; an expired card `54` (a reversal is
/// never refused for the card's expiry: it must always complete).
pub async fn sale(gw: web::Data<Gateway>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let body = match read_body(&req, payload).await {
        Ok(body) => body,
        Err(refusal) => return refuse_sale(refusal),
    };
    let request = match SaleRequest::decode(&body) {
        Ok(r) => r,
        Err(e) => {
            metrics::counter!("posgate_ds50_sales_total", "result" => "malformed").increment(1);
            return sale_answer(&SaleReply::refused(&e));
        }
    };
    if let Err(code) = authenticate(&gw, &req, &request.device_sn).await {
        metrics::counter!("posgate_ds50_sales_total", "result" => "unauthorized").increment(1);
        return sale_answer(&SaleReply::decline(code));
    }
    if request.trans_type == TransType::Sale && card_expired(&gw, &request) {
        metrics::counter!("posgate_ds50_sales_total", "result" => "declined").increment(1);
        return sale_answer(&SaleReply::decline(ResponseCode::ExpiredCard));
    }
    let Ok(card_hmac) = gw.card_key.index(request.pan().expose()) else {
        return sale_answer(&SaleReply::decline(ResponseCode::InvalidCardNumber));
    };
    let key = TerminalActor::key(TerminalFamily::Ds50, request.device_sn.as_str());
    let message = actor_message(&gw, &request, card_hmac);
    let reversal = message.reversal;
    // The track 2, PAN, PIN block and EMV data end here.
    drop(request);
    let reply = match gw.terminals.ask(&key, message) {
        Ok(rx) => rx
            .await
            .unwrap_or_else(|_| SaleReply::decline(ResponseCode::Busy)),
        Err(e) => SaleReply::decline(ds50_entity_code(&e)),
    };
    let result = match (reply.code().is_approved(), reversal) {
        (true, false) => "approved",
        (true, true) => "reversed",
        (false, _) => "declined",
    };
    metrics::counter!("posgate_ds50_sales_total", "result" => result).increment(1);
    sale_answer(&reply)
}

fn details_answer(reply: &DetailsReply) -> HttpResponse {
    json(status_of(reply.code()), reply.encode())
}

/// DS50 transaction details (spec 3.5.3): the device's sales of `date` that reached the
/// ledger, oldest first, `pageSize` per page.
pub async fn details(
    gw: web::Data<Gateway>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let body = match read_body(&req, payload).await {
        Ok(body) => body,
        Err(refusal) => return refuse_details(refusal),
    };
    let request = match DetailsRequest::decode(&body) {
        Ok(r) => r,
        Err(e) => return details_answer(&DetailsReply::failed(e.code())),
    };
    if let Err(code) = authenticate(&gw, &req, &request.device_sn).await {
        return details_answer(&DetailsReply::failed(code));
    }
    let terminal_key = TerminalActor::key(TerminalFamily::Ds50, request.device_sn.as_str());
    let date = request.date.to_dashed();
    let offset = i64::try_from(request.offset()).unwrap_or(i64::MAX);
    let limit = i64::from(request.page_size);
    let listed = gw
        .store
        .transaction(move |db| {
            Box::pin(async move {
                store_ds50::list_sales(db, &terminal_key, &date, offset, limit).await
            })
        })
        .await;
    let (total, rows) = match listed {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(error = %e, "DS50 details query failed");
            return details_answer(&DetailsReply::failed(ResponseCode::IssuerUnavailable));
        }
    };
    let entries: Result<Vec<TransInfo>, _> = rows
        .into_iter()
        .map(|row| {
            let approved = row.status == "posted";
            Ok::<_, posgate_protocols::ds50::Ds50Error>(TransInfo {
                status: if approved {
                    DetailStatus::Approved
                } else {
                    DetailStatus::Declined
                },
                auth_code: if approved {
                    ds50_auth_code(row.journal_id)
                } else {
                    None
                },
                amount: Fen(row.amount),
                trans_type: TransType::Sale,
                card_no: MaskedPan::parse(&row.sale.card_masked)?,
                card_org: CardOrg::parse(&row.sale.card_org)?,
                trace_no: TraceNo::parse(&row.sale.trace_no)?,
                batch_no: BatchNo::parse(&row.sale.batch_no)?,
                datetime: WireDateTime::parse(
                    &format!("{} {}", row.sale.business_date, row.sale.trans_time),
                    "transDatetime",
                )?,
            })
        })
        .collect();
    let reply = entries.and_then(|e| DetailsReply::page(u64::try_from(total).unwrap_or(0), e));
    match reply {
        Ok(reply) => details_answer(&reply),
        Err(e) => {
            tracing::warn!(error = %e, "DS50 stored sale could not be encoded");
            details_answer(&DetailsReply::failed(ResponseCode::SystemMalfunction))
        }
    }
}
