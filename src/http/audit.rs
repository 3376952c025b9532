//! The admin audit log's recorder: a middleware that writes one row per request that is
//! not a read (who, how authenticated, which route, on what path, with what status, and the
//! JSON body with its secrets masked) once the handler has answered. Reads are not recorded.

use crate::app::Gateway;
use crate::http::auth::Principal;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage};
use posgate_actors::store::admin_audit::{self, AuditEntry, AuditVia};
use serde_json::Value;

/// Longest body kept in an audit row, bytes of JSON (longer ones are cut, marked).
const BODY_KEPT_BYTES: usize = 8 * 1024;
/// What replaces a secret's value.
const MASK: &str = "***";

/// Middleware: records every request that is not a read, after its answer.
pub async fn record_changes(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if req.method().is_safe() {
        return next.call(req).await;
    }
    let bytes = req.extract::<web::Bytes>().await?;
    req.set_payload(actix_web::dev::Payload::from(bytes.clone()));
    let (method, path) = (req.method().to_string(), req.path().to_string());
    let route = req.match_pattern().unwrap_or_else(|| path.clone());
    let gw = req.app_data::<web::Data<Gateway>>().cloned();
    let before = req.extensions().get::<Principal>().cloned();
    let result = next.call(req).await;
    // A refusal of an inner middleware (the role check) is an error, not a response.
    let (status, principal) = match &result {
        Ok(res) => (
            res.status(),
            res.request().extensions().get::<Principal>().cloned(),
        ),
        Err(e) => (e.as_response_error().status_code(), before),
    };
    let entry = AuditEntry {
        id: 0,
        at_ms: posgate_actors::store::now_ms(),
        principal: principal
            .as_ref()
            .map_or("anonymous".into(), |p| p.name.clone()),
        role: principal
            .as_ref()
            .map_or("none", |p| p.role.as_str())
            .into(),
        via: principal.map_or(AuditVia::Login, |p| p.via),
        method,
        route,
        path,
        status: i64::from(status.as_u16()),
        body: masked_body(&bytes),
    };
    if let Some(gw) = gw {
        store(&gw, entry).await;
    }
    result
}

/// Writes `entry`; a failure is logged and counted, the answer already given stands.
async fn store(gw: &Gateway, entry: AuditEntry) {
    let route = entry.route.clone();
    let result = gw
        .store
        .transaction(move |db| Box::pin(async move { admin_audit::record(db, &entry).await }))
        .await;
    if let Err(e) = result {
        metrics::counter!("posgate_admin_audit_failures_total").increment(1);
        tracing::error!(error = %e, route, "admin audit: the change was made but its record was not written");
    }
}

/// The body as stored: its JSON with every secret masked (cut at [`BODY_KEPT_BYTES`]),
/// `None` when empty, a note of its size when it is not JSON.
pub fn masked_body(bytes: &[u8]) -> Option<String> {
    if bytes.is_empty() {
        return None;
    }
    let Ok(mut value) = serde_json::from_slice::<Value>(bytes) else {
        return Some(format!("({} bytes, not JSON)", bytes.len()));
    };
    mask_secrets(&mut value);
    let mut text = value.to_string();
    if text.len() > BODY_KEPT_BYTES {
        let cut = (0..=BODY_KEPT_BYTES)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        text.truncate(cut);
        text.push_str("…(cut)");
    }
    Some(text)
}

/// Replaces, at any depth, the value of every member whose name says it holds a secret or
/// card data.
fn mask_secrets(value: &mut Value) {
    match value {
        Value::Object(members) => {
            for (name, member) in members.iter_mut() {
                if is_secret_name(name) {
                    *member = Value::String(MASK.into());
                } else {
                    mask_secrets(member);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_secrets),
        _ => {}
    }
}

/// Names of members holding secrets or card data (`token`, `app_key`, `password`, `pan`,
/// `card_number`, `track2`, `pin`...), compared without case, `-` and `_`; the idempotency
/// key is not one, nor a name that merely contains such letters (`companycode`).
fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase().replace(['-', '_'], "");
    if n == "idempotencykey" {
        return false;
    }
    ["token", "secret", "password", "passwd"]
        .iter()
        .any(|s| n.contains(s))
        || ["key", "pin", "pan", "pinblock", "cvv", "cvv2"]
            .iter()
            .any(|s| n.ends_with(s))
        || ["track", "cardno", "cardnumber", "emv"]
            .iter()
            .any(|s| n.starts_with(s))
        || n == "card"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_at_any_depth() {
        let body = br#"{"token":"t0p","idempotency_key":"k1","amount":5,
            "apps":[{"app_key":"abc","name":"x"}],"card":{"pan":"6222020000000001"},
            "masterKey":"00112233","password":"p","track2":"622;"}"#;
        let stored = masked_body(body).expect("stored");
        for secret in ["t0p", "abc", "6222020000000001", "00112233", "622;"] {
            assert!(!stored.contains(secret), "{secret} leaked in {stored}");
        }
        assert!(stored.contains("\"idempotency_key\":\"k1\""), "{stored}");
        assert!(stored.contains("\"amount\":5") && stored.contains("\"name\":\"x\""));
        let venue = masked_body(br#"{"companycode":"V1","company":"c"}"#).expect("stored");
        assert_eq!(
            venue, r#"{"company":"c","companycode":"V1"}"#,
            "a code is no PAN"
        );
    }

    #[test]
    fn bodies_that_are_empty_long_or_not_json() {
        assert_eq!(masked_body(b""), None);
        assert_eq!(
            masked_body(b"\xff\x00").as_deref(),
            Some("(2 bytes, not JSON)")
        );
        let long = format!("{{\"note\":\"{}\"}}", "汉".repeat(5000));
        let stored = masked_body(long.as_bytes()).expect("stored");
        assert!(stored.ends_with("…(cut)") && stored.len() <= BODY_KEPT_BYTES + 10);
    }
}
