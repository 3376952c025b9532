//! MQTT POS consumption machines end to end: a device (a real MQTT client) publishes on its
//! topics through a real broker, posgate answers on `{prefix}/pos/{id}/api`, and the admin
//! API shows what was posted. Every scenario runs through the embedded broker and through
//! Mosquitto (127.0.0.1:1883; skipped, or failed under POSGATE_REQUIRE_SERVICES=1, when
//! unreachable). Each run uses its own topic prefix, so runs never see each other's traffic.

mod common;

use common::mqtt::{mosquitto, MqttGateway};
use common::Admin;
use posgate::sim::mqtt_device::SimDevice;
use serde_json::{json, Value};

fn consumption(mode: i64, pos_num: i64, user: &str, pay_money: i64) -> Value {
    json!({
        "mode": mode, "posNum": pos_num, "userId": user, "payTime": "2026-11-24 12:00:00",
        "idenType": "reqCard", "payMoney": pay_money, "imgPath": "2026-11-24/a.jpg",
        "msgType": "api_ret"
    })
}

struct World {
    gw: MqttGateway,
    admin: Admin,
    merchant: i64,
    group: i64,
    host: String,
    port: u16,
    prefix: String,
}

async fn world(external: Option<(String, u16)>) -> World {
    let gw = MqttGateway::start(external, |_| {}).await;
    let (status, group) = gw
        .admin
        .post(
            "/admin/v1/groups",
            json!({"merchant_id": gw.merchant, "name": "staff", "single_limit": 2000, "discount_percent": 90,
                   "offline_amount_limit": 500}),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    World {
        admin: Admin::new(gw.admin.base.clone()),
        merchant: gw.merchant,
        group: group["id"].as_i64().unwrap(),
        host: gw.host.clone(),
        port: gw.port,
        prefix: gw.prefix.clone(),
        gw,
    }
}

impl World {
    async fn device(&self) -> SimDevice {
        self.gw.device().await.0
    }

    /// A device whose terminal was granted top-up and load (modes 2 and 12), no ceilings.
    async fn granted_device(&self) -> SimDevice {
        let (device, terminal) = self.gw.device().await;
        for capability in ["top_up", "load"] {
            self.gw.grant(terminal, capability, 0, 0).await;
        }
        device
    }

    async fn user(&self, cash: i64, subsidy: i64, copies: i64) -> (String, i64) {
        let user = format!("{}", 200_000 + rand::random::<u32>() % 100_000);
        let (status, a) = self
            .admin
            .post(
                "/admin/v1/accounts",
                json!({"merchant_id": self.merchant, "user_id": user, "group_id": self.group,
                       "initial_balances": {"cash": cash, "subsidy": subsidy, "copies": copies}}),
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

    async fn transactions(&self, account: i64) -> usize {
        let (_, page) = self
            .admin
            .get(&format!(
                "/admin/v1/transactions?account_id={account}&limit=500"
            ))
            .await;
        page["items"].as_array().unwrap().len()
    }
}

fn reply(xf: i64, bt: i64, xj: i64, dst: i64, cp: i64) -> Value {
    json!({"xfCode": xf, "btYe": bt, "xjYe": xj, "dstMoney": dst, "cpAfter": cp})
}

async fn every_mode(w: World) {
    let mut d = w.granted_device().await;
    let (u, a) = w.user(10_000, 300, 5).await;
    // Mode 1: 90% of 1000 = 900; subsidy (300) first, then cash (600).
    let first = d.consume(&consumption(1, 1, &u, 1000)).await.unwrap();
    assert_eq!(first, reply(0, 0, 9_400, 900, 5));
    // The device retries the same posNum: identical answer, nothing posted twice.
    assert_eq!(
        d.consume(&consumption(1, 1, &u, 1000)).await.unwrap(),
        first
    );
    // Same posNum, different content: duplicate mismatch.
    assert_eq!(
        d.consume(&consumption(1, 1, &u, 999)).await.unwrap()["xfCode"],
        14
    );
    // Over the single limit (2000 after discount).
    assert_eq!(
        d.consume(&consumption(1, 2, &u, 3000)).await.unwrap()["xfCode"],
        3
    );
    // Mode 31 (its own posNum) cancels the device's last consumption, posNum 1, when
    // payMoney is what it charged: 900 back (to cash and subsidy). A retry replays; a
    // second cancel finds the last consumption already cancelled.
    assert_eq!(
        d.consume(&consumption(31, 20, &u, 800)).await.unwrap()["xfCode"],
        6,
        "payMoney must be the amount charged"
    );
    let cancel = d.consume(&consumption(31, 21, &u, 900)).await.unwrap();
    assert_eq!(cancel, reply(0, 300, 10_000, 900, 5));
    assert_eq!(
        d.consume(&consumption(31, 21, &u, 900)).await.unwrap(),
        cancel
    );
    assert_eq!(
        d.consume(&consumption(31, 22, &u, 900)).await.unwrap()["xfCode"],
        6
    );
    // Charged again, so the scenario below starts from 9,400 cash.
    assert_eq!(
        d.consume(&consumption(1, 23, &u, 1000)).await.unwrap(),
        reply(0, 0, 9_400, 900, 5)
    );
    // Mode 41: copies (payCopies default 1, here 2). dstMoney is money received: none.
    let mut copies = consumption(41, 3, &u, 0);
    copies["payCopies"] = json!(2);
    assert_eq!(d.consume(&copies).await.unwrap(), reply(0, 0, 9_400, 0, 3));
    // Mode 31 on a copies consumption: not cancellable.
    assert_eq!(
        d.consume(&consumption(31, 3, &u, 0)).await.unwrap()["xfCode"],
        7
    );
    // Mode 10: reversal of posNum 3 gives the copies back.
    assert_eq!(
        d.consume(&consumption(10, 3, &u, 0)).await.unwrap(),
        reply(0, 0, 9_400, 2, 5)
    );
    // Reversal before its original: success now, the late original is refused.
    assert_eq!(
        d.consume(&consumption(10, 8, &u, 0)).await.unwrap()["xfCode"],
        0
    );
    assert_eq!(
        d.consume(&consumption(1, 8, &u, 100)).await.unwrap()["xfCode"],
        6
    );
    // Mode 12: 圈存, cash to purse.
    assert_eq!(
        d.consume(&consumption(12, 9, &u, 1000)).await.unwrap()["xjYe"],
        8_400
    );
    // Mode 2: online recharge.
    assert_eq!(
        d.consume(&consumption(2, 10, &u, 500)).await.unwrap()["xjYe"],
        8_900
    );
    // A recharge cannot be cancelled.
    assert_eq!(
        d.consume(&consumption(31, 24, &u, 500)).await.unwrap()["xfCode"],
        7
    );
    // Mode 51: offline record, device-discounted amount, drawing the purse (1,000) first;
    // may go into debt; over zxe flagged.
    let mut offline = consumption(51, 11, &u, 20_000);
    offline["offlineDz"] = json!(100);
    offline["offlineMoney"] = json!(12_000);
    assert_eq!(
        d.consume(&offline).await.unwrap(),
        reply(0, 0, -2_100, 12_000, 5)
    );
    // Mode 52: offline copies.
    let mut offline_copies = consumption(52, 12, &u, 0);
    offline_copies["payCopies"] = json!(6);
    assert_eq!(d.consume(&offline_copies).await.unwrap()["cpAfter"], -1);
    // Online debit while in debt: insufficient.
    assert_eq!(
        d.consume(&consumption(1, 13, &u, 10)).await.unwrap()["xfCode"],
        2
    );
    // Balance query.
    let balance = d.balance(&u).await.unwrap();
    assert_eq!(
        balance,
        json!({"code": 0, "xfCode": 0, "btYe": 0, "xjYe": -2_100, "cpAfter": -1})
    );
    assert_eq!(w.balances(a).await["purse"], 0);
    // Unknown user.
    assert_eq!(
        d.consume(&consumption(1, 14, "999999999", 10))
            .await
            .unwrap()["xfCode"],
        1
    );
    let unknown = d.balance("999999999").await.unwrap();
    assert_eq!(
        (unknown["code"].as_i64(), unknown["xfCode"].as_i64()),
        (Some(1), Some(1))
    );
    // The offline record is flagged over the offline amount limit.
    let (_, page) = w
        .admin
        .get(&format!("/admin/v1/transactions?account_id={a}&limit=500"))
        .await;
    let record = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["idempotency_key"] == format!("mqtt:{}:11", d.id()))
        .unwrap()
        .clone();
    assert!(record["flags"]
        .as_array()
        .unwrap()
        .contains(&json!("offline_amount_exceeded")));
    assert!(record["flags"]
        .as_array()
        .unwrap()
        .contains(&json!("overdraft")));
    let (_, audit) = w.admin.get("/admin/v1/ledger/audit").await;
    assert_eq!(audit["balance_mismatches"], json!([]));
}

async fn unknown_and_disabled_devices(w: World) {
    // A device nobody registered gets xfCode 9, and the gateway keeps serving.
    let mut stranger = SimDevice::connect(&w.host, w.port, &w.prefix, "4040404")
        .await
        .expect("device connects");
    assert_eq!(
        stranger
            .consume(&consumption(1, 1, "200001", 100))
            .await
            .unwrap()["xfCode"],
        9
    );
    let mut d = w.device().await;
    let (u, _) = w.user(1_000, 0, 0).await;
    assert_eq!(
        d.consume(&consumption(1, 1, &u, 100)).await.unwrap()["xfCode"],
        0
    );
    let (_, t) = w.admin.get("/admin/v1/transactions?limit=1").await;
    assert!(t["items"][0]["terminal"]
        .as_str()
        .unwrap()
        .starts_with("mqtt:"));
    // Disable the terminal: refused with 9 at once (the actor reloads).
    let id = d.id().to_string();
    let terminal = find_terminal(&w, &id).await;
    w.admin
        .patch(
            &format!("/admin/v1/terminals/{terminal}"),
            json!({"status": "disabled"}),
        )
        .await;
    assert_eq!(
        d.consume(&consumption(1, 2, &u, 100)).await.unwrap()["xfCode"],
        9
    );
    // Last seen is recorded.
    let (_, t) = w
        .admin
        .get(&format!("/admin/v1/terminals/{terminal}"))
        .await;
    assert!(t["last_seen_at_ms"].as_i64().is_some(), "{t}");
    assert_eq!(t["online"], true, "{t}");
    // A device that never sent anything is offline.
    let (_, quiet) = w
        .admin
        .post(
            "/admin/v1/terminals",
            json!({"family": "mqtt_pos", "code": "9999001", "merchant_id": w.merchant}),
        )
        .await;
    let (_, quiet) = w
        .admin
        .get(&format!("/admin/v1/terminals/{}", quiet["id"]))
        .await;
    assert_eq!(quiet["online"], false, "{quiet}");
}

async fn find_terminal(w: &World, code: &str) -> i64 {
    // Terminals are few in a test: scan ids from the newest.
    for id in (1..200).rev() {
        let (status, t) = w.admin.get(&format!("/admin/v1/terminals/{id}")).await;
        if status == 200 && t["code"] == code {
            return id;
        }
    }
    panic!("terminal {code} not found");
}

/// Malformed, mistyped, missing, negative, overflowing, unknown: each answered with its
/// xfCode, nothing posted.
async fn bad_input_table(w: World) {
    let mut d = w.device().await;
    let (u, a) = w.user(5_000, 0, 3).await;
    let ok = consumption(1, 1, &u, 100);
    let with = |key: &str, value: Value| {
        let mut v = ok.clone();
        v[key] = value;
        v.to_string().into_bytes()
    };
    let without = |key: &str| {
        let mut v = ok.clone();
        v.as_object_mut().unwrap().remove(key);
        v.to_string().into_bytes()
    };
    let cases: Vec<(&str, Vec<u8>, i64)> = vec![
        ("not json", b"{not json".to_vec(), 11),
        ("empty", b"".to_vec(), 11),
        ("array", b"[1,2]".to_vec(), 11),
        ("string", b"\"mode\"".to_vec(), 11),
        ("unknown mode", with("mode", json!(99)), 12),
        ("mode as text", with("mode", json!("one")), 11),
        ("negative mode", with("mode", json!(-1)), 12),
        ("missing posNum", without("posNum"), 11),
        ("posNum text", with("posNum", json!("abc")), 11),
        ("negative posNum", with("posNum", json!(-5)), 11),
        ("missing payMoney", without("payMoney"), 11),
        ("negative payMoney", with("payMoney", json!(-100)), 13),
        ("fractional payMoney", with("payMoney", json!(1.5)), 11),
        ("overflowing payMoney", with("payMoney", json!(99_999_999_999_999_999i64)), 13),
        ("huge payMoney", with("payMoney", json!("1e30")), 11),
        ("missing userId", without("userId"), 11),
        ("userId object", with("userId", json!({"a": 1})), 11),
        ("empty userId", with("userId", json!("")), 11),
        ("missing payTime", without("payTime"), 11),
        ("bad payTime", with("payTime", json!("yesterday")), 11),
        ("impossible date", with("payTime", json!("2026-02-30 12:00:00")), 11),
        ("missing idenType", without("idenType"), 11),
        ("offline without offlineMoney", with("mode", json!(51)), 11),
        ("copies zero", { let mut v = ok.clone(); v["mode"] = json!(41); v["payCopies"] = json!(0); v.to_string().into_bytes() }, 11),
        ("copies negative", { let mut v = ok.clone(); v["mode"] = json!(41); v["payCopies"] = json!(-2); v.to_string().into_bytes() }, 11),
        ("offlineDz 150", { let mut v = ok.clone(); v["mode"] = json!(51); v["offlineMoney"] = json!(10); v["offlineDz"] = json!(150); v.to_string().into_bytes() }, 11),
        ("path traversal imgPath", with("imgPath", json!("../../etc/passwd")), 0),
        ("unusable imgPath", { let mut v = ok.clone(); v["posNum"] = json!(2); v["imgPath"] = json!(".."); v.to_string().into_bytes() }, 0),
        ("duplicate keys", br#"{"mode":1,"mode":2,"posNum":1,"userId":"1","payTime":"2026-11-24 12:00:00","idenType":"x","payMoney":1}"#.to_vec(), 11),
        ("deep nesting", format!("{}{}", "[".repeat(200), "]".repeat(200)).into_bytes(), 11),
        ("binary", vec![0xff, 0xfe, 0x00, 0x01], 11),
    ];
    assert!(cases.len() >= 25);
    let mut wrong = Vec::new();
    for (name, payload, expected) in cases {
        let answer = d.request("api_ret", &payload).await.unwrap();
        if answer["xfCode"] != expected || (expected != 0 && answer["dstMoney"] != 0) {
            wrong.push(format!("{name}: expected xfCode {expected}, got {answer}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    // Only the two imgPath cases (valid consumptions; the photo link is dropped) posted.
    let b = w.balances(a).await;
    assert_eq!(b["cash"], 5_000 - 2 * 90);
    assert_eq!(
        w.transactions(a).await,
        2 + 2,
        "two openings and two consumptions"
    );
}

#[actix_rt::test]
async fn every_mode_embedded_broker() {
    every_mode(world(None).await).await;
}

#[actix_rt::test]
async fn every_mode_mosquitto() {
    if let Some(addr) = mosquitto() {
        every_mode(world(Some(addr)).await).await;
    }
}

#[actix_rt::test]
async fn unknown_and_disabled_devices_embedded_broker() {
    unknown_and_disabled_devices(world(None).await).await;
}

#[actix_rt::test]
async fn unknown_and_disabled_devices_mosquitto() {
    if let Some(addr) = mosquitto() {
        unknown_and_disabled_devices(world(Some(addr)).await).await;
    }
}

#[actix_rt::test]
async fn bad_input_embedded_broker() {
    bad_input_table(world(None).await).await;
}

#[actix_rt::test]
async fn bad_input_mosquitto() {
    if let Some(addr) = mosquitto() {
        bad_input_table(world(Some(addr)).await).await;
    }
}
/// Many devices at once, each announcing itself online and then consuming without pause:
/// every consumption is answered once, in any order, and the balances are exact. (The
/// gateway must acknowledge the publishes in arrival order even though it answers them in
/// any order; rumqttd drops a client that does not.)
async fn many_devices_at_once(w: World) {
    const DEVICES: usize = 12;
    const EACH: i64 = 15;
    let (u, a) = w.user(1_000_000, 0, 0).await;
    let mut devices = Vec::new();
    for _ in 0..DEVICES {
        let d = w.device().await;
        d.online().await.unwrap();
        devices.push(d);
    }
    let runs = devices.into_iter().map(|mut d| {
        let u = u.clone();
        async move {
            let mut charged = 0;
            for n in 1..=EACH {
                let answer = d.consume(&consumption(1, n, &u, 100)).await.unwrap();
                assert_eq!(answer["xfCode"], 0, "{answer}");
                charged += answer["dstMoney"].as_i64().unwrap();
            }
            charged
        }
    });
    let charged: i64 = futures::future::join_all(runs).await.into_iter().sum();
    // 90% of 100 each, DEVICES x EACH consumptions.
    assert_eq!(charged, 90 * DEVICES as i64 * EACH);
    assert_eq!(w.balances(a).await["cash"], 1_000_000 - charged);
}

#[actix_rt::test]
async fn many_devices_at_once_embedded_broker() {
    many_devices_at_once(world(None).await).await;
}

#[actix_rt::test]
async fn many_devices_at_once_mosquitto() {
    if let Some(addr) = mosquitto() {
        many_devices_at_once(world(Some(addr)).await).await;
    }
}
