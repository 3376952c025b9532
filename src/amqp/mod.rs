//! AMQP (RabbitMQ, lapin): a request/reply client with one exclusive reply queue per replica,
//! a correlation map, reconnection with backoff, and fail-fast calls while disconnected.
//!
//! Used by WJ091 (`crate::ktv::wj091`): posgate publishes a request to the configured
//! exchange with the venue's `companycode` as routing key, `reply_to` = this replica's reply
//! queue and a fresh `correlation_id`; the venue system answers to `reply_to` with the same
//! `correlation_id`. A reply that finds no waiting caller (late, after a timeout) is dropped.

mod rpc;

pub use rpc::{RpcClient, RpcError};

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{FieldTable, ShortString};
use lapin::{Channel, ExchangeKind};

/// Declares the WJ091 exchange as posgate and the venue systems share it: direct, durable.
pub async fn declare_exchange(channel: &Channel, exchange: &str) -> Result<(), lapin::Error> {
    channel
        .exchange_declare(
            exchange.into(),
            ExchangeKind::Direct,
            ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
}

/// Declares a server-named queue private to this connection (exclusive, auto-deleted):
/// a replica's reply queue, or a venue's request queue.
pub async fn declare_private_queue(channel: &Channel) -> Result<ShortString, lapin::Error> {
    let queue = channel
        .queue_declare(
            "".into(),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    Ok(queue.name().clone())
}

/// A private queue bound to `exchange` for `routing_key` (a venue system listening for its
/// `companycode`); returns its name.
pub async fn bind_private_queue(
    channel: &Channel,
    exchange: &str,
    routing_key: &str,
) -> Result<ShortString, lapin::Error> {
    declare_exchange(channel, exchange).await?;
    let queue = declare_private_queue(channel).await?;
    channel
        .queue_bind(
            queue.clone(),
            exchange.into(),
            routing_key.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    Ok(queue)
}

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
