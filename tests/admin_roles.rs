//! Admin credentials and roles over real HTTP, on SQLite and PostgreSQL: an administrator
//! issues read-only, operator and administrator tokens; each role can do what it may and is
//! refused (403 `forbidden`, audited) what it may not; a rotation keeps the old token for its
//! grace only; a revocation ends the token and its console sessions at once; the rates of
//! principals and of console logins are bounded (429).

mod common;

use common::{config, Admin, TOKEN};
use posgate_actors::testing;
use serde_json::{json, Value};

#[actix_rt::test]
async fn roles_rotation_and_revocation_on_sqlite() {
    scenario(config(None)).await;
}

#[actix_rt::test]
async fn roles_rotation_and_revocation_on_postgres() {
    let Some(url) = testing::scratch_pg_url() else {
        return;
    };
    scenario(config(Some(url))).await;
}

/// An admin API client with a given bearer token.
struct Caller {
    base: String,
    token: String,
}

impl Caller {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = common::client()
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        common::reply(req).await
    }

    async fn get(&self, path: &str) -> u16 {
        self.send(reqwest::Method::GET, path, None).await.0
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }
}

async fn scenario(c: posgate::config::Config) {
    let running = posgate::app::start(c).await.expect("start gateway");
    let base = format!("http://{}", running.addr);
    let admin = Admin::new(base.clone());
    let merchant = admin.merchant().await;
    let terminal = admin
        .terminal("ds50", &format!("SN{}", rand::random::<u32>()), merchant)
        .await;
    let auditor = issue(&admin, &base, "auditor", "read_only").await;
    let ops = issue(&admin, &base, "ops-1", "operator").await;
    let security = issue(&admin, &base, "sec-1", "administrator").await;
    read_only_reads(&auditor, merchant).await;
    operator_works_but_holds_no_keys(&ops, merchant, terminal).await;
    let (status, _) = security
        .post(
            "/admin/v1/credentials",
            json!({"name": "ci", "role": "read_only"}),
        )
        .await;
    assert_eq!(status, 201, "an issued administrator may issue");
    refusals_are_audited(&admin).await;
    rotation_keeps_the_old_token_for_its_grace(&admin, &ops, &base).await;
    revocation_ends_tokens_and_sessions(&admin, &base).await;
    bad_credential_requests(&admin).await;
    running.stop().await;
}

/// Issues a credential through the admin API; returns a caller holding its token.
async fn issue(admin: &Admin, base: &str, name: &str, role: &str) -> Caller {
    let (status, issued) = admin
        .post(
            "/admin/v1/credentials",
            json!({"name": name, "role": role, "expires_in_days": 30}),
        )
        .await;
    assert_eq!(status, 201, "{issued}");
    let token = issued["token"].as_str().expect("token").to_string();
    assert!(token.starts_with("pgt_") && token.len() == 68, "{token}");
    assert_eq!(
        (issued["name"].as_str(), issued["role"].as_str()),
        (Some(name), Some(role))
    );
    let (_, list) = admin.get("/admin/v1/credentials").await;
    assert!(!list.to_string().contains(&token), "a token is shown once");
    Caller {
        base: base.to_string(),
        token,
    }
}

async fn read_only_reads(auditor: &Caller, merchant: i64) {
    assert_eq!(
        auditor
            .get(&format!("/admin/v1/merchants/{merchant}"))
            .await,
        200
    );
    assert_eq!(
        auditor.get("/admin/v1/audit-log").await,
        200,
        "auditors read the audit log"
    );
    let (status, body) = auditor
        .post(
            "/admin/v1/merchants",
            json!({"code": "ro-made", "name": "x"}),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
    assert_eq!(auditor.get("/admin/v1/credentials").await, 403);
}

async fn operator_works_but_holds_no_keys(ops: &Caller, merchant: i64, terminal: i64) {
    let code = format!("ops-{}", rand::random::<u32>());
    let (status, _) = ops
        .post("/admin/v1/merchants", json!({"code": code, "name": "ops"}))
        .await;
    assert_eq!(status, 201, "operators do the daily work");
    for (path, body) in [
        (
            format!("/admin/v1/terminals/{terminal}/posparam"),
            json!({}),
        ),
        (
            format!("/admin/v1/merchants/{merchant}/ds50/api-keys"),
            json!({}),
        ),
        (
            "/admin/v1/credentials".into(),
            json!({"name": "x", "role": "administrator"}),
        ),
    ] {
        let (status, body) = ops.post(&path, body).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (403, Some("forbidden")),
            "{path}: {body}"
        );
    }
    let (status, _) = ops
        .send(
            reqwest::Method::PUT,
            "/admin/v1/pospal/apps/app-1",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 403, "partner keys are administrators'");
}

async fn refusals_are_audited(admin: &Admin) {
    let (_, page) = admin.get("/admin/v1/audit-log?limit=500").await;
    let items = page["items"].as_array().expect("items");
    let refused = items
        .iter()
        .find(|e| e["principal"] == "auditor" && e["status"] == 403)
        .expect("the read-only attempt is audited");
    assert_eq!(
        (refused["role"].as_str(), refused["via"].as_str()),
        (Some("read_only"), Some("token"))
    );
    assert!(items
        .iter()
        .any(|e| e["principal"] == "ops-1" && e["status"] == 201));
    assert!(items
        .iter()
        .any(|e| e["principal"] == "admin" && e["route"] == "/admin/v1/credentials"));
}

async fn rotation_keeps_the_old_token_for_its_grace(admin: &Admin, ops: &Caller, base: &str) {
    let id = credential_id(admin, "ops-1").await;
    let path = format!("/admin/v1/credentials/{id}/rotate");
    let (status, rotated) = admin
        .post(&path, json!({"old_valid_for_seconds": 3600}))
        .await;
    assert_eq!(status, 201, "{rotated}");
    let fresh = Caller {
        base: base.into(),
        token: rotated["token"].as_str().expect("token").into(),
    };
    assert_ne!(fresh.token, ops.token);
    assert!(rotated["replaced_until_ms"].as_i64().is_some());
    assert_eq!(
        ops.get("/admin/v1/audit-log").await,
        200,
        "the old token works during its grace"
    );
    assert_eq!(fresh.get("/admin/v1/audit-log").await, 200);
    let new_id = rotated["id"].as_i64().expect("id");
    let (status, again) = admin
        .post(
            &format!("/admin/v1/credentials/{new_id}/rotate"),
            json!({"old_valid_for_seconds": 0}),
        )
        .await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(
        fresh.get("/admin/v1/audit-log").await,
        401,
        "no grace: replaced at once"
    );
    let (status, body) = admin
        .post(&format!("/admin/v1/credentials/{new_id}/rotate"), json!({}))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("conflict")),
        "an ended credential"
    );
}

async fn revocation_ends_tokens_and_sessions(admin: &Admin, base: &str) {
    let ops = issue(admin, base, "ops-2", "operator").await;
    let http = common::client();
    let login = http
        .post(format!("{base}/console/session"))
        .json(&json!({"token": ops.token}))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), 200);
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .unwrap_or("")
        .to_string();
    let session: Value = login.json().await.expect("session");
    assert_eq!(
        (session["principal"].as_str(), session["role"].as_str()),
        (Some("ops-2"), Some("operator"))
    );
    let forbidden = http
        .post(format!("{base}/admin/v1/credentials"))
        .header("cookie", &cookie)
        .header("x-csrf-token", session["csrf_token"].as_str().unwrap_or(""))
        .json(&json!({"name": "x", "role": "read_only"}))
        .send()
        .await
        .expect("post");
    assert_eq!(
        forbidden.status(),
        403,
        "the console can do nothing the role cannot"
    );
    let id = credential_id(admin, "ops-2").await;
    let (status, _) = admin
        .send(
            reqwest::Method::DELETE,
            &format!("/admin/v1/credentials/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(ops.get("/admin/v1/audit-log").await, 401, "revoked at once");
    let after = http
        .get(format!("{base}/console/session"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("get");
    assert_eq!(after.status(), 401, "its console session ended too");
    let (status, _) = admin
        .send(
            reqwest::Method::DELETE,
            "/admin/v1/credentials/999999",
            None,
        )
        .await;
    assert_eq!(status, 404);
}

async fn bad_credential_requests(admin: &Admin) {
    for (body, field) in [
        (json!({"name": "admin", "role": "operator"}), "name"),
        (json!({"name": "a b", "role": "operator"}), "name"),
        (json!({"name": "x", "role": "root"}), "role"),
        (
            json!({"name": "x", "role": "operator", "expires_in_days": 0}),
            "expires_in_days",
        ),
    ] {
        let (status, refusal) = admin.post("/admin/v1/credentials", body.clone()).await;
        assert_eq!(status, 400, "{body}: {refusal}");
        assert!(
            refusal["field"].as_str().unwrap_or("").starts_with(field),
            "{body}: {refusal}"
        );
    }
    let (_, list) = admin.get("/admin/v1/credentials").await;
    assert!(!list.to_string().contains(TOKEN));
}

/// The id of the newest credential named `name`.
async fn credential_id(admin: &Admin, name: &str) -> i64 {
    let (_, list) = admin.get("/admin/v1/credentials").await;
    list["items"]
        .as_array()
        .and_then(|items| items.iter().find(|c| c["name"] == name))
        .and_then(|c| c["id"].as_i64())
        .expect("credential listed")
}

#[actix_rt::test]
async fn principals_and_logins_are_rate_limited() {
    let mut c = config(None);
    c.admin.requests_per_minute = 5;
    c.admin.console_logins_per_minute = 3;
    let running = posgate::app::start(c).await.expect("start gateway");
    let base = format!("http://{}", running.addr);
    let admin = Admin::new(base.clone());
    let (status, issued) = admin
        .post(
            "/admin/v1/credentials",
            json!({"name": "other", "role": "read_only"}),
        )
        .await;
    assert_eq!(status, 201);
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(admin.get("/admin/v1/audit-log").await.0);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        2,
        "{statuses:?}: 5 a minute"
    );
    let other = Caller {
        base: base.clone(),
        token: issued["token"].as_str().unwrap_or("").into(),
    };
    assert_eq!(
        other.get("/admin/v1/audit-log").await,
        200,
        "each principal has its own rate"
    );
    let http = common::client();
    let mut logins = Vec::new();
    for _ in 0..4 {
        let res = http
            .post(format!("{base}/console/session"))
            .json(&json!({"token": "wrong-token-0123456789"}))
            .send()
            .await
            .expect("login");
        logins.push((
            res.status().as_u16(),
            res.headers().get("retry-after").is_some(),
        ));
    }
    assert_eq!(
        logins,
        [(401, false), (401, false), (401, false), (429, true)]
    );
    running.stop().await;
}
