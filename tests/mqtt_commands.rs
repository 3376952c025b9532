//! Server-to-device commands over real MQTT (embedded broker and Mosquitto): acknowledged
//! commands, commands that time out, group rules and whitelists built from the store, and
//! whitelists too large for MQTT pulled once from their `cmdDataUrl` over HTTP.

mod common;

use common::mqtt::{mosquitto, MqttGateway};
use serde_json::{json, Value};
use std::time::Duration;

async fn commands_of(gw: &MqttGateway, terminal: i64) -> Vec<Value> {
    let (status, list) = gw
        .admin
        .get(&format!("/admin/v1/terminals/{terminal}/commands"))
        .await;
    assert_eq!(status, 200, "{list}");
    list.as_array().unwrap().clone()
}

/// Polls the command list until the newest command has `status` (at most 10 s).
async fn wait_status(gw: &MqttGateway, terminal: i64, status: &str) -> Value {
    for _ in 0..100 {
        let list = commands_of(gw, terminal).await;
        if list.first().is_some_and(|c| c["status"] == status) {
            return list[0].clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "command did not become {status}: {:?}",
        commands_of(gw, terminal).await
    );
}

async fn acknowledged_and_timed_out(gw: MqttGateway) {
    let (mut device, terminal) = gw.device().await;
    // openDoor with an acknowledgement: pending, delivered, acknowledged by the device.
    let (status, sent) = gw
        .admin
        .post(
            &format!("/admin/v1/terminals/{terminal}/commands"),
            json!({"command": {"type": "open_door", "keep_ms": 1500}}),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["status"], "pending");
    assert_eq!(sent["delivery"], "inline");
    let received = device
        .next_command(Duration::from_secs(10))
        .await
        .expect("command delivered");
    assert_eq!(received["api"], "/pos/cmd");
    assert_eq!(received["command"], "openDoor");
    assert_eq!(received["keepMs"], 1500);
    assert_eq!(received["sAckId"], sent["ack_id"]);
    let acked = wait_status(&gw, terminal, "acknowledged").await;
    assert_eq!(acked["result_code"], 0);
    // Without an acknowledgement: "sent".
    let (status, sent) = gw
        .admin
        .post(
            &format!("/admin/v1/terminals/{terminal}/commands"),
            json!({"command": {"type": "set_time"}, "ack": false}),
        )
        .await;
    assert_eq!((status, sent["status"].as_str()), (201, Some("sent")));
    let received = device
        .next_command(Duration::from_secs(10))
        .await
        .expect("set_time delivered");
    assert_eq!(received["api"], "/config/set_time");
    assert!(received.get("sAckId").is_none());
    // Meal menu and media, validated and delivered as the spec writes them.
    let (status, _) = gw
        .admin
        .post(
            &format!("/admin/v1/terminals/{terminal}/commands"),
            json!({"command": {"type": "meal_menu", "group": 1, "items": [
                {"id": "myfood1", "key": "1", "name": "Dish 1", "price": 521},
                {"id": "myfood2", "key": "22", "name": "Dish 2", "price": 125}]}}),
        )
        .await;
    assert_eq!(status, 201);
    let menu = device
        .next_command(Duration::from_secs(10))
        .await
        .expect("meal menu");
    assert_eq!(
        (menu["api"].as_str(), menu["group"].as_i64()),
        (Some("/pos/meal_menu"), Some(1))
    );
    assert_eq!(
        menu["list"][1],
        json!({"id": "myfood2", "key": "22", "mc": "Dish 2", "money": 125})
    );
    let (status, _) = gw
        .admin
        .post(
            &format!("/admin/v1/terminals/{terminal}/commands"),
            json!({"command": {"type": "media", "base_url": "http://10.0.96.79:6102/", "is_part": false,
                   "items": [{"order": 1, "url": "media/pic_1.jpg"}, {"order": 2, "change": "delete", "url": "media/pic_2.jpg"}]}}),
        )
        .await;
    assert_eq!(status, 201);
    let media = device
        .next_command(Duration::from_secs(10))
        .await
        .expect("media");
    assert_eq!(
        (media["api"].as_str(), media["isPart"].as_bool()),
        (Some("/pos/media"), Some(false))
    );
    assert_eq!(media["list"].as_array().map(Vec::len), Some(2));
    // An invalid menu (group 7) is refused before anything is sent.
    let (status, answer) = gw
        .admin
        .post(
            &format!("/admin/v1/terminals/{terminal}/commands"),
            json!({"command": {"type": "meal_menu", "group": 7, "items": []}}),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    // A device that is not connected never answers: the command times out.
    let (_silent, quiet) = gw.device().await;
    drop(_silent);
    let (status, _) = gw
        .admin
        .post(
            &format!("/admin/v1/terminals/{quiet}/commands"),
            json!({"command": {"type": "sys_cfg", "place_name": "Canteen 2"}, "timeout_seconds": 1}),
        )
        .await;
    assert_eq!(status, 201);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let list = commands_of(&gw, quiet).await;
    // The silent device may still be subscribed for a moment and ack; either way the
    // command's status is final and known.
    assert!(
        matches!(
            list[0]["status"].as_str(),
            Some("timed_out") | Some("acknowledged")
        ),
        "{list:?}"
    );
}

async fn built_from_the_store(gw: MqttGateway) {
    let (mut device, terminal) = gw.device().await;
    let (_, group) = gw
        .admin
        .post(
            "/admin/v1/groups",
            json!({"merchant_id": gw.merchant, "name": "staff", "single_limit": 1500, "daily_count_limit": 3, "discount_percent": 85}),
        )
        .await;
    let (status, _) = gw
        .admin
        .post(
            &format!("/admin/v1/terminals/{terminal}/commands"),
            json!({"command": {"type": "group_rule", "group_id": group["id"]}}),
        )
        .await;
    assert_eq!(status, 201);
    let rule = device
        .next_command(Duration::from_secs(10))
        .await
        .expect("group rule");
    assert_eq!(
        (
            rule["api"].as_str(),
            rule["g"].as_str(),
            rule["dcxe"].as_i64(),
            rule["rxc"].as_i64(),
            rule["dz"].as_i64()
        ),
        (
            Some("/pos/group_rule"),
            Some("staff"),
            Some(1500),
            Some(3),
            Some(85)
        )
    );
    // A whitelist too large for inline delivery (inline max 1024 bytes here) goes as a
    // single-use URL the device pulls over HTTP.
    for i in 0..40 {
        let (status, _) = gw
            .admin
            .post(
                "/admin/v1/accounts",
                json!({"merchant_id": gw.merchant, "user_id": format!("{}", 800_000 + i), "name": format!("Person {i}"), "group_id": group["id"]}),
            )
            .await;
        assert_eq!(status, 201);
    }
    let (status, sent) = gw
        .admin
        .post(
            &format!("/admin/v1/terminals/{terminal}/commands"),
            json!({"command": {"type": "white_list", "mode": "full", "base_url": "http://10.0.96.79:6102/"}}),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["delivery"], "url");
    let message = device
        .next_command(Duration::from_secs(10))
        .await
        .expect("whitelist message");
    let url = message["cmdDataUrl"]
        .as_str()
        .expect("cmdDataUrl")
        .to_string();
    let http = common::client();
    let document: Value = http.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(document["api"], "/pos/white_list");
    assert_eq!(document["isPart"], false);
    let people = document["list"].as_array().unwrap();
    assert_eq!(people.len(), 40);
    assert!(people
        .iter()
        .any(|p| p["i"] == 800_007 && p["n"] == "Person 7" && p["g"] == "staff"));
    // Single use.
    assert_eq!(http.get(&url).send().await.unwrap().status(), 404);
    // The device acknowledged the whitelist too.
    wait_status(&gw, terminal, "acknowledged").await;
}

/// A merchant-wide command goes to each of its active devices, one message each.
async fn merchant_fan_out(gw: MqttGateway) {
    let (mut first, _) = gw.device().await;
    let (mut second, _) = gw.device().await;
    let (_third, disabled) = gw.device().await;
    gw.admin
        .patch(
            &format!("/admin/v1/terminals/{disabled}"),
            json!({"status": "disabled"}),
        )
        .await;
    let (status, records) = gw
        .admin
        .post(
            &format!("/admin/v1/merchants/{}/commands", gw.merchant),
            json!({"command": {"type": "sys_cfg", "place_name": "Canteen 3"}}),
        )
        .await;
    assert_eq!(status, 201, "{records}");
    assert_eq!(
        records.as_array().map(Vec::len),
        Some(2),
        "disabled devices are skipped"
    );
    for device in [&mut first, &mut second] {
        let cfg = device
            .next_command(Duration::from_secs(10))
            .await
            .expect("sys_cfg");
        assert_eq!(
            (cfg["api"].as_str(), cfg["depName"].as_str()),
            (Some("/pos/sys_cfg"), Some("Canteen 3"))
        );
    }
    let (status, _) = gw
        .admin
        .post(
            "/admin/v1/merchants/987654/commands",
            json!({"command": {"type": "open_door"}}),
        )
        .await;
    assert_eq!(status, 404);
}

async fn refusals(gw: MqttGateway) {
    let (_device, terminal) = gw.device().await;
    let (status, jpos) = gw
        .admin
        .post(
            "/admin/v1/terminals",
            json!({"family": "jpos", "code": "S1:T1", "merchant_id": gw.merchant}),
        )
        .await;
    assert_eq!(status, 201);
    let cases = [
        (
            format!("/admin/v1/terminals/{}/commands", jpos["id"]),
            json!({"command": {"type": "open_door"}}),
            409,
        ),
        (
            "/admin/v1/terminals/987654/commands".to_string(),
            json!({"command": {"type": "open_door"}}),
            404,
        ),
        (
            format!("/admin/v1/terminals/{terminal}/commands"),
            json!({"command": {"type": "launch_rocket"}}),
            400,
        ),
        (
            format!("/admin/v1/terminals/{terminal}/commands"),
            json!({"command": {"type": "open_door", "keep_ms": 999999}}),
            400,
        ),
        (
            format!("/admin/v1/terminals/{terminal}/commands"),
            json!({"command": {"type": "set_time", "time": "noon"}}),
            400,
        ),
        (
            format!("/admin/v1/terminals/{terminal}/commands"),
            json!({"command": {"type": "group_rule", "group_id": 987654}}),
            400,
        ),
        (
            format!("/admin/v1/terminals/{terminal}/commands"),
            json!({"command": {"type": "white_list", "mode": "full", "base_url": "ftp://x"}}),
            400,
        ),
        (
            format!("/admin/v1/terminals/{terminal}/commands"),
            json!({"command": {"type": "open_door"}, "timeout_seconds": 0}),
            400,
        ),
    ];
    for (path, body, expected) in cases {
        let (status, answer) = gw.admin.post(&path, body.clone()).await;
        assert_eq!(status, expected, "{path} {body} -> {answer}");
    }
    assert!(
        commands_of(&gw, terminal).await.is_empty(),
        "refused commands are not recorded"
    );
    // The document route refuses anything that is not a live token.
    let http = common::client();
    let base = gw.admin.base.clone();
    for token in ["nope", &"0".repeat(64), "../../etc/passwd"] {
        let res = http
            .get(format!("{base}/mqtt/v1/commands/{token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{token}");
    }
}

/// Inline commands up to 1 KiB only, and the HTTP server on a known port so that
/// `cmdDataUrl` points at it.
fn small_inline(c: &mut posgate::config::Config) {
    c.mqtt.command_inline_bytes_max = 1024;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    c.http.listen = format!("127.0.0.1:{port}");
    c.mqtt.public_base_url = format!("http://127.0.0.1:{port}");
}

#[actix_rt::test]
async fn acknowledged_and_timed_out_embedded_broker() {
    acknowledged_and_timed_out(MqttGateway::start(None, small_inline).await).await;
}

#[actix_rt::test]
async fn acknowledged_and_timed_out_mosquitto() {
    if let Some(addr) = mosquitto() {
        acknowledged_and_timed_out(MqttGateway::start(Some(addr), small_inline).await).await;
    }
}

#[actix_rt::test]
async fn built_from_the_store_embedded_broker() {
    built_from_the_store(MqttGateway::start(None, small_inline).await).await;
}

#[actix_rt::test]
async fn built_from_the_store_mosquitto() {
    if let Some(addr) = mosquitto() {
        built_from_the_store(MqttGateway::start(Some(addr), small_inline).await).await;
    }
}

#[actix_rt::test]
async fn merchant_fan_out_embedded_broker() {
    merchant_fan_out(MqttGateway::start(None, small_inline).await).await;
}

#[actix_rt::test]
async fn merchant_fan_out_mosquitto() {
    if let Some(addr) = mosquitto() {
        merchant_fan_out(MqttGateway::start(Some(addr), small_inline).await).await;
    }
}

#[actix_rt::test]
async fn refusals_embedded_broker() {
    refusals(MqttGateway::start(None, small_inline).await).await;
}
