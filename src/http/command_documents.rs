//! `GET /mqtt/v1/commands/{token}`: where devices pull commands too large for MQTT
//! (`cmdDataUrl`). No bearer token: the URL's 256-bit random token is the credential; it is
//! stored only as its SHA-256. A device whose download failed may retry: a document is
//! served up to `COMMAND_DOCUMENT_FETCHES_MAX` times, until its command is acknowledged, and
//! never after it expires (`mqtt.command_url_ttl_seconds`).

use crate::app::Gateway;
use crate::http::error::ApiError;
use actix_web::{get, web, HttpResponse};
use posgate_actors::store::{commands, now_ms};

/// Serves a command document (a bounded number of times, until acknowledged or expired).
#[get("/mqtt/v1/commands/{token}")]
pub async fn fetch(
    gw: web::Data<Gateway>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let token = token.into_inner();
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::not_found("command document"));
    }
    let digest = crate::secret::sha256_hex(&token);
    let body = gw
        .store
        .transaction(move |db| {
            Box::pin(async move { commands::fetch_document(db, &digest, now_ms()).await })
        })
        .await?;
    match body {
        Some(body) => Ok(HttpResponse::Ok()
            .content_type("application/json")
            .body(body)),
        None => Err(ApiError::not_found("command document")),
    }
}
