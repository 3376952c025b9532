//! Acknowledging device messages (QoS 1, manual acks) in arrival order, on the connection
//! they arrived on and never on a later one.
//!
//! MQTT requires PUBACKs in the order the PUBLISHes arrived (3.1.1, 4.6; rumqttd drops a
//! connection that acknowledges out of order), while handling finishes in any order: an
//! [`AckSequencer`] task holds finished messages back until all earlier ones are done.
//!
//! Packet ids restart with every connection, so a PUBACK of an old connection sent on a new
//! one would acknowledge some other message. rumqttc queues acknowledgements in the client's
//! request channel and sends what is queued on whichever connection is up when it gets to it.
//! Hence the [`AckGate`]: a sequencer belongs to one connection (its generation) and queues
//! an acknowledgement only while holding the gate open for that generation; when a
//! connection ends, the adapter closes the gate and then calls `EventLoop::clean`, which
//! drops the PUBACKs still in the channel. Whatever is queued was therefore queued for the
//! live connection, and nothing of an old connection survives into the next.

use rumqttc::Publish;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{mpsc, Notify};

/// How long a sequencer waits before queueing an acknowledgement again when the client's
/// request channel is full.
const CHANNEL_FULL_RETRY: Duration = Duration::from_millis(5);

/// The connection acknowledgements may be queued for: its generation, or none between
/// connections.
#[derive(Clone, Default)]
pub(super) struct AckGate {
    live: Arc<Mutex<Option<u64>>>,
}

impl AckGate {
    /// Connection `generation` is up: its acknowledgements may be queued.
    pub(super) fn open(&self, generation: u64) {
        *self.live.lock().unwrap_or_else(PoisonError::into_inner) = Some(generation);
    }

    /// The connection ended: no acknowledgement may be queued until the next one is up.
    /// The caller then purges the ones already queued (`EventLoop::clean`).
    pub(super) fn close(&self) {
        *self.live.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Runs `queue` if connection `generation` is the live one, holding the gate so that
    /// the connection cannot be declared ended meanwhile; `None` when it is not.
    pub(super) fn queue_if_live<T>(&self, generation: u64, queue: impl FnOnce() -> T) -> Option<T> {
        let live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        (*live == Some(generation)).then(queue)
    }
}

/// Messages handed out to handlers whose acknowledgement is not settled yet (sent, or
/// dropped because their connection ended), over all connections.
#[derive(Default)]
pub(super) struct InFlight {
    count: AtomicUsize,
    idle: Notify,
}

impl InFlight {
    /// How many messages are not settled.
    pub(super) fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// Resolves after the count last dropped to zero (possibly before the call: check
    /// [`InFlight::count`] again).
    pub(super) async fn idle(&self) {
        self.idle.notified().await;
    }

    fn settle(&self) {
        if self.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.idle.notify_one();
        }
    }
}

/// Releases items in sequence order although they arrive in any order.
pub(super) struct InOrder<T> {
    next: u64,
    waiting: BTreeMap<u64, T>,
}

impl<T> Default for InOrder<T> {
    fn default() -> Self {
        InOrder {
            next: 0,
            waiting: BTreeMap::new(),
        }
    }
}

impl<T> InOrder<T> {
    /// Accepts item `seq` and returns the items now due, in order.
    pub(super) fn push(&mut self, seq: u64, item: T) -> Vec<T> {
        self.waiting.insert(seq, item);
        let mut due = Vec::new();
        while let Some(item) = self.waiting.remove(&self.next) {
            due.push(item);
            self.next += 1;
        }
        due
    }
}

/// Queues one PUBACK; `Err` when the client's request channel is full.
pub(super) type AckSink = Box<dyn Fn(&Publish) -> Result<(), rumqttc::ClientError>>;

/// Sends the PUBACKs of one connection in arrival order; see the module documentation.
pub(super) struct AckSequencer {
    next: u64,
    in_flight: Arc<InFlight>,
    done: mpsc::UnboundedSender<(u64, Option<Publish>)>,
}

/// The ticket of one message: hand the publish back when it has been answered.
pub(super) struct AckTicket {
    seq: u64,
    done: mpsc::UnboundedSender<(u64, Option<Publish>)>,
}

impl AckTicket {
    /// The message was answered: acknowledge it (in order, on its own connection only).
    pub(super) fn finish(self, publish: Publish) {
        // The sequencer outlives its tickets: this cannot fail.
        let _ = self.done.send((self.seq, Some(publish)));
    }

    /// Leaves the message unacknowledged for the broker to redeliver (a persistent
    /// session): nothing more is acknowledged on this connection, and the sequencer's
    /// resume hook is called once the earlier messages are acknowledged.
    pub(super) fn skip(self) {
        let _ = self.done.send((self.seq, None));
    }
}

impl AckSequencer {
    /// Starts the sequencer of connection `generation`: PUBACKs go to `sink` while `gate` is
    /// open for that generation, and are dropped after. `resume` is called on a skip.
    pub(super) fn start(
        generation: u64,
        gate: AckGate,
        sink: AckSink,
        resume: Box<dyn Fn()>,
        in_flight: Arc<InFlight>,
    ) -> AckSequencer {
        let (done, mut finished) = mpsc::unbounded_channel::<(u64, Option<Publish>)>();
        let settled = in_flight.clone();
        actix_rt::spawn(async move {
            let mut order = InOrder::default();
            let mut ended = false;
            while let Some((seq, publish)) = finished.recv().await {
                for publish in order.push(seq, publish) {
                    match publish {
                        Some(publish) if !ended => {
                            ended = !ack_if_live(&gate, generation, &sink, &publish).await;
                        }
                        None if !ended => {
                            ended = true;
                            resume();
                        }
                        // Acknowledging is over on this connection.
                        _ => {}
                    }
                    settled.settle();
                }
            }
        });
        AckSequencer {
            next: 0,
            in_flight,
            done,
        }
    }

    /// The ticket of the next message that arrived on this connection.
    pub(super) fn next(&mut self) -> AckTicket {
        let seq = self.next;
        self.next += 1;
        self.in_flight.count.fetch_add(1, Ordering::SeqCst);
        AckTicket {
            seq,
            done: self.done.clone(),
        }
    }
}

/// Queues the PUBACK of `publish` while connection `generation` is live (waiting while the
/// request channel is full); returns false when the connection has ended.
async fn ack_if_live(gate: &AckGate, generation: u64, sink: &AckSink, publish: &Publish) -> bool {
    loop {
        match gate.queue_if_live(generation, || sink(publish)) {
            None => return false,
            Some(Ok(())) => return true,
            Some(Err(_)) => tokio::time::sleep(CHANNEL_FULL_RETRY).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rumqttc::QoS;
    use std::cell::RefCell;
    use std::rc::Rc;

    #[test]
    fn in_order_holds_items_back_until_the_earlier_ones_are_in() {
        let mut order = InOrder::default();
        assert!(order.push(2, "c").is_empty());
        assert!(order.push(1, "b").is_empty());
        assert_eq!(order.push(0, "a"), vec!["a", "b", "c"]);
        assert_eq!(order.push(3, "d"), vec!["d"]);
    }

    #[test]
    fn the_gate_lets_only_the_live_generation_through() {
        let gate = AckGate::default();
        assert_eq!(gate.queue_if_live(1, || ()), None, "closed at first");
        gate.open(1);
        assert_eq!(gate.queue_if_live(1, || ()), Some(()));
        gate.close();
        assert_eq!(
            gate.queue_if_live(1, || ()),
            None,
            "closed between connections"
        );
        gate.open(2);
        assert_eq!(
            gate.queue_if_live(1, || ()),
            None,
            "an old generation stays out"
        );
        assert_eq!(gate.queue_if_live(2, || ()), Some(()));
    }

    fn publish(pkid: u16) -> Publish {
        let mut p = Publish::new("t/pos/1/api_ret", QoS::AtLeastOnce, "{}");
        p.pkid = pkid;
        p
    }

    /// A sequencer of generation `generation` whose acknowledgements land in `sent`.
    fn sequencer(
        generation: u64,
        gate: &AckGate,
        sent: &Rc<RefCell<Vec<(u64, u16)>>>,
        in_flight: &Arc<InFlight>,
    ) -> AckSequencer {
        let sent = sent.clone();
        let sink: AckSink = Box::new(move |p: &Publish| {
            sent.borrow_mut().push((generation, p.pkid));
            Ok(())
        });
        let gate = gate.clone();
        AckSequencer::start(
            generation,
            gate,
            sink,
            Box::new(|| panic!("nothing is skipped")),
            in_flight.clone(),
        )
    }

    async fn settle(in_flight: &InFlight) {
        while in_flight.count() > 0 {
            in_flight.idle().await;
        }
    }

    #[actix_rt::test]
    async fn an_old_connections_ticket_never_acknowledges_on_a_new_one() {
        let gate = AckGate::default();
        let sent = Rc::new(RefCell::new(Vec::new()));
        let in_flight = Arc::new(InFlight::default());
        gate.open(1);
        let mut old = sequencer(1, &gate, &sent, &in_flight);
        let (first, second, late) = (old.next(), old.next(), old.next());
        // Finished out of order: held back until the first is in.
        second.finish(publish(2));
        first.finish(publish(1));
        while sent.borrow().len() < 2 {
            tokio::task::yield_now().await;
        }
        // The connection ends and another comes up; the old connection's last ticket
        // finishes only now, with a packet id the new connection also uses.
        gate.close();
        gate.open(2);
        let mut new = sequencer(2, &gate, &sent, &in_flight);
        late.finish(publish(3));
        new.next().finish(publish(3));
        settle(&in_flight).await;
        assert_eq!(*sent.borrow(), vec![(1, 1), (1, 2), (2, 3)]);
    }

    #[actix_rt::test]
    async fn a_skip_ends_acknowledging_and_resumes() {
        let gate = AckGate::default();
        gate.open(1);
        let sent = Rc::new(RefCell::new(Vec::new()));
        let in_flight = Arc::new(InFlight::default());
        let resumed = Rc::new(RefCell::new(0));
        let (log, resumes) = (sent.clone(), resumed.clone());
        let mut acks = AckSequencer::start(
            1,
            gate,
            Box::new(move |p: &Publish| {
                log.borrow_mut().push((1, p.pkid));
                Ok(())
            }),
            Box::new(move || *resumes.borrow_mut() += 1),
            in_flight.clone(),
        );
        let (a, b, c) = (acks.next(), acks.next(), acks.next());
        c.finish(publish(3));
        b.skip();
        a.finish(publish(1));
        settle(&in_flight).await;
        assert_eq!(
            *sent.borrow(),
            vec![(1, 1)],
            "nothing after the skipped message"
        );
        assert_eq!(*resumed.borrow(), 1);
    }
}
