//! Shared by the gateway's integration tests: starting a gateway in-process on a free port,
//! and a small admin API client over real HTTP.

#![allow(dead_code)]

pub mod browser;
pub mod logs;
pub mod mqtt;
pub mod process;
pub mod sim;

use posgate::config::Config;
use posgate::secret::Secret;
use serde_json::{json, Value};

/// The local RabbitMQ URL (`POSGATE_TEST_AMQP_URL`, or guest on 127.0.0.1:5672), or `None`
/// after the skip/require policy when nothing listens there.
pub fn rabbitmq() -> Option<String> {
    let addr = "127.0.0.1:5672".parse().expect("socket address");
    match std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2)) {
        Ok(_) => Some(
            std::env::var("POSGATE_TEST_AMQP_URL")
                .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into()),
        ),
        Err(e) => posgate_actors::testing::unavailable("RabbitMQ", &e.to_string()),
    }
}

/// The admin token the tests configure.
pub const TOKEN: &str = "test-admin-token-0123456789";

/// A configuration for an in-process gateway: loopback port 0, in-memory SQLite unless a
/// PostgreSQL URL is given.
pub fn config(pg_url: Option<String>) -> Config {
    let mut c = Config::default();
    c.http.listen = "127.0.0.1:0".into();
    c.http.workers = 2;
    c.admin.token = Secret::new(TOKEN.into());
    // Tests drive the admin API far faster than operators; tests/admin_roles.rs checks the
    // limits.
    c.admin.requests_per_minute = 0;
    c.admin.console_logins_per_minute = 0;
    c.cards.hmac_key = Secret::new("test-card-key-0123456789abcdef-0123".into());
    c.accounts.shards = 2;
    // Tests that need MQTT turn it on with a broker of their own.
    c.mqtt.enabled = false;
    c.entities.arbiters = 2;
    match pg_url {
        Some(url) => c.database.url = Secret::new(url),
        None => c.database.sqlite_path = ":memory:".into(),
    }
    c
}

/// An HTTP client whose requests fail after 30 s instead of hanging a test.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("build HTTP client")
}

/// Sends `req`; returns the status and the body (JSON, or the text as a JSON string).
pub async fn reply(req: reqwest::RequestBuilder) -> (u16, Value) {
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let text = res.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// An admin API client for one gateway.
pub struct Admin {
    pub base: String,
    pub http: reqwest::Client,
}

impl Admin {
    pub fn new(base: String) -> Admin {
        Admin {
            base,
            http: client(),
        }
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        reply(req).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }

    /// Creates a merchant with a unique code; returns its id.
    pub async fn merchant(&self) -> i64 {
        let code = format!("m-{}", rand::random::<u64>());
        let (status, body) = self
            .post(
                "/admin/v1/merchants",
                json!({"code": code, "name": "Canteen"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_i64().unwrap()
    }

    /// Registers a terminal of `family` (`mqtt_pos`, `jpos`, `ds50`); returns its id.
    pub async fn terminal(&self, family: &str, code: &str, merchant: i64) -> i64 {
        let (status, t) = self
            .post(
                "/admin/v1/terminals",
                json!({"family": family, "code": code, "merchant_id": merchant}),
            )
            .await;
        assert_eq!(status, 201, "{t}");
        t["id"].as_i64().unwrap()
    }

    /// Waits (at most 5 s: it is written off the request's path) until terminal `id` has a
    /// last-seen time; returns it.
    pub async fn last_seen(&self, id: i64) -> i64 {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let (status, t) = self.get(&format!("/admin/v1/terminals/{id}")).await;
            assert_eq!(status, 200, "{t}");
            if let Some(at) = t["last_seen_at_ms"].as_i64() {
                return at;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "terminal {id} never seen: {t}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Creates an account with card `pan` and `balances` (`{"cash": 100}`); returns its id.
    pub async fn card_account(&self, merchant: i64, pan: &str, balances: Value) -> i64 {
        let (status, account) = self
            .post(
                "/admin/v1/accounts",
                json!({"merchant_id": merchant, "user_id": format!("u{}", rand::random::<u32>()),
                       "card_number": pan, "initial_balances": balances}),
            )
            .await;
        assert_eq!(status, 201, "{account}");
        account["id"].as_i64().unwrap()
    }

    /// Creates an account with `cash` fen; returns its id.
    pub async fn account(&self, merchant: i64, cash: i64) -> i64 {
        let user = format!("u{}", rand::random::<u32>());
        let (status, body) = self
            .post(
                "/admin/v1/accounts",
                json!({"merchant_id": merchant, "user_id": user, "initial_balances": {"cash": cash}}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_i64().unwrap()
    }
}

/// The sum of the samples of Prometheus metric `name` on the gateway at `base` whose labels
/// include every `label="value"` of `labels` (0 when there is none).
pub async fn metric_sum(base: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let text = client()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics body");
    let prefix = format!("{name}{{");
    text.lines()
        .filter(|l| l.starts_with(&prefix))
        .filter(|l| {
            labels
                .iter()
                .all(|(label, value)| l.contains(&format!("{label}=\"{value}\"")))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
