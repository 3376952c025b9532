//! The HTTP server: admin API, operations endpoints, and (in later modules) the device
//! protocols that arrive over HTTP. Every request is counted and timed per protocol and
//! route pattern.

pub mod admin;
pub mod audit;
pub mod auth;
pub mod card_probes;
pub mod command_documents;
pub mod ds50;
pub mod error;
pub mod health;
pub mod jpos;
pub mod json;
pub mod ktv;
pub mod limits;
pub mod openapi;
pub mod pospal;

use crate::config::Config;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, Error};
use std::time::Instant;

/// Registers every route; device endpoints whose paths are settings go where `config` says.
pub fn configure(cfg: &mut web::ServiceConfig, config: &Config) {
    cfg.app_data(
        web::PathConfig::default()
            .error_handler(|e, _| error::ApiError::invalid_path("path", e.to_string()).into()),
    )
    .app_data(
        web::QueryConfig::default()
            .error_handler(|e, _| error::ApiError::invalid_query("query", e.to_string()).into()),
    )
    .app_data(
        web::JsonConfig::default()
            .error_handler(|e, _| error::ApiError::invalid("body", e.to_string()).into()),
    )
    .service(health::healthz)
    .service(health::readyz)
    .service(health::metrics)
    .service(openapi::openapi_json)
    .service(command_documents::fetch)
    .configure(|cfg| ds50::configure(cfg, &config.ds50))
    .configure(|cfg| pospal::configure(cfg, &config.pospal))
    .configure(|cfg| ktv::configure(cfg, &config.ktv.upload_path))
    .configure(jpos::configure)
    .configure(admin::configure)
    .configure(crate::console::configure)
    .default_service(web::to(not_found));
}

/// No route matched: 405 with `Allow` when the path is documented with other methods,
/// else 404; both with the ErrorBody.
async fn not_found(req: actix_web::HttpRequest) -> actix_web::HttpResponse {
    use actix_web::ResponseError;
    match openapi::allowed_methods(req.path()) {
        Some(allow) => {
            let mut response =
                error::ApiError::method_not_allowed(req.method().as_str()).error_response();
            if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&allow) {
                response
                    .headers_mut()
                    .insert(actix_web::http::header::ALLOW, value);
            }
            response
        }
        None => error::ApiError::not_found("route").error_response(),
    }
}

/// The protocol label of a path (a bounded set): the configured device paths first, then
/// the first path segment.
fn protocol_of(path: &str, config: Option<&Config>) -> &'static str {
    if let Some(c) = config {
        if path == c.ds50.sale_path || path == c.ds50.details_path {
            return "ds50";
        }
        if path == c.pospal.notify_path {
            return "pospal";
        }
        if path
            .strip_prefix(c.ktv.upload_path.trim_end_matches('/'))
            .is_some_and(|rest| rest.starts_with('/'))
        {
            return "ktv";
        }
    }
    match path.split('/').nth(1).unwrap_or("") {
        "admin" => "admin",
        "v1" => "jpos",
        "ds50" => "ds50",
        "pospal" => "pospal",
        "gateway" => "ktv",
        "mqtt" => "mqtt",
        "healthz" | "readyz" | "metrics" | "openapi.json" => "operations",
        "console" => "console",
        _ => "other",
    }
}

/// Middleware: `posgate_http_requests_total` and `posgate_http_request_duration_seconds` by
/// protocol and route pattern (never the raw path, so labels stay bounded).
pub async fn record_metrics(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let config = req
        .app_data::<web::Data<crate::app::Gateway>>()
        .map(|gw| &gw.config);
    let protocol = protocol_of(req.path(), config);
    let endpoint = req.match_pattern().unwrap_or_else(|| "unmatched".into());
    let result = next.call(req).await;
    let status = match &result {
        Ok(res) => res.status().as_u16().to_string(),
        Err(e) => e.as_response_error().status_code().as_u16().to_string(),
    };
    metrics::counter!("posgate_http_requests_total",
        "protocol" => protocol, "endpoint" => endpoint.clone(), "status" => status)
    .increment(1);
    metrics::histogram!("posgate_http_request_duration_seconds",
        "protocol" => protocol, "endpoint" => endpoint)
    .record(started.elapsed().as_secs_f64());
    result
}
