//! An in-process gateway with MQTT on: the embedded broker on a free port, or an external
//! broker (Mosquitto), a topic prefix of its own, a merchant, and simulated devices.

use super::{config, Admin};
use posgate::config::Config;
use posgate::sim::mqtt_device::SimDevice;
use posgate_actors::testing;
use serde_json::{json, Value};
use std::time::Duration;

/// A running gateway with MQTT.
pub struct MqttGateway {
    pub running: posgate::app::Running,
    pub admin: Admin,
    pub merchant: i64,
    pub host: String,
    pub port: u16,
    pub prefix: String,
}

/// The machine's Mosquitto (`POSGATE_TEST_MQTT_ADDR`, default 127.0.0.1:1883), or `None`
/// after the skip/require policy.
pub fn mosquitto() -> Option<(String, u16)> {
    let addr = std::env::var("POSGATE_TEST_MQTT_ADDR").unwrap_or_else(|_| "127.0.0.1:1883".into());
    match std::net::TcpStream::connect_timeout(&addr.parse().ok()?, Duration::from_secs(2)) {
        Ok(_) => {
            let (host, port) = addr.rsplit_once(':')?;
            Some((host.to_string(), port.parse().ok()?))
        }
        Err(e) => testing::unavailable("Mosquitto", &e.to_string()),
    }
}

/// Which store a scenario runs on.
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    /// In-memory SQLite.
    Sqlite,
    /// A scratch PostgreSQL database (skipped, or failed under POSGATE_REQUIRE_SERVICES=1,
    /// when PostgreSQL is unreachable).
    Postgres,
}

impl MqttGateway {
    /// Starts a gateway with the embedded broker on `backend`, after `tweak`; `None` when
    /// the backend's service is unreachable (and not required).
    pub async fn on(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Option<MqttGateway> {
        let url = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(testing::scratch_pg_url()?),
        };
        let gw = MqttGateway::start(None, |c| {
            if let Some(url) = url {
                c.database.url = posgate::secret::Secret::new(url);
            }
            tweak(c);
        })
        .await;
        Some(gw)
    }

    /// Starts a gateway on `external` (or the embedded broker), after `tweak` adjusted its
    /// configuration, and creates a merchant.
    pub async fn start(
        external: Option<(String, u16)>,
        tweak: impl FnOnce(&mut Config),
    ) -> MqttGateway {
        let mut c = config(None);
        c.mqtt.enabled = true;
        c.mqtt.topic_prefix = format!("t{}", rand::random::<u32>());
        let (host, port) = match external {
            Some((host, port)) => {
                c.mqtt.embedded_broker = false;
                c.mqtt.host = host.clone();
                c.mqtt.port = port;
                (host, port)
            }
            None => {
                let port = std::net::TcpListener::bind("127.0.0.1:0")
                    .and_then(|l| l.local_addr())
                    .expect("free port")
                    .port();
                c.mqtt.embedded_listen = format!("127.0.0.1:{port}");
                ("127.0.0.1".to_string(), port)
            }
        };
        tweak(&mut c);
        let prefix = c.mqtt.topic_prefix.clone();
        let running = posgate::app::start(c).await.expect("start gateway");
        let admin = Admin::new(format!("http://{}", running.addr));
        let merchant = admin.merchant().await;
        MqttGateway {
            running,
            admin,
            merchant,
            host,
            port,
            prefix,
        }
    }

    /// Grants terminal `terminal` a capability (`top_up`, `load`) with its ceilings (fen,
    /// 0 = none).
    pub async fn grant(&self, terminal: i64, capability: &str, per_txn: i64, daily: i64) {
        let (status, body) = self
            .admin
            .put(
                &format!("/admin/v1/terminals/{terminal}/capabilities/{capability}"),
                json!({"per_transaction_max": per_txn, "daily_max": daily}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    /// Revokes a capability of terminal `terminal`.
    pub async fn revoke(&self, terminal: i64, capability: &str) {
        let (status, body) = self
            .admin
            .send(
                reqwest::Method::DELETE,
                &format!("/admin/v1/terminals/{terminal}/capabilities/{capability}"),
                None,
            )
            .await;
        assert_eq!(status, 204, "{body}");
    }

    /// Registers a new terminal and connects a simulated device for it; returns the
    /// terminal id too.
    pub async fn device(&self) -> (SimDevice, i64) {
        let id = format!("{}", 5_000_000 + rand::random::<u32>() % 1_000_000);
        let (status, t) = self
            .admin
            .post(
                "/admin/v1/terminals",
                json!({"family": "mqtt_pos", "code": id, "merchant_id": self.merchant}),
            )
            .await;
        assert_eq!(status, 201, "{t}");
        let device = SimDevice::connect(&self.host, self.port, &self.prefix, &id)
            .await
            .expect("device connects");
        (device, t["id"].as_i64().expect("terminal id"))
    }
}

/// Subscribes to `topic` on the broker; returns the client and its event loop once
/// subscribed.
pub async fn subscriber(
    host: &str,
    port: u16,
    topic: &str,
) -> (rumqttc::AsyncClient, rumqttc::EventLoop) {
    let mut options =
        rumqttc::MqttOptions::new(format!("ds50-test-{}", rand::random::<u32>()), host, port);
    options.set_keep_alive(Duration::from_secs(10));
    let (client, mut events) = rumqttc::AsyncClient::new(options, 16);
    client
        .subscribe(topic, rumqttc::QoS::AtLeastOnce)
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_)) =
                events.poll().await.expect("subscriber connection")
            {
                break;
            }
        }
    })
    .await
    .expect("subscribed");
    (client, events)
}

/// The next message the subscriber receives: its topic and its JSON payload.
pub async fn next_publish(events: &mut rumqttc::EventLoop) -> (String, Value) {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let rumqttc::Event::Incoming(rumqttc::Packet::Publish(p)) =
                events.poll().await.expect("subscriber connection")
            {
                return (p.topic.clone(), serde_json::from_slice(&p.payload).unwrap());
            }
        }
    })
    .await
    .expect("a broadcast arrives")
}
