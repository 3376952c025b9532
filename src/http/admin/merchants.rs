//! Merchants and their groups.

use super::dto::{check_search, GroupRulesBody, MerchantPatch, NewGroup, NewMerchant};
use super::{found, page_limit, with_db, Page};
use crate::app::Gateway;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::json::ValidJson;
use actix_web::{get, patch, post, web, HttpResponse};
use posgate_actors::entity::Reload;
use posgate_actors::model::{Group, Merchant, MerchantStatus};
use posgate_actors::store::catalog::CatalogFilter;
use posgate_actors::store::{catalog, now_ms};
use serde::Deserialize;
use utoipa::IntoParams;

/// Create a merchant (and its counter account).
#[utoipa::path(tag = "merchants", request_body = NewMerchant, security(("bearer" = [])), responses(
    (status = 201, body = Merchant), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[post("/merchants")]
pub async fn create(
    gw: web::Data<Gateway>,
    body: ValidJson<NewMerchant>,
) -> Result<HttpResponse, ApiError> {
    let NewMerchant { code, name } = body.0;
    let merchant = with_db(&gw, move |db| {
        Box::pin(async move { catalog::create_merchant(db, &code, &name, now_ms()).await })
    })
    .await?;
    Ok(HttpResponse::Created().json(merchant))
}

/// Filters and paging of the merchant list.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only `active` or `suspended` merchants.
    #[param(schema_with = status_values)]
    pub status: Option<String>,
    /// Only merchants whose code or name contains this text (case-insensitive; on SQLite
    /// for ASCII letters only).
    #[param(max_length = 64, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub q: Option<String>,
    /// Next page: the `next_before_id` of the previous page.
    pub before_id: Option<i64>,
    /// Page size, 1-500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

fn status_values() -> utoipa::openapi::Object {
    super::dto::text_enum(&[
        MerchantStatus::Active.as_str(),
        MerchantStatus::Suspended.as_str(),
    ])
}

/// List merchants, newest first, by status and by text in their code or name.
#[utoipa::path(tag = "merchants", params(ListQuery), security(("bearer" = [])), responses(
    (status = 200, body = Page<Merchant>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
#[get("/merchants")]
pub async fn list(
    gw: web::Data<Gateway>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let limit = page_limit(q.limit)?;
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(
            MerchantStatus::parse(s)
                .ok_or_else(|| ApiError::invalid_query("status", "must be active or suspended"))?,
        ),
    };
    check_search(q.q.as_deref())?;
    let filter = CatalogFilter {
        q: q.q,
        before_id: q.before_id,
        limit,
    };
    let items = with_db(&gw, move |db| {
        Box::pin(async move { catalog::list_merchants(db, status, &filter).await })
    })
    .await?;
    Ok(HttpResponse::Ok().json(Page::of(items, limit, |m| m.id)))
}

/// Read a merchant.
#[utoipa::path(tag = "merchants", security(("bearer" = [])), responses(
    (status = 200, body = Merchant), (status = 404, body = ErrorBody)))]
#[get("/merchants/{id}")]
pub async fn get(gw: web::Data<Gateway>, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let merchant = with_db(&gw, move |db| {
        Box::pin(async move { catalog::get_merchant(db, id).await })
    })
    .await?;
    Ok(HttpResponse::Ok().json(found(merchant, "merchant")?))
}

/// Rename a merchant, change its status or its `announce_payments` setting; its actor and
/// its terminals' reload.
#[utoipa::path(tag = "merchants", request_body = MerchantPatch, security(("bearer" = [])), responses(
    (status = 200, body = Merchant), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[patch("/merchants/{id}")]
pub async fn update(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
    body: ValidJson<MerchantPatch>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let MerchantPatch {
        name,
        status,
        announce_payments,
    } = body.0;
    let merchant = with_db(&gw, move |db| {
        Box::pin(async move {
            let merchant = catalog::update_merchant(db, id, name.as_deref(), status, now_ms());
            match (merchant.await?, announce_payments) {
                (Some(_), Some(on)) => catalog::set_announce_payments(db, id, on, now_ms()).await,
                (merchant, _) => Ok(merchant),
            }
        })
    })
    .await?;
    let merchant = found(merchant, "merchant")?;
    gw.merchants.call(&id.to_string(), Reload).await?;
    crate::change_feed::reload_merchant(&gw, id).await;
    Ok(HttpResponse::Ok().json(merchant))
}

/// Create a group (MQTT group rules) of a merchant.
#[utoipa::path(tag = "groups", request_body = NewGroup, security(("bearer" = [])), responses(
    (status = 201, body = Group), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody)))]
#[post("/groups")]
pub async fn create_group(
    gw: web::Data<Gateway>,
    body: ValidJson<NewGroup>,
) -> Result<HttpResponse, ApiError> {
    let NewGroup {
        merchant_id,
        name,
        rules,
    } = body.0;
    let input = catalog::GroupRulesInput {
        single_limit: rules.single_limit.unwrap_or(0),
        daily_amount_limit: rules.daily_amount_limit.unwrap_or(0),
        daily_count_limit: rules.daily_count_limit.unwrap_or(0),
        offline_amount_limit: rules.offline_amount_limit.unwrap_or(0),
        offline_count_limit: rules.offline_count_limit.unwrap_or(0),
        discount_percent: rules.discount_percent.unwrap_or(100),
    };
    let group = with_db(&gw, move |db| {
        Box::pin(async move {
            if catalog::get_merchant(db, merchant_id).await?.is_none() {
                return Ok(None);
            }
            catalog::create_group(db, merchant_id, &name, &input, now_ms())
                .await
                .map(Some)
        })
    })
    .await?;
    Ok(HttpResponse::Created().json(found(group, "merchant")?))
}

/// Read a group.
#[utoipa::path(tag = "groups", security(("bearer" = [])), responses(
    (status = 200, body = Group), (status = 404, body = ErrorBody)))]
#[get("/groups/{id}")]
pub async fn get_group(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let group = with_db(&gw, move |db| {
        Box::pin(async move { catalog::get_group(db, id).await })
    })
    .await?;
    Ok(HttpResponse::Ok().json(found(group, "group")?))
}

/// Change a group's rules; omitted rules stay as they are. New limits apply to the next
/// posting.
#[utoipa::path(tag = "groups", request_body = GroupRulesBody, security(("bearer" = [])), responses(
    (status = 200, body = Group), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[patch("/groups/{id}")]
pub async fn update_group(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
    body: ValidJson<GroupRulesBody>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let rules = body.0;
    let group = with_db(&gw, move |db| {
        Box::pin(async move {
            let Some(g) = catalog::get_group(db, id).await? else {
                return Ok(None);
            };
            let input = catalog::GroupRulesInput {
                single_limit: rules.single_limit.unwrap_or(g.single_limit),
                daily_amount_limit: rules.daily_amount_limit.unwrap_or(g.daily_amount_limit),
                daily_count_limit: rules.daily_count_limit.unwrap_or(g.daily_count_limit),
                offline_amount_limit: rules.offline_amount_limit.unwrap_or(g.offline_amount_limit),
                offline_count_limit: rules.offline_count_limit.unwrap_or(g.offline_count_limit),
                discount_percent: rules.discount_percent.unwrap_or(g.discount_percent),
            };
            catalog::update_group(db, id, &input, now_ms()).await
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(found(group, "group")?))
}
