//! Server-to-device commands over real MQTT (embedded broker and Mosquitto): acknowledged
//! commands, commands that time out, group rules and whitelists built from the store (sent as
//! the server means them: `dz`, person numbers), whitelists too large for MQTT pulled from
//! their `cmdDataUrl` over HTTP (again after a failed download, until acknowledged), device
//! ids that cannot broadcast, and merchant-wide commands reported device by device. Where the
//! store matters, on SQLite and on PostgreSQL.

mod common;

use common::mqtt::{mosquitto, MqttGateway};
use posgate::config::Config;
use posgate::secret::Secret;
use posgate::sim::mqtt_device::{consumption, SimDevice};
use posgate_actors::store::Store;
use posgate_actors::testing;
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
    // URL the device pulls over HTTP.
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
    // The device pulled the document from cmdDataUrl (the simulator hands it on merged with
    // the message), then acknowledged.
    let document = device
        .next_command(Duration::from_secs(10))
        .await
        .expect("whitelist message");
    let url = document["cmdDataUrl"]
        .as_str()
        .expect("cmdDataUrl")
        .to_string();
    assert_eq!(document["api"], "/pos/white_list");
    assert_eq!(document["isPart"], false);
    let people = document["list"].as_array().expect("the pulled document");
    assert_eq!(people.len(), 40);
    assert!(people
        .iter()
        .any(|p| p["i"] == 800_007 && p["n"] == "Person 7" && p["g"] == "staff"));
    wait_status(&gw, terminal, "acknowledged").await;
    // Acknowledged: the document is no longer served.
    let http = common::client();
    assert_eq!(http.get(&url).send().await.unwrap().status(), 404);
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
    for record in records.as_array().unwrap() {
        assert_eq!(record["outcome"], "sent", "{record}");
        assert_eq!(record["command"]["status"], "pending", "{record}");
    }
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

/// `small_inline`, on PostgreSQL when `pg` names a database, else on the SQLite file `file`
/// (or in memory).
fn small_inline_on(pg: Option<String>, file: Option<String>) -> impl FnOnce(&mut Config) {
    move |c| {
        small_inline(c);
        if let Some(url) = pg {
            c.database.url = Secret::new(url);
        } else if let Some(path) = file {
            c.database.sqlite_path = path;
        }
    }
}

async fn send(gw: &MqttGateway, terminal: i64, body: Value) -> (u16, Value) {
    gw.admin
        .post(&format!("/admin/v1/terminals/{terminal}/commands"), body)
        .await
}

/// Review 2.7: a group stored with `dz` 0 (full price on the server) reaches the device as
/// `dz` 100, never 0 (which a device offline may read as free), and the server charges the
/// full price: device and server mean the same.
async fn discount_zero_reaches_devices_as_full_price(gw: MqttGateway) {
    let (mut device, terminal) = gw.device().await;
    let (status, group) = gw
        .admin
        .post(
            "/admin/v1/groups",
            json!({"merchant_id": gw.merchant, "name": "dz0", "discount_percent": 0}),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    let user = format!("{}", 300_000 + rand::random::<u32>() % 100_000);
    let (status, account) = gw
        .admin
        .post(
            "/admin/v1/accounts",
            json!({"merchant_id": gw.merchant, "user_id": user, "group_id": group["id"],
                   "initial_balances": {"cash": 5000}}),
        )
        .await;
    assert_eq!(status, 201, "{account}");
    let (status, sent) = send(
        &gw,
        terminal,
        json!({"command": {"type": "group_rule", "group_id": group["id"]}}),
    )
    .await;
    assert_eq!(status, 201, "{sent}");
    let rule = device
        .next_command(Duration::from_secs(10))
        .await
        .expect("group rule");
    assert_eq!(
        (rule["g"].as_str(), rule["dz"].as_i64()),
        (Some("dz0"), Some(100)),
        "{rule}"
    );
    let reply = device
        .consume(&consumption(1, 1, &user, 1000))
        .await
        .expect("answer");
    assert_eq!(
        (reply["xfCode"].as_i64(), reply["dstMoney"].as_i64()),
        (Some(0), Some(1000)),
        "{reply}"
    );
}

/// Review 2.8: whitelist person numbers go out exactly as stored; user ids that an integer
/// `i` cannot carry (`0200004` would reach the device as 200004, `0123` would collide with
/// `123`) are refused, named, and nothing is sent.
async fn whitelist_ids_go_out_as_stored(gw: MqttGateway) {
    let (mut device, terminal) = gw.device().await;
    let mut accounts = std::collections::HashMap::new();
    for user in ["200004", "0200004", "123", "0123"] {
        let (status, a) = gw
            .admin
            .post(
                "/admin/v1/accounts",
                json!({"merchant_id": gw.merchant, "user_id": user, "name": format!("P{user}")}),
            )
            .await;
        assert_eq!(status, 201, "{a}");
        accounts.insert(user, a["id"].clone());
    }
    let whitelist = json!({"command": {"type": "white_list", "mode": "full",
                                       "base_url": "http://10.0.96.79:6102/"}});
    let (status, refused) = send(&gw, terminal, whitelist.clone()).await;
    assert_eq!(
        (status, refused["field"].as_str()),
        (400, Some("command")),
        "{refused}"
    );
    let message = refused["message"].as_str().unwrap();
    assert!(
        message.ends_with("not: 0200004, 0123"),
        "names the ids: {message}"
    );
    assert!(commands_of(&gw, terminal).await.is_empty());
    // Without them (frozen accounts are not listed), the rest goes out as stored.
    for user in ["0200004", "0123"] {
        let (status, a) = gw
            .admin
            .patch(
                &format!("/admin/v1/accounts/{}", accounts[user]),
                json!({"status": "frozen"}),
            )
            .await;
        assert_eq!(status, 200, "{a}");
    }
    let (status, sent) = send(&gw, terminal, whitelist).await;
    assert_eq!(status, 201, "{sent}");
    let list = device
        .next_command(Duration::from_secs(10))
        .await
        .expect("whitelist");
    let mut people: Vec<(i64, String)> = list["list"]
        .as_array()
        .expect("list")
        .iter()
        .map(|p| (p["i"].as_i64().unwrap(), p["n"].as_str().unwrap().into()))
        .collect();
    people.sort();
    assert_eq!(
        people,
        vec![(123, "P123".to_string()), (200_004, "P200004".to_string())]
    );
}

/// Review 2.9: an MQTT POS terminal code is a device id: never the broadcast word `all`,
/// nothing a topic splits or matches on, at most 32 characters.
async fn terminal_codes_are_device_ids(gw: MqttGateway) {
    let long = "7".repeat(33);
    for code in ["all", "a.b", "a:b", "a/b", "a+", "#", long.as_str()] {
        let (status, answer) = gw
            .admin
            .post(
                "/admin/v1/terminals",
                json!({"family": "mqtt_pos", "code": code, "merchant_id": gw.merchant}),
            )
            .await;
        assert_eq!(
            (status, answer["field"].as_str()),
            (400, Some("code")),
            "{code}: {answer}"
        );
    }
    let (status, answer) = gw
        .admin
        .post(
            "/admin/v1/terminals",
            json!({"family": "mqtt_pos", "code": "5394611_a-B", "merchant_id": gw.merchant}),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
}

/// Stores an active MQTT POS terminal with `code` directly, as a release that did not check
/// device ids could have.
async fn legacy_terminal(store: &Store, merchant: i64, code: &str) {
    let code = code.to_string();
    store
        .transaction(move |db| {
            Box::pin(async move {
                db.execute(
                    "INSERT INTO terminals (family, code, merchant_id, name, status, secrets, \
                     created_at_ms, updated_at_ms) VALUES ('mqtt_pos', $1, $2, '', 'active', \
                     '{}', 0, 0)",
                    &[code.as_str().into(), merchant.into()],
                )
                .await
            })
        })
        .await
        .expect("legacy terminal");
}

/// Review 2.9 and 2.11: a merchant-wide command goes on past a device it cannot send to and
/// reports each device; a code stored before device ids were checked (`all`) is never
/// published to, so another merchant's device (listening on the broadcast topic, as devices
/// do) gets nothing.
async fn fan_out_reports_each_device(gw: MqttGateway, store: Store) {
    let (mut first, _) = gw.device().await;
    legacy_terminal(&store, gw.merchant, "all").await;
    let (mut second, _) = gw.device().await;
    let other = gw.admin.merchant().await;
    let outsider_id = format!("{}", 7_000_000 + rand::random::<u32>() % 1_000_000);
    let (status, outsider) = gw
        .admin
        .post(
            "/admin/v1/terminals",
            json!({"family": "mqtt_pos", "code": outsider_id, "merchant_id": other}),
        )
        .await;
    assert_eq!(status, 201, "{outsider}");
    let mut outsider_device = SimDevice::connect(&gw.host, gw.port, &gw.prefix, &outsider_id)
        .await
        .expect("outsider connects");
    let (status, sends) = gw
        .admin
        .post(
            &format!("/admin/v1/merchants/{}/commands", gw.merchant),
            json!({"command": {"type": "sys_cfg", "place_name": "Canteen 4"}}),
        )
        .await;
    assert_eq!(status, 201, "{sends}");
    let sends = sends.as_array().expect("one report per device");
    assert_eq!(sends.len(), 3, "{sends:?}");
    let failed: Vec<&Value> = sends.iter().filter(|s| s["outcome"] == "failed").collect();
    assert_eq!(failed.len(), 1, "{sends:?}");
    assert_eq!(failed[0]["terminal_code"], "all");
    assert_eq!(failed[0]["error"]["error"], "conflict");
    assert!(failed[0]["command"].is_null());
    let sent = sends.iter().filter(|s| s["outcome"] == "sent").count();
    assert_eq!(sent, 2, "{sends:?}");
    for device in [&mut first, &mut second] {
        let cfg = device
            .next_command(Duration::from_secs(10))
            .await
            .expect("sys_cfg");
        assert_eq!(cfg["depName"], "Canteen 4");
    }
    // The OpenAPI description documents the per-device report.
    let doc: Value = common::client()
        .get(format!("{}/openapi.json", gw.admin.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let schema = &doc["components"]["schemas"]["DeviceSend"]["properties"];
    for field in [
        "terminal_id",
        "terminal_code",
        "outcome",
        "command",
        "error",
    ] {
        assert!(
            schema.get(field).is_some(),
            "DeviceSend lacks {field}: {schema}"
        );
    }
    // The outsider's first command is its own, not the other merchant's.
    let (status, _) = send(
        &gw,
        outsider["id"].as_i64().unwrap(),
        json!({"command": {"type": "open_door"}}),
    )
    .await;
    assert_eq!(status, 201);
    let own = outsider_device
        .next_command(Duration::from_secs(10))
        .await
        .expect("open_door");
    assert_eq!(own["api"], "/pos/cmd", "{own}");
}

/// Review 2.11: a device whose download of a `cmdDataUrl` document failed fetches it again;
/// a document is served a bounded number of times (5), and (see `built_from_the_store`) no
/// more once the device acknowledged its command.
async fn documents_survive_a_failed_download(gw: MqttGateway) {
    let (mut device, terminal) = gw.device().await;
    for i in 0..40 {
        let (status, a) = gw
            .admin
            .post(
                "/admin/v1/accounts",
                json!({"merchant_id": gw.merchant, "user_id": format!("{}", 810_000 + i),
                       "name": format!("Person {i}")}),
            )
            .await;
        assert_eq!(status, 201, "{a}");
    }
    let (status, sent) = send(
        &gw,
        terminal,
        json!({"command": {"type": "white_list", "mode": "partial",
                           "base_url": "http://10.0.96.79:6102/"}, "ack": false}),
    )
    .await;
    assert_eq!(
        (status, sent["delivery"].as_str()),
        (201, Some("url")),
        "{sent}"
    );
    // The device pulled it once.
    let pulled = device
        .next_command(Duration::from_secs(10))
        .await
        .expect("whitelist");
    assert_eq!(pulled["list"].as_array().map(Vec::len), Some(40));
    let url = pulled["cmdDataUrl"].as_str().expect("cmdDataUrl");
    // Its retries (as after a download cut short) get the same document...
    let http = common::client();
    for fetch in 2..=5 {
        let res = http.get(url).send().await.unwrap();
        assert_eq!(res.status(), 200, "fetch {fetch}");
        let document: Value = res.json().await.unwrap();
        assert_eq!(document["list"], pulled["list"], "fetch {fetch}");
    }
    // ...a bounded number of times.
    assert_eq!(http.get(url).send().await.unwrap().status(), 404);
}

/// A fresh SQLite database file and a store on it (next to the gateway's own connection).
fn sqlite_file() -> (String, Store) {
    let path = std::env::temp_dir()
        .join(format!("posgate-commands-{}.db", rand::random::<u64>()))
        .to_string_lossy()
        .into_owned();
    let store = Store::sqlite(&path).expect("sqlite file");
    (path, store)
}

/// Removes a test's SQLite database file and its journal files.
fn remove_sqlite_file(path: &str) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(format!("{path}{suffix}"));
    }
}

#[actix_rt::test]
async fn discount_zero_reaches_devices_as_full_price_embedded_broker() {
    discount_zero_reaches_devices_as_full_price(MqttGateway::start(None, small_inline).await).await;
}

#[actix_rt::test]
async fn discount_zero_reaches_devices_as_full_price_mosquitto() {
    if let Some(addr) = mosquitto() {
        discount_zero_reaches_devices_as_full_price(
            MqttGateway::start(Some(addr), small_inline).await,
        )
        .await;
    }
}

#[actix_rt::test]
async fn discount_zero_reaches_devices_as_full_price_postgres() {
    if let Some(url) = testing::scratch_pg_url() {
        discount_zero_reaches_devices_as_full_price(
            MqttGateway::start(None, small_inline_on(Some(url), None)).await,
        )
        .await;
    }
}

#[actix_rt::test]
async fn whitelist_ids_go_out_as_stored_embedded_broker() {
    whitelist_ids_go_out_as_stored(MqttGateway::start(None, small_inline).await).await;
}

#[actix_rt::test]
async fn whitelist_ids_go_out_as_stored_postgres() {
    if let Some(url) = testing::scratch_pg_url() {
        whitelist_ids_go_out_as_stored(
            MqttGateway::start(None, small_inline_on(Some(url), None)).await,
        )
        .await;
    }
}

#[actix_rt::test]
async fn terminal_codes_are_device_ids_embedded_broker() {
    terminal_codes_are_device_ids(MqttGateway::start(None, small_inline).await).await;
}

#[actix_rt::test]
async fn fan_out_reports_each_device_embedded_broker() {
    let (path, store) = sqlite_file();
    let gw = MqttGateway::start(None, small_inline_on(None, Some(path.clone()))).await;
    fan_out_reports_each_device(gw, store).await;
    remove_sqlite_file(&path);
}

#[actix_rt::test]
async fn fan_out_reports_each_device_mosquitto() {
    if let Some(addr) = mosquitto() {
        let (path, store) = sqlite_file();
        let gw = MqttGateway::start(Some(addr), small_inline_on(None, Some(path.clone()))).await;
        fan_out_reports_each_device(gw, store).await;
        remove_sqlite_file(&path);
    }
}

#[actix_rt::test]
async fn fan_out_reports_each_device_postgres() {
    if let Some(url) = testing::scratch_pg_url() {
        let store = Store::postgres(&url, &posgate_actors::store::PgOptions::with_pool_size(1))
            .await
            .expect("store");
        let gw = MqttGateway::start(None, small_inline_on(Some(url), None)).await;
        fan_out_reports_each_device(gw, store).await;
    }
}

#[actix_rt::test]
async fn documents_survive_a_failed_download_embedded_broker() {
    documents_survive_a_failed_download(MqttGateway::start(None, small_inline).await).await;
}

#[actix_rt::test]
async fn documents_survive_a_failed_download_postgres() {
    if let Some(url) = testing::scratch_pg_url() {
        documents_survive_a_failed_download(
            MqttGateway::start(None, small_inline_on(Some(url), None)).await,
        )
        .await;
    }
}
