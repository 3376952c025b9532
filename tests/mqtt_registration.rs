//! Registering, disabling and enabling a consumption machine takes effect at once on the
//! replica that served the admin request (review 2.10): a device refused as unknown
//! (`xfCode` 9) before its terminal was registered is served as soon as it is, over real
//! MQTT, on SQLite and on PostgreSQL.

mod common;

use common::mqtt::MqttGateway;
use posgate::secret::Secret;
use posgate::sim::mqtt_device::{consumption, SimDevice};
use posgate_actors::testing;
use serde_json::json;

async fn registered_after_a_refusal(gw: MqttGateway) {
    let user = format!("{}", 400_000 + rand::random::<u32>() % 100_000);
    let (status, account) = gw
        .admin
        .post(
            "/admin/v1/accounts",
            json!({"merchant_id": gw.merchant, "user_id": user,
                   "initial_balances": {"cash": 5000}}),
        )
        .await;
    assert_eq!(status, 201, "{account}");
    let id = format!("{}", 6_000_000 + rand::random::<u32>() % 1_000_000);
    let mut device = SimDevice::connect(&gw.host, gw.port, &gw.prefix, &id)
        .await
        .expect("device connects");
    // Not registered yet: refused as an unknown terminal.
    let reply = device
        .consume(&consumption(1, 1, &user, 100))
        .await
        .expect("answer");
    assert_eq!(reply["xfCode"], 9, "{reply}");
    // Registered: served at once.
    let (status, terminal) = gw
        .admin
        .post(
            "/admin/v1/terminals",
            json!({"family": "mqtt_pos", "code": id, "merchant_id": gw.merchant}),
        )
        .await;
    assert_eq!(status, 201, "{terminal}");
    let reply = device
        .consume(&consumption(1, 2, &user, 100))
        .await
        .expect("answer");
    assert_eq!(
        (reply["xfCode"].as_i64(), reply["xjYe"].as_i64()),
        (Some(0), Some(4900)),
        "{reply}"
    );
    // Disabled, then enabled again: each takes effect at once.
    let path = format!("/admin/v1/terminals/{}", terminal["id"]);
    for (status, pos_num, code) in [("disabled", 3, 9), ("active", 4, 0)] {
        let (http, body) = gw.admin.patch(&path, json!({"status": status})).await;
        assert_eq!(http, 200, "{body}");
        let reply = device
            .consume(&consumption(1, pos_num, &user, 100))
            .await
            .expect("answer");
        assert_eq!(reply["xfCode"], code, "{status}: {reply}");
    }
}

#[actix_rt::test]
async fn registered_after_a_refusal_sqlite() {
    registered_after_a_refusal(MqttGateway::start(None, |_| {}).await).await;
}

#[actix_rt::test]
async fn registered_after_a_refusal_postgres() {
    if let Some(url) = testing::scratch_pg_url() {
        let gw = MqttGateway::start(None, move |c| c.database.url = Secret::new(url)).await;
        registered_after_a_refusal(gw).await;
    }
}
