//! AMQP (RabbitMQ, lapin): a request/reply client with one exclusive reply queue per replica,
//! a correlation map, reconnection with backoff, and fail-fast calls while disconnected.
//!
//! Used by WJ091 (`crate::ktv::wj091`): posgate publishes a request to the configured
//! exchange with the venue's `companycode` as routing key, `reply_to` = this replica's reply
//! queue and a fresh `correlation_id`; the venue system answers to `reply_to` with the same
//! `correlation_id`. A reply that finds no waiting caller (late, after a timeout) is dropped.

mod rpc;

pub use rpc::{RpcClient, RpcError};

use crate::secret::Secret;
use serde::{Deserialize, Serialize};

/// AMQP settings (`[amqp]`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AmqpConfig {
    /// Broker URL (`amqp://user:pass@host:5672/%2f`); empty = WJ091 disabled.
    pub url: Secret<String>,
    /// Exchange WJ091 requests are published to (direct; declared if missing).
    pub exchange: String,
    /// Connection name shown by the broker (`rabbitmqctl list_connections`).
    pub connection_name: String,
    /// How long a WJ091 call waits for the venue's reply, milliseconds.
    pub request_timeout_ms: u64,
    /// First wait before reconnecting after the connection is lost, milliseconds.
    pub reconnect_backoff_min_ms: u64,
    /// Longest wait between reconnection attempts, milliseconds.
    pub reconnect_backoff_max_ms: u64,
}

impl Default for AmqpConfig {
    fn default() -> Self {
        AmqpConfig {
            url: Secret::default(),
            exchange: "posgate.wj091".into(),
            connection_name: "posgate".into(),
            request_timeout_ms: 15_000,
            reconnect_backoff_min_ms: 200,
            reconnect_backoff_max_ms: 30_000,
        }
    }
}

impl AmqpConfig {
    /// Whether a broker is configured.
    pub fn enabled(&self) -> bool {
        !self.url.expose().is_empty()
    }
}
