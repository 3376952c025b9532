//! Bounded request/reply between actors, with back-pressure made explicit.
//!
//! `Addr::send` waits when a mailbox is full and `do_send` ignores the bound, so neither can
//! tell an adapter "busy, retry". Requests here travel as [`Ask`]: a query plus a oneshot
//! reply channel, sent with `try_send`, so a full mailbox is answered at once with
//! [`Rejected::Full`], which each protocol turns into its own retry code.

use actix::dev::ToEnvelope;
use actix::prelude::*;
use tokio::sync::oneshot;

/// A query and the channel its answer goes back on.
pub struct Ask<Q, R> {
    /// What is asked.
    pub query: Q,
    /// Where the answer goes.
    pub reply: oneshot::Sender<R>,
}

impl<Q: 'static, R: 'static> Message for Ask<Q, R> {
    type Result = ();
}

/// Why a request never reached the actor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    /// The mailbox is full: back-pressure; retry later.
    #[error("mailbox full")]
    Full,
    /// The actor has stopped.
    #[error("actor stopped")]
    Closed,
}

/// Sends `query` to `addr` without waiting for mailbox space; returns the reply channel.
/// A full mailbox is counted in `posgate_mailbox_rejections_total{kind}`.
pub fn try_ask<A, Q, R>(
    addr: &Addr<A>,
    kind: &'static str,
    query: Q,
) -> Result<oneshot::Receiver<R>, (Rejected, Q)>
where
    A: Actor + Handler<Ask<Q, R>>,
    A::Context: ToEnvelope<A, Ask<Q, R>>,
    Q: Send + 'static,
    R: Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    match addr.try_send(Ask { query, reply: tx }) {
        Ok(()) => Ok(rx),
        Err(SendError::Full(ask)) => {
            metrics::counter!("posgate_mailbox_rejections_total", "kind" => kind).increment(1);
            Err((Rejected::Full, ask.query))
        }
        Err(SendError::Closed(ask)) => Err((Rejected::Closed, ask.query)),
    }
}

/// Starts an actor on `arbiter` with a mailbox of `capacity` from the first message on.
///
/// `Actor::start_in_arbiter` creates the mailbox with actix's default capacity (16) and
/// lets the actor change it only once it runs on its arbiter, so messages sent right after
/// the spawn would see the default bound. Here the channel is made with the final capacity
/// before the address is handed out.
pub fn start_bounded<A, F>(arbiter: &ArbiterHandle, capacity: usize, f: F) -> Addr<A>
where
    A: Actor<Context = Context<A>>,
    F: FnOnce(&mut Context<A>) -> A + Send + 'static,
{
    let (tx, rx) = actix::dev::channel::channel(capacity.max(1));
    arbiter.spawn_fn(move || {
        let mut ctx = Context::with_receiver(rx);
        let actor = f(&mut ctx);
        actix::spawn(ctx.into_future(actor));
    });
    Addr::new(tx)
}
