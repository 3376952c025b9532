//! Payments announced on the merchant's DS50 speakers, over real HTTP and a real MQTT
//! subscriber on the embedded broker, on SQLite and on PostgreSQL: with the merchant's
//! `announce_payments` off a payment announces nothing; on, an MQTT consumption, a jpos
//! consume, a DS50 sale and a Pospal ticket each announce once (`transType` 99, the amount
//! in cents, the payment's journal id as `orderId`), and their retries announce nothing more.

mod common;
#[path = "common/jpos.rs"]
mod fixture;

use common::mqtt::{next_publish, subscriber};
use common::{client, config, metric_sum, TOKEN};
use fixture::{random_pan, Jpos};
use md5::{Digest, Md5};
use posgate::config::Config;
use posgate::sim::mqtt_device::{consumption, SimDevice};
use posgate_actors::store::sql::query_one;
use posgate_actors::store::{catalog, pospal as store_pospal};
use posgate_actors::testing;
use posgate_protocols::ds50::PosParam;
use serde_json::{json, Value};

#[actix_rt::test]
async fn every_payment_family_is_announced_once_on_sqlite() {
    scenario(config(None)).await;
}

#[actix_rt::test]
async fn every_payment_family_is_announced_once_on_postgres() {
    let Some(url) = testing::scratch_pg_url() else {
        return;
    };
    scenario(config(Some(url))).await;
}

/// `c` with MQTT on (the embedded broker on a free port) and DS50 posparam.ini issuable;
/// returns the broker's port and the devices' topic prefix.
fn with_mqtt(c: &mut Config) -> (u16, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    c.mqtt.enabled = true;
    c.mqtt.topic_prefix = format!("t{}", rand::random::<u32>());
    c.mqtt.embedded_listen = format!("127.0.0.1:{port}");
    c.ds50.mqtt_public_host = "mqtt.pay.example".into();
    c.ds50.allow_cleartext = true;
    (port, c.mqtt.topic_prefix.clone())
}

/// The broadcast of payment `id` of `amount` fen.
fn announcement(id: i64, amount: i64) -> Value {
    json!({"amount": amount.to_string(), "transType": "99", "orderId": id.to_string()})
}

/// The newest debit of `account`: its journal id and the amount posted.
async fn last_debit(j: &Jpos, account: i64) -> (i64, i64) {
    let path = format!("/admin/v1/transactions?account_id={account}&limit=50");
    let (status, page) = j.admin.get(&path).await;
    assert_eq!(status, 200, "{page}");
    let debit = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "debit" && t["status"] == "posted")
        .cloned()
        .expect("a posted debit");
    (
        debit["id"].as_i64().unwrap(),
        debit["posted_amount"].as_i64().unwrap(),
    )
}

/// Turns the merchant's setting on or off through the admin API; checks GET shows it.
async fn set_announcing(j: &Jpos, on: bool) {
    let path = format!("/admin/v1/merchants/{}", j.merchant);
    let (status, m) = j.admin.patch(&path, json!({"announce_payments": on})).await;
    assert_eq!(status, 200, "{m}");
    assert_eq!(m["announce_payments"], on);
    assert_eq!(j.admin.get(&path).await.1["announce_payments"], on);
}

/// An MQTT consumption machine of the merchant and a user of it with `cash` fen.
struct Canteen {
    device: SimDevice,
    user: String,
    account: i64,
}

async fn canteen(j: &Jpos, port: u16, prefix: &str, cash: i64) -> Canteen {
    let code = format!("{}", 5_000_000 + rand::random::<u32>() % 1_000_000);
    j.admin.terminal("mqtt_pos", &code, j.merchant).await;
    let device = SimDevice::connect("127.0.0.1", port, prefix, &code)
        .await
        .expect("device connects");
    let user = format!("{}", 200_000 + rand::random::<u32>() % 100_000);
    let (status, a) = j
        .admin
        .post(
            "/admin/v1/accounts",
            json!({"merchant_id": j.merchant, "user_id": user, "initial_balances": {"cash": cash}}),
        )
        .await;
    assert_eq!(status, 201, "{a}");
    Canteen {
        device,
        user,
        account: a["id"].as_i64().unwrap(),
    }
}

/// A DS50 speaker of the merchant with its API key, and a card with `cash` fen.
struct Speaker {
    sn: String,
    key: String,
    pan: String,
    account: i64,
}

async fn speaker(j: &Jpos, cash: i64) -> Speaker {
    let sn = format!("S20A{:010}", rand::random::<u32>());
    let id = j.admin.terminal("ds50", &sn, j.merchant).await;
    let res = j
        .admin
        .http
        .post(format!("{}/admin/v1/terminals/{id}/posparam", j.base))
        .bearer_auth(TOKEN)
        .json(&json!({"expires_in_days": 30}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let params = PosParam::parse(&res.text().await.unwrap()).expect("posparam.ini");
    let pan = random_pan();
    let account = j
        .admin
        .card_account(j.merchant, &pan, json!({"cash": cash}))
        .await;
    Speaker {
        sn,
        key: params.payment.api_key.expose().clone(),
        pan,
        account,
    }
}

impl Speaker {
    /// A sale of `amount` (yuan, `"12.34"`) under trace `trace`; returns its answer.
    async fn sale(&self, j: &Jpos, amount: &str, trace: u32) -> Value {
        let pan = &self.pan;
        let body = json!({
            "deviceSn": self.sn, "model": "DS50", "transType": "SALE", "appVersion": "V1.0.0",
            "payType": "CARD", "transAmount": amount,
            "cardNo": format!("{}******{}", &pan[..6], &pan[pan.len() - 4..]),
            "cardOrg": "VISA", "emvData": "9F260888C89C10C57849A7", "batchNo": "000001",
            "traceNo": format!("{trace:06}"), "track2": format!("{pan}D491220115195475"),
            "pin": "ADF34EF2424A042E", "date": "2025-12-15", "time": "15:50:23"
        });
        let res = client()
            .post(format!("{}/ds50/v1/sale", j.base))
            .bearer_auth(&self.key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let reply: Value = res.json().await.unwrap();
        assert_eq!(reply["acqResponseCode"], "00", "{reply}");
        reply
    }
}

/// A Pospal app of the merchant and a member recharged with 100.00 through it.
struct Till {
    app_id: String,
    app_key: String,
    uid: i64,
    account: i64,
}

async fn till(j: &Jpos) -> Till {
    let app_id = format!("app{}", rand::random::<u64>());
    let app_key = format!("KEY{:032X}", rand::random::<u128>());
    let (status, app) = j
        .admin
        .put(
            &format!("/admin/v1/pospal/apps/{app_id}"),
            json!({"merchant_id": j.merchant, "app_key": app_key}),
        )
        .await;
    assert_eq!(status, 201, "{app}");
    let uid = i64::from(rand::random::<u32>()) + 1;
    let mut till = Till {
        app_id,
        app_key,
        uid,
        account: 0,
    };
    let recharge = format!(
        r#"{{"customerUid":{uid},"datetime":"2017-09-14 17:09:48","giftPoint":0.00,"giftMoney":0.00,"rechargeMoney":100.00}}"#
    );
    assert_eq!(
        till.send(j, "customer.recharge", &recharge).await,
        "accepted"
    );
    let merchant = j.merchant;
    let user = store_pospal::member_user_id(uid);
    till.account = j
        .running
        .gateway
        .store
        .transaction(move |db| {
            Box::pin(async move { catalog::find_account(db, merchant, &user).await })
        })
        .await
        .unwrap()
        .expect("member linked")
        .id;
    till
}

impl Till {
    /// Sends a signed notification; returns its `status`.
    async fn send(&self, j: &Jpos, cmd: &str, body: &str) -> String {
        let raw = json!({
            "cmd": cmd, "timestamp": rand::random::<u32>(), "bornTimeStamp": 1_514_196_291_251i64,
            "version": "1.0", "appId": self.app_id, "body": body,
        })
        .to_string();
        let mut md5 = Md5::new();
        md5.update(self.app_key.as_bytes());
        md5.update(raw.as_bytes());
        let res = client()
            .post(format!("{}/pospal/v1/notify", j.base))
            .header("data-signature", hex::encode_upper(md5.finalize()))
            .body(raw)
            .send()
            .await
            .expect("post notification");
        assert_eq!(res.status(), 200);
        let reply: Value = res.json().await.unwrap();
        reply["status"].as_str().unwrap_or("").to_string()
    }

    /// A sale ticket `sn` paid with `used` (yuan) of the member's balance.
    fn ticket(&self, sn: &str, used: &str) -> String {
        let uid = self.uid;
        format!(
            r#"{{"sn":"{sn}","customerUid":{uid},"ticketType":1,
                "customerBalanceUsedLogs":[{{"usedMoney":{used},"operateType":1}}]}}"#
        )
    }
}

async fn scenario(mut c: Config) {
    let (port, prefix) = with_mqtt(&mut c);
    let j = Jpos::start(c).await;
    assert_eq!(j.checkin().await.status(), "00");
    let mut canteen = canteen(&j, port, &prefix, 10_000).await;
    let speaker = speaker(&j, 10_000).await;
    let till = till(&j).await;
    let topic = format!("pos/message/{}", speaker.sn);
    let (_client, mut events) = subscriber("127.0.0.1", port, &topic).await;
    let (_, m) = j
        .admin
        .get(&format!("/admin/v1/merchants/{}", j.merchant))
        .await;
    assert_eq!(m["announce_payments"], false, "off by default: {m}");

    // Off: a payment announces nothing (the next broadcast heard is the first one below).
    let paid = canteen
        .device
        .consume(&consumption(1, 1, &canteen.user, 100))
        .await;
    assert_eq!(paid.unwrap()["xfCode"], 0);

    set_announcing(&j, true).await;
    // An MQTT consumption, then its retry.
    let online = consumption(1, 2, &canteen.user, 1_250);
    assert_eq!(canteen.device.consume(&online).await.unwrap()["xfCode"], 0);
    assert_eq!(canteen.device.consume(&online).await.unwrap()["xfCode"], 0);
    let (id, amount) = last_debit(&j, canteen.account).await;
    assert_eq!(amount, 1_250);
    assert_eq!(next_publish(&mut events).await.1, announcement(id, 1_250));
    // A jpos consume of 10.00 points, then its retry.
    let first = j.consume(1, 1, "10.00", "0").await;
    assert_eq!(first.status(), "00", "{}", first.text);
    assert_eq!(j.consume(1, 1, "10.00", "0").await.text, first.text);
    let (id, _) = last_debit(&j, j.account).await;
    assert_eq!(next_publish(&mut events).await.1, announcement(id, 1_000));
    // A DS50 sale, then its retry.
    let sale = speaker.sale(&j, "66.66", 1).await;
    assert_eq!(speaker.sale(&j, "66.66", 1).await, sale);
    let (id, _) = last_debit(&j, speaker.account).await;
    assert_eq!(next_publish(&mut events).await.1, announcement(id, 6_666));
    // A Pospal ticket paid from the member's balance, then its redelivery.
    let ticket = till.ticket(&format!("S{}", till.uid), "76.21");
    assert_eq!(till.send(&j, "ticket.new", &ticket).await, "accepted");
    assert_eq!(till.send(&j, "ticket.new", &ticket).await, "duplicate");
    let (id, _) = last_debit(&j, till.account).await;
    assert_eq!(next_publish(&mut events).await.1, announcement(id, 7_621));

    // The retries announced nothing: the next broadcast is the next payment's.
    let next = consumption(1, 3, &canteen.user, 5);
    assert_eq!(canteen.device.consume(&next).await.unwrap()["xfCode"], 0);
    let (id, _) = last_debit(&j, canteen.account).await;
    assert_eq!(next_publish(&mut events).await.1, announcement(id, 5));
    assert_eq!(claims(&j).await, 5);
    // (The metric is the test process's: the other backend's scenario may add to it.)
    let announced = metric_sum(
        &j.base,
        "posgate_payment_announcements_total",
        &[("outcome", "announced")],
    );
    assert!(announced.await >= 5.0);

    // Off again: nothing more is claimed.
    set_announcing(&j, false).await;
    let after = consumption(1, 4, &canteen.user, 7);
    assert_eq!(canteen.device.consume(&after).await.unwrap()["xfCode"], 0);
    assert_eq!(claims(&j).await, 5);
    j.running.stop().await;
}

/// The announcements of the merchant's payments claimed in the store.
async fn claims(j: &Jpos) -> i64 {
    let merchant = j.merchant;
    j.running
        .gateway
        .store
        .transaction(move |db| {
            Box::pin(async move {
                let sql = "SELECT COUNT(*) FROM payment_announcements WHERE merchant_id = $1";
                query_one(db, sql, &[merchant.into()]).await?.i64(0)
            })
        })
        .await
        .unwrap()
}
