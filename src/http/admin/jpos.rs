//! jpos terminals: the merchant's earn rule and advertisement, a terminal's batch state and
//! journal, its master key (for loading into the terminal), and settlement reports with
//! every figure on which the terminal and posgate disagreed.

use super::{found, page_limit, with_db};
use crate::app::Gateway;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::jpos::master_key;
use crate::http::json::{ValidJson, Validate};
use actix_web::{get, post, put, web, HttpResponse};
use posgate_actors::model::{Terminal, TerminalFamily};
use posgate_actors::store::jpos::{self as store_jpos, MerchantRules, EARN_RATE_BP_MAX};
use posgate_actors::store::{catalog, now_ms, Db, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Longest advertisement, characters.
pub const ADVERTISEMENT_CHARS_MAX: usize = 200;

/// A merchant's jpos rules.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesBody {
    /// Points granted per yuan of cash, in basis points of a point (10000 = 1 point per
    /// yuan), 0..=1000000.
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub earn_rate_bp: i64,
    /// Receipt advertisement (`advertisement`), at most 200 characters; empty = none.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub advertisement: String,
    /// Cards spend only once activated through `card/active` (for cards issued inactive);
    /// a card never activated is refused with `62`. Default false.
    #[serde(default)]
    pub activation_required: bool,
    /// Spending needs the card present: a consume or ticket consume without `track2` (a
    /// keyed-in card number) is refused with `36`. Default false.
    #[serde(default)]
    pub track2_required: bool,
}

impl From<MerchantRules> for RulesBody {
    fn from(rules: MerchantRules) -> RulesBody {
        RulesBody {
            earn_rate_bp: rules.earn_rate_bp,
            advertisement: rules.advertisement,
            activation_required: rules.activation_required,
            track2_required: rules.track2_required,
        }
    }
}

impl Validate for RulesBody {
    fn validate(&self) -> Result<(), ApiError> {
        if !(0..=EARN_RATE_BP_MAX).contains(&self.earn_rate_bp) {
            return Err(ApiError::invalid(
                "earn_rate_bp",
                "must be within 0..=1000000",
            ));
        }
        if self.advertisement.chars().count() > ADVERTISEMENT_CHARS_MAX {
            return Err(ApiError::invalid("advertisement", "at most 200 characters"));
        }
        Ok(())
    }
}

/// Set a merchant's jpos rules (earn rate and advertisement).
#[utoipa::path(tag = "jpos", request_body = RulesBody, security(("bearer" = [])), responses(
    (status = 200, body = RulesBody), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[put("/jpos/merchants/{id}/rules")]
pub async fn set_rules(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
    body: ValidJson<RulesBody>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let rules = MerchantRules {
        earn_rate_bp: body.0.earn_rate_bp,
        advertisement: body.0.advertisement,
        activation_required: body.0.activation_required,
        track2_required: body.0.track2_required,
    };
    let stored = with_db(&gw, move |db| {
        Box::pin(async move {
            if catalog::get_merchant(db, id).await?.is_none() {
                return Ok(None);
            }
            store_jpos::set_rules(db, id, &rules, now_ms()).await?;
            Ok(Some(rules))
        })
    })
    .await?;
    let rules = found(stored, "merchant")?;
    Ok(HttpResponse::Ok().json(RulesBody::from(rules)))
}

/// Read a merchant's jpos rules (defaults: no points, no advertisement).
#[utoipa::path(tag = "jpos", security(("bearer" = [])), responses(
    (status = 200, body = RulesBody), (status = 404, body = ErrorBody)))]
#[get("/jpos/merchants/{id}/rules")]
pub async fn get_rules(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let rules = with_db(&gw, move |db| {
        Box::pin(async move {
            if catalog::get_merchant(db, id).await?.is_none() {
                return Ok(None);
            }
            store_jpos::rules(db, id).await.map(Some)
        })
    })
    .await?;
    let rules = found(rules, "merchant")?;
    Ok(HttpResponse::Ok().json(RulesBody::from(rules)))
}

async fn jpos_terminal(db: &dyn Db, id: i64) -> Result<Option<Terminal>, StoreError> {
    Ok(catalog::get_terminal(db, id)
        .await?
        .filter(|t| t.family == TerminalFamily::Jpos))
}

/// A jpos terminal's batch state.
#[derive(Serialize, ToSchema)]
pub struct BatchView {
    /// Terminal id.
    pub terminal_id: i64,
    /// Actor key, `jpos:{storeNo}:{terminalNo}`.
    pub terminal_key: String,
    /// Current batch, six digits; `null` before the first checkin.
    pub batch_no: Option<String>,
    /// Checked in to the current batch.
    pub checked_in: bool,
    /// Operator of the last checkin.
    pub operator_no: Option<String>,
    /// Last checkin, unix ms.
    pub checked_in_at_ms: Option<i64>,
}

/// Read a jpos terminal's batch state.
#[utoipa::path(tag = "jpos", security(("bearer" = [])), responses(
    (status = 200, body = BatchView), (status = 404, body = ErrorBody)))]
#[get("/jpos/terminals/{id}")]
pub async fn batch(gw: web::Data<Gateway>, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let found_terminal = with_db(&gw, move |db| {
        Box::pin(async move {
            let Some(terminal) = jpos_terminal(db, id).await? else {
                return Ok(None);
            };
            let batch = store_jpos::batch_state(db, id).await?;
            Ok(Some((terminal, batch)))
        })
    })
    .await?;
    let (terminal, batch) = found(found_terminal, "jpos terminal")?;
    Ok(HttpResponse::Ok().json(BatchView {
        terminal_id: terminal.id,
        terminal_key: terminal.actor_key(),
        batch_no: batch.as_ref().map(|b| format!("{:06}", b.batch_no)),
        checked_in: batch.as_ref().is_some_and(|b| b.checked_in),
        operator_no: batch.as_ref().and_then(|b| b.operator_no.clone()),
        checked_in_at_ms: batch.as_ref().and_then(|b| b.checked_in_at_ms),
    }))
}

/// A terminal master key.
#[derive(Serialize, ToSchema)]
pub struct MasterKeyView {
    /// The 16-byte AES-128 master key, upper-case hex: the checkin's working keys are
    /// sealed under it. Derived from `cards.hmac_key`, never stored.
    pub master_key: String,
}

/// Show a jpos terminal's master key, for loading into the terminal.
#[utoipa::path(tag = "jpos", security(("bearer" = [])), responses(
    (status = 200, body = MasterKeyView), (status = 404, body = ErrorBody)))]
#[post("/jpos/terminals/{id}/master-key")]
pub async fn master(gw: web::Data<Gateway>, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let terminal = with_db(&gw, move |db| {
        Box::pin(async move { jpos_terminal(db, id).await })
    })
    .await?;
    let terminal = found(terminal, "jpos terminal")?;
    tracing::info!(terminal = terminal.id, "jpos master key shown");
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(MasterKeyView {
            master_key: hex::encode_upper(master_key(&gw, &terminal.actor_key())),
        }))
}

/// One row of the jpos journal.
#[derive(Serialize, ToSchema)]
pub struct TransView {
    /// `serialNo`.
    pub serial_no: String,
    /// Batch, six digits.
    pub batch_no: String,
    /// Trace, six digits.
    pub trace_no: String,
    /// `request` or `reversal`.
    pub role: String,
    /// `consume`, `cancel`, `refund`, `refund_cancel`.
    pub endpoint: String,
    /// `pending`, `done` or `tombstone`.
    pub status: String,
    /// Response code sent.
    pub response_code: Option<String>,
    /// Masked card number.
    pub card_masked: Option<String>,
    /// Points spent or returned, fen units of points.
    pub point_amount: i64,
    /// Cash, fen.
    pub cash_amount: i64,
    /// Points granted or taken back.
    pub persent_point: i64,
    /// `standing`, `reversed` or `cancelled`.
    pub state: &'static str,
    /// Business date.
    pub business_date: String,
    /// `transTime`, unix ms.
    pub trans_time_ms: i64,
    /// `sweeper` when the pending-row sweeper resolved this request, else `null`.
    pub resolved_by: Option<String>,
    /// When the sweeper resolved it, unix ms.
    pub resolved_at_ms: Option<i64>,
}

impl From<store_jpos::TransRow> for TransView {
    fn from(r: store_jpos::TransRow) -> TransView {
        TransView {
            serial_no: format!("{:012}", r.id),
            batch_no: r.batch_no,
            trace_no: r.trace_no,
            role: r.role,
            endpoint: r.endpoint,
            status: r.status,
            response_code: r.response_code,
            card_masked: r.card_masked,
            point_amount: r.point_amount,
            cash_amount: r.cash_amount,
            persent_point: r.persent_point,
            state: match r.voided {
                store_jpos::REVERSED => "reversed",
                store_jpos::CANCELLED => "cancelled",
                _ => "standing",
            },
            business_date: r.business_date,
            trans_time_ms: r.trans_time_ms,
            resolved_by: r.resolved_by,
            resolved_at_ms: r.resolved_at_ms,
        }
    }
}

/// A request of any jpos terminal that is still pending or that the sweeper resolved.
#[derive(Serialize, ToSchema)]
pub struct PendingView {
    /// `jpos:{storeNo}:{terminalNo}`.
    pub terminal: String,
    /// The request.
    #[serde(flatten)]
    pub row: TransView,
}

/// Query of the listings.
#[derive(Deserialize, IntoParams)]
pub struct ListQuery {
    /// Most rows, 1..=500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// Settlements: only the unbalanced ones.
    #[serde(default)]
    pub unbalanced: bool,
}

fn limit_of(query: &ListQuery) -> Result<i64, ApiError> {
    page_limit(query.limit)
}

/// A jpos terminal's journal, newest first (card numbers masked).
#[utoipa::path(tag = "jpos", params(ListQuery), security(("bearer" = [])), responses(
    (status = 200, body = [TransView]), (status = 404, body = ErrorBody)))]
#[get("/jpos/terminals/{id}/transactions")]
pub async fn transactions(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let limit = limit_of(&query)?;
    let rows = with_db(&gw, move |db| {
        Box::pin(async move {
            let Some(terminal) = jpos_terminal(db, id).await? else {
                return Ok(None);
            };
            store_jpos::list_trans(db, &terminal.actor_key(), limit)
                .await
                .map(Some)
        })
    })
    .await?;
    let views: Vec<TransView> = found(rows, "jpos terminal")?
        .into_iter()
        .map(TransView::from)
        .collect();
    Ok(HttpResponse::Ok().json(views))
}

/// Requests of every jpos terminal still pending (their postings maybe in flight) or
/// resolved by the pending-row sweeper (`resolved_by = sweeper`), newest first: what an
/// operator checks after an outage. A pending request is resolved within
/// `jpos.pending_resolve_after_seconds` (and half as much again).
#[utoipa::path(tag = "jpos", params(ListQuery), security(("bearer" = [])), responses(
    (status = 200, body = [PendingView]), (status = 400, body = ErrorBody)))]
#[get("/jpos/pending")]
pub async fn pending(
    gw: web::Data<Gateway>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = limit_of(&query)?;
    let rows = with_db(&gw, move |db| {
        Box::pin(async move { store_jpos::list_pending(db, limit).await })
    })
    .await?;
    let views: Vec<PendingView> = rows
        .into_iter()
        .map(|r| PendingView {
            terminal: r.terminal_key.clone(),
            row: TransView::from(r),
        })
        .collect();
    Ok(HttpResponse::Ok().json(views))
}

/// A settlement report.
#[derive(Serialize, ToSchema)]
pub struct SettlementView {
    /// Id.
    pub id: i64,
    /// Terminal id.
    pub terminal_id: i64,
    /// Actor key.
    pub terminal_key: String,
    /// Settled batch.
    pub batch_no: String,
    /// `ss` balanced, `ns` not.
    pub settle_flag: String,
    /// The terminal's twelve figures (wire names; amounts as yuan strings).
    #[schema(value_type = Object)]
    pub terminal_totals: serde_json::Value,
    /// posgate's twelve figures.
    #[schema(value_type = Object)]
    pub posgate_totals: serde_json::Value,
    /// Each differing figure: `{figure, terminal, posgate}`.
    #[schema(value_type = Vec<Object>)]
    pub discrepancies: serde_json::Value,
    /// When settled, unix ms.
    pub created_at_ms: i64,
}

fn settlement_view(s: store_jpos::Settlement) -> SettlementView {
    let parse = |text: &str| serde_json::from_str(text).unwrap_or(serde_json::Value::Null);
    SettlementView {
        id: s.id,
        terminal_id: s.terminal_id,
        terminal_key: s.terminal_key,
        batch_no: s.batch_no,
        settle_flag: s.settle_flag,
        terminal_totals: parse(&s.terminal_totals),
        posgate_totals: parse(&s.our_totals),
        discrepancies: parse(&s.discrepancies),
        created_at_ms: s.created_at_ms,
    }
}

/// A jpos terminal's settlements, newest first (`?unbalanced=true`: discrepancy reports only).
#[utoipa::path(tag = "jpos", params(ListQuery), security(("bearer" = [])), responses(
    (status = 200, body = [SettlementView]), (status = 404, body = ErrorBody)))]
#[get("/jpos/terminals/{id}/settlements")]
pub async fn settlements(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let limit = limit_of(&query)?;
    let unbalanced = query.unbalanced;
    let rows = with_db(&gw, move |db| {
        Box::pin(async move {
            if jpos_terminal(db, id).await?.is_none() {
                return Ok(None);
            }
            store_jpos::list_settlements(db, id, unbalanced, limit)
                .await
                .map(Some)
        })
    })
    .await?;
    let views: Vec<SettlementView> = found(rows, "jpos terminal")?
        .into_iter()
        .map(settlement_view)
        .collect();
    Ok(HttpResponse::Ok().json(views))
}

/// One settlement report.
#[utoipa::path(tag = "jpos", security(("bearer" = [])), responses(
    (status = 200, body = SettlementView), (status = 404, body = ErrorBody)))]
#[get("/jpos/settlements/{id}")]
pub async fn settlement(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let found_settlement = with_db(&gw, move |db| {
        Box::pin(async move { store_jpos::get_settlement(db, id).await })
    })
    .await?;
    Ok(HttpResponse::Ok().json(settlement_view(found(found_settlement, "settlement")?)))
}

/// Tickets (券) issued to an account.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketBody {
    /// Ticket id (the wire `id`), positive.
    #[schema(minimum = 1)]
    pub ticket_id: i64,
    /// `01` group-buy, `02` exchange, `03` voucher.
    #[schema(schema_with = ticket_type_values)]
    pub ticket_type: String,
    /// Name shown on the terminal, 1..=64 characters.
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
    /// Face value, fen.
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub face_amount: i64,
    /// How many to add (issue), 1..=9999; in answers, how many the account holds.
    #[schema(minimum = 1, maximum = 9999)]
    pub num: i64,
}

fn ticket_type_values() -> utoipa::openapi::Object {
    super::dto::text_enum(&["01", "02", "03"])
}

impl Validate for TicketBody {
    fn validate(&self) -> Result<(), ApiError> {
        if self.ticket_id <= 0 {
            return Err(ApiError::invalid("ticket_id", "must be positive"));
        }
        if posgate_protocols::jpos::types::TicketType::parse(&self.ticket_type).is_err() {
            return Err(ApiError::invalid("ticket_type", "must be 01, 02 or 03"));
        }
        let name_chars = self.name.chars().count();
        if name_chars == 0 || name_chars > 64 {
            return Err(ApiError::invalid("name", "must have 1 to 64 characters"));
        }
        if !(0..=posgate_protocols::AMOUNT_FEN_MAX).contains(&self.face_amount) {
            return Err(ApiError::invalid("face_amount", "out of range"));
        }
        if !(1..=9999).contains(&self.num) {
            return Err(ApiError::invalid("num", "must be within 1..=9999"));
        }
        Ok(())
    }
}

fn ticket_view(t: store_jpos::TicketHolding) -> TicketBody {
    TicketBody {
        ticket_id: t.ticket_id,
        ticket_type: t.ticket_type,
        name: t.name,
        face_amount: t.face_amount,
        num: t.num,
    }
}

/// Issue tickets to an account (adds `num` of the kind; type, name and face value are set).
#[utoipa::path(tag = "jpos", request_body = TicketBody, security(("bearer" = [])), responses(
    (status = 200, body = TicketBody), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[post("/jpos/accounts/{id}/tickets")]
pub async fn issue_tickets(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
    body: ValidJson<TicketBody>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let b = body.0;
    let holding = store_jpos::TicketHolding {
        ticket_id: b.ticket_id,
        ticket_type: b.ticket_type,
        name: b.name,
        face_amount: b.face_amount,
        num: b.num,
    };
    let held = with_db(&gw, move |db| {
        Box::pin(async move {
            if catalog::get_account(db, id).await?.is_none() {
                return Ok(None);
            }
            store_jpos::add_tickets(db, id, &holding, now_ms())
                .await
                .map(Some)
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(ticket_view(found(held, "account")?)))
}

/// The tickets an account holds (kinds of which none are left included).
#[utoipa::path(tag = "jpos", security(("bearer" = [])), responses(
    (status = 200, body = [TicketBody]), (status = 404, body = ErrorBody)))]
#[get("/jpos/accounts/{id}/tickets")]
pub async fn list_tickets(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let held = with_db(&gw, move |db| {
        Box::pin(async move {
            if catalog::get_account(db, id).await?.is_none() {
                return Ok(None);
            }
            store_jpos::tickets(db, id, true).await.map(Some)
        })
    })
    .await?;
    let views: Vec<TicketBody> = found(held, "account")?
        .into_iter()
        .map(ticket_view)
        .collect();
    Ok(HttpResponse::Ok().json(views))
}
