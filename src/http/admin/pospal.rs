//! Pospal: the apps that may notify (appId -> merchant, with the appKey that signs their
//! notifications; the key is write-only), and the read side of what was consumed: events,
//! balance mismatches, and the folded state of stock flows and online orders.

use super::{found, page_limit, with_db};
use crate::app::Gateway;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::json::{ValidJson, Validate};
use actix_web::{get, post, put, web, HttpResponse};
use chrono::NaiveDate;
use posgate_actors::ledger::{Asset, LimitPolicy, Operation, PostRequest};
use posgate_actors::store::pospal::{
    self as store_pospal, App, Document, DocumentKind, Event, Mismatch, Resolution, TicketDay,
};
use posgate_actors::store::{catalog, now_ms};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Longest appId / appKey accepted, characters.
const APP_TEXT_MAX: usize = 128;
/// Shortest appKey accepted, characters.
const APP_KEY_MIN: usize = 16;

/// Create or update a Pospal app.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppBody {
    /// The merchant its notifications belong to.
    pub merchant_id: i64,
    /// The appKey Pospal signs with (16-128 printable characters). Write-only.
    #[schema(min_length = 16, max_length = 128, pattern = r"^[!-~]{16,128}$")]
    pub app_key: String,
    /// Whether its notifications are taken (default true).
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

impl Validate for AppBody {
    fn validate(&self) -> Result<(), ApiError> {
        let key = &self.app_key;
        if key.chars().count() < APP_KEY_MIN || key.chars().count() > APP_TEXT_MAX {
            return Err(ApiError::invalid("app_key", "must be 16 to 128 characters"));
        }
        if !key.chars().all(|c| c.is_ascii_graphic()) {
            return Err(ApiError::invalid(
                "app_key",
                "must be printable ASCII without spaces",
            ));
        }
        Ok(())
    }
}

/// A Pospal app as shown (never its key).
#[derive(Serialize, ToSchema)]
pub struct AppView {
    /// Pospal's appId.
    pub app_id: String,
    /// Owning merchant.
    pub merchant_id: i64,
    /// Whether its notifications are taken.
    pub active: bool,
    /// Unix milliseconds.
    pub created_at_ms: i64,
    /// Unix milliseconds.
    pub updated_at_ms: i64,
}

impl From<App> for AppView {
    fn from(app: App) -> AppView {
        AppView {
            app_id: app.app_id,
            merchant_id: app.merchant_id,
            active: app.active,
            created_at_ms: app.created_at_ms,
            updated_at_ms: app.updated_at_ms,
        }
    }
}

fn check_app_id(app_id: &str) -> Result<(), ApiError> {
    if app_id.is_empty()
        || app_id.chars().count() > APP_TEXT_MAX
        || !app_id.chars().all(|c| c.is_ascii_graphic())
    {
        return Err(ApiError::invalid(
            "app_id",
            "must be 1 to 128 printable ASCII characters",
        ));
    }
    Ok(())
}

/// Register a Pospal app for a merchant, or change its key, merchant or status (201 when
/// created, 200 when updated).
#[utoipa::path(tag = "pospal", request_body = AppBody, security(("bearer" = [])), responses(
    (status = 200, body = AppView), (status = 201, body = AppView),
    (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[put("/pospal/apps/{app_id}")]
pub async fn put_app(
    gw: web::Data<Gateway>,
    app_id: web::Path<String>,
    body: ValidJson<AppBody>,
) -> Result<HttpResponse, ApiError> {
    let app_id = app_id.into_inner();
    check_app_id(&app_id)?;
    let AppBody {
        merchant_id,
        app_key,
        active,
    } = body.0;
    let sealed = crate::http::pospal::seal_key(&gw.pospal_kek, &app_id, &app_key);
    let saved = with_db(&gw, move |db| {
        Box::pin(async move {
            if catalog::get_merchant(db, merchant_id).await?.is_none() {
                return Ok(None);
            }
            store_pospal::put_app(db, &app_id, merchant_id, &sealed, active, now_ms())
                .await
                .map(Some)
        })
    })
    .await?;
    let (app, created) = found(saved, "merchant")?;
    let view = AppView::from(app);
    Ok(if created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

/// The events listing's filters.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// How many, newest first: 1-500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// Only this `cmd`.
    pub cmd: Option<String>,
    /// Only this subject (ticket `sn`, `customerUid`, coupon code, document id).
    pub subject: Option<String>,
    /// Only this outcome (e.g. `posted:below_zero`, `awaiting_original`).
    pub outcome: Option<String>,
}

/// The mismatches listing's filters.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MismatchesQuery {
    /// How many, newest first: 1-500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// `open` or `resolved` (default both).
    #[param(schema_with = mismatch_status_values)]
    pub status: Option<String>,
}

/// The documents listing's filters.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DocumentsQuery {
    /// How many, most recently updated first: 1-500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// `stock_flow` (default) or `product_order`.
    #[param(schema_with = kind_values)]
    pub kind: Option<String>,
}

fn kind_values() -> utoipa::openapi::Object {
    super::dto::text_enum(&["stock_flow", "product_order"])
}

fn mismatch_status_values() -> utoipa::openapi::Object {
    super::dto::text_enum(&["open", "resolved"])
}

fn format_values() -> utoipa::openapi::Object {
    super::dto::text_enum(&["json", "csv"])
}

fn action_values() -> utoipa::openapi::Object {
    super::dto::text_enum(&["note", "adjust"])
}

/// Runs a listing for merchant `id` (404 when there is no such merchant).
async fn for_merchant<T, F>(gw: &Gateway, id: i64, list: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: for<'a> FnOnce(
            &'a dyn posgate_actors::store::Db,
        ) -> futures::future::LocalBoxFuture<
            'a,
            Result<T, posgate_actors::store::StoreError>,
        > + Send
        + 'static,
{
    let items = with_db(gw, move |db| {
        Box::pin(async move {
            if catalog::get_merchant(db, id).await?.is_none() {
                return Ok(None);
            }
            list(db).await.map(Some)
        })
    })
    .await?;
    found(items, "merchant")
}

/// A merchant's Pospal apps.
#[utoipa::path(tag = "pospal", security(("bearer" = [])), responses(
    (status = 200, body = Vec<AppView>), (status = 404, body = ErrorBody)))]
#[get("/merchants/{id}/pospal/apps")]
pub async fn apps(gw: web::Data<Gateway>, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let apps = for_merchant(&gw, id, move |db| Box::pin(store_pospal::list_apps(db, id))).await?;
    Ok(HttpResponse::Ok().json(apps.into_iter().map(AppView::from).collect::<Vec<_>>()))
}

/// A merchant's consumed notifications, newest first.
#[utoipa::path(tag = "pospal", params(EventsQuery), security(("bearer" = [])), responses(
    (status = 200, body = Vec<Event>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/merchants/{id}/pospal/events")]
pub async fn events(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
    query: web::Query<EventsQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let limit = page_limit(query.limit)?;
    let EventsQuery {
        cmd,
        subject,
        outcome,
        ..
    } = query.into_inner();
    let events = for_merchant(&gw, id, move |db| {
        Box::pin(async move {
            let (cmd, subject, outcome) = (cmd.as_deref(), subject.as_deref(), outcome.as_deref());
            store_pospal::list_events(db, id, cmd, subject, outcome, limit).await
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(events))
}

/// Tickets whose `afterUsedMoney` (cash) or `afterGaintPoint` (points) differed from the
/// ledger's balance, newest first; `status=open` for those still to resolve.
#[utoipa::path(tag = "pospal", params(MismatchesQuery), security(("bearer" = [])), responses(
    (status = 200, body = Vec<Mismatch>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/merchants/{id}/pospal/mismatches")]
pub async fn mismatches(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
    query: web::Query<MismatchesQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let limit = page_limit(query.limit)?;
    let status = match query.into_inner().status {
        None => None,
        Some(s) if s == "open" || s == "resolved" => Some(s),
        Some(_) => {
            return Err(ApiError::invalid_query(
                "status",
                "must be open or resolved",
            ))
        }
    };
    let items = for_merchant(&gw, id, move |db| {
        Box::pin(
            async move { store_pospal::list_mismatches(db, id, status.as_deref(), limit).await },
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(items))
}

/// The state of a merchant's stock flows or online orders, folded from their
/// notifications, most recently updated first.
#[utoipa::path(tag = "pospal", params(DocumentsQuery), security(("bearer" = [])), responses(
    (status = 200, body = Vec<Document>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/merchants/{id}/pospal/documents")]
pub async fn documents(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
    query: web::Query<DocumentsQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let limit = page_limit(query.limit)?;
    let kind = match query.kind.as_deref() {
        None => DocumentKind::StockFlow,
        Some(name) => DocumentKind::parse(name).ok_or_else(|| {
            ApiError::invalid_query("kind", "must be stock_flow or product_order")
        })?,
    };
    let items = for_merchant(&gw, id, move |db| {
        Box::pin(store_pospal::list_documents(db, id, kind, limit))
    })
    .await?;
    Ok(HttpResponse::Ok().json(items))
}

/// Resolve a mismatch.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    /// `note`: explained, nothing posted; `adjust`: post the difference so posgate follows
    /// Pospal (a credit, or a debit that may go below zero, keyed `pospal:adjust:{id}`).
    #[schema(schema_with = action_values)]
    pub action: String,
    /// Who resolves it (recorded).
    #[schema(schema_with = super::intake::recorded_text)]
    pub operator: String,
    /// Why (recorded).
    #[schema(schema_with = super::intake::recorded_text)]
    pub note: String,
}

impl Validate for ResolveBody {
    fn validate(&self) -> Result<(), ApiError> {
        if self.action != "note" && self.action != "adjust" {
            return Err(ApiError::invalid("action", "must be note or adjust"));
        }
        super::intake::check_operator_note(&self.operator, &self.note)
    }
}

/// Posts the adjustment that makes the member's account follow Pospal: the difference
/// recorded with the mismatch, in its asset.
async fn post_adjustment(gw: &Gateway, m: &Mismatch) -> Result<String, ApiError> {
    let asset = Asset::parse(&m.asset).unwrap_or(Asset::Cash);
    let key = format!("pospal:adjust:{}", m.id);
    let op = match m.pospal_balance - m.posgate_balance {
        delta if delta > 0 => Operation::Credit {
            asset,
            amount: delta,
        },
        delta => Operation::Debit {
            amount: -delta,
            sources: vec![asset],
            discount: false,
            limits: LimitPolicy::None,
            overdraft: true,
            award_points: 0,
        },
    };
    let request = PostRequest {
        idempotency_key: key.clone(),
        account_id: m.account_id,
        terminal: None,
        business_date: gw.business_date(),
        op,
        device_fields: Default::default(),
    };
    let outcome = super::accounts::post(gw, m.merchant_id, request).await?;
    if outcome.key_conflict || !outcome.is_posted() {
        let why = outcome.refusal.map_or("key conflict", |r| r.as_str());
        return Err(ApiError::conflict(format!("adjustment not posted: {why}")));
    }
    Ok(key)
}

/// Resolve an open mismatch: with a note only, or by posting an adjustment that makes the
/// member's account follow Pospal. 200 with the resolved mismatch; 404; 409 when it is
/// already resolved (or the adjustment was refused).
#[utoipa::path(tag = "pospal", request_body = ResolveBody, security(("bearer" = [])), responses(
    (status = 200, body = Mismatch), (status = 400, body = ErrorBody),
    (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[post("/merchants/{id}/pospal/mismatches/{mismatch}/resolve")]
pub async fn resolve_mismatch(
    gw: web::Data<Gateway>,
    path: web::Path<(i64, i64)>,
    body: ValidJson<ResolveBody>,
) -> Result<HttpResponse, ApiError> {
    let (merchant, id) = path.into_inner();
    let read = with_db(&gw, move |db| {
        Box::pin(store_pospal::get_mismatch(db, merchant, id))
    });
    let mismatch = found(read.await?, "mismatch")?;
    if mismatch.status != "open" {
        return Err(ApiError::conflict(format!(
            "mismatch {id} is already resolved"
        )));
    }
    let ResolveBody {
        action,
        operator,
        note,
    } = body.0;
    let adjustment_key = match action.as_str() {
        "adjust" => Some(post_adjustment(&gw, &mismatch).await?),
        _ => None,
    };
    let resolution = Resolution {
        resolution: if adjustment_key.is_some() {
            "adjusted"
        } else {
            "noted"
        },
        note,
        resolved_by: operator,
        adjustment_key,
    };
    let resolved = with_db(&gw, move |db| {
        Box::pin(async move {
            let changed = store_pospal::resolve_mismatch(db, id, &resolution, now_ms()).await?;
            Ok((changed, store_pospal::get_mismatch(db, merchant, id).await?))
        })
    })
    .await?;
    match resolved {
        (true, Some(m)) => Ok(HttpResponse::Ok().json(m)),
        _ => Err(ApiError::conflict(format!(
            "mismatch {id} is already resolved"
        ))),
    }
}

/// The ticket totals' range and format.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TotalsQuery {
    /// First business day, `YYYY-MM-DD`.
    #[param(format = Date)]
    pub from: String,
    /// Last business day, `YYYY-MM-DD` (at most 366 days after `from`).
    #[param(format = Date)]
    pub to: String,
    /// `json` (default) or `csv`.
    #[param(schema_with = format_values)]
    pub format: Option<String>,
}

fn day(field: &str, text: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| ApiError::invalid_query(field, "must be YYYY-MM-DD"))
}

/// The totals as CSV: a header line, then one line per day (every field is a number or a
/// date, so nothing needs quoting).
fn totals_csv(days: &[TicketDay]) -> String {
    let mut csv = String::from(
        "business_date,tickets,sales,refunds,other_tickets,reverses,member_tickets,\
         member_cash_used,points_gained,total_amount\n",
    );
    for d in days {
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{}\n",
            d.business_date,
            d.tickets,
            d.sales,
            d.refunds,
            d.other_tickets,
            d.reverses,
            d.member_tickets,
            d.member_cash_used,
            d.points_gained,
            d.total_amount
        ));
    }
    csv
}

/// A merchant's Pospal ticket totals per business day (days without tickets are left
/// out), as JSON or CSV (`format=csv`, `text/csv`).
#[utoipa::path(tag = "pospal", params(TotalsQuery), security(("bearer" = [])), responses(
    (status = 200, description = "the days, as JSON or (`format=csv`) CSV",
        content((Vec<TicketDay> = "application/json"), (String = "text/csv"))),
    (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/merchants/{id}/pospal/ticket-totals")]
pub async fn ticket_totals(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
    query: web::Query<TotalsQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let TotalsQuery { from, to, format } = query.into_inner();
    let (first, last) = (day("from", &from)?, day("to", &to)?);
    if last < first || (last - first).num_days() > 366 {
        return Err(ApiError::invalid_query(
            "to",
            "must be from `from` to 366 days after it",
        ));
    }
    let csv = match format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(ApiError::invalid_query("format", "must be json or csv")),
    };
    let days = for_merchant(&gw, id, move |db| {
        Box::pin(async move { store_pospal::ticket_days(db, id, &from, &to).await })
    })
    .await?;
    Ok(if csv {
        HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .body(totals_csv(&days))
    } else {
        HttpResponse::Ok().json(days)
    })
}
