//! The request/reply client: a connection manager task (connect, declare, consume the reply
//! queue, and on loss reconnect with exponential backoff) and the calls that use it.

use super::AmqpConfig;
use futures::StreamExt;
use lapin::options::{BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{FieldTable, ShortString};
use lapin::Confirmation;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::oneshot;

/// Why a call got no reply.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RpcError {
    /// Not connected to the broker (or the connection was lost while waiting): fails at
    /// once, without waiting for the timeout.
    #[error("not connected to RabbitMQ; reconnecting")]
    Disconnected,
    /// No reply within the configured timeout (the venue system is silent).
    #[error("no reply within {0} ms")]
    Timeout(u64),
    /// The broker refused the publication.
    #[error("publish failed: {0}")]
    Publish(String),
    /// Nothing is bound to the exchange for this routing key: no venue system is listening
    /// for it (the request is returned at once by the broker, not left to time out).
    #[error("no consumer is bound for routing key {0}")]
    NoRoute(String),
}

/// The live part of a connection: the channel to publish on and the reply queue's name.
struct Live {
    channel: Channel,
    reply_queue: ShortString,
}

struct Inner {
    live: Mutex<Option<Live>>,
    pending: Mutex<HashMap<String, oneshot::Sender<Vec<u8>>>>,
    exchange: String,
    timeout_ms: u64,
    id_prefix: String,
    next_id: AtomicU64,
}

impl Inner {
    fn lock_live(&self) -> std::sync::MutexGuard<'_, Option<Live>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_pending(&self) -> std::sync::MutexGuard<'_, HashMap<String, oneshot::Sender<Vec<u8>>>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A request/reply client. Cheap to clone; the connection manager stops when the last clone
/// is dropped.
#[derive(Clone)]
pub struct RpcClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RpcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RpcClient(exchange {})", self.inner.exchange)
    }
}

impl RpcClient {
    /// Starts the connection manager on the current tokio runtime (call it from the
    /// long-lived runtime, not an HTTP worker: the connection belongs to the runtime it was
    /// opened on). Returns at once; calls fail with [`RpcError::Disconnected`] until the
    /// first connection is up.
    pub fn start(config: &AmqpConfig) -> RpcClient {
        let inner = Arc::new(Inner {
            live: Mutex::new(None),
            pending: Mutex::new(HashMap::new()),
            exchange: config.exchange.clone(),
            timeout_ms: config.request_timeout_ms,
            id_prefix: hex::encode(rand::random::<[u8; 6]>()),
            next_id: AtomicU64::new(0),
        });
        let weak = Arc::downgrade(&inner);
        let config = config.clone();
        tokio::spawn(async move { manage(weak, config).await });
        RpcClient { inner }
    }

    /// Whether the connection is up now.
    pub fn connected(&self) -> bool {
        self.inner.lock_live().is_some()
    }

    /// Waits until connected, at most `limit` (start-up of tests and simulators).
    pub async fn wait_connected(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while tokio::time::Instant::now() < deadline {
            if self.connected() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.connected()
    }

    /// Publishes `body` with `routing_key` and waits for the reply.
    pub async fn call(&self, routing_key: &str, body: &[u8]) -> Result<Vec<u8>, RpcError> {
        let (channel, reply_queue) = {
            let live = self.inner.lock_live();
            let live = live.as_ref().ok_or(RpcError::Disconnected)?;
            (live.channel.clone(), live.reply_queue.clone())
        };
        let id = format!(
            "{}-{}",
            self.inner.id_prefix,
            self.inner.next_id.fetch_add(1, Ordering::Relaxed)
        );
        let (tx, rx) = oneshot::channel();
        self.inner.lock_pending().insert(id.clone(), tx);
        // The request expires when the caller stops waiting for it: a venue system back
        // after an outage finds no stale queries in its queue (the broker drops them).
        let properties = BasicProperties::default()
            .with_content_type("application/json".into())
            .with_reply_to(reply_queue)
            .with_correlation_id(id.as_str().into())
            .with_expiration(self.inner.timeout_ms.to_string().into());
        // Mandatory, on a channel in confirm mode: an unroutable request comes back with its
        // confirmation instead of waiting for the timeout.
        let published = match channel
            .basic_publish(
                self.inner.exchange.as_str().into(),
                routing_key.into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                body,
                properties,
            )
            .await
        {
            Ok(confirm) => confirm.await,
            Err(e) => Err(e),
        };
        let refused = match published {
            Ok(Confirmation::Ack(None) | Confirmation::NotRequested) => None,
            Ok(Confirmation::Ack(Some(_)) | Confirmation::Nack(Some(_))) => {
                Some(RpcError::NoRoute(routing_key.to_string()))
            }
            Ok(Confirmation::Nack(None)) => Some(RpcError::Publish("nacked by the broker".into())),
            Err(_) if !channel.status().connected() => Some(RpcError::Disconnected),
            Err(e) => Some(RpcError::Publish(e.to_string())),
        };
        if let Some(e) = refused {
            self.inner.lock_pending().remove(&id);
            return Err(e);
        }
        let waited = tokio::time::timeout(Duration::from_millis(self.inner.timeout_ms), rx).await;
        self.inner.lock_pending().remove(&id);
        match waited {
            Ok(Ok(reply)) => Ok(reply),
            // The manager dropped the waiter: the connection was lost.
            Ok(Err(_)) => Err(RpcError::Disconnected),
            Err(_) => Err(RpcError::Timeout(self.inner.timeout_ms)),
        }
    }
}

/// Opens a connection, declares the exchange and this replica's exclusive reply queue, and
/// starts consuming it.
async fn connect(
    config: &AmqpConfig,
) -> Result<(Connection, Channel, ShortString, lapin::Consumer), lapin::Error> {
    let properties = ConnectionProperties::default()
        .with_connection_name(config.connection_name.as_str().into());
    let connection = Connection::connect(config.url.expose(), properties).await?;
    let channel = connection.create_channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    super::declare_exchange(&channel, &config.exchange).await?;
    let reply_queue = super::declare_private_queue(&channel).await?;
    let consumer = channel
        .basic_consume(
            reply_queue.clone(),
            "".into(),
            BasicConsumeOptions {
                no_ack: true,
                ..BasicConsumeOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    Ok((connection, channel, reply_queue, consumer))
}

/// The connection manager: connect, pump replies, and on loss fail the waiting calls and
/// reconnect after an exponential backoff (`reconnect_backoff_min_ms` doubling up to
/// `reconnect_backoff_max_ms`). Ends when the client is dropped.
async fn manage(weak: Weak<Inner>, config: AmqpConfig) {
    let min = Duration::from_millis(config.reconnect_backoff_min_ms.max(1));
    let max = Duration::from_millis(config.reconnect_backoff_max_ms.max(1)).max(min);
    let mut delay = min;
    let mut first = true;
    loop {
        if weak.strong_count() == 0 {
            return;
        }
        match connect(&config).await {
            Ok((connection, channel, reply_queue, consumer)) => {
                delay = min;
                let Some(inner) = weak.upgrade() else {
                    let _ = connection.close(200, "client dropped".into()).await;
                    return;
                };
                *inner.lock_live() = Some(Live {
                    channel,
                    reply_queue,
                });
                drop(inner);
                if !first {
                    metrics::counter!("posgate_amqp_reconnects_total").increment(1);
                }
                first = false;
                metrics::gauge!("posgate_amqp_connected").set(1.0);
                tracing::info!(exchange = %config.exchange, "AMQP connected");
                let dropped = pump(&weak, consumer, &connection).await;
                metrics::gauge!("posgate_amqp_connected").set(0.0);
                if let Some(inner) = weak.upgrade() {
                    inner.lock_live().take();
                    // Dropping the senders fails every waiting call at once.
                    inner.lock_pending().clear();
                }
                if dropped {
                    let _ = connection.close(200, "client dropped".into()).await;
                    return;
                }
                tracing::warn!("AMQP connection lost; WJ091 calls fail until it is back");
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "AMQP connection failed");
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(max);
    }
}

/// Hands replies to their callers until the connection is lost; returns true if it stopped
/// because the client was dropped.
async fn pump(weak: &Weak<Inner>, mut consumer: lapin::Consumer, connection: &Connection) -> bool {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            delivery = consumer.next() => {
                let delivery = match delivery {
                    Some(Ok(d)) => d,
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "AMQP reply consumer failed");
                        return false;
                    }
                    None => return false,
                };
                let Some(inner) = weak.upgrade() else { return true };
                let Some(id) = delivery.properties.correlation_id().as_ref() else {
                    tracing::warn!("AMQP reply without correlation_id dropped");
                    continue;
                };
                let waiter = inner.lock_pending().remove(id.as_str());
                match waiter {
                    Some(tx) => { let _ = tx.send(delivery.data); }
                    None => tracing::debug!(correlation_id = %id.as_str(), "late AMQP reply dropped"),
                }
            }
            _ = tick.tick() => {
                if weak.strong_count() == 0 {
                    return true;
                }
                if !connection.status().connected() {
                    return false;
                }
            }
        }
    }
}
