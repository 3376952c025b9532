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

/// Parses `bytes`, a JSON object, as `T`, naming the failing field. A number with a zero
/// fraction (`107.0`) is the integer it equals (JSON Schema's `integer` admits it).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| ApiError::invalid("body", e.to_string()))?;
    if !value.is_object() {
        // Serde would read a struct from an array of its fields in order: refuse it.
        return Err(ApiError::invalid("body", "must be a JSON object"));
    }
    integral_floats_as_integers(&mut value);
    serde_path_to_error::deserialize(value).map_err(|e| {
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

/// Largest float magnitude that converts to an `i64` exactly (2^63).
const I64_FLOAT_BOUND: f64 = 9_223_372_036_854_775_808.0;

fn integral_floats_as_integers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64() {
                if f.fract() == 0.0 && f.abs() < I64_FLOAT_BOUND {
                    // In range and integral: the cast is exact.
                    *value = serde_json::Value::from(f as i64);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        serde_json::Value::Object(map) => map.values_mut().for_each(integral_floats_as_integers),
        _ => {}
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Body {
        amount: i64,
        #[serde(default)]
        items: Vec<i64>,
    }

    #[test]
    fn integral_floats_are_integers_and_fractions_are_refused() {
        let body: Body = parse(br#"{"amount": 107.0, "items": [1.0, 2]}"#).unwrap();
        assert_eq!(
            body,
            Body {
                amount: 107,
                items: vec![1, 2]
            }
        );
        let refused = parse::<Body>(br#"{"amount": 107.5}"#).unwrap_err();
        assert_eq!(refused.field.as_deref(), Some("amount"));
        let huge = parse::<Body>(br#"{"amount": 1e30}"#).unwrap_err();
        assert_eq!(huge.field.as_deref(), Some("amount"));
    }

    #[test]
    fn a_body_is_an_object() {
        let refused = parse::<Body>(b"[5, []]").unwrap_err();
        assert_eq!(refused.field.as_deref(), Some("body"));
        assert_eq!(refused.message, "must be a JSON object");
        let missing = parse::<Body>(b"{}").unwrap_err();
        assert_eq!(missing.field.as_deref(), Some("amount"));
    }
}
