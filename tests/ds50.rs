//! DS50 payment boxes over real HTTP: posparam.ini issued and its API key accepted, sales
//! approved, declined, retried and refused (unknown card, wrong and expired keys), the
//! transaction details with paging and masked card numbers, voice broadcasts received by a
//! real MQTT subscriber on the embedded broker, and no PAN, track 2 or PIN block in the
//! database file or the answers. The sale scenario runs on SQLite and on PostgreSQL.

mod common;

use common::mqtt::{next_publish, subscriber, MqttGateway};
use common::{config, Admin};
use posgate::config::Config;
use posgate_actors::store::{ds50 as store_ds50, now_ms};
use posgate_actors::testing;
use posgate_protocols::ds50::{MqttAuth, PosParam};
use serde_json::{json, Value};

const PIN: &str = "ADF34EF2424A042E";

/// A gateway with a merchant, a DS50 terminal and its freshly issued key.
struct Ds50 {
    running: posgate::app::Running,
    admin: Admin,
    merchant: i64,
    sn: String,
    key: String,
    /// The device's own broker password, from its posparam.ini.
    mqtt_password: String,
}

fn random_sn() -> String {
    format!("S20A{:010}", rand::random::<u32>())
}

fn random_pan() -> String {
    format!(
        "451461{:010}",
        u64::from(rand::random::<u32>()) % 10_000_000_000
    )
}

fn track2(pan: &str) -> String {
    format!("{pan}D491220115195475")
}

/// A gateway started with `c`, its admin client and a new merchant.
async fn gateway(c: Config) -> (posgate::app::Running, Admin, i64) {
    let running = posgate::app::start(c).await.expect("start gateway");
    let admin = Admin::new(format!("http://{}", running.addr));
    let merchant = admin.merchant().await;
    (running, admin, merchant)
}

/// The broker host the test benches write into posparam.ini.
const PUBLIC_MQTT_HOST: &str = "mqtt.pay.example";

/// What a test bench's gateway needs to issue a posparam.ini: a public broker host and,
/// since the tests speak plain HTTP, clear text allowed.
fn bench(c: &mut Config) {
    if c.ds50.mqtt_public_host.is_empty() {
        c.ds50.mqtt_public_host = PUBLIC_MQTT_HOST.into();
    }
    c.ds50.allow_cleartext = true;
}

/// `body` with some fields replaced (`Value::Null` removes the field).
fn edit(mut body: Value, changes: &[(&str, Value)]) -> Value {
    let map = body.as_object_mut().unwrap();
    for (key, new) in changes {
        if new.is_null() {
            map.remove(*key);
        } else {
            map.insert((*key).to_owned(), new.clone());
        }
    }
    body
}

async fn ds50_terminal(admin: &Admin, merchant: i64, sn: &str) -> i64 {
    admin.terminal("ds50", sn, merchant).await
}

/// Issues a posparam.ini for terminal `id`; returns the file.
async fn posparam(admin: &Admin, id: i64) -> PosParam {
    let res = admin
        .http
        .post(format!("{}/admin/v1/terminals/{id}/posparam", admin.base))
        .bearer_auth(common::TOKEN)
        .json(&json!({"expires_in_days": 30}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    PosParam::parse(&res.text().await.unwrap()).expect("a valid posparam.ini")
}

impl Ds50 {
    async fn start(mut c: Config) -> Ds50 {
        bench(&mut c);
        let (running, admin, merchant) = gateway(c).await;
        Ds50::provision(running, admin, merchant).await
    }

    /// A DS50 terminal of `merchant` with its posparam.ini issued.
    async fn provision(running: posgate::app::Running, admin: Admin, merchant: i64) -> Ds50 {
        let sn = random_sn();
        let id = ds50_terminal(&admin, merchant, &sn).await;
        let params = posparam(&admin, id).await;
        assert_eq!(params.payment.sale_path, "/ds50/v1/sale");
        assert_eq!(params.payment.details_path, "/ds50/v1/transactions");
        assert_eq!(params.mqtt.topic, "pos/message");
        let key = params.payment.api_key.expose().clone();
        let MqttAuth::Password { password, .. } = &params.mqtt.auth else {
            panic!("posparam.ini carries a broker login");
        };
        let mqtt_password = password.expose().clone();
        Ds50 {
            running,
            admin,
            merchant,
            mqtt_password,
            sn,
            key,
        }
    }

    /// An account of `merchant` with `cash` fen and a card; returns (account, PAN).
    async fn card(&self, merchant: i64, cash: i64) -> (i64, String) {
        let pan = random_pan();
        let account = self
            .admin
            .card_account(merchant, &pan, json!({"cash": cash}))
            .await;
        (account, pan)
    }

    async fn cash(&self, account: i64) -> i64 {
        let (status, b) = self
            .admin
            .get(&format!("/admin/v1/accounts/{account}/balances"))
            .await;
        assert_eq!(status, 200, "{b}");
        b["cash"]
            .as_i64()
            .or_else(|| b["balances"]["cash"].as_i64())
            .unwrap()
    }

    async fn post(&self, path: &str, auth: Auth<'_>, body: Value) -> (u16, Value, String) {
        let mut req = self
            .admin
            .http
            .post(format!("{}{path}", self.admin.base))
            .json(&body);
        req = match auth {
            Auth::Bearer(k) => req.bearer_auth(k),
            Auth::Header(k) => req.header("x-api-key", k),
            Auth::None => req,
        };
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap(), text)
    }

    async fn sale(&self, auth: Auth<'_>, pan: &str, amount: &str, trace: u32) -> (u16, Value) {
        self.sale_json(auth, sale_body(&self.sn, pan, amount, trace))
            .await
    }

    /// Posts a sale (or reversal) body; the answer never holds its card data.
    async fn sale_json(&self, auth: Auth<'_>, body: Value) -> (u16, Value) {
        let pan = body["track2"].as_str().unwrap_or("").split('D').next();
        let pan = pan.unwrap_or("").to_string();
        let (status, reply, text) = self.post("/ds50/v1/sale", auth, body).await;
        assert!(pan.is_empty() || !text.contains(&pan), "{text}");
        assert!(!text.contains(PIN), "{text}");
        (status, reply)
    }
}

#[derive(Clone, Copy)]
enum Auth<'a> {
    Bearer(&'a str),
    Header(&'a str),
    None,
}

fn sale_body(sn: &str, pan: &str, amount: &str, trace: u32) -> Value {
    json!({
        "deviceSn": sn, "model": "DS50", "transType": "SALE", "appVersion": "V1.0.0",
        "payType": "CARD", "transAmount": amount,
        "cardNo": format!("{}******{}", &pan[..6], &pan[pan.len() - 4..]),
        "cardOrg": "VISA", "emvData": "9F260888C89C10C57849A7", "batchNo": "000001",
        "traceNo": format!("{trace:06}"), "track2": track2(pan), "pin": PIN,
        "date": "2025-12-15", "time": "15:50:23"
    })
}

/// Runs the sale scenario; returns the card numbers and keys it used (to look for them in
/// the database afterwards).
async fn sale_scenario(c: Config) -> Vec<String> {
    let gw = Ds50::start(c).await;
    let key = gw.key.clone();
    let (account, pan) = gw.card(gw.merchant, 10_000).await;

    // Approve, with the key from posparam.ini.
    let (status, first) = gw.sale(Auth::Bearer(&key), &pan, "66.66", 1).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["acqResponseCode"], "00", "{first}");
    assert_eq!(first["transStatus"], "APPROVE");
    let terminal = ds50_terminal_id(&gw).await;
    assert!(gw.admin.last_seen(terminal).await > 0, "a sale is presence");
    let auth_code = first["acqAuthCode"].as_str().unwrap().to_string();
    assert!(!auth_code.is_empty());
    assert_eq!(gw.cash(account).await, 10_000 - 6666);

    // A retry (same date, batch, trace) gets the first answer and debits nothing.
    let (_, again) = gw.sale(Auth::Header(&key), &pan, "66.66", 1).await;
    assert_eq!(again, first);
    assert_eq!(gw.cash(account).await, 10_000 - 6666);

    // Another sale gets another authorisation code.
    let (_, second) = gw.sale(Auth::Bearer(&key), &pan, "1.00", 2).await;
    assert_eq!(second["acqResponseCode"], "00");
    assert_ne!(second["acqAuthCode"], first["acqAuthCode"]);

    // Insufficient.
    let (status, declined) = gw.sale(Auth::Bearer(&key), &pan, "50.00", 3).await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            declined["acqResponseCode"].as_str(),
            declined["transStatus"].as_str()
        ),
        (Some("51"), Some("DECLINE"))
    );
    assert_eq!(declined["acqAuthCode"], "");
    assert_eq!(gw.cash(account).await, 10_000 - 6666 - 100);

    // Unknown card; a card of another merchant is unknown too.
    let (_, unknown) = gw.sale(Auth::Bearer(&key), &random_pan(), "1.00", 4).await;
    assert_eq!(unknown["acqResponseCode"], "56");
    let other = gw.admin.merchant().await;
    let (other_account, other_pan) = gw.card(other, 10_000).await;
    let (_, foreign) = gw.sale(Auth::Bearer(&key), &other_pan, "1.00", 5).await;
    assert_eq!(foreign["acqResponseCode"], "56");
    assert_eq!(gw.cash(other_account).await, 10_000);

    // Missing and wrong keys.
    let (status, body) = gw.sale(Auth::None, &pan, "1.00", 6).await;
    assert_eq!(
        (status, body["acqResponseCode"].as_str()),
        (401, Some("63"))
    );
    let (status, body) = gw.sale(Auth::Bearer("nope"), &pan, "1.00", 6).await;
    assert_eq!(
        (status, body["acqResponseCode"].as_str()),
        (401, Some("63"))
    );
    assert_eq!(body["transStatus"], "DECLINE");

    // A key of another device does not open this one.
    let other_sn = random_sn();
    let other_terminal = ds50_terminal(&gw.admin, gw.merchant, &other_sn).await;
    let other_key = posparam(&gw.admin, other_terminal).await;
    let (status, _) = gw
        .sale(
            Auth::Bearer(other_key.payment.api_key.expose()),
            &pan,
            "1.00",
            6,
        )
        .await;
    assert_eq!(status, 401);

    // An expired key.
    let expired = "expired-key-0123456789";
    let hash = posgate::http::ds50::key_hash(expired);
    let terminal = ds50_terminal_id(&gw).await;
    gw.running
        .gateway
        .store
        .transaction(move |db| {
            Box::pin(async move {
                store_ds50::insert_api_key(db, &hash, terminal, now_ms() - 1000, now_ms() - 5000)
                    .await
            })
        })
        .await
        .unwrap();
    let (status, body) = gw.sale(Auth::Bearer(expired), &pan, "1.00", 7).await;
    assert_eq!(
        (status, body["acqResponseCode"].as_str()),
        (401, Some("P1"))
    );
    assert_eq!(gw.cash(account).await, 10_000 - 6666 - 100);

    gw.running.stop().await;
    vec![
        pan.clone(),
        track2(&pan),
        other_pan,
        PIN.to_string(),
        "9F260888C89C10C57849A7".to_string(),
        key,
        gw.mqtt_password.clone(),
    ]
}

async fn ds50_terminal_id(gw: &Ds50) -> i64 {
    let sn = gw.sn.clone();
    gw.running
        .gateway
        .store
        .transaction(move |db| {
            Box::pin(async move {
                posgate_actors::store::catalog::find_terminal(
                    db,
                    posgate_actors::model::TerminalFamily::Ds50,
                    &sn,
                )
                .await
            })
        })
        .await
        .unwrap()
        .unwrap()
        .id
}

#[actix_rt::test]
async fn sales_on_sqlite() {
    sale_scenario(config(None)).await;
}

#[actix_rt::test]
async fn sales_on_postgres() {
    let Some(url) = testing::scratch_pg_url() else {
        return;
    };
    let secrets = sale_scenario(config(Some(url.clone()))).await;
    // Every row of every table, as text: no card data, no API key.
    let store = posgate_actors::store::Store::postgres(
        &url,
        &posgate_actors::store::PgOptions::with_pool_size(1),
    )
    .await
    .unwrap();
    let dump = store
        .transaction(|db| {
            Box::pin(async move {
                let tables = db
                    .query(
                        "SELECT table_name::text FROM information_schema.tables \
                         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
                        &[],
                    )
                    .await?;
                let mut dump = String::new();
                for table in tables {
                    let name = table.text(0)?;
                    for row in db
                        .query(&format!("SELECT t::text FROM {name} t"), &[])
                        .await?
                    {
                        dump.push_str(&row.text(0)?);
                        dump.push('\n');
                    }
                }
                Ok(dump)
            })
        })
        .await
        .unwrap();
    let pan = &secrets[0];
    let masked = format!("{}****{}", &pan[..6], &pan[pan.len() - 4..]);
    assert!(dump.contains(&masked), "the dump holds the sales (masked)");
    for secret in &secrets {
        assert!(
            !dump.contains(secret.as_str()),
            "found card data or a key in PostgreSQL"
        );
    }
}

#[actix_rt::test]
async fn a_merchant_key_opens_every_device_of_its_merchant_only() {
    let gw = Ds50::start(config(None)).await;
    let (status, issued) = gw
        .admin
        .post(
            &format!("/admin/v1/merchants/{}/ds50/api-keys", gw.merchant),
            json!({"expires_in_days": 30}),
        )
        .await;
    assert_eq!(status, 201, "{issued}");
    let key = issued["api_key"].as_str().unwrap().to_string();
    assert_eq!(issued["api_key_expiry"].as_str().unwrap().len(), 8);
    let (account, pan) = gw.card(gw.merchant, 1_000).await;
    // The merchant key opens the first device, and a second device of the same merchant.
    let (status, reply) = gw.sale(Auth::Bearer(&key), &pan, "1.00", 1).await;
    assert_eq!(
        (status, reply["acqResponseCode"].as_str()),
        (200, Some("00"))
    );
    let second = random_sn();
    ds50_terminal(&gw.admin, gw.merchant, &second).await;
    let (status, body, _) = gw
        .post(
            "/ds50/v1/sale",
            Auth::Header(&key),
            sale_body(&second, &pan, "2.00", 1),
        )
        .await;
    assert_eq!(
        (status, body["acqResponseCode"].as_str()),
        (200, Some("00"))
    );
    assert_eq!(gw.cash(account).await, 1_000 - 100 - 200);
    // Not a device of another merchant.
    let other = gw.admin.merchant().await;
    let foreign = random_sn();
    ds50_terminal(&gw.admin, other, &foreign).await;
    let (status, body, _) = gw
        .post(
            "/ds50/v1/sale",
            Auth::Bearer(&key),
            sale_body(&foreign, &pan, "1.00", 1),
        )
        .await;
    assert_eq!(
        (status, body["acqResponseCode"].as_str()),
        (401, Some("63"))
    );
    // Expired: P1.
    let expired = "expired-merchant-key-0123456789";
    let hash = posgate::http::ds50::key_hash(expired);
    let merchant = gw.merchant;
    gw.running
        .gateway
        .store
        .transaction(move |db| {
            Box::pin(async move {
                store_ds50::insert_merchant_api_key(
                    db,
                    &hash,
                    merchant,
                    now_ms() - 1000,
                    now_ms() - 5000,
                )
                .await
            })
        })
        .await
        .unwrap();
    let (status, reply) = gw.sale(Auth::Bearer(expired), &pan, "1.00", 2).await;
    assert_eq!(
        (status, reply["acqResponseCode"].as_str()),
        (401, Some("P1"))
    );
    // Revoked: refused at once, on every device; device keys stay valid.
    let (status, revoked) = gw
        .admin
        .send(
            reqwest::Method::DELETE,
            &format!("/admin/v1/merchants/{}/ds50/api-keys", gw.merchant),
            None,
        )
        .await;
    assert_eq!(status, 200, "{revoked}");
    assert_eq!(revoked["revoked"], 2, "the issued key and the expired one");
    let (status, reply) = gw.sale(Auth::Bearer(&key), &pan, "1.00", 3).await;
    assert_eq!(
        (status, reply["acqResponseCode"].as_str()),
        (401, Some("63"))
    );
    let device_key = gw.key.clone();
    let (status, reply) = gw.sale(Auth::Bearer(&device_key), &pan, "1.00", 4).await;
    assert_eq!(
        (status, reply["acqResponseCode"].as_str()),
        (200, Some("00"))
    );
    // A device's keys revoked: its own key stops working too.
    let terminal = ds50_terminal_id(&gw).await;
    let (status, revoked) = gw
        .admin
        .send(
            reqwest::Method::DELETE,
            &format!("/admin/v1/terminals/{terminal}/ds50/api-keys"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{revoked}");
    assert_eq!(revoked["revoked"], 1);
    let (status, reply) = gw.sale(Auth::Bearer(&device_key), &pan, "1.00", 5).await;
    assert_eq!(
        (status, reply["acqResponseCode"].as_str()),
        (401, Some("63"))
    );
    // Bad requests to the issuer.
    let (status, _) = gw
        .admin
        .post(
            &format!("/admin/v1/merchants/{}/ds50/api-keys", gw.merchant),
            json!({"expires_in_days": 0}),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = gw
        .admin
        .post("/admin/v1/merchants/999999999/ds50/api-keys", json!({}))
        .await;
    assert_eq!(status, 404);
    gw.running.stop().await;
}

#[actix_rt::test]
async fn details_pages_and_masks() {
    let gw = Ds50::start(config(None)).await;
    let key = gw.key.clone();
    let (_, pan) = gw.card(gw.merchant, 1_000).await;
    for (trace, amount) in [(1, "1.23"), (2, "2.00"), (3, "50.00"), (4, "0.05")] {
        gw.sale(Auth::Bearer(&key), &pan, amount, trace).await;
    }
    let details = |page: u32, size: u32, date: &str| json!({"deviceSn": gw.sn, "pageNo": page.to_string(), "pageSize": size.to_string(), "date": date});
    let (status, page1, text1) = gw
        .post(
            "/ds50/v1/transactions",
            Auth::Bearer(&key),
            details(1, 3, "2025-12-15"),
        )
        .await;
    assert_eq!(status, 200, "{page1}");
    assert_eq!(page1["respCode"], "00");
    assert_eq!(page1["total"].as_u64(), Some(4));
    let entries = page1["transInfo"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0]["transAmount"], "123");
    assert_eq!(entries[0]["transStatus"], "APPROVED");
    assert_eq!(entries[0]["traceNo"], "000001");
    assert_eq!(entries[0]["transDatetime"], "2025-12-15 15:50:23");
    assert_eq!(entries[2]["transStatus"], "DECLINED");
    assert_eq!(entries[2]["acqAuthCode"], "");
    let masked = format!("{}****{}", &pan[..6], &pan[pan.len() - 4..]);
    assert_eq!(entries[0]["cardNo"], masked);
    assert!(!text1.contains(&pan));
    let (_, page2, _) = gw
        .post(
            "/ds50/v1/transactions",
            Auth::Bearer(&key),
            details(2, 3, "2025-12-15"),
        )
        .await;
    assert_eq!(page2["total"].as_u64(), Some(4));
    let entries = page2["transInfo"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["transAmount"], "5");
    let (_, other_day, _) = gw
        .post(
            "/ds50/v1/transactions",
            Auth::Bearer(&key),
            details(1, 3, "2025-12-16"),
        )
        .await;
    assert_eq!(other_day["total"].as_u64(), Some(0));
    let (status, refused, _) = gw
        .post(
            "/ds50/v1/transactions",
            Auth::Bearer("wrong"),
            details(1, 3, "2025-12-15"),
        )
        .await;
    assert_eq!((status, refused["respCode"].as_str()), (401, Some("63")));
    gw.running.stop().await;
}

#[actix_rt::test]
async fn no_card_data_in_the_database_file() {
    let dir = std::env::temp_dir().join(format!("posgate-ds50-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("posgate.db");
    let mut c = config(None);
    c.database.sqlite_path = path.to_string_lossy().into_owned();
    let gw = Ds50::start(c).await;
    let key = gw.key.clone();
    let (_, pan) = gw.card(gw.merchant, 500).await;
    gw.sale(Auth::Bearer(&key), &pan, "1.00", 1).await;
    gw.sale(Auth::Bearer(&key), &pan, "9.00", 2).await;
    let unknown = random_pan();
    gw.sale(Auth::Bearer(&key), &unknown, "1.00", 3).await;
    let (_, _, text) = gw
        .post(
            "/ds50/v1/transactions",
            Auth::Bearer(&key),
            json!({"deviceSn": gw.sn, "pageNo": "1", "pageSize": "10", "date": "2025-12-15"}),
        )
        .await;
    assert!(!text.contains(&pan));
    gw.running.stop().await;
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    assert!(bytes.len() > 4096, "the database file was written");
    let haystack = String::from_utf8_lossy(&bytes);
    for secret in [
        pan.as_str(),
        unknown.as_str(),
        &track2(&pan),
        PIN,
        "9F260888C89C10C57849A7",
        &gw.key,
        &gw.mqtt_password,
    ] {
        assert!(
            !haystack.contains(secret),
            "found card data in the database"
        );
    }
    assert!(haystack.contains(&format!("{}****{}", &pan[..6], &pan[pan.len() - 4..])));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Broadcasts on `broker` (embedded or Mosquitto): one device on the default topic, one on
/// the topic its posparam.ini gave it, one disabled.
async fn broadcast_scenario(broker: Option<(String, u16)>) {
    let gw = MqttGateway::start(broker, bench).await;
    let a = random_sn();
    let b = random_sn();
    let ta = ds50_terminal(&gw.admin, gw.merchant, &a).await;
    let tb = ds50_terminal(&gw.admin, gw.merchant, &b).await;
    // A DS50 terminal is its serial number; a code that cannot be one is refused.
    let (status, _) = gw
        .admin
        .post(
            "/admin/v1/terminals",
            json!({"family": "ds50", "code": "SN:1", "merchant_id": gw.merchant}),
        )
        .await;
    assert_eq!(status, 400);
    let topic_b = format!("shop{}/speaker", rand::random::<u32>());
    let res = gw
        .admin
        .http
        .post(format!(
            "{}/admin/v1/terminals/{tb}/posparam",
            gw.admin.base
        ))
        .bearer_auth(common::TOKEN)
        .json(&json!({"mqtt_topic": topic_b}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let params = PosParam::parse(&res.text().await.unwrap()).unwrap();
    assert_eq!(params.mqtt.topic, topic_b);
    // A later posparam without a topic keeps the device's.
    assert_eq!(posparam(&gw.admin, tb).await.mqtt.topic, topic_b);
    let disabled = random_sn();
    let tc = ds50_terminal(&gw.admin, gw.merchant, &disabled).await;
    let (status, _) = gw
        .admin
        .patch(
            &format!("/admin/v1/terminals/{tc}"),
            json!({"status": "disabled"}),
        )
        .await;
    assert_eq!(status, 200);
    let (_client_a, mut sub_a) = subscriber(&gw.host, gw.port, &format!("pos/message/{a}")).await;
    let (_client_b, mut sub_b) = subscriber(&gw.host, gw.port, &format!("{topic_b}/{b}")).await;

    let (status, out) = gw
        .admin
        .post(
            &format!("/admin/v1/terminals/{ta}/broadcast"),
            json!({"message": "Payment received", "amount": 6666, "trans_type": "00", "order_id": "o-1"}),
        )
        .await;
    assert_eq!(status, 200, "{out}");
    let (topic, payload) = next_publish(&mut sub_a).await;
    assert_eq!(topic, format!("pos/message/{a}"));
    assert_eq!(payload["amount"], "6666");
    assert_eq!(payload["transType"], "00");
    assert_eq!(payload["orderId"], "o-1");
    assert_eq!(payload["message"], "Payment received");

    let (status, out) = gw
        .admin
        .post(
            &format!("/admin/v1/merchants/{}/broadcast", gw.merchant),
            json!({"amount": 100, "trans_type": "99", "order_id": "o-2"}),
        )
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["published"], json!([a, b]), "active devices only");
    for (sub, topic) in [
        (&mut sub_a, format!("pos/message/{a}")),
        (&mut sub_b, format!("{topic_b}/{b}")),
    ] {
        let (got, payload) = next_publish(sub).await;
        assert_eq!(got, topic);
        assert_eq!(payload["orderId"], "o-2");
        assert_eq!(payload["transType"], "99");
    }

    let (status, _) = gw
        .admin
        .post(
            &format!("/admin/v1/terminals/{ta}/broadcast"),
            json!({"amount": 1, "trans_type": "42", "order_id": "o-3"}),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = gw
        .admin
        .post(
            &format!("/admin/v1/terminals/{tc}/broadcast"),
            json!({"amount": 1, "trans_type": "99", "order_id": "o-4"}),
        )
        .await;
    assert_eq!(status, 409, "a disabled device gets nothing");
    let (status, _) = gw
        .admin
        .http
        .post(format!(
            "{}/admin/v1/terminals/{ta}/posparam",
            gw.admin.base
        ))
        .bearer_auth(common::TOKEN)
        .json(&json!({"mqtt_topic": "pos/#"}))
        .send()
        .await
        .map(|r| (r.status().as_u16(), ()))
        .unwrap();
    assert_eq!(status, 400, "wildcards are not topics");
    gw.running.stop().await;
}

#[actix_rt::test]
async fn broadcasts_reach_the_device_topic_embedded_broker() {
    broadcast_scenario(None).await;
}

#[actix_rt::test]
async fn broadcasts_reach_the_device_topic_mosquitto() {
    let Some(broker) = common::mqtt::mosquitto() else {
        return;
    };
    broadcast_scenario(Some(broker)).await;
}

#[actix_rt::test]
async fn no_card_data_in_the_logs() {
    let logs = common::logs::captured();
    let gw = Ds50::start(config(None)).await;
    let key = gw.key.clone();
    let (_, pan) = gw.card(gw.merchant, 500).await;
    // Approved, declined (insufficient), retried, unknown card, wrong key, malformed.
    gw.sale(Auth::Bearer(&key), &pan, "1.00", 1).await;
    gw.sale(Auth::Bearer(&key), &pan, "9.00", 2).await;
    gw.sale(Auth::Bearer(&key), &pan, "9.00", 2).await;
    let unknown = random_pan();
    gw.sale(Auth::Bearer(&key), &unknown, "1.00", 3).await;
    gw.sale(Auth::Bearer("wrong-key"), &pan, "1.00", 4).await;
    gw.sale(Auth::Header(&key), &pan, "1.005", 5).await;
    let mut bad = sale_body(&gw.sn, &pan, "1.00", 6);
    bad["track2"] = json!(format!("{pan}X270120115195475"));
    gw.post("/ds50/v1/sale", Auth::Bearer(&key), bad).await;
    gw.running.stop().await;
    let text = common::logs::text(&logs);
    assert!(
        text.contains("DS50 API key and broker login issued"),
        "the capture works: gateway log lines are in it"
    );
    for secret in [
        pan.as_str(),
        unknown.as_str(),
        &track2(&pan),
        PIN,
        "9F260888C89C10C57849A7",
        key.as_str(),
        gw.mqtt_password.as_str(),
        common::TOKEN,
    ] {
        assert!(
            !text.contains(secret),
            "found card data or a key in the logs"
        );
    }
}

/// The day a key issued now for `days` days is valid through, in the business day of
/// `offset_minutes`, and the millisecond it is refused from (the next midnight there).
fn expected_expiry(now_ms: i64, days: u64, offset_minutes: i64) -> (String, i64) {
    let offset = offset_minutes * 60_000;
    let today = chrono::DateTime::from_timestamp_millis(now_ms + offset)
        .unwrap()
        .date_naive();
    let last = today.checked_add_days(chrono::Days::new(days)).unwrap();
    let end = last.succ_opt().unwrap().and_hms_opt(0, 0, 0).unwrap();
    (
        last.format("%Y%m%d").to_string(),
        end.and_utc().timestamp_millis() - offset,
    )
}

/// Review 3.4: a key is valid through the end of its `pgw_api_key_expiry` in the server's
/// business day (`ledger.utc_offset_minutes`), not until now + N days in UTC.
#[actix_rt::test]
async fn keys_are_valid_through_the_end_of_their_expiry_date() {
    let mut c = config(None);
    c.ledger.utc_offset_minutes = 480;
    let gw = Ds50::start(c).await;
    let before = now_ms();
    let (status, view) = gw
        .admin
        .post(
            &format!("/admin/v1/merchants/{}/ds50/api-keys", gw.merchant),
            json!({"expires_in_days": 1}),
        )
        .await;
    let after = now_ms();
    assert_eq!(status, 201, "{view}");
    let candidates = [
        expected_expiry(before, 1, 480),
        expected_expiry(after, 1, 480),
    ];
    let got = (
        view["api_key_expiry"].as_str().unwrap().to_string(),
        view["expires_at_ms"].as_i64().unwrap(),
    );
    assert!(candidates.contains(&got), "{got:?} not in {candidates:?}");
    // The posparam.ini of a device says the same date.
    let terminal = ds50_terminal_id(&gw).await;
    let params = posparam(&gw.admin, terminal).await;
    let (date, _) = expected_expiry(now_ms(), 30, 480);
    assert_eq!(params.payment.api_key_expiry.to_compact(), date);
    gw.running.stop().await;
}

/// Review 3.2 and 3.3 on one backend: a sale without a PIN is approved, an expired card is
/// refused (54), a re-used trace identity with other content is a conflict (94) and never a
/// replay, a true retry gets the first answer, and a reversal undoes an approved sale (or
/// refuses a sale that arrives after it).
async fn trace_scenario(c: Config) {
    let gw = Ds50::start(c).await;
    let key = gw.key.clone();
    let auth = Auth::Bearer(&key);
    let (account, pan) = gw.card(gw.merchant, 10_000).await;

    // No PIN entered: the device leaves `pin` out.
    let no_pin = edit(sale_body(&gw.sn, &pan, "1.00", 1), &[("pin", Value::Null)]);
    let (status, first) = gw.sale_json(auth, no_pin.clone()).await;
    assert_eq!(
        (status, first["acqResponseCode"].as_str()),
        (200, Some("00")),
        "{first}"
    );
    assert_eq!(gw.cash(account).await, 9_900);

    // An expired card (track 2 says 2001-12).
    let expired = edit(
        sale_body(&gw.sn, &pan, "1.00", 2),
        &[("track2", json!(format!("{pan}D011220115195475")))],
    );
    let (_, refused) = gw.sale_json(auth, expired).await;
    assert_eq!(refused["acqResponseCode"], "54", "{refused}");
    assert_eq!(refused["transStatus"], "DECLINE");
    assert_eq!(gw.cash(account).await, 9_900);

    // The trace identity of sale 1 with another time, date or amount: a conflict.
    for change in [
        ("time", json!("15:50:24")),
        ("date", json!("2025-12-16")),
        ("transAmount", json!("2.00")),
    ] {
        let body = edit(no_pin.clone(), std::slice::from_ref(&change));
        let (_, reply) = gw.sale_json(auth, body).await;
        assert_eq!(reply["acqResponseCode"], "94", "{change:?}: {reply}");
        assert_eq!(reply["acqAuthCode"], "");
    }
    assert_eq!(gw.cash(account).await, 9_900);
    // A true retry still gets the first answer.
    assert_eq!(gw.sale_json(auth, no_pin).await.1, first);

    // A box that declines after posgate approved sends a reversal: the money comes back.
    let (_, approved) = gw.sale(auth, &pan, "3.00", 3).await;
    assert_eq!(approved["acqResponseCode"], "00");
    assert_eq!(gw.cash(account).await, 9_600);
    let reversal = edit(
        sale_body(&gw.sn, &pan, "3.00", 3),
        &[("transType", json!("REVERSAL"))],
    );
    let (_, reversed) = gw.sale_json(auth, reversal.clone()).await;
    assert_eq!(reversed["acqResponseCode"], "00", "{reversed}");
    assert_eq!(gw.cash(account).await, 9_900);
    assert_eq!(gw.sale_json(auth, reversal).await.1, reversed, "a retry");
    assert_eq!(gw.cash(account).await, 9_900);
    // A reversal that names the sale with another amount is a conflict.
    let wrong = edit(
        sale_body(&gw.sn, &pan, "4.00", 3),
        &[("transType", json!("REVERSAL"))],
    );
    assert_eq!(gw.sale_json(auth, wrong).await.1["acqResponseCode"], "94");

    // A reversal that arrives before its sale: the late sale is refused.
    let early = edit(
        sale_body(&gw.sn, &pan, "5.00", 4),
        &[("transType", json!("REVERSAL"))],
    );
    assert_eq!(gw.sale_json(auth, early).await.1["acqResponseCode"], "00");
    let (_, late) = gw.sale(auth, &pan, "5.00", 4).await;
    assert_eq!(late["transStatus"], "DECLINE", "{late}");
    assert_eq!(gw.cash(account).await, 9_900);

    // A disabled device takes no sale, but its reversals still complete.
    let (_, approved) = gw.sale(auth, &pan, "6.00", 5).await;
    assert_eq!(approved["acqResponseCode"], "00");
    let terminal = ds50_terminal_id(&gw).await;
    let (status, _) = gw
        .admin
        .patch(
            &format!("/admin/v1/terminals/{terminal}"),
            json!({"status": "disabled"}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, refused) = gw.sale(auth, &pan, "1.00", 6).await;
    assert_eq!(refused["acqResponseCode"], "03", "{refused}");
    let reversal = edit(
        sale_body(&gw.sn, &pan, "6.00", 5),
        &[("transType", json!("REVERSAL"))],
    );
    assert_eq!(
        gw.sale_json(auth, reversal).await.1["acqResponseCode"],
        "00"
    );
    assert_eq!(gw.cash(account).await, 9_900);

    // The details show the reversed sale declined.
    let query = json!({"deviceSn": gw.sn, "pageNo": "1", "pageSize": "20", "date": "2025-12-15"});
    let (_, details, _) = gw.post("/ds50/v1/transactions", auth, query).await;
    let status_of = |trace: &str| {
        details["transInfo"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["traceNo"] == trace)
            .map(|e| e["transStatus"].clone())
    };
    assert_eq!(status_of("000001"), Some(json!("APPROVED")));
    assert_eq!(status_of("000003"), Some(json!("DECLINED")), "{details}");
    gw.running.stop().await;
}

#[actix_rt::test]
async fn traces_pins_expiry_and_reversals_on_sqlite() {
    trace_scenario(config(None)).await;
}

#[actix_rt::test]
async fn traces_pins_expiry_and_reversals_on_postgres() {
    let Some(url) = testing::scratch_pg_url() else {
        return;
    };
    trace_scenario(config(Some(url))).await;
}

/// Review 3.5: every refusal a DS50 device can receive is DS50 JSON in the endpoint's reply
/// shape (`acqResponseCode` / `respCode` 30), never a bare HTTP error.
#[actix_rt::test]
async fn every_refusal_is_ds50_json() {
    let gw = Ds50::start(config(None)).await;
    let (_, pan) = gw.card(gw.merchant, 1_000).await;
    let http = &gw.admin.http;
    let url = |path: &str| format!("{}{path}", gw.admin.base);
    let sale = sale_body(&gw.sn, &pan, "1.00", 1);
    let oversized = edit(sale.clone(), &[("padding", json!("x".repeat(9 * 1024)))]);
    let huge = edit(sale.clone(), &[("padding", json!("x".repeat(300 * 1024)))]);
    let cases: Vec<(&str, reqwest::RequestBuilder, u16)> = vec![
        (
            "sale over 8 KiB",
            http.post(url("/ds50/v1/sale")).json(&oversized),
            413,
        ),
        (
            "sale over the HTTP limit",
            http.post(url("/ds50/v1/sale")).json(&huge),
            413,
        ),
        (
            "details over 8 KiB",
            http.post(url("/ds50/v1/transactions")).json(&oversized),
            413,
        ),
        (
            "not JSON",
            http.post(url("/ds50/v1/sale"))
                .header("content-type", "text/plain")
                .body(sale.to_string()),
            415,
        ),
        (
            "malformed JSON",
            http.post(url("/ds50/v1/sale"))
                .header("content-type", "application/json")
                .body("{\"deviceSn\":"),
            200,
        ),
        ("GET on the sale path", http.get(url("/ds50/v1/sale")), 405),
        (
            "GET on the details path",
            http.get(url("/ds50/v1/transactions")),
            405,
        ),
        (
            "unknown path",
            http.post(url("/ds50/v1/refund")).json(&sale),
            404,
        ),
    ];
    for (what, request, expected) in cases {
        let res = request.bearer_auth(&gw.key).send().await.unwrap();
        let status = res.status().as_u16();
        let is_json = res
            .headers()
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap().starts_with("application/json"));
        let text = res.text().await.unwrap();
        let body: Value =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{what}: not JSON: {text}"));
        assert_eq!(status, expected, "{what}: {text}");
        assert!(is_json, "{what}");
        let code = body
            .get("acqResponseCode")
            .or_else(|| body.get("respCode"))
            .and_then(Value::as_str);
        assert_eq!(code, Some("30"), "{what}: {text}");
    }
    // Unknown fields are ignored (the reference firmware adds its own).
    let extra = edit(sale, &[("staffId", json!("0001")), ("sysId", json!("001"))]);
    let (_, approved) = gw.sale_json(Auth::Bearer(&gw.key), extra).await;
    assert_eq!(approved["acqResponseCode"], "00", "{approved}");
    gw.running.stop().await;
}

/// Review 3.1 on one backend: each posparam.ini carries a broker login of the device's own
/// (stored as a SHA-256 only), never the gateway's; the broker host is the configured public
/// one; the API key is stored hashed.
async fn login_scenario(mut c: Config) {
    c.mqtt.username = "gateway-user".into();
    c.mqtt.password = posgate::secret::Secret::new("gateway-secret-password".into());
    c.mqtt.public_base_url = "https://pay.example:8443".into();
    c.ds50.allow_cleartext = false;
    c.ds50.mqtt_public_host = "mqtt.pay.example".into();
    c.ds50.mqtt_public_port = 8883;
    let (running, admin, merchant) = gateway(c).await;
    let mut logins = Vec::new();
    for _ in 0..2 {
        let sn = random_sn();
        let id = ds50_terminal(&admin, merchant, &sn).await;
        let params = posparam(&admin, id).await;
        assert_eq!(params.mqtt.endpoint, "mqtt.pay.example");
        assert_eq!(params.mqtt.port, 8883);
        assert!(params.payment.ssl_verify, "https: pgw_ssl_cert 1");
        assert_eq!(params.payment.endpoint, "https://pay.example");
        let MqttAuth::Password { username, password } = &params.mqtt.auth else {
            panic!("a password login");
        };
        assert_eq!(username, &format!("ds50-{sn}"));
        assert_ne!(password.expose(), "gateway-secret-password");
        assert!(password.expose().len() >= 32);
        let stored = running
            .gateway
            .store
            .transaction(move |db| Box::pin(store_ds50::mqtt_credentials(db, id)))
            .await
            .unwrap()
            .expect("the login is stored");
        assert_eq!(stored.username, *username);
        assert_eq!(
            stored.password_sha256,
            posgate::http::ds50::key_hash(password.expose())
        );
        logins.push(password.expose().clone());
    }
    assert_ne!(logins[0], logins[1], "one login per device");
    // A topic longer than the firmware's mqtt_topic buffer (31 bytes) is refused.
    let id = ds50_terminal(&admin, merchant, &random_sn()).await;
    let (status, body) = admin
        .post(
            &format!("/admin/v1/terminals/{id}/posparam"),
            json!({"mqtt_topic": "t".repeat(32)}),
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("mqtt_topic")),
        "{body}"
    );
    running.stop().await;
}

#[actix_rt::test]
async fn posparam_issues_a_login_per_device_on_sqlite() {
    login_scenario(config(None)).await;
}

#[actix_rt::test]
async fn posparam_issues_a_login_per_device_on_postgres() {
    let Some(url) = testing::scratch_pg_url() else {
        return;
    };
    login_scenario(config(Some(url))).await;
}

/// Review 3.1: no file that a device could not use safely: the embedded broker's listen
/// address, an unspecified address, or an http:// payment URL without the operator's
/// explicit `ds50.allow_cleartext`.
#[actix_rt::test]
async fn posparam_refuses_unreachable_brokers_and_clear_text() {
    type Tweak = fn(&mut Config);
    let refusals: [(&str, Tweak, &str); 3] = [
        (
            "embedded broker, no public host",
            |c| c.ds50.allow_cleartext = true,
            "ds50.mqtt_public_host",
        ),
        (
            "unspecified public host",
            |c| {
                c.ds50.allow_cleartext = true;
                c.ds50.mqtt_public_host = "0.0.0.0".into();
            },
            "ds50.mqtt_public_host",
        ),
        (
            "http:// without allow_cleartext",
            |c| c.ds50.mqtt_public_host = PUBLIC_MQTT_HOST.into(),
            "ds50.allow_cleartext",
        ),
    ];
    for (what, tweak, hint) in refusals {
        let mut c = config(None);
        tweak(&mut c);
        let (running, admin, merchant) = gateway(c).await;
        let id = ds50_terminal(&admin, merchant, &random_sn()).await;
        let (status, body) = admin
            .post(&format!("/admin/v1/terminals/{id}/posparam"), json!({}))
            .await;
        assert_eq!(status, 409, "{what}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains(hint),
            "{what}: {body}"
        );
        running.stop().await;
    }
    // Allowed explicitly: the file says pgw_ssl_cert 0.
    let mut c = config(None);
    bench(&mut c);
    let (running, admin, merchant) = gateway(c).await;
    let id = ds50_terminal(&admin, merchant, &random_sn()).await;
    let params = posparam(&admin, id).await;
    assert!(!params.payment.ssl_verify);
    assert_eq!(params.mqtt.endpoint, PUBLIC_MQTT_HOST);
    running.stop().await;
}

/// Review 3.6: a broadcast-initiated sale is charged in cents, never 100 times. The box gets
/// `"amount":"6666"` (cents) with `"transType":"00"`, starts the card sale with that EMV
/// amount (9F02 = 000000006666), and must send `transAmount` "66.66": a box that sends the
/// cents as `transAmount` ("6666", or "6666.00") is refused with 13 and nothing is debited.
#[actix_rt::test]
async fn a_broadcast_sale_is_never_charged_100_times() {
    let mqtt = MqttGateway::start(None, bench).await;
    let (host, port) = (mqtt.host.clone(), mqtt.port);
    let gw = Ds50::provision(mqtt.running, mqtt.admin, mqtt.merchant).await;
    let (account, pan) = gw.card(gw.merchant, 100_000).await;
    let (_client, mut sub) = subscriber(&host, port, &format!("pos/message/{}", gw.sn)).await;
    let terminal = ds50_terminal_id(&gw).await;
    let (status, out) = gw
        .admin
        .post(
            &format!("/admin/v1/terminals/{terminal}/broadcast"),
            json!({"amount": 6666, "trans_type": "00", "order_id": "order-1"}),
        )
        .await;
    assert_eq!(status, 200, "{out}");
    let (_, payload) = next_publish(&mut sub).await;
    assert_eq!(payload["transType"], "00");
    let cents = payload["amount"].as_str().unwrap().to_string();
    assert_eq!(cents, "6666");
    // The box's EMV data carries the amount it charged the card: twelve digits of cents.
    let emv = format!("9F2608{}9F0206{:0>12}", "88C89C10C57849A7", cents);
    let sale = |amount: &str, trace: u32| {
        edit(
            sale_body(&gw.sn, &pan, amount, trace),
            &[("emvData", json!(emv))],
        )
    };
    for (wrong, trace) in [(cents.as_str(), 1), ("6666.00", 2)] {
        let (_, reply) = gw
            .sale_json(Auth::Bearer(&gw.key), sale(wrong, trace))
            .await;
        assert_eq!(reply["acqResponseCode"], "13", "{wrong}: {reply}");
    }
    // Without EMV data (a swiped card) the integer is refused as well.
    let swiped = edit(
        sale_body(&gw.sn, &pan, &cents, 3),
        &[("emvData", json!(""))],
    );
    let (_, reply) = gw.sale_json(Auth::Bearer(&gw.key), swiped).await;
    assert_eq!(reply["acqResponseCode"], "13", "{reply}");
    assert_eq!(gw.cash(account).await, 100_000);
    let (_, approved) = gw.sale_json(Auth::Bearer(&gw.key), sale("66.66", 4)).await;
    assert_eq!(approved["acqResponseCode"], "00", "{approved}");
    assert_eq!(gw.cash(account).await, 100_000 - 6666);
    gw.running.stop().await;
}
