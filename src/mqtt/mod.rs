//! The MQTT side of posgate: the consumption machines' transport.
//!
//! posgate is an MQTT client of a broker. In embedded mode it starts a broker of its own
//! (rumqttd, [`broker`]) and connects to it like to any other; otherwise it connects to the
//! configured broker (Mosquitto, EMQX...). [`adapter`] owns the client's event loop:
//! device messages are decoded by `posgate_protocols::mqtt_pos`, routed to the device's
//! terminal actor, and the answer is published on `{prefix}/pos/{deviceId}/api`.

mod acks;
pub mod adapter;
pub mod broker;

use crate::secret::Secret;
use serde::{Deserialize, Serialize};

/// MQTT settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MqttConfig {
    /// Connect to a broker and serve the consumption machines.
    pub enabled: bool,
    /// Start an embedded broker on `embedded_listen` and use it (ignores host/port).
    pub embedded_broker: bool,
    /// Address of the embedded broker.
    pub embedded_listen: String,
    /// External broker host.
    pub host: String,
    /// External broker port.
    pub port: u16,
    /// Broker user name (empty: none).
    pub username: String,
    /// Broker password.
    pub password: Secret<String>,
    /// Client id of a persistent session (the broker queues QoS 1 messages while the
    /// gateway is away and redelivers what it did not acknowledge), for a single replica
    /// only: refused with `shared_group`. Empty (the default, and what replicas use) =
    /// `posgate-<random>` chosen at every start, with a clean session that the broker drops
    /// when the process disconnects or dies, so its share of device traffic goes to the
    /// other members of the group at once.
    pub client_id: String,
    /// Topic prefix of the devices (the spec's "Topic前缀").
    pub topic_prefix: String,
    /// Shared-subscription group (`$share/<group>/...`) so replicas split the devices'
    /// traffic; empty = plain subscriptions.
    pub shared_group: String,
    /// MQTT keep-alive, seconds.
    pub keep_alive_seconds: u64,
    /// Longest wait between reconnection attempts, seconds: the wait is drawn at random
    /// (full jitter) below a ceiling that doubles from 1 s up to this, and is reset by a
    /// successful connection.
    pub reconnect_backoff_max_seconds: u64,
    /// Money assets a consumption draws, in order (`subsidy` = btYe, `cash` = xjYe).
    pub debit_order: Vec<String>,
    /// Directory of the photos stored before photos moved into the database (read for those
    /// only; new photos are stored in the database); empty = none.
    pub photo_dir: String,
    /// Largest command published inline, bytes; larger ones go as `cmdDataUrl`.
    pub command_inline_bytes_max: usize,
    /// How long a device has to acknowledge a command, seconds (default of the admin API).
    pub command_ack_timeout_seconds: u64,
    /// How long a `cmdDataUrl` stays valid, seconds (it is also served at most 5 times, and
    /// not after the device acknowledged its command).
    pub command_url_ttl_seconds: u64,
    /// Base URL devices reach posgate's HTTP server at, for `cmdDataUrl`.
    pub public_base_url: String,
    /// A device silent for longer than this is shown offline, seconds (its last-seen time
    /// is written at most every 30 s, so keep this above 30).
    pub device_offline_after_seconds: u64,
    /// How long after a consumption a mode 31 cancel may still undo it, seconds.
    pub cancel_window_seconds: u64,
}

impl Default for MqttConfig {
    fn default() -> Self {
        MqttConfig {
            enabled: true,
            embedded_broker: true,
            embedded_listen: "127.0.0.1:1884".into(),
            host: "127.0.0.1".into(),
            port: 1883,
            username: String::new(),
            password: Secret::default(),
            client_id: String::new(),
            topic_prefix: posgate_protocols::mqtt_pos::DEFAULT_TOPIC_PREFIX.into(),
            shared_group: String::new(),
            keep_alive_seconds: 30,
            reconnect_backoff_max_seconds: 30,
            debit_order: vec!["subsidy".into(), "cash".into()],
            photo_dir: "photos".into(),
            command_inline_bytes_max: 64 * 1024,
            command_ack_timeout_seconds: 30,
            command_url_ttl_seconds: 600,
            public_base_url: "http://127.0.0.1:8080".into(),
            device_offline_after_seconds: 120,
            cancel_window_seconds: 600,
        }
    }
}

impl MqttConfig {
    /// The broker to connect to: the embedded one or the configured one.
    pub fn broker_address(&self) -> (String, u16) {
        if self.embedded_broker {
            match self.embedded_listen.parse::<std::net::SocketAddr>() {
                Ok(addr) => (addr.ip().to_string(), addr.port()),
                Err(_) => (self.host.clone(), self.port),
            }
        } else {
            (self.host.clone(), self.port)
        }
    }
}
