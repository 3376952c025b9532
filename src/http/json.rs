//! `ValidJson<T>`: a JSON body extractor that names the field at fault.
//!
//! The body must be `application/json`, at most `http.request_body_bytes_max` bytes, parse
//! into `T` (serde_path_to_error gives the path of the failing field), and pass
//! [`Validate`]. Each failure is an [`ApiError`] with the field named.

use super::error::ApiError;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use futures::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

/// Semantic checks after parsing (ranges, formats).
pub trait Validate {
    /// `Err` names the first invalid field.
    fn validate(&self) -> Result<(), ApiError>;
}

/// A parsed and validated JSON body.
pub struct ValidJson<T>(pub T);

/// The body size limit, stored as app data by the server.
#[derive(Clone, Copy)]
pub struct BodyLimit(pub usize);

/// Parses `bytes` as `T`, naming the failing field.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let mut path = e.path().to_string();
        let message = e.inner().to_string();
        // A missing field is reported at its parent: name the field itself.
        if let Some(name) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            path = if path == "." {
                name.to_string()
            } else {
                format!("{path}.{name}")
            };
        }
        if path == "." || path == "?" {
            path = "body".into();
        }
        ApiError::invalid(path, message)
    })
}

impl<T: DeserializeOwned + Validate + 'static> FromRequest for ValidJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req.app_data::<BodyLimit>().map_or(256 * 1024, |l| l.0);
        let json = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|m| m.trim() == "application/json")
            });
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !json {
                return Err(ApiError::unsupported_media_type("application/json"));
            }
            let bytes = body.await.map_err(|_| ApiError::too_large(limit))?;
            if bytes.len() > limit {
                return Err(ApiError::too_large(limit));
            }
            let value: T = parse(&bytes)?;
            value.validate()?;
            Ok(ValidJson(value))
        })
    }
}
