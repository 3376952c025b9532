//! The MQTT client of posgate: one task owns the event loop, each device message is
//! handled on a task of its own and acknowledged (QoS 1, manual acks) only after its
//! answer has been published, in arrival order and on the connection it arrived on
//! ([`super::acks`]).
//!
//! Sessions. In a cluster (`mqtt.shared_group`) every process connects with a fresh client
//! id and a clean session: when a replica dies the broker drops its session at once and
//! sends the group's messages to the members still connected; messages that were in flight
//! to the dead replica are lost, and the device's retry of the same `posNum` is answered by
//! a survivor from the stored result. Nothing is ever redelivered to a replica that already
//! answered, so a device never gets a second answer. A persistent session (`mqtt.client_id`)
//! is for a single replica: the broker queues messages while it is away and redelivers what
//! it did not acknowledge.
//!
//! Uploads get no answer, so a device never sends one again: the terminal actor retries a
//! failed store in-process a few times with backoff (about 3 s in all) before giving up. On
//! a persistent session an upload given up is left unacknowledged: the adapter stops
//! acknowledging and resumes the session, and the broker redelivers it (with the messages
//! after it, which are idempotent). A clean session never redelivers: the upload is
//! acknowledged all the same (in order, freeing the broker's in-flight slot) and lost,
//! logged and counted (`posgate_mqtt_messages_total{outcome="unstored"}`).
//!
//! Stopping ([`MqttAdapter::stop`]): the adapter unsubscribes (a clean session; a persistent
//! one leaves the messages that arrive from then on unacknowledged for its next start), lets
//! the handlers in flight publish their answers, acknowledges them, and disconnects.

use super::acks::{AckGate, AckSequencer, AckSink, InFlight};
use super::MqttConfig;
use posgate_actors::entity::{
    refusal_reply, MqttDeviceMessage, MqttReply, Registry, TerminalActor,
};
use posgate_protocols::mqtt_pos::limits::PHOTO_PAYLOAD_BYTES_MAX;
use posgate_protocols::mqtt_pos::{
    decode_device_message, BalanceReply, ConsumeReply, DeviceMessage, DeviceMessageKind, Topic,
    TopicPrefix, XfCode,
};
use rand::Rng;
use rumqttc::{
    AsyncClient, ConnectionError, Event, EventLoop, MqttOptions, Outgoing, Packet, Publish, QoS,
};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, Notify};

/// Requests queued between the adapter and the client's event loop.
const CLIENT_CHANNEL_CAPACITY: usize = 1024;
/// Unacknowledged QoS 1 publishes in flight towards the broker.
const INFLIGHT_MAX: u16 = 200;
/// While stopping, how long no device message may have arrived (nor an acknowledgement
/// gone out) before the adapter disconnects: after an UNSUBACK a broker still delivers
/// what it had queued for the session, as the acknowledgements make room.
const STOP_QUIET: Duration = Duration::from_millis(500);

/// A running MQTT adapter; publishes server-to-device messages.
#[derive(Clone)]
pub struct MqttAdapter {
    client: AsyncClient,
    prefix: TopicPrefix,
    stop: mpsc::UnboundedSender<oneshot::Sender<()>>,
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

/// Waits between connection attempts: drawn
/// uniformly below a ceiling that doubles from `first` up to `max` (full jitter, so that
/// replicas cut off together do not come back together), with a floor of a tenth of the
/// ceiling against busy loops; [`Backoff::reset`] after a success.
pub struct Backoff {
    first: Duration,
    max: Duration,
    ceiling: Duration,
}

impl Backoff {
    /// A backoff whose ceiling starts at `first` and doubles up to `max`.
    pub fn new(first: Duration, max: Duration) -> Backoff {
        let first = first.min(max);
        Backoff {
            first,
            max,
            ceiling: first,
        }
    }

    /// The next wait; raises the ceiling for the one after.
    pub fn next_wait(&mut self) -> Duration {
        let ceiling = self.ceiling;
        self.ceiling = (ceiling * 2).min(self.max);
        rand::rng().random_range(ceiling / 10..=ceiling)
    }

    /// Back to the first ceiling (after a success).
    pub fn reset(&mut self) {
        self.ceiling = self.first;
    }
}

impl MqttAdapter {
    /// Starts the embedded broker if configured, connects, subscribes to the devices'
    /// topics and serves them on the current actix system until [`MqttAdapter::stop`].
    pub fn start(
        config: &MqttConfig,
        terminals: Registry<TerminalActor>,
    ) -> Result<MqttAdapter, MqttStartError> {
        let prefix = TopicPrefix::new(&config.topic_prefix)
            .map_err(|e| MqttStartError::Config(format!("mqtt.topic_prefix: {e}")))?;
        if !config.client_id.is_empty() && !config.shared_group.is_empty() {
            return Err(MqttStartError::Config(
                "mqtt.client_id: a persistent session is for a single replica, not a shared group"
                    .into(),
            ));
        }
        if config.embedded_broker {
            super::broker::start(&config.embedded_listen)?;
        }
        let (host, port) = config.broker_address();
        let persistent = !config.client_id.is_empty();
        let client_id = if persistent {
            config.client_id.clone()
        } else {
            format!("posgate-{}", hex::encode(rand::random::<[u8; 6]>()))
        };
        let (client, eventloop) = AsyncClient::new(
            client_options(config, &client_id, !persistent),
            CLIENT_CHANNEL_CAPACITY,
        );
        let filters: Vec<String> = prefix
            .device_filters()
            .into_iter()
            .map(|f| match config.shared_group.as_str() {
                "" => f,
                group => format!("$share/{group}/{f}"),
            })
            .collect();
        let (stop, stops) = mpsc::unbounded_channel();
        let adapter = MqttAdapter {
            client,
            prefix,
            stop,
        };
        tracing::info!(%host, port, client_id, persistent, filters = ?filters, "MQTT adapter connecting");
        let backoff = Backoff::new(
            Duration::from_secs(1),
            Duration::from_secs(config.reconnect_backoff_max_seconds.max(1)),
        );
        let session = Session::new(adapter.clone(), eventloop, filters, terminals, persistent);
        actix_rt::spawn(session.run(backoff, stops));
        Ok(adapter)
    }

    /// The topic prefix.
    pub fn prefix(&self) -> &TopicPrefix {
        &self.prefix
    }

    /// Stops taking device messages, lets the messages in flight be answered and
    /// acknowledged, and disconnects; gives up waiting after `within`. Returns whether
    /// everything in flight was settled in time.
    pub async fn stop(&self, within: Duration) -> bool {
        let (done, stopped) = oneshot::channel();
        if self.stop.send(done).is_err() {
            // The session has ended already.
            return true;
        }
        // Told, or the session ended without telling (a second stop): either way in time.
        tokio::time::timeout(within, stopped).await.is_ok()
    }

    /// Decodes, routes and answers one device message; returns whether to acknowledge it
    /// (not an upload that could not be stored).
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
        let upload = matches!(
            message,
            DeviceMessage::Notice(_) | DeviceMessage::Photo(_) | DeviceMessage::MenuRecord(_)
        );
        let (reply, outcome): (MqttReply, &str) =
            match ask_terminal(terminals, device, &message).await {
                Some(reply) => (reply, "handled"),
                None if upload => return UNSTORED,
                None => (refusal_reply(&message, XfCode::BusyRetry), "busy"),
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

/// The client options: keep-alive, session, manual acks, flow control, credentials.
fn client_options(config: &MqttConfig, client_id: &str, clean: bool) -> MqttOptions {
    let (host, port) = config.broker_address();
    let mut options = MqttOptions::new(client_id, host, port);
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
    options
}

/// Asks the device's terminal actor; `None` when it could not answer (an upload it could
/// not store even after its own retries, or an actor that is unavailable).
async fn ask_terminal(
    terminals: &Registry<TerminalActor>,
    device: &str,
    message: &DeviceMessage,
) -> Option<MqttReply> {
    match terminals.ask(
        &format!("mqtt:{device}"),
        MqttDeviceMessage(message.clone()),
    ) {
        // Dropped reply: an upload the actor could not store.
        Ok(rx) => rx.await.ok(),
        Err(e) => {
            tracing::warn!(device, error = %e, "terminal actor unavailable");
            None
        }
    }
}

/// What woke the session's task.
enum Step {
    Polled(Result<Event, ConnectionError>),
    Resume,
    Stop(oneshot::Sender<()>),
    /// Nothing in flight any more, or quiet for [`STOP_QUIET`] (while stopping).
    Idle,
}

/// The task that owns the event loop: connections, subscriptions, handing out messages,
/// stopping.
struct Session {
    adapter: MqttAdapter,
    eventloop: EventLoop,
    filters: Vec<String>,
    terminals: Registry<TerminalActor>,
    persistent: bool,
    gate: AckGate,
    generation: u64,
    acks: Option<AckSequencer>,
    in_flight: Arc<InFlight>,
    resume: Arc<Notify>,
    /// Set by [`MqttAdapter::stop`]: told when the session has ended.
    stopping: Option<oneshot::Sender<()>>,
    /// UNSUBACKs still awaited while stopping.
    unsubscribing: usize,
    /// Device messages that arrived after the stop began (still answered on a clean session).
    arrived_while_stopping: usize,
    /// While stopping: when the last message arrived, UNSUBACK came or acknowledgement went.
    last_activity: Instant,
    disconnecting: bool,
}

impl Session {
    fn new(
        adapter: MqttAdapter,
        mut eventloop: EventLoop,
        filters: Vec<String>,
        terminals: Registry<TerminalActor>,
        persistent: bool,
    ) -> Session {
        // Small request/answer packets: no Nagle delay.
        eventloop.network_options.set_tcp_nodelay(true);
        Session {
            adapter,
            eventloop,
            filters,
            terminals,
            persistent,
            gate: AckGate::default(),
            generation: 0,
            acks: None,
            in_flight: Arc::default(),
            resume: Arc::default(),
            stopping: None,
            unsubscribing: 0,
            arrived_while_stopping: 0,
            last_activity: Instant::now(),
            disconnecting: false,
        }
    }

    /// Runs until stopped: (re)connects with `backoff`, and serves every connection.
    async fn run(
        mut self,
        mut backoff: Backoff,
        mut stops: mpsc::UnboundedReceiver<oneshot::Sender<()>>,
    ) {
        loop {
            let step = tokio::select! {
                polled = self.eventloop.poll() => Step::Polled(polled),
                () = self.resume.notified() => Step::Resume,
                Some(done) = stops.recv(), if self.stopping.is_none() => Step::Stop(done),
                () = self.in_flight.idle(), if self.stopping.is_some() => {
                    self.last_activity = Instant::now();
                    Step::Idle
                }
                () = tokio::time::sleep_until((self.last_activity + STOP_QUIET).into()),
                    if self.settled_while_stopping() => Step::Idle,
            };
            let ended = match step {
                Step::Polled(Ok(event)) => self.on_event(event, &mut backoff),
                Step::Polled(Err(e)) => self.on_error(e, &mut backoff, &mut stops).await,
                Step::Resume => {
                    tracing::warn!("resuming the MQTT session: the broker redelivers what was not acknowledged");
                    metrics::counter!("posgate_mqtt_session_resumes_total").increment(1);
                    // Dropping the connection keeps the session's own unacknowledged
                    // publishes for resending; the next poll reconnects.
                    self.connection_ended();
                    // While stopping, the next start gets the redelivery instead.
                    self.stopping.is_some()
                }
                Step::Stop(done) => self.begin_stop(done),
                Step::Idle => false,
            };
            if ended || self.maybe_disconnect() {
                break;
            }
        }
        self.connection_ended();
        tracing::info!(
            arrived_while_stopping = self.arrived_while_stopping,
            unsettled = self.in_flight.count(),
            "MQTT adapter stopped"
        );
        if let Some(done) = self.stopping.take() {
            let _ = done.send(());
        }
    }

    /// Handles one event; returns whether the session has ended (its DISCONNECT went out).
    fn on_event(&mut self, event: Event, backoff: &mut Backoff) -> bool {
        match event {
            Event::Incoming(Packet::ConnAck(ack)) => {
                backoff.reset();
                self.connected(ack.session_present);
            }
            Event::Incoming(Packet::Publish(publish)) => self.dispatch(publish),
            Event::Incoming(Packet::UnsubAck(_)) => {
                self.last_activity = Instant::now();
                self.unsubscribing = self.unsubscribing.saturating_sub(1);
            }
            Event::Outgoing(Outgoing::Disconnect) if self.disconnecting => return true,
            _ => {}
        }
        false
    }

    /// A connection is up: a new generation of acknowledgements, and the subscriptions.
    fn connected(&mut self, session_present: bool) {
        self.generation += 1;
        self.gate.open(self.generation);
        let client = self.adapter.client.clone();
        let sink: AckSink = Box::new(move |publish: &Publish| client.try_ack(publish));
        let resume = self.resume.clone();
        self.acks = Some(AckSequencer::start(
            self.generation,
            self.gate.clone(),
            sink,
            Box::new(move || resume.notify_one()),
            self.in_flight.clone(),
        ));
        metrics::gauge!("posgate_mqtt_connected").set(1.0);
        tracing::info!(
            session_present,
            generation = self.generation,
            "MQTT connected"
        );
        for filter in &self.filters {
            // try_subscribe: awaiting here would wait on this very loop.
            if let Err(e) = self
                .adapter
                .client
                .try_subscribe(filter.clone(), QoS::AtLeastOnce)
            {
                tracing::error!(filter, error = %e, "MQTT subscribe failed");
            }
        }
    }

    /// Hands a device message to a task of its own, with its acknowledgement ticket.
    fn dispatch(&mut self, publish: Publish) {
        let Some(acks) = self.acks.as_mut() else {
            return;
        };
        if self.stopping.is_some() {
            self.arrived_while_stopping += 1;
            self.last_activity = Instant::now();
            if self.persistent {
                // Left unacknowledged: the broker redelivers it to the next start.
                return;
            }
        }
        let ticket = acks.next();
        let adapter = self.adapter.clone();
        let terminals = self.terminals.clone();
        let persistent = self.persistent;
        actix_rt::spawn(async move {
            if adapter.handle(&publish, &terminals).await {
                ticket.finish(publish);
            } else if persistent {
                ticket.skip();
            } else {
                // A clean session never redelivers it: acknowledged all the same, so that it
                // holds no broker in-flight slot and later acknowledgements stay in order.
                tracing::error!(topic = %publish.topic, "MQTT upload not stored: lost (clean session)");
                ticket.finish(publish);
            }
        });
    }

    /// The connection was lost: waits (backoff, or until stopped) before the next poll
    /// reconnects. Returns whether the session has ended.
    async fn on_error(
        &mut self,
        error: ConnectionError,
        backoff: &mut Backoff,
        stops: &mut mpsc::UnboundedReceiver<oneshot::Sender<()>>,
    ) -> bool {
        self.connection_ended();
        metrics::counter!("posgate_mqtt_connection_errors_total").increment(1);
        if self.stopping.is_some() {
            // Nothing in flight can be acknowledged any more.
            tracing::warn!(error = %error, "MQTT connection lost while stopping");
            return true;
        }
        let wait = backoff.next_wait();
        tracing::warn!(error = %error, retry_in = ?wait, "MQTT connection lost");
        tokio::select! {
            () = tokio::time::sleep(wait) => false,
            Some(done) = stops.recv() => {
                self.stopping = Some(done);
                true
            }
        }
    }

    /// The connection is gone (or being dropped): no acknowledgement of it may be queued
    /// any more, and those still queued are purged (`clean` drops queued PUBACKs).
    fn connection_ended(&mut self) {
        self.gate.close();
        self.eventloop.clean();
        self.acks = None;
        metrics::gauge!("posgate_mqtt_connected").set(0.0);
    }

    /// Starts stopping: no new device messages (unsubscribe, on a clean session); the ones
    /// in flight are still answered. Returns whether the session has ended (not connected).
    fn begin_stop(&mut self, done: oneshot::Sender<()>) -> bool {
        self.stopping = Some(done);
        self.last_activity = Instant::now();
        tracing::info!(in_flight = self.in_flight.count(), "MQTT adapter stopping");
        if self.acks.is_none() {
            return true;
        }
        if !self.persistent {
            for filter in &self.filters {
                match self.adapter.client.try_unsubscribe(filter.clone()) {
                    Ok(()) => self.unsubscribing += 1,
                    Err(e) => tracing::warn!(filter, error = %e, "MQTT unsubscribe failed"),
                }
            }
        }
        false
    }

    /// Stopping, not disconnecting yet, no UNSUBACK awaited and nothing in flight.
    fn settled_while_stopping(&self) -> bool {
        self.stopping.is_some()
            && !self.disconnecting
            && self.unsubscribing == 0
            && self.in_flight.count() == 0
    }

    /// While stopping, once no subscription can bring more messages, every message in
    /// flight is settled and none has come for [`STOP_QUIET`]: queues the DISCONNECT
    /// (behind the answers and acknowledgements).
    /// Returns whether the session has ended without one (it could not be queued).
    fn maybe_disconnect(&mut self) -> bool {
        if !self.settled_while_stopping() || self.last_activity.elapsed() < STOP_QUIET {
            return false;
        }
        self.disconnecting = true;
        match self.adapter.client.try_disconnect() {
            Ok(()) => false,
            Err(e) => {
                tracing::warn!(error = %e, "MQTT disconnect could not be queued");
                true
            }
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

#[cfg(test)]
mod tests {
    use super::Backoff;
    use std::time::Duration;

    #[test]
    fn backoff_is_jittered_below_a_doubling_ceiling_and_resets() {
        let (first, max) = (Duration::from_secs(1), Duration::from_secs(8));
        let mut backoff = Backoff::new(first, max);
        for ceiling in [1, 2, 4, 8, 8, 8] {
            let ceiling = Duration::from_secs(ceiling);
            let wait = backoff.next_wait();
            assert!(
                wait >= ceiling / 10 && wait <= ceiling,
                "{wait:?} within {ceiling:?}"
            );
        }
        backoff.reset();
        assert!(backoff.next_wait() <= first);
        // Jitter: many draws under one ceiling are not all the same.
        let draws: std::collections::BTreeSet<Duration> = (0..20)
            .map(|_| Backoff::new(max, max).next_wait())
            .collect();
        assert!(draws.len() > 1);
    }
}
