//! The jpos test fixture, shared by the jpos test binaries: a gateway with a merchant, a
//! jpos terminal and a card, driven over real HTTP as a terminal does, and the admin API
//! and fault-injection helpers the jpos tests use. Included by each as
//! `#[path = "common/jpos.rs"] mod fixture;` (next to `mod common;`).

#![allow(dead_code)]

use crate::common::{config, Admin};
use posgate::config::Config;
use posgate_actors::testing;
use serde_json::{json, Value};

/// A form as pairs.
pub type Form = Vec<(&'static str, String)>;

/// A form body from pairs, percent-encoded.
pub fn encode(pairs: &[(&str, String)]) -> String {
    let enc = |text: &str| {
        let mut out = String::new();
        for b in text.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => {
                    out.push(char::from(b))
                }
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn random_pan() -> String {
    format!(
        "622202{:010}",
        u64::from(rand::random::<u32>()) % 10_000_000_000
    )
}

/// A gateway with a merchant (earn rate 1 point per yuan), a jpos terminal and a card
/// holding 100.00 points.
pub struct Jpos {
    pub running: posgate::app::Running,
    pub admin: Admin,
    pub base: String,
    pub terminal_id: i64,
    pub merchant: i64,
    pub store_no: String,
    pub terminal_no: String,
    pub account: i64,
    pub pan: String,
}

/// One reply: HTTP status, JSON, text.
pub struct Reply {
    pub http: u16,
    pub json: Value,
    pub text: String,
}

impl Reply {
    pub fn status(&self) -> &str {
        self.json["status"].as_str().unwrap_or("")
    }
}

impl Jpos {
    pub async fn start(c: Config) -> Jpos {
        let running = posgate::app::start(c).await.expect("start gateway");
        let base = format!("http://{}", running.addr);
        let admin = Admin::new(base.clone());
        let merchant = admin.merchant().await;
        let (status, rules) = admin
            .send(
                reqwest::Method::PUT,
                &format!("/admin/v1/jpos/merchants/{merchant}/rules"),
                Some(json!({"earn_rate_bp": 10000, "advertisement": "欢迎参加 xxx 活动"})),
            )
            .await;
        assert_eq!(status, 200, "{rules}");
        let store_no = format!("S{}", rand::random::<u32>());
        let terminal_no = "T0000001".to_string();
        let (status, t) = admin
            .post(
                "/admin/v1/terminals",
                json!({"family": "jpos", "code": format!("{store_no}:{terminal_no}"), "merchant_id": merchant}),
            )
            .await;
        assert_eq!(status, 201, "{t}");
        let terminal_id = t["id"].as_i64().unwrap();
        let activation = format!("/admin/v1/terminals/{terminal_id}/capabilities/card_activation");
        let (status, grant) = admin
            .put(
                &activation,
                json!({"per_transaction_max": 0, "daily_max": 0}),
            )
            .await;
        assert_eq!(status, 200, "{grant}");
        let pan = random_pan();
        let (status, account) = admin
            .post(
                "/admin/v1/accounts",
                json!({"merchant_id": merchant, "user_id": format!("u{}", rand::random::<u32>()),
                       "name": "张三", "card_number": pan, "initial_balances": {"points": 10000}}),
            )
            .await;
        assert_eq!(status, 201, "{account}");
        Jpos {
            running,
            admin,
            base,
            terminal_id,
            merchant,
            store_no,
            terminal_no,
            account: account["id"].as_i64().unwrap(),
            pan,
        }
    }

    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        content_type: Option<&str>,
        body: String,
    ) -> Reply {
        self.raw_at(&self.base, method, path, content_type, body)
            .await
    }

    /// A request to the gateway at `base` (another replica on the same database).
    pub async fn raw_at(
        &self,
        base: &str,
        method: reqwest::Method,
        path: &str,
        content_type: Option<&str>,
        body: String,
    ) -> Reply {
        let mut req = self
            .admin
            .http
            .request(method, format!("{base}{path}"))
            .body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let res = req.send().await.expect("request");
        let http = res.status().as_u16();
        let text = res.text().await.expect("body");
        assert!(!text.contains(&self.pan), "card number in a reply: {text}");
        Reply {
            http,
            json: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }

    pub async fn post(&self, path: &str, pairs: &[(&str, String)]) -> Reply {
        self.raw(
            reqwest::Method::POST,
            path,
            Some("application/x-www-form-urlencoded; charset=UTF-8"),
            encode(pairs),
        )
        .await
    }

    pub fn head(&self, batch: u32, trace: u32) -> Vec<(&'static str, String)> {
        vec![
            ("storeNo", self.store_no.clone()),
            ("terminalNo", self.terminal_no.clone()),
            ("cardNo", self.pan.clone()),
            ("traceNo", format!("{trace:06}")),
            ("batchNo", format!("{batch:06}")),
        ]
    }

    pub fn consume_form(
        &self,
        batch: u32,
        trace: u32,
        point: &str,
        cash: &str,
    ) -> Vec<(&'static str, String)> {
        let mut form = self.head(batch, trace);
        form.extend([
            ("track2", format!("{}=49122011519", self.pan)),
            ("password", "0123456789ABCDEF".to_string()),
            ("consumeType", "01".to_string()),
            ("pointAmount", point.to_string()),
            ("cashAmount", cash.to_string()),
            ("registerTraceNo", format!("R{trace}")),
        ]);
        form
    }

    pub async fn checkin(&self) -> Reply {
        self.post(
            "/v1/jpos/terminal/checkin",
            &[
                ("storeNo", self.store_no.clone()),
                ("terminalNo", self.terminal_no.clone()),
                ("operatorNo", "01".to_string()),
            ],
        )
        .await
    }

    pub async fn consume(&self, batch: u32, trace: u32, point: &str, cash: &str) -> Reply {
        self.post(
            "/v1/jpos/trans/consume",
            &self.consume_form(batch, trace, point, cash),
        )
        .await
    }

    pub fn cancel_form(
        &self,
        batch: u32,
        trace: u32,
        ori_trace: u32,
        ori_time: i64,
    ) -> Vec<(&'static str, String)> {
        let mut form = self.head(batch, trace);
        form.extend([
            ("oriBatchNo", format!("{batch:06}")),
            ("oriTraceNo", format!("{ori_trace:06}")),
            ("oriTransTime", ori_time.to_string()),
        ]);
        form
    }

    pub fn refund_form(
        &self,
        batch: u32,
        trace: u32,
        serial: &str,
        amounts: Option<(&str, &str)>,
    ) -> Vec<(&'static str, String)> {
        let mut form = self.head(batch, trace);
        form.extend([
            ("oriSerialNo", serial.to_string()),
            ("oriTransDate", today()),
            ("oriRegisterTraceNo", "R4".to_string()),
        ]);
        if let Some((point, cash)) = amounts {
            form.extend([
                ("pointAmount", point.to_string()),
                ("cashAmount", cash.to_string()),
            ]);
        }
        form
    }

    pub fn settle_form(
        &self,
        batch: u32,
        trace: u32,
        figures: [&str; 12],
    ) -> Vec<(&'static str, String)> {
        let names = [
            "pointDebitCount",
            "pointDebitAmount",
            "pointCeditCount",
            "pointCreditAmount",
            "ticketDebitCount",
            "ticketDebitAmount",
            "ticketCreditCount",
            "ticketCreditAmount",
            "totalTransCount",
            "cancelCount",
            "refundCount",
            "cardActiveCount",
        ];
        let mut form = self.head(batch, trace);
        form.extend(names.iter().zip(figures).map(|(n, v)| (*n, v.to_string())));
        form
    }

    pub async fn points(&self) -> i64 {
        let (status, b) = self
            .admin
            .get(&format!("/admin/v1/accounts/{}/balances", self.account))
            .await;
        assert_eq!(status, 200, "{b}");
        b["points"]
            .as_i64()
            .or_else(|| b["balances"]["points"].as_i64())
            .unwrap()
    }

    pub async fn ledger_rows(&self) -> usize {
        let (status, page) = self
            .admin
            .get(&format!(
                "/admin/v1/transactions?account_id={}&limit=500",
                self.account
            ))
            .await;
        assert_eq!(status, 200, "{page}");
        page["items"]
            .as_array()
            .or_else(|| page.as_array())
            .map_or(0, Vec::len)
    }

    pub async fn jpos_rows(&self) -> Vec<Value> {
        let (status, rows) = self
            .admin
            .get(&format!(
                "/admin/v1/jpos/terminals/{}/transactions",
                self.terminal_id
            ))
            .await;
        assert_eq!(status, 200, "{rows}");
        rows.as_array().unwrap().clone()
    }
}

/// Today's business date (UTC+8, the default `ledger.utc_offset_minutes`), `yyyyMMdd`.
pub fn today() -> String {
    let offset = chrono::FixedOffset::east_opt(480 * 60).unwrap();
    chrono::Utc::now()
        .with_timezone(&offset)
        .format("%Y%m%d")
        .to_string()
}

pub fn ticket_form(j: &Jpos, trace: u32, lines: &str) -> Form {
    let mut form = j.head(1, trace);
    form.push(("ticket", lines.to_string()));
    form
}

pub async fn held(j: &Jpos) -> Vec<i64> {
    let (status, tickets) = j
        .admin
        .get(&format!("/admin/v1/jpos/accounts/{}/tickets", j.account))
        .await;
    assert_eq!(status, 200, "{tickets}");
    tickets
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["num"].as_i64().unwrap())
        .collect()
}

/// A small real HTTP server standing in for an SMS provider's webhook: every POST body
/// it receives is passed on.
pub async fn sms_webhook() -> (String, tokio::sync::mpsc::UnboundedReceiver<Value>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sms/send", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let mut data = Vec::new();
            let mut chunk = [0u8; 1024];
            let body = loop {
                let n = stream.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break None;
                }
                data.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&data).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length: usize = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    if body.len() >= length {
                        assert!(head.starts_with("POST /sms/send HTTP/1.1"), "{head}");
                        break Some(body.to_string());
                    }
                }
            };
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .await;
            if let Some(body) = body {
                let _ = tx.send(serde_json::from_str(&body).unwrap());
            }
        }
    });
    (url, rx)
}

pub fn activate_form(j: &Jpos, trace: u32, mobile: &str, code: &str) -> Form {
    let mut form = j.head(1, trace);
    form.extend([
        ("mobileNo", mobile.to_string()),
        ("verifyCode", code.to_string()),
        ("idType", "01".to_string()),
        ("idNo", "0123456789012345678".to_string()),
    ]);
    form
}

pub async fn send_code(j: &Jpos, mobile: &str) -> Reply {
    j.post(
        "/v1/jpos/mobile/sendVerifyCode",
        &[
            ("storeNo", j.store_no.clone()),
            ("terminalNo", j.terminal_no.clone()),
            ("mobileNo", mobile.to_string()),
        ],
    )
    .await
}

/// The flags of the account's ledger transactions, newest first.
pub async fn ledger_flags(j: &Jpos) -> Vec<String> {
    let (status, page) = j
        .admin
        .get(&format!(
            "/admin/v1/transactions?account_id={}&limit=500",
            j.account
        ))
        .await;
    assert_eq!(status, 200, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["flags"].as_array().cloned().unwrap_or_default())
        .filter_map(|f| f.as_str().map(str::to_string))
        .collect()
}

impl Jpos {
    /// Registers another terminal of the same store and checks it in; returns its number
    /// and id.
    pub async fn other_terminal(&self, terminal_no: &str) -> (String, i64) {
        let (status, t) = self
            .admin
            .post(
                "/admin/v1/terminals",
                json!({"family": "jpos", "code": format!("{}:{terminal_no}", self.store_no),
                       "merchant_id": self.merchant}),
            )
            .await;
        assert_eq!(status, 201, "{t}");
        let r = self
            .post(
                "/v1/jpos/terminal/checkin",
                &[
                    ("storeNo", self.store_no.clone()),
                    ("terminalNo", terminal_no.to_string()),
                    ("operatorNo", "02".to_string()),
                ],
            )
            .await;
        assert_eq!(r.status(), "00", "{}", r.text);
        (terminal_no.to_string(), t["id"].as_i64().unwrap())
    }

    /// Issues tickets to the card's account through the admin API.
    pub async fn issue_tickets(&self, body: Value) {
        let (status, t) = self
            .admin
            .post(
                &format!("/admin/v1/jpos/accounts/{}/tickets", self.account),
                body,
            )
            .await;
        assert_eq!(status, 200, "{t}");
    }

    /// The journal rows of a terminal by id.
    pub async fn rows_of(&self, terminal_id: i64) -> Vec<Value> {
        let (status, rows) = self
            .admin
            .get(&format!(
                "/admin/v1/jpos/terminals/{terminal_id}/transactions"
            ))
            .await;
        assert_eq!(status, 200, "{rows}");
        rows.as_array().unwrap().clone()
    }
}

/// A form sent by another terminal of the store.
pub fn from_terminal(mut form: Form, terminal_no: &str) -> Form {
    for (k, v) in form.iter_mut() {
        if *k == "terminalNo" {
            *v = terminal_no.to_string();
        }
    }
    form
}

/// A configuration and a second handle on its database, for fault injection: a scratch
/// PostgreSQL database, or a SQLite file.
pub async fn with_store(pg: bool) -> Option<(Config, posgate_actors::store::Store)> {
    if pg {
        let url = testing::scratch_pg_url()?;
        let store = posgate_actors::store::Store::postgres(
            &url,
            &posgate_actors::store::PgOptions::with_pool_size(1),
        )
        .await
        .expect("store");
        return Some((config(Some(url)), store));
    }
    let dir = std::env::temp_dir().join(format!("posgate-jpos-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("posgate.db").to_string_lossy().into_owned();
    let mut c = config(None);
    c.database.sqlite_path = path.clone();
    // The gateway migrates the file; the test's handle opens it after.
    Some((
        c,
        posgate_actors::store::Store::sqlite(&path).expect("store"),
    ))
}

/// A crash after the postings of a request and before its answer was stored: the row of
/// (terminal, trace) is set back to `pending`, its reply forgotten.
pub async fn forget_answer(j: &Jpos, store: &posgate_actors::store::Store, trace: u32) {
    forget_answer_at(j, store, &j.terminal_no, trace).await;
}

/// [`forget_answer`] for the request at `trace` of another terminal of the store.
pub async fn forget_answer_at(
    j: &Jpos,
    store: &posgate_actors::store::Store,
    terminal_no: &str,
    trace: u32,
) {
    let key = format!("jpos:{}:{terminal_no}", j.store_no);
    let trace = format!("{trace:06}");
    let n = store
        .transaction(move |db| {
            Box::pin(async move {
                db.execute(
                    "UPDATE jpos_trans SET status = 'pending', reply = NULL, response_code = NULL \
                     WHERE terminal_key = $1 AND trace_no = $2 AND role = 'request'",
                    &[key.into(), trace.into()],
                )
                .await
            })
        })
        .await
        .expect("reset");
    assert_eq!(n, 1);
}

/// The admin API's pending list, this terminal's rows only.
pub async fn pending_rows(j: &Jpos) -> Vec<Value> {
    pending_rows_of(j, &j.terminal_no).await
}

/// The admin API's pending list, the rows of one terminal of the store.
pub async fn pending_rows_of(j: &Jpos, terminal_no: &str) -> Vec<Value> {
    let (status, rows) = j.admin.get("/admin/v1/jpos/pending?limit=500").await;
    assert_eq!(status, 200, "{rows}");
    let key = format!("jpos:{}:{terminal_no}", j.store_no);
    rows.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["terminal"] == key.as_str())
        .cloned()
        .collect()
}

/// Waits (bounded) until the sweeper has resolved the request at `trace`; returns its row.
pub async fn resolved_by_sweeper(j: &Jpos, trace: u32) -> Value {
    resolved_by_sweeper_at(j, &j.terminal_no, trace).await
}

/// [`resolved_by_sweeper`] for the request at `trace` of another terminal of the store.
pub async fn resolved_by_sweeper_at(j: &Jpos, terminal_no: &str, trace: u32) -> Value {
    let trace = format!("{trace:06}");
    for _ in 0..300 {
        let found = pending_rows_of(j, terminal_no).await.into_iter().find(|r| {
            r["trace_no"] == trace.as_str()
                && r["role"] == "request"
                && r["resolved_by"] == "sweeper"
        });
        if let Some(row) = found {
            return row;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "the sweeper did not resolve trace {trace}: {:?}",
        pending_rows_of(j, terminal_no).await
    );
}

/// Asks for a verification code for `mobile` (answered `00`) and reads it from the SMS webhook.
pub async fn new_code(
    j: &Jpos,
    sms: &mut tokio::sync::mpsc::UnboundedReceiver<Value>,
    mobile: &str,
) -> String {
    let r = send_code(j, mobile).await;
    assert_eq!(r.status(), "00", "{}", r.text);
    sms.recv().await.unwrap()["code"]
        .as_str()
        .unwrap()
        .to_string()
}
