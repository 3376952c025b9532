//! Two gateway replicas on one PostgreSQL database and one Mosquitto, subscribed with a
//! shared subscription (`$share/<group>/...`): each device message is handled by exactly one
//! replica (one answer per request), both replicas take part, and the ledger is exact.
//! Skips (or fails under POSGATE_REQUIRE_SERVICES=1) without Mosquitto or PostgreSQL.

mod common;

use common::mqtt::{mosquitto, MqttGateway};
use posgate::secret::Secret;
use posgate::sim::mqtt_device::consumption;
use posgate_actors::testing;
use serde_json::json;
use std::time::Duration;

#[actix_rt::test]
async fn shared_subscription_splits_devices_between_replicas() {
    let Some(broker) = mosquitto() else { return };
    let Some(url) = testing::scratch_pg_url() else {
        return;
    };
    let group = format!("posgate{}", rand::random::<u32>());
    let (url_a, group_a) = (url.clone(), group.clone());
    let a = MqttGateway::start(Some(broker.clone()), move |c| {
        c.database.url = Secret::new(url_a);
        c.mqtt.shared_group = group_a;
    })
    .await;
    let prefix = a.prefix.clone();
    let b = MqttGateway::start(Some(broker), move |c| {
        c.database.url = Secret::new(url);
        c.mqtt.shared_group = group;
        c.mqtt.topic_prefix = prefix;
    })
    .await;
    let user = format!("{}", 600_000 + rand::random::<u32>() % 100_000);
    let (status, account) = a
        .admin
        .post(
            "/admin/v1/accounts",
            json!({"merchant_id": a.merchant, "user_id": user, "initial_balances": {"cash": 100_000}}),
        )
        .await;
    assert_eq!(status, 201, "{account}");
    let mut devices = Vec::new();
    for _ in 0..4 {
        devices.push(a.device().await.0);
    }
    let mut charged = 0;
    for n in 1..=10u64 {
        for d in devices.iter_mut() {
            let answer = d.consume(&consumption(1, n, &user, 100)).await.unwrap();
            assert_eq!(answer["xfCode"], 0, "{answer}");
            charged += answer["dstMoney"].as_i64().unwrap();
        }
    }
    // Exactly one answer per request: nothing else arrives.
    for d in devices.iter_mut() {
        assert_eq!(d.unexpected_answer(Duration::from_millis(500)).await, None);
    }
    assert_eq!(charged, 40 * 100);
    let (_, balances) = a
        .admin
        .get(&format!("/admin/v1/accounts/{}/balances", account["id"]))
        .await;
    assert_eq!(balances["cash"], 100_000 - charged);
    // Both replicas served devices (their terminal actors are alive).
    let served_a = a.running.gateway.terminals.live();
    let served_b = b.running.gateway.terminals.live();
    assert!(
        served_a > 0 && served_b > 0,
        "a served {served_a}, b served {served_b}"
    );
}
