//! End-to-end MQTT POS load: simulated consumption machines publish consumptions through a
//! real broker and wait for posgate's answers. Reports consumptions/s and p50/p99 latency
//! (publish to answer) for the embedded broker on SQLite and for Mosquitto on PostgreSQL.
//!
//! Run: `cargo bench --bench mqtt_load` (Mosquitto from POSGATE_TEST_MQTT_ADDR, default
//! 127.0.0.1:1883, PostgreSQL from POSGATE_TEST_PG_URL; each skipped with a notice when
//! unreachable). Gateway and devices share this process and the machine's cores.

use futures::StreamExt;
use posgate::config::Config;
use posgate::secret::Secret;
use posgate::sim::mqtt_device::{consumption, SimDevice};
use posgate_actors::testing;
use serde_json::json;
use std::time::{Duration, Instant};

const DEVICES: usize = 50;
const CONSUMPTIONS_PER_DEVICE: usize = 60;
const TOKEN: &str = "bench-admin-token-0123456789";

struct Setup {
    name: &'static str,
    database_url: Option<String>,
    broker: Option<(String, u16)>,
}

async fn run(setup: Setup) {
    let dir = std::env::temp_dir().join(format!("posgate-mqtt-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut c = Config::default();
    c.http.listen = "127.0.0.1:0".into();
    c.admin.token = Secret::new(TOKEN.into());
    c.cards.hmac_key = Secret::new("bench-card-key-0123456789abcdef-0123".into());
    c.mqtt.topic_prefix = format!("bench{}", rand::random::<u32>());
    c.log.filter = "warn,rumqttd=error".into();
    match &setup.database_url {
        Some(url) => c.database.url = Secret::new(url.clone()),
        None => c.database.sqlite_path = dir.join("bench.db").to_string_lossy().into_owned(),
    }
    let (host, port) = match &setup.broker {
        Some((host, port)) => {
            c.mqtt.embedded_broker = false;
            c.mqtt.host = host.clone();
            c.mqtt.port = *port;
            (host.clone(), *port)
        }
        None => {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("free port")
                .port();
            c.mqtt.embedded_listen = format!("127.0.0.1:{port}");
            ("127.0.0.1".to_string(), port)
        }
    };
    let prefix = c.mqtt.topic_prefix.clone();
    posgate::telemetry::init_logging(&c.log);
    let running = posgate::app::start(c).await.expect("start gateway");
    let http = reqwest::Client::new();
    let base = format!("http://{}/admin/v1", running.addr);
    let post = |path: &str, body: serde_json::Value| {
        let req = http
            .post(format!("{base}{path}"))
            .bearer_auth(TOKEN)
            .json(&body);
        async move {
            let res = req.send().await.expect("admin request");
            assert!(res.status().is_success(), "{}", res.status());
            res.json::<serde_json::Value>().await.expect("admin json")
        }
    };
    let merchant = post(
        "/merchants",
        json!({"code": format!("m{}", rand::random::<u32>()), "name": "bench"}),
    )
    .await["id"]
        .as_i64()
        .expect("merchant id");
    let mut devices = Vec::new();
    for i in 0..DEVICES {
        let id = format!("{}", 7_000_000 + i);
        post(
            "/terminals",
            json!({"family": "mqtt_pos", "code": id, "merchant_id": merchant}),
        )
        .await;
        let user = format!("{}", 300_000 + i);
        post(
            "/accounts",
            json!({"merchant_id": merchant, "user_id": user, "initial_balances": {"cash": 100_000_000}}),
        )
        .await;
        let device = SimDevice::connect(&host, port, &prefix, &id)
            .await
            .expect("device connects");
        device.online().await.expect("online");
        devices.push((device, user));
    }
    let started = Instant::now();
    let latencies: Vec<Vec<Duration>> =
        futures::stream::iter(devices.into_iter().map(|(mut device, user)| async move {
            let mut own = Vec::with_capacity(CONSUMPTIONS_PER_DEVICE);
            for n in 0..CONSUMPTIONS_PER_DEVICE {
                let t = Instant::now();
                let answer = device
                    .consume(&consumption(1, n as u64 + 1, &user, 100))
                    .await
                    .expect("answer");
                assert_eq!(answer["xfCode"], 0, "{answer}");
                own.push(t.elapsed());
            }
            own
        }))
        .buffer_unordered(DEVICES)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let mut all: Vec<Duration> = latencies.into_iter().flatten().collect();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    println!(
        "{:<28} devices={DEVICES} consumptions={:<6} {:>7.0} consumptions/s  p50={:>7.2} ms  p99={:>7.2} ms",
        setup.name,
        all.len(),
        all.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
    );
    running.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

fn mosquitto() -> Option<(String, u16)> {
    let addr = std::env::var("POSGATE_TEST_MQTT_ADDR").unwrap_or_else(|_| "127.0.0.1:1883".into());
    std::net::TcpStream::connect_timeout(&addr.parse().ok()?, Duration::from_secs(2)).ok()?;
    let (host, port) = addr.rsplit_once(':')?;
    Some((host.to_string(), port.parse().ok()?))
}

fn main() {
    actix_rt::System::new().block_on(async {
        println!("MQTT POS end to end: each device sends mode-1 consumptions one after another");
        run(Setup {
            name: "embedded broker + sqlite",
            database_url: None,
            broker: None,
        })
        .await;
        match (mosquitto(), testing::scratch_pg_url()) {
            (Some(broker), Some(url)) => {
                run(Setup {
                    name: "mosquitto + postgres",
                    database_url: Some(url),
                    broker: Some(broker),
                })
                .await
            }
            _ => println!(
                "mosquitto + postgres         skipped: Mosquitto or PostgreSQL unreachable"
            ),
        }
    });
}
