//! The KTV venue uploads (ktv-merchant-link.txt, HTTP 数据上传协议): `POST
//! {ktv.upload_path}/openTime|realtime|vouchers|notify|payment_setting`.
//!
//! Thin: read the body (bounded), read the envelope's `companycode`, fetch the venue's key
//! and options from its actor (cached), authenticate (the sealing rules, the payload
//! decrypted with the venue's key), **store the body byte for byte** in the partner intake
//! (`posgate_actors::store::intake`), then type the payload and hand it to the venue's
//! actor, which applies the bill rules and stores. The intake row ends `applied`, or `dead`
//! with the reason when the upload cannot be interpreted (an operator replays it after a fix
//! or with a corrected body: [`replay`]). Every answer is HTTP 200 with the spec's
//! `{ret, msg}` (the gateway only logs it); the codes are in `docs/error-codes.md`.

use crate::app::Gateway;
use actix_web::{web, HttpRequest, HttpResponse};
use futures::StreamExt;
use posgate_actors::entity::{ktv_entity_code, Info, KtvUpload, VenueRecord};
use posgate_actors::store::intake::{self, NewIntake, Partner};
use posgate_actors::store::now_ms;
use posgate_protocols::ktv::{
    decode_envelope, AesKey, AesMode, Envelope, KtvError, Reply, RetCode, SealPolicy, UploadPath,
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

/// A stored (wrapped) key, unwrapped; `None` when none is stored.
fn unwrap_key(gw: &Gateway, record: &VenueRecord, wrapped: &str) -> Result<Option<AesKey>, Reply> {
    if wrapped.is_empty() {
        return Ok(None);
    }
    AesKey::unwrap_with(&gw.ktv_kek, wrapped)
        .map(Some)
        .map_err(|_| {
            tracing::error!(venue = %record.venue.companycode,
            "stored KTV key does not unwrap (card key changed?)");
            Reply::new(RetCode::Internal)
        })
}

/// How the venue's uploads are opened: its current key, cipher mode and options, then its
/// previous key while the overlap window of a rotation lasts.
fn policies(gw: &Gateway, record: &VenueRecord) -> Result<Vec<SealPolicy>, Reply> {
    let Some(settings) = &record.settings else {
        return Ok(vec![SealPolicy {
            key: None,
            mode: gw.ktv_mode,
            plain_allowed: false,
        }]);
    };
    let mode = AesMode::parse(&settings.cipher_mode).unwrap_or(gw.ktv_mode);
    let policy = |key| SealPolicy {
        key,
        mode,
        plain_allowed: !settings.encrypted,
    };
    let mut all = vec![policy(unwrap_key(gw, record, &settings.key_wrapped)?)];
    if settings
        .previous_key_until_ms
        .is_some_and(|until| now_ms() < until)
    {
        if let Some(previous) = unwrap_key(gw, record, &settings.previous_key_wrapped)? {
            all.push(policy(Some(previous)));
        }
    }
    Ok(all)
}

/// Authenticates under the first of `policies` that opens the upload; the first refusal
/// when none does.
fn authenticate(
    envelope: &Envelope,
    path: UploadPath,
    policies: &[SealPolicy],
) -> Result<Option<Vec<u8>>, KtvError> {
    let mut first = None;
    for policy in policies {
        match envelope.authenticate(path, policy) {
            Ok(opened) => return Ok(opened),
            Err(e) => {
                first.get_or_insert(e);
            }
        }
    }
    Err(first.unwrap_or(KtvError::KeyRequired))
}

/// What interpreting an authenticated upload gave.
pub enum Interpreted {
    /// Stored; its effects are durable.
    Applied(Reply),
    /// Cannot be interpreted (bad fields, unbalanced, a conflicting bill...): a dead letter.
    Dead(Reply),
    /// Not now (actor busy, store down): the intake row stays `received`.
    Busy(Reply),
}

impl Interpreted {
    fn of(reply: Reply) -> Interpreted {
        match reply.ret {
            RetCode::Ok => Interpreted::Applied(reply),
            RetCode::Busy | RetCode::Internal => Interpreted::Busy(reply),
            _ => Interpreted::Dead(reply),
        }
    }

    /// Why a dead letter is dead: its `ret` code, name and message.
    pub fn reason(reply: &Reply) -> String {
        format!(
            "ret {} {}: {}",
            reply.ret.code(),
            reply.ret.as_str(),
            reply.msg
        )
    }

    /// The `{ret, msg}` answer.
    pub fn reply(&self) -> &Reply {
        match self {
            Interpreted::Applied(r) | Interpreted::Dead(r) | Interpreted::Busy(r) => r,
        }
    }
}

/// The venue's upload policies, or the refusal.
async fn venue_policies(gw: &Gateway, code: &str) -> Result<Vec<SealPolicy>, Reply> {
    let record: VenueRecord = gw.venues.call(code, Info).await.map_err(|e| {
        let ret = ktv_entity_code(&e);
        Reply::with_msg(ret, format!("{}: {code}", ret.description()))
    })?;
    policies(gw, &record)
}

/// Types an authenticated upload and hands it to the venue's actor.
async fn interpret(
    gw: &Gateway,
    envelope: &Envelope,
    path: UploadPath,
    opened: Option<&[u8]>,
) -> Interpreted {
    let upload = match envelope.decode_opened(path, opened) {
        Ok(u) => u,
        Err(e) => return Interpreted::of(e.reply()),
    };
    let reply = match gw
        .venues
        .ask(envelope.companycode.as_str(), KtvUpload(upload))
    {
        Ok(rx) => rx.await.unwrap_or_else(|_| Reply::new(RetCode::Internal)),
        Err(e) => Reply::new(ktv_entity_code(&e)),
    };
    Interpreted::of(reply)
}

/// Stores an authenticated upload byte for byte before it is interpreted; its row id.
async fn store_intake(gw: &Gateway, code: &str, kind: &str, body: &[u8]) -> Result<i64, String> {
    let (owner, kind, body) = (code.to_string(), kind.to_string(), body.to_vec());
    gw.store
        .transaction(move |db| {
            Box::pin(async move {
                let new = NewIntake {
                    partner: Partner::Ktv,
                    owner: &owner,
                    kind: &kind,
                    body: &body,
                    identity: None,
                    headers: &[],
                };
                intake::record(db, &new, now_ms()).await.map(|i| i.id)
            })
        })
        .await
        .map_err(|e| e.to_string())
}

/// Records the end of an interpretation on the intake row (applied, or dead with the
/// reply's code and message; a busy one stays `received`).
async fn settle(gw: &Gateway, intake_id: i64, outcome: &Interpreted) {
    let dead = match outcome {
        Interpreted::Applied(_) => None,
        Interpreted::Dead(r) => Some(Interpreted::reason(r)),
        Interpreted::Busy(_) => return,
    };
    let settled = gw
        .store
        .transaction(move |db| {
            Box::pin(async move {
                match dead {
                    None => intake::mark_applied(db, intake_id, now_ms()).await,
                    Some(reason) => intake::mark_dead(db, intake_id, &reason, now_ms()).await,
                }
            })
        })
        .await;
    if let Err(e) = settled {
        tracing::warn!(intake_id, error = %e, "KTV intake row not settled");
    }
}

/// Interprets a stored upload again (admin replay of a dead letter, maybe with a corrected
/// body): the same authentication (a corrected body must still be sealed with the venue's
/// key) and interpretation as a live upload of `kind` from venue `owner`.
pub async fn replay(gw: &Gateway, owner: &str, kind: &str, body: &[u8]) -> Interpreted {
    let dead = |msg: &str| Interpreted::Dead(Reply::with_msg(RetCode::FieldInvalid, msg));
    let Some(path) = UploadPath::ALL.into_iter().find(|p| p.suffix() == kind) else {
        return dead("kind: not a KTV upload path");
    };
    let envelope = match decode_envelope(body) {
        Ok(e) => e,
        Err(e) => return Interpreted::of(e.reply()),
    };
    if envelope.companycode.as_str() != owner {
        return dead("companycode: not the venue of the stored upload");
    }
    let opened = match venue_policies(gw, owner).await {
        Ok(policies) => authenticate(&envelope, path, &policies),
        Err(reply) => return Interpreted::of(reply),
    };
    match opened {
        Ok(opened) => interpret(gw, &envelope, path, opened.as_deref()).await,
        Err(e) => Interpreted::of(e.reply()),
    }
}

/// The body of a request, or the `too_large` refusal.
async fn body_of(gw: &Gateway, payload: web::Payload) -> Result<Vec<u8>, Reply> {
    let max = gw.config.ktv.upload_body_bytes_max;
    match read_body(payload, max).await? {
        Some(b) => Ok(b),
        None => {
            let e = KtvError::TooLarge {
                what: "upload body",
                bytes: max + 1,
                max,
            };
            Err(Reply::with_msg(
                e.code(),
                format!("{}: body over {max} bytes", e.code().description()),
            ))
        }
    }
}

async fn handle(gw: &Gateway, req: &HttpRequest, payload: web::Payload) -> (&'static str, Reply) {
    let path = match UploadPath::parse(req.path(), &gw.config.ktv.upload_path) {
        Ok(p) => p,
        Err(e) => return ("unknown", e.reply()),
    };
    let kind = path.suffix();
    let body = match body_of(gw, payload).await {
        Ok(b) => b,
        Err(reply) => return (kind, reply),
    };
    let envelope = match decode_envelope(&body) {
        Ok(e) => e,
        Err(e) => return (kind, e.reply()),
    };
    let code = envelope.companycode.as_str().to_string();
    let opened = match venue_policies(gw, &code).await {
        Ok(policies) => authenticate(&envelope, path, &policies),
        Err(reply) => return (kind, reply),
    };
    let opened = match opened {
        Ok(o) => o,
        Err(e) => return (kind, e.reply()),
    };
    let intake_id = match store_intake(gw, &code, kind, &body).await {
        Ok(id) => id,
        Err(e) => {
            tracing::warn!(venue = %code, kind, error = %e, "KTV upload not stored");
            return (kind, Reply::new(RetCode::Internal));
        }
    };
    let outcome = interpret(gw, &envelope, path, opened.as_deref()).await;
    settle(gw, intake_id, &outcome).await;
    (kind, outcome.reply().clone())
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
