//! Transaction listing and the ledger audit.

use super::{next_before_id, page_limit, with_db};
use crate::app::Gateway;
use crate::http::error::{ApiError, ErrorBody};
use actix_web::{get, web, HttpResponse};
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
