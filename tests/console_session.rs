//! The console's server side over real HTTP, on SQLite and PostgreSQL: its embedded pages
//! with their security headers; login into an HttpOnly SameSite session, the session
//! authenticating admin requests, refused without its CSRF token on changes, ended by
//! logout and by idleness; the admin audit log recording every change (token or session,
//! secrets masked) and no read.

mod common;

use common::{config, Admin, TOKEN};
use posgate_actors::testing;
use reqwest::header::{HeaderMap, CACHE_CONTROL, CONTENT_SECURITY_POLICY, ETAG, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::{json, Value};

#[actix_rt::test]
async fn console_sessions_and_audit_on_sqlite() {
    scenario(config(None)).await;
}

#[actix_rt::test]
async fn console_sessions_and_audit_on_postgres() {
    let Some(url) = testing::scratch_pg_url() else {
        return;
    };
    scenario(config(Some(url))).await;
}

async fn scenario(c: posgate::config::Config) {
    let running = posgate::app::start(c).await.expect("start gateway");
    let base = format!("http://{}", running.addr);
    pages_are_embedded_with_a_strict_policy(&base).await;
    let session = Session::login(&base).await;
    session_authenticates_and_needs_csrf_for_changes(&base, &session).await;
    changes_are_audited_with_secrets_masked(&base).await;
    session.logout_ends_it(&base).await;
    idle_sessions_end(&running, &base).await;
    running.stop().await;
}

async fn pages_are_embedded_with_a_strict_policy(base: &str) {
    let http = no_redirects();
    let res = http
        .get(format!("{base}/console"))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(res.headers()["location"], "/console/");
    let res = http
        .get(format!("{base}/console/"))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), StatusCode::OK);
    let headers = res.headers().clone();
    assert!(headers["content-type"]
        .to_str()
        .unwrap_or("")
        .starts_with("text/html"));
    let csp = headers[CONTENT_SECURITY_POLICY].to_str().expect("csp");
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers[CACHE_CONTROL], "no-cache");
    let page = res.text().await.expect("page");
    assert!(page.contains("assets/app.js"), "{page}");
    let again = http
        .get(format!("{base}/console/"))
        .header("if-none-match", headers[ETAG].clone())
        .send()
        .await
        .expect("get");
    assert_eq!(
        again.status(),
        StatusCode::NOT_MODIFIED,
        "unchanged: revalidated"
    );
    let res = http
        .get(format!("{base}/console/assets/app.js"))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap_or("")
        .contains("javascript"));
    for missing in [
        "/console/assets/nothing.js",
        "/console/assets/../Cargo.toml",
    ] {
        let res = http
            .get(format!("{base}{missing}"))
            .send()
            .await
            .expect("get");
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{missing}");
        let body: Value = res.json().await.expect("JSON refusal");
        assert_eq!(body["error"], "not_found");
    }
}

/// A logged-in console session: its cookie (name=value) and CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

impl Session {
    async fn login(base: &str) -> Session {
        let http = no_redirects();
        let refused = http
            .post(format!("{base}/console/session"))
            .json(&json!({"token": "not-the-token-0123456789"}))
            .send()
            .await
            .expect("login");
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        assert!(
            refused.headers().get(SET_COOKIE).is_none(),
            "no session for a wrong token"
        );
        let res = http
            .post(format!("{base}/console/session"))
            .json(&json!({"token": TOKEN}))
            .send()
            .await
            .expect("login");
        assert_eq!(res.status(), StatusCode::OK);
        let cookie = session_cookie(res.headers());
        let body: Value = res.json().await.expect("session");
        assert_eq!(body["principal"], "admin");
        assert_eq!(body["role"], "administrator");
        let csrf = body["csrf_token"].as_str().expect("csrf").to_string();
        let session = Session { cookie, csrf };
        let (status, current) = session
            .send(base, reqwest::Method::GET, "/console/session", None, true)
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            current["csrf_token"],
            session.csrf.as_str(),
            "the page reads it again after a reload"
        );
        session
    }

    async fn send(
        &self,
        base: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        with_csrf: bool,
    ) -> (u16, Value) {
        let mut req = no_redirects()
            .request(method, format!("{base}{path}"))
            .header("cookie", &self.cookie);
        if with_csrf {
            req = req.header("x-csrf-token", &self.csrf);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        common::reply(req).await
    }

    async fn logout_ends_it(&self, base: &str) {
        let (status, body) = self
            .send(
                base,
                reqwest::Method::DELETE,
                "/console/session",
                None,
                false,
            )
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (403, Some("csrf_mismatch"))
        );
        let (status, _) = self
            .send(
                base,
                reqwest::Method::DELETE,
                "/console/session",
                None,
                true,
            )
            .await;
        assert_eq!(status, 204);
        for path in ["/console/session", "/admin/v1/audit-log"] {
            let (status, _) = self
                .send(base, reqwest::Method::GET, path, None, true)
                .await;
            assert_eq!(status, 401, "{path} after logout");
        }
    }
}

/// The `posgate_session` cookie of a login answer (checked HttpOnly, SameSite=Strict), as
/// `name=value`.
fn session_cookie(headers: &HeaderMap) -> String {
    let set = headers[SET_COOKIE]
        .to_str()
        .expect("set-cookie")
        .to_string();
    let attributes: Vec<&str> = set.split(';').map(str::trim).collect();
    assert!(attributes[0].starts_with("posgate_session="), "{set}");
    assert!(attributes.contains(&"HttpOnly"), "{set}");
    assert!(attributes.contains(&"SameSite=Strict"), "{set}");
    assert!(attributes.contains(&"Path=/"), "{set}");
    attributes[0].to_string()
}

async fn session_authenticates_and_needs_csrf_for_changes(base: &str, s: &Session) {
    let code = format!("console-{}", rand::random::<u32>());
    let merchant = json!({"code": code, "name": "Console canteen"});
    let (status, body) = s
        .send(
            base,
            reqwest::Method::POST,
            "/admin/v1/merchants",
            Some(merchant.clone()),
            false,
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("csrf_mismatch"))
    );
    let forged = Session {
        cookie: s.cookie.clone(),
        csrf: "0".repeat(64),
    };
    let (status, _) = forged
        .send(
            base,
            reqwest::Method::POST,
            "/admin/v1/merchants",
            Some(merchant.clone()),
            true,
        )
        .await;
    assert_eq!(status, 403, "another token is no CSRF token");
    let (status, created) = s
        .send(
            base,
            reqwest::Method::POST,
            "/admin/v1/merchants",
            Some(merchant),
            true,
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let (status, read) = s
        .send(
            base,
            reqwest::Method::GET,
            &format!("/admin/v1/merchants/{}", created["id"]),
            None,
            false,
        )
        .await;
    assert_eq!(
        (status, read["code"].as_str()),
        (200, Some(code.as_str())),
        "reads need no CSRF token"
    );
    let stranger = Session {
        cookie: format!("posgate_session={}", "a".repeat(64)),
        csrf: String::new(),
    };
    let (status, _) = stranger
        .send(
            base,
            reqwest::Method::GET,
            "/admin/v1/audit-log",
            None,
            false,
        )
        .await;
    assert_eq!(status, 401, "an unknown session");
}

async fn changes_are_audited_with_secrets_masked(base: &str) {
    let admin = Admin::new(base.to_string());
    let merchant = admin.merchant().await;
    let account = admin.account(merchant, 0).await;
    let pan = "6222021234567890123";
    let (status, _) = admin
        .post(
            &format!("/admin/v1/accounts/{account}/cards"),
            json!({"card_number": pan}),
        )
        .await;
    assert!(status == 200 || status == 201, "{status}");
    let (status, _) = admin.post("/admin/v1/merchants", json!({"code": ""})).await;
    assert_eq!(status, 400);
    let (status, page) = admin.get("/admin/v1/audit-log?limit=500").await;
    assert_eq!(status, 200, "{page}");
    let items = page["items"].as_array().expect("items");
    assert!(!page.to_string().contains(pan), "the PAN is masked: {page}");
    assert!(!page.to_string().contains(TOKEN), "the token never appears");
    let card = items
        .iter()
        .find(|e| e["route"] == "/admin/v1/accounts/{id}/cards")
        .expect("card audited");
    assert_eq!(
        (card["principal"].as_str(), card["via"].as_str()),
        (Some("admin"), Some("token"))
    );
    assert_eq!(card["body"], r#"{"card_number":"***"}"#);
    let refused = &items[0];
    assert_eq!(
        (refused["method"].as_str(), refused["status"].as_i64()),
        (Some("POST"), Some(400)),
        "newest first, refusals too"
    );
    assert!(items.iter().any(|e| e["via"] == "session"
        && e["route"] == "/admin/v1/merchants"
        && e["status"] == 201));
    let logins: Vec<&Value> = items
        .iter()
        .filter(|e| e["route"] == "/console/session")
        .collect();
    assert!(logins
        .iter()
        .any(|e| e["via"] == "login" && e["status"] == 200 && e["body"] == r#"{"token":"***"}"#));
    assert!(
        logins
            .iter()
            .any(|e| e["principal"] == "anonymous" && e["status"] == 401),
        "refused logins too"
    );
    assert!(
        items.iter().all(|e| e["method"] != "GET"),
        "reads are not audited"
    );
    let (_, first) = admin.get("/admin/v1/audit-log?limit=1").await;
    let next = first["next_before_id"].as_i64().expect("a next page");
    let (_, second) = admin
        .get(&format!("/admin/v1/audit-log?limit=1&before_id={next}"))
        .await;
    assert!(second["items"][0]["id"].as_i64() < Some(next));
    let (status, _) = admin.get("/admin/v1/audit-log?limit=0").await;
    assert_eq!(status, 400);
}

/// A session unused longer than `admin.console_session_idle_minutes` is refused: its last
/// use is moved back in the database, as the passing of time would.
async fn idle_sessions_end(running: &posgate::app::Running, base: &str) {
    let s = Session::login(base).await;
    let (status, _) = s
        .send(base, reqwest::Method::GET, "/console/session", None, false)
        .await;
    assert_eq!(status, 200);
    let idle_ms = 31 * 60 * 1000;
    running
        .gateway
        .store
        .transaction(move |db| {
            Box::pin(async move {
                db.execute(
                    "UPDATE console_sessions SET last_seen_at_ms = last_seen_at_ms - $1",
                    &[idle_ms.into()],
                )
                .await
            })
        })
        .await
        .expect("age the sessions");
    let (status, _) = s
        .send(base, reqwest::Method::GET, "/console/session", None, false)
        .await;
    assert_eq!(status, 401, "idle for 31 minutes: ended");
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("client")
}
