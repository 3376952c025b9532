//! Replicas stay coherent (review 6.6, 6.7): two gateways on one PostgreSQL database, each
//! with its own embedded MQTT broker. A consumption machine talks to replica B while every
//! admin change goes through replica A; each change reaches B's actors through the change
//! feed (LISTEN/NOTIFY) as it commits: a device B saw unknown is served once registered, a
//! disable, a capability grant and a merchant suspension are obeyed by B, a change missed
//! while B's feed connection was down is picked up when it reconnects, and a photo received
//! by B is served by A. Skips (or fails under POSGATE_REQUIRE_SERVICES=1) without PostgreSQL.

mod common;

use common::mqtt::MqttGateway;
use posgate::secret::Secret;
use posgate::sim::mqtt_device::{consumption, SimDevice};
use posgate_actors::testing;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Longest wait for a change to show on the other replica (it normally takes milliseconds;
/// the figure is printed, not asserted).
const PATIENCE: Duration = Duration::from_secs(10);

struct Pair {
    a: MqttGateway,
    b: MqttGateway,
    device: SimDevice,
    user: String,
    pos_num: u64,
}

impl Pair {
    /// Sends consumptions (mode `mode`, 100 fen, new posNums) to B until one is answered
    /// with `xf_code`; prints how long the change took to reach B.
    async fn until(&mut self, what: &str, mode: i64, xf_code: i64) {
        let started = Instant::now();
        loop {
            self.pos_num += 1;
            let body = consumption(mode, self.pos_num, &self.user, 100);
            let reply = self.device.consume(&body).await.expect("answer");
            if reply["xfCode"] == xf_code {
                println!("{what}: obeyed by replica B after {:?}", started.elapsed());
                return;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "{what}: replica B still answers {reply}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn patch(&self, path: &str, body: Value) {
        let (status, reply) = self.a.admin.patch(path, body).await;
        assert_eq!(status, 200, "{reply}");
    }
}

#[actix_rt::test]
async fn admin_changes_reach_every_replica() {
    let Some(url) = testing::scratch_pg_url() else {
        return;
    };
    let url_b = url.clone();
    let a = MqttGateway::start(None, move |c| c.database.url = Secret::new(url)).await;
    let b = MqttGateway::start(None, move |c| c.database.url = Secret::new(url_b)).await;
    let user = format!("{}", 700_000 + rand::random::<u32>() % 100_000);
    let (status, account) = a
        .admin
        .post(
            "/admin/v1/accounts",
            json!({"merchant_id": a.merchant, "user_id": user,
                   "initial_balances": {"cash": 100_000}}),
        )
        .await;
    assert_eq!(status, 201, "{account}");
    let code = format!("{}", 8_000_000 + rand::random::<u32>() % 1_000_000);
    let device = SimDevice::connect(&b.host, b.port, &b.prefix, &code)
        .await
        .expect("device connects to replica B");
    let mut pair = Pair {
        a,
        b,
        device,
        user,
        pos_num: 0,
    };

    // Unknown on B, then registered through A: served by B.
    pair.until("unknown device", 1, 9).await;
    let (status, terminal) = pair
        .a
        .admin
        .post(
            "/admin/v1/terminals",
            json!({"family": "mqtt_pos", "code": code, "merchant_id": pair.a.merchant}),
        )
        .await;
    assert_eq!(status, 201, "{terminal}");
    let terminal = terminal["id"].as_i64().expect("terminal id");
    pair.until("registration", 1, 0).await;

    // Disabled and enabled through A.
    let path = format!("/admin/v1/terminals/{terminal}");
    pair.patch(&path, json!({"status": "disabled"})).await;
    pair.until("disable", 1, 9).await;
    pair.patch(&path, json!({"status": "active"})).await;
    pair.until("enable", 1, 0).await;

    // A capability granted and revoked through A.
    pair.until("top-up not granted", 2, 20).await;
    pair.a.grant(terminal, "top_up", 0, 0).await;
    pair.until("top-up granted", 2, 0).await;
    pair.a.revoke(terminal, "top_up").await;
    pair.until("top-up revoked", 2, 20).await;

    // The merchant suspended and reactivated through A: its terminal on B follows.
    let merchant = format!("/admin/v1/merchants/{}", pair.a.merchant);
    pair.patch(&merchant, json!({"status": "suspended"})).await;
    pair.until("merchant suspended", 1, 9).await;
    pair.patch(&merchant, json!({"status": "active"})).await;
    pair.until("merchant active", 1, 0).await;

    missed_while_the_feed_was_down(&mut pair, terminal).await;
    photos_served_by_every_replica(&mut pair, terminal).await;
}

/// The feed connections are killed and, before they can reconnect, the terminal is disabled
/// by plain SQL: nobody hears the notification, and B obeys the change once its feed is back
/// (a reconnection reloads every running actor).
async fn missed_while_the_feed_was_down(pair: &mut Pair, terminal: i64) {
    let sql = format!(
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity \
         WHERE application_name = '{}' AND datname = current_database(); \
         UPDATE terminals SET status = 'disabled' WHERE id = {terminal}",
        posgate_actors::store::change_feed::APPLICATION_NAME
    );
    pair.a
        .running
        .gateway
        .store
        .transaction(move |db| Box::pin(async move { db.batch(&sql).await }))
        .await
        .expect("kill the feed connections, then disable the terminal");
    pair.until("disable missed by the feed", 1, 9).await;
    let metrics = common::client()
        .get(format!("http://{}/metrics", pair.b.running.addr))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    assert!(
        metrics.contains("posgate_change_feed_reconnects_total"),
        "the feed reconnected"
    );
    pair.patch(
        &format!("/admin/v1/terminals/{terminal}"),
        json!({"status": "active"}),
    )
    .await;
    pair.until("enabled again", 1, 0).await;
}

/// A photo uploaded to B is downloaded through A.
async fn photos_served_by_every_replica(pair: &mut Pair, terminal: i64) {
    use base64::Engine;
    let bytes: Vec<u8> = (0..4_000).map(|i| (i % 251) as u8).collect();
    let upload = json!({"msgType": "frame_imgup", "imgPath": "2026-12-01/c1.jpg",
                        "photo": base64::engine::general_purpose::STANDARD.encode(&bytes)});
    pair.device
        .upload("frame_imgup", upload.to_string().as_bytes())
        .await
        .expect("upload");
    let started = Instant::now();
    let photo = loop {
        let (status, list) = pair
            .a
            .admin
            .get(&format!("/admin/v1/terminals/{terminal}/photos"))
            .await;
        assert_eq!(status, 200, "{list}");
        if let Some(photo) = list.as_array().and_then(|l| l.first()) {
            break photo.clone();
        }
        assert!(started.elapsed() < PATIENCE, "the photo was never stored");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let res = common::client()
        .get(format!(
            "{}/admin/v1/terminals/{terminal}/photos/{}/content",
            pair.a.admin.base, photo["id"]
        ))
        .bearer_auth(common::TOKEN)
        .send()
        .await
        .expect("photo content");
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.bytes().await.expect("bytes").to_vec(), bytes);
}
