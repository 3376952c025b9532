//! The console's files (`src/console/assets/`), embedded in the binary at build time: no CDN,
//! no separate server, nothing fetched from elsewhere. Every answer carries a strict content
//! security policy (only this origin's scripts, styles and requests; no framing) and an
//! ETag, so browsers revalidate instead of downloading again.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{get, web, HttpRequest, HttpResponse};
use rust_embed::RustEmbed;

/// The embedded files.
#[derive(RustEmbed)]
#[folder = "src/console/assets/"]
struct Assets;

/// The policy every console answer carries.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// `/console` sends the browser to `/console/`, where the page's relative links resolve.
#[get("/console")]
pub async fn root() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/console/"))
        .finish()
}

/// The console's page.
#[get("/console/")]
pub async fn index(req: HttpRequest) -> HttpResponse {
    serve(&req, "index.html")
}

/// One of the console's files.
#[get("/console/assets/{name:.+}")]
pub async fn asset(req: HttpRequest, name: web::Path<String>) -> HttpResponse {
    serve(&req, &name)
}

/// Answers the embedded file `name` (404 when there is none; 304 when the browser's copy,
/// named by `If-None-Match`, is current).
fn serve(req: &HttpRequest, name: &str) -> HttpResponse {
    let Some(file) = Assets::get(name) else {
        return actix_web::ResponseError::error_response(&crate::http::error::ApiError::not_found(
            "console file",
        ));
    };
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..12]));
    let mut response = if if_none_match(req, &etag) {
        HttpResponse::NotModified().finish()
    } else {
        HttpResponse::Ok()
            .content_type(file.metadata.mimetype())
            .body(file.data.into_owned())
    };
    let headers = response.headers_mut();
    for (name, value) in [
        (header::ETAG, etag.as_str()),
        (header::CACHE_CONTROL, "no-cache"),
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    response
}

fn if_none_match(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
}

/// The names of the embedded files.
pub fn names() -> impl Iterator<Item = String> {
    Assets::iter().map(|n| n.into_owned())
}
