//! The gateway during database outages (PostgreSQL; each test owns a scratch database, so it
//! can act as the database operator on it: kill the gateway's sessions, refuse connections,
//! edit the migrations table).
//!
//! - Sessions killed, and connections cut right after a COMMIT left for the server (a
//!   proxy), while many debits commit: a COMMIT whose answer is lost is resolved before the
//!   answer, so a request answered "retry" posted nothing, a request answered "posted"
//!   posted once, and sending every request again posts nothing twice.
//! - Connections refused: jpos and the admin API get their retry answers at once (the
//!   elapsed time is printed; read it with `--nocapture`).
//! - `/readyz` tells an unreachable database from pending migrations, and stays ready with a
//!   schema ahead of the binary.

mod common;
#[path = "common/jpos.rs"]
mod jpos;

use common::{client, config, Admin};
use jpos::Jpos;
use posgate::config::Config;
use posgate_actors::store::{PgOptions, Store};
use posgate_actors::testing;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Accounts the debits spread over (several shards, several batches at once).
const ACCOUNTS: usize = 6;
/// Debits sent during the outage.
const DEBITS: usize = 600;
/// Opening cash of each account, fen.
const OPENING: i64 = 1_000_000;
/// Debits in flight at once.
const CONCURRENCY: usize = 48;

/// A gateway configuration on a scratch database of the test's own; `None` when skipped.
async fn own_database() -> Option<(Config, String)> {
    let url = testing::own_scratch_pg_url().await?;
    let database = testing::pg_database_name(&url).to_string();
    Some((config(Some(url)), database))
}

/// Kills the gateway's sessions every few milliseconds until `stop`; returns the rounds.
async fn keep_killing(database: String, stop: Arc<AtomicBool>) -> usize {
    let sql = testing::pg_terminate_sessions_sql(&database);
    let mut rounds = 0;
    while !stop.load(Ordering::Relaxed) {
        testing::pg_server_execute(&sql)
            .await
            .expect("kill sessions");
        rounds += 1;
        tokio::time::sleep(Duration::from_millis(40 + rounds as u64 % 60)).await;
    }
    rounds
}

/// Runs `sql` (statements without parameters) on the scratch database at `url`.
async fn operator(url: &str, sql: String) {
    let store = Store::postgres(url, &PgOptions::with_pool_size(1))
        .await
        .expect("operator connection");
    store
        .transaction(move |db| Box::pin(async move { db.batch(&sql).await }))
        .await
        .expect("operator statement");
}

/// Of the COMMITs passing the proxy while it cuts, every this many is cut.
const CUT_EVERY: usize = 4;

/// A TCP proxy in front of PostgreSQL that, while `cutting`, forwards every `CUT_EVERY`th
/// COMMIT to the server and then cuts the connection before the server's answer can come
/// back: the transaction is committed, but the gateway never learns it.
struct CommitCutter {
    /// The gateway's database URL through the proxy.
    url: String,
    cutting: Arc<AtomicBool>,
    cuts: Arc<AtomicUsize>,
}

impl CommitCutter {
    /// Starts the proxy for the database at `url`.
    async fn start(url: &str) -> CommitCutter {
        let mut proxied = reqwest::Url::parse(url).expect("database url");
        let server = format!(
            "{}:{}",
            proxied.host_str().expect("database host"),
            proxied.port().unwrap_or(5432)
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("proxy address").port();
        proxied.set_host(Some("127.0.0.1")).expect("proxy host");
        proxied.set_port(Some(port)).expect("proxy port");
        let cutter = CommitCutter {
            url: proxied.to_string(),
            cutting: Arc::new(AtomicBool::new(false)),
            cuts: Arc::new(AtomicUsize::new(0)),
        };
        let (cutting, cuts) = (cutter.cutting.clone(), cutter.cuts.clone());
        let commits = Arc::new(AtomicUsize::new(0));
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let cut = Cut {
                    cutting: cutting.clone(),
                    commits: commits.clone(),
                    cuts: cuts.clone(),
                };
                tokio::spawn(relay(client, server.clone(), cut));
            }
        });
        cutter
    }
}

/// What one relayed connection shares with the proxy.
struct Cut {
    cutting: Arc<AtomicBool>,
    commits: Arc<AtomicUsize>,
    cuts: Arc<AtomicUsize>,
}

/// Relays one connection; returns when either side closes or the connection is cut.
async fn relay(client: TcpStream, server: String, cut: Cut) {
    let Ok(server) = TcpStream::connect(server).await else {
        return;
    };
    // Messages go on at once (no Nagle delay on the small ones).
    let _ = (client.set_nodelay(true), server.set_nodelay(true));
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    let severed = Arc::new(AtomicBool::new(false));
    let gate = severed.clone();
    let back = tokio::spawn(async move {
        let mut chunk = vec![0u8; 16 * 1024];
        while let Ok(n @ 1..) = from_server.read(&mut chunk).await {
            // Whatever the server says after the cut COMMIT never reaches the gateway.
            if gate.load(Ordering::SeqCst) || to_client.write_all(&chunk[..n]).await.is_err() {
                break;
            }
        }
    });
    // The startup message has no type byte; every later message is type, length, body.
    let forwarded: std::io::Result<()> = async {
        let mut length = [0u8; 4];
        from_client.read_exact(&mut length).await?;
        let mut startup = length.to_vec();
        startup.resize((u32::from_be_bytes(length) as usize).max(4), 0);
        from_client.read_exact(&mut startup[4..]).await?;
        to_server.write_all(&startup).await?;
        loop {
            let mut head = [0u8; 5];
            from_client.read_exact(&mut head).await?;
            let length = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
            let mut message = head.to_vec();
            message.resize(length.max(4) + 1, 0);
            from_client.read_exact(&mut message[5..]).await?;
            let commit = head[0] == b'Q' && message[5..].starts_with(b"COMMIT");
            let sever = commit
                && cut.cutting.load(Ordering::SeqCst)
                && cut.commits.fetch_add(1, Ordering::SeqCst) % CUT_EVERY == 0;
            if sever {
                severed.store(true, Ordering::SeqCst);
            }
            to_server.write_all(&message).await?;
            if sever {
                to_server.flush().await?;
                cut.cuts.fetch_add(1, Ordering::SeqCst);
                return Ok(());
            }
        }
    }
    .await;
    drop(forwarded);
    // Dropping the halves closes both connections; the server still runs the COMMIT it read.
    back.abort();
}

/// Sends one admin debit of 1 fen keyed `key`; returns the HTTP status and body.
async fn debit(admin: &Admin, account: i64, key: &str) -> (u16, Value) {
    admin
        .post(
            &format!("/admin/v1/accounts/{account}/debit"),
            serde_json::json!({"idempotency_key": key, "amount": 1}),
        )
        .await
}

/// Sends the debits `CONCURRENCY` at a time; returns each key's account and status.
async fn send_all(admin: &Arc<Admin>, accounts: &[i64], tag: &str) -> BTreeMap<String, (i64, u16)> {
    let mut answers = BTreeMap::new();
    let keys: Vec<(String, i64)> = (0..DEBITS)
        .map(|i| (format!("{tag}-{i}"), accounts[i % accounts.len()]))
        .collect();
    for chunk in keys.chunks(CONCURRENCY) {
        let sends = chunk.iter().map(|(key, account)| {
            let admin = admin.clone();
            let (key, account) = (key.clone(), *account);
            tokio::spawn(async move {
                let (status, body) = debit(&admin, account, &key).await;
                assert!(
                    matches!(status, 200 | 201 | 503),
                    "{key}: unexpected answer {status} {body}"
                );
                (key, account, status)
            })
        });
        for joined in futures::future::join_all(sends).await {
            let (key, account, status) = joined.expect("debit task");
            answers.insert(key, (account, status));
        }
    }
    answers
}

/// Posted journal rows per idempotency key of the merchant's admin debits.
async fn postings(url: &str, merchant: i64) -> BTreeMap<String, i64> {
    let store = Store::postgres(url, &PgOptions::with_pool_size(1))
        .await
        .expect("inspect database");
    let prefix = format!("admin:{merchant}:");
    let pattern = posgate_actors::store::Value::from(format!("{prefix}%"));
    let rows = store
        .transaction(move |db| {
            Box::pin(async move {
                db.query(
                    "SELECT idempotency_key, COUNT(*) FROM journal WHERE idempotency_key LIKE $1 \
                     AND status = 'posted' GROUP BY idempotency_key",
                    &[pattern],
                )
                .await
            })
        })
        .await
        .expect("count postings");
    rows.iter()
        .map(|r| {
            let key = r.text(0).expect("key");
            let count = r.i64(1).expect("count");
            (key.trim_start_matches(&prefix).to_string(), count)
        })
        .collect()
}

/// Sends a debit until the database answers again (the pool drops the connections the
/// outage closed one failure at a time); returns the final status.
async fn debit_until_answered(admin: &Admin, account: i64, key: &str) -> u16 {
    for _ in 0..50 {
        let (status, _) = debit(admin, account, key).await;
        if status != 503 {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    503
}

/// How much was debited from `accounts`, each opened with `OPENING` fen.
async fn debited(admin: &Admin, accounts: &[i64]) -> i64 {
    let mut total = 0;
    for account in accounts {
        let (_, balances) = admin
            .get(&format!("/admin/v1/accounts/{account}/balances"))
            .await;
        total += OPENING - balances["cash"].as_i64().expect("cash");
    }
    total
}

#[actix_rt::test]
async fn killed_sessions_never_turn_a_posted_debit_into_a_retry_answer() {
    let Some((mut c, database)) = own_database().await else {
        return;
    };
    let url = c.database.url.expose().clone();
    let cutter = CommitCutter::start(&url).await;
    c.database.url = posgate::secret::Secret::new(cutter.url.clone());
    // Resolution must outlast the killing bursts; the time box itself is not under test.
    c.accounts.commit_resolve_seconds = 60;
    c.accounts.commit_wait_us = 2000;
    let running = posgate::app::start(c).await.expect("start");
    let admin = Arc::new(Admin::new(format!("http://{}", running.addr)));
    let merchant = admin.merchant().await;
    let mut accounts = Vec::new();
    for _ in 0..ACCOUNTS {
        accounts.push(admin.account(merchant, OPENING).await);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let killer = tokio::spawn(keep_killing(database.clone(), stop.clone()));
    cutter.cutting.store(true, Ordering::SeqCst);
    let started = Instant::now();
    let answers = send_all(&admin, &accounts, "outage").await;
    cutter.cutting.store(false, Ordering::SeqCst);
    stop.store(true, Ordering::Relaxed);
    let rounds = killer.await.expect("killer");
    let retried = answers.values().filter(|(_, s)| *s == 503).count();
    println!(
        "{DEBITS} debits in {:?}, {rounds} kill rounds, {} commits cut: {retried} answered 503",
        started.elapsed(),
        cutter.cuts.load(Ordering::SeqCst)
    );
    let posted = postings(&url, merchant).await;
    for (key, (_, status)) in &answers {
        let count = posted.get(key).copied().unwrap_or(0);
        match status {
            503 => assert_eq!(count, 0, "{key} was answered 503 (retry) but is posted"),
            _ => assert_eq!(
                count, 1,
                "{key} was answered {status} but posted {count} times"
            ),
        }
    }
    // Every client retries with its key: nothing is posted twice.
    for (key, (account, _)) in &answers {
        let status = debit_until_answered(&admin, *account, key).await;
        assert!(
            matches!(status, 200 | 201),
            "{key}: retry answered {status}"
        );
    }
    let posted = postings(&url, merchant).await;
    let missing: Vec<&String> = answers
        .keys()
        .filter(|k| !posted.contains_key(*k))
        .collect();
    assert!(
        missing.is_empty(),
        "not posted after the retries: {missing:?}"
    );
    assert!(posted.values().all(|n| *n == 1), "a debit posted twice");
    assert_eq!(
        debited(&admin, &accounts).await,
        DEBITS as i64,
        "the balances moved once per debit"
    );
    running.stop().await;
}

#[actix_rt::test]
async fn refused_connections_get_prompt_retry_answers_from_jpos_and_the_admin_api() {
    let Some((c, database)) = own_database().await else {
        return;
    };
    let j = Jpos::start(c).await;
    assert_eq!(j.checkin().await.status(), "00");
    let account = j.admin.account(j.merchant, 10_000).await;
    testing::pg_allow_connections(&database, false).await;
    let started = Instant::now();
    let (admin_status, admin_body) = debit(&j.admin, account, "refused-1").await;
    let admin_elapsed = started.elapsed();
    let started = Instant::now();
    let consume = j.consume(1, 1, "1.00", "0").await;
    let jpos_elapsed = started.elapsed();
    testing::pg_allow_connections(&database, true).await;
    println!("database refusing connections: admin debit answered in {admin_elapsed:?}, jpos consume in {jpos_elapsed:?}");
    assert_eq!(admin_status, 503, "{admin_body}");
    assert_eq!(admin_body["error"], "store_unavailable", "{admin_body}");
    assert_eq!(consume.http, 200, "{}", consume.text);
    assert_eq!(
        consume.status(),
        "91",
        "jpos issuer unavailable (retry): {}",
        consume.text
    );
    // Back: the same requests go through, once.
    assert_eq!(
        debit_until_answered(&j.admin, account, "refused-1").await,
        201
    );
    j.running.stop().await;
}

/// GET /readyz: status and body.
async fn readyz(base: &str) -> (u16, Value) {
    let res = client()
        .get(format!("{base}/readyz"))
        .send()
        .await
        .expect("readyz");
    let status = res.status().as_u16();
    (status, res.json().await.expect("readyz json"))
}

#[actix_rt::test]
async fn readyz_tells_an_unreachable_database_from_pending_migrations() {
    let Some((c, database)) = own_database().await else {
        return;
    };
    let url = c.database.url.expose().clone();
    let running = posgate::app::start(c).await.expect("start");
    let base = format!("http://{}", running.addr);
    let (status, body) = readyz(&base).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("ready")),
        "{body}"
    );
    let newest = posgate_actors::store::migrate::MIGRATIONS
        .last()
        .expect("migrations")
        .version;
    // A rolling upgrade's pre-upgrade job applied a newer release's migration: still ready.
    operator(
        &url,
        format!(
            "INSERT INTO schema_migrations VALUES ({}, 'from_the_future', 0)",
            newest + 1
        ),
    )
    .await;
    let (status, body) = readyz(&base).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["schema_ahead"],
        serde_json::json!([newest + 1]),
        "{body}"
    );
    // The newest migration of this binary missing: not ready, and which one is said.
    operator(
        &url,
        format!("DELETE FROM schema_migrations WHERE version = {newest}"),
    )
    .await;
    let (status, body) = readyz(&base).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["reason"], "migrations_pending", "{body}");
    assert_eq!(
        body["missing_versions"],
        serde_json::json!([newest]),
        "{body}"
    );
    // The database gone: unreachable.
    testing::pg_allow_connections(&database, false).await;
    let started = Instant::now();
    let (status, body) = readyz(&base).await;
    println!(
        "readyz with the database refusing connections answered in {:?}",
        started.elapsed()
    );
    testing::pg_allow_connections(&database, true).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["reason"], "database_unreachable", "{body}");
    running.stop().await;
}
