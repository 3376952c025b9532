//! Transaction listing and the ledger audit.

use super::accounts::{answer, post as post_to_merchant};
use super::dto::{check_posting, check_reason, idempotency_key_schema, reason_schema, OutcomeView};
use super::{found, next_before_id, page_limit, with_db};
use crate::app::Gateway;
use crate::http::auth::Principal;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::json::{ValidJson, Validate};
use actix_web::{get, post, web, HttpMessage, HttpRequest, HttpResponse};
use posgate_actors::ledger::{DeviceFields, Operation, PostRequest, VoidKind};
use posgate_actors::model::{Transaction, TransactionFilter};
use posgate_actors::store::audit::{run as run_audit, AuditReport};
use posgate_actors::store::catalog;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Filters and paging of the transaction list.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only this account.
    pub account_id: Option<i64>,
    /// Only this terminal key (`mqtt:5394611`, `jpos:S1:T1`, `ds50:SN`).
    pub terminal: Option<String>,
    /// Created at or after, unix ms (after `to_ms`: an empty range, nothing listed).
    pub from_ms: Option<i64>,
    /// Created before, unix ms.
    pub to_ms: Option<i64>,
    /// Next page: the `next_before_id` of the previous page.
    pub before_id: Option<i64>,
    /// Page size, 1-500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// A page of transactions, newest first.
#[derive(Serialize, ToSchema)]
pub struct TransactionPage {
    /// The transactions.
    pub items: Vec<Transaction>,
    /// Pass as `before_id` for the next page; absent on the last page.
    pub next_before_id: Option<i64>,
}

/// List transactions, newest first, filtered by account, terminal and time.
#[utoipa::path(tag = "transactions", params(ListQuery), security(("bearer" = [])), responses(
    (status = 200, body = TransactionPage), (status = 400, body = ErrorBody)))]
#[get("/transactions")]
pub async fn list(
    gw: web::Data<Gateway>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let limit = page_limit(q.limit)?;
    let filter = TransactionFilter {
        account_id: q.account_id,
        terminal: q.terminal,
        from_ms: q.from_ms,
        to_ms: q.to_ms,
        before_id: q.before_id,
        limit,
    };
    let items = with_db(&gw, move |db| {
        Box::pin(async move { catalog::list_transactions(db, &filter).await })
    })
    .await?;
    let next_before_id = next_before_id(items.len(), limit, items.last().map(|t| t.id));
    Ok(HttpResponse::Ok().json(TransactionPage {
        items,
        next_before_id,
    }))
}

/// Audit the ledger: every transaction's postings sum to zero per asset, every cached balance
/// equals the sum of its postings. A full scan: for occasional checks.
#[utoipa::path(tag = "transactions", security(("bearer" = [])), responses((status = 200, body = AuditReport)))]
#[get("/ledger/audit")]
pub async fn audit(gw: web::Data<Gateway>) -> Result<HttpResponse, ApiError> {
    let report = with_db(&gw, |db| Box::pin(async move { run_audit(db).await })).await?;
    Ok(HttpResponse::Ok().json(report))
}

/// An operator's cancel (撤销) of a posted transaction.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    /// Why (required; recorded on the journal entry as the device field `reason`).
    #[schema(schema_with = reason_schema)]
    pub reason: String,
}

impl Validate for CancelBody {
    fn validate(&self) -> Result<(), ApiError> {
        check_reason("reason", &self.reason)
    }
}

/// An operator's refund of part or all of a posted debit.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundBody {
    /// Client-chosen key of this refund; a retry with the same key posts nothing and returns
    /// the first answer.
    #[schema(schema_with = idempotency_key_schema)]
    pub idempotency_key: String,
    /// Amount given back, minor units, positive, at most what is left of the debit.
    #[schema(minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub amount: i64,
    /// Why (required; recorded on the journal entry as the device field `reason`).
    #[schema(schema_with = reason_schema)]
    pub reason: String,
}

impl Validate for RefundBody {
    fn validate(&self) -> Result<(), ApiError> {
        check_posting(&self.idempotency_key, self.amount)?;
        check_reason("reason", &self.reason)
    }
}

/// Who the journal records as the operator of a cancel or refund: the request's principal
/// (the calling credential's name, `admin` for the configured token). `require_admin` has
/// always set it; the fallback only keeps a handler outside that scope from panicking.
fn operator(req: &HttpRequest) -> String {
    req.extensions()
        .get::<Principal>()
        .map_or_else(|| "admin".to_string(), |p| p.name.clone())
}

/// Posts `op` on the account of transaction `original` through its merchant's actor, keyed
/// `key`, recording `reason` and the operator as device fields; answers like a debit.
async fn post_operator(
    gw: &Gateway,
    original: &Transaction,
    key: String,
    op: Operation,
    (reason, operator): (String, String),
) -> Result<HttpResponse, ApiError> {
    // Every journal entry names its account and merchant; the columns are nullable only.
    let (Some(account_id), Some(merchant_id)) = (original.account_id, original.merchant_id) else {
        return Err(ApiError::not_found("transaction of an account"));
    };
    let device_fields = DeviceFields::from([
        ("reason".to_string(), reason),
        ("operator".to_string(), operator),
    ]);
    let request = PostRequest {
        idempotency_key: key,
        account_id,
        terminal: None,
        business_date: gw.business_date(),
        op,
        device_fields,
    };
    Ok(answer(&post_to_merchant(gw, merchant_id, request).await?))
}

/// Reads transaction `id`, or 404.
async fn original(gw: &Gateway, id: i64) -> Result<Transaction, ApiError> {
    let row = with_db(gw, move |db| {
        Box::pin(async move { catalog::get_transaction(db, id).await })
    })
    .await?;
    found(row, "transaction")
}

/// Cancel (撤销) a posted transaction: undo it completely, keyed `admin-cancel:{id}` (a
/// retry answers the first outcome and posts nothing more; a retry with another reason is
/// a key conflict). 201 posted, 200 replay, 409 key conflict, 422 refused
/// (`already_voided`, `not_voidable`, `insufficient`...).
#[utoipa::path(tag = "transactions", request_body = CancelBody, security(("bearer" = [])), responses(
    (status = 201, body = OutcomeView), (status = 200, body = OutcomeView), (status = 409, body = OutcomeView),
    (status = 422, body = OutcomeView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
    (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
#[post("/transactions/{id}/cancel")]
pub async fn cancel(
    gw: web::Data<Gateway>,
    req: HttpRequest,
    id: web::Path<i64>,
    body: ValidJson<CancelBody>,
) -> Result<HttpResponse, ApiError> {
    let original = original(&gw, id.into_inner()).await?;
    let op = Operation::Void {
        original_key: original.idempotency_key.clone(),
        kind: VoidKind::Cancel,
    };
    let key = format!("admin-cancel:{}", original.id);
    let recorded = (body.0.reason, operator(&req));
    post_operator(&gw, &original, key, op, recorded).await
}

/// Refund part or all of a posted debit, keyed `admin-refund:{id}:{idempotency_key}` (a
/// retry answers the first outcome and posts nothing more). 201 posted, 200 replay, 409 key
/// conflict, 422 refused (`refund_exceeds_original`, `already_voided`, `not_voidable`...).
#[utoipa::path(tag = "transactions", request_body = RefundBody, security(("bearer" = [])), responses(
    (status = 201, body = OutcomeView), (status = 200, body = OutcomeView), (status = 409, body = OutcomeView),
    (status = 422, body = OutcomeView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
    (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
#[post("/transactions/{id}/refund")]
pub async fn refund(
    gw: web::Data<Gateway>,
    req: HttpRequest,
    id: web::Path<i64>,
    body: ValidJson<RefundBody>,
) -> Result<HttpResponse, ApiError> {
    let RefundBody {
        idempotency_key,
        amount,
        reason,
    } = body.0;
    let original = original(&gw, id.into_inner()).await?;
    let op = Operation::Refund {
        original_key: original.idempotency_key.clone(),
        amount,
    };
    let key = format!("admin-refund:{}:{idempotency_key}", original.id);
    post_operator(&gw, &original, key, op, (reason, operator(&req))).await
}
