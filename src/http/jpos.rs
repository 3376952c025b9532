//! The jpos access layer over HTTP (jpos-access-layer.txt): `POST /v1/jpos/...` forms in,
//! JSON replies out.
//!
//! Thin: recognise the interface from the path, check method, content type and size,
//! decode the form with the pure codec, strip the card secrets (the card number becomes its
//! HMAC index and masked form; tracks and PIN block stop here), and ask the terminal actor
//! `jpos:{storeNo}:{terminalNo}`. The footnote's `/v1/trans/consume` is served as consume.
//!
//! HTTP statuses: every decoded request, refused or not, is answered `200` with the
//! refusal in `status` (terminals read the JSON). Only transport faults get another status,
//! still with a jpos body: `404` + `40` unknown path or version, `405` + `40` not POST,
//! `415` + `30` not a form, `413` + `30` body over 16 KiB.

use crate::app::Gateway;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Datelike;
use posgate_actors::entity::{
    jpos_entity_code, JposAnswer, JposCall, JposCard, JposTrace, JposWork, KeptKeys, PinPresented,
    TerminalActor, VerifyCodeLimits,
};
use posgate_actors::model::TerminalFamily;
use posgate_actors::store::{jpos_pins, now_ms};
use posgate_protocols::jpos::limits::BODY_BYTES_MAX;
use posgate_protocols::jpos::pin::{open_pin_block, Pin};
use posgate_protocols::jpos::request::{CardData, ConsumeRequest, TraceRef};
use posgate_protocols::jpos::{decode_request, CardNo, Endpoint, JposStatus, Request, WorkingKey};

/// Registers the jpos routes: every path under `/v1/jpos/` and the consume alias.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/{version:v[0-9]+}/jpos/{tail:.*}", web::route().to(serve))
        .route(
            posgate_protocols::jpos::endpoint::CONSUME_ALIAS_PATH,
            web::route().to(serve),
        );
}

fn answer(http: StatusCode, answer: &JposAnswer, endpoint: &'static str) -> HttpResponse {
    metrics::counter!("posgate_jpos_requests_total",
        "endpoint" => endpoint, "status" => answer.status.as_str())
    .increment(1);
    HttpResponse::build(http)
        .content_type("application/json; charset=utf-8")
        .body(answer.body.clone())
}

fn refuse(http: StatusCode, status: JposStatus, endpoint: &'static str) -> HttpResponse {
    answer(http, &JposAnswer::refuse(status, now_ms()), endpoint)
}

fn is_form(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Reads the body up to [`BODY_BYTES_MAX`]; `None` when it is longer (reading stops there,
/// whatever the gateway-wide `http.request_body_bytes_max`) or breaks off.
async fn read_body(mut payload: web::Payload) -> Option<web::Bytes> {
    use futures::StreamExt;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.ok()?;
        if body.len() + chunk.len() > BODY_BYTES_MAX {
            return None;
        }
        body.extend_from_slice(&chunk);
    }
    Some(body.freeze())
}

/// Every jpos request.
pub async fn serve(
    gw: web::Data<Gateway>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let endpoint = match Endpoint::from_path(req.path()) {
        Ok(endpoint) => endpoint,
        Err(e) => return refuse(StatusCode::NOT_FOUND, e.code(), "unknown"),
    };
    let label = endpoint.suffix();
    if let Err(e) = Endpoint::require_post(req.method().as_str()) {
        return refuse(StatusCode::METHOD_NOT_ALLOWED, e.code(), label);
    }
    if !is_form(&req) {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            JposStatus::FormatError,
            label,
        );
    }
    let Some(body) = read_body(payload).await else {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            JposStatus::FormatError,
            label,
        );
    };
    let request = match decode_request(endpoint, &body) {
        Ok(request) => request,
        Err(e) => return refuse(StatusCode::OK, e.code(), label),
    };
    let today = gw.business_date();
    let (year, month) = (
        u16::try_from(today.year()).unwrap_or(u16::MAX),
        u8::try_from(today.month()).unwrap_or(12),
    );
    let expired = request
        .spending_card()
        .is_some_and(|card| card.expired_before(year, month));
    if expired {
        return refuse(StatusCode::OK, JposStatus::ExpiredCardDecline, label);
    }
    let terminal = request.terminal();
    if terminal.store_no.as_str().contains(':') {
        // `jpos:{storeNo}:{terminalNo}` would be ambiguous: no such terminal is registered.
        return refuse(StatusCode::OK, JposStatus::UnknownTerminal, label);
    }
    let code = format!(
        "{}:{}",
        terminal.store_no.as_str(),
        terminal.terminal_no.as_str()
    );
    let key = TerminalActor::key(TerminalFamily::Jpos, &code);
    if !probe_admitted(&gw, &req, &key, &request) {
        metrics::counter!("posgate_jpos_card_probe_refusals_total").increment(1);
        tracing::warn!(terminal = %key, "jpos: too many distinct cards from this terminal");
        return refuse(StatusCode::OK, JposStatus::ExceedsFrequencyLimit, label);
    }
    let mut work = work_of(&gw, &key, &request);
    if let (Some(data), Some(card)) = (request.spending_card(), work.spending_card_mut()) {
        card.track2_read = data.track2.is_some();
    }
    if let (Request::Consume(r), JposWork::Consume { card, .. }) = (&request, &mut work) {
        match presented_pin(&gw, &code, &key, r).await {
            Ok(pin) => card.pin = pin,
            Err(status) => return refuse(StatusCode::OK, status, label),
        }
    }
    // The SMS code leaves only through the sender, after its digest is stored.
    let sms = match &request {
        Request::SendVerifyCode(r) => Some((r.mobile_no.as_str().to_string(), new_code())),
        _ => None,
    };
    if let (Some((mobile_no, code)), JposWork::SendVerifyCode { code_digest: d, .. }) =
        (&sms, &mut work)
    {
        *d = code_digest(&gw, mobile_no, code);
    }
    let call = JposCall {
        work,
        fingerprint: fingerprint(&gw, &request),
        business_date: gw.business_date(),
        now_ms: now_ms(),
    };
    // The card number, tracks and PIN block end here.
    drop(request);
    let reply = match gw.terminals.ask(&key, call) {
        Ok(rx) => rx
            .await
            .unwrap_or_else(|_| JposAnswer::refuse(JposStatus::SystemBusy, now_ms())),
        Err(e) => JposAnswer::refuse(jpos_entity_code(&e), now_ms()),
    };
    if let (Some((mobile_no, code)), JposStatus::Approved) = (sms, reply.status) {
        let text = format!(
            "验证码 {code}, {} 分钟内有效 (verification code, valid {} minutes)",
            gw.config.jpos.verify_code_ttl_seconds / 60,
            gw.config.jpos.verify_code_ttl_seconds / 60
        );
        if let Err(e) = gw.sms.send(&mobile_no, &code, &text).await {
            tracing::warn!(error = %e, "jpos SMS not sent");
            metrics::counter!("posgate_jpos_sms_total", "result" => "failed").increment(1);
            return refuse(StatusCode::OK, JposStatus::IssuerUnavailable, label);
        }
        metrics::counter!("posgate_jpos_sms_total", "result" => "sent").increment(1);
    }
    answer(StatusCode::OK, &reply, label)
}

fn seconds_ms(seconds: u64) -> i64 {
    i64::try_from(seconds.saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// The verification-code settings.
fn verify_limits(gw: &Gateway) -> VerifyCodeLimits {
    let c = &gw.config.jpos;
    VerifyCodeLimits {
        ttl_ms: seconds_ms(c.verify_code_ttl_seconds),
        resend_ms: seconds_ms(c.verify_code_resend_seconds),
        per_number_hour_max: i64::from(c.verify_code_sends_per_hour_max),
        per_terminal_hour_max: i64::from(c.verify_code_sends_per_terminal_hour_max),
        total_hour_max: i64::from(c.verify_code_sends_per_hour_total_max),
        attempts_max: i64::from(c.verify_code_attempts_max),
    }
}

/// A fresh six-digit verification code.
fn new_code() -> String {
    format!("{:06}", rand::random::<u32>() % 1_000_000)
}

/// The stored form of a verification code: keyed, bound to the mobile number.
fn code_digest(gw: &Gateway, mobile_no: &str, code: &str) -> String {
    gw.card_key
        .digest(&format!("jpos-verify-code:{mobile_no}"), code.as_bytes())
}

/// A keyed digest of what the request asks, without the PIN block and tracks (a PIN block
/// may differ between retries) and with the reversals digested as their originals, whose
/// body they repeat.
fn fingerprint(gw: &Gateway, request: &Request) -> String {
    let mut stripped = request.clone();
    let strip = |card: &mut CardData| {
        card.track2 = None;
        card.track3 = None;
    };
    let endpoint = match &mut stripped {
        Request::Consume(r) => {
            strip(&mut r.card);
            r.password = None;
            Endpoint::Consume
        }
        Request::ConsumeReversal(r) => {
            strip(&mut r.original.card);
            r.original.password = None;
            Endpoint::Consume
        }
        Request::Cancel(r) => {
            strip(&mut r.card);
            Endpoint::Cancel
        }
        Request::CancelReversal(r) => {
            strip(&mut r.original.card);
            Endpoint::Cancel
        }
        Request::Refund(r) => {
            strip(&mut r.card);
            Endpoint::Refund
        }
        Request::RefundCancel(r) => {
            strip(&mut r.card);
            Endpoint::RefundCancel
        }
        Request::TicketConsume(r) => {
            strip(&mut r.card);
            Endpoint::TicketConsume
        }
        Request::TicketConsumeReversal(r) => {
            strip(&mut r.original.card);
            Endpoint::TicketConsume
        }
        Request::CardActivate(r) => {
            strip(&mut r.card);
            Endpoint::CardActivate
        }
        other => other.endpoint(),
    };
    let mut data = endpoint.suffix().as_bytes().to_vec();
    data.push(b'\n');
    data.extend_from_slice(&stripped.to_form());
    gw.card_key.digest("jpos-request", &data)
}

fn card(gw: &Gateway, card_no: &CardNo) -> JposCard {
    JposCard {
        hmac: gw.card_key.index(card_no.expose()).ok(),
        masked: card_no.masked(),
        pin: PinPresented::None,
        track2_read: false,
    }
}

/// Whether the terminal may present the request's card now (card probing, per replica).
fn probe_admitted(gw: &Gateway, req: &HttpRequest, terminal_key: &str, request: &Request) -> bool {
    let (Some(card_no), Some(probes)) = (
        request.probing_card(),
        req.app_data::<web::Data<crate::http::card_probes::CardProbes>>(),
    ) else {
        return true;
    };
    let tag = gw
        .card_key
        .digest("jpos-card-probe", card_no.expose().as_bytes());
    probes.admit(terminal_key, &tag, std::time::Instant::now())
}

/// The associated data of a terminal's sealed PIN key.
fn pin_key_context(terminal_key: &str) -> String {
    format!("jpos-pin-key:{terminal_key}")
}

/// The stored form of a card's PIN: keyed (card key), bound to the card.
pub fn pin_verifier(gw: &Gateway, card_hmac: &str, pin: &Pin) -> String {
    gw.card_key
        .digest(&format!("jpos-pin:{card_hmac}"), pin.expose().as_bytes())
}

/// What a consume's PIN block says, read with the PIN key of the terminal's last check-in
/// (`code` is `{storeNo}:{terminalNo}`): the verification value of its PIN, or unreadable.
/// `Err` when the database cannot be read.
async fn presented_pin(
    gw: &Gateway,
    code: &str,
    terminal_key: &str,
    r: &ConsumeRequest,
) -> Result<PinPresented, JposStatus> {
    let (Some(block), Ok(hmac)) = (&r.password, gw.card_key.index(r.card.card_no.expose())) else {
        return Ok(PinPresented::None);
    };
    let code = code.to_string();
    let sealed = gw
        .store
        .transaction(move |db| Box::pin(async move { jpos_pins::pin_key(db, &code).await }))
        .await
        .map_err(|_| JposStatus::IssuerUnavailable)?;
    let key: Option<[u8; 16]> = sealed
        .and_then(|s| gw.jpos_kek.open(&pin_key_context(terminal_key), &s).ok())
        .and_then(|bytes| bytes.try_into().ok());
    let pin = key.and_then(|k| open_pin_block(&k, block, r.card.card_no.expose()).ok());
    Ok(pin.map_or(PinPresented::Unreadable, |pin| {
        PinPresented::Verifier(pin_verifier(gw, &hmac, &pin))
    }))
}

fn trace(trace: TraceRef) -> JposTrace {
    JposTrace {
        batch_no: trace.batch_no,
        trace_no: trace.trace_no,
    }
}

/// The terminal master key of a terminal: derived from the card key, so that nothing is
/// stored; the admin API shows it for loading into the terminal.
pub fn master_key(gw: &Gateway, terminal_key: &str) -> [u8; 16] {
    let derived = gw.card_key.derive(&format!("jpos-tmk:{terminal_key}"));
    let mut key = [0u8; 16];
    key.copy_from_slice(&derived[..16]);
    key
}

/// What the terminal actor is asked (a verify-code request gets its code in [`serve`]).
fn work_of(gw: &Gateway, terminal_key: &str, request: &Request) -> JposWork {
    match request {
        Request::Checkin(r) => {
            let pin: [u8; 16] = rand::random();
            let mac: [u8; 16] = rand::random();
            JposWork::Checkin {
                operator_no: r.operator_no.as_str().to_string(),
                working_key: WorkingKey::seal(&master_key(gw, terminal_key), &pin, &mac),
                kept_keys: KeptKeys {
                    pin_key: gw
                        .jpos_kek
                        .seal(&pin_key_context(terminal_key), &pin, rand::random()),
                    mac_key: gw.jpos_kek.seal(
                        &format!("jpos-mac-key:{terminal_key}"),
                        &mac,
                        rand::random(),
                    ),
                },
            }
        }
        Request::CardQuery(r) => JposWork::CardQuery {
            trace: trace(r.trace),
            card: card(gw, &r.card_no),
        },
        Request::Consume(r) => consume_work(gw, r, false),
        Request::ConsumeReversal(r) => consume_work(gw, &r.original, true),
        Request::Cancel(r) => cancel_work(gw, r, false),
        Request::CancelReversal(r) => cancel_work(gw, &r.original, true),
        Request::Refund(r) => JposWork::Refund {
            trace: trace(r.trace),
            card: card(gw, &r.card.card_no),
            ori_serial_no: r.ori_serial_no.as_str().to_string(),
            ori_date: format!(
                "{:04}-{:02}-{:02}",
                r.ori_trans_date.year(),
                r.ori_trans_date.month(),
                r.ori_trans_date.day()
            ),
            point: r.point_amount.map(|f| f.0),
            cash: r.cash_amount.map(|f| f.0),
        },
        Request::RefundCancel(r) => JposWork::RefundCancel {
            trace: trace(r.trace),
            card: card(gw, &r.card.card_no),
            ori_serial_no: r.ori_serial_no.as_str().to_string(),
            original: trace(r.original),
            ori_trans_time_ms: r.ori_trans_time.unix_millis(),
        },
        Request::Settle(r) => JposWork::Settle {
            trace: trace(r.trace),
            totals: r.totals,
        },
        Request::TicketQuery(r) => JposWork::TicketQuery {
            trace: trace(r.trace),
            card: card(gw, &r.card_no),
        },
        Request::TicketConsume(r) => ticket_work(gw, r, false),
        Request::TicketConsumeReversal(r) => ticket_work(gw, &r.original, true),
        Request::SendVerifyCode(r) => JposWork::SendVerifyCode {
            mobile_no: r.mobile_no.as_str().to_string(),
            batch_no: r.batch_no,
            // Set by [`serve`] with the fresh code.
            code_digest: String::new(),
            limits: verify_limits(gw),
        },
        Request::CardActivate(r) => JposWork::CardActivate {
            trace: trace(r.trace),
            card: card(gw, &r.card.card_no),
            mobile_no: r.mobile_no.as_str().to_string(),
            code_digest: code_digest(gw, r.mobile_no.as_str(), r.verify_code.expose()),
            id_type: r.id_type.as_str().to_string(),
            attempts_max: i64::from(gw.config.jpos.verify_code_attempts_max),
        },
    }
}

fn ticket_work(
    gw: &Gateway,
    r: &posgate_protocols::jpos::request::TicketConsumeRequest,
    reversal: bool,
) -> JposWork {
    JposWork::TicketConsume {
        trace: trace(r.trace),
        card: card(gw, &r.card.card_no),
        lines: r
            .tickets
            .iter()
            .map(|t| (t.id, t.ticket_type, t.num))
            .collect(),
        reversal,
    }
}

fn consume_work(
    gw: &Gateway,
    r: &posgate_protocols::jpos::request::ConsumeRequest,
    reversal: bool,
) -> JposWork {
    JposWork::Consume {
        trace: trace(r.trace),
        card: card(gw, &r.card.card_no),
        point: r.point_amount.0,
        cash: r.cash_amount.0,
        vouchers: r.vouchers.iter().map(|v| (v.id, v.num)).collect(),
        register_trace: r.register_trace_no.as_ref().map(|t| t.as_str().to_string()),
        reversal,
    }
}

fn cancel_work(
    gw: &Gateway,
    r: &posgate_protocols::jpos::request::CancelRequest,
    reversal: bool,
) -> JposWork {
    JposWork::Cancel {
        trace: trace(r.trace),
        card: card(gw, &r.card.card_no),
        original: trace(r.original),
        ori_trans_time_ms: r.ori_trans_time.unix_millis(),
        reversal,
    }
}
