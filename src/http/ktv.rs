//! The KTV venue uploads (ktv-merchant-link.txt, HTTP 数据上传协议): `POST
//! {ktv.upload_path}/openTime|realtime|vouchers|notify|payment_setting`.
//!
//! Thin: read the body (bounded), read the envelope's `companycode`, fetch the venue's key
//! and options from its actor (cached), open and type the payload, and hand it to the
//! venue's actor, which applies the bill rules and stores. Every answer is HTTP 200 with the
//! spec's `{ret, msg}` (the gateway only logs it); the codes are in `docs/error-codes.md`.

use crate::app::Gateway;
use actix_web::{web, HttpRequest, HttpResponse};
use futures::StreamExt;
use posgate_actors::entity::{ktv_entity_code, Info, KtvUpload, VenueRecord};
use posgate_protocols::ktv::{
    decode_envelope, AesKey, KtvError, Reply, RetCode, SealPolicy, UploadPath,
};

/// Registers the upload routes under `context` (e.g. `/gateway/upload`).
pub fn configure(cfg: &mut web::ServiceConfig, context: &str) {
    let pattern = format!("{}/{{kind}}", context.trim_end_matches('/'));
    cfg.service(web::resource(pattern).route(web::post().to(upload)));
}

fn answer(reply: &Reply) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(reply.encode())
}

/// Reads the body up to `max` bytes; `None` when it is larger.
async fn read_body(mut payload: web::Payload, max: usize) -> Result<Option<Vec<u8>>, Reply> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| Reply::with_msg(RetCode::BadJson, e.to_string()))?;
        if body.len() + chunk.len() > max {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// How the venue's uploads are opened: its unwrapped key and its options.
fn policy(gw: &Gateway, record: &VenueRecord) -> Result<SealPolicy, Reply> {
    let Some(settings) = &record.settings else {
        return Ok(SealPolicy {
            key: None,
            mode: gw.ktv_mode,
            plain_allowed: false,
        });
    };
    let key = if settings.key_wrapped.is_empty() {
        None
    } else {
        Some(
            AesKey::unwrap_with(&gw.ktv_kek, &settings.key_wrapped).map_err(|_| {
                tracing::error!(venue = %record.venue.companycode,
                    "stored KTV key does not unwrap (card key changed?)");
                Reply::new(RetCode::Internal)
            })?,
        )
    };
    Ok(SealPolicy {
        key,
        mode: gw.ktv_mode,
        plain_allowed: !settings.encrypted,
    })
}

async fn handle(gw: &Gateway, req: &HttpRequest, payload: web::Payload) -> (&'static str, Reply) {
    let path = match UploadPath::parse(req.path(), &gw.config.ktv.upload_path) {
        Ok(p) => p,
        Err(e) => return ("unknown", e.reply()),
    };
    let kind = path.suffix();
    let max = gw.config.ktv.upload_body_bytes_max;
    let body = match read_body(payload, max).await {
        Ok(Some(b)) => b,
        Ok(None) => {
            let e = KtvError::TooLarge {
                what: "upload body",
                bytes: max + 1,
                max,
            };
            return (
                kind,
                Reply::with_msg(
                    e.code(),
                    format!("{}: body over {max} bytes", e.code().description()),
                ),
            );
        }
        Err(reply) => return (kind, reply),
    };
    let envelope = match decode_envelope(&body) {
        Ok(e) => e,
        Err(e) => return (kind, e.reply()),
    };
    let code = envelope.companycode.as_str().to_string();
    let record: VenueRecord = match gw.venues.call(&code, Info).await {
        Ok(r) => r,
        Err(e) => {
            let ret = ktv_entity_code(&e);
            return (
                kind,
                Reply::with_msg(ret, format!("{}: {code}", ret.description())),
            );
        }
    };
    let policy = match policy(gw, &record) {
        Ok(p) => p,
        Err(reply) => return (kind, reply),
    };
    let upload = match envelope.decode_with(path, &policy) {
        Ok(u) => u,
        Err(e) => return (kind, e.reply()),
    };
    let reply = match gw.venues.ask(&code, KtvUpload(upload)) {
        Ok(rx) => rx.await.unwrap_or_else(|_| Reply::new(RetCode::Internal)),
        Err(e) => Reply::new(ktv_entity_code(&e)),
    };
    (kind, reply)
}

/// Any upload: `{ret, msg}` with HTTP 200.
pub async fn upload(
    gw: web::Data<Gateway>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let (kind, reply) = handle(&gw, &req, payload).await;
    metrics::counter!("posgate_ktv_uploads_total", "kind" => kind, "ret" => reply.ret.as_str())
        .increment(1);
    if reply.ret != RetCode::Ok {
        tracing::info!(kind, ret = reply.ret.code(), msg = %reply.msg, "KTV upload refused");
    }
    answer(&reply)
}
