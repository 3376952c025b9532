//! One accounts shard: queue, batch, commit, answer.

use super::{AccountsConfig, Drain, PostReply};
use crate::ledger::{LedgerError, PostRequest};
use crate::mailbox::Ask;
use crate::store::{Store, StoreError};
use actix::prelude::*;
use std::time::Instant;
use tokio::sync::oneshot;

type Pending = (PostRequest, oneshot::Sender<PostReply>);

/// A shard actor (see the module docs of [`crate::accounts`]).
pub struct Shard {
    index: usize,
    store: Store,
    config: AccountsConfig,
    pending: Vec<Pending>,
    in_flight: bool,
    timer: Option<SpawnHandle>,
    drain_waiters: Vec<oneshot::Sender<()>>,
}

impl Shard {
    /// A shard with nothing queued.
    pub fn new(index: usize, store: Store, config: AccountsConfig) -> Shard {
        Shard {
            index,
            store,
            config,
            pending: Vec::new(),
            in_flight: false,
            timer: None,
            drain_waiters: Vec::new(),
        }
    }

    /// Starts a commit if none is running and something is queued.
    fn flush(&mut self, ctx: &mut Context<Self>) {
        if let Some(timer) = self.timer.take() {
            ctx.cancel_future(timer);
        }
        if self.in_flight || self.pending.is_empty() {
            return;
        }
        let take = self.pending.len().min(self.config.batch_size_max.max(1));
        let batch: Vec<Pending> = self.pending.drain(..take).collect();
        self.in_flight = true;
        let store = self.store.clone();
        let retries = self.config.commit_retries_max;
        let shard = self.index.to_string();
        let fut = async move {
            let (requests, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
            let size = requests.len();
            let started = Instant::now();
            let results = commit_with_retries(&store, requests, retries).await;
            metrics::histogram!("posgate_accounts_batch_size", "shard" => shard.clone())
                .record(size as f64);
            metrics::histogram!("posgate_accounts_commit_seconds", "shard" => shard)
                .record(started.elapsed().as_secs_f64());
            for (reply, result) in replies.into_iter().zip(results) {
                // A caller that gave up waiting has dropped its receiver; nothing to do.
                let _ = reply.send(result);
            }
        };
        ctx.spawn(fut.into_actor(self).map(|(), act, ctx| {
            act.in_flight = false;
            if act.pending.is_empty() {
                for waiter in act.drain_waiters.drain(..) {
                    let _ = waiter.send(());
                }
            } else {
                // Whatever queued during the commit has waited long enough: go now.
                act.flush(ctx);
            }
        }));
    }
}

/// Commits `requests` as one batch; retries the whole batch on transaction conflicts. If the
/// batch fails for another reason and holds more than one request, each request is
/// committed alone, so that one request that cannot be written does not fail its neighbours.
async fn commit_with_retries(
    store: &Store,
    requests: Vec<PostRequest>,
    retries: u32,
) -> Vec<PostReply> {
    match commit_retrying(store, requests.clone(), retries).await {
        Ok(outcomes) => outcomes.into_iter().map(Ok).collect(),
        Err(e) if requests.len() > 1 && !matches!(e, StoreError::Unavailable(_)) => {
            let mut out = Vec::with_capacity(requests.len());
            for request in requests {
                out.push(
                    commit_retrying(store, vec![request], retries)
                        .await
                        .map_err(ledger_error)
                        .and_then(|mut o| {
                            o.pop()
                                .ok_or_else(|| LedgerError::Store("empty batch result".into()))
                        }),
                );
            }
            out
        }
        Err(e) => {
            let err = ledger_error(e);
            requests.iter().map(|_| Err(err.clone())).collect()
        }
    }
}

async fn commit_retrying(
    store: &Store,
    requests: Vec<PostRequest>,
    retries: u32,
) -> Result<Vec<crate::ledger::PostOutcome>, StoreError> {
    let mut attempt = 0;
    loop {
        match store.commit_batch(requests.clone()).await {
            Err(StoreError::Conflict(why)) if attempt < retries => {
                attempt += 1;
                metrics::counter!("posgate_ledger_errors_total", "kind" => "conflict_retried")
                    .increment(1);
                tracing::debug!(attempt, why, "ledger batch conflict, retrying");
            }
            other => return other,
        }
    }
}

fn ledger_error(e: StoreError) -> LedgerError {
    let kind = match &e {
        StoreError::Unavailable(_) => "unavailable",
        StoreError::Constraint { .. } => "constraint",
        StoreError::Conflict(_) => "conflict",
        StoreError::Decode(_) => "decode",
        StoreError::Invariant(_) => "invariant",
    };
    metrics::counter!("posgate_ledger_errors_total", "kind" => kind).increment(1);
    tracing::error!(kind, error = %e, "ledger batch failed");
    LedgerError::Store(e.to_string())
}

impl Actor for Shard {
    type Context = Context<Self>;
}

impl Handler<Ask<PostRequest, PostReply>> for Shard {
    type Result = ();

    fn handle(&mut self, msg: Ask<PostRequest, PostReply>, ctx: &mut Context<Self>) {
        self.pending.push((msg.query, msg.reply));
        if self.in_flight {
            return;
        }
        if self.pending.len() >= self.config.batch_size_max || self.config.commit_wait_us == 0 {
            self.flush(ctx);
        } else if self.timer.is_none() {
            self.timer = Some(ctx.run_later(self.config.commit_wait(), |act, ctx| {
                act.timer = None;
                act.flush(ctx);
            }));
        }
    }
}

impl Handler<Drain> for Shard {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: Drain, ctx: &mut Context<Self>) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        if self.pending.is_empty() && !self.in_flight {
            let _ = tx.send(());
        } else {
            self.drain_waiters.push(tx);
            self.flush(ctx);
        }
        Box::pin(async move {
            let _ = rx.await;
        })
    }
}

impl Message for Drain {
    type Result = ();
}
