//! The MQTT client of posgate: one task owns the event loop, each device message is
//! handled on a task of its own and acknowledged (QoS 1, manual acks) only after its
//! answer has been published, so a message whose processing was cut short is redelivered
//! and, being idempotent on its `posNum`, answered from the ledger's stored result.
//!
//! MQTT requires PUBACKs in the order the PUBLISHes arrived (3.1.1, 4.6; rumqttd drops a
//! connection that acknowledges out of order), while handling finishes in any order: an
//! [`AckSequencer`] task holds finished messages back until all earlier ones are done. An
//! upload that could not be stored is the one message never acknowledged: on a persistent
//! session the adapter then stops acknowledging and resumes the session, and the broker
//! redelivers it (with the messages after it, which are idempotent).

use super::MqttConfig;
use posgate_actors::entity::{
    refusal_reply, MqttDeviceMessage, MqttReply, Registry, TerminalActor,
};
use posgate_protocols::mqtt_pos::limits::PHOTO_PAYLOAD_BYTES_MAX;
use posgate_protocols::mqtt_pos::{
    decode_device_message, BalanceReply, ConsumeReply, DeviceMessage, DeviceMessageKind, Topic,
    TopicPrefix, XfCode,
};
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, Publish, QoS};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify};

/// Requests queued between the adapter and the client's event loop.
const CLIENT_CHANNEL_CAPACITY: usize = 1024;
/// Unacknowledged QoS 1 publishes in flight towards the broker.
const INFLIGHT_MAX: u16 = 200;

/// A running MQTT adapter; publishes server-to-device messages.
#[derive(Clone)]
pub struct MqttAdapter {
    client: AsyncClient,
    prefix: TopicPrefix,
}

/// Why the adapter could not start.
#[derive(Debug, thiserror::Error)]
pub enum MqttStartError {
    /// A setting is unusable.
    #[error("invalid setting {0}")]
    Config(String),
    /// The embedded broker could not start.
    #[error("embedded MQTT broker: {0}")]
    Broker(#[from] std::io::Error),
}

impl MqttAdapter {
    /// Starts the embedded broker if configured, connects, subscribes to the devices'
    /// topics and serves them on the current actix system until the process stops.
    pub fn start(
        config: &MqttConfig,
        terminals: Registry<TerminalActor>,
    ) -> Result<MqttAdapter, MqttStartError> {
        let prefix = TopicPrefix::new(&config.topic_prefix)
            .map_err(|e| MqttStartError::Config(format!("mqtt.topic_prefix: {e}")))?;
        if config.embedded_broker {
            super::broker::start(&config.embedded_listen)?;
        }
        let (host, port) = config.broker_address();
        let (client_id, clean) = if config.client_id.is_empty() {
            (
                format!("posgate-{}", hex::encode(rand::random::<[u8; 6]>())),
                true,
            )
        } else {
            (config.client_id.clone(), false)
        };
        let mut options = MqttOptions::new(client_id.clone(), host.clone(), port);
        options
            .set_keep_alive(Duration::from_secs(config.keep_alive_seconds.max(5)))
            .set_clean_session(clean)
            .set_manual_acks(true)
            .set_inflight(INFLIGHT_MAX)
            .set_request_channel_capacity(CLIENT_CHANNEL_CAPACITY)
            .set_max_packet_size(
                PHOTO_PAYLOAD_BYTES_MAX + 4096,
                PHOTO_PAYLOAD_BYTES_MAX + 4096,
            );
        if !config.username.is_empty() {
            options.set_credentials(config.username.clone(), config.password.expose().clone());
        }
        let (client, mut eventloop) = AsyncClient::new(options, CLIENT_CHANNEL_CAPACITY);
        // Small request/answer packets: no Nagle delay.
        eventloop.network_options.set_tcp_nodelay(true);
        let filters: Vec<String> = prefix
            .device_filters()
            .into_iter()
            .map(|f| match config.shared_group.as_str() {
                "" => f,
                group => format!("$share/{group}/{f}"),
            })
            .collect();
        let adapter = MqttAdapter { client, prefix };
        tracing::info!(%host, port, client_id, filters = ?filters, "MQTT adapter connecting");
        let backoff_max = Duration::from_secs(config.reconnect_backoff_max_seconds.max(1));
        actix_rt::spawn(
            adapter
                .clone()
                .run(eventloop, filters, terminals, backoff_max, !clean),
        );
        Ok(adapter)
    }

    /// The topic prefix.
    pub fn prefix(&self) -> &TopicPrefix {
        &self.prefix
    }

    /// Owns the event loop: (re)connects with backoff, resubscribes after every connection,
    /// and hands each publish to a task of its own. On a `persistent` session, a message left
    /// unacknowledged (an upload that could not be stored) resumes the session at once: the
    /// connection is dropped and reopened, and the broker redelivers what was not
    /// acknowledged.
    async fn run(
        self,
        mut eventloop: EventLoop,
        filters: Vec<String>,
        terminals: Registry<TerminalActor>,
        backoff_max: Duration,
        persistent: bool,
    ) {
        let mut backoff = Duration::from_secs(1);
        let resume = Arc::new(Notify::new());
        let resumer = || persistent.then(|| resume.clone());
        let mut acks = AckSequencer::start(self.client.clone(), resumer());
        loop {
            let polled = tokio::select! {
                polled = eventloop.poll() => polled,
                () = resume.notified() => {
                    tracing::warn!("resuming the MQTT session: the broker redelivers what was not acknowledged");
                    metrics::counter!("posgate_mqtt_session_resumes_total").increment(1);
                    // Dropping the connection keeps the session's own unacknowledged
                    // publishes for resending; the next poll reconnects.
                    eventloop.clean();
                    continue;
                }
            };
            match polled {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                    backoff = Duration::from_secs(1);
                    // Packet ids of the old connection mean nothing on the new one: start a
                    // fresh sequence (unacknowledged messages are redelivered by the broker).
                    acks = AckSequencer::start(self.client.clone(), resumer());
                    metrics::gauge!("posgate_mqtt_connected").set(1.0);
                    tracing::info!(session_present = ack.session_present, "MQTT connected");
                    for filter in &filters {
                        // try_subscribe: awaiting here would wait on this very loop.
                        if let Err(e) = self.client.try_subscribe(filter.clone(), QoS::AtLeastOnce)
                        {
                            tracing::error!(filter, error = %e, "MQTT subscribe failed");
                        }
                    }
                }
                Ok(Event::Incoming(Packet::Publish(publish))) => {
                    let adapter = self.clone();
                    let terminals = terminals.clone();
                    let done = acks.next();
                    actix_rt::spawn(async move {
                        if adapter.handle(&publish, &terminals).await {
                            done.finish(publish);
                        } else {
                            done.skip();
                        }
                    });
                }
                Ok(_) => {}
                Err(e) => {
                    metrics::gauge!("posgate_mqtt_connected").set(0.0);
                    metrics::counter!("posgate_mqtt_connection_errors_total").increment(1);
                    tracing::warn!(error = %e, retry_in = ?backoff, "MQTT connection lost");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(backoff_max);
                }
            }
        }
    }

    /// Decodes, routes and answers one device message; returns whether to acknowledge it
    /// (not an upload that could not be stored: the broker is to redeliver it).
    async fn handle(&self, publish: &Publish, terminals: &Registry<TerminalActor>) -> bool {
        let started = Instant::now();
        let (kind, outcome) = match Topic::parse(&self.prefix, &publish.topic) {
            Ok(Topic::FromDevice { device, kind }) => {
                let outcome = self
                    .answer(&device.to_string(), kind, &publish.payload, terminals)
                    .await;
                (kind.suffix(), outcome)
            }
            Ok(_) | Err(_) => {
                tracing::warn!(topic = %publish.topic, "MQTT message on an unexpected topic");
                ("unknown", "bad_topic")
            }
        };
        metrics::counter!("posgate_mqtt_messages_total", "kind" => kind, "outcome" => outcome)
            .increment(1);
        metrics::histogram!("posgate_mqtt_message_duration_seconds", "kind" => kind)
            .record(started.elapsed().as_secs_f64());
        outcome != UNSTORED
    }

    /// Returns the metric outcome of the message.
    async fn answer(
        &self,
        device: &str,
        kind: DeviceMessageKind,
        payload: &[u8],
        terminals: &Registry<TerminalActor>,
    ) -> &'static str {
        let reply_topic = format!("{}/pos/{device}/api", self.prefix.as_str());
        let message = match decode_device_message(kind, payload) {
            Ok(message) => message,
            Err(e) => {
                // Never log the payload: it may carry user ids and card numbers.
                tracing::warn!(device, kind = kind.suffix(), error = %e, "malformed MQTT POS message");
                if let Some(reply) = decode_failure_reply(kind, payload, e.code()) {
                    self.send(reply_topic, reply).await;
                }
                return "malformed";
            }
        };
        let key = format!("mqtt:{device}");
        let upload = matches!(
            message,
            DeviceMessage::Notice(_) | DeviceMessage::Photo(_) | DeviceMessage::MenuRecord(_)
        );
        let (reply, outcome): (MqttReply, &str) =
            match terminals.ask(&key, MqttDeviceMessage(message.clone())) {
                Ok(rx) => match rx.await {
                    Ok(reply) => (reply, "handled"),
                    // The actor dropped the reply: an upload it could not store.
                    Err(_) if upload => return UNSTORED,
                    Err(_) => (refusal_reply(&message, XfCode::BusyRetry), "busy"),
                },
                Err(e) => {
                    tracing::warn!(device, error = %e, "terminal actor unavailable");
                    if upload {
                        return UNSTORED;
                    }
                    (refusal_reply(&message, XfCode::BusyRetry), "busy")
                }
            };
        match reply {
            Some(bytes) => {
                self.send(reply_topic, bytes).await;
                outcome
            }
            None if outcome == "handled" => "no_reply",
            None => outcome,
        }
    }

    async fn send(&self, topic: String, payload: Vec<u8>) {
        use posgate_actors::entity::DevicePublisher;
        if let Err(e) = self.to_topic(topic, payload).await {
            tracing::error!(error = %e, "MQTT publish failed");
        }
    }
}

impl posgate_actors::entity::DevicePublisher for MqttAdapter {
    fn to_device(
        &self,
        device_id: &str,
        payload: Vec<u8>,
    ) -> futures::future::BoxFuture<'static, Result<(), String>> {
        self.to_topic(
            format!("{}/pos/{device_id}/api", self.prefix.as_str()),
            payload,
        )
    }

    /// Publishes `payload` to `topic` with QoS 1: the one place the adapter publishes.
    fn to_topic(
        &self,
        topic: String,
        payload: Vec<u8>,
    ) -> futures::future::BoxFuture<'static, Result<(), String>> {
        let client = self.client.clone();
        Box::pin(async move {
            client
                .publish(topic, QoS::AtLeastOnce, false, payload)
                .await
                .map_err(|e| format!("MQTT publish: {e}"))
        })
    }
}

/// The outcome of an upload that could not be stored: its message is not acknowledged.
const UNSTORED: &str = "unstored";

/// Sends PUBACKs in arrival order although messages finish in any order. A message given up
/// without acknowledgement ([`AckTicket::skip`]) ends the sequence on a persistent session
/// (no later acknowledgement may go out on this connection, and the session is resumed for
/// the broker to redeliver), and is passed over on a clean one (it cannot be redelivered).
struct AckSequencer {
    next: u64,
    done: mpsc::UnboundedSender<(u64, Option<Publish>)>,
}

/// The ticket of one message: hand the publish back when it has been answered.
struct AckTicket {
    seq: u64,
    done: mpsc::UnboundedSender<(u64, Option<Publish>)>,
}

impl AckTicket {
    fn finish(self, publish: Publish) {
        // The sequencer is gone only when the connection was replaced; the broker then
        // redelivers the message, which is idempotent.
        let _ = self.done.send((self.seq, Some(publish)));
    }

    /// Leaves the message unacknowledged, for the broker to redeliver when the session
    /// resumes (a persistent session, `mqtt.client_id`: at once).
    fn skip(self) {
        let _ = self.done.send((self.seq, None));
    }
}

impl AckSequencer {
    fn start(client: AsyncClient, resume: Option<Arc<Notify>>) -> AckSequencer {
        let (done, mut finished) = mpsc::unbounded_channel::<(u64, Option<Publish>)>();
        actix_rt::spawn(async move {
            let mut waiting: BTreeMap<u64, Option<Publish>> = BTreeMap::new();
            let mut next_ack = 0u64;
            while let Some((seq, publish)) = finished.recv().await {
                waiting.insert(seq, publish);
                while let Some(publish) = waiting.remove(&next_ack) {
                    match (publish, &resume) {
                        (Some(publish), _) => {
                            if let Err(e) = client.ack(&publish).await {
                                tracing::warn!(error = %e, "MQTT ack failed");
                            }
                        }
                        (None, Some(resume)) => {
                            resume.notify_one();
                            return;
                        }
                        (None, None) => {
                            tracing::error!("MQTT message left unacknowledged on a clean session: it is not redelivered");
                        }
                    }
                    next_ack += 1;
                }
            }
        });
        AckSequencer { next: 0, done }
    }

    fn next(&mut self) -> AckTicket {
        let seq = self.next;
        self.next += 1;
        AckTicket {
            seq,
            done: self.done.clone(),
        }
    }
}

/// The answer to a message that could not be decoded, where the device waits for one: a
/// consumption reply on `api_ret` (unless the payload is a command acknowledgement, which
/// gets no answer) and a balance reply on `pos_pay`.
fn decode_failure_reply(kind: DeviceMessageKind, payload: &[u8], code: XfCode) -> Option<Vec<u8>> {
    let is_ack = payload.windows(6).any(|w| w == b"sAckId");
    match kind {
        DeviceMessageKind::ApiRet if !is_ack => {
            Some(ConsumeReply::refused(code, Default::default()).encode())
        }
        DeviceMessageKind::PosPay => Some(BalanceReply::failed(code).encode()),
        _ => None,
    }
}
