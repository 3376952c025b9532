//! MQTT POS money at its edges (review section 2): capabilities for top-up and load, the
//! server's business day, posNum reuse, the offline exception queue, the device's own fields
//! in the journal, the cancel window. A real device (MQTT client) through the embedded
//! broker, on SQLite and on PostgreSQL (skipped, or failed under
//! POSGATE_REQUIRE_SERVICES=1, when PostgreSQL is unreachable).

mod common;

use common::mqtt::{Backend, MqttGateway};
use common::Admin;
use posgate::config::Config;
use posgate::sim::mqtt_device::SimDevice;
use serde_json::{json, Value};

fn consumption(mode: i64, pos_num: i64, user: &str, pay_money: i64, pay_time: &str) -> Value {
    json!({
        "mode": mode, "posNum": pos_num, "userId": user, "payTime": pay_time,
        "idenType": "reqCard", "payMoney": pay_money, "imgPath": "2026-11-24/p1.jpg",
        "msgType": "api_ret"
    })
}

fn at(time: &str) -> String {
    format!("2026-11-24 {time}")
}

fn offline(pos_num: i64, user: &str, pay_money: i64, offline_money: i64) -> Value {
    let mut record = consumption(51, pos_num, user, pay_money, &at("11:30:00"));
    record["offlineDz"] = json!(90);
    record["offlineMoney"] = json!(offline_money);
    record
}

struct World {
    gw: MqttGateway,
    admin: Admin,
}

async fn world(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Option<World> {
    let gw = MqttGateway::on(backend, tweak).await?;
    Some(World {
        admin: Admin::new(gw.admin.base.clone()),
        gw,
    })
}

impl World {
    async fn user(&self, cash: i64, group: Option<i64>) -> (String, i64) {
        let user = format!("{}", 300_000 + rand::random::<u32>() % 100_000);
        let (status, a) = self
            .admin
            .post(
                "/admin/v1/accounts",
                json!({"merchant_id": self.gw.merchant, "user_id": user, "group_id": group,
                       "initial_balances": {"cash": cash}}),
            )
            .await;
        assert_eq!(status, 201, "{a}");
        (user, a["id"].as_i64().unwrap())
    }

    async fn balances(&self, account: i64) -> Value {
        self.admin
            .get(&format!("/admin/v1/accounts/{account}/balances"))
            .await
            .1
    }

    async fn transactions(&self, account: i64) -> Vec<Value> {
        let (_, page) = self
            .admin
            .get(&format!(
                "/admin/v1/transactions?account_id={account}&limit=500"
            ))
            .await;
        page["items"].as_array().unwrap().clone()
    }

    async fn exceptions(&self) -> Vec<Value> {
        let (status, page) = self
            .admin
            .get(&format!(
                "/admin/v1/offline-exceptions?merchant_id={}",
                self.gw.merchant
            ))
            .await;
        assert_eq!(status, 200, "{page}");
        page["items"].as_array().unwrap().clone()
    }
}

async fn xf(d: &mut SimDevice, body: &Value) -> i64 {
    d.consume(body).await.unwrap()["xfCode"].as_i64().unwrap()
}

/// 2.1: top-up (mode 2) and load (mode 12) only where granted, within the ceilings; a retry
/// of a posted top-up replays its first answer even after the grant is revoked.
async fn capabilities(w: World) {
    let (mut d, terminal) = w.gw.device().await;
    let (u, a) = w.user(5_000, None).await;
    let t = at("12:00:00");
    assert_eq!(xf(&mut d, &consumption(2, 1, &u, 500, &t)).await, 20);
    assert_eq!(xf(&mut d, &consumption(12, 2, &u, 500, &t)).await, 20);
    assert_eq!(w.balances(a).await["cash"], 5_000);

    w.gw.grant(terminal, "top_up", 1_000, 1_500).await;
    let first = d.consume(&consumption(2, 3, &u, 500, &t)).await.unwrap();
    assert_eq!(first["xfCode"], 0, "{first}");
    assert_eq!(
        xf(&mut d, &consumption(2, 4, &u, 1_200, &t)).await,
        21,
        "over the per-transaction ceiling"
    );
    assert_eq!(xf(&mut d, &consumption(2, 5, &u, 900, &t)).await, 0);
    assert_eq!(
        xf(&mut d, &consumption(2, 6, &u, 200, &t)).await,
        21,
        "1,400 + 200 is over the daily ceiling"
    );
    w.gw.revoke(terminal, "top_up").await;
    assert_eq!(
        d.consume(&consumption(2, 3, &u, 500, &t)).await.unwrap(),
        first,
        "a retry gets the first answer"
    );
    assert_eq!(xf(&mut d, &consumption(2, 7, &u, 100, &t)).await, 20);

    w.gw.grant(terminal, "load", 300, 0).await;
    assert_eq!(xf(&mut d, &consumption(12, 8, &u, 400, &t)).await, 21);
    let load = d.consume(&consumption(12, 9, &u, 300, &t)).await.unwrap();
    assert_eq!(
        (load["xfCode"].as_i64(), load["dstMoney"].as_i64()),
        (Some(0), Some(300))
    );
    let b = w.balances(a).await;
    assert_eq!(
        (b["cash"].as_i64(), b["purse"].as_i64()),
        (Some(5_000 + 1_400 - 300), Some(300))
    );
    let (_, grants) = w
        .admin
        .get(&format!("/admin/v1/terminals/{terminal}/capabilities"))
        .await;
    assert_eq!(grants.as_array().map(Vec::len), Some(1), "{grants}");
}

/// 2.2: the daily limits count on the server's business day; a device clock set to another
/// day does not open a new day.
async fn business_day(w: World) {
    let (status, group) = w
        .admin
        .post(
            "/admin/v1/groups",
            json!({"merchant_id": w.gw.merchant, "name": format!("g{}", rand::random::<u32>()),
                   "daily_count_limit": 1}),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    let (mut d, _) = w.gw.device().await;
    let (u, a) = w.user(5_000, group["id"].as_i64()).await;
    assert_eq!(
        xf(&mut d, &consumption(1, 1, &u, 100, "2001-01-01 12:00:00")).await,
        0
    );
    assert_eq!(
        xf(&mut d, &consumption(1, 2, &u, 100, "2049-12-31 12:00:00")).await,
        5,
        "a device clock on another day is still today's second consumption"
    );
    let today = posgate_actors::ledger::business_date(480, chrono::Utc::now()).to_string();
    let txs = w.transactions(a).await;
    let debit = txs
        .iter()
        .find(|t| t["kind"] == "debit" && t["status"] == "posted")
        .unwrap();
    assert_eq!(debit["business_date"], today.as_str());
    assert_eq!(debit["device_fields"]["payTime"], "2001-01-01 12:00:00");
}

/// 2.3: a posNum reused with another payTime is a conflict, not a replay (and not free).
async fn pos_num_reuse(w: World) {
    let (mut d, _) = w.gw.device().await;
    let (u, a) = w.user(5_000, None).await;
    let first = consumption(1, 1, &u, 300, &at("12:00:00"));
    assert_eq!(xf(&mut d, &first).await, 0);
    assert_eq!(
        xf(&mut d, &consumption(1, 1, &u, 300, &at("12:05:00"))).await,
        14
    );
    assert_eq!(xf(&mut d, &first).await, 0, "the true retry replays");
    assert_eq!(w.balances(a).await["cash"], 4_700);
}

/// 2.4: offline records that cannot be booked are held, acknowledged, listed and resolved.
async fn offline_exceptions(w: World) {
    let (mut d, _) = w.gw.device().await;
    let (u, a) = w.user(5_000, None).await;
    let (frozen, f) = w.user(5_000, None).await;
    let stranger = offline(1, "7777777", 1_000, 900);
    let ack = d.consume(&stranger).await.unwrap();
    assert_eq!(
        (ack["xfCode"].as_i64(), ack["dstMoney"].as_i64()),
        (Some(0), Some(0))
    );
    assert_eq!(xf(&mut d, &stranger).await, 0, "a retry is held once");
    let (status, body) = w
        .admin
        .patch(
            &format!("/admin/v1/accounts/{f}"),
            json!({"status": "frozen"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(xf(&mut d, &offline(2, &frozen, 1_000, 900)).await, 0);
    assert_eq!(xf(&mut d, &offline(3, &u, 500, 600)).await, 0);
    assert_eq!(w.balances(a).await["cash"], 5_000, "nothing booked");
    assert_eq!(w.balances(f).await["cash"], 5_000, "nothing booked");

    let held = w.exceptions().await;
    let reasons: Vec<&str> = held.iter().map(|e| e["reason"].as_str().unwrap()).collect();
    assert_eq!(
        reasons,
        [
            "offline_money_above_pay_money",
            "account_frozen",
            "unknown_user"
        ]
    );
    let unknown = &held[2];
    assert_eq!(unknown["raw"]["payTime"], at("11:30:00"));
    assert_eq!(unknown["raw"]["offlineMoney"], "900");
    assert_eq!(unknown["amount"], 900);

    // Book the stranger's meal to a known account: posted once, even when asked twice.
    let path = format!("/admin/v1/offline-exceptions/{}/book", unknown["id"]);
    let body = json!({"account_id": a, "note": "card of a new staff member"});
    let (status, booked) = w.admin.post(&path, body.clone()).await;
    assert_eq!(status, 201, "{booked}");
    let (status, again) = w.admin.post(&path, body).await;
    assert_eq!(
        (status, &again["transaction_id"]),
        (200, &booked["transaction_id"])
    );
    assert_eq!(w.balances(a).await["cash"], 5_000 - 900);
    let (_, row) = w
        .admin
        .get(&format!("/admin/v1/offline-exceptions/{}", unknown["id"]))
        .await;
    assert_eq!(row["status"], "booked");

    // Booking to a frozen account is refused and posts nothing; once active it books.
    let path = format!("/admin/v1/offline-exceptions/{}/book", held[0]["id"]);
    let body = json!({"account_id": f, "note": "charged to the right account"});
    let (status, refused) = w.admin.post(&path, body.clone()).await;
    assert_eq!(status, 409, "{refused}");
    let (status, _) = w
        .admin
        .patch(
            &format!("/admin/v1/accounts/{f}"),
            json!({"status": "active"}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, booked) = w.admin.post(&path, body).await;
    assert_eq!(status, 201, "{booked}");
    assert_eq!(w.balances(f).await["cash"], 5_000 - 600);

    // Write off the frozen account's meal; a second resolution is refused.
    let path = format!("/admin/v1/offline-exceptions/{}/write-off", held[1]["id"]);
    let (status, row) = w.admin.post(&path, json!({"note": "lost card"})).await;
    assert_eq!((status, row["status"].as_str()), (200, Some("written_off")));
    let (status, _) = w.admin.post(&path, json!({"note": "again"})).await;
    assert_eq!(status, 409);
    let (_, audit) = w.admin.get("/admin/v1/ledger/audit").await;
    assert_eq!(audit["balance_mismatches"], json!([]));
}

/// 2.12: the journal keeps the device's own fields, and the admin API shows them.
async fn journal_device_fields(w: World) {
    let (mut d, _) = w.gw.device().await;
    let (u, a) = w.user(5_000, None).await;
    assert_eq!(
        xf(&mut d, &consumption(1, 1, &u, 300, &at("12:00:00"))).await,
        0
    );
    assert_eq!(xf(&mut d, &offline(2, &u, 1_000, 900)).await, 0);
    let txs = w.transactions(a).await;
    let online = txs
        .iter()
        .find(|t| t["idempotency_key"].as_str().unwrap().ends_with(":1"));
    assert_eq!(
        online.unwrap()["device_fields"],
        json!({"mode": "1", "payMoney": "300", "payTime": at("12:00:00"),
               "idenType": "reqCard", "imgPath": "2026-11-24/p1.jpg"})
    );
    let offline = txs
        .iter()
        .find(|t| t["idempotency_key"].as_str().unwrap().ends_with(":2"));
    let fields = &offline.unwrap()["device_fields"];
    assert_eq!(
        (
            &fields["payMoney"],
            &fields["offlineDz"],
            &fields["offlineMoney"]
        ),
        (&json!("1000"), &json!("90"), &json!("900"))
    );
}

/// 2.5: a cancel older than `mqtt.cancel_window_seconds` is refused.
async fn cancel_window(w: World) {
    let (mut d, _) = w.gw.device().await;
    let (u, a) = w.user(5_000, None).await;
    assert_eq!(
        xf(&mut d, &consumption(1, 1, &u, 300, &at("12:00:00"))).await,
        0
    );
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    assert_eq!(
        xf(&mut d, &consumption(31, 2, &u, 300, &at("12:00:02"))).await,
        7
    );
    assert_eq!(w.balances(a).await["cash"], 4_700);
}

fn short_cancel_window(c: &mut Config) {
    c.mqtt.cancel_window_seconds = 1;
}

macro_rules! on_both_backends {
    ($($name:ident => $scenario:ident $(with $tweak:expr)?;)*) => {
        mod sqlite {
            use super::*;
            $(
                #[actix_rt::test]
                async fn $name() {
                    let w = world(Backend::Sqlite, |_c: &mut Config| { $(($tweak)(_c);)? }).await;
                    $scenario(w.expect("SQLite always runs")).await;
                }
            )*
        }
        mod postgres {
            use super::*;
            $(
                #[actix_rt::test]
                async fn $name() {
                    let w = world(Backend::Postgres, |_c: &mut Config| { $(($tweak)(_c);)? }).await;
                    if let Some(w) = w {
                        $scenario(w).await;
                    }
                }
            )*
        }
    };
}

on_both_backends! {
    capabilities_gate_top_up_and_load => capabilities;
    limits_follow_the_server_business_day => business_day;
    reused_pos_num_is_a_conflict => pos_num_reuse;
    offline_records_are_never_lost => offline_exceptions;
    journal_keeps_device_fields => journal_device_fields;
    cancel_refused_after_its_window => cancel_window with short_cancel_window;
}
