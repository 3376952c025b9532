//! Two posgate processes on one PostgreSQL database, debiting the same accounts at once.
//!
//! Each logical debit has one idempotency key and is sent to a random replica, often to
//! both at the same time, and retried; halfway through one replica is killed (SIGKILL) and
//! everything is retried on the other. At the end every key has exactly one answer, the
//! balances equal the opening balances minus the debits that were answered as posted, no
//! balance is negative, the ledger audit is clean, and the survivor stops cleanly on
//! SIGTERM. Skips (or fails under POSGATE_REQUIRE_SERVICES=1) without PostgreSQL.

mod common;

use common::process::Replica;
use common::{client, Admin, TOKEN};
use futures::StreamExt;
use posgate_actors::testing;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

const ACCOUNTS: usize = 10;
const OPENING_CASH: i64 = 20_000;
const DEBITS_PER_PHASE: usize = 600;

/// One attempt of a debit on one replica: `Some((status, body))`, or `None` when the
/// replica could not be reached (killed).
async fn attempt(
    http: &reqwest::Client,
    base: &str,
    account: i64,
    key: &str,
    amount: i64,
) -> Option<(u16, Value)> {
    let res = http
        .post(format!("{base}/admin/v1/accounts/{account}/debit"))
        .bearer_auth(TOKEN)
        .json(&json!({"idempotency_key": key, "amount": amount}))
        .send()
        .await
        .ok()?;
    let status = res.status().as_u16();
    let body = res.json().await.ok()?;
    Some((status, body))
}

#[actix_rt::test]
async fn two_replicas_never_overdraw_or_duplicate() {
    let Some(url) = testing::scratch_pg_url() else {
        return;
    };
    let a_proc = Replica::spawn(&url, &[]).await;
    let a = a_proc.base.clone();
    let mut b_proc = Replica::spawn(&url, &[]).await;
    let b = b_proc.base.clone();
    let admin = Admin::new(a.clone());
    let merchant = admin.merchant().await;
    let mut accounts = Vec::new();
    for _ in 0..ACCOUNTS {
        accounts.push(admin.account(merchant, OPENING_CASH).await);
    }
    let seed: u64 = rand::random();
    eprintln!("cluster test seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    // key -> (account, amount)
    let mut plan: Vec<(String, i64, i64)> = Vec::new();
    for i in 0..2 * DEBITS_PER_PHASE {
        plan.push((
            format!("cluster-{seed}-{i}"),
            accounts[rng.random_range(0..ACCOUNTS)],
            rng.random_range(1..=400),
        ));
    }
    let http = client();
    let mut answers: HashMap<String, Vec<(u16, Value)>> = HashMap::new();

    // Phase 1: both replicas, random targets, frequent concurrent duplicates.
    let phase1: Vec<_> = plan[..DEBITS_PER_PHASE]
        .iter()
        .map(|(key, account, amount)| {
            let both = rng.random_bool(0.4);
            let first_a = rng.random_bool(0.5);
            (key.clone(), *account, *amount, both, first_a)
        })
        .collect();
    let results: Vec<_> = futures::stream::iter(phase1.into_iter().map(
        |(key, account, amount, both, first_a)| {
            let (http, a, b) = (http.clone(), a.clone(), b.clone());
            async move {
                let (first, second) = if first_a { (a, b) } else { (b, a) };
                let mut got = Vec::new();
                if both {
                    let (x, y) = futures::join!(
                        attempt(&http, &first, account, &key, amount),
                        attempt(&http, &second, account, &key, amount)
                    );
                    got.extend(x);
                    got.extend(y);
                } else {
                    got.extend(attempt(&http, &first, account, &key, amount).await);
                }
                (key, got)
            }
        },
    ))
    .buffer_unordered(24)
    .collect()
    .await;
    for (key, got) in results {
        answers.entry(key).or_default().extend(got);
    }

    // Kill replica B without warning, then run phase 2 on A, retrying every phase-1 key too.
    b_proc.child.start_kill().expect("kill replica b");
    let _ = b_proc.child.wait().await;
    let retry_all = plan.clone();
    let results: Vec<_> =
        futures::stream::iter(retry_all.into_iter().map(|(key, account, amount)| {
            let (http, a) = (http.clone(), a.clone());
            async move {
                let mut got = Vec::new();
                // Retry until A answers with a final status (503 busy is retryable).
                for _ in 0..20 {
                    match attempt(&http, &a, account, &key, amount).await {
                        Some((503, _)) | None => {
                            tokio::time::sleep(Duration::from_millis(50)).await
                        }
                        Some(answer) => {
                            got.push(answer);
                            break;
                        }
                    }
                }
                (key, got)
            }
        }))
        .buffer_unordered(24)
        .collect()
        .await;
    for (key, got) in results {
        answers.entry(key).or_default().extend(got);
    }

    // Every key: at least one final answer, and all answers agree.
    let mut debited: HashMap<i64, i64> = HashMap::new();
    for (key, account, amount) in &plan {
        let got: Vec<&(u16, Value)> = answers[key].iter().filter(|(s, _)| *s != 503).collect();
        assert!(!got.is_empty(), "{key} was never answered");
        let first = &got[0].1;
        for (status, body) in &got {
            assert!(
                matches!(status, 200 | 201 | 422),
                "{key}: unexpected {status} {body}"
            );
            assert_eq!(
                body["transaction_id"], first["transaction_id"],
                "{key}: two transactions"
            );
            assert_eq!(body["status"], first["status"], "{key}: answers disagree");
        }
        if first["status"] == "posted" {
            *debited.entry(*account).or_default() += amount;
        }
    }
    // Balances: opening minus posted debits, never negative; one journal row per key.
    let mut rows = 0;
    for &account in &accounts {
        let (_, balances) = admin
            .get(&format!("/admin/v1/accounts/{account}/balances"))
            .await;
        let cash = balances["cash"].as_i64().unwrap();
        assert!(cash >= 0, "account {account} overdrawn: {cash}");
        assert_eq!(
            cash,
            OPENING_CASH - debited.get(&account).copied().unwrap_or(0),
            "account {account}"
        );
        let mut before = String::new();
        loop {
            let (_, page) = admin
                .get(&format!(
                    "/admin/v1/transactions?account_id={account}&limit=500{before}"
                ))
                .await;
            rows += page["items"].as_array().unwrap().len();
            match page["next_before_id"].as_i64() {
                Some(id) => before = format!("&before_id={id}"),
                None => break,
            }
        }
    }
    assert_eq!(
        rows,
        plan.len() + ACCOUNTS,
        "one journal row per debit key plus the openings"
    );
    let (_, audit) = admin.get("/admin/v1/ledger/audit").await;
    assert_eq!(audit["unbalanced"], json!([]));
    assert_eq!(audit["balance_mismatches"], json!([]));

    // The survivor drains and exits cleanly on SIGTERM.
    let status = a_proc.terminate(Duration::from_secs(30)).await;
    assert!(status.success(), "replica a exited with {status}");
}
