//! The OpenAPI document of the admin and operations endpoints, served at `/openapi.json`.

use super::admin::{
    accounts, audit_log, capabilities, card_pins, commands, credentials, ds50, dto, exceptions,
    intake, jpos, ktv, merchants, overview, pospal, terminals, transactions, uploads, venues,
};
use super::error::ErrorBody;
use super::health;
use crate::console::session;
use actix_web::{get, HttpResponse};
use serde_json::{json, Value};
use std::sync::OnceLock;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                session::SESSION_COOKIE,
                "a console session (POST /console/session); requests that are not reads \
                 also carry its X-CSRF-Token header",
            ))),
        );
    }
}

/// The admin API description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "posgate admin API",
        description = "Merchants, groups, terminals, accounts, cards, credits and debits, \
            transactions and the ledger audit, the admin audit log. Every /admin route needs \
            `Authorization: Bearer <token>` or a console session cookie (with `X-CSRF-Token` on \
            requests that are not reads). \
            Amounts are integer minor units (fen; units for copies and points).",
    ),
    paths(
        overview::get,
        merchants::list, merchants::create, merchants::get, merchants::update,
        merchants::create_group, merchants::get_group, merchants::update_group,
        terminals::list_of_merchant, terminals::create, terminals::get, terminals::update,
        capabilities::list, capabilities::grant, capabilities::revoke,
        exceptions::list, exceptions::get, exceptions::book, exceptions::write_off,
        commands::send, commands::send_to_merchant, commands::list,
        ds50::posparam, ds50::merchant_key, ds50::revoke_device_keys,
        ds50::revoke_merchant_keys, ds50::broadcast, ds50::broadcast_to_merchant,
        jpos::set_rules, jpos::get_rules, jpos::batch, jpos::master,
        jpos::transactions, jpos::pending, jpos::settlements, jpos::settlement,
        jpos::issue_tickets, jpos::list_tickets,
        accounts::list, accounts::create, accounts::get, accounts::update, accounts::add_card,
        accounts::credit, accounts::debit, accounts::balances, card_pins::set,
        transactions::list, transactions::audit, transactions::cancel, transactions::refund,
        venues::list, venues::create, venues::get,
        pospal::put_app, pospal::apps, pospal::events, pospal::mismatches, pospal::documents,
        pospal::resolve_mismatch, pospal::ticket_totals,
        intake::list, intake::get, intake::replay, intake::list_refused, intake::recheck,
        ktv::set_settings, ktv::overview, ktv::bills, ktv::notices, ktv::wj091, ktv::backfill,
        ktv::completeness, ktv::backfill_attempts, ktv::bill, ktv::report, ktv::report_csv,
        ktv::events, ktv::member_income, ktv::set_status,
        uploads::notices, uploads::photos, uploads::photo_content, uploads::dish_records,
        audit_log::list,
        credentials::list, credentials::create, credentials::rotate, credentials::revoke,
        session::login, session::current, session::logout,
        health::healthz, health::readyz, health::metrics,
    ),
    components(schemas(
        ErrorBody, dto::OutcomeView, dto::AccountView, transactions::TransactionPage,
        posgate_actors::ledger::Asset, posgate_actors::ledger::Balances,
    )),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

/// The OpenAPI document as JSON.
#[get("/openapi.json")]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(document())
}

/// Where the admin routes live; the operations routes (`/healthz`, `/readyz`, `/metrics`)
/// and the console's session are at the root, so the document's one server is `/` and its
/// paths are absolute.
pub const ADMIN_PREFIX: &str = "/admin/v1";

const ROOT_PATHS: [&str; 4] = ["/healthz", "/readyz", "/metrics", "/console/session"];

/// The served document: utoipa's description made absolute (admin paths under
/// [`ADMIN_PREFIX`]), tuples as bounded arrays, and on every admin operation the refusals
/// any of them can answer (ErrorBody) and the bearer requirement.
pub fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
        rebase_paths(&mut doc);
        tuples_as_bounded_arrays(&mut doc);
        merge_flattened(&mut doc);
        closed_variants(&mut doc);
        unique_operation_ids(&mut doc);
        if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
            for (path, item) in paths.iter_mut() {
                if path.starts_with(ADMIN_PREFIX) {
                    admin_refusals(item);
                    path_parameter_rules(item);
                }
            }
        }
        for (collection, field, targets) in CREATED {
            link_created(&mut doc, collection, field, targets);
        }
        doc
    })
}

/// The methods the document declares for `path` (templates match any one segment), in
/// the form of an `Allow` header; `None` when no documented path matches.
pub fn allowed_methods(path: &str) -> Option<String> {
    let paths = document().get("paths")?.as_object()?;
    let segments: Vec<&str> = path.split('/').collect();
    let item = paths.iter().find_map(|(template, item)| {
        let parts: Vec<&str> = template.split('/').collect();
        let same = parts.len() == segments.len()
            && parts.iter().zip(&segments).all(|(p, s)| {
                *p == *s || (p.starts_with('{') && p.ends_with('}') && !s.is_empty())
            });
        same.then_some(item)
    })?;
    let methods: Vec<String> = item
        .as_object()?
        .keys()
        .filter(|k| HTTP_METHODS.contains(&k.as_str()))
        .map(|k| k.to_uppercase())
        .collect();
    Some(methods.join(", "))
}

const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// What a creating operation (`POST` of a collection, 201) makes: the field of its answer
/// that identifies it, and the path prefixes whose parameter of that name it fills.
const CREATED: [(&str, &str, &[&str]); 6] = [
    (
        "/admin/v1/credentials",
        "id",
        &["/admin/v1/credentials/{id}"],
    ),
    (
        "/admin/v1/merchants",
        "id",
        &["/admin/v1/merchants/{id}", "/admin/v1/jpos/merchants/{id}"],
    ),
    ("/admin/v1/groups", "id", &["/admin/v1/groups/{id}"]),
    (
        "/admin/v1/terminals",
        "id",
        &["/admin/v1/terminals/{id}", "/admin/v1/jpos/terminals/{id}"],
    ),
    (
        "/admin/v1/accounts",
        "id",
        &["/admin/v1/accounts/{id}", "/admin/v1/jpos/accounts/{id}"],
    ),
    (
        "/admin/v1/venues",
        "companycode",
        &["/admin/v1/venues/{companycode}"],
    ),
];

/// Links the 201 answer of `POST collection` to every operation under `targets`: its
/// `field` is their path parameter of the same name.
fn link_created(doc: &mut Value, collection: &str, field: &str, targets: &[&str]) {
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return;
    };
    let mut links = serde_json::Map::new();
    for (path, item) in paths {
        let under = targets
            .iter()
            .any(|t| path == t || path.starts_with(&format!("{t}/")));
        if !under {
            continue;
        }
        for (method, operation) in item.as_object().into_iter().flatten() {
            if let Some(id) = operation["operationId"].as_str() {
                links.insert(
                    id.to_string(),
                    json!({
                        "operationId": id,
                        "parameters": {field: format!("$response.body#/{field}")},
                        "description": format!("{} {path} of the created resource", method.to_uppercase()),
                    }),
                );
            }
        }
    }
    if let Some(created) = doc.pointer_mut(&format!(
        "/paths/{}/post/responses/201",
        collection.replace('/', "~1")
    )) {
        created["links"] = Value::Object(links);
    }
}

/// Enums read with `deny_unknown_fields` whose variants utoipa leaves open to any other
/// field.
const CLOSED_ENUMS: [&str; 1] = ["CommandBody"];

/// Closes the variants of [`CLOSED_ENUMS`]: serde refuses a field a variant does not name.
fn closed_variants(doc: &mut Value) {
    for name in CLOSED_ENUMS {
        let pointer = format!("/components/schemas/{name}/oneOf");
        let Some(variants) = doc.pointer_mut(&pointer).and_then(Value::as_array_mut) else {
            continue;
        };
        for variant in variants {
            variant["additionalProperties"] = Value::Bool(false);
        }
    }
}

/// utoipa names an operation after its handler (`create`, `get`, `list`...), which several
/// modules share: prefix every id with the operation's tag, making them unique as links need.
fn unique_operation_ids(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for operation in paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|i| i.values_mut())
    {
        let tag = operation["tags"][0]
            .as_str()
            .unwrap_or("operations")
            .to_string();
        if let Some(id) = operation["operationId"].as_str() {
            operation["operationId"] = json!(format!("{tag}_{id}"));
        }
    }
}

fn rebase_paths(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    let rebased: serde_json::Map<String, Value> = std::mem::take(paths)
        .into_iter()
        .map(|(path, item)| {
            if ROOT_PATHS.contains(&path.as_str()) {
                (path, item)
            } else {
                (format!("{ADMIN_PREFIX}{path}"), item)
            }
        })
        .collect();
    *paths = rebased;
    doc["servers"] = json!([{"url": "/", "description": "admin routes under /admin/v1, \
        operations routes (/healthz, /readyz, /metrics) and the console session at the root"}]);
}

/// utoipa renders a Rust tuple as `prefixItems` with `items: false`, which schemathesis
/// rewrites into a draft-4 `items` array and then refuses as an invalid Schema Object: state
/// it as an array of exactly that many items, each one of the tuple's item schemas (the
/// order is in the field's description).
fn tuples_as_bounded_arrays(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(items)) = map.remove("prefixItems") {
                map.insert("minItems".into(), json!(items.len()));
                map.insert("maxItems".into(), json!(items.len()));
                let mut distinct: Vec<Value> = Vec::new();
                for item in items {
                    if !distinct.contains(&item) {
                        distinct.push(item);
                    }
                }
                map.insert("items".into(), json!({ "anyOf": distinct }));
            }
            map.values_mut().for_each(tuples_as_bounded_arrays);
        }
        Value::Array(items) => items.iter_mut().for_each(tuples_as_bounded_arrays),
        _ => {}
    }
}

/// A struct with a `#[serde(flatten)]` field is rendered as an `allOf` of its own object
/// and the flattened one, whose `additionalProperties: false` refuses the other's fields:
/// no value satisfies both. Serde reads them as one object, so the document says so: the
/// parts' properties and required fields merged, unknown fields refused.
fn merge_flattened(doc: &mut Value) {
    let Some(schemas) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .cloned()
    else {
        return;
    };
    for (name, schema) in &schemas {
        let Some(parts) = schema.get("allOf").and_then(Value::as_array) else {
            continue;
        };
        let mut properties = serde_json::Map::new();
        let mut required: Vec<Value> = Vec::new();
        for part in parts {
            let part = match part.get("$ref").and_then(Value::as_str) {
                Some(r) => &schemas[r.trim_start_matches("#/components/schemas/")],
                None => part,
            };
            if let Some(p) = part.get("properties").and_then(Value::as_object) {
                properties.extend(p.clone());
            }
            if let Some(r) = part.get("required").and_then(Value::as_array) {
                required.extend(r.iter().cloned());
            }
        }
        doc["components"]["schemas"][name] = json!({
            "type": "object",
            "description": schema.get("description").cloned().unwrap_or_default(),
            "properties": properties,
            "required": required,
            "additionalProperties": false,
        });
    }
}

/// Adds to every operation of an admin path item the refusals the admin layer can answer
/// whatever the handler: 401 (token), 404 (an id or parent that does not exist), 503
/// (database unavailable, busy, shutting down); 400 when it takes parameters or a body;
/// 409 for writes; 413 and 415 with a body. Statuses already documented are kept.
fn admin_refusals(item: &mut Value) {
    let Some(item) = item.as_object_mut() else {
        return;
    };
    let shared_parameters = item.get("parameters").is_some();
    for (method, operation) in item.iter_mut() {
        if !HTTP_METHODS.contains(&method.as_str()) {
            continue;
        }
        let has_body = operation.get("requestBody").is_some();
        let has_parameters = shared_parameters
            || operation
                .get("parameters")
                .and_then(Value::as_array)
                .is_some_and(|p| !p.is_empty());
        let mut statuses = vec![
            (
                "401",
                "missing or invalid bearer token or console session (`unauthorized`)",
            ),
            ("404", "a referenced resource does not exist (`not_found`)"),
            (
                "503",
                "database unavailable, busy or shutting down; retry after `Retry-After`",
            ),
        ];
        if has_parameters || has_body {
            statuses.push(("400", "an invalid parameter or body; `field` names it"));
        }
        statuses.push((
            "429",
            "the principal went over admin.requests_per_minute (`rate_limited`); retry after `Retry-After`",
        ));
        statuses.push((
            "403",
            "the principal's role does not permit it (`forbidden`), or a console session's \
             change came without its X-CSRF-Token (`csrf_mismatch`)",
        ));
        if method != "get" {
            statuses.push(("409", "conflicts with the current state (`conflict`)"));
        }
        if has_body {
            statuses.push(("413", "body larger than http.request_body_bytes_max"));
            statuses.push(("415", "content type is not application/json"));
        }
        let responses = &mut operation["responses"];
        for (status, description) in statuses {
            if responses.get(status).is_none() {
                responses[status] = error_response(description);
            }
        }
        operation["security"] = json!([{"bearer": []}, {"session": []}]);
    }
}

/// What the text path parameters must be, by name (actix infers only their type): a venue
/// code as the KTV protocol reads it, a Pospal appId as the admin API stores it.
fn path_parameter_rules(item: &mut Value) {
    let Some(item) = item.as_object_mut() else {
        return;
    };
    for operation in item.values_mut() {
        let Some(parameters) = operation
            .get_mut("parameters")
            .and_then(Value::as_array_mut)
        else {
            continue;
        };
        for parameter in parameters {
            let pattern = match parameter["name"].as_str() {
                Some("companycode") => "^[A-Za-z0-9_-]{1,32}$",
                Some("app_id") => "^[!-~]{1,128}$",
                _ => continue,
            };
            if parameter["in"] == "path" {
                parameter["schema"] = json!({"type": "string", "pattern": pattern});
            }
        }
    }
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    })
}
