//! KTV venues.

use super::dto::check_name;
use super::{found, with_db};
use crate::app::Gateway;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::json::{ValidJson, Validate};
use actix_web::{get, post, web, HttpResponse};
use posgate_actors::model::Venue;
use posgate_actors::store::{catalog, now_ms};
use serde::Deserialize;
use utoipa::ToSchema;

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
