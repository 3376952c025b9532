//! One accounts shard: queue, batch, commit, answer.

use super::{AccountsConfig, Drain, PostReply};
use crate::ledger::{LedgerError, PostOutcome, PostRequest};
use crate::mailbox::Ask;
use crate::store::{Store, StoreError, TxFailure};
use actix::prelude::*;
use std::time::{Duration, Instant};
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
        let committer = Committer {
            store: self.store.clone(),
            retries: self.config.commit_retries_max,
            resolve: self.config.commit_resolve(),
        };
        let shard = self.index.to_string();
        let fut = async move {
            let (requests, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
            let size = requests.len();
            let started = Instant::now();
            let results = commit_with_retries(&committer, requests).await;
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

/// What a shard's commits need: the store and the retry settings.
#[derive(Clone)]
struct Committer {
    store: Store,
    retries: u32,
    resolve: Duration,
}

/// Commits `requests` as one batch; retries the whole batch on transaction conflicts. If the
/// batch fails for another reason and holds more than one request, each request is
/// committed alone, so that one request that cannot be written does not fail its neighbours.
async fn commit_with_retries(c: &Committer, requests: Vec<PostRequest>) -> Vec<PostReply> {
    match commit_retrying(c, requests.clone()).await {
        Ok(outcomes) => outcomes.into_iter().map(Ok).collect(),
        Err(e)
            if requests.len() > 1
                && !matches!(e, StoreError::Unavailable(_) | StoreError::CommitUnknown(_)) =>
        {
            let mut out = Vec::with_capacity(requests.len());
            for request in requests {
                out.push(
                    commit_retrying(c, vec![request])
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
    c: &Committer,
    requests: Vec<PostRequest>,
) -> Result<Vec<PostOutcome>, StoreError> {
    let mut attempt = 0;
    loop {
        match c.store.commit_batch_tentative(requests.clone()).await {
            Err(TxFailure {
                error: StoreError::Conflict(why),
                ..
            }) if attempt < c.retries => {
                attempt += 1;
                metrics::counter!("posgate_ledger_errors_total", "kind" => "conflict_retried")
                    .increment(1);
                tracing::debug!(attempt, why, "ledger batch conflict, retrying");
            }
            Err(TxFailure {
                error,
                tentative: Some(tentative),
            }) => {
                tracing::warn!(%error, size = requests.len(), "ledger commit outcome unknown, resolving");
                return resolve(c, requests, tentative).await;
            }
            other => return other.map_err(|e| e.error),
        }
    }
}

/// Finds out what a batch whose COMMIT answer was lost did, by submitting the same batch
/// again (every posting is idempotent by key) until the database answers or the time box
/// (`commit_resolve_seconds`) is over; then the error is [`StoreError::CommitUnknown`].
async fn resolve(
    c: &Committer,
    requests: Vec<PostRequest>,
    tentative: Vec<PostOutcome>,
) -> Result<Vec<PostOutcome>, StoreError> {
    let deadline = Instant::now() + c.resolve;
    let mut tentatives = vec![tentative];
    let mut pause = Duration::from_millis(50);
    loop {
        match c.store.commit_batch_tentative(requests.clone()).await {
            Ok(again) => return Ok(settle(&tentatives, again)),
            Err(TxFailure {
                tentative: Some(t), ..
            }) => tentatives.push(t),
            Err(TxFailure { error, .. }) if !error.is_transient() => {
                return Err(unresolved(requests.len(), &error.to_string()));
            }
            Err(_) => {}
        }
        if Instant::now() + pause > deadline {
            return Err(unresolved(
                requests.len(),
                "the database did not answer in time",
            ));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    }
}

/// Each request's true outcome after a lost COMMIT: the outcome the lost commit computed
/// when the resubmission replays exactly the journal row it wrote (it landed), otherwise the
/// resubmission's own (it did not land; the request is posted or refused now).
fn settle(tentatives: &[Vec<PostOutcome>], again: Vec<PostOutcome>) -> Vec<PostOutcome> {
    again
        .into_iter()
        .enumerate()
        .map(|(i, outcome)| {
            let landed = tentatives
                .iter()
                .filter_map(|t| t.get(i))
                .find(|t| outcome.replayed && t.transaction_id == outcome.transaction_id);
            let resolution = if landed.is_some() {
                "landed"
            } else {
                "resubmitted"
            };
            metrics::counter!("posgate_ledger_commit_unknown_total", "resolution" => resolution)
                .increment(1);
            landed.cloned().unwrap_or(outcome)
        })
        .collect()
}

/// The error of a batch whose outcome stays unknown; counts its requests.
fn unresolved(size: usize, why: &str) -> StoreError {
    metrics::counter!("posgate_ledger_commit_unknown_total", "resolution" => "unresolved")
        .increment(size as u64);
    StoreError::CommitUnknown(format!(
        "{why}; the postings may or may not be committed: retry with the same identity"
    ))
}

fn ledger_error(e: StoreError) -> LedgerError {
    let kind = match &e {
        StoreError::Unavailable(_) => "unavailable",
        StoreError::Constraint { .. } => "constraint",
        StoreError::Conflict(_) => "conflict",
        StoreError::Decode(_) => "decode",
        StoreError::Invariant(_) => "invariant",
        StoreError::CommitUnknown(_) => "commit_unknown",
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

#[cfg(test)]
mod tests {
    use super::settle;
    use crate::ledger::{Balances, Flags, PostOutcome};

    fn outcome(transaction_id: i64, replayed: bool) -> PostOutcome {
        PostOutcome {
            transaction_id,
            refusal: None,
            amount: 100,
            posted_amount: 100,
            balances: Balances::default(),
            flags: Flags::default(),
            replayed,
            key_conflict: false,
        }
    }

    #[test]
    fn a_replay_of_the_lost_commits_row_is_the_lost_commits_answer() {
        // Request 0: the lost commit landed (the resubmission replays its row 10).
        // Request 1: it did not (the resubmission posted row 21 now).
        // Request 2: it was a replay of an older row 5 all along.
        let lost = vec![outcome(10, false), outcome(11, false), outcome(5, true)];
        let again = vec![outcome(10, true), outcome(21, false), outcome(5, true)];
        let settled = settle(&[lost], again);
        assert_eq!(settled[0], outcome(10, false), "first answer, not a replay");
        assert_eq!(settled[1], outcome(21, false));
        assert_eq!(settled[2], outcome(5, true));
    }

    #[test]
    fn a_replay_of_another_row_is_the_resubmissions_answer() {
        // The lost commit's row 11 never landed, but another replica posted the key as 30.
        let settled = settle(&[vec![outcome(11, false)]], vec![outcome(30, true)]);
        assert_eq!(settled, vec![outcome(30, true)]);
    }
}
