//! KTV venues.

use super::dto::check_name;
use super::{found, page_limit, with_db, Page};
use crate::app::Gateway;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::json::{ValidJson, Validate};
use actix_web::{get, post, web, HttpResponse};
use posgate_actors::model::Venue;
use posgate_actors::store::{catalog, now_ms};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

/// Register a venue.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVenue {
    /// The venue system's company code: 1 to 32 letters, digits, `-` or `_`.
    #[schema(min_length = 1, max_length = 32, pattern = r"^[A-Za-z0-9_-]{1,32}$")]
    pub companycode: String,
    /// Owning merchant.
    pub merchant_id: i64,
    /// Display name.
    #[serde(default)]
    #[schema(max_length = 128, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub name: String,
}

impl Validate for NewVenue {
    fn validate(&self) -> Result<(), ApiError> {
        posgate_protocols::ktv::CompanyCode::parse(&self.companycode).map_err(|_| {
            ApiError::invalid("companycode", "must be 1 to 32 letters, digits, - or _")
        })?;
        check_name("name", &self.name)
    }
}

/// Register a KTV venue.
#[utoipa::path(tag = "venues", request_body = NewVenue, security(("bearer" = [])), responses(
    (status = 201, body = Venue), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody)))]
#[post("/venues")]
pub async fn create(
    gw: web::Data<Gateway>,
    body: ValidJson<NewVenue>,
) -> Result<HttpResponse, ApiError> {
    let NewVenue {
        companycode,
        merchant_id,
        name,
    } = body.0;
    let venue = with_db(&gw, move |db| {
        Box::pin(async move {
            if catalog::get_merchant(db, merchant_id).await?.is_none() {
                return Ok(None);
            }
            catalog::create_venue(db, &companycode, merchant_id, &name, now_ms())
                .await
                .map(Some)
        })
    })
    .await?;
    Ok(HttpResponse::Created().json(found(venue, "merchant")?))
}

/// Read a venue by company code.
#[utoipa::path(tag = "venues", security(("bearer" = [])), responses(
    (status = 200, body = Venue), (status = 404, body = ErrorBody)))]
#[get("/venues/{companycode}")]
pub async fn get(
    gw: web::Data<Gateway>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let code = code.into_inner();
    let venue = with_db(&gw, move |db| {
        Box::pin(async move { catalog::find_venue(db, &code).await })
    })
    .await?;
    Ok(HttpResponse::Ok().json(found(venue, "venue")?))
}

/// Paging of the venue list.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Next page: the `next_before_id` of the previous page.
    pub before_id: Option<i64>,
    /// Page size, 1-500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// List KTV venues, newest first.
#[utoipa::path(tag = "venues", params(ListQuery), security(("bearer" = [])), responses(
    (status = 200, body = Page<Venue>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
#[get("/venues")]
pub async fn list(
    gw: web::Data<Gateway>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let limit = page_limit(q.limit)?;
    let items = with_db(&gw, move |db| {
        Box::pin(async move { catalog::page_venues(db, q.before_id, limit).await })
    })
    .await?;
    Ok(HttpResponse::Ok().json(Page::of(items, limit, |v| v.id)))
}
