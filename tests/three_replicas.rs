//! Three replicas under load and under loss (issue 12, item 8): three `posgate` processes on
//! one PostgreSQL database, subscribed to Mosquitto with one shared subscription group,
//! connected to RabbitMQ. Load runs through jpos (HTTP), MQTT POS (consumption machines on
//! Mosquitto), DS50 sales (HTTP) and admin debits while one replica is `kill -9`ed and
//! restarted and another is stopped with SIGTERM (it must exit 0). Every client retries a
//! request it got no final answer to, with the same identity, on any replica, as real
//! clients do. Afterwards: every request has its answer, each balance is its opening minus
//! exactly the requests answered as posted (none lost, none twice), the ledger audit is
//! clean, no device got an answer it did not ask for, and a terminal disabled through one
//! replica is refused by every replica. Skips (or fails under POSGATE_REQUIRE_SERVICES=1)
//! without PostgreSQL, Mosquitto or RabbitMQ.

mod common;
#[path = "common/jpos.rs"]
mod fixture;

use common::mqtt::mosquitto;
use common::process::{free_port, Replica};
use common::{client, Admin, TOKEN};
use fixture::encode;
use posgate::sim::mqtt_device::{consumption, SimDevice};
use posgate_actors::testing;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Opening balance of every account, fen (or points minor units).
const OPENING: i64 = 10_000_000;
/// Requests each client sends after the faults are over.
const AFTER_FAULTS: usize = 10;
/// Attempts at one request before the test gives up on it.
const ATTEMPTS: usize = 60;
/// Consumption machines.
const DEVICES: usize = 4;

/// What every replica shares.
#[derive(Clone)]
struct Shared {
    db_url: String,
    amqp_url: String,
    broker: (String, u16),
    prefix: String,
    group: String,
}

impl Shared {
    /// The settings of a replica of this cluster.
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("POSGATE_DATABASE_POOL_SIZE", "6".into()),
            ("POSGATE_HTTP_SHUTDOWN_TIMEOUT_SECONDS", "10".into()),
            ("POSGATE_MQTT_ENABLED", "true".into()),
            ("POSGATE_MQTT_EMBEDDED_BROKER", "false".into()),
            ("POSGATE_MQTT_HOST", self.broker.0.clone()),
            ("POSGATE_MQTT_PORT", self.broker.1.to_string()),
            ("POSGATE_MQTT_TOPIC_PREFIX", self.prefix.clone()),
            ("POSGATE_MQTT_SHARED_GROUP", self.group.clone()),
            ("POSGATE_AMQP_URL", self.amqp_url.clone()),
            ("POSGATE_DS50_MQTT_PUBLIC_HOST", "mqtt.pay.example".into()),
            ("POSGATE_DS50_ALLOW_CLEARTEXT", "true".into()),
        ]
    }
}

/// A replica slot: its fixed HTTP port (kept across a restart) and its process, if running.
struct Slot {
    port: u16,
    replica: Option<Replica>,
}

impl Slot {
    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// The faults, in order: replica 1 killed with SIGKILL and restarted, then replica 2
/// stopped with SIGTERM, which must drain and exit 0. Returns the slots.
async fn faults(shared: Shared, mut slots: Vec<Slot>, done: Arc<AtomicBool>) -> Vec<Slot> {
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut victim = slots[1].replica.take().expect("replica 1");
    victim.signal("KILL");
    let _ = victim.child.wait().await;
    eprintln!("replica 1 killed");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let port = slots[1].port;
    slots[1].replica = Some(Replica::spawn_on(&shared.db_url, port, &shared.env()).await);
    eprintln!("replica 1 restarted");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let stopped = slots[2].replica.take().expect("replica 2");
    let status = stopped.terminate(Duration::from_secs(30)).await;
    assert!(
        status.success(),
        "replica 2 exited with {status} on SIGTERM"
    );
    eprintln!("replica 2 stopped");
    done.store(true, Ordering::SeqCst);
    slots
}

/// Runs `one` for request 1, 2, ... until the faults are over and `AFTER_FAULTS` more;
/// returns the amounts answered as posted.
async fn run_client<F, Fut>(done: Arc<AtomicBool>, mut one: F) -> Vec<i64>
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = i64>,
{
    let mut posted = Vec::new();
    let mut after = 0;
    for n in 1.. {
        posted.push(one(n).await);
        if done.load(Ordering::SeqCst) {
            after += 1;
            if after >= AFTER_FAULTS {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    posted
}

/// Posts `body` to `path` on replica `n % bases`, then on the next ones, until one gives a
/// final answer (`final_answer` says which are); panics after `ATTEMPTS`.
async fn until_final(
    bases: &[String],
    n: u32,
    send: impl Fn(&str) -> reqwest::RequestBuilder,
    final_answer: impl Fn(u16, &Value) -> bool,
) -> Value {
    for attempt in 0..ATTEMPTS {
        let base = &bases[(n as usize + attempt) % bases.len()];
        if let Ok(res) = send(base).send().await {
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap_or(Value::Null);
            if final_answer(status, &body) {
                return body;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("request {n} never got a final answer");
}

struct Jpos {
    store_no: String,
    pan: String,
    terminal: i64,
    account: i64,
}

async fn jpos_setup(admin: &Admin, merchant: i64) -> Jpos {
    let store_no = format!("S{}", rand::random::<u32>());
    let terminal = admin
        .terminal("jpos", &format!("{store_no}:T0000001"), merchant)
        .await;
    let pan = fixture::random_pan();
    let account = admin
        .card_account(merchant, &pan, json!({"points": OPENING}))
        .await;
    let form = encode(&[
        ("storeNo", store_no.clone()),
        ("terminalNo", "T0000001".into()),
        ("operatorNo", "01".into()),
    ]);
    let res = jpos_post(&admin.base, "/v1/jpos/terminal/checkin", form).await;
    assert_eq!(res["status"], "00", "{res}");
    Jpos {
        store_no,
        pan,
        terminal,
        account,
    }
}

async fn jpos_post(base: &str, path: &str, form: String) -> Value {
    client()
        .post(format!("{base}{path}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .expect("jpos request")
        .json()
        .await
        .expect("jpos answer")
}

fn jpos_consume(j: &Jpos, trace: u32) -> String {
    encode(&[
        ("storeNo", j.store_no.clone()),
        ("terminalNo", "T0000001".into()),
        ("cardNo", j.pan.clone()),
        ("traceNo", format!("{trace:06}")),
        ("batchNo", "000001".into()),
        ("track2", format!("{}=49122011519", j.pan)),
        ("password", "0123456789ABCDEF".into()),
        ("consumeType", "01".into()),
        ("pointAmount", "1.00".into()),
        ("cashAmount", "0".into()),
        ("registerTraceNo", format!("R{trace}")),
    ])
}

/// One jpos consume of 1.00 point (100), retried with its trace until answered `00`.
async fn jpos_one(bases: Vec<String>, j: Arc<Jpos>, trace: u32) -> i64 {
    let form = jpos_consume(&j, trace);
    let send = |base: &str| {
        client()
            .post(format!("{base}/v1/jpos/trans/consume"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.clone())
    };
    until_final(&bases, trace, send, |status, body| {
        status == 200 && body["status"] == "00"
    })
    .await;
    100
}

struct Ds50 {
    sn: String,
    key: String,
    pan: String,
    account: i64,
}

async fn ds50_setup(admin: &Admin, merchant: i64) -> Ds50 {
    let sn = format!("S20A{:010}", rand::random::<u32>());
    let (status, t) = admin
        .post(
            "/admin/v1/terminals",
            json!({"family": "ds50", "code": sn, "merchant_id": merchant}),
        )
        .await;
    assert_eq!(status, 201, "{t}");
    let res = client()
        .post(format!(
            "{}/admin/v1/terminals/{}/posparam",
            admin.base, t["id"]
        ))
        .bearer_auth(TOKEN)
        .json(&json!({"expires_in_days": 30}))
        .send()
        .await
        .expect("posparam");
    assert_eq!(res.status(), 201);
    let params = posgate_protocols::ds50::PosParam::parse(&res.text().await.expect("ini"))
        .expect("a valid posparam.ini");
    let pan = format!(
        "451461{:010}",
        u64::from(rand::random::<u32>()) % 10_000_000_000
    );
    let account = admin
        .card_account(merchant, &pan, json!({"cash": OPENING}))
        .await;
    Ds50 {
        sn,
        key: params.payment.api_key.expose().clone(),
        pan,
        account,
    }
}

/// One DS50 sale of 1.23 (123 fen), retried with its trace until approved.
async fn ds50_one(bases: Vec<String>, d: Arc<Ds50>, trace: u32) -> i64 {
    let body = json!({
        "deviceSn": d.sn, "model": "DS50", "transType": "SALE", "appVersion": "V1.0.0",
        "payType": "CARD", "transAmount": "1.23",
        "cardNo": format!("{}******{}", &d.pan[..6], &d.pan[d.pan.len() - 4..]),
        "cardOrg": "VISA", "emvData": "9F260888C89C10C57849A7", "batchNo": "000001",
        "traceNo": format!("{trace:06}"), "track2": format!("{}D491220115195475", d.pan),
        "pin": "ADF34EF2424A042E", "date": "2025-12-15", "time": "15:50:23"
    });
    let send = |base: &str| {
        client()
            .post(format!("{base}/ds50/v1/sale"))
            .bearer_auth(&d.key)
            .json(&body)
    };
    until_final(&bases, trace, send, |status, body| {
        status == 200 && body["acqResponseCode"] == "00"
    })
    .await;
    123
}

/// One admin debit of 77, retried with its idempotency key until posted.
async fn admin_one(bases: Vec<String>, account: i64, n: u32) -> i64 {
    let key = format!("three-{account}-{n}");
    let send = |base: &str| {
        client()
            .post(format!("{base}/admin/v1/accounts/{account}/debit"))
            .bearer_auth(TOKEN)
            .json(&json!({"idempotency_key": key, "amount": 77}))
    };
    until_final(&bases, n, send, |status, body| {
        matches!(status, 200 | 201) && body["status"] == "posted"
    })
    .await;
    77
}

/// A consumption machine: each consumption of 50 fen re-sent with its posNum until
/// answered `xfCode` 0 (a busy answer or silence is retried, as devices do).
async fn device_run(
    mut d: SimDevice,
    user: String,
    done: Arc<AtomicBool>,
) -> (SimDevice, Vec<i64>) {
    d.answer_timeout = Duration::from_secs(3);
    d.attempts = 1;
    let mut posted = Vec::new();
    let mut after = 0;
    for pos_num in 1.. {
        let body = consumption(1, pos_num, &user, 50);
        let mut answered = false;
        for _ in 0..ATTEMPTS / 3 {
            if let Ok(reply) = d.consume(&body).await {
                if reply["xfCode"] == 0 {
                    answered = true;
                    break;
                }
            }
        }
        assert!(
            answered,
            "device {}: posNum {pos_num} never approved",
            d.id()
        );
        posted.push(50);
        if done.load(Ordering::SeqCst) {
            after += 1;
            if after >= AFTER_FAULTS {
                break;
            }
        }
    }
    (d, posted)
}

async fn balance(admin: &Admin, account: i64, asset: &str) -> i64 {
    let (status, b) = admin
        .get(&format!("/admin/v1/accounts/{account}/balances"))
        .await;
    assert_eq!(status, 200, "{b}");
    b[asset]
        .as_i64()
        .unwrap_or_else(|| panic!("{asset} of {b}"))
}

/// A consumption machine with its terminal and an account of its own.
struct Machine {
    device: SimDevice,
    terminal: i64,
    user: String,
    account: i64,
}

/// Consumption machines, each registered with an account of its own.
async fn devices(admin: &Admin, merchant: i64, shared: &Shared) -> Vec<Machine> {
    let mut out = Vec::new();
    for _ in 0..DEVICES {
        let code = format!("{}", 3_000_000 + rand::random::<u32>() % 1_000_000);
        let terminal = admin.terminal("mqtt_pos", &code, merchant).await;
        let user = format!("{}", 100_000 + rand::random::<u32>() % 800_000);
        let (status, a) = admin
            .post(
                "/admin/v1/accounts",
                json!({"merchant_id": merchant, "user_id": user,
                       "initial_balances": {"cash": OPENING}}),
            )
            .await;
        assert_eq!(status, 201, "{a}");
        let (host, port) = &shared.broker;
        let device = SimDevice::connect(host, *port, &shared.prefix, &code)
            .await
            .expect("device connects");
        out.push(Machine {
            device,
            terminal,
            user,
            account: a["id"].as_i64().expect("account id"),
        });
    }
    out
}

#[actix_rt::test]
async fn three_replicas_lose_nothing_and_answer_once() {
    let (Some(broker), Some(db_url), Some(amqp_url)) =
        (mosquitto(), testing::scratch_pg_url(), common::rabbitmq())
    else {
        return;
    };
    let shared = Shared {
        db_url,
        amqp_url,
        broker,
        prefix: format!("three{}", rand::random::<u32>()),
        group: format!("posgate{}", rand::random::<u32>()),
    };
    let mut slots = Vec::new();
    for _ in 0..3 {
        let port = free_port();
        let replica = Replica::spawn_on(&shared.db_url, port, &shared.env()).await;
        slots.push(Slot {
            port,
            replica: Some(replica),
        });
    }
    let bases: Vec<String> = slots.iter().map(Slot::base).collect();
    let admin = Admin::new(bases[0].clone());
    let merchant = admin.merchant().await;
    let jpos = Arc::new(jpos_setup(&admin, merchant).await);
    let ds50 = Arc::new(ds50_setup(&admin, merchant).await);
    let debited = admin.account(merchant, OPENING).await;
    let machines = devices(&admin, merchant, &shared).await;

    let done = Arc::new(AtomicBool::new(false));
    let chaos = tokio::spawn(faults(shared.clone(), slots, done.clone()));
    let (b, j, d) = (bases.clone(), jpos.clone(), ds50.clone());
    let jpos_load = run_client(done.clone(), move |n| jpos_one(b.clone(), j.clone(), n));
    let b = bases.clone();
    let ds50_load = run_client(done.clone(), move |n| ds50_one(b.clone(), d.clone(), n));
    let b = bases.clone();
    let admin_load = run_client(done.clone(), move |n| admin_one(b.clone(), debited, n));
    let mut owners = Vec::new();
    let device_loads: Vec<_> = machines
        .into_iter()
        .map(|m| {
            owners.push((m.terminal, m.user.clone(), m.account));
            device_run(m.device, m.user, done.clone())
        })
        .collect();
    let (jpos_posted, ds50_posted, admin_posted, device_results) = futures::join!(
        jpos_load,
        ds50_load,
        admin_load,
        futures::future::join_all(device_loads)
    );
    let slots = chaos.await.expect("the faults ran");
    let live: Vec<String> = slots
        .iter()
        .filter(|s| s.replica.is_some())
        .map(Slot::base)
        .collect();
    let admin = Admin::new(live[0].clone());

    // Exact balances: opening minus what was answered as posted, once each.
    let sum = |v: &[i64]| v.iter().sum::<i64>();
    assert_eq!(
        balance(&admin, jpos.account, "points").await,
        OPENING - sum(&jpos_posted)
    );
    assert_eq!(
        balance(&admin, ds50.account, "cash").await,
        OPENING - sum(&ds50_posted)
    );
    assert_eq!(
        balance(&admin, debited, "cash").await,
        OPENING - sum(&admin_posted)
    );
    let mut machines = Vec::new();
    let mut device_counts = Vec::new();
    for ((device, posted), (terminal, user, account)) in device_results.into_iter().zip(owners) {
        assert_eq!(
            balance(&admin, account, "cash").await,
            OPENING - sum(&posted)
        );
        device_counts.push(posted.len());
        machines.push(Machine {
            device,
            terminal,
            user,
            account,
        });
    }
    let consumptions: usize = device_counts.iter().sum();
    eprintln!(
        "posted: jpos {}, ds50 {}, admin {}, consumptions {consumptions}",
        jpos_posted.len(),
        ds50_posted.len(),
        admin_posted.len(),
    );
    let (_, audit) = admin.get("/admin/v1/ledger/audit").await;
    assert_eq!(audit["unbalanced"], json!([]), "{audit}");
    assert_eq!(audit["balance_mismatches"], json!([]), "{audit}");
    // No device got an answer it had not asked for (a second answer to one request).
    for m in &mut machines {
        let stray = m.device.unexpected_answer(Duration::from_secs(1)).await;
        assert_eq!(stray, None, "device {} got a second answer", m.device.id());
    }
    disabled_everywhere(&admin, &live, &jpos, &mut machines[0]).await;
}

/// A terminal disabled through one replica is refused by every replica: the jpos terminal
/// on each replica directly, the consumption machine on whichever replica the broker picks.
async fn disabled_everywhere(admin: &Admin, live: &[String], jpos: &Jpos, machine: &mut Machine) {
    let (status, body) = admin
        .patch(
            &format!("/admin/v1/terminals/{}", jpos.terminal),
            json!({"status": "disabled"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = admin
        .patch(
            &format!("/admin/v1/terminals/{}", machine.terminal),
            json!({"status": "disabled"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // The change feed takes milliseconds; allow for a slow machine, then demand it all.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    for (i, base) in live.iter().enumerate() {
        let trace = 900_000 + i as u32;
        let answer = jpos_post(base, "/v1/jpos/trans/consume", jpos_consume(jpos, trace)).await;
        assert_ne!(
            answer["status"], "00",
            "replica {base} served a disabled terminal"
        );
    }
    for pos_num in 1_000_000..1_000_006 {
        let body = consumption(1, pos_num, &machine.user, 50);
        let reply = machine.device.consume(&body).await.expect("answer");
        assert_eq!(reply["xfCode"], 9, "a disabled machine was served: {reply}");
    }
}
