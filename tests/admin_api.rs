//! The admin API over real HTTP: authentication, validation naming the field, the happy
//! path of every resource, idempotent credits and debits, paging, the OpenAPI document, and
//! the operations endpoints. Runs on SQLite, and on PostgreSQL when it is reachable.

mod common;

use common::{config, Admin, TOKEN};
use posgate_actors::testing;
use serde_json::json;

async fn sqlite_gateway() -> (posgate::app::Running, Admin) {
    let running = posgate::app::start(config(None))
        .await
        .expect("start gateway");
    let admin = Admin::new(format!("http://{}", running.addr));
    (running, admin)
}

#[actix_rt::test]
async fn every_admin_route_requires_the_token() {
    let (running, admin) = sqlite_gateway().await;
    let client = common::client();
    for (method, path) in [
        (reqwest::Method::POST, "/admin/v1/merchants"),
        (reqwest::Method::GET, "/admin/v1/merchants/1"),
        (reqwest::Method::PATCH, "/admin/v1/merchants/1"),
        (reqwest::Method::POST, "/admin/v1/groups"),
        (reqwest::Method::POST, "/admin/v1/terminals"),
        (reqwest::Method::POST, "/admin/v1/accounts"),
        (reqwest::Method::GET, "/admin/v1/accounts/1"),
        (reqwest::Method::POST, "/admin/v1/accounts/1/credit"),
        (reqwest::Method::POST, "/admin/v1/accounts/1/debit"),
        (reqwest::Method::GET, "/admin/v1/accounts/1/balances"),
        (reqwest::Method::GET, "/admin/v1/transactions"),
        (reqwest::Method::GET, "/admin/v1/ledger/audit"),
        (reqwest::Method::POST, "/admin/v1/venues"),
    ] {
        let url = format!("{}{path}", admin.base);
        let none = client.request(method.clone(), &url).send().await.unwrap();
        assert_eq!(none.status(), 401, "{method} {path} without token");
        assert_eq!(none.headers()["www-authenticate"], "Bearer");
        let body: serde_json::Value = none.json().await.unwrap();
        assert_eq!(body["error"], "unauthorized");
        let wrong = client
            .request(method.clone(), &url)
            .bearer_auth(format!("{TOKEN}x"))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401, "{method} {path} with a wrong token");
        let basic = client
            .request(method, &url)
            .header("authorization", format!("Basic {TOKEN}"))
            .send()
            .await
            .unwrap();
        assert_eq!(basic.status(), 401);
    }
    running.stop().await;
}

#[actix_rt::test]
async fn bad_input_is_refused_naming_the_field() {
    let (running, admin) = sqlite_gateway().await;
    let m = admin.merchant().await;
    let a = admin.account(m, 1000).await;
    let cases = [
        ("/admin/v1/merchants", json!({"name": "x"}), "code"),
        (
            "/admin/v1/merchants",
            json!({"code": "a b", "name": "x"}),
            "code",
        ),
        (
            "/admin/v1/merchants",
            json!({"code": "", "name": "x"}),
            "code",
        ),
        (
            "/admin/v1/merchants",
            json!({"code": 5, "name": "x"}),
            "code",
        ),
        (
            "/admin/v1/merchants",
            json!({"code": "ok", "name": "x", "extra": 1}),
            "extra",
        ),
        (
            "/admin/v1/groups",
            json!({"merchant_id": m, "name": "g", "discount_percent": 101}),
            "discount_percent",
        ),
        (
            "/admin/v1/groups",
            json!({"merchant_id": m, "name": "g", "single_limit": -1}),
            "single_limit",
        ),
        (
            "/admin/v1/terminals",
            json!({"family": "telex", "code": "1", "merchant_id": m}),
            "family",
        ),
        (
            "/admin/v1/accounts",
            json!({"merchant_id": m, "user_id": "~counter"}),
            "user_id",
        ),
        (
            "/admin/v1/accounts",
            json!({"merchant_id": m, "user_id": "u1", "card_number": "1234"}),
            "card_number",
        ),
        (
            "/admin/v1/accounts",
            json!({"merchant_id": m, "user_id": "u1", "initial_balances": {"cash": -1}}),
            "initial_balances.cash",
        ),
        (
            "/admin/v1/accounts",
            json!({"merchant_id": m, "user_id": "u1", "initial_balances": {"cash": 1.5}}),
            "initial_balances.cash",
        ),
        (
            &format!("/admin/v1/accounts/{a}/credit"),
            json!({"idempotency_key": "k", "amount": 0}),
            "amount",
        ),
        (
            &format!("/admin/v1/accounts/{a}/credit"),
            json!({"idempotency_key": "k", "amount": "12"}),
            "amount",
        ),
        (
            &format!("/admin/v1/accounts/{a}/credit"),
            json!({"idempotency_key": "k", "amount": 1, "asset": "gold"}),
            "asset",
        ),
        (
            &format!("/admin/v1/accounts/{a}/debit"),
            json!({"amount": 1}),
            "idempotency_key",
        ),
        (
            &format!("/admin/v1/accounts/{a}/debit"),
            json!({"idempotency_key": "k", "amount": 10000000000000i64}),
            "amount",
        ),
        (
            &format!("/admin/v1/accounts/{a}/debit"),
            json!({"idempotency_key": "k", "amount": 1, "sources": ["cash", "cash"]}),
            "sources",
        ),
        (
            &format!("/admin/v1/accounts/{a}/debit"),
            json!({"idempotency_key": "k", "amount": 1, "sources": ["copies", "cash"]}),
            "sources",
        ),
    ];
    for (path, body, field) in cases {
        let (status, answer) = admin.post(path, body.clone()).await;
        assert_eq!(status, 400, "{path} {body} -> {answer}");
        assert_eq!(answer["error"], "invalid_body");
        assert_eq!(answer["field"], field, "{path} {body} -> {answer}");
    }
    // Not JSON at all, wrong content type, oversized.
    let url = format!("{}/admin/v1/merchants", admin.base);
    let res = admin
        .http
        .post(&url)
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = admin
        .http
        .post(&url)
        .bearer_auth(TOKEN)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    let huge = format!("{{\"code\":\"x\",\"name\":\"{}\"}}", "y".repeat(300 * 1024));
    let res = admin
        .http
        .post(&url)
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let (status, answer) = admin.get("/admin/v1/transactions?limit=0").await;
    assert_eq!((status, answer["field"].as_str()), (400, Some("limit")));
    // Nothing of the refused requests was posted.
    let (_, balances) = admin.get(&format!("/admin/v1/accounts/{a}/balances")).await;
    assert_eq!(balances["cash"], 1000);
    running.stop().await;
}

async fn happy_path(admin: &Admin) {
    // Merchant, group, terminal.
    let m = admin.merchant().await;
    let (status, merchant) = admin.get(&format!("/admin/v1/merchants/{m}")).await;
    assert_eq!((status, merchant["status"].as_str()), (200, Some("active")));
    let (status, group) = admin
        .post("/admin/v1/groups", json!({"merchant_id": m, "name": "staff", "daily_count_limit": 3, "discount_percent": 90}))
        .await;
    assert_eq!(status, 201, "{group}");
    assert_eq!(group["single_limit"], 0);
    let g = group["id"].as_i64().unwrap();
    let (status, group) = admin
        .patch(
            &format!("/admin/v1/groups/{g}"),
            json!({"single_limit": 2000}),
        )
        .await;
    assert_eq!(
        (
            status,
            group["single_limit"].as_i64(),
            group["discount_percent"].as_i64()
        ),
        (200, Some(2000), Some(90))
    );
    let code = format!("dev{}", rand::random::<u32>());
    let (status, terminal) = admin
        .post(
            "/admin/v1/terminals",
            json!({"family": "mqtt_pos", "code": code, "merchant_id": m, "name": "Window 1"}),
        )
        .await;
    assert_eq!(status, 201, "{terminal}");
    assert!(terminal.get("secrets").is_none());
    let t = terminal["id"].as_i64().unwrap();
    let (status, terminal) = admin
        .patch(
            &format!("/admin/v1/terminals/{t}"),
            json!({"status": "disabled"}),
        )
        .await;
    assert_eq!(
        (status, terminal["status"].as_str()),
        (200, Some("disabled"))
    );
    let (status, _) = admin
        .post(
            "/admin/v1/terminals",
            json!({"family": "mqtt_pos", "code": code, "merchant_id": m}),
        )
        .await;
    assert_eq!(status, 409, "terminal codes are unique per family");

    // Account with a card and opening balances; the PAN is never echoed.
    let pan = format!("62284804{:011}", rand::random::<u32>());
    let (status, account) = admin
        .post(
            "/admin/v1/accounts",
            json!({"merchant_id": m, "user_id": format!("u{}", rand::random::<u32>()), "name": "Li Si",
                   "group_id": g, "card_number": pan, "initial_balances": {"cash": 5000, "subsidy": 300}}),
        )
        .await;
    assert_eq!(status, 201, "{account}");
    assert!(!account.to_string().contains(&pan));
    assert_eq!(
        account["cards"][0]["pan_masked"],
        format!("{}****{}", &pan[..6], &pan[pan.len() - 4..])
    );
    assert_eq!(
        (
            account["balances"]["cash"].as_i64(),
            account["balances"]["subsidy"].as_i64()
        ),
        (Some(5000), Some(300))
    );
    let a = account["id"].as_i64().unwrap();
    let (status, _) = admin
        .post(
            "/admin/v1/accounts",
            json!({"merchant_id": m, "user_id": "x1", "card_number": pan}),
        )
        .await;
    assert_eq!(status, 409, "a card binds to one account");

    // Credit, debit, retry, conflicting retry, refusal.
    let (status, out) = admin
        .post(
            &format!("/admin/v1/accounts/{a}/credit"),
            json!({"idempotency_key": "top-1", "amount": 1000}),
        )
        .await;
    assert_eq!(
        (status, out["balances"]["cash"].as_i64()),
        (201, Some(6000)),
        "{out}"
    );
    let (status, first) = admin
        .post(
            &format!("/admin/v1/accounts/{a}/debit"),
            json!({"idempotency_key": "buy-1", "amount": 2500}),
        )
        .await;
    assert_eq!(
        (
            status,
            first["status"].as_str(),
            first["balances"]["cash"].as_i64()
        ),
        (201, Some("posted"), Some(3500)),
        "{first}"
    );
    let (status, again) = admin
        .post(
            &format!("/admin/v1/accounts/{a}/debit"),
            json!({"idempotency_key": "buy-1", "amount": 2500}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(again["transaction_id"], first["transaction_id"]);
    assert_eq!(again["replayed"], true);
    let (status, other) = admin
        .post(
            &format!("/admin/v1/accounts/{a}/debit"),
            json!({"idempotency_key": "buy-1", "amount": 1}),
        )
        .await;
    assert_eq!(
        (status, other["transaction_id"].clone()),
        (409, first["transaction_id"].clone())
    );
    let (status, refused) = admin
        .post(
            &format!("/admin/v1/accounts/{a}/debit"),
            json!({"idempotency_key": "buy-2", "amount": 999999}),
        )
        .await;
    assert_eq!(
        (status, refused["refusal"].as_str()),
        (422, Some("insufficient"))
    );
    let (status, sub) = admin
        .post(
            &format!("/admin/v1/accounts/{a}/debit"),
            json!({"idempotency_key": "buy-3", "amount": 400, "sources": ["subsidy", "cash"]}),
        )
        .await;
    assert_eq!(
        (
            status,
            sub["balances"]["subsidy"].as_i64(),
            sub["balances"]["cash"].as_i64()
        ),
        (201, Some(0), Some(3400))
    );
    let (_, balances) = admin.get(&format!("/admin/v1/accounts/{a}/balances")).await;
    assert_eq!(
        balances,
        json!({"cash": 3400, "subsidy": 0, "copies": 0, "points": 0, "purse": 0})
    );

    // Freeze: refused with 422; unknown accounts 404.
    let (status, _) = admin
        .patch(
            &format!("/admin/v1/accounts/{a}"),
            json!({"status": "frozen", "group_id": null}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, out) = admin
        .post(
            &format!("/admin/v1/accounts/{a}/debit"),
            json!({"idempotency_key": "buy-4", "amount": 1}),
        )
        .await;
    assert_eq!(
        (status, out["refusal"].as_str()),
        (422, Some("account_frozen"))
    );
    let (status, _) = admin
        .post(
            "/admin/v1/accounts/987654321/debit",
            json!({"idempotency_key": "x", "amount": 1}),
        )
        .await;
    assert_eq!(status, 404);
    // A suspended merchant's accounts are refused.
    admin
        .patch(
            &format!("/admin/v1/accounts/{a}"),
            json!({"status": "active"}),
        )
        .await;
    let (status, _) = admin
        .patch(
            &format!("/admin/v1/merchants/{m}"),
            json!({"status": "suspended"}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = admin
        .post(
            &format!("/admin/v1/accounts/{a}/debit"),
            json!({"idempotency_key": "buy-5", "amount": 1}),
        )
        .await;
    assert_eq!(status, 409);
    admin
        .patch(
            &format!("/admin/v1/merchants/{m}"),
            json!({"status": "active"}),
        )
        .await;

    // Transactions: filtered by account, newest first, paged.
    let (status, page) = admin
        .get(&format!("/admin/v1/transactions?account_id={a}&limit=3"))
        .await;
    assert_eq!(status, 200);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(items[0]["id"].as_i64() > items[1]["id"].as_i64());
    let next = page["next_before_id"].as_i64().unwrap();
    let (_, rest) = admin
        .get(&format!(
            "/admin/v1/transactions?account_id={a}&limit=100&before_id={next}"
        ))
        .await;
    let total = 3 + rest["items"].as_array().unwrap().len();
    // 2 opening credits, top-1, buy-1, buy-2 (refused), buy-3, buy-4 (refused).
    assert_eq!(total, 7);
    assert!(rest["next_before_id"].is_null());
    let (_, none) = admin
        .get(&format!(
            "/admin/v1/transactions?account_id={a}&from_ms=1&to_ms=2"
        ))
        .await;
    assert_eq!(none["items"].as_array().unwrap().len(), 0);

    // Venues.
    let cc = format!("KTV{}", rand::random::<u32>());
    let (status, _) = admin
        .post(
            "/admin/v1/venues",
            json!({"companycode": cc, "merchant_id": m, "name": "Star KTV"}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, venue) = admin.get(&format!("/admin/v1/venues/{cc}")).await;
    assert_eq!((status, venue["merchant_id"].as_i64()), (200, Some(m)));

    // The ledger is balanced.
    let (status, audit) = admin.get("/admin/v1/ledger/audit").await;
    assert_eq!(status, 200);
    assert_eq!(audit["unbalanced"], json!([]));
    assert_eq!(audit["balance_mismatches"], json!([]));
}

#[actix_rt::test]
async fn happy_path_on_sqlite() {
    let (running, admin) = sqlite_gateway().await;
    happy_path(&admin).await;
    running.stop().await;
}

#[actix_rt::test]
async fn happy_path_on_postgres() {
    let Some(url) = testing::scratch_pg_url() else {
        return;
    };
    let running = posgate::app::start(config(Some(url)))
        .await
        .expect("start gateway");
    let admin = Admin::new(format!("http://{}", running.addr));
    happy_path(&admin).await;
    running.stop().await;
}

#[actix_rt::test]
async fn operations_endpoints_and_openapi() {
    let (running, admin) = sqlite_gateway().await;
    let client = common::client();
    let health = client
        .get(format!("{}/healthz", admin.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let ready: serde_json::Value = client
        .get(format!("{}/readyz", admin.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["database"], "sqlite");
    // Some traffic, then the metrics that describe it.
    let m = admin.merchant().await;
    admin.account(m, 100).await;
    let metrics = client
        .get(format!("{}/metrics", admin.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "posgate_http_requests_total",
        "posgate_http_request_duration_seconds_bucket",
        "posgate_accounts_batch_size_bucket",
        "posgate_accounts_commit_seconds_bucket",
        "posgate_live_actors",
    ] {
        assert!(metrics.contains(name), "metrics lack {name}");
    }
    assert!(metrics.contains("endpoint=\"/admin/v1/accounts\""));
    let doc: serde_json::Value = client
        .get(format!("{}/openapi.json", admin.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/admin/v1/merchants",
        "/admin/v1/accounts/{id}/debit",
        "/admin/v1/transactions",
        "/admin/v1/ledger/audit",
        "/healthz",
    ] {
        assert!(doc["paths"].get(path).is_some(), "OpenAPI lacks {path}");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    let missing = client
        .get(format!("{}/nowhere", admin.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    running.stop().await;
}

/// Sends `method path` with the admin token; the status, the `Allow` header and the JSON body
/// (every refusal is JSON).
async fn raw(admin: &Admin, method: &str, path: &str) -> (u16, String, serde_json::Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let res = common::client()
        .request(method, format!("{}{path}", admin.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let allow = res
        .headers()
        .get("allow")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "{path}: not JSON"
    );
    (status, allow, res.json().await.unwrap())
}

#[actix_rt::test]
async fn refusals_are_json_and_wrong_methods_answer_405_with_allow() {
    let (running, admin) = sqlite_gateway().await;
    let (status, _, body) = raw(&admin, "GET", "/admin/v1/merchants/abc").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_path"))
    );
    let (status, _, body) = raw(&admin, "GET", "/admin/v1/transactions?limit=x").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_query"))
    );
    let (status, allow, body) = raw(&admin, "DELETE", "/admin/v1/merchants/1").await;
    assert_eq!(status, 405);
    assert_eq!(body["error"], "method_not_allowed");
    let mut methods: Vec<&str> = allow.split(", ").collect();
    methods.sort_unstable();
    assert_eq!(methods, ["GET", "PATCH"]);
    let (status, allow, _) = raw(&admin, "POST", "/healthz").await;
    assert_eq!((status, allow.as_str()), (405, "GET"));
    let array = common::client()
        .post(format!("{}/admin/v1/merchants", admin.base))
        .bearer_auth(TOKEN)
        .json(&json!(["m1", "Merchant"]))
        .send()
        .await
        .unwrap();
    assert_eq!(array.status(), 400);
    let (status, allow, body) = raw(&admin, "GET", "/admin/v1/nowhere/1").await;
    assert_eq!((status, allow.as_str()), (404, ""));
    assert_eq!(body["error"], "not_found");
    running.stop().await;
}

#[actix_rt::test]
async fn openapi_document_is_absolute_and_documents_refusals() {
    let (running, admin) = sqlite_gateway().await;
    let (status, doc) = admin.get("/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(doc["servers"][0]["url"], "/");
    for (path, item) in doc["paths"].as_object().unwrap() {
        let admin_path = path.starts_with("/admin/v1/");
        let root = ["/healthz", "/readyz", "/metrics", "/console/session"];
        assert!(admin_path || root.contains(&path.as_str()), "{path}");
        for (method, operation) in item.as_object().unwrap() {
            let responses = &operation["responses"];
            if admin_path {
                for status in ["401", "404", "503"] {
                    assert!(responses.get(status).is_some(), "{method} {path}: {status}");
                }
                assert!(operation["security"].is_array(), "{method} {path}");
            }
        }
    }
    let schemas = &doc["components"]["schemas"];
    let mismatches = &schemas["AuditReport"]["properties"]["balance_mismatches"]["items"];
    assert!(mismatches["items"].is_object(), "{mismatches}");
    assert_eq!(mismatches["maxItems"], 4);
    assert!(schemas["NewGroup"].get("allOf").is_none());
    assert!(schemas["NewGroup"]["properties"]["discount_percent"].is_object());
    // Unique operation ids, and links from a creation to the operations using its id.
    let mut ids = std::collections::HashSet::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            let id = operation["operationId"].as_str().unwrap();
            assert!(ids.insert(id.to_string()), "operationId {id} twice");
        }
    }
    let links = &doc["paths"]["/admin/v1/merchants"]["post"]["responses"]["201"]["links"];
    assert_eq!(links["merchants_get"]["operationId"], "merchants_get");
    assert_eq!(
        links["merchants_get"]["parameters"]["id"],
        "$response.body#/id"
    );
    let venue = &doc["paths"]["/admin/v1/venues"]["post"]["responses"]["201"]["links"];
    assert_eq!(
        venue["venues_bills"]["parameters"]["companycode"],
        "$response.body#/companycode"
    );
    running.stop().await;
}
