//! What consumption machines uploaded (MQTT POS spec section 6): device messages, photos
//! (metadata and the image itself) and dish records, per terminal, newest first.

use super::{found, page_limit, with_db};
use crate::app::Gateway;
use crate::http::error::{ApiError, ErrorBody};
use actix_web::{get, web, HttpResponse};
use posgate_actors::store::uploads::{self, DeviceNoticeRecord, DishRecord, PhotoRecord};
use posgate_actors::store::{catalog, Db, StoreError};
use serde::Deserialize;
use utoipa::IntoParams;

/// Size of an upload listing.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// How many, newest first: 1-500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

impl UploadQuery {
    fn limit(&self) -> Result<i64, ApiError> {
        page_limit(self.limit)
    }
}

/// Runs `list` for terminal `id` (404 when there is no such terminal).
async fn list_of<T, F>(gw: &Gateway, id: i64, limit: i64, list: F) -> Result<Vec<T>, ApiError>
where
    T: Send + 'static,
    F: for<'a> FnOnce(
            &'a dyn Db,
            i64,
            i64,
        ) -> futures::future::LocalBoxFuture<'a, Result<Vec<T>, StoreError>>
        + Send
        + 'static,
{
    let items = with_db(gw, move |db| {
        Box::pin(async move {
            if catalog::get_terminal(db, id).await?.is_none() {
                return Ok(None);
            }
            list(db, id, limit).await.map(Some)
        })
    })
    .await?;
    found(items, "terminal")
}

/// A terminal's device messages (`message` uploads), newest first.
#[utoipa::path(tag = "uploads", params(UploadQuery), security(("bearer" = [])), responses(
    (status = 200, body = Vec<DeviceNoticeRecord>), (status = 400, body = ErrorBody),
    (status = 404, body = ErrorBody)))]
#[get("/terminals/{id}/notices")]
pub async fn notices(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
    query: web::Query<UploadQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit()?;
    let items = list_of(&gw, id.into_inner(), limit, |db, id, limit| {
        Box::pin(uploads::list_notices(db, id, limit))
    })
    .await?;
    Ok(HttpResponse::Ok().json(items))
}

/// Size of a photo listing, and the photo of one consumption.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PhotoQuery {
    /// How many, newest first: 1-500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// Only the photo of this `imgPath`: the `device_fields.imgPath` of a consumption in
    /// `GET /transactions` names the photo taken with it.
    pub img_path: Option<String>,
}

/// A terminal's photos (`frame_imgup` uploads): metadata, newest first; `img_path` finds the
/// photo of one consumption.
#[utoipa::path(tag = "uploads", params(PhotoQuery), security(("bearer" = [])), responses(
    (status = 200, body = Vec<PhotoRecord>), (status = 400, body = ErrorBody),
    (status = 404, body = ErrorBody)))]
#[get("/terminals/{id}/photos")]
pub async fn photos(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
    query: web::Query<PhotoQuery>,
) -> Result<HttpResponse, ApiError> {
    let PhotoQuery { limit, img_path } = query.into_inner();
    let limit = page_limit(limit)?;
    let items = list_of(&gw, id.into_inner(), limit, move |db, id, limit| {
        Box::pin(async move { uploads::list_photos(db, id, img_path.as_deref(), limit).await })
    })
    .await?;
    Ok(HttpResponse::Ok().json(items))
}

/// A terminal's dish records (`menu_rec` uploads), newest first, each linked to its
/// consumption (`transaction_id`) once that has arrived.
#[utoipa::path(tag = "uploads", params(UploadQuery), security(("bearer" = [])), responses(
    (status = 200, body = Vec<DishRecord>), (status = 400, body = ErrorBody),
    (status = 404, body = ErrorBody)))]
#[get("/terminals/{id}/dish-records")]
pub async fn dish_records(
    gw: web::Data<Gateway>,
    id: web::Path<i64>,
    query: web::Query<UploadQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit()?;
    let items = list_of(&gw, id.into_inner(), limit, |db, id, limit| {
        Box::pin(uploads::list_dish_records(db, id, limit))
    })
    .await?;
    Ok(HttpResponse::Ok().json(items))
}

/// The content type of a stored photo file: PNG when its name says so, JPEG otherwise.
pub fn photo_content_type(file_path: &str) -> &'static str {
    if file_path.to_ascii_lowercase().ends_with(".png") {
        "image/png"
    } else {
        "image/jpeg"
    }
}

/// The image bytes of one photo of a terminal.
#[utoipa::path(tag = "uploads", security(("bearer" = [])), responses(
    (status = 200, description = "the image (image/jpeg, or image/png when its name ends in .png)",
        content((Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"))),
    (status = 404, body = ErrorBody)))]
#[get("/terminals/{id}/photos/{photo_id}/content")]
pub async fn photo_content(
    gw: web::Data<Gateway>,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (id, photo_id) = path.into_inner();
    let photo = with_db(&gw, move |db| {
        Box::pin(async move { uploads::photo_content(db, id, photo_id).await })
    })
    .await?;
    let (name, content) = found(photo, "photo")?;
    let bytes = match content {
        Some(bytes) => bytes,
        None => legacy_photo_file(&gw.config.mqtt.photo_dir, photo_id, &name).await?,
    };
    Ok(HttpResponse::Ok()
        .content_type(photo_content_type(&name))
        .body(bytes))
}

/// The image of a photo stored before images moved into the database: the file `name`
/// under `mqtt.photo_dir` (the stored name is re-checked: it must stay inside that directory).
async fn legacy_photo_file(dir: &str, photo_id: i64, name: &str) -> Result<Vec<u8>, ApiError> {
    let file = uploads::photo_file(std::path::Path::new(dir), name)
        .filter(|_| !dir.is_empty())
        .ok_or_else(|| {
            tracing::warn!(photo = photo_id, "stored photo path refused");
            ApiError::not_found("photo file")
        })?;
    web::block(move || std::fs::read(file))
        .await
        .map_err(|_| ApiError::unavailable("unavailable", "photo read failed"))?
        .map_err(|e| {
            tracing::warn!(photo = photo_id, error = %e, "photo file unreadable");
            ApiError::not_found("photo file")
        })
}
