//! The admin API the operators' console reads, over real HTTP on SQLite and PostgreSQL:
//! the merchant, terminal, venue and account listings (filters, text search, paging,
//! refusals), an operator's cancel and refund of a transaction (idempotent, recorded with
//! the reason and the operator), and the overview (counts on a database of its own).

mod common;
#[path = "common/jpos.rs"]
mod fixture;

use common::{config, Admin};
use posgate_actors::testing;
use serde_json::{json, Value};

async fn sqlite_gateway() -> (posgate::app::Running, Admin) {
    gateway(None).await
}

async fn gateway(pg_url: Option<String>) -> (posgate::app::Running, Admin) {
    let running = posgate::app::start(config(pg_url))
        .await
        .expect("start gateway");
    let admin = Admin::new(format!("http://{}", running.addr));
    (running, admin)
}

/// The ids of a page's items.
fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_i64().expect("id"))
        .collect()
}

/// GETs `path`, expecting 200; returns the body.
async fn page(admin: &Admin, path: &str) -> Value {
    let (status, body) = admin.get(path).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// Expects `path` to be refused with 400 naming `field`.
async fn refused(admin: &Admin, path: &str, field: &str) {
    let (status, body) = admin.get(path).await;
    assert_eq!(status, 400, "{path}: {body}");
    assert_eq!(body["field"], field, "{path}: {body}");
}

/// Walks `path` (which has no `before_id`) page by page, `limit` a page; returns every id
/// in order, checking each page is newest first and links to the next.
async fn walk(admin: &Admin, path: &str, limit: usize) -> Vec<i64> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut all = Vec::new();
    let mut next = format!("{path}{sep}limit={limit}");
    loop {
        let body = page(admin, &next).await;
        let these = ids(&body);
        assert!(these.windows(2).all(|w| w[0] > w[1]), "{body}");
        assert!(these.len() <= limit);
        all.extend(&these);
        match body["next_before_id"].as_i64() {
            Some(before) => {
                assert_eq!(Some(&before), these.last(), "{body}");
                next = format!("{path}{sep}limit={limit}&before_id={before}");
            }
            None => return all,
        }
    }
}

async fn merchant_listing(admin: &Admin) {
    let tag = format!("Tag{}", rand::random::<u32>());
    let mut made = Vec::new();
    for i in 0..3 {
        let (status, m) = admin
            .post(
                "/admin/v1/merchants",
                json!({"code": format!("{tag}-{i}"), "name": format!("Canteen {i}")}),
            )
            .await;
        assert_eq!(status, 201, "{m}");
        made.push(m["id"].as_i64().unwrap());
    }
    made.reverse();
    let by_code = format!("/admin/v1/merchants?q={}", tag.to_lowercase());
    assert_eq!(
        walk(admin, &by_code, 2).await,
        made,
        "any case, newest first"
    );
    let first = page(admin, &format!("{by_code}&limit=2")).await;
    let (_, one) = admin.get(&format!("/admin/v1/merchants/{}", made[0])).await;
    assert_eq!(
        first["items"][0], one,
        "the representation of GET /merchants/{{id}}"
    );
    let (status, _) = admin
        .patch(
            &format!("/admin/v1/merchants/{}", made[1]),
            json!({"status": "suspended", "name": "Closed for works"}),
        )
        .await;
    assert_eq!(status, 200);
    let suspended = page(admin, &format!("{by_code}&status=suspended")).await;
    assert_eq!(ids(&suspended), vec![made[1]]);
    let active = page(admin, &format!("{by_code}&status=active")).await;
    assert_eq!(ids(&active), vec![made[0], made[2]]);
    let by_name = page(admin, "/admin/v1/merchants?q=closed%20FOR%20works").await;
    assert!(ids(&by_name).contains(&made[1]), "{by_name}");
    // LIKE wildcards are text like any other.
    let wildcard = page(admin, &format!("/admin/v1/merchants?q={tag}%25")).await;
    assert_eq!(ids(&wildcard), Vec::<i64>::new());
    let underscore = page(admin, &format!("/admin/v1/merchants?q={tag}_0")).await;
    assert_eq!(ids(&underscore), Vec::<i64>::new());
    let long = "x".repeat(65);
    refused(admin, &format!("/admin/v1/merchants?q={long}"), "q").await;
    refused(admin, "/admin/v1/merchants?q=a%01b", "q").await;
    refused(admin, "/admin/v1/merchants?status=closed", "status").await;
    refused(admin, "/admin/v1/merchants?limit=0", "limit").await;
    refused(admin, "/admin/v1/merchants?limit=501", "limit").await;
    refused(admin, "/admin/v1/merchants?colour=red", "query").await;
}

async fn terminal_listing(admin: &Admin) {
    let m = admin.merchant().await;
    let tag = rand::random::<u32>();
    let mqtt: Vec<i64> = vec![
        admin.terminal("mqtt_pos", &format!("{tag}1"), m).await,
        admin.terminal("mqtt_pos", &format!("{tag}2"), m).await,
    ];
    let jpos = admin.terminal("jpos", &format!("S{tag}:T0000001"), m).await;
    let other = admin.merchant().await;
    admin.terminal("mqtt_pos", &format!("{tag}3"), other).await;
    let path = format!("/admin/v1/merchants/{m}/terminals");
    assert_eq!(walk(admin, &path, 2).await, vec![jpos, mqtt[1], mqtt[0]]);
    let only = walk(admin, &format!("{path}?family=mqtt_pos"), 1).await;
    assert_eq!(only, vec![mqtt[1], mqtt[0]]);
    let listed = page(admin, &format!("{path}?family=jpos")).await;
    let (_, one) = admin.get(&format!("/admin/v1/terminals/{jpos}")).await;
    assert_eq!(listed["items"], json!([one]), "as GET /terminals/{{id}}");
    assert_eq!(one["online"], false);
    let (status, body) = admin.get("/admin/v1/merchants/999999999/terminals").await;
    assert_eq!(
        (status, &body["error"]),
        (404, &json!("not_found")),
        "{body}"
    );
    refused(admin, &format!("{path}?family=pos"), "family").await;
    refused(admin, &format!("{path}?limit=0"), "limit").await;
    refused(admin, "/admin/v1/merchants/x/terminals", "path").await;
}

async fn venue_listing(admin: &Admin) {
    let m = admin.merchant().await;
    let mut made = Vec::new();
    for _ in 0..3 {
        let code = format!("V{}", rand::random::<u32>());
        let (status, v) = admin
            .post(
                "/admin/v1/venues",
                json!({"companycode": code, "merchant_id": m, "name": "KTV"}),
            )
            .await;
        assert_eq!(status, 201, "{v}");
        made.push(v);
    }
    // Other tests' venues may be listed too (a shared database): ours in order among them.
    let all = walk(admin, "/admin/v1/venues", 2).await;
    let ours: Vec<i64> = made
        .iter()
        .rev()
        .map(|v| v["id"].as_i64().unwrap())
        .collect();
    let listed: Vec<i64> = all.into_iter().filter(|id| ours.contains(id)).collect();
    assert_eq!(listed, ours);
    let newest = page(admin, "/admin/v1/venues?limit=500").await;
    let code = made[2]["companycode"].as_str().unwrap();
    let (_, one) = admin.get(&format!("/admin/v1/venues/{code}")).await;
    let item = newest["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == one["id"])
        .cloned();
    assert_eq!(item, Some(one), "as GET /venues/{{companycode}}");
    refused(admin, "/admin/v1/venues?limit=-1", "limit").await;
    refused(admin, "/admin/v1/venues?before_id=x", "query").await;
}

async fn account_listing(admin: &Admin) {
    let m = admin.merchant().await;
    let pan = fixture::random_pan();
    let carded = admin.card_account(m, &pan, json!({"cash": 500})).await;
    let tag = format!("Zh{}", rand::random::<u32>());
    let (status, named) = admin
        .post(
            "/admin/v1/accounts",
            json!({"merchant_id": m, "user_id": format!("{tag}-a"), "name": "张三",
                   "initial_balances": {"cash": 100, "subsidy": 20}}),
        )
        .await;
    assert_eq!(status, 201, "{named}");
    let named = named["id"].as_i64().unwrap();
    let plain = admin.account(m, 0).await;
    admin.account(admin.merchant().await, 7).await;
    let path = format!("/admin/v1/accounts?merchant_id={m}");
    assert_eq!(walk(admin, &path, 2).await, vec![plain, named, carded]);
    let found = page(admin, &format!("{path}&q={}", tag.to_uppercase())).await;
    let (_, one) = admin.get(&format!("/admin/v1/accounts/{named}")).await;
    assert_eq!(found["items"], json!([one]), "as GET /accounts/{{id}}");
    assert_eq!(one["balances"]["subsidy"], 20);
    let by_name = page(admin, &format!("{path}&q=张")).await;
    assert_eq!(ids(&by_name), vec![named]);
    let (status, text) = admin.get(&format!("{path}&limit=500")).await;
    assert_eq!(status, 200);
    let text = text.to_string();
    assert!(!text.contains(&pan), "never the card number: {text}");
    let masked = format!("{}****{}", &pan[..6], &pan[pan.len() - 4..]);
    assert!(text.contains(&masked), "the masked card: {text}");
    refused(admin, "/admin/v1/accounts?merchant_id=x", "query").await;
    refused(
        admin,
        &format!("/admin/v1/accounts?q={}", "y".repeat(65)),
        "q",
    )
    .await;
    refused(admin, "/admin/v1/accounts?limit=501", "limit").await;
}

async fn listings(admin: &Admin) {
    merchant_listing(admin).await;
    terminal_listing(admin).await;
    venue_listing(admin).await;
    account_listing(admin).await;
}

#[actix_rt::test]
async fn listings_on_sqlite() {
    let (running, admin) = sqlite_gateway().await;
    listings(&admin).await;
    running.stop().await;
}

#[actix_rt::test]
async fn listings_on_postgres() {
    let Some(url) = testing::scratch_pg_url() else {
        return;
    };
    let (running, admin) = gateway(Some(url)).await;
    listings(&admin).await;
    running.stop().await;
}

/// Debits `amount` cash from account `a`; returns the transaction id.
async fn debit(admin: &Admin, a: i64, amount: i64) -> i64 {
    let key = format!("d{}", rand::random::<u32>());
    let (status, body) = admin
        .post(
            &format!("/admin/v1/accounts/{a}/debit"),
            json!({"idempotency_key": key, "amount": amount}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["transaction_id"].as_i64().unwrap()
}

async fn cash(admin: &Admin, a: i64) -> i64 {
    let b = page(admin, &format!("/admin/v1/accounts/{a}/balances")).await;
    b["cash"].as_i64().unwrap()
}

async fn refunds(admin: &Admin, a: i64) {
    let t = debit(admin, a, 300).await;
    let path = format!("/admin/v1/transactions/{t}/refund");
    let body = json!({"idempotency_key": "r1", "amount": 100, "reason": "wrong dish"});
    let (status, first) = admin.post(&path, body.clone()).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(
        (&first["status"], &first["posted_amount"]),
        (&json!("posted"), &json!(100))
    );
    assert_eq!(cash(admin, a).await, 800);
    let (status, again) = admin.post(&path, body).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        (&again["replayed"], &again["transaction_id"]),
        (&json!(true), &first["transaction_id"])
    );
    assert_eq!(cash(admin, a).await, 800, "a retry posts nothing more");
    let (status, over) = admin
        .post(
            &path,
            json!({"idempotency_key": "r2", "amount": 201, "reason": "too much"}),
        )
        .await;
    assert_eq!(status, 422, "{over}");
    assert_eq!(over["refusal"], "refund_exceeds_original");
    let (status, cancel) = admin
        .post(
            &format!("/admin/v1/transactions/{t}/cancel"),
            json!({"reason": "partly refunded"}),
        )
        .await;
    assert_eq!((status, &cancel["refusal"]), (422, &json!("not_voidable")));
}

async fn cancels(admin: &Admin, a: i64) {
    let t = debit(admin, a, 200).await;
    let path = format!("/admin/v1/transactions/{t}/cancel");
    let (status, first) = admin.post(&path, json!({"reason": "顾客取消"})).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["posted_amount"], 200);
    assert_eq!(cash(admin, a).await, 1000, "the debit undone");
    let (status, again) = admin.post(&path, json!({"reason": "顾客取消"})).await;
    assert_eq!((status, &again["replayed"]), (200, &json!(true)), "{again}");
    let (status, other) = admin.post(&path, json!({"reason": "another"})).await;
    assert_eq!(status, 409, "the cancel's key with another reason: {other}");
    assert_eq!(cash(admin, a).await, 1000);
    let (status, late) = admin
        .post(
            &format!("/admin/v1/transactions/{t}/refund"),
            json!({"idempotency_key": "r1", "amount": 1, "reason": "late"}),
        )
        .await;
    assert_eq!((status, &late["refusal"]), (422, &json!("already_voided")));
    let journal = page(admin, &format!("/admin/v1/transactions?account_id={a}")).await;
    let entry = journal["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == first["transaction_id"])
        .cloned()
        .expect("the cancel is journaled");
    assert_eq!(entry["kind"], "cancel");
    assert_eq!(entry["idempotency_key"], format!("admin-cancel:{t}"));
    assert_eq!(
        entry["device_fields"],
        json!({"reason": "顾客取消", "operator": "admin"})
    );
}

async fn operator_refusals(admin: &Admin, a: i64) {
    let t = debit(admin, a, 1).await;
    let cancel = format!("/admin/v1/transactions/{t}/cancel");
    let refund = format!("/admin/v1/transactions/{t}/refund");
    let long = "很".repeat(201);
    for (path, body, field) in [
        (&cancel, json!({"reason": ""}), "reason"),
        (&cancel, json!({"reason": "  "}), "reason"),
        (&cancel, json!({"reason": long}), "reason"),
        (&cancel, json!({"reason": "a\u{7}b"}), "reason"),
        (&cancel, json!({}), "reason"),
        (
            &refund,
            json!({"idempotency_key": "k", "amount": 0, "reason": "x"}),
            "amount",
        ),
        (
            &refund,
            json!({"idempotency_key": "a b", "amount": 1, "reason": "x"}),
            "idempotency_key",
        ),
        (
            &refund,
            json!({"amount": 1, "reason": "x"}),
            "idempotency_key",
        ),
    ] {
        let (status, body) = admin.post(path, body).await;
        assert_eq!((status, &body["field"]), (400, &json!(field)), "{body}");
    }
    assert_eq!(cash(admin, a).await, 999, "nothing posted by a refusal");
    for path in [
        "/admin/v1/transactions/999999999/cancel",
        "/admin/v1/transactions/999999999/refund",
    ] {
        let body = json!({"idempotency_key": "k", "amount": 1, "reason": "x"});
        let body = if path.ends_with("cancel") {
            json!({"reason": "x"})
        } else {
            body
        };
        let (status, answer) = admin.post(path, body).await;
        assert_eq!((status, &answer["error"]), (404, &json!("not_found")));
    }
}

/// Issues a credential of `role`; returns its token.
async fn credential(admin: &Admin, name: &str, role: &str) -> String {
    let (status, issued) = admin
        .post("/admin/v1/credentials", json!({"name": name, "role": role}))
        .await;
    assert_eq!(status, 201, "{issued}");
    issued["token"].as_str().expect("token").to_string()
}

/// A refund made with an issued operator credential records its name as the operator; a
/// read-only credential may not refund.
async fn operator_is_the_principal(admin: &Admin, a: i64) {
    let t = debit(admin, a, 5).await;
    let name = format!("ops-{}", rand::random::<u32>());
    let path = format!("{}/admin/v1/transactions/{t}/refund", admin.base);
    let body = json!({"idempotency_key": "r1", "amount": 5, "reason": "cold soup"});
    let reader = credential(admin, &format!("ro-{}", rand::random::<u32>()), "read_only").await;
    let refused = admin.http.post(&path).bearer_auth(reader).json(&body);
    assert_eq!(refused.send().await.unwrap().status(), 403);
    let token = credential(admin, &name, "operator").await;
    let answer = admin.http.post(&path).bearer_auth(token).json(&body);
    let answer: Value = answer.send().await.unwrap().json().await.unwrap();
    assert_eq!(answer["status"], "posted", "{answer}");
    let journal = page(
        admin,
        &format!("/admin/v1/transactions?account_id={a}&limit=1"),
    )
    .await;
    assert_eq!(journal["items"][0]["id"], answer["transaction_id"]);
    assert_eq!(
        journal["items"][0]["device_fields"],
        json!({"reason": "cold soup", "operator": name})
    );
}

async fn cancel_and_refund(admin: &Admin) {
    let m = admin.merchant().await;
    let a = admin.account(m, 1000).await;
    refunds(admin, a).await;
    // 1000 - 300 + 100: the partly refunded debit stays.
    assert_eq!(cash(admin, a).await, 800);
    let (status, _) = admin
        .post(
            &format!("/admin/v1/accounts/{a}/credit"),
            json!({"idempotency_key": "top-up", "amount": 200}),
        )
        .await;
    assert_eq!(status, 201);
    cancels(admin, a).await;
    operator_refusals(admin, a).await;
    operator_is_the_principal(admin, a).await;
}

#[actix_rt::test]
async fn cancel_and_refund_on_sqlite() {
    let (running, admin) = sqlite_gateway().await;
    cancel_and_refund(&admin).await;
    running.stop().await;
}

#[actix_rt::test]
async fn cancel_and_refund_on_postgres() {
    let Some(url) = testing::scratch_pg_url() else {
        return;
    };
    let (running, admin) = gateway(Some(url)).await;
    cancel_and_refund(&admin).await;
    running.stop().await;
}

/// The `requests` row of `protocol` in an overview: (total, errors).
fn requests_of(overview: &Value, protocol: &str) -> (u64, u64) {
    overview["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .find(|r| r["protocol"] == protocol)
        .map_or((0, 0), |r| {
            (r["total"].as_u64().unwrap(), r["errors"].as_u64().unwrap())
        })
}

/// An open Pospal cash mismatch of `account`, keyed by `n`.
fn mismatch(merchant: i64, account: i64, n: i64) -> posgate_actors::store::pospal::Mismatch {
    posgate_actors::store::pospal::Mismatch {
        id: 0,
        merchant_id: merchant,
        business_key: format!("overview-{merchant}-{n}"),
        customer_uid: "1".into(),
        account_id: account,
        asset: "cash".into(),
        pospal_balance: 100,
        posgate_balance: 90,
        recorded_at_ms: 1,
        status: "open".into(),
        resolution: String::new(),
        note: String::new(),
        resolved_by: String::new(),
        resolved_at_ms: None,
        adjustment_key: None,
    }
}

/// Two each of what waits for an operator, one of each pair already settled: offline
/// exceptions (one written off), Pospal mismatches (one resolved), partner messages (one
/// dead, one still to apply), written straight to the store (they come from devices and
/// partners in real life, which other tests drive).
async fn waiting_work(store: &posgate_actors::store::Store, merchant: i64, account: i64) {
    use posgate_actors::store::{exceptions, intake, pospal};
    store
        .transaction(move |db| {
            Box::pin(async move {
                for pos_num in [1, 2] {
                    let new = exceptions::NewException {
                        terminal: "mqtt:7000001".into(),
                        pos_num,
                        merchant_id: merchant,
                        user_id: "404".into(),
                        mode: 51,
                        amount: 500,
                        reason: "unknown_user".into(),
                        raw: format!(r#"{{"posNum":{pos_num}}}"#),
                    };
                    let (row, _) = exceptions::record(db, &new, 1).await?;
                    if pos_num == 1 {
                        let off = exceptions::Resolution::WrittenOff;
                        exceptions::resolve(db, row.id, off, "served", None, 2).await?;
                    }
                    let mismatch = mismatch(merchant, account, pos_num);
                    pospal::record_mismatch(db, &mismatch, 1).await?;
                    let owner = merchant.to_string();
                    let body = format!("{{\"n\":{pos_num}}}");
                    let message = intake::NewIntake {
                        partner: intake::Partner::Pospal,
                        owner: &owner,
                        kind: "pushOrder",
                        body: body.as_bytes(),
                        identity: None,
                        headers: &[],
                    };
                    let stored = intake::record(db, &message, 1).await?;
                    if pos_num == 1 {
                        intake::mark_dead(db, stored.id, "gave up", 2).await?;
                    }
                }
                let open = pospal::list_mismatches(db, merchant, Some("open"), 1).await?;
                let noted = pospal::Resolution {
                    resolution: "noted",
                    note: "explained".into(),
                    resolved_by: "admin".into(),
                    adjustment_key: None,
                };
                pospal::resolve_mismatch(db, open[0].id, &noted, 3).await?;
                Ok(())
            })
        })
        .await
        .expect("waiting work stored");
}

/// The overview on a database of its own: a jpos terminal that checked in (online) with
/// a request left pending, two MQTT terminals never seen, a venue with no complete day,
/// then one open of each kind of waiting work.
async fn overview(config: posgate::config::Config, store: posgate_actors::store::Store) {
    let j = fixture::Jpos::start(config).await;
    let before = page(&j.admin, "/admin/v1/overview").await;
    assert_eq!(j.checkin().await.status(), "00");
    assert_eq!(j.consume(1, 2, "1.00", "0").await.status(), "00");
    fixture::forget_answer(&j, &store, 2).await;
    j.admin.last_seen(j.terminal_id).await;
    j.admin.terminal("mqtt_pos", "7000001", j.merchant).await;
    j.admin.terminal("mqtt_pos", "7000002", j.merchant).await;
    let (status, _) = j
        .admin
        .post(
            "/admin/v1/venues",
            json!({"companycode": "OVERVIEW1", "merchant_id": j.merchant}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = j.admin.get("/admin/v1/terminals/999999999").await;
    assert_eq!(status, 404);
    let o = page(&j.admin, "/admin/v1/overview").await;
    assert_eq!(
        o["devices"],
        json!([{"family": "mqtt_pos", "online": 0, "total": 2},
               {"family": "jpos", "online": 1, "total": 1},
               {"family": "ds50", "online": 0, "total": 0}])
    );
    assert_eq!(o["jpos_pending"], 1);
    assert_eq!(o["venue_days_incomplete"], 7, "7 days, none complete");
    for zero in [
        "offline_exceptions_open",
        "dead_letters",
        "pospal_mismatches_open",
    ] {
        assert_eq!(o[zero], 0, "{zero}: {o}");
    }
    waiting_work(&store, j.merchant, j.account).await;
    let o = page(&j.admin, "/admin/v1/overview").await;
    for one in [
        "offline_exceptions_open",
        "dead_letters",
        "pospal_mismatches_open",
    ] {
        assert_eq!(o[one], 1, "{one}: {o}");
    }
    assert_eq!(o["requests_scope"], "replica");
    assert!(o["generated_at_ms"].as_i64().unwrap() >= before["generated_at_ms"].as_i64().unwrap());
    // The counters are the process's: other tests add to them, never take away.
    let (admin_before, admin_errors_before) = requests_of(&before, "admin");
    let (admin_total, admin_errors) = requests_of(&o, "admin");
    // This overview's own request is counted by the next one: the earlier overview, the
    // terminal read(s), two terminals, a venue and the 404.
    assert!(admin_total >= admin_before + 6, "{before} {o}");
    assert!(admin_errors > admin_errors_before, "the 404: {o}");
    assert!(requests_of(&o, "jpos").0 >= requests_of(&before, "jpos").0 + 2);
    j.running.stop().await;
}

#[actix_rt::test]
async fn overview_on_sqlite() {
    let (config, store) = fixture::with_store(false).await.expect("sqlite");
    overview(config, store).await;
}

#[actix_rt::test]
async fn overview_on_postgres() {
    let Some(url) = testing::own_scratch_pg_url().await else {
        return;
    };
    let store = posgate_actors::store::Store::postgres(
        &url,
        &posgate_actors::store::PgOptions::with_pool_size(1),
    )
    .await
    .expect("store");
    overview(config(Some(url)), store).await;
}

#[actix_rt::test]
async fn console_routes_require_the_token_and_are_documented() {
    let (running, admin) = sqlite_gateway().await;
    let client = common::client();
    let doc = page(&admin, "/openapi.json").await;
    for (method, path, template, id) in [
        (
            "GET",
            "/admin/v1/merchants",
            "/admin/v1/merchants",
            "merchants_list",
        ),
        (
            "GET",
            "/admin/v1/merchants/1/terminals",
            "/admin/v1/merchants/{id}/terminals",
            "terminals_list_of_merchant",
        ),
        ("GET", "/admin/v1/venues", "/admin/v1/venues", "venues_list"),
        (
            "GET",
            "/admin/v1/accounts",
            "/admin/v1/accounts",
            "accounts_list",
        ),
        (
            "POST",
            "/admin/v1/transactions/1/cancel",
            "/admin/v1/transactions/{id}/cancel",
            "transactions_cancel",
        ),
        (
            "POST",
            "/admin/v1/transactions/1/refund",
            "/admin/v1/transactions/{id}/refund",
            "transactions_refund",
        ),
        (
            "GET",
            "/admin/v1/overview",
            "/admin/v1/overview",
            "overview_get",
        ),
    ] {
        let method: reqwest::Method = method.parse().unwrap();
        let url = format!("{}{path}", admin.base);
        let none = client.request(method.clone(), &url).send().await.unwrap();
        assert_eq!(none.status(), 401, "{method} {path}");
        let operation = &doc["paths"][template][method.as_str().to_lowercase()];
        assert_eq!(operation["operationId"], id, "{template}");
        assert!(operation["responses"]["401"].is_object(), "{template}");
    }
    running.stop().await;
}
