//! The offline exception queue: MQTT POS offline records the ledger could not book (unknown
//! user, frozen account, inconsistent amounts, a reused `posNum`), listed for an operator who
//! books each to an account or writes it off.

use super::accounts::{answer, owner, post as post_to_merchant};
use super::dto::check_name;
use super::{found, next_before_id, page_limit, with_db};
use crate::app::Gateway;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::json::{ValidJson, Validate};
use actix_web::{get, post, web, HttpResponse};
use posgate_actors::entity::offline_sources;
use posgate_actors::ledger::{Asset, DeviceFields, LimitPolicy, Operation, PostRequest};
use posgate_actors::model::AccountStatus;
use posgate_actors::store::exceptions::{self, OfflineException, Resolution};
use posgate_actors::store::now_ms;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Filters and paging of the exception list.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only this merchant's.
    pub merchant_id: Option<i64>,
    /// Only `open`, `booked` or `written_off` ones.
    #[param(schema_with = status_values)]
    pub status: Option<String>,
    /// Next page: the `next_before_id` of the previous page.
    pub before_id: Option<i64>,
    /// Page size, 1-500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

fn status_values() -> utoipa::openapi::Object {
    super::dto::text_enum(&["open", "booked", "written_off"])
}

/// A page of exceptions, newest first.
#[derive(Serialize, ToSchema)]
pub struct ExceptionPage {
    /// The exceptions.
    pub items: Vec<OfflineException>,
    /// Pass as `before_id` for the next page; absent on the last page.
    pub next_before_id: Option<i64>,
}

/// List offline records held for an operator, newest first.
#[utoipa::path(tag = "exceptions", params(ListQuery), security(("bearer" = [])), responses(
    (status = 200, body = ExceptionPage), (status = 400, body = ErrorBody)))]
#[get("/offline-exceptions")]
pub async fn list(
    gw: web::Data<Gateway>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let limit = page_limit(q.limit)?;
    if let Some(status) = &q.status {
        if !["open", "booked", "written_off"].contains(&status.as_str()) {
            return Err(ApiError::invalid_query(
                "status",
                "must be open, booked or written_off",
            ));
        }
    }
    let items = with_db(&gw, move |db| {
        Box::pin(async move {
            exceptions::list(db, q.merchant_id, q.status.as_deref(), q.before_id, limit).await
        })
    })
    .await?;
    let next_before_id = next_before_id(items.len(), limit, items.last().map(|e| e.id));
    Ok(HttpResponse::Ok().json(ExceptionPage {
        items,
        next_before_id,
    }))
}

async fn read(gw: &Gateway, id: i64) -> Result<OfflineException, ApiError> {
    let row = with_db(gw, move |db| {
        Box::pin(async move { exceptions::get(db, id).await })
    })
    .await?;
    found(row, "offline exception")
}

/// Read one held offline record.
#[utoipa::path(tag = "exceptions", security(("bearer" = [])), responses(
    (status = 200, body = OfflineException), (status = 404, body = ErrorBody)))]
#[get("/offline-exceptions/{id}")]
pub async fn get(gw: web::Data<Gateway>, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(read(&gw, id.into_inner()).await?))
}

/// Book a held record to an account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookBody {
    /// The account of the record's merchant to debit.
    pub account_id: i64,
    /// Why (kept with the resolution).
    #[schema(max_length = 128, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub note: String,
}

impl Validate for BookBody {
    fn validate(&self) -> Result<(), ApiError> {
        check_name("note", &self.note)
    }
}

/// Write a held record off: the merchant bears it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteOffBody {
    /// Why (required, kept with the resolution).
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^ \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub note: String,
}

impl Validate for WriteOffBody {
    fn validate(&self) -> Result<(), ApiError> {
        if self.note.trim().is_empty() {
            return Err(ApiError::invalid("note", "must say why"));
        }
        check_name("note", &self.note)
    }
}

/// The debit that books a held record as the device charged it: offline, no limits, may
/// overdraw (the meal was served), drawing the purse first like any offline record.
fn booking(gw: &Gateway, row: &OfflineException, account_id: i64) -> PostRequest {
    let (amount, sources) = if row.mode == 52 {
        (row.amount, vec![Asset::Copies])
    } else {
        let order = gw.config.mqtt_debit_order().unwrap_or_default();
        (row.amount, offline_sources(&order))
    };
    let device_fields: DeviceFields = serde_json::from_value(row.raw.clone()).unwrap_or_default();
    PostRequest {
        idempotency_key: format!("exception:{}", row.id),
        account_id,
        terminal: Some(row.terminal.clone()),
        business_date: gw.business_date(),
        op: Operation::Debit {
            amount,
            sources,
            discount: false,
            limits: LimitPolicy::None,
            overdraft: true,
            award_points: 0,
        },
        device_fields,
    }
}

/// Book a held offline record to an account of its merchant (keyed `exception:{id}`, so a
/// retry posts nothing twice), then mark it booked. 201/200 with the posting's outcome, 409
/// when it was resolved otherwise, the key was used for another account, or the account is
/// not active (nothing posted: activate it and book again).
#[utoipa::path(tag = "exceptions", request_body = BookBody, security(("bearer" = [])), responses(
    (status = 201, body = crate::http::admin::dto::OutcomeView),
    (status = 200, body = crate::http::admin::dto::OutcomeView),
    (status = 409, body = ErrorBody), (status = 422, body = crate::http::admin::dto::OutcomeView),
    (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
#[post("/offline-exceptions/{id}/book")]
pub async fn book(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
    body: ValidJson<BookBody>,
) -> Result<HttpResponse, ApiError> {
    let row = read(&gw, id.into_inner()).await?;
    let key = format!("exception:{}", row.id);
    if row.status != "open" && row.transaction_key.as_deref() != Some(key.as_str()) {
        return Err(ApiError::conflict(format!("the record is {}", row.status)));
    }
    let account = owner(&gw, body.0.account_id).await?;
    if account.merchant_id != row.merchant_id {
        return Err(ApiError::invalid(
            "account_id",
            "must be an account of the record's merchant",
        ));
    }
    // Checked before posting: a refusal would be journaled under the record's key and
    // replayed to every later try, even once the account is active again.
    if account.status != AccountStatus::Active {
        return Err(ApiError::conflict(format!(
            "account {} is {}: make it active first, or write the record off",
            account.id,
            account.status.as_str()
        )));
    }
    let outcome = post_to_merchant(&gw, row.merchant_id, booking(&gw, &row, account.id)).await?;
    if outcome.is_posted() && !outcome.key_conflict {
        let (id, note) = (row.id, body.0.note);
        with_db(&gw, move |db| {
            Box::pin(async move {
                exceptions::resolve(db, id, Resolution::Booked, &note, Some(&key), now_ms()).await
            })
        })
        .await?;
        metrics::counter!("posgate_offline_exceptions_resolved_total", "resolution" => "booked")
            .increment(1);
    }
    Ok(answer(&outcome))
}

/// Write a held offline record off (the merchant bears the meal). 200 with the record, 409
/// when it is no longer open.
#[utoipa::path(tag = "exceptions", request_body = WriteOffBody, security(("bearer" = [])), responses(
    (status = 200, body = OfflineException), (status = 409, body = ErrorBody),
    (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[post("/offline-exceptions/{id}/write-off")]
pub async fn write_off(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
    body: ValidJson<WriteOffBody>,
) -> Result<HttpResponse, ApiError> {
    let (id, note) = (id.into_inner(), body.0.note);
    let done = with_db(&gw, move |db| {
        Box::pin(async move {
            exceptions::resolve(db, id, Resolution::WrittenOff, &note, None, now_ms()).await
        })
    })
    .await?;
    let row = read(&gw, id).await?;
    if !done {
        return Err(ApiError::conflict(format!("the record is {}", row.status)));
    }
    metrics::counter!("posgate_offline_exceptions_resolved_total", "resolution" => "written_off")
        .increment(1);
    Ok(HttpResponse::Ok().json(row))
}
