//! Partner intake and dead letters (`/admin/v1/intake`): every authenticated partner
//! message is stored byte for byte before it is interpreted
//! ([`posgate_actors::store::intake`]); here an operator lists what could not be
//! interpreted, reads one (body in base64), and replays it after a fix or with a corrected
//! body. A replay re-runs the partner's own interpretation ([`interpret`], one arm per
//! [`Partner`]); the original bytes are kept, and who replayed what and when is recorded.

use super::{found, page_limit, with_db};
use crate::app::Gateway;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::json::{ValidJson, Validate};
use actix_web::{get, post, web, HttpResponse};
use posgate_actors::store::intake::{self, Filter, Intake, Partner, Refused, Replay, Status};
use posgate_actors::store::now_ms;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Canonical padded base64, blanks around it allowed (what `decode_base64` reads).
const BASE64_PATTERN: &str = concat!(
    r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*",
    r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?",
    r"[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
);

fn base64_text() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            utoipa::openapi::schema::Type::String,
            utoipa::openapi::schema::Type::Null,
        ]))
        .pattern(Some(BASE64_PATTERN))
        .description(Some(
            "A corrected body, base64, interpreted instead of the stored one",
        ))
        .build()
}

/// The schema of an operator's name or note an action records: 1 to 500 characters, not
/// all blank (what [`check_operator_note`] accepts).
pub fn recorded_text() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .min_length(Some(1))
        .max_length(Some(TEXT_MAX))
        .pattern(Some(
            r"[^\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]",
        ))
        .build()
}

/// Longest operator name and note, characters.
const TEXT_MAX: usize = 500;

/// What a partner's interpretation gave for a replayed message.
pub enum Replayed {
    /// Interpreted; its effects are durable.
    Applied,
    /// Still cannot be interpreted (why).
    Dead(String),
    /// Not now (store or actor busy): nothing is recorded, try again.
    Busy(String),
}

/// Runs the partner's interpretation on `body` for the owner of the message. A partner
/// plugs in here with one arm.
pub async fn interpret(
    gw: &Gateway,
    partner: Partner,
    owner: &str,
    kind: &str,
    body: &[u8],
) -> Replayed {
    match partner {
        Partner::Pospal => {
            let Ok(merchant_id) = owner.parse::<i64>() else {
                return Replayed::Dead("owner: not a merchant id".into());
            };
            match crate::http::pospal::replay(gw, merchant_id, body).await {
                crate::http::pospal::Interpreted::Applied(_) => Replayed::Applied,
                crate::http::pospal::Interpreted::Dead(reason) => Replayed::Dead(reason),
                crate::http::pospal::Interpreted::Busy(e) => Replayed::Busy(e),
            }
        }
        Partner::Ktv => match crate::http::ktv::replay(gw, owner, kind, body).await {
            crate::http::ktv::Interpreted::Applied(_) => Replayed::Applied,
            crate::http::ktv::Interpreted::Dead(r) => {
                Replayed::Dead(crate::http::ktv::Interpreted::reason(&r))
            }
            crate::http::ktv::Interpreted::Busy(r) => Replayed::Busy(r.msg),
        },
    }
}

/// The listing's filters.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct IntakeQuery {
    /// `pospal` or `ktv`.
    #[param(schema_with = partner_values)]
    pub partner: Option<String>,
    /// A merchant id (Pospal) or venue code (KTV).
    pub owner: Option<String>,
    /// `dead` (default), `received`, `applied`, `replayed`, or `all`.
    #[param(schema_with = intake_status_values)]
    pub status: Option<String>,
    /// Next page: only ids below this one (the last id of the previous page).
    pub before_id: Option<i64>,
    /// Page size 1-500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

impl IntakeQuery {
    fn filter(self) -> Result<Filter, ApiError> {
        let partner = self
            .partner
            .map(|p| {
                Partner::parse(&p)
                    .ok_or_else(|| ApiError::invalid_query("partner", "must be pospal or ktv"))
            })
            .transpose()?;
        let status = match self.status.as_deref() {
            None => Some(Status::Dead),
            Some("all") => None,
            Some(name) => Some(Status::parse(name).ok_or_else(|| {
                ApiError::invalid_query(
                    "status",
                    "must be dead, received, applied, replayed or all",
                )
            })?),
        };
        Ok(Filter {
            partner,
            owner: self.owner,
            status,
            before_id: self.before_id,
            limit: page_limit(self.limit)?,
        })
    }
}

/// Stored partner messages, newest first: the dead letters unless `status` says otherwise.
#[utoipa::path(tag = "intake", params(IntakeQuery), security(("bearer" = [])), responses(
    (status = 200, body = Vec<Intake>), (status = 400, body = ErrorBody)))]
#[get("/intake")]
pub async fn list(
    gw: web::Data<Gateway>,
    query: web::Query<IntakeQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = query.into_inner().filter()?;
    let items = with_db(&gw, move |db| {
        Box::pin(async move { intake::list(db, &filter).await })
    })
    .await?;
    Ok(HttpResponse::Ok().json(items))
}

/// One stored message with its replays.
#[derive(Serialize, ToSchema)]
pub struct IntakeView {
    /// The message (body in base64, as received).
    #[serde(flatten)]
    pub intake: Intake,
    /// Its replays, oldest first.
    pub replays: Vec<Replay>,
}

async fn load(gw: &Gateway, id: i64) -> Result<IntakeView, ApiError> {
    let view = with_db(gw, move |db| {
        Box::pin(async move {
            let Some(intake) = intake::get(db, id).await? else {
                return Ok(None);
            };
            let replays = intake::replays(db, id).await?;
            Ok(Some(IntakeView { intake, replays }))
        })
    })
    .await?;
    found(view, "intake message")
}

/// One stored message: the raw body (base64), kept headers, status, reason, replays.
#[utoipa::path(tag = "intake", security(("bearer" = [])), responses(
    (status = 200, body = IntakeView), (status = 404, body = ErrorBody)))]
#[get("/intake/{id}")]
pub async fn get(gw: web::Data<Gateway>, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(load(&gw, id.into_inner()).await?))
}

/// Replay a dead (or stuck `received`) message.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayBody {
    /// Who replays it (recorded).
    #[schema(schema_with = recorded_text)]
    pub operator: String,
    /// Why, what was fixed (recorded).
    #[schema(schema_with = recorded_text)]
    pub note: String,
    /// A corrected body, base64, interpreted instead of the stored one (which is kept).
    #[schema(schema_with = base64_text)]
    pub corrected_body_b64: Option<String>,
}

fn partner_values() -> utoipa::openapi::Object {
    super::dto::text_enum(&["pospal", "ktv"])
}

fn intake_status_values() -> utoipa::openapi::Object {
    super::dto::text_enum(&["dead", "received", "applied", "replayed", "all"])
}

/// Checks the operator and note an operator action records: 1 to 500 characters each.
pub fn check_operator_note(operator: &str, note: &str) -> Result<(), ApiError> {
    for (field, text) in [("operator", operator), ("note", note)] {
        if text.trim().is_empty() || text.chars().count() > TEXT_MAX {
            return Err(ApiError::invalid(field, "must be 1 to 500 characters"));
        }
    }
    Ok(())
}

impl Validate for ReplayBody {
    fn validate(&self) -> Result<(), ApiError> {
        check_operator_note(&self.operator, &self.note)?;
        if let Some(b64) = &self.corrected_body_b64 {
            if intake::decode_base64(b64).is_none() {
                return Err(ApiError::invalid("corrected_body_b64", "must be base64"));
            }
        }
        Ok(())
    }
}

/// Re-run the partner's interpretation on a stored message (or an operator's corrected
/// body): 200 with the message and its replays, the last one telling whether it applied
/// (`replayed`) or is still `dead`; 409 when the message is already applied or replayed;
/// 503 when the store or the owner is busy (nothing recorded).
#[utoipa::path(tag = "intake", request_body = ReplayBody, security(("bearer" = [])), responses(
    (status = 200, body = IntakeView), (status = 400, body = ErrorBody),
    (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
    (status = 503, body = ErrorBody)))]
#[post("/intake/{id}/replay")]
pub async fn replay(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
    body: ValidJson<ReplayBody>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let message = load(&gw, id).await?.intake;
    let status = Status::parse(&message.status);
    if !matches!(status, Some(Status::Dead | Status::Received)) {
        return Err(ApiError::conflict(format!(
            "message {id} is {}: only dead or received messages are replayed",
            message.status
        )));
    }
    let ReplayBody {
        operator,
        note,
        corrected_body_b64,
    } = body.0;
    let bytes = match &corrected_body_b64 {
        Some(b64) => intake::decode_base64(b64)
            .ok_or_else(|| ApiError::invalid("corrected_body_b64", "must be base64"))?,
        None => message.body()?,
    };
    let partner = Partner::parse(&message.partner)
        .ok_or_else(|| ApiError::conflict("message of an unknown partner"))?;
    let (result_status, result_reason) =
        match interpret(&gw, partner, &message.owner, &message.kind, &bytes).await {
            Replayed::Applied => (Status::Replayed, String::new()),
            Replayed::Dead(reason) => (Status::Dead, reason),
            Replayed::Busy(e) => return Err(ApiError::unavailable("busy", e)),
        };
    let record = Replay {
        id: 0,
        intake_id: id,
        operator,
        note,
        corrected_body_b64,
        result_status: result_status.as_str().to_string(),
        result_reason,
        at_ms: now_ms(),
    };
    metrics::counter!("posgate_intake_replays_total",
        "partner" => partner.as_str(), "result" => result_status.as_str())
    .increment(1);
    with_db(&gw, move |db| {
        Box::pin(async move { intake::record_replay(db, &record).await })
    })
    .await?;
    Ok(HttpResponse::Ok().json(load(&gw, id).await?))
}

/// The refused requests listing's filters.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RefusedQuery {
    /// `pospal` or `ktv`.
    #[param(schema_with = partner_values)]
    pub partner: Option<String>,
    /// Next page: only ids below this one.
    pub before_id: Option<i64>,
    /// Page size 1-500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// Requests refused before authentication (bad envelope, unknown `appId`, bad signature,
/// too large), newest first: kept as untrusted evidence, bounded (the first 64 KiB of each,
/// the latest 1000 per partner, at most 60 a minute).
#[utoipa::path(tag = "intake", params(RefusedQuery), security(("bearer" = [])), responses(
    (status = 200, body = Vec<Refused>), (status = 400, body = ErrorBody)))]
#[get("/intake/refused")]
pub async fn list_refused(
    gw: web::Data<Gateway>,
    query: web::Query<RefusedQuery>,
) -> Result<HttpResponse, ApiError> {
    let RefusedQuery {
        partner,
        before_id,
        limit,
    } = query.into_inner();
    let partner = partner
        .map(|p| {
            Partner::parse(&p)
                .ok_or_else(|| ApiError::invalid_query("partner", "must be pospal or ktv"))
        })
        .transpose()?;
    let limit = page_limit(limit)?;
    let items = with_db(&gw, move |db| {
        Box::pin(async move { intake::list_refusals(db, partner, before_id, limit).await })
    })
    .await?;
    Ok(HttpResponse::Ok().json(items))
}

/// Re-check a refused request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecheckBody {
    /// Who re-checks it (recorded on the intake row it becomes).
    #[schema(schema_with = recorded_text)]
    pub operator: String,
    /// Why (what was fixed on posgate's side).
    #[schema(schema_with = recorded_text)]
    pub note: String,
}

impl Validate for RecheckBody {
    fn validate(&self) -> Result<(), ApiError> {
        check_operator_note(&self.operator, &self.note)
    }
}

/// Runs a refused request through the partner's whole pipeline again, authentication
/// included (after a fix on posgate's side, such as an app registered late). Only the
/// partner's own pipeline decides; nothing of the request is trusted before it.
async fn recheck_partner(
    gw: &Gateway,
    partner: Partner,
    body: &[u8],
    headers: &Refused,
) -> Rechecked {
    match partner {
        Partner::Pospal => {
            let headers: Vec<(&'static str, String)> =
                ["data-signature", "content-type", "user-agent"]
                    .into_iter()
                    .filter_map(|name| {
                        Some((name, headers.headers.get(name)?.as_str()?.to_string()))
                    })
                    .collect();
            match crate::http::pospal::take(gw, body, &headers).await {
                crate::http::pospal::Taken::Refused(u) => Rechecked::Refused(u.reason),
                crate::http::pospal::Taken::NotStored(_, e) => Rechecked::Busy(e),
                crate::http::pospal::Taken::Stored(id, _, outcome) => {
                    let reason = match outcome {
                        crate::http::pospal::Interpreted::Dead(reason) => reason,
                        _ => String::new(),
                    };
                    Rechecked::Stored(id, reason)
                }
            }
        }
        // Refused KTV uploads are not kept (a venue resends on `ret` != 0 and WJ091 pulls
        // what is missing), so no KTV row reaches a re-check.
        Partner::Ktv => Rechecked::Refused("refused KTV uploads are not kept".into()),
    }
}

/// What a re-check gave.
enum Rechecked {
    /// Still refused (why).
    Refused(String),
    /// Not now.
    Busy(String),
    /// Authenticated: stored as this intake row (the reason when it is a dead letter).
    Stored(i64, String),
}

/// Re-check a refused request: 200 with the intake row it became (applied, or a dead
/// letter), the re-check recorded on it; 409 when it is still refused (or was truncated,
/// or already re-checked); 404; 503 busy.
#[utoipa::path(tag = "intake", request_body = RecheckBody, security(("bearer" = [])), responses(
    (status = 200, body = IntakeView), (status = 400, body = ErrorBody),
    (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
    (status = 503, body = ErrorBody)))]
#[post("/intake/refused/{id}/recheck")]
pub async fn recheck(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
    body: ValidJson<RecheckBody>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let read = with_db(&gw, move |db| Box::pin(intake::get_refusal(db, id)));
    let kept = found(read.await?, "refused request")?;
    if kept.truncated || kept.recheck_intake_id.is_some() {
        return Err(ApiError::conflict(format!(
            "refused request {id} was truncated or is already re-checked"
        )));
    }
    let partner = Partner::parse(&kept.partner)
        .ok_or_else(|| ApiError::conflict("request of an unknown partner"))?;
    let bytes = kept.body()?;
    let (intake_id, reason) = match recheck_partner(&gw, partner, &bytes, &kept).await {
        Rechecked::Refused(why) => return Err(ApiError::conflict(format!("still refused: {why}"))),
        Rechecked::Busy(e) => return Err(ApiError::unavailable("busy", e)),
        Rechecked::Stored(intake_id, reason) => (intake_id, reason),
    };
    let RecheckBody { operator, note } = body.0;
    let status = if reason.is_empty() {
        Status::Replayed
    } else {
        Status::Dead
    };
    let record = Replay {
        id: 0,
        intake_id,
        operator,
        note: format!("re-check of refused request {id}: {note}"),
        corrected_body_b64: None,
        result_status: status.as_str().to_string(),
        result_reason: reason,
        at_ms: now_ms(),
    };
    with_db(&gw, move |db| {
        Box::pin(async move {
            intake::set_recheck(db, id, intake_id).await?;
            intake::record_replay(db, &record).await
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(load(&gw, intake_id).await?))
}
