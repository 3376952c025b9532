//! KTV venues end to end: (1) vouchers uploads of 1,000 encrypted bills each over HTTP
//! (bills/s, per-batch latency), (2) a WJ091 backfill of 10,000 bills from the venue
//! simulator over RabbitMQ (seconds end to end: pull every page, compare, store).
//!
//! Run: `cargo bench --bench ktv_load` (RabbitMQ from POSGATE_TEST_AMQP_URL, default
//! amqp://guest:guest@127.0.0.1:5672/%2f; PostgreSQL from POSGATE_TEST_PG_URL; each skipped
//! with a notice when unreachable). Gateway, simulator and client share this process and the
//! machine's cores.

use posgate::config::Config;
use posgate::secret::Secret;
use posgate::sim::ktv_venue::{bill, SimVenue, Uploader, VenueData};
use posgate_actors::testing;
use posgate_protocols::ktv::{AesKey, CompanyCode, RetCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const TOKEN: &str = "bench-admin-token-0123456789";
const KEY_TEXT: &str = "bench-ktv-key-16";
const BATCHES: usize = 10;
const BILLS_PER_BATCH: usize = 1_000;
const BACKFILL_BILLS: u64 = 10_000;
const BACKFILL_DATE: &str = "2024-06-01";

fn amqp_url() -> Option<String> {
    std::net::TcpStream::connect_timeout(&"127.0.0.1:5672".parse().ok()?, Duration::from_secs(2))
        .ok()?;
    Some(
        std::env::var("POSGATE_TEST_AMQP_URL")
            .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into()),
    )
}

struct Gateway {
    running: posgate::app::Running,
    http: reqwest::Client,
    base: String,
}

impl Gateway {
    async fn post(&self, path: &str, body: Value) -> Value {
        let res = self
            .http
            .post(format!("{}/admin/v1{path}", self.base))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .expect("admin request");
        assert!(res.status().is_success(), "{}", res.status());
        res.json().await.expect("admin json")
    }

    async fn venue(&self, merchant: i64) -> String {
        let code = format!("{:08}", rand::random::<u32>() % 100_000_000);
        self.post(
            "/venues",
            json!({"companycode": code, "merchant_id": merchant}),
        )
        .await;
        let res = self
            .http
            .put(format!("{}/admin/v1/venues/{code}/ktv", self.base))
            .bearer_auth(TOKEN)
            .json(&json!({"key": KEY_TEXT}))
            .send()
            .await
            .expect("set key");
        assert!(res.status().is_success());
        code
    }
}

async fn start(
    name: &str,
    database_url: Option<String>,
    amqp: Option<&str>,
) -> (Gateway, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("posgate-ktv-bench-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut c = Config::default();
    c.http.listen = "127.0.0.1:0".into();
    c.admin.token = Secret::new(TOKEN.into());
    c.cards.hmac_key = Secret::new("bench-card-key-0123456789abcdef-0123".into());
    c.mqtt.enabled = false;
    c.log.filter = "warn".into();
    c.ktv.wj091_page_size = 200;
    if let Some(url) = amqp {
        c.amqp.url = Secret::new(url.to_string());
        c.amqp.exchange = format!("posgate.bench.{}", rand::random::<u32>());
        c.amqp.request_timeout_ms = 30_000;
    }
    match database_url {
        Some(url) => c.database.url = Secret::new(url),
        None => c.database.sqlite_path = dir.join("bench.db").to_string_lossy().into_owned(),
    }
    let running = posgate::app::start(c).await.expect("start gateway");
    let base = format!("http://{}", running.addr);
    (
        Gateway {
            running,
            http: reqwest::Client::new(),
            base,
        },
        dir,
    )
}

async fn run(name: &str, database_url: Option<String>, amqp: Option<String>) {
    let (gw, dir) = start(name, database_url, amqp.as_deref()).await;
    let merchant = gw
        .post(
            "/merchants",
            json!({"code": format!("m{}", rand::random::<u32>()), "name": "bench"}),
        )
        .await["id"]
        .as_i64()
        .expect("merchant id");

    // (1) vouchers uploads: bodies sealed before the clock starts.
    let code = gw.venue(merchant).await;
    let uploader = Uploader::new(
        format!("{}/gateway/upload", gw.base),
        CompanyCode::parse(&code).expect("code"),
        Some(AesKey::from_text(KEY_TEXT).expect("key")),
    );
    let bodies: Vec<Value> = (0..BATCHES)
        .map(|b| {
            let date = format!("2024-05-{:02}", b + 1);
            let bills: Vec<Value> = (0..BILLS_PER_BATCH as u64)
                .map(|n| bill(&date, n))
                .collect();
            uploader.body(json!({"version": "1.0"}), &Value::Array(bills))
        })
        .collect();
    let body_bytes = bodies[0].to_string().len();
    let mut latencies = Vec::new();
    let started = Instant::now();
    for body in &bodies {
        let t = Instant::now();
        let reply = uploader.post("vouchers", body).await.expect("upload");
        assert_eq!(reply.code(), Some(RetCode::Ok), "{reply:?}");
        latencies.push(t.elapsed());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    println!(
        "{name:<10} vouchers: {BATCHES} batches x {BILLS_PER_BATCH} sealed bills ({} KiB/body) {:>7.0} bills/s  batch p50={:.0} ms max={:.0} ms",
        body_bytes / 1024,
        (BATCHES * BILLS_PER_BATCH) as f64 / elapsed.as_secs_f64(),
        latencies[latencies.len() / 2].as_secs_f64() * 1e3,
        latencies[latencies.len() - 1].as_secs_f64() * 1e3,
    );

    // (2) backfill of 10,000 bills over WJ091.
    match amqp {
        None => println!("{name:<10} backfill: skipped, RabbitMQ unreachable"),
        Some(url) => {
            let code = gw.venue(merchant).await;
            let exchange = gw.running.gateway.config.amqp.exchange.clone();
            let rpc = gw
                .running
                .gateway
                .wj091
                .as_ref()
                .expect("wj091")
                .rpc()
                .clone();
            assert!(rpc.wait_connected(Duration::from_secs(20)).await);
            let sim = SimVenue::serve(
                &url,
                &exchange,
                &CompanyCode::parse(&code).expect("code"),
                VenueData::generate(BACKFILL_DATE, BACKFILL_BILLS),
            )
            .await
            .expect("simulator");
            let started = Instant::now();
            let counts = gw
                .post(
                    &format!("/venues/{code}/backfill"),
                    json!({"date": BACKFILL_DATE}),
                )
                .await;
            let elapsed = started.elapsed();
            assert_eq!(counts["new"], BACKFILL_BILLS, "{counts}");
            println!(
                "{name:<10} backfill: {BACKFILL_BILLS} bills in pages of 200 ({} WJ091 requests, zip 1) {:.2} s end to end ({:.0} bills/s)",
                sim.requests.load(std::sync::atomic::Ordering::Relaxed),
                elapsed.as_secs_f64(),
                BACKFILL_BILLS as f64 / elapsed.as_secs_f64(),
            );
            sim.stop().await;
        }
    }
    gw.running.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    actix_rt::System::new().block_on(async {
        println!("KTV venues end to end (gateway, simulator and client in one process)");
        let amqp = amqp_url();
        if amqp.is_none() {
            let _: Option<()> = testing::unavailable("RabbitMQ", "127.0.0.1:5672 unreachable");
        }
        run("sqlite", None, amqp.clone()).await;
        match testing::scratch_pg_url() {
            Some(url) => run("postgres", Some(url), amqp).await,
            None => println!("postgres   skipped: PostgreSQL unreachable"),
        }
    });
}
