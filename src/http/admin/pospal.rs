//! Pospal: the apps that may notify (appId -> merchant, with the appKey that signs their
//! notifications; the key is write-only), and the read side of what was consumed: events,
//! balance mismatches, and the folded state of stock flows and online orders.

use super::{found, page_limit, with_db};
use crate::app::Gateway;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::json::{ValidJson, Validate};
use actix_web::{get, put, web, HttpResponse};
use posgate_actors::store::pospal::{
    self as store_pospal, App, Document, DocumentKind, Event, Mismatch,
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
    let saved = with_db(&gw, move |db| {
        Box::pin(async move {
            if catalog::get_merchant(db, merchant_id).await?.is_none() {
                return Ok(None);
            }
            store_pospal::put_app(db, &app_id, merchant_id, &app_key, active, now_ms())
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

/// A listing's filters.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// How many, newest first: 1-500 (default 50).
    pub limit: Option<i64>,
    /// Events: only this `cmd`.
    pub cmd: Option<String>,
    /// Events: only this subject (ticket `sn`, `customerUid`, coupon code, document id).
    pub subject: Option<String>,
    /// Documents: `stock_flow` (default) or `product_order`.
    pub kind: Option<String>,
}

impl ListQuery {
    fn limit(&self) -> Result<i64, ApiError> {
        page_limit(self.limit)
    }
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
#[utoipa::path(tag = "pospal", params(ListQuery), security(("bearer" = [])), responses(
    (status = 200, body = Vec<Event>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/merchants/{id}/pospal/events")]
pub async fn events(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let limit = query.limit()?;
    let ListQuery { cmd, subject, .. } = query.into_inner();
    let events = for_merchant(&gw, id, move |db| {
        Box::pin(async move {
            store_pospal::list_events(db, id, cmd.as_deref(), subject.as_deref(), limit).await
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(events))
}

/// Tickets whose `afterUsedMoney` differed from the ledger's balance, newest first.
#[utoipa::path(tag = "pospal", params(ListQuery), security(("bearer" = [])), responses(
    (status = 200, body = Vec<Mismatch>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/merchants/{id}/pospal/mismatches")]
pub async fn mismatches(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let limit = query.limit()?;
    let items = for_merchant(&gw, id, move |db| {
        Box::pin(store_pospal::list_mismatches(db, id, limit))
    })
    .await?;
    Ok(HttpResponse::Ok().json(items))
}

/// The state of a merchant's stock flows or online orders, folded from their
/// notifications, most recently updated first.
#[utoipa::path(tag = "pospal", params(ListQuery), security(("bearer" = [])), responses(
    (status = 200, body = Vec<Document>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/merchants/{id}/pospal/documents")]
pub async fn documents(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let limit = query.limit()?;
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
