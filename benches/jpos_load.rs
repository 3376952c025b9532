//! jpos consume load over keep-alive HTTP against PostgreSQL, with `pgbench -b tpcb-like`
//! on the same server and client count in the same run, to put the figure in proportion.
//!
//! N terminals check in, then each sends consumes one after another (0.01 points + 1.00
//! cash, points granted by the earn rule: one ledger debit with its grant per request) for
//! a fixed time. Reports consumes/s and p50/p99 latency, then pgbench's tps and the ratio.
//!
//! Run: `cargo bench --bench jpos_load` (PostgreSQL from POSGATE_TEST_PG_URL; skipped with a
//! notice when unreachable; the pgbench part is skipped when `pgbench` is not found).
//! Gateway and clients share this process and the machine's cores.

use futures::StreamExt;
use posgate::config::Config;
use posgate::secret::Secret;
use posgate_actors::testing;
use serde_json::json;
use std::time::{Duration, Instant};

const TERMINALS: usize = 16;
const RUN_SECONDS: u64 = 10;
const TOKEN: &str = "bench-admin-token-0123456789";

fn encode(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

async fn run_jpos(url: &str) -> f64 {
    let mut c = Config::default();
    c.http.listen = "127.0.0.1:0".into();
    c.admin.token = Secret::new(TOKEN.into());
    c.cards.hmac_key = Secret::new("bench-card-key-0123456789abcdef-0123".into());
    c.mqtt.enabled = false;
    c.log.filter = "warn".into();
    c.database.url = Secret::new(url.to_string());
    posgate::telemetry::init_logging(&c.log);
    let running = posgate::app::start(c).await.expect("start gateway");
    let http = reqwest::Client::new();
    let base = format!("http://{}", running.addr);
    let admin = |method: reqwest::Method, path: String, body: serde_json::Value| {
        let req = http
            .request(method, format!("{base}/admin/v1{path}"))
            .bearer_auth(TOKEN)
            .json(&body);
        async move {
            let res = req.send().await.expect("admin request");
            assert!(res.status().is_success(), "{}", res.status());
            res.json::<serde_json::Value>().await.expect("admin json")
        }
    };
    let merchant = admin(
        reqwest::Method::POST,
        "/merchants".into(),
        json!({"code": format!("m{}", rand::random::<u32>()), "name": "bench"}),
    )
    .await["id"]
        .as_i64()
        .expect("merchant id");
    admin(
        reqwest::Method::PUT,
        format!("/jpos/merchants/{merchant}/rules"),
        json!({"earn_rate_bp": 10000}),
    )
    .await;
    let store_no = format!("S{}", rand::random::<u32>());
    let mut terminals = Vec::new();
    for i in 0..TERMINALS {
        let terminal_no = format!("T{i:07}");
        admin(
            reqwest::Method::POST,
            "/terminals".into(),
            json!({"family": "jpos", "code": format!("{store_no}:{terminal_no}"), "merchant_id": merchant}),
        )
        .await;
        let pan = format!("62220210{:08}", i);
        admin(
            reqwest::Method::POST,
            "/accounts".into(),
            json!({"merchant_id": merchant, "user_id": format!("u{i}"), "card_number": pan,
                   "initial_balances": {"points": 100_000_000}}),
        )
        .await;
        let checkin = http
            .post(format!("{base}/v1/jpos/terminal/checkin"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(&[
                ("storeNo", store_no.clone()),
                ("terminalNo", terminal_no.clone()),
                ("operatorNo", "01".into()),
            ]))
            .send()
            .await
            .expect("checkin")
            .json::<serde_json::Value>()
            .await
            .expect("checkin json");
        assert_eq!(checkin["status"], "00", "{checkin}");
        terminals.push((terminal_no, pan));
    }
    let deadline = Instant::now() + Duration::from_secs(RUN_SECONDS);
    let started = Instant::now();
    let latencies: Vec<Vec<Duration>> =
        futures::stream::iter(terminals.into_iter().map(|(terminal_no, pan)| {
            // One keep-alive connection per terminal.
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .expect("client");
            let url = format!("{base}/v1/jpos/trans/consume");
            let store_no = store_no.clone();
            async move {
                let mut own = Vec::new();
                let mut trace = 1u32;
                while Instant::now() < deadline && trace < 999_999 {
                    let body = encode(&[
                        ("storeNo", store_no.clone()),
                        ("terminalNo", terminal_no.clone()),
                        ("cardNo", pan.clone()),
                        ("traceNo", format!("{trace:06}")),
                        ("batchNo", "000001".into()),
                        ("consumeType", "01".into()),
                        ("pointAmount", "0.01".into()),
                        ("cashAmount", "1.00".into()),
                    ]);
                    let t = Instant::now();
                    let reply = client
                        .post(&url)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(body)
                        .send()
                        .await
                        .expect("consume")
                        .json::<serde_json::Value>()
                        .await
                        .expect("consume json");
                    assert_eq!(reply["status"], "00", "{reply}");
                    own.push(t.elapsed());
                    trace += 1;
                }
                own
            }
        }))
        .buffer_unordered(TERMINALS)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let mut all: Vec<Duration> = latencies.into_iter().flatten().collect();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    let rate = all.len() as f64 / elapsed.as_secs_f64();
    println!(
        "jpos consume (postgres)  terminals={TERMINALS} requests={:<7} {:>7.0} consumes/s  p50={:>6.2} ms  p99={:>6.2} ms",
        all.len(),
        rate,
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
    );
    running.stop().await;
    rate
}

fn pgbench() -> Option<std::path::PathBuf> {
    let on_path = std::process::Command::new("pgbench")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if on_path {
        return Some("pgbench".into());
    }
    let mut found: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin/pgbench"))
        .filter(|p| p.exists())
        .collect();
    found.sort();
    found.pop()
}

/// `pgbench -i` then `pgbench -b tpcb-like -c N -j N -T S`; its tps.
fn run_pgbench(bin: &std::path::Path, url: &str) -> Option<f64> {
    let init = std::process::Command::new(bin)
        .args(["-i", "-q", "-s", "1", url])
        .output()
        .ok()?;
    if !init.status.success() {
        println!(
            "pgbench -i failed: {}",
            String::from_utf8_lossy(&init.stderr).trim()
        );
        return None;
    }
    let clients = TERMINALS.to_string();
    let seconds = RUN_SECONDS.to_string();
    let out = std::process::Command::new(bin)
        .args([
            "-b",
            "tpcb-like",
            "-c",
            &clients,
            "-j",
            "2",
            "-T",
            &seconds,
            url,
        ])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |prefix: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .map(str::trim)
            .map(str::to_string)
    };
    let latency = line("latency average").unwrap_or_default();
    let tps_line = line("tps =")?;
    let tps: f64 = tps_line
        .trim_start_matches("tps =")
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    println!(
        "pgbench tpcb-like        clients={TERMINALS} {:>7.0} tps  ({latency})",
        tps
    );
    Some(tps)
}

fn main() {
    let Some(url) = testing::scratch_pg_url() else {
        println!("jpos load skipped: PostgreSQL unreachable");
        return;
    };
    println!(
        "jpos consume over keep-alive HTTP vs pgbench tpcb-like, same server, {RUN_SECONDS} s each"
    );
    let rate = actix_rt::System::new().block_on(run_jpos(&url));
    match pgbench() {
        None => println!("pgbench skipped: not found on PATH or in /usr/lib/postgresql/*/bin"),
        Some(bin) => {
            if let Some(tps) = run_pgbench(&bin, &url) {
                println!("ratio jpos consumes/s : pgbench tps = {:.2}", rate / tps);
            }
        }
    }
}
