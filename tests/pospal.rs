//! Pospal notifications over real HTTP, signed in the test with md5(appKey + body) the way
//! Pospal signs them: every cmd of the spec consumed once (redeliveries with new message ids
//! change nothing), members and recharges credited, tickets mirrored with their balance
//! compared, a reverse undoing its ticket, stock flows and orders folded whatever the arrival
//! order, and refusals (signature, appId, malformed, too large) that apply nothing. The
//! ledger scenario runs on SQLite and PostgreSQL.

mod common;

use common::{client, config, Admin};
use md5::{Digest, Md5};
use posgate::config::Config;
use posgate_actors::store::{catalog, pospal as store_pospal};
use posgate_actors::testing;
use serde_json::{json, Value};

const PATH: &str = "/pospal/v1/notify";

/// Runs a scenario as two tests: on SQLite, and on PostgreSQL when a scratch database is
/// available.
macro_rules! on_both_backends {
    ($scenario:ident, $sqlite:ident, $postgres:ident) => {
        #[actix_rt::test]
        async fn $sqlite() {
            $scenario(config(None)).await;
        }

        #[actix_rt::test]
        async fn $postgres() {
            let Some(url) = testing::scratch_pg_url() else {
                return;
            };
            $scenario(config(Some(url))).await;
        }
    };
}

/// A gateway with a merchant and a registered Pospal app.
struct Pospal {
    running: posgate::app::Running,
    admin: Admin,
    merchant: i64,
    app_id: String,
    app_key: String,
}

impl Pospal {
    async fn start(config: Config) -> Pospal {
        let running = posgate::app::start(config).await.expect("start gateway");
        let admin = Admin::new(format!("http://{}", running.addr));
        let merchant = admin.merchant().await;
        let app_id = format!("app{}", rand::random::<u64>());
        let app_key = format!("KEY{:032X}", rand::random::<u128>());
        let (status, app) = admin
            .put(
                &format!("/admin/v1/pospal/apps/{app_id}"),
                json!({"merchant_id": merchant, "app_key": app_key}),
            )
            .await;
        assert_eq!(status, 201, "{app}");
        assert!(app.get("app_key").is_none(), "the key is write-only: {app}");
        Pospal {
            running,
            admin,
            merchant,
            app_id,
            app_key,
        }
    }

    /// The envelope of a notification (`body` is the JSON text, sent as a JSON string).
    fn envelope(&self, cmd: &str, body: &str, timestamp: i64) -> String {
        json!({
            "cmd": cmd,
            "timestamp": timestamp,
            "bornTimeStamp": 1_514_196_291_251i64,
            "version": "1.0",
            "appId": self.app_id,
            "body": body,
        })
        .to_string()
    }

    /// Posts raw bytes with a signature header (if any); returns the status.
    async fn post_raw(&self, raw: &str, signature: Option<String>) -> u16 {
        let mut req = client()
            .post(format!("http://{}{PATH}", self.running.addr))
            .header("content-type", "application/json; charset=utf-8")
            .header("user-agent", "Pospal-Api")
            .body(raw.to_string());
        if let Some(sig) = signature {
            req = req.header("data-signature", sig);
        }
        req.send()
            .await
            .expect("post notification")
            .status()
            .as_u16()
    }

    /// Sends a correctly signed notification; returns the status and the `status` field.
    async fn send(&self, cmd: &str, body: &str) -> (u16, String) {
        self.send_at(cmd, body, rand::random::<u32>().into()).await
    }

    async fn send_at(&self, cmd: &str, body: &str, timestamp: i64) -> (u16, String) {
        let raw = self.envelope(cmd, body, timestamp);
        let res = client()
            .post(format!("http://{}{PATH}", self.running.addr))
            .header("data-signature", sign(&self.app_key, &raw))
            .body(raw)
            .send()
            .await
            .expect("post notification");
        let status = res.status().as_u16();
        let reply: Value = res.json().await.unwrap_or(Value::Null);
        (status, reply["status"].as_str().unwrap_or("").to_string())
    }

    async fn events(&self, query: &str) -> Vec<Value> {
        let (status, events) = self
            .admin
            .get(&format!(
                "/admin/v1/merchants/{}/pospal/events?limit=500{query}",
                self.merchant
            ))
            .await;
        assert_eq!(status, 200, "{events}");
        events.as_array().unwrap().clone()
    }

    /// The member's account id, if linked.
    async fn member_account(&self, customer_uid: i64) -> Option<i64> {
        let merchant = self.merchant;
        self.running
            .gateway
            .store
            .transaction(move |db| {
                Box::pin(async move {
                    catalog::find_account(db, merchant, &store_pospal::member_user_id(customer_uid))
                        .await
                })
            })
            .await
            .unwrap()
            .map(|a| a.id)
    }

    async fn balances(&self, account: i64) -> Value {
        let (status, b) = self
            .admin
            .get(&format!("/admin/v1/accounts/{account}/balances"))
            .await;
        assert_eq!(status, 200, "{b}");
        b
    }

    async fn mismatches(&self) -> Vec<Value> {
        let (status, m) = self
            .admin
            .get(&format!(
                "/admin/v1/merchants/{}/pospal/mismatches",
                self.merchant
            ))
            .await;
        assert_eq!(status, 200, "{m}");
        m.as_array().unwrap().clone()
    }
}

/// Pospal's signature, computed here independently of posgate's codec.
fn sign(app_key: &str, raw: &str) -> String {
    let mut md5 = Md5::new();
    md5.update(app_key.as_bytes());
    md5.update(raw.as_bytes());
    hex::encode_upper(md5.finalize())
}

/// One notification of every cmd of the spec (bodies shaped as its examples), plus one
/// cmd the spec does not know.
fn every_cmd() -> Vec<(&'static str, String)> {
    let mut all = vec![
        ("ticket.new", r#"{"sn":"T-NONMEMBER","uid":1503561096375464791,"customerUid":0,"ticketType":1}"#.to_string()),
        ("ticket.reverse", r#"{"sn":"T-NONMEMBER","uid":1503561096375464791,"ticketType":3}"#.to_string()),
        ("customer.new", r#"{"number":"uuu","customerUid":896494787380243344,"phone":"13600927865","name":"uuu"}"#.to_string()),
        ("customer.recharge", r#"{"customerUid":231607639459718452,"datetime":"2017-09-14 17:09:48","rechargeStoreAccount":"adasun4","rechargeStoreAppId":"abcdefghijklmnopqrst","giftPoint":0.00,"giftMoney":0.00,"rechargeMoney":20.00}"#.to_string()),
        ("couponCode.use", r#"{"createdUserAppId":"a","useUserAppId":"b","promotionCouponUid":12,"code":"CPN-1","createdDateTime":"2017-09-14 17:09:48","usedDateTime":"2017-09-15 10:00:00","usedByCustomerUid":5,"expiredDate":"2018-09-14 00:00:00"}"#.to_string()),
        (" stockTaking.new", r#"{"stockTakingId": 11111}"#.to_string()),
        ("product.edit", r#"[{"barcode":"0600002854215"},{"barcode":"0600001713212"}]"#.to_string()),
        ("productOrder.createProductOrder", r#"{"orderNo":"ORD-1","state":0}"#.to_string()),
        ("productOrder.updateProductOrder", r#"{"orderNo":"ORD-1","state":1}"#.to_string()),
        ("productOrder.completePay", r#"{"orderNo":"ORD-1","state":4}"#.to_string()),
        ("productRequest.new", r#"{"productRequestId":15306}"#.to_string()),
        ("member.delete", r#"{"anything":[1,2,3]}"#.to_string()),
    ];
    for cmd in [
        "createStockFlowIn",
        "editStockFlowIn",
        "confirmStockFlowIn",
        "refuseStockFlowIn",
        "createStockFlowNormalReturn",
        "createStockFlowReturnToSupplier",
        "createStockFlowTransfer",
        "refuseStockFlowTransferOut",
        "confirmStockFlowTransferOut",
        "refuseStockFlowTransferIn",
        "confirmStockFlowTransferIn",
    ] {
        let cmd: &'static str = Box::leak(format!("stockFlow.{cmd}").into_boxed_str());
        all.push((cmd, r#"{"stockFlowId": 123456}"#.to_string()));
    }
    all
}

#[actix_rt::test]
async fn every_cmd_is_consumed_once_and_redeliveries_change_nothing() {
    let p = Pospal::start(config(None)).await;
    let cmds = every_cmd();
    assert_eq!(cmds.len(), 23, "22 cmds of the spec and one unknown");
    for (cmd, body) in &cmds {
        let (status, result) = p.send(cmd, body).await;
        assert_eq!((status, result.as_str()), (200, "accepted"), "{cmd}");
    }
    let events = p.events("").await;
    assert_eq!(events.len(), cmds.len());
    let unknown = p.events("&cmd=member.delete").await;
    assert_eq!(unknown.len(), 1);
    assert_eq!(unknown[0]["body"], r#"{"anything":[1,2,3]}"#, "kept raw");
    assert_eq!(unknown[0]["outcome"], "recorded");
    let member = p.events("&cmd=customer.new").await;
    assert_eq!(member[0]["outcome"], "member_linked");
    let recharge = p.events("&cmd=customer.recharge").await;
    assert_eq!(recharge[0]["outcome"], "posted");
    let non_member = p.events("&cmd=ticket.new").await;
    assert_eq!(
        non_member[0]["outcome"], "recorded",
        "no member, nothing to mirror"
    );
    let coupon = p.events("&subject=CPN-1").await;
    assert_eq!(coupon.len(), 1);
    assert_eq!(coupon[0]["cmd"], "couponCode.use");
    // Pospal sends the same events again with new message ids (timestamps): 200, nothing new.
    for (cmd, body) in &cmds {
        let (status, result) = p.send(cmd, body).await;
        assert_eq!((status, result.as_str()), (200, "duplicate"), "{cmd}");
    }
    assert_eq!(p.events("").await.len(), cmds.len());
    // The member of customer.new and of the recharge exist; the recharge was credited once.
    assert!(p.member_account(896494787380243344).await.is_some());
    let recharged = p.member_account(231607639459718452).await.unwrap();
    assert_eq!(p.balances(recharged).await["cash"], 2000);
    // The order went created -> synced -> finished.
    let (_, orders) = p
        .admin
        .get(&format!(
            "/admin/v1/merchants/{}/pospal/documents?kind=product_order",
            p.merchant
        ))
        .await;
    assert_eq!(orders[0]["status"], "finished", "{orders}");
    assert_eq!(orders[0]["events"], 3);
    p.running.stop().await;
}

/// Members, recharges and tickets on one backend.
async fn member_ledger_scenario(config: Config) {
    let p = Pospal::start(config).await;
    let uid = i64::from(rand::random::<u32>()) + 1;
    // A recharge that arrives before its customer.new creates the member account.
    let recharge = format!(
        r#"{{"customerUid":{uid},"datetime":"2017-09-14 17:09:48","giftPoint":5.5,"giftMoney":10.00,"rechargeMoney":100.00}}"#
    );
    assert_eq!(p.send("customer.recharge", &recharge).await.0, 200);
    let account = p.member_account(uid).await.expect("member linked");
    let b = p.balances(account).await;
    assert_eq!(
        (b["cash"].as_i64(), b["points"].as_i64()),
        (Some(11_000), Some(550))
    );
    // Redelivered with a new message id, and with the amount written differently.
    let same = recharge.replace("100.00", "100.0");
    assert_eq!(p.send("customer.recharge", &same).await.1, "duplicate");
    assert_eq!(p.balances(account).await["cash"], 11_000);
    // customer.new afterwards names the same member.
    let new = format!(r#"{{"number":"M001","customerUid":{uid},"name":"Wang"}}"#);
    assert_eq!(p.send("customer.new", &new).await.1, "accepted");
    assert_eq!(p.member_account(uid).await, Some(account));
    // A sale paid from the balance, with points: mirrored, and Pospal's balance agrees.
    let sale = format!(
        r#"{{"sn":"S{uid}","uid":1,"customerUid":{uid},"ticketType":1,
            "customerBalanceUsedLogs":[{{"usedMoney":76.21,"datetime":"2017-12-25 14:54:42","operateType":1,"afterUsedMoney":33.79}}],
            "customerPointGaintLogs":[{{"gaintPoint":76.21,"datetime":"2017-12-25 18:02:26","operateType":1,"afterGaintPoint":81.71}}]}}"#
    );
    assert_eq!(p.send("ticket.new", &sale).await.1, "accepted");
    let b = p.balances(account).await;
    assert_eq!(
        (b["cash"].as_i64(), b["points"].as_i64()),
        (Some(3_379), Some(8_171))
    );
    assert!(p.mismatches().await.is_empty());
    assert_eq!(p.send("ticket.new", &sale).await.1, "duplicate");
    assert_eq!(p.balances(account).await["cash"], 3_379);
    // A second sale whose afterUsedMoney disagrees with the ledger: booked, and reported.
    let odd = format!(
        r#"{{"sn":"X{uid}","customerUid":{uid},"ticketType":1,
            "customerBalanceUsedLogs":[{{"usedMoney":3.79,"operateType":1,"afterUsedMoney":29.00}}]}}"#
    );
    assert_eq!(p.send("ticket.new", &odd).await.1, "accepted");
    assert_eq!(p.balances(account).await["cash"], 3_000);
    let mismatches = p.mismatches().await;
    assert_eq!(mismatches.len(), 1, "{mismatches:?}");
    assert_eq!(mismatches[0]["pospal_balance"], 2_900);
    assert_eq!(mismatches[0]["posgate_balance"], 3_000);
    assert_eq!(mismatches[0]["account_id"], account);
    // 反结账 of the first sale: the money and the points come back.
    let reverse = format!(
        r#"{{"sn":"S{uid}","customerUid":{uid},"ticketType":3,
            "customerBalanceUsedLogs":[{{"usedMoney":-76.21,"operateType":3,"afterUsedMoney":106.21}}],
            "customerPointGaintLogs":[{{"gaintPoint":-76.21,"operateType":3}}]}}"#
    );
    assert_eq!(p.send("ticket.reverse", &reverse).await.1, "accepted");
    let b = p.balances(account).await;
    assert_eq!(
        (b["cash"].as_i64(), b["points"].as_i64()),
        (Some(10_621), Some(550))
    );
    assert_eq!(
        p.mismatches().await.len(),
        1,
        "the reverse agrees with Pospal"
    );
    // A refund ticket gives money back (negative usedMoney).
    let refund = format!(
        r#"{{"sn":"R{uid}","customerUid":{uid},"ticketType":2,
            "customerBalanceUsedLogs":[{{"usedMoney":-0.21,"operateType":2,"afterUsedMoney":106.42}}]}}"#
    );
    assert_eq!(p.send("ticket.new", &refund).await.1, "accepted");
    assert_eq!(p.balances(account).await["cash"], 10_642);
    // A reverse that arrives before its ticket leaves a tombstone: the late ticket changes
    // nothing.
    let late_sale = format!(
        r#"{{"sn":"L{uid}","customerUid":{uid},"ticketType":1,
            "customerBalanceUsedLogs":[{{"usedMoney":5.00,"operateType":1,"afterUsedMoney":101.42}}]}}"#
    );
    let early_reverse = late_sale.replace(r#""ticketType":1"#, r#""ticketType":3"#);
    assert_eq!(p.send("ticket.reverse", &early_reverse).await.1, "accepted");
    assert_eq!(p.send("ticket.new", &late_sale).await.1, "accepted");
    assert_eq!(p.balances(account).await["cash"], 10_642);
    let late = p.events(&format!("&subject=L{uid}&cmd=ticket.new")).await;
    assert_eq!(late[0]["outcome"], "refused:voided_before_arrival");
    // The ledger stays double-entry.
    let (status, audit) = p.admin.get("/admin/v1/ledger/audit").await;
    assert_eq!(status, 200, "{audit}");
    assert_eq!(audit["unbalanced"], json!([]), "{audit}");
    assert_eq!(audit["balance_mismatches"], json!([]), "{audit}");
    p.running.stop().await;
}

#[actix_rt::test]
async fn members_recharges_and_tickets_mirror_the_balance_on_sqlite() {
    member_ledger_scenario(config(None)).await;
}

#[actix_rt::test]
async fn members_recharges_and_tickets_mirror_the_balance_on_postgres() {
    let Some(url) = testing::scratch_pg_url() else {
        return;
    };
    member_ledger_scenario(config(Some(url))).await;
}

#[actix_rt::test]
async fn stock_flow_events_out_of_order_fold_to_the_final_state() {
    let p = Pospal::start(config(None)).await;
    let body = r#"{"stockFlowId": 777}"#;
    // Arrival order: confirmed, created, edited (the spec: messages may arrive out of order,
    // several at once for one stock flow).
    for cmd in ["confirmStockFlowIn", "createStockFlowIn", "editStockFlowIn"] {
        assert_eq!(
            p.send(&format!("stockFlow.{cmd}"), body).await.1,
            "accepted"
        );
    }
    let (_, flows) = p
        .admin
        .get(&format!(
            "/admin/v1/merchants/{}/pospal/documents",
            p.merchant
        ))
        .await;
    assert_eq!(flows.as_array().unwrap().len(), 1, "{flows}");
    assert_eq!(flows[0]["document_id"], "777");
    assert_eq!(flows[0]["status"], "stockFlow.confirmStockFlowIn");
    assert_eq!(flows[0]["events"], 3);
    // An order cancelled, then a stale "synced" arrives: it stays cancelled.
    assert_eq!(
        p.send(
            "productOrder.updateProductOrder",
            r#"{"orderNo":"N9","state":3}"#
        )
        .await
        .1,
        "accepted"
    );
    assert_eq!(
        p.send(
            "productOrder.updateProductOrder",
            r#"{"orderNo":"N9","state":1}"#
        )
        .await
        .1,
        "accepted"
    );
    let (_, orders) = p
        .admin
        .get(&format!(
            "/admin/v1/merchants/{}/pospal/documents?kind=product_order",
            p.merchant
        ))
        .await;
    assert_eq!(orders[0]["status"], "cancelled", "{orders}");
    p.running.stop().await;
}

#[actix_rt::test]
async fn refusals_store_nothing() {
    let p = Pospal::start(config(None)).await;
    let uid = 4242;
    let recharge = format!(
        r#"{{"customerUid":{uid},"datetime":"2017-09-14 17:09:48","rechargeMoney":20.00}}"#
    );
    let raw = p.envelope("customer.recharge", &recharge, 1);
    let good = sign(&p.app_key, &raw);
    // Signature: missing, wrong, of another body, of another key.
    assert_eq!(p.post_raw(&raw, None).await, 401);
    assert_eq!(
        p.post_raw(&raw, Some("BF706E6AC693BA3B1BABD32E6713431D".into()))
            .await,
        401
    );
    assert_eq!(p.post_raw(&raw, Some(good[..31].to_string())).await, 401);
    assert_eq!(
        p.post_raw(&raw, Some(sign("another-key-0123456789", &raw)))
            .await,
        401
    );
    let tampered = raw.replace("20.00", "2000.00");
    assert_eq!(p.post_raw(&tampered, Some(good.clone())).await, 401);
    // Unknown appId.
    let stranger = raw.replace(&p.app_id, "nobody");
    assert_eq!(
        p.post_raw(&stranger, Some(sign(&p.app_key, &stranger)))
            .await,
        403
    );
    // Malformed envelopes, correctly signed: nothing authenticates them (400).
    let malformed = [
        "not json".to_string(),
        "[]".to_string(),
        json!({"cmd": "ticket.new", "appId": p.app_id}).to_string(),
    ];
    for raw in &malformed {
        let status = p.post_raw(raw, Some(sign(&p.app_key, raw))).await;
        assert_eq!(status, 400, "{raw}");
    }
    // Too large.
    let huge = p.envelope("member.delete", &"x".repeat(300 * 1024), 1);
    assert_eq!(p.post_raw(&huge, Some(sign(&p.app_key, &huge))).await, 413);
    // A disabled app is refused like an unknown one.
    let (status, _) = p
        .admin
        .put(
            &format!("/admin/v1/pospal/apps/{}", p.app_id),
            json!({"merchant_id": p.merchant, "app_key": p.app_key, "active": false}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(p.post_raw(&raw, Some(good.clone())).await, 403);
    assert!(p.events("").await.is_empty());
    assert_eq!(p.member_account(uid).await, None);
    // Enabled again, the same notification is consumed.
    p.admin
        .put(
            &format!("/admin/v1/pospal/apps/{}", p.app_id),
            json!({"merchant_id": p.merchant, "app_key": p.app_key}),
        )
        .await;
    assert_eq!(p.post_raw(&raw, Some(good)).await, 200);
    assert_eq!(p.events("").await.len(), 1);
    p.running.stop().await;
}

#[actix_rt::test]
async fn admin_api_validates_apps() {
    let p = Pospal::start(config(None)).await;
    let cases = [
        (
            "ok-id",
            json!({"merchant_id": p.merchant, "app_key": "short"}),
            400,
        ),
        (
            "ok-id",
            json!({"merchant_id": p.merchant, "app_key": "has a space in the key"}),
            400,
        ),
        (
            "ok-id",
            json!({"merchant_id": 999_999_999, "app_key": "0123456789abcdef"}),
            404,
        ),
        ("ok-id", json!({"merchant_id": p.merchant}), 400),
        (
            "ok-id",
            json!({"merchant_id": p.merchant, "app_key": "0123456789abcdef", "x": 1}),
            400,
        ),
    ];
    for (id, body, want) in cases {
        let (status, reply) = p
            .admin
            .put(&format!("/admin/v1/pospal/apps/{id}"), body)
            .await;
        assert_eq!(status, want, "{reply}");
    }
    let (status, apps) = p
        .admin
        .get(&format!("/admin/v1/merchants/{}/pospal/apps", p.merchant))
        .await;
    assert_eq!(status, 200);
    assert_eq!(apps.as_array().unwrap().len(), 1);
    assert_eq!(apps[0]["app_id"], p.app_id.as_str());
    let (status, _) = p
        .admin
        .get(&format!(
            "/admin/v1/merchants/{}/pospal/documents?kind=nope",
            p.merchant
        ))
        .await;
    assert_eq!(status, 400);
    p.running.stop().await;
}

impl Pospal {
    /// Sends a signed raw envelope; returns the status and the reply.
    async fn send_raw(&self, raw: &str) -> (u16, Value) {
        let res = client()
            .post(format!("http://{}{PATH}", self.running.addr))
            .header("data-signature", sign(&self.app_key, raw))
            .header("content-type", "application/json; charset=utf-8")
            .body(raw.to_string())
            .send()
            .await
            .expect("post notification");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// This merchant's intake rows of one status (`dead`, `all`...).
    async fn intake(&self, status: &str) -> Vec<Value> {
        let (code, rows) = self
            .admin
            .get(&format!(
                "/admin/v1/intake?partner=pospal&owner={}&status={status}",
                self.merchant
            ))
            .await;
        assert_eq!(code, 200, "{rows}");
        rows.as_array().unwrap().clone()
    }
}

/// Well-signed notifications that cannot be interpreted: stored byte for byte, answered
/// 200 (Pospal stops retrying), listed as dead letters with their reason, and replayed by
/// an operator with a corrected body, the original bytes kept.
async fn dead_letter_scenario(config: Config) {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let p = Pospal::start(config).await;
    let uid = i64::from(rand::random::<u32>()) + 1;
    let poison = [
        p.envelope("customer.recharge", "{not json", 1),
        p.envelope(
            "customer.recharge",
            &format!(
                r#"{{"customerUid":{uid},"datetime":"2017-09-14 17:09:48","rechargeMoney":0.005}}"#
            ),
            1,
        ),
        p.envelope("ticket.new", r#"{"uid":1}"#, 1),
        p.envelope("stockFlow.createStockFlowIn", r#"{"stockFlowId":"abc"}"#, 1),
    ];
    for raw in &poison {
        let (status, reply) = p.send_raw(raw).await;
        assert_eq!(
            (status, reply["status"].as_str()),
            (200, Some("dead_letter")),
            "{raw}"
        );
    }
    // A recharge whose points have more precision than posgate keeps: dead, nothing credited.
    let bad = p.envelope(
        "customer.recharge",
        &format!(r#"{{"customerUid":{uid},"datetime":"2017-09-14 17:09:48","rechargeMoney":20.00,"giftPoint":1.001}}"#),
        7,
    );
    let (status, reply) = p.send_raw(&bad).await;
    assert_eq!(
        (status, reply["status"].as_str()),
        (200, Some("dead_letter"))
    );
    let id = reply["intake_id"].as_i64().unwrap();
    // Pospal retries the same bytes: one row, two attempts.
    assert_eq!(p.send_raw(&bad).await.0, 200);
    assert_eq!(p.member_account(uid).await, None);
    assert!(p.events("").await.is_empty());
    let dead = p.intake("dead").await;
    assert_eq!(dead.len(), poison.len() + 1, "{dead:?}");
    let (code, shown) = p.admin.get(&format!("/admin/v1/intake/{id}")).await;
    assert_eq!(code, 200, "{shown}");
    assert_eq!(
        shown["body_b64"],
        b64.encode(bad.as_bytes()),
        "byte for byte"
    );
    assert_eq!(shown["attempts"], 2);
    assert_eq!(shown["kind"], "customer.recharge");
    assert_eq!(shown["headers"]["data-signature"], sign(&p.app_key, &bad));
    assert!(
        shown["reason"].as_str().unwrap().contains("giftPoint"),
        "{shown}"
    );
    // Replayed as is: still dead, the replay recorded.
    let path = format!("/admin/v1/intake/{id}/replay");
    let (code, after) = p
        .admin
        .post(
            &path,
            json!({"operator": "ops-1", "note": "after the fix?"}),
        )
        .await;
    assert_eq!(code, 200, "{after}");
    assert_eq!(after["status"], "dead");
    assert_eq!(after["replays"][0]["result_status"], "dead");
    // A correction that moves the data to another app is refused.
    let stranger = bad
        .replace(&p.app_id, "someone-else")
        .replace("1.001", "1.00");
    let (_, after) = p
        .admin
        .post(
            &path,
            json!({"operator": "ops-1", "note": "x",
            "corrected_body_b64": b64.encode(stranger.as_bytes())}),
        )
        .await;
    assert_eq!(after["status"], "dead", "{after}");
    assert_eq!(p.member_account(uid).await, None);
    // Replayed with the operator's correction: applied, original bytes kept.
    let fixed = bad.replace("1.001", "1.00");
    let (code, after) = p
        .admin
        .post(
            &path,
            json!({"operator": "ops-2", "note": "points rounded as agreed with the merchant",
            "corrected_body_b64": b64.encode(fixed.as_bytes())}),
        )
        .await;
    assert_eq!(code, 200, "{after}");
    assert_eq!(after["status"], "replayed");
    assert_eq!(after["body_b64"], b64.encode(bad.as_bytes()));
    assert_eq!(after["replays"].as_array().unwrap().len(), 3);
    assert_eq!(after["replays"][2]["operator"], "ops-2");
    assert_eq!(
        after["replays"][2]["corrected_body_b64"],
        b64.encode(fixed.as_bytes())
    );
    let account = p.member_account(uid).await.expect("credited by the replay");
    let b = p.balances(account).await;
    assert_eq!(
        (b["cash"].as_i64(), b["points"].as_i64()),
        (Some(2_000), Some(100))
    );
    // Applied once: a second replay is refused, and the dead list no longer shows it.
    let (code, _) = p
        .admin
        .post(&path, json!({"operator": "ops-2", "note": "again"}))
        .await;
    assert_eq!(code, 409);
    assert_eq!(p.intake("dead").await.len(), poison.len());
    assert_eq!(p.intake("replayed").await.len(), 1);
    let (code, _) = p.admin.get("/admin/v1/intake?status=nope").await;
    assert_eq!(code, 400);
    p.running.stop().await;
}

on_both_backends!(
    dead_letter_scenario,
    dead_letters_are_kept_and_replayed_on_sqlite,
    dead_letters_are_kept_and_replayed_on_postgres
);

impl Pospal {
    /// Sends a signed notification born at `born` (ms); returns the status and `status`.
    async fn send_born(&self, cmd: &str, body: &str, born: i64) -> (u16, String) {
        let raw = json!({
            "cmd": cmd,
            "timestamp": born + 100,
            "bornTimeStamp": born,
            "version": "1.0",
            "appId": self.app_id,
            "body": body,
        })
        .to_string();
        let (status, reply) = self.send_raw(&raw).await;
        (status, reply["status"].as_str().unwrap_or("").to_string())
    }

    /// A new member with `cash` fen recharged; returns (customerUid, account).
    async fn member_with(&self, cash_yuan: &str) -> (i64, i64) {
        let uid = i64::from(rand::random::<u32>()) + 1;
        let recharge = format!(
            r#"{{"customerUid":{uid},"datetime":"2021-05-10 09:00:00","rechargeMoney":{cash_yuan}}}"#
        );
        assert_eq!(
            self.send_born("customer.recharge", &recharge, 1).await.1,
            "accepted"
        );
        (uid, self.member_account(uid).await.unwrap())
    }

    async fn audit_is_clean(&self) {
        let (status, audit) = self.admin.get("/admin/v1/ledger/audit").await;
        assert_eq!(status, 200, "{audit}");
        assert_eq!(audit["unbalanced"], json!([]), "{audit}");
        assert_eq!(audit["balance_mismatches"], json!([]), "{audit}");
    }
}

/// Review 4.1: a reverse that undoes a credit the member has spent meanwhile is booked below
/// zero (Pospal is authoritative), flagged and listed, never silently refused.
async fn reverse_below_zero_scenario(config: Config) {
    let p = Pospal::start(config).await;
    let (uid, account) = p.member_with("0").await;
    // A refund ticket gives 50.00 back to the balance; the member spends it at once.
    let refund = format!(
        r#"{{"sn":"R{uid}","customerUid":{uid},"ticketType":2,
            "customerBalanceUsedLogs":[{{"usedMoney":-50.00,"operateType":2,"afterUsedMoney":50.00}}]}}"#
    );
    assert_eq!(p.send_born("ticket.new", &refund, 10).await.1, "accepted");
    let sale = format!(
        r#"{{"sn":"S{uid}","customerUid":{uid},"ticketType":1,
            "customerBalanceUsedLogs":[{{"usedMoney":50.00,"operateType":1,"afterUsedMoney":0.00}}]}}"#
    );
    assert_eq!(p.send_born("ticket.new", &sale, 20).await.1, "accepted");
    assert_eq!(p.balances(account).await["cash"], 0);
    // The refund ticket is reversed at Pospal: the member now owes 50.00 there.
    let undo = format!(
        r#"{{"sn":"R{uid}","customerUid":{uid},"ticketType":4,
            "customerBalanceUsedLogs":[{{"usedMoney":50.00,"operateType":4,"afterUsedMoney":-50.00}}]}}"#
    );
    assert_eq!(p.send_born("ticket.reverse", &undo, 30).await.1, "accepted");
    assert_eq!(
        p.balances(account).await["cash"],
        -5_000,
        "the mirror follows Pospal"
    );
    let flagged = p.events("&outcome=posted:below_zero").await;
    assert_eq!(flagged.len(), 1, "listed: {flagged:?}");
    assert_eq!(flagged[0]["subject"], format!("R{uid}"));
    assert!(
        p.mismatches().await.is_empty(),
        "posgate agrees with Pospal"
    );
    // Redelivered: nothing more.
    assert_eq!(
        p.send_born("ticket.reverse", &undo, 30).await.1,
        "duplicate"
    );
    assert_eq!(p.balances(account).await["cash"], -5_000);
    p.audit_is_clean().await;
    p.running.stop().await;
}

on_both_backends!(
    reverse_below_zero_scenario,
    a_reverse_below_zero_follows_pospal_on_sqlite,
    a_reverse_below_zero_follows_pospal_on_postgres
);

/// Review 4.4: a reverse without logs still undoes its ticket; a ticket settled again
/// after a 反结账 (same `sn`) and its second 反结账 both count; two equal recharges in the
/// same second are two recharges.
async fn one_sn_many_times_scenario(config: Config) {
    let p = Pospal::start(config).await;
    let (uid, account) = p.member_with("100.00").await;
    let sale = |yuan: &str, after: &str| {
        format!(
            r#"{{"sn":"S{uid}","customerUid":{uid},"ticketType":1,
                "customerBalanceUsedLogs":[{{"usedMoney":{yuan},"operateType":1,"afterUsedMoney":{after}}}],
                "customerPointGaintLogs":[{{"gaintPoint":{yuan},"operateType":1}}]}}"#
        )
    };
    // A reverse carrying no logs at all.
    let reverse = format!(r#"{{"sn":"S{uid}","customerUid":{uid},"ticketType":3}}"#);
    assert_eq!(
        p.send_born("ticket.new", &sale("10.00", "90.00"), 100)
            .await
            .1,
        "accepted"
    );
    assert_eq!(
        p.send_born("ticket.reverse", &reverse, 200).await.1,
        "accepted"
    );
    let b = p.balances(account).await;
    assert_eq!(
        (b["cash"].as_i64(), b["points"].as_i64()),
        (Some(10_000), Some(0))
    );
    // Settled again with another amount, then reversed again.
    assert_eq!(
        p.send_born("ticket.new", &sale("20.00", "80.00"), 300)
            .await
            .1,
        "accepted"
    );
    let b = p.balances(account).await;
    assert_eq!(
        (b["cash"].as_i64(), b["points"].as_i64()),
        (Some(8_000), Some(2_000))
    );
    assert_eq!(
        p.send_born("ticket.reverse", &reverse, 400).await.1,
        "accepted"
    );
    let b = p.balances(account).await;
    assert_eq!(
        (b["cash"].as_i64(), b["points"].as_i64()),
        (Some(10_000), Some(0))
    );
    // Each redelivered: nothing more.
    for (cmd, body, born) in [
        ("ticket.new", sale("20.00", "80.00"), 300),
        ("ticket.reverse", reverse.clone(), 400),
    ] {
        assert_eq!(p.send_born(cmd, &body, born).await.1, "duplicate");
    }
    assert_eq!(p.balances(account).await["cash"], 10_000);
    // Two recharges of 5.00 within the same second.
    let recharge =
        format!(r#"{{"customerUid":{uid},"datetime":"2021-05-10 17:54:34","rechargeMoney":5.00}}"#);
    assert_eq!(
        p.send_born("customer.recharge", &recharge, 500).await.1,
        "accepted"
    );
    assert_eq!(
        p.send_born("customer.recharge", &recharge, 501).await.1,
        "accepted"
    );
    assert_eq!(
        p.send_born("customer.recharge", &recharge, 501).await.1,
        "duplicate"
    );
    assert_eq!(p.balances(account).await["cash"], 11_000);
    assert!(p.events("&outcome=key_conflict").await.is_empty());
    p.audit_is_clean().await;
    p.running.stop().await;
}

on_both_backends!(
    one_sn_many_times_scenario,
    one_sn_settled_and_reversed_twice_counts_each_time_on_sqlite,
    one_sn_settled_and_reversed_twice_counts_each_time_on_postgres
);

/// Review 4.3: points are reconciled against `afterGaintPoint` like cash against
/// `afterUsedMoney`; an operator resolves mismatches with a note or an adjustment.
async fn points_reconciled_scenario(config: Config) {
    let p = Pospal::start(config).await;
    let (uid, account) = p.member_with("10.00").await;
    // Pospal says the member has 15.00 points after gaining 10.00: posgate only knows 10.00.
    let sale = format!(
        r#"{{"sn":"P{uid}","customerUid":{uid},"ticketType":1,
            "customerBalanceUsedLogs":[{{"usedMoney":1.00,"operateType":1,"afterUsedMoney":8.00}}],
            "customerPointGaintLogs":[{{"gaintPoint":10.00,"operateType":1,"afterGaintPoint":15.00}}]}}"#
    );
    assert_eq!(p.send_born("ticket.new", &sale, 10).await.1, "accepted");
    let path = |q: &str| format!("/admin/v1/merchants/{}/pospal/mismatches{q}", p.merchant);
    let (_, open) = p.admin.get(&path("?status=open")).await;
    let open = open.as_array().unwrap().clone();
    assert_eq!(open.len(), 2, "{open:?}");
    let points = open
        .iter()
        .find(|m| m["asset"] == "points")
        .expect("points mismatch");
    assert_eq!(
        (
            points["pospal_balance"].as_i64(),
            points["posgate_balance"].as_i64()
        ),
        (Some(1_500), Some(1_000))
    );
    let cash = open
        .iter()
        .find(|m| m["asset"] == "cash")
        .expect("cash mismatch");
    assert_eq!(
        (
            cash["pospal_balance"].as_i64(),
            cash["posgate_balance"].as_i64()
        ),
        (Some(800), Some(900))
    );
    // Points: adjusted to follow Pospal. Cash: explained by a note only.
    let resolve = |id: &Value| path(&format!("/{id}/resolve"));
    let (status, done) = p
        .admin
        .post(
            &resolve(&points["id"]),
            json!({"action": "adjust", "operator": "ops-1", "note": "Pospal bonus points"}),
        )
        .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(
        (done["status"].as_str(), done["resolution"].as_str()),
        (Some("resolved"), Some("adjusted"))
    );
    assert!(done["adjustment_key"].is_string());
    let b = p.balances(account).await;
    assert_eq!(
        (b["cash"].as_i64(), b["points"].as_i64()),
        (Some(900), Some(1_500))
    );
    let (status, done) = p
        .admin
        .post(
            &resolve(&cash["id"]),
            json!({"action": "note", "operator": "ops-1", "note": "fee charged at Pospal"}),
        )
        .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["resolution"], "noted");
    assert_eq!(p.balances(account).await["cash"], 900);
    let (status, _) = p
        .admin
        .post(
            &resolve(&points["id"]),
            json!({"action": "adjust", "operator": "ops-1", "note": "again"}),
        )
        .await;
    assert_eq!(status, 409, "resolved once");
    let (status, _) = p
        .admin
        .post(
            &resolve(&cash["id"]),
            json!({"action": "drop", "operator": "ops-1", "note": "x"}),
        )
        .await;
    assert_eq!(status, 400);
    let (_, open) = p.admin.get(&path("?status=open")).await;
    assert_eq!(open, json!([]));
    p.audit_is_clean().await;
    p.running.stop().await;
}

on_both_backends!(
    points_reconciled_scenario,
    points_are_reconciled_and_mismatches_resolved_on_sqlite,
    points_are_reconciled_and_mismatches_resolved_on_postgres
);

/// Review 4.2 and the issue's "Done when": Pospal's documented notifications, written the
/// way Java serializers write them (BigDecimal exponents, fractional seconds, a BOM, types
/// and states the spec does not list, the spec's own spellings), are all consumed; none is
/// a dead letter, and the money comes out exact.
async fn serializer_variants_scenario(config: Config) {
    let p = Pospal::start(config).await;
    let uid = i64::from(rand::random::<u32>()) + 1;
    let bom = "\u{feff}";
    let notifications: Vec<(&str, String)> = vec![
        ("customer.new", format!(r#"{bom}{{"number":"uuu","customerUid":{uid},"phone":"13600927865","name":"uuu"}}"#)),
        ("customer.recharge", format!(r#"{{"customerUid":{uid},"datetime":"2017-09-14 17:09:48.250","rechargeStoreAccount":"adasun4","giftPoint":0E-2,"giftMoney":0.00,"rechargeMoney":1E+2}}"#)),
        ("ticket.new", format!(r#"{{"sn":"V{uid}","uid":1514196146215295712,"customerUid":{uid},"ticketType":1,
            "customerBalanceUsedLogs":[{{"usedMoney":7.621E+1,"datetime":"2017-12-25 14:54:42.123","operateType":1,"afterUsedMoney":2.379E+1}}],
            "customerPointGaintLogs":[{{"gaintPoint":76.21,"datetime":"2017-12-25T18:02:26.5","operateType":1,"afterGaintPoint":7.621E+1}}]}}"#)),
        ("ticket.new", format!(r#"{{"sn":"W{uid}","customerUid":{uid},"ticketType":5,
            "customerBalanceUsedLogs":[{{"usedMoney":1.2E+1,"operateType":7,"afterUsedMoney":11.79}}]}}"#)),
        ("ticket.reverse", format!(r#"{{"sn":"W{uid}","customerUid":{uid},"ticketType":6}}"#)),
        ("couponCode.use ", r#"{"code":"CPN-V","createdDateTime":"2017-09-14 17:09:48.1","usedDateTime":"2017-09-15T10:00:00.000","expiredDate":"2018-09-14 00:00:00"}"#.to_string()),
        (" stockTaking.new", r#"{"stockTakingId": 11111}"#.to_string()),
        ("product.edit", r#"[{"barcode":"0600002854215"}]"#.to_string()),
        ("productOrder.updateProductOrder", r#"{"orderNo":"ORD-V","state":6}"#.to_string()),
        ("productOrder.updateProductOrder", r#"{"orderNo":"ORD-V","state":null}"#.to_string()),
        ("stockFlow.createStockFlowIn", r#"{"stockFlowId": 123456}"#.to_string()),
        ("productRequest.new", r#"{"productRequestId":15306}"#.to_string()),
        ("member.delete", r#"{"anything":1E+400}"#.to_string()),
    ];
    for (at, (cmd, body)) in notifications.iter().enumerate() {
        let born = 1_600_000_000_000 + i64::try_from(at).unwrap();
        // A BOM in front of the envelope too, for every other one.
        let mut raw = json!({"cmd": cmd, "timestamp": born + 5, "bornTimeStamp": born,
            "version": "1.0", "appId": p.app_id, "body": body})
        .to_string();
        if at % 2 == 1 {
            raw.insert(0, '\u{feff}');
        }
        let (status, reply) = p.send_raw(&raw).await;
        assert_eq!(
            (status, reply["status"].as_str()),
            (200, Some("accepted")),
            "{cmd}: {reply}"
        );
    }
    assert_eq!(p.intake("dead").await, Vec::<Value>::new(), "none lost");
    assert_eq!(p.intake("applied").await.len(), notifications.len());
    assert_eq!(p.events("").await.len(), notifications.len());
    let account = p.member_account(uid).await.unwrap();
    let b = p.balances(account).await;
    // 100.00 recharged, 76.21 and 12.00 spent; the unknown ticketType 6 reverse names no
    // settlement and changes nothing.
    assert_eq!(
        (b["cash"].as_i64(), b["points"].as_i64()),
        (Some(1_179), Some(7_621))
    );
    assert!(
        p.mismatches().await.is_empty(),
        "{:?}",
        p.mismatches().await
    );
    let (_, orders) = p
        .admin
        .get(&format!(
            "/admin/v1/merchants/{}/pospal/documents?kind=product_order",
            p.merchant
        ))
        .await;
    assert_eq!(orders[0]["events"], 2, "{orders}");
    p.audit_is_clean().await;
    p.running.stop().await;
}

on_both_backends!(
    serializer_variants_scenario,
    serializer_variants_lose_no_notification_on_sqlite,
    serializer_variants_lose_no_notification_on_postgres
);

impl Pospal {
    /// The appKey as the database holds it.
    async fn stored_key(&self) -> String {
        let app_id = self.app_id.clone();
        self.running
            .gateway
            .store
            .transaction(move |db| {
                Box::pin(async move {
                    let rows = db
                        .query(
                            "SELECT app_key FROM pospal_apps WHERE app_id = $1",
                            &[app_id.as_str().into()],
                        )
                        .await?;
                    rows[0].text(0)
                })
            })
            .await
            .unwrap()
    }

    /// Writes the appKey in clear, as a database of before sealing holds it.
    async fn store_key_in_clear(&self) {
        let (app_id, key) = (self.app_id.clone(), self.app_key.clone());
        self.running
            .gateway
            .store
            .transaction(move |db| {
                Box::pin(async move {
                    db.execute(
                        "UPDATE pospal_apps SET app_key = $1 WHERE app_id = $2",
                        &[key.as_str().into(), app_id.as_str().into()],
                    )
                    .await
                })
            })
            .await
            .unwrap();
    }

    /// Stops this gateway and starts another on the same database.
    async fn restart(self, config: Config) -> Pospal {
        let Pospal {
            running,
            merchant,
            app_id,
            app_key,
            ..
        } = self;
        running.stop().await;
        let running = posgate::app::start(config).await.expect("restart gateway");
        let admin = Admin::new(format!("http://{}", running.addr));
        Pospal {
            running,
            admin,
            merchant,
            app_id,
            app_key,
        }
    }
}

/// Review 4.5: the appKey (also the merchant's open-API credential) is stored encrypted
/// under the configured key-encryption key; keys stored in clear before are sealed at
/// startup; a gateway with another key-encryption key cannot use them (503, nothing
/// stored) until the key is put again.
async fn sealed_app_keys_scenario(config: impl Fn(Option<&str>) -> Config) {
    let p = Pospal::start(config(None)).await;
    let stored = p.stored_key().await;
    assert!(stored.starts_with("gcm1:"), "sealed: {stored}");
    assert!(!stored.contains(&p.app_key) && !stored.contains(&hex::encode(&p.app_key)));
    let recharge = |n: i64| {
        format!(r#"{{"customerUid":{n},"datetime":"2021-05-10 09:00:00","rechargeMoney":1.00}}"#)
    };
    assert_eq!(
        p.send_born("customer.recharge", &recharge(1), 1).await.1,
        "accepted"
    );
    // A database of before: the key in clear. The next start seals it.
    p.store_key_in_clear().await;
    let p = p.restart(config(None)).await;
    let stored = p.stored_key().await;
    assert!(
        stored.starts_with("gcm1:") && !stored.contains(&p.app_key),
        "{stored}"
    );
    assert_eq!(
        p.send_born("customer.recharge", &recharge(2), 2).await.1,
        "accepted"
    );
    // Another key-encryption key: the stored key does not open; Pospal is told to retry.
    let other = "ab".repeat(32);
    let p = p.restart(config(Some(&other))).await;
    assert_eq!(
        p.send_born("customer.recharge", &recharge(3), 3).await.0,
        503
    );
    assert_eq!(p.intake("all").await.len(), 2, "nothing stored for it");
    // The operator puts the key again: sealed under the new key-encryption key.
    let (status, _) = p
        .admin
        .put(
            &format!("/admin/v1/pospal/apps/{}", p.app_id),
            json!({"merchant_id": p.merchant, "app_key": p.app_key}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        p.send_born("customer.recharge", &recharge(3), 3).await.1,
        "accepted"
    );
    p.running.stop().await;
}

#[actix_rt::test]
async fn app_keys_are_stored_sealed_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("posgate-pospal-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("posgate.db").to_string_lossy().into_owned();
    sealed_app_keys_scenario(|kek| {
        let mut c = config(None);
        c.database.sqlite_path = path.clone();
        if let Some(kek) = kek {
            c.pospal.key_encryption_key = posgate::secret::Secret::new(kek.into());
        }
        c
    })
    .await;
}

#[actix_rt::test]
async fn app_keys_are_stored_sealed_on_postgres() {
    let Some(url) = testing::scratch_pg_url() else {
        return;
    };
    sealed_app_keys_scenario(|kek| {
        let mut c = config(Some(url.clone()));
        if let Some(kek) = kek {
            c.pospal.key_encryption_key = posgate::secret::Secret::new(kek.into());
        }
        c
    })
    .await;
}

/// Review 4.6: requests refused before authentication are kept as untrusted evidence
/// (listed, never interpreted); one refused because posgate did not know the app yet is
/// re-checked by an operator once the app is registered, and then enters the intake.
async fn refused_requests_scenario(config: Config) {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let p = Pospal::start(config).await;
    let marker = rand::random::<u32>();
    let uid = i64::from(marker) + 1;
    let recharge =
        format!(r#"{{"customerUid":{uid},"datetime":"2021-05-10 09:00:00","rechargeMoney":3.00}}"#);
    // Signed with a key posgate does not have (yet), for an app it does not know (yet).
    let late_app = format!("late{marker}");
    let late_key = format!("LATEKEY{marker:016}");
    let late = json!({"cmd": "customer.recharge", "timestamp": 2, "bornTimeStamp": 1,
        "version": "1.0", "appId": late_app, "body": recharge})
    .to_string();
    assert_eq!(p.post_raw(&late, Some(sign(&late_key, &late))).await, 403);
    // A forged one for the known app, and a malformed one.
    let forged = p.envelope("customer.recharge", &recharge, 3);
    assert_eq!(
        p.post_raw(&forged, Some(sign("not-the-key-0123456", &forged)))
            .await,
        401
    );
    let broken = format!(r#"{{"cmd":"x","marker":{marker}"#);
    assert_eq!(p.post_raw(&broken, None).await, 400);
    let (status, kept) = p
        .admin
        .get("/admin/v1/intake/refused?partner=pospal&limit=500")
        .await;
    assert_eq!(status, 200, "{kept}");
    let mine = |raw: &str| {
        kept.as_array()
            .unwrap()
            .iter()
            .find(|r| r["body_b64"] == b64.encode(raw.as_bytes()))
            .cloned()
            .unwrap_or_else(|| panic!("kept: {raw}"))
    };
    let late_row = mine(&late);
    assert_eq!(
        (
            late_row["refusal"].as_str(),
            late_row["claimed_owner"].as_str()
        ),
        (Some("unknown_app"), Some(late_app.as_str()))
    );
    assert_eq!(
        late_row["headers"]["data-signature"],
        sign(&late_key, &late)
    );
    let forged_row = mine(&forged);
    assert_eq!(forged_row["refusal"], "bad_signature");
    assert_eq!(mine(&broken)["refusal"], "malformed");
    // Nothing of them was interpreted.
    assert_eq!(p.member_account(uid).await, None);
    assert!(p.intake("all").await.is_empty());
    // Re-checked before the app exists: still refused.
    let recheck = |row: &Value| format!("/admin/v1/intake/refused/{}/recheck", row["id"]);
    let who = json!({"operator": "ops-1", "note": "app registered late"});
    assert_eq!(p.admin.post(&recheck(&late_row), who.clone()).await.0, 409);
    // The app is registered (with the key Pospal signs with): the re-check takes it in.
    let (status, _) = p
        .admin
        .put(
            &format!("/admin/v1/pospal/apps/{late_app}"),
            json!({"merchant_id": p.merchant, "app_key": late_key}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, taken) = p.admin.post(&recheck(&late_row), who.clone()).await;
    assert_eq!(status, 200, "{taken}");
    assert_eq!(taken["status"], "replayed");
    assert_eq!(taken["body_b64"], b64.encode(late.as_bytes()));
    assert_eq!(taken["replays"][0]["operator"], "ops-1");
    let account = p.member_account(uid).await.expect("credited");
    assert_eq!(p.balances(account).await["cash"], 300);
    // Once only; and a forgery stays refused.
    assert_eq!(p.admin.post(&recheck(&late_row), who.clone()).await.0, 409);
    assert_eq!(p.admin.post(&recheck(&forged_row), who).await.0, 409);
    assert_eq!(p.balances(account).await["cash"], 300);
    p.running.stop().await;
}

on_both_backends!(
    refused_requests_scenario,
    refused_requests_are_kept_and_rechecked_on_sqlite,
    refused_requests_are_kept_and_rechecked_on_postgres
);

/// Issue 11 deliverable 5 (Pospal half): ticket totals per merchant and business day, as
/// JSON and CSV, each ticket counted once whatever Pospal redelivers.
async fn ticket_totals_scenario(config: Config) {
    let p = Pospal::start(config).await;
    let (uid, _) = p.member_with("100.00").await;
    let member_ticket = |sn: &str, kind: i64, yuan: &str, date: &str| {
        format!(
            r#"{{"sn":"{sn}{uid}","customerUid":{uid},"ticketType":{kind},
                "customerBalanceUsedLogs":[{{"usedMoney":{yuan},"datetime":"{date} 10:00:00","operateType":{kind}}}],
                "customerPointGaintLogs":[{{"gaintPoint":{yuan},"datetime":"{date} 10:00:00","operateType":{kind}}}]}}"#
        )
    };
    let sends = [
        (
            "ticket.new",
            member_ticket("A", 1, "10.00", "2026-11-30"),
            10,
        ),
        (
            "ticket.new",
            member_ticket("B", 1, "5.50", "2026-11-30"),
            11,
        ),
        (
            "ticket.new",
            member_ticket("C", 2, "-2.00", "2026-11-30"),
            12,
        ),
        (
            "ticket.new",
            member_ticket("D", 1, "1.00", "2026-12-01"),
            13,
        ),
        (
            "ticket.new",
            r#"{"sn":"N1","customerUid":0,"ticketType":1,"totalAmount":12.34,
                "customerBalanceUsedLogs":[{"usedMoney":0,"datetime":"2026-12-01 11:00:00"}]}"#
                .to_string(),
            14,
        ),
        (
            "ticket.reverse",
            format!(
                r#"{{"sn":"D{uid}","customerUid":{uid},"ticketType":3,"customerBalanceUsedLogs":[{{"usedMoney":-1.00,"datetime":"2026-12-01 12:00:00","operateType":3}}]}}"#
            ),
            15,
        ),
    ];
    for (cmd, body, born) in &sends {
        assert_eq!(p.send_born(cmd, body, *born).await.1, "accepted", "{body}");
        // Redelivered: counted once.
        assert_eq!(p.send_born(cmd, body, *born).await.1, "duplicate");
    }
    let path = |q: &str| {
        format!(
            "/admin/v1/merchants/{}/pospal/ticket-totals?{q}",
            p.merchant
        )
    };
    let (status, days) = p.admin.get(&path("from=2026-11-01&to=2026-12-31")).await;
    assert_eq!(status, 200, "{days}");
    assert_eq!(
        days,
        json!([
            {"merchant_id": p.merchant, "business_date": "2026-11-30", "tickets": 3, "sales": 2,
             "refunds": 1, "other_tickets": 0, "reverses": 0, "member_tickets": 3,
             "member_cash_used": 1_350, "points_gained": 1_350, "total_amount": 0},
            {"merchant_id": p.merchant, "business_date": "2026-12-01", "tickets": 2, "sales": 2,
             "refunds": 0, "other_tickets": 0, "reverses": 1, "member_tickets": 1,
             "member_cash_used": 100, "points_gained": 100, "total_amount": 1_234},
        ])
    );
    let res = client()
        .get(format!(
            "{}{}",
            p.admin.base,
            path("from=2026-12-01&to=2026-12-01&format=csv")
        ))
        .bearer_auth(common::TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert_eq!(
        res.text().await.unwrap(),
        "business_date,tickets,sales,refunds,other_tickets,reverses,member_tickets,\
         member_cash_used,points_gained,total_amount\n2026-12-01,2,2,0,0,1,1,100,100,1234\n"
    );
    for bad in [
        "from=2026-12-02&to=2026-12-01",
        "from=2026-13-01&to=2026-12-01",
        "from=2025-01-01&to=2026-12-01",
        "from=2026-12-01&to=2026-12-01&format=xml",
    ] {
        assert_eq!(p.admin.get(&path(bad)).await.0, 400, "{bad}");
    }
    let (status, _) = p
        .admin
        .get("/admin/v1/merchants/999999999/pospal/ticket-totals?from=2026-12-01&to=2026-12-01")
        .await;
    assert_eq!(status, 404);
    p.running.stop().await;
}

on_both_backends!(
    ticket_totals_scenario,
    ticket_totals_per_business_day_on_sqlite,
    ticket_totals_per_business_day_on_postgres
);
