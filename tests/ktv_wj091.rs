//! WJ091 over a real RabbitMQ, against the venue simulator: every request type 0-9 through the
//! admin API (paging, zipped and plain replies), a silent venue timing out, a venue error,
//! the backfill that stores exactly the missing and changed bills, and the reconnection after
//! the broker closes posgate's connection (`rabbitmqctl close_connection`).

mod common;

use common::{config, Admin};
use posgate::config::Config;
use posgate::secret::Secret;
use posgate::sim::ktv_venue::{bill, bill_net, SimVenue, Uploader, VenueData};
use posgate_actors::testing;
use posgate_protocols::ktv::{AesKey, CompanyCode, RetCode};
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::time::Duration;

const KEY_TEXT: &str = "venue-key-16byte";
const DATE: &str = "2024-03-15";

/// The broker URL (`POSGATE_TEST_AMQP_URL`, default the local RabbitMQ), if reachable.
fn amqp_url() -> Option<String> {
    let url = std::env::var("POSGATE_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into());
    match std::net::TcpStream::connect_timeout(
        &"127.0.0.1:5672".parse().unwrap(),
        Duration::from_secs(2),
    ) {
        Ok(_) => Some(url),
        Err(e) => testing::unavailable("RabbitMQ", &e.to_string()),
    }
}

/// A venue system that listens and never answers: a queue bound for `code`, not consumed.
/// Kept open as long as the returned connection lives.
async fn silent_venue(url: &str, exchange: &str, code: &str) -> lapin::Connection {
    let connection = lapin::Connection::connect(url, lapin::ConnectionProperties::default())
        .await
        .expect("connect to RabbitMQ");
    let channel = connection.create_channel().await.expect("channel");
    posgate::amqp::bind_private_queue(&channel, exchange, code)
        .await
        .expect("bind a queue for the venue");
    connection
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{:016x}", rand::random::<u64>())
}

/// A gateway configured for RabbitMQ with its own exchange and connection name.
fn amqp_config(url: &str, timeout_ms: u64) -> Config {
    let mut c = config(None);
    c.amqp.url = Secret::new(url.to_string());
    c.amqp.exchange = unique("posgate.test.wj091");
    c.amqp.connection_name = unique("posgate-test");
    c.amqp.request_timeout_ms = timeout_ms;
    c
}

struct World {
    running: posgate::app::Running,
    admin: Admin,
    code: String,
    url: String,
}

async fn world(c: Config, url: &str) -> World {
    let running = posgate::app::start(c).await.expect("start gateway");
    let admin = Admin::new(format!("http://{}", running.addr));
    let merchant = admin.merchant().await;
    let code = format!("{:08}", rand::random::<u32>() % 100_000_000);
    let (status, v) = admin
        .post(
            "/admin/v1/venues",
            json!({"companycode": code, "merchant_id": merchant}),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let (status, s) = admin
        .send(
            reqwest::Method::PUT,
            &format!("/admin/v1/venues/{code}/ktv"),
            Some(json!({"key": KEY_TEXT})),
        )
        .await;
    assert_eq!(status, 200, "{s}");
    let rpc = running.gateway.wj091.as_ref().expect("WJ091 enabled").rpc();
    assert!(
        rpc.wait_connected(Duration::from_secs(20)).await,
        "posgate connects to RabbitMQ"
    );
    World {
        running,
        admin,
        code,
        url: url.to_string(),
    }
}

impl World {
    async fn sim(&self, data: VenueData) -> SimVenue {
        SimVenue::serve(
            &self.url,
            &self.running.gateway.config.amqp.exchange,
            &CompanyCode::parse(&self.code).unwrap(),
            data,
        )
        .await
        .expect("simulator connects")
    }

    async fn wj091(&self, body: Value) -> (u16, Value) {
        self.admin
            .post(&format!("/admin/v1/venues/{}/wj091", self.code), body)
            .await
    }

    async fn backfill(&self) -> Value {
        let (status, counts) = self
            .admin
            .post(
                &format!("/admin/v1/venues/{}/backfill", self.code),
                json!({"date": DATE}),
            )
            .await;
        assert_eq!(status, 200, "{counts}");
        counts
    }
}

#[actix_rt::test]
async fn every_type_with_paging_and_zip() {
    let Some(url) = amqp_url() else { return };
    let w = world(amqp_config(&url, 10_000), &url).await;
    let sim = w.sim(VenueData::generate(DATE, 250)).await;

    // Type 0 and 1: single objects.
    let (status, r) = w.wj091(json!({"type": 0})).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["data"]["system"], "TongYu-v1.201803152201");
    assert_eq!(r["data"]["version_num"], 1234);
    let (status, r) = w.wj091(json!({"type": 1, "zip": false})).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["data"]["revenue"], 18_203_300);
    assert_eq!(r["data"]["room_states"].as_array().unwrap().len(), 12);

    // Type 2: every page (250 bills in pages of 100), zipped and plain.
    let before = sim.requests.load(Ordering::Relaxed);
    for zip in [true, false] {
        let (status, r) = w
            .wj091(json!({"type": 2, "date": DATE, "page_size": 100, "zip": zip}))
            .await;
        assert_eq!(status, 200, "{r}");
        assert_eq!(r["total"], 250);
        assert_eq!(r["pages"], 3);
        let bills = r["data"].as_array().unwrap();
        assert_eq!(bills.len(), 250);
        assert_eq!(bills[0]["voucher"], "R2024031500000");
        assert_eq!(bills[249]["voucher"], "R2024031500249");
        assert_eq!(bills[3]["charges"][1]["details"][0]["num"], 2.5);
    }
    assert_eq!(sim.requests.load(Ordering::Relaxed) - before, 6);
    // An admin call follows at most 20 pages, then says where to continue.
    let (status, r) = w
        .wj091(json!({"type": 2, "date": DATE, "page_size": 10}))
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["pages"], 20);
    assert_eq!(r["data"].as_array().unwrap().len(), 200);
    assert_eq!(r["next_page_num"], 20);
    let (_, r) = w
        .wj091(json!({"type": 2, "date": DATE, "page_size": 10, "page_num": 20}))
        .await;
    assert_eq!(r["pages"], 5);
    assert_eq!(r["next_page_num"], Value::Null);
    assert_eq!(r["data"][0]["voucher"], "R2024031500200");
    // One page only, from page 2.
    let (status, r) = w
        .wj091(
            json!({"type": 2, "date": DATE, "page_size": 100, "page_num": 2, "all_pages": false}),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["data"].as_array().unwrap().len(), 50);
    assert_eq!(r["data"][0]["voucher"], "R2024031500200");
    // One voucher.
    let (status, r) = w
        .wj091(json!({"type": 2, "date": DATE, "voucher": "R2024031500007"}))
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["data"].as_array().unwrap().len(), 1);

    // Types 3, 5, 8: paged rows (3 each, pages of 2).
    for kind in [3, 5, 8] {
        let (status, r) = w
            .wj091(json!({"type": kind, "date": DATE, "page_size": 2}))
            .await;
        assert_eq!(status, 200, "type {kind}: {r}");
        assert_eq!(r["pages"], 2, "type {kind}");
        assert_eq!(r["data"].as_array().unwrap().len(), 3, "type {kind}");
    }
    let (_, r) = w.wj091(json!({"type": 5, "date": DATE})).await;
    assert_eq!(r["data"][0]["acceptmoney"], 5_000);
    // Type 4: one room's consumption.
    let (status, r) = w.wj091(json!({"type": 4, "room_id": "23"})).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["data"]["wine_info"][0]["sellmoney"], 1_500);
    // Type 6: payment settings (unzipped by default).
    let (status, r) = w.wj091(json!({"type": 6})).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["data"][1]["payment_alias_name"], "会员卡");
    // Type 7: room openings (raw rows).
    let (status, r) = w.wj091(json!({"type": 7, "date": DATE})).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["data"][0]["room_id"], "0010");
    // Type 9: bookings of a room.
    let (status, r) = w
        .wj091(
            json!({"type": 9, "room_id": "0006", "begin_date": "2024-03-15 00:00:00",
            "end_date": "2024-03-16 00:00:00"}),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["data"][0]["room_id"], "0006");
    assert_eq!(r["data"][0]["reserve_time"], "2024-03-15 00:00:00");

    // Bad requests never leave posgate.
    let before = sim.requests.load(Ordering::Relaxed);
    let (status, r) = w.wj091(json!({"type": 2})).await;
    assert_eq!(status, 400, "{r}");
    assert_eq!(r["field"], "date");
    let (status, _) = w.wj091(json!({"type": 10})).await;
    assert_eq!(status, 400);
    let (status, _) = w
        .wj091(json!({"type": 2, "date": DATE, "page_size": 500}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(sim.requests.load(Ordering::Relaxed), before);

    // A venue that answers an error.
    sim.data.lock().unwrap().fail_ret = 3;
    let (status, r) = w.wj091(json!({"type": 0})).await;
    assert_eq!(status, 502, "{r}");
    assert_eq!(r["error"], "venue_error");
    sim.stop().await;
    w.running.stop().await;
}

#[actix_rt::test]
async fn a_silent_venue_times_out_and_no_broker_is_a_clear_error() {
    let Some(url) = amqp_url() else { return };
    let c = amqp_config(&url, 300);
    let exchange = c.amqp.exchange.clone();
    let w = world(c, &url).await;
    // Nothing bound for this venue: the broker returns the request at once.
    let (status, r) = w.wj091(json!({"type": 0})).await;
    assert_eq!(status, 502, "{r}");
    assert_eq!(r["error"], "venue_not_connected");
    // A venue queue that is bound but never answered: the request waits out the timeout.
    let silent = silent_venue(&url, &exchange, &w.code).await;
    let (status, r) = w.wj091(json!({"type": 0})).await;
    assert_eq!(status, 504, "{r}");
    assert_eq!(r["error"], "venue_timeout");
    let (status, r) = w
        .admin
        .post(
            &format!("/admin/v1/venues/{}/backfill", w.code),
            json!({"date": DATE}),
        )
        .await;
    assert_eq!(status, 504, "{r}");
    drop(silent);
    w.running.stop().await;

    // Without amqp.url, WJ091 is disabled with a clear message.
    let running = posgate::app::start(config(None)).await.unwrap();
    let admin = Admin::new(format!("http://{}", running.addr));
    let (status, r) = admin
        .post("/admin/v1/venues/01103/wj091", json!({"type": 0}))
        .await;
    assert_eq!(status, 503, "{r}");
    assert_eq!(r["error"], "wj091_disabled");
    assert!(r["message"].as_str().unwrap().contains("amqp.url"));
    running.stop().await;
}

fn grow(bill: &mut Value, delta: i64) {
    let room = bill["charges"][0]["charge"].as_i64().unwrap();
    bill["charges"][0]["charge"] = (room + delta).into();
    for field in ["value", "translatemoney"] {
        let v = bill["payments"][0][field].as_i64().unwrap();
        bill["payments"][0][field] = (v + delta).into();
    }
}

#[actix_rt::test]
async fn backfill_fills_exactly_the_gaps_on_sqlite() {
    let Some(url) = amqp_url() else { return };
    backfill_scenario(amqp_config(&url, 10_000), &url).await;
}

#[actix_rt::test]
async fn backfill_fills_exactly_the_gaps_on_postgres() {
    let Some(url) = amqp_url() else { return };
    let Some(pg) = testing::scratch_pg_url() else {
        return;
    };
    let mut c = amqp_config(&url, 10_000);
    c.database.url = Secret::new(pg);
    backfill_scenario(c, &url).await;
}

async fn backfill_scenario(mut c: Config, url: &str) {
    c.ktv.wj091_page_size = 7;
    let w = world(c, url).await;
    let mut data = VenueData::generate(DATE, 30);
    let mut unbalanced = bill(DATE, 99);
    unbalanced["charges"][0]["charge"] = 1.into();
    data.bills.get_mut(DATE).unwrap().push(unbalanced);
    let all: Vec<Value> = data.bills[DATE].clone();
    let sim = w.sim(data).await;

    // The uploads reached posgate for bills 0-9, and bill 10 in an older version.
    let uploader = Uploader::new(
        format!("http://{}/gateway/upload", w.running.addr),
        CompanyCode::parse(&w.code).unwrap(),
        Some(AesKey::from_text(KEY_TEXT).unwrap()),
    );
    let r = uploader.vouchers(&all[..10]).await.unwrap();
    assert_eq!(r.code(), Some(RetCode::Ok), "{r:?}");
    let mut older = all[10].clone();
    grow(&mut older, -1_000);
    assert_eq!(
        uploader.vouchers(&[older]).await.unwrap().code(),
        Some(RetCode::Ok)
    );

    let counts = w.backfill().await;
    assert_eq!(counts["fetched"], 31, "{counts}");
    assert_eq!(counts["new"], 19, "{counts}");
    assert_eq!(counts["changed"], 1, "{counts}");
    assert_eq!(counts["unchanged"], 10, "{counts}");
    assert_eq!(counts["invalid"], 1, "{counts}");
    assert!(counts["invalid_bills"][0]
        .as_str()
        .unwrap()
        .contains("R2024031500099"));
    // 31 rows in pages of 7: 5 requests.
    assert_eq!(sim.requests.load(Ordering::Relaxed), 5);

    // The stored day is now the venue's day, less the invalid bill.
    let (_, o) = w
        .admin
        .get(&format!("/admin/v1/venues/{}/overview", w.code))
        .await;
    let day = o["days"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["business_date"] == DATE)
        .unwrap()
        .clone();
    assert_eq!(day["bills"], 30);
    let expected: i64 = all[..30]
        .iter()
        .map(|b| b["fact_charge"].as_i64().unwrap())
        .sum();
    assert_eq!(day["revenue"], expected);
    let (_, bills) = w
        .admin
        .get(&format!("/admin/v1/venues/{}/bills?date={DATE}", w.code))
        .await;
    let sources: Vec<&str> = bills
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources.iter().filter(|s| **s == "upload").count(), 10);
    assert_eq!(sources.iter().filter(|s| **s == "wj091").count(), 20);

    // A second run finds nothing to do.
    let again = w.backfill().await;
    assert_eq!(again["new"], 0, "{again}");
    assert_eq!(again["changed"], 0, "{again}");
    assert_eq!(again["unchanged"], 30, "{again}");
    assert_eq!(again["invalid"], 1, "{again}");
    sim.stop().await;
    w.running.stop().await;
}

/// `rabbitmqctl close_connection` for the connection named `name`; `None` (skip notice) when
/// rabbitmqctl is not usable here.
fn close_connection_by_name(name: &str) -> Option<()> {
    let list = std::process::Command::new("rabbitmqctl")
        .args([
            "-q",
            "list_connections",
            "--no-table-headers",
            "pid",
            "client_properties",
        ])
        .output();
    let list = match list {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        Ok(out) => {
            return testing::unavailable("rabbitmqctl", &String::from_utf8_lossy(&out.stderr))
        }
        Err(e) => return testing::unavailable("rabbitmqctl", &e.to_string()),
    };
    let pid = list
        .lines()
        .find(|l| l.contains(&format!("{{\"connection_name\",\"{name}\"}}")))
        .and_then(|l| l.split('\t').next())
        .map(str::to_string)
        .unwrap_or_else(|| {
            panic!("posgate's connection {name} is not listed by the broker: {list}")
        });
    let closed = std::process::Command::new("rabbitmqctl")
        .args(["-q", "close_connection", &pid, "test: closed by the server"])
        .status()
        .expect("run rabbitmqctl");
    assert!(closed.success());
    Some(())
}

#[actix_rt::test]
async fn reconnects_after_the_server_closes_the_connection() {
    let Some(url) = amqp_url() else { return };
    let mut c = amqp_config(&url, 10_000);
    // A long first backoff leaves a window where calls must fail fast.
    c.amqp.reconnect_backoff_min_ms = 3_000;
    let name = c.amqp.connection_name.clone();
    let w = world(c, &url).await;
    let sim = w.sim(VenueData::generate(DATE, 3)).await;
    let (status, r) = w.wj091(json!({"type": 0})).await;
    assert_eq!(status, 200, "{r}");

    if close_connection_by_name(&name).is_none() {
        return;
    }
    let rpc = w.running.gateway.wj091.as_ref().unwrap().rpc().clone();
    let mut waited = 0;
    while rpc.connected() {
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += 1;
        assert!(waited < 1_000, "the loss is noticed");
    }
    // Disconnected: fails at once with a clear error instead of waiting for the timeout.
    let (status, r) = w.wj091(json!({"type": 0})).await;
    assert_eq!(status, 503, "{r}");
    assert_eq!(r["error"], "amqp_disconnected");
    // Back after the backoff, with a new reply queue.
    assert!(
        rpc.wait_connected(Duration::from_secs(30)).await,
        "reconnected"
    );
    let (status, r) = w.wj091(json!({"type": 2, "date": DATE})).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["data"].as_array().unwrap().len(), 3);
    sim.stop().await;
    w.running.stop().await;
}

#[actix_rt::test]
async fn scheduled_backfill_pulls_the_day() {
    let Some(url) = amqp_url() else { return };
    let mut c = amqp_config(&url, 10_000);
    c.ktv.backfill_interval_seconds = 1;
    c.ktv.backfill_days_back = 0;
    let w = world(c, &url).await;
    let today = w
        .running
        .gateway
        .business_date()
        .format("%Y-%m-%d")
        .to_string();
    let sim = w.sim(VenueData::generate(&today, 5)).await;
    let mut bills = 0;
    for _ in 0..300 {
        let (_, o) = w
            .admin
            .get(&format!("/admin/v1/venues/{}/overview", w.code))
            .await;
        bills = o["days"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["business_date"] == today.as_str())
            .map_or(0, |d| d["bills"].as_i64().unwrap());
        if bills == 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(bills, 5, "the scheduled backfill stored the day's bills");
    sim.stop().await;
    w.running.stop().await;
}

#[actix_rt::test]
async fn two_replicas_each_get_their_own_replies() {
    let Some(url) = amqp_url() else { return };
    let first = amqp_config(&url, 10_000);
    let exchange = first.amqp.exchange.clone();
    let w = world(first, &url).await;
    // A second replica publishing to the same exchange (its own in-memory store: WJ091 needs
    // no venue record, and the transport is what this checks).
    let mut second_config = amqp_config(&url, 10_000);
    second_config.amqp.exchange = exchange;
    let second = posgate::app::start(second_config).await.unwrap();
    assert!(
        second
            .gateway
            .wj091
            .as_ref()
            .unwrap()
            .rpc()
            .wait_connected(Duration::from_secs(20))
            .await
    );
    let second_admin = Admin::new(format!("http://{}", second.addr));
    let sim = w.sim(VenueData::generate(DATE, 120)).await;
    let path = format!("/admin/v1/venues/{}/wj091", w.code);
    let body = json!({"type": 2, "date": DATE, "page_size": 50});
    let calls = (0..4).map(|i| {
        let admin = if i % 2 == 0 { &w.admin } else { &second_admin };
        let (path, body) = (path.clone(), body.clone());
        async move { admin.post(&path, body).await }
    });
    for (status, r) in futures::future::join_all(calls).await {
        assert_eq!(status, 200, "{r}");
        assert_eq!(r["pages"], 3);
        assert_eq!(r["data"].as_array().unwrap().len(), 120);
    }
    assert_eq!(sim.requests.load(Ordering::Relaxed), 12);
    sim.stop().await;
    second.stop().await;
    w.running.stop().await;
}

impl World {
    async fn get(&self, what: &str) -> Value {
        let (status, v) = self
            .admin
            .get(&format!("/admin/v1/venues/{}/{what}", self.code))
            .await;
        assert_eq!(status, 200, "{v}");
        v
    }

    /// The completeness of `date`.
    async fn day_status(&self, date: &str) -> Value {
        self.get(&format!("days?from={date}&to={date}")).await[0].clone()
    }
}

/// Review 5.2: a venue that ignores `page_size`, one whose pages repeat vouchers, and bills
/// the venue no longer lists (voided there): the day is read to its `total`, the repeats are
/// counted, the missing bill flagged, and the day ends complete; every attempt is listed.
async fn backfill_pages_as_the_venue_sends_them(mut c: Config, url: &str) {
    c.ktv.wj091_page_size = 7;
    let w = world(c, url).await;
    let mut data = VenueData::generate(DATE, 30);
    data.ignores_page_size = true;
    let sim = w.sim(data).await;
    let counts = w.backfill().await;
    assert_eq!(counts["fetched"], 30, "{counts}");
    assert_eq!(counts["new"], 30, "{counts}");
    assert_eq!(counts["total"], 30, "{counts}");
    assert_eq!(counts["day_status"], "complete", "{counts}");
    assert_eq!(
        sim.requests.load(Ordering::Relaxed),
        1,
        "the whole day came at once"
    );

    // Pages overlapping by 2 rows: 6 pages reach the 30 distinct vouchers.
    {
        let mut data = sim.data.lock().unwrap();
        data.ignores_page_size = false;
        data.page_overlap = 2;
        // Voided in the venue system: no longer listed.
        data.bills.get_mut(DATE).unwrap().remove(4);
    }
    let counts = w.backfill().await;
    assert_eq!(counts["total"], 29, "{counts}");
    assert_eq!(counts["fetched"], 29, "{counts}");
    assert_eq!(counts["repeated"], 10, "{counts}");
    assert_eq!(counts["unchanged"], 29, "{counts}");
    assert_eq!(counts["absent"], 1, "{counts}");
    assert_eq!(counts["day_status"], "complete", "{counts}");
    let bills = w.get(&format!("bills?date={DATE}")).await;
    let absent: Vec<&Value> = bills
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| !b["absent_at_ms"].is_null())
        .collect();
    assert_eq!(absent.len(), 1, "{bills}");
    assert_eq!(absent[0]["voucher"], "R2024031500004");
    let day = w.day_status(DATE).await;
    assert_eq!(day["status"], "complete", "{day}");
    assert_eq!(day["stored_bills"], 29, "{day}");
    assert_eq!(day["absent_bills"], 1, "{day}");
    assert_eq!(day["wj091_repeated"], 10, "{day}");
    assert_eq!(day["stored_revenue"], day["wj091_revenue"], "{day}");
    let attempts = w.get("backfill/attempts").await;
    assert_eq!(attempts.as_array().unwrap().len(), 2, "{attempts}");
    assert_eq!(attempts[0]["trigger"], "admin");
    assert_eq!(attempts[0]["absent"], 1);
    assert_eq!(attempts[0]["outcome"], "complete");
    sim.stop().await;
    w.running.stop().await;
}

#[actix_rt::test]
async fn backfill_pages_as_the_venue_sends_them_on_sqlite() {
    let Some(url) = amqp_url() else { return };
    backfill_pages_as_the_venue_sends_them(amqp_config(&url, 10_000), &url).await;
}

#[actix_rt::test]
async fn backfill_pages_as_the_venue_sends_them_on_postgres() {
    let Some(url) = amqp_url() else { return };
    let Some(pg) = testing::scratch_pg_url() else {
        return;
    };
    let mut c = amqp_config(&url, 10_000);
    c.database.url = Secret::new(pg);
    backfill_pages_as_the_venue_sends_them(c, &url).await;
}

/// Review 5.7: the schedule covers every business date within the horizon, and a date whose
/// pull failed is tried again until it is complete; each attempt is recorded.
#[actix_rt::test]
async fn scheduled_backfill_retries_every_day_of_the_horizon() {
    let Some(url) = amqp_url() else { return };
    let mut c = amqp_config(&url, 10_000);
    c.ktv.backfill_interval_seconds = 1;
    c.ktv.backfill_days_back = 0;
    c.ktv.backfill_horizon_days = 2;
    let w = world(c, &url).await;
    let today = w.running.gateway.business_date();
    let dates: Vec<String> = (0..3)
        .map(|back| {
            (today - chrono::Duration::days(back))
                .format("%Y-%m-%d")
                .to_string()
        })
        .collect();
    let mut data = VenueData::generate(&dates[0], 4);
    for (i, date) in dates.iter().enumerate().skip(1) {
        data.bills.insert(
            date.clone(),
            (0..3 + i as u64).map(|n| bill(date, n)).collect(),
        );
    }
    data.fail_ret = 9;
    let sim = w.sim(data).await;
    // Failing first: attempts are recorded as failed.
    let mut failed = 0;
    for _ in 0..100 {
        let attempts = w.get("backfill/attempts").await;
        failed = attempts
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["outcome"] == "failed")
            .count();
        if failed >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(failed >= 3, "every date of the horizon was tried");
    sim.data.lock().unwrap().fail_ret = 0;
    let mut statuses = Vec::new();
    for _ in 0..100 {
        statuses = Vec::new();
        for date in &dates {
            statuses.push(w.day_status(date).await["status"].clone());
        }
        if statuses.iter().all(|s| s == "complete") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        statuses.iter().all(|s| s == "complete"),
        "every day completed after the failures: {statuses:?}"
    );
    for (i, date) in dates.iter().enumerate() {
        let day = w.day_status(date).await;
        let expected = if i == 0 { 4 } else { 3 + i as i64 };
        assert_eq!(day["stored_bills"], expected, "{day}");
        assert!(day["attempts"].as_i64().unwrap() >= 2, "{day}");
    }
    let attempts = w.get("backfill/attempts?limit=500").await;
    assert!(attempts
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["trigger"] == "schedule"));
    sim.stop().await;
    w.running.stop().await;
}

/// Review 5.10: a request the venue did not take within the call's timeout expires in the
/// broker: a venue back after an outage finds no stale query in its queue.
#[actix_rt::test]
async fn requests_expire_with_the_call() {
    let Some(url) = amqp_url() else { return };
    let c = amqp_config(&url, 300);
    let exchange = c.amqp.exchange.clone();
    let w = world(c, &url).await;
    let connection = lapin::Connection::connect(&url, lapin::ConnectionProperties::default())
        .await
        .expect("connect to RabbitMQ");
    let channel = connection.create_channel().await.expect("channel");
    let queue = posgate::amqp::bind_private_queue(&channel, &exchange, &w.code)
        .await
        .expect("bind a queue for the venue");
    let (status, r) = w.wj091(json!({"type": 0})).await;
    assert_eq!(status, 504, "{r}");
    // The venue comes back after the caller gave up.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let stale = channel
        .basic_get(queue, lapin::options::BasicGetOptions { no_ack: true })
        .await
        .expect("basic.get");
    assert!(
        stale.is_none(),
        "the expired request was dropped by the broker"
    );
    let _ = connection.close(200, "done".into()).await;
    w.running.stop().await;
}

/// Issue 11, "done when": a recorded day of a venue — bills missing from the uploads,
/// duplicated, reordered, revised (反结账, with the older revision arriving last), voided by
/// upload and voided in the venue without one — through uploads (with `num`) and WJ091 (pages
/// overlapping) ends complete with the venue's revenue, by class and by payment method, the
/// events listed and the CSV export matching.
async fn recorded_day_replay(mut c: Config, url: &str) {
    c.ktv.wj091_page_size = 6;
    let w = world(c, url).await;
    let uploader = Uploader::new(
        format!("http://{}/gateway/upload", w.running.addr),
        CompanyCode::parse(&w.code).unwrap(),
        Some(AesKey::from_text(KEY_TEXT).unwrap()),
    );
    let original: Vec<Value> = (0..20).map(|n| bill(DATE, n)).collect();
    let mut revised = original[3].clone();
    revised["modify"] = 1.into();
    revised["checkout_datetime"] = format!("{DATE} 23:40:00").into();
    grow(&mut revised, 300);
    let mut voided = original[7].clone();
    voided["revoke"] = 1.into();
    // What the venue holds at the end of the day: bill 3 revised, 7 voided, 12 gone.
    let mut truth = original.clone();
    truth[3] = revised.clone();
    truth[7] = voided.clone();
    truth.remove(12);
    let upload = |bills: Vec<Value>| {
        let mut body = uploader.body(json!({"version": "1.0", "num": 20}), &Value::Array(bills));
        body["date"] = DATE.into();
        body
    };
    let batches = vec![
        original[10..15].iter().rev().cloned().collect(),
        vec![
            original[0].clone(),
            original[1].clone(),
            original[2].clone(),
            original[2].clone(),
            original[12].clone(),
        ],
        vec![revised.clone(), original[4].clone()],
        vec![original[3].clone()],
        vec![original[7].clone()],
        vec![voided.clone()],
        original[0..2].to_vec(),
    ];
    for batch in batches {
        let r = uploader.post("vouchers", &upload(batch)).await.unwrap();
        assert_eq!(r.code(), Some(RetCode::Ok), "{r:?}");
    }
    let day = w.day_status(DATE).await;
    assert_eq!(day["status"], "incomplete", "{day}");
    assert_eq!(day["stored_bills"], 11, "{day}");

    let mut data = VenueData::generate(DATE, 0);
    data.bills.insert(DATE.to_string(), truth.clone());
    data.page_overlap = 1;
    let sim = w.sim(data).await;
    let counts = w.backfill().await;
    assert_eq!(counts["total"], 19, "{counts}");
    assert_eq!(counts["fetched"], 19, "{counts}");
    assert_eq!(counts["new"], 9, "{counts}");
    assert_eq!(counts["unchanged"], 10, "{counts}");
    assert_eq!(counts["absent"], 1, "{counts}");
    assert_eq!(counts["day_status"], "complete", "{counts}");

    let in_revenue: Vec<&Value> = truth.iter().filter(|b| b["revoke"] == 0).collect();
    let revenue: i64 = in_revenue.iter().map(|b| bill_net(b)).sum();
    let (_, report) = w
        .admin
        .get(&format!(
            "/admin/v1/venues/{}/report?from={DATE}&to={DATE}",
            w.code
        ))
        .await;
    let r = &report[0];
    assert_eq!(r["completeness"]["status"], "complete", "{r}");
    assert_eq!(r["summary"]["revenue"], revenue, "{r}");
    assert_eq!(r["summary"]["counted"], 18, "{r}");
    let room: i64 = in_revenue
        .iter()
        .map(|b| b["charges"][0]["charge"].as_i64().unwrap())
        .sum();
    assert_eq!(r["summary"]["room"], room, "{r}");
    let by_payment: i64 = r["by_payment"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["amount"].as_i64().unwrap())
        .sum();
    assert_eq!(by_payment, revenue, "{r}");
    assert_eq!(r["by_payment"][0]["payment_type_name"], "现金");

    let (_, events) = w
        .admin
        .get(&format!(
            "/admin/v1/venues/{}/events?from={DATE}&to={DATE}",
            w.code
        ))
        .await;
    let of = |voucher: &Value| {
        events
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["voucher"] == *voucher)
            .map(|e| e["events"].clone())
            .unwrap_or(Value::Null)
    };
    assert_eq!(of(&original[3]["voucher"]), json!(["rebilled"]), "{events}");
    assert_eq!(of(&original[7]["voucher"]), json!(["revoked"]), "{events}");
    assert_eq!(of(&original[12]["voucher"]), json!(["absent"]), "{events}");

    let csv = w
        .admin
        .http
        .get(format!(
            "{}/admin/v1/venues/{}/report.csv?from={DATE}&to={DATE}",
            w.admin.base, w.code
        ))
        .bearer_auth(common::TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.lines()
            .any(|l| l == format!("{DATE},category,revenue,{revenue}")),
        "{csv}"
    );
    assert!(
        csv.contains(&format!("{DATE},status,completeness,complete")),
        "{csv}"
    );
    sim.stop().await;
    w.running.stop().await;
}

#[actix_rt::test]
async fn recorded_day_ends_complete_on_sqlite() {
    let Some(url) = amqp_url() else { return };
    recorded_day_replay(amqp_config(&url, 10_000), &url).await;
}

#[actix_rt::test]
async fn recorded_day_ends_complete_on_postgres() {
    let Some(url) = amqp_url() else { return };
    let Some(pg) = testing::scratch_pg_url() else {
        return;
    };
    let mut c = amqp_config(&url, 10_000);
    c.database.url = Secret::new(pg);
    recorded_day_replay(c, &url).await;
}

/// Issue 11, deliverable 5: member recharges (WJ091 type 3) and card fees (type 5) are
/// stored, not only passed through, once per row however often they are pulled, and the
/// day's report shows the card-fee income.
async fn member_income_is_stored(c: Config, url: &str) {
    let w = world(c, url).await;
    let sim = w.sim(VenueData::generate(DATE, 2)).await;
    let path = format!("/admin/v1/venues/{}/member-income", w.code);
    let (status, pulled) = w.admin.post(&path, json!({"date": DATE})).await;
    assert_eq!(status, 200, "{pulled}");
    assert_eq!(pulled["recharges"], 3, "{pulled}");
    assert_eq!(pulled["card_fees"], 3, "{pulled}");
    assert_eq!(pulled["card_fee_income"], 15_000, "{pulled}");
    assert_eq!(pulled["new"], 6, "{pulled}");
    let (_, again) = w.admin.post(&path, json!({"date": DATE})).await;
    assert_eq!(again["new"], 0, "{again}");
    let report = w.get(&format!("report?from={DATE}&to={DATE}")).await;
    let income = &report[0]["member_income"];
    assert_eq!(income["recharges"], 3, "{report}");
    assert_eq!(income["card_fees"], 3, "{report}");
    assert_eq!(income["card_fee_income"], 15_000, "{report}");
    sim.stop().await;
    w.running.stop().await;
}

#[actix_rt::test]
async fn member_income_is_stored_on_sqlite() {
    let Some(url) = amqp_url() else { return };
    member_income_is_stored(amqp_config(&url, 10_000), &url).await;
}

#[actix_rt::test]
async fn member_income_is_stored_on_postgres() {
    let Some(url) = amqp_url() else { return };
    let Some(pg) = testing::scratch_pg_url() else {
        return;
    };
    let mut c = amqp_config(&url, 10_000);
    c.database.url = Secret::new(pg);
    member_income_is_stored(c, &url).await;
}
