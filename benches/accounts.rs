//! Accounts actor throughput: debits/s and latency through the sharded group-commit
//! batcher, on PostgreSQL with batching and with batch size 1, and on SQLite.
//!
//! Run: `cargo bench --bench accounts` (PostgreSQL from POSGATE_TEST_PG_URL, default the
//! local server; skipped with a notice when unreachable). Prints one line per scenario and
//! the batched/unbatched ratio. Not a test: nothing here asserts on time.

use chrono::NaiveDate;
use futures::StreamExt;
use posgate_actors::accounts::{Accounts, AccountsConfig};
use posgate_actors::ledger::{Asset, LimitPolicy, Operation, PostRequest};
use posgate_actors::store::{catalog, now_ms, Store};
use posgate_actors::testing;
use std::time::{Duration, Instant};

/// Accounts debited (spread over the shards).
const ACCOUNTS: usize = 2_000;
/// Requests in flight at once (terminals waiting for an answer).
const IN_FLIGHT: usize = 256;

struct Scenario {
    name: &'static str,
    batch_size_max: usize,
    commit_wait_us: u64,
    debits: usize,
}

struct Figures {
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

async fn prepare(store: &Store, tag: &str) -> Vec<i64> {
    let code = testing::unique(tag);
    let ids = store
        .transaction(move |db| {
            Box::pin(async move {
                let m = catalog::create_merchant(db, &code, "bench", now_ms()).await?;
                let mut ids = Vec::with_capacity(ACCOUNTS);
                for i in 0..ACCOUNTS {
                    ids.push(
                        catalog::create_account(db, m.id, &format!("u{i}"), "", None, now_ms())
                            .await?
                            .id,
                    );
                }
                Ok(ids)
            })
        })
        .await
        .expect("create accounts");
    let credits = ids
        .iter()
        .map(|&id| PostRequest {
            idempotency_key: format!("bench-open-{id}"),
            account_id: id,
            terminal: None,
            business_date: day(),
            op: Operation::Credit {
                asset: Asset::Cash,
                amount: 1_000_000_000,
            },
            device_fields: Default::default(),
        })
        .collect();
    store.commit_batch(credits).await.expect("opening credits");
    ids
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 24).expect("valid date")
}

async fn run(store: &Store, accounts_ids: &[i64], s: &Scenario, run_id: u64) -> Figures {
    let accounts = Accounts::start(
        store.clone(),
        AccountsConfig {
            shards: 2,
            batch_size_max: s.batch_size_max,
            commit_wait_us: s.commit_wait_us,
            mailbox_capacity: 100_000,
            ..Default::default()
        },
    );
    let started = Instant::now();
    let mut latencies: Vec<Duration> = futures::stream::iter(0..s.debits)
        .map(|i| {
            let accounts = accounts.clone();
            let account = accounts_ids[(i * 7919) % accounts_ids.len()];
            async move {
                let t = Instant::now();
                let out = accounts
                    .post(PostRequest {
                        idempotency_key: format!("bench-{run_id}-{i}"),
                        account_id: account,
                        terminal: Some("bench:1".into()),
                        business_date: day(),
                        op: Operation::Debit {
                            amount: 100,
                            sources: vec![Asset::Subsidy, Asset::Cash],
                            discount: false,
                            limits: LimitPolicy::Online,
                            overdraft: false,
                            award_points: 0,
                        },
                        device_fields: Default::default(),
                    })
                    .await
                    .expect("debit");
                assert!(out.is_posted());
                t.elapsed()
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let elapsed = started.elapsed();
    accounts.drain().await;
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    Figures {
        per_second: s.debits as f64 / elapsed.as_secs_f64(),
        p50: pct(0.50),
        p99: pct(0.99),
    }
}

fn print(backend: &str, s: &Scenario, f: &Figures) {
    println!(
        "{backend:<10} {:<22} batch_max={:<4} wait_us={:<5} debits={:<6} {:>9.0} debits/s  p50={:>7.2} ms  p99={:>7.2} ms",
        s.name,
        s.batch_size_max,
        s.commit_wait_us,
        s.debits,
        f.per_second,
        f.p50.as_secs_f64() * 1e3,
        f.p99.as_secs_f64() * 1e3,
    );
}

async fn bench(backend: &str, store: Store, batched: Scenario, unbatched: Scenario) {
    let ids = prepare(&store, backend).await;
    // Warm-up: connections, caches, statement plans.
    let warm = Scenario {
        name: "warm-up",
        debits: 2_000,
        ..batched
    };
    run(&store, &ids, &warm, 0).await;
    let b = run(&store, &ids, &batched, 1).await;
    print(backend, &batched, &b);
    let u = run(&store, &ids, &unbatched, 2).await;
    print(backend, &unbatched, &u);
    println!(
        "{backend:<10} batched / unbatched = {:.1}x",
        b.per_second / u.per_second
    );
}

fn main() {
    // `cargo bench` passes --bench; nothing to parse.
    actix_rt::System::new().block_on(async {
        println!("accounts actor: {ACCOUNTS} accounts, {IN_FLIGHT} requests in flight, 2 shards");
        let batched = |debits| Scenario {
            name: "batched",
            batch_size_max: 256,
            commit_wait_us: 500,
            debits,
        };
        let unbatched = |debits| Scenario {
            name: "unbatched (batch 1)",
            batch_size_max: 1,
            commit_wait_us: 0,
            debits,
        };
        match testing::scratch_pg_url() {
            Some(url) => {
                let store =
                    Store::postgres(&url, &posgate_actors::store::PgOptions::with_pool_size(4))
                        .await
                        .expect("connect");
                bench("postgres", store, batched(50_000), unbatched(5_000)).await;
            }
            None => println!("postgres   skipped: PostgreSQL unreachable"),
        }
        let dir = std::env::temp_dir().join(format!("posgate-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("bench.db");
        let store = Store::sqlite(path.to_str().expect("utf-8 path")).expect("open sqlite");
        store.migrate().await.expect("migrate");
        bench("sqlite", store, batched(50_000), unbatched(5_000)).await;
        let _ = std::fs::remove_dir_all(&dir);
    });
}
