//! Ledger conformance: the same scenarios against SQLite and PostgreSQL.
//!
//! Each scenario is an async fn taking a migrated [`Store`]; `conformance!` runs it once per
//! backend. PostgreSQL scenarios share one scratch database per test process and keep apart
//! by creating their own merchant; they skip when PostgreSQL is unreachable, and fail then
//! under `POSGATE_REQUIRE_SERVICES=1`. Every scenario ends with a ledger audit.

use chrono::NaiveDate;
use posgate_actors::accounts::{Accounts, AccountsConfig};
use posgate_actors::ledger::*;
use posgate_actors::store::{audit, catalog, now_ms, Store};
use posgate_actors::testing;
use rand::{Rng, SeedableRng};

macro_rules! conformance {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[actix_rt::test]
                async fn sqlite() {
                    super::$name(posgate_actors::testing::sqlite_store().await).await;
                }

                #[actix_rt::test]
                async fn postgres() {
                    if let Some(store) = posgate_actors::testing::pg_store().await {
                        super::$name(store).await;
                    }
                }
            }
        )+
    };
}

conformance!(
    repeated_key_posts_once,
    insufficient_refuses_and_changes_nothing,
    subsidy_is_drawn_before_cash,
    group_limits_and_discount,
    daily_counters_reset_by_date_and_voids,
    offline_records_flag_and_overdraw,
    void_and_tombstone,
    reversal_always_completes,
    refunds_partial_and_voided,
    frozen_account_refused,
    transfer_to_purse,
    same_batch_duplicates_and_chains,
    randomized_ten_thousand_operations,
    actor_batches_concurrent_requests,
);

const DAY: fn() -> NaiveDate = || NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();

struct Fixture {
    store: Store,
    merchant: i64,
    prefix: String,
}

impl Fixture {
    async fn new(store: Store) -> Fixture {
        let code = testing::unique("m");
        let c = code.clone();
        let merchant = store
            .transaction(move |db| {
                Box::pin(async move { catalog::create_merchant(db, &c, "Canteen", now_ms()).await })
            })
            .await
            .unwrap();
        Fixture {
            store,
            merchant: merchant.id,
            prefix: code,
        }
    }

    async fn group(&self, rules: catalog::GroupRulesInput) -> i64 {
        let merchant = self.merchant;
        let name = testing::unique("g");
        self.store
            .transaction(move |db| {
                Box::pin(async move {
                    catalog::create_group(db, merchant, &name, &rules, now_ms()).await
                })
            })
            .await
            .unwrap()
            .id
    }

    async fn account(&self, group: Option<i64>) -> i64 {
        let merchant = self.merchant;
        let user = testing::unique("u");
        self.store
            .transaction(move |db| {
                Box::pin(async move {
                    catalog::create_account(db, merchant, &user, "Zhang San", group, now_ms()).await
                })
            })
            .await
            .unwrap()
            .id
    }

    fn key(&self, k: &str) -> String {
        format!("{}:{k}", self.prefix)
    }

    fn req(&self, key: &str, account: i64, op: Operation) -> PostRequest {
        PostRequest {
            idempotency_key: self.key(key),
            account_id: account,
            terminal: Some("test:1".into()),
            business_date: DAY(),
            op,
            device_fields: Default::default(),
        }
    }

    async fn post(&self, key: &str, account: i64, op: Operation) -> PostOutcome {
        self.post_all(vec![self.req(key, account, op)])
            .await
            .remove(0)
    }

    async fn post_all(&self, requests: Vec<PostRequest>) -> Vec<PostOutcome> {
        self.store.commit_batch(requests).await.unwrap()
    }

    async fn credit(&self, key: &str, account: i64, asset: Asset, amount: i64) -> PostOutcome {
        self.post(key, account, Operation::Credit { asset, amount })
            .await
    }

    async fn balances(&self, account: i64) -> Balances {
        self.store
            .transaction(move |db| Box::pin(async move { catalog::balances(db, account).await }))
            .await
            .unwrap()
            .unwrap()
    }

    async fn audit(&self) {
        let report = self
            .store
            .transaction(|db| Box::pin(async move { audit::run(db).await }))
            .await
            .unwrap();
        assert!(report.is_clean(), "ledger audit failed: {report:?}");
    }

    async fn postings_of(&self, key: &str) -> i64 {
        let key = self.key(key);
        self.store
            .transaction(move |db| {
                Box::pin(async move {
                    posgate_actors::store::sql::query_one(
                        db,
                        "SELECT COUNT(*) FROM postings p JOIN journal j ON j.id = p.journal_id \
                         WHERE j.idempotency_key = $1",
                        &[key.into()],
                    )
                    .await?
                    .i64(0)
                })
            })
            .await
            .unwrap()
    }
}

fn debit(amount: i64) -> Operation {
    Operation::Debit {
        amount,
        sources: vec![Asset::Cash],
        discount: false,
        limits: LimitPolicy::None,
        overdraft: false,
        award_points: 0,
    }
}

fn online(amount: i64) -> Operation {
    Operation::Debit {
        amount,
        sources: vec![Asset::Subsidy, Asset::Cash],
        discount: true,
        limits: LimitPolicy::Online,
        overdraft: false,
        award_points: 0,
    }
}

fn offline(amount: i64) -> Operation {
    Operation::Debit {
        amount,
        sources: vec![Asset::Subsidy, Asset::Cash],
        discount: false,
        limits: LimitPolicy::Offline,
        overdraft: true,
        award_points: 0,
    }
}

fn void(original: &str, f: &Fixture) -> Operation {
    Operation::Void {
        original_key: f.key(original),
        kind: VoidKind::Reversal,
    }
}

async fn repeated_key_posts_once(store: Store) {
    let f = Fixture::new(store).await;
    let a = f.account(None).await;
    f.credit("c1", a, Asset::Cash, 1000).await;
    let first = f.post("d1", a, debit(300)).await;
    assert!(first.is_posted());
    assert!(!first.replayed);
    assert_eq!(first.balances.cash, 700);
    let again = f.post("d1", a, debit(300)).await;
    assert!(again.replayed);
    assert!(!again.key_conflict);
    assert_eq!(again.transaction_id, first.transaction_id);
    assert_eq!(again.balances, first.balances);
    assert_eq!(again.posted_amount, first.posted_amount);
    // Same key, different request: the stored answer, flagged, and nothing posted.
    let other = f.post("d1", a, debit(500)).await;
    assert!(other.replayed && other.key_conflict);
    assert_eq!(other.posted_amount, 300);
    assert_eq!(f.balances(a).await.cash, 700);
    assert_eq!(f.postings_of("d1").await, 2);
    f.audit().await;
}

async fn insufficient_refuses_and_changes_nothing(store: Store) {
    let f = Fixture::new(store).await;
    let a = f.account(None).await;
    f.credit("c1", a, Asset::Cash, 100).await;
    let out = f.post("d1", a, debit(101)).await;
    assert_eq!(out.refusal, Some(Refusal::Insufficient));
    assert_eq!(out.posted_amount, 0);
    assert_eq!(out.balances.cash, 100);
    assert_eq!(f.balances(a).await.cash, 100);
    assert_eq!(f.postings_of("d1").await, 0);
    // The refusal is the stored answer of that key, even after a top-up.
    f.credit("c2", a, Asset::Cash, 1000).await;
    let again = f.post("d1", a, debit(101)).await;
    assert_eq!(again.refusal, Some(Refusal::Insufficient));
    assert!(again.replayed);
    assert_eq!(f.balances(a).await.cash, 1100);
    // Unknown account and invalid amounts are refusals too.
    let none = f.post("d2", 999_999_999, debit(1)).await;
    assert_eq!(none.refusal, Some(Refusal::AccountNotFound));
    for (k, op) in [("d3", debit(0)), ("d4", debit(-5))] {
        assert_eq!(
            f.post(k, a, op).await.refusal,
            Some(Refusal::InvalidRequest)
        );
    }
    let bad_sources = Operation::Debit {
        amount: 5,
        sources: vec![],
        discount: false,
        limits: LimitPolicy::None,
        overdraft: false,
        award_points: 0,
    };
    assert_eq!(
        f.post("d5", a, bad_sources).await.refusal,
        Some(Refusal::InvalidRequest)
    );
    assert_eq!(f.balances(a).await.cash, 1100);
    f.audit().await;
}

async fn subsidy_is_drawn_before_cash(store: Store) {
    let f = Fixture::new(store).await;
    let a = f.account(None).await;
    f.credit("c1", a, Asset::Cash, 500).await;
    f.credit("c2", a, Asset::Subsidy, 200).await;
    let out = f.post("d1", a, online(300)).await;
    assert!(out.is_posted());
    assert_eq!((out.balances.subsidy, out.balances.cash), (0, 400));
    assert_eq!(f.postings_of("d1").await, 4);
    let out = f.post("d2", a, online(401)).await;
    assert_eq!(out.refusal, Some(Refusal::Insufficient));
    assert_eq!(f.balances(a).await.cash, 400);
    f.audit().await;
}

async fn group_limits_and_discount(store: Store) {
    let f = Fixture::new(store).await;
    let g = f
        .group(catalog::GroupRulesInput {
            single_limit: 1000,
            daily_amount_limit: 1500,
            daily_count_limit: 3,
            discount_percent: 85,
            ..Default::default()
        })
        .await;
    let a = f.account(Some(g)).await;
    f.credit("c1", a, Asset::Cash, 100_000).await;
    // 85% of 117 = 99.45 -> 99 (half up); of 1001 = 850.85 -> 851.
    let out = f.post("d1", a, online(117)).await;
    assert_eq!((out.amount, out.posted_amount), (117, 99));
    // Single limit applies after the discount: 1200 * 0.85 = 1020 > 1000.
    assert_eq!(
        f.post("d2", a, online(1200)).await.refusal,
        Some(Refusal::OverSingleLimit)
    );
    let out = f.post("d3", a, online(1001)).await;
    assert_eq!(out.posted_amount, 851);
    // Daily amount: 99 + 851 + 600 > 1500.
    assert_eq!(
        f.post("d4", a, online(706)).await.refusal,
        Some(Refusal::OverDailyAmount)
    );
    assert!(f.post("d5", a, online(100)).await.is_posted());
    // Daily count: three posted already.
    assert_eq!(
        f.post("d6", a, online(1)).await.refusal,
        Some(Refusal::OverDailyCount)
    );
    assert_eq!(f.balances(a).await.cash, 100_000 - 99 - 851 - 85);
    f.audit().await;
}

async fn daily_counters_reset_by_date_and_voids(store: Store) {
    let f = Fixture::new(store).await;
    let g = f
        .group(catalog::GroupRulesInput {
            daily_count_limit: 1,
            discount_percent: 100,
            ..Default::default()
        })
        .await;
    let a = f.account(Some(g)).await;
    f.credit("c1", a, Asset::Cash, 10_000).await;
    assert!(f.post("d1", a, online(10)).await.is_posted());
    assert_eq!(
        f.post("d2", a, online(10)).await.refusal,
        Some(Refusal::OverDailyCount)
    );
    // Another business date has its own counters.
    let mut next_day = f.req("d3", a, online(10));
    next_day.business_date = DAY().succ_opt().unwrap();
    assert!(f.post_all(vec![next_day]).await[0].is_posted());
    // Voiding the first debit gives its count back.
    assert!(f.post("v1", a, void("d1", &f)).await.is_posted());
    assert!(f.post("d4", a, online(10)).await.is_posted());
    f.audit().await;
}

async fn offline_records_flag_and_overdraw(store: Store) {
    let f = Fixture::new(store).await;
    let g = f
        .group(catalog::GroupRulesInput {
            offline_amount_limit: 500,
            offline_count_limit: 1,
            daily_amount_limit: 1,
            ..Default::default()
        })
        .await;
    let a = f.account(Some(g)).await;
    f.credit("c1", a, Asset::Cash, 300).await;
    let out = f.post("o1", a, offline(400)).await;
    assert!(out.is_posted(), "offline records are always booked");
    assert_eq!(out.balances.cash, -100);
    assert!(out.flags.has(Flags::OVERDRAFT));
    assert!(!out.flags.has(Flags::OFFLINE_AMOUNT_EXCEEDED));
    let out = f.post("o2", a, offline(200)).await;
    assert!(out.is_posted());
    assert!(out.flags.has(Flags::OFFLINE_AMOUNT_EXCEEDED));
    assert!(out.flags.has(Flags::OFFLINE_COUNT_EXCEEDED));
    assert_eq!(f.balances(a).await.cash, -300);
    // An online debit cannot go below zero.
    assert_eq!(
        f.post("d1", a, debit(1)).await.refusal,
        Some(Refusal::Insufficient)
    );
    f.audit().await;
}

async fn void_and_tombstone(store: Store) {
    let f = Fixture::new(store).await;
    let a = f.account(None).await;
    f.credit("c1", a, Asset::Cash, 1000).await;
    f.post("d1", a, debit(300)).await;
    let v = f.post("v1", a, void("d1", &f)).await;
    assert!(v.is_posted());
    assert_eq!(v.posted_amount, 300);
    assert_eq!(v.balances.cash, 1000);
    // A second, different void of the same original is refused; a retry of the first
    // replays it.
    assert_eq!(
        f.post("v2", a, void("d1", &f)).await.refusal,
        Some(Refusal::AlreadyVoided)
    );
    assert!(f.post("v1", a, void("d1", &f)).await.replayed);
    // A void of a void is refused.
    assert_eq!(
        f.post("v3", a, void("v1", &f)).await.refusal,
        Some(Refusal::NotVoidable)
    );
    // Reversal before its original: a tombstone refuses the late original.
    let early = f.post("v4", a, void("d9", &f)).await;
    assert!(early.is_posted());
    assert!(early.flags.has(Flags::ORIGINAL_MISSING));
    let late = f.post("d9", a, debit(100)).await;
    assert_eq!(late.refusal, Some(Refusal::VoidedBeforeArrival));
    assert!(!late.key_conflict);
    // A cancel (not a reversal) of an unknown original is refused and leaves no tombstone.
    let cancel = Operation::Void {
        original_key: f.key("d8"),
        kind: VoidKind::Cancel,
    };
    assert_eq!(
        f.post("v8", a, cancel).await.refusal,
        Some(Refusal::OriginalNotFound)
    );
    assert!(f.post("d8", a, debit(100)).await.is_posted());
    assert!(f.post("v9", a, void("d8", &f)).await.is_posted());
    assert_eq!(f.balances(a).await.cash, 1000);
    // A void of a refused original succeeds with nothing to undo.
    f.post("d10", a, debit(5000)).await;
    let v = f.post("v5", a, void("d10", &f)).await;
    assert!(v.is_posted() && v.flags.has(Flags::ORIGINAL_REFUSED));
    // Another account cannot void this one's transaction.
    let b = f.account(None).await;
    f.post("d11", a, debit(10)).await;
    assert_eq!(
        f.post("v6", b, void("d11", &f)).await.refusal,
        Some(Refusal::NotVoidable)
    );
    // Cancelling a credit that was already spent would overdraw: refused.
    f.credit("c2", b, Asset::Cash, 50).await;
    f.post("d12", b, debit(40)).await;
    let cancel = Operation::Void {
        original_key: f.key("c2"),
        kind: VoidKind::Cancel,
    };
    assert_eq!(
        f.post("v7", b, cancel).await.refusal,
        Some(Refusal::Insufficient)
    );
    f.audit().await;
}

/// A reversal always completes: undoing a credit (or points granted) already spent takes
/// the account below zero, flagged `void_overdraft`; a retry replays it; a cancel of the same
/// is refused and changes nothing.
async fn reversal_always_completes(store: Store) {
    let f = Fixture::new(store).await;
    let a = f.account(None).await;
    f.credit("c1", a, Asset::Cash, 50).await;
    assert!(f.post("d1", a, debit(40)).await.is_posted());
    let cancel = Operation::Void {
        original_key: f.key("c1"),
        kind: VoidKind::Cancel,
    };
    assert_eq!(
        f.post("x1", a, cancel).await.refusal,
        Some(Refusal::Insufficient)
    );
    assert_eq!(f.balances(a).await.cash, 10);
    let rev = f.post("r1", a, void("c1", &f)).await;
    assert!(rev.is_posted(), "{rev:?}");
    assert!(rev.flags.has(Flags::VOID_OVERDRAFT));
    assert_eq!(rev.flags.names(), vec!["void_overdraft"]);
    assert_eq!(rev.posted_amount, 50);
    assert_eq!(rev.balances.cash, -40);
    assert_eq!(f.balances(a).await.cash, -40);
    let again = f.post("r1", a, void("c1", &f)).await;
    assert!(again.replayed && again.flags.has(Flags::VOID_OVERDRAFT));
    assert_eq!(f.balances(a).await.cash, -40);
    // A reversal that does not overdraw is not flagged.
    f.credit("c2", a, Asset::Cash, 100).await;
    assert!(f.post("d2", a, debit(30)).await.is_posted());
    let plain = f.post("r2", a, void("d2", &f)).await;
    assert!(plain.is_posted() && !plain.flags.has(Flags::VOID_OVERDRAFT));
    assert_eq!(f.balances(a).await.cash, 60);
    f.audit().await;
}

async fn refunds_partial_and_voided(store: Store) {
    let f = Fixture::new(store).await;
    let a = f.account(None).await;
    f.credit("c1", a, Asset::Cash, 1000).await;
    f.credit("c2", a, Asset::Subsidy, 100).await;
    f.post("d1", a, online(500)).await; // 100 subsidy + 400 cash
    let refund = |k: &str, amount| {
        let op = Operation::Refund {
            original_key: f.key("d1"),
            amount,
        };
        (k.to_string(), op)
    };
    let (k, op) = refund("r1", 300);
    let out = f.post(&k, a, op).await;
    assert!(out.is_posted());
    // Cash (drawn last) comes back first.
    assert_eq!((out.balances.cash, out.balances.subsidy), (900, 0));
    // A partly refunded debit can no longer be voided as a whole.
    assert_eq!(
        f.post("v0", a, void("d1", &f)).await.refusal,
        Some(Refusal::NotVoidable)
    );
    let (k, op) = refund("r2", 201);
    assert_eq!(
        f.post(&k, a, op).await.refusal,
        Some(Refusal::RefundExceedsOriginal)
    );
    let (k, op) = refund("r3", 200);
    let out = f.post(&k, a, op).await;
    assert_eq!((out.balances.cash, out.balances.subsidy), (1000, 100));
    let (k, op) = refund("r4", 1);
    assert_eq!(
        f.post(&k, a, op).await.refusal,
        Some(Refusal::AlreadyVoided)
    );
    // Cancelling the last refund makes room for another.
    assert!(f.post("v1", a, void("r3", &f)).await.is_posted());
    let (k, op) = refund("r5", 200);
    assert!(f.post(&k, a, op).await.is_posted());
    let unknown = Operation::Refund {
        original_key: f.key("nope"),
        amount: 1,
    };
    assert_eq!(
        f.post("r6", a, unknown).await.refusal,
        Some(Refusal::OriginalNotFound)
    );
    f.audit().await;
}

async fn frozen_account_refused(store: Store) {
    let f = Fixture::new(store).await;
    let a = f.account(None).await;
    f.credit("c1", a, Asset::Cash, 1000).await;
    f.post("d1", a, debit(100)).await;
    f.store
        .transaction(move |db| {
            Box::pin(async move {
                let patch = catalog::AccountPatch {
                    status: Some(posgate_actors::model::AccountStatus::Frozen),
                    ..Default::default()
                };
                catalog::update_account(db, a, &patch, now_ms()).await
            })
        })
        .await
        .unwrap();
    assert_eq!(
        f.post("d2", a, debit(1)).await.refusal,
        Some(Refusal::AccountFrozen)
    );
    assert_eq!(
        f.credit("c2", a, Asset::Cash, 1).await.refusal,
        Some(Refusal::AccountFrozen)
    );
    // Undoing is still allowed.
    assert!(f.post("v1", a, void("d1", &f)).await.is_posted());
    assert_eq!(f.balances(a).await.cash, 1000);
    f.audit().await;
}

async fn transfer_to_purse(store: Store) {
    let f = Fixture::new(store).await;
    let a = f.account(None).await;
    f.credit("c1", a, Asset::Cash, 1000).await;
    let t = |amount| Operation::Transfer {
        from: Asset::Cash,
        to: Asset::Purse,
        amount,
    };
    let out = f.post("t1", a, t(600)).await;
    assert_eq!((out.balances.cash, out.balances.purse), (400, 600));
    assert_eq!(
        f.post("t2", a, t(401)).await.refusal,
        Some(Refusal::Insufficient)
    );
    let copies = Operation::Transfer {
        from: Asset::Cash,
        to: Asset::Copies,
        amount: 1,
    };
    assert_eq!(
        f.post("t3", a, copies).await.refusal,
        Some(Refusal::InvalidRequest)
    );
    f.audit().await;
}

async fn same_batch_duplicates_and_chains(store: Store) {
    let f = Fixture::new(store).await;
    let a = f.account(None).await;
    let b = f.account(None).await;
    f.credit("c1", a, Asset::Cash, 1000).await;
    f.credit("c2", b, Asset::Cash, 50).await;
    let out = f
        .post_all(vec![
            f.req("d1", a, debit(100)),
            f.req("d1", a, debit(100)),
            f.req("v1", a, void("d1", &f)),
            f.req("v2", a, void("d2", &f)),
            f.req("d2", a, debit(100)),
            f.req("d3", b, debit(60)),
            f.req("d4", b, debit(50)),
        ])
        .await;
    assert!(out[0].is_posted() && !out[0].replayed);
    assert!(out[1].replayed && out[1].transaction_id == out[0].transaction_id);
    assert!(out[2].is_posted());
    assert!(out[3].flags.has(Flags::ORIGINAL_MISSING));
    assert_eq!(out[4].refusal, Some(Refusal::VoidedBeforeArrival));
    assert_eq!(out[5].refusal, Some(Refusal::Insufficient));
    assert!(out[6].is_posted());
    assert_eq!(f.balances(a).await.cash, 1000);
    assert_eq!(f.balances(b).await.cash, 0);
    f.audit().await;
}

/// 10,000 random operations (credits, debits of every policy, voids, refunds, transfers,
/// repeated keys) in random batch sizes, checked against a running model of what each
/// answer says, then audited: every balance equals the sum of its postings, every
/// transaction sums to zero, and no balance went negative without an overdraft flag.
async fn randomized_ten_thousand_operations(store: Store) {
    let f = Fixture::new(store).await;
    let seed: u64 = std::env::var("POSGATE_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("randomized ledger run, POSGATE_TEST_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let g = f
        .group(catalog::GroupRulesInput {
            single_limit: 5_000,
            daily_amount_limit: 200_000,
            discount_percent: 90,
            ..Default::default()
        })
        .await;
    let mut accounts = Vec::new();
    for i in 0..12 {
        accounts.push(f.account(if i % 2 == 0 { Some(g) } else { None }).await);
    }
    let mut keys: Vec<(String, i64)> = Vec::new();
    let mut outcomes: std::collections::HashMap<String, PostOutcome> = Default::default();
    let mut overdrawn_ok: std::collections::HashSet<i64> = Default::default();
    let total = 10_000;
    let mut done = 0;
    let mut n = 0u64;
    while done < total {
        let size = rng.random_range(1..=64).min(total - done);
        let mut batch = Vec::with_capacity(size);
        for _ in 0..size {
            let account = accounts[rng.random_range(0..accounts.len())];
            let roll = rng.random_range(0..100);
            let (key, account, op) = if roll < 5 && !keys.is_empty() {
                // A retry of an earlier request, verbatim or not.
                let (k, acc) = keys[rng.random_range(0..keys.len())].clone();
                (k, acc, debit(rng.random_range(1..500)))
            } else {
                n += 1;
                let key = f.key(&format!("r{n}"));
                let amount = rng.random_range(1..3_000);
                let op = match roll {
                    5..=24 => Operation::Credit {
                        asset: if rng.random_bool(0.5) {
                            Asset::Cash
                        } else {
                            Asset::Subsidy
                        },
                        amount,
                    },
                    25..=54 => online(amount),
                    55..=64 => debit(amount),
                    65..=69 => {
                        overdrawn_ok.insert(account);
                        offline(amount)
                    }
                    70..=79 if !keys.is_empty() => Operation::Void {
                        original_key: keys[rng.random_range(0..keys.len())].0.clone(),
                        kind: VoidKind::Cancel,
                    },
                    80..=89 if !keys.is_empty() => Operation::Refund {
                        original_key: keys[rng.random_range(0..keys.len())].0.clone(),
                        amount: rng.random_range(1..800),
                    },
                    _ => Operation::Transfer {
                        from: Asset::Cash,
                        to: Asset::Purse,
                        amount: amount / 4 + 1,
                    },
                };
                keys.push((key.clone(), account));
                (key, account, op)
            };
            batch.push(PostRequest {
                idempotency_key: key,
                account_id: account,
                terminal: None,
                business_date: DAY(),
                op,
                device_fields: Default::default(),
            });
        }
        let keys_in_batch: Vec<(String, i64)> = batch
            .iter()
            .map(|r| (r.idempotency_key.clone(), r.account_id))
            .collect();
        let results = f.post_all(batch).await;
        for ((key, account), out) in keys_in_batch.into_iter().zip(results) {
            if let Some(first) = outcomes.get(&key) {
                assert!(out.replayed, "a repeated key must replay");
                assert_eq!(out.transaction_id, first.transaction_id);
                assert_eq!(out.posted_amount, first.posted_amount);
                assert_eq!(out.balances, first.balances);
            } else {
                if !overdrawn_ok.contains(&account) {
                    assert!(
                        out.balances.as_array().iter().all(|v| *v >= 0),
                        "negative balance without overdraft: {out:?}"
                    );
                }
                outcomes.insert(key, out);
            }
        }
        done += size;
    }
    for &a in &accounts {
        let b = f.balances(a).await;
        if !overdrawn_ok.contains(&a) {
            assert!(b.as_array().iter().all(|v| *v >= 0), "account {a}: {b:?}");
        }
    }
    f.audit().await;
}

/// Many concurrent requests through the sharded accounts actor: batched, each answered
/// once, the same key submitted twice at once posted once.
async fn actor_batches_concurrent_requests(store: Store) {
    let f = Fixture::new(store.clone()).await;
    let accounts = Accounts::start(
        store,
        AccountsConfig {
            shards: 2,
            batch_size_max: 32,
            commit_wait_us: 2_000,
            ..Default::default()
        },
    );
    let mut ids = Vec::new();
    for _ in 0..10 {
        ids.push(f.account(None).await);
    }
    let mut credits = Vec::new();
    for (i, &a) in ids.iter().enumerate() {
        credits.push(accounts.post(f.req(
            &format!("c{i}"),
            a,
            Operation::Credit {
                asset: Asset::Cash,
                amount: 1_000,
            },
        )));
    }
    for out in futures::future::join_all(credits).await {
        assert!(out.unwrap().is_posted());
    }
    // 10 accounts x 15 debits of 100 (only 10 fit) + every request sent twice.
    let mut posts = Vec::new();
    for (i, &a) in ids.iter().enumerate() {
        for j in 0..15 {
            let r = f.req(&format!("d{i}-{j}"), a, debit(100));
            posts.push(accounts.post(r.clone()));
            posts.push(accounts.post(r));
        }
    }
    let results: Vec<_> = futures::future::join_all(posts).await;
    let mut posted = std::collections::HashSet::new();
    for out in results {
        let out = out.unwrap();
        if out.is_posted() {
            posted.insert(out.transaction_id);
        }
    }
    assert_eq!(
        posted.len(),
        100,
        "exactly the debits that fit were posted, once each"
    );
    for &a in &ids {
        assert_eq!(f.balances(a).await.cash, 0);
    }
    accounts.drain().await;
    f.audit().await;
}
