//! The accounts actor: N shards, each a group-commit batcher in front of the ledger store.
//!
//! An account is hashed to a shard, so all postings of one account pass through one shard in
//! arrival order. A shard gathers requests until it holds `batch_size_max` of them or
//! `commit_wait_us` has passed since the first, commits the whole batch in one database
//! transaction ([`crate::store::ledger_io`]), then answers every request. While a batch is
//! committing, new requests queue and go out together in the next one, so the batch size
//! grows with load by itself. Correctness never depends on the sharding: the store locks the
//! accounts' rows and compare-and-sets balances, so two gateway replicas (each with its own
//! shards) cannot overdraw an account between them.
//!
//! A batch whose COMMIT answer is lost ([`crate::store::StoreError::CommitUnknown`]) is not
//! answered "failed": every posting is idempotent by key, so the shard submits the same batch
//! again until the database answers (at most `commit_resolve_seconds`). A request the lost
//! commit did post comes back as a replay of the very journal row the lost commit wrote, and
//! is answered with that first outcome; the others are posted (or refused) now. Only when
//! the database stays away is the answer a store error meaning "outcome unknown, retry with
//! the same identity".

mod shard;

pub use shard::Shard;

use crate::ledger::{LedgerError, PostOutcome, PostRequest};
use crate::mailbox::{start_bounded, try_ask, Rejected};
use crate::store::Store;
use actix::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// Settings of the accounts actor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccountsConfig {
    /// Number of shard actors; 0 means one per CPU core.
    pub shards: usize,
    /// Most requests committed in one transaction.
    pub batch_size_max: usize,
    /// Longest a request waits for companions before its batch is committed, in µs.
    pub commit_wait_us: u64,
    /// Requests a shard may hold queued before it answers "busy".
    pub mailbox_capacity: usize,
    /// Times a batch is retried after a transaction conflict (deadlock, lost race).
    pub commit_retries_max: u32,
    /// How long a shard keeps asking the database for the outcome of a batch whose COMMIT
    /// answer was lost before it answers "outcome unknown, retry with the same identity".
    pub commit_resolve_seconds: u64,
}

impl Default for AccountsConfig {
    fn default() -> Self {
        AccountsConfig {
            shards: 0,
            batch_size_max: 256,
            commit_wait_us: 500,
            mailbox_capacity: 4096,
            commit_retries_max: 5,
            commit_resolve_seconds: 5,
        }
    }
}

impl AccountsConfig {
    /// The shard count with 0 resolved to the number of cores.
    pub fn shard_count(&self) -> usize {
        if self.shards == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            self.shards
        }
    }

    /// The commit wait as a duration.
    pub fn commit_wait(&self) -> Duration {
        Duration::from_micros(self.commit_wait_us)
    }

    /// The commit resolution time box as a duration.
    pub fn commit_resolve(&self) -> Duration {
        Duration::from_secs(self.commit_resolve_seconds)
    }
}

/// The reply a posting request gets.
pub type PostReply = Result<PostOutcome, LedgerError>;

/// Handle to the shards; cheap to clone.
///
/// Clones share the shards' addresses (one `Arc`): actix bounds a mailbox at its capacity
/// plus one slot per sender, and each cloned `Addr` would be a sender of its own.
#[derive(Clone)]
pub struct Accounts {
    shards: Arc<Vec<Addr<Shard>>>,
}

/// Asks a shard to commit what it holds now and answer when it has nothing in flight.
pub struct Drain;

impl Accounts {
    /// Starts the shards, each on its own arbiter (thread).
    pub fn start(store: Store, config: AccountsConfig) -> Accounts {
        let shards = (0..config.shard_count())
            .map(|index| {
                let store = store.clone();
                let config = config.clone();
                let arbiter = Arbiter::new();
                let capacity = config.mailbox_capacity;
                start_bounded(&arbiter.handle(), capacity, move |_| {
                    Shard::new(index, store, config)
                })
            })
            .collect();
        Accounts {
            shards: Arc::new(shards),
        }
    }

    /// Number of shards.
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// The shard that owns `account_id`.
    pub fn shard_of(&self, account_id: i64) -> usize {
        // Fibonacci hashing spreads sequential ids evenly.
        let h = (account_id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (h >> 32) as usize % self.shards.len()
    }

    /// Queues `request` on its shard without waiting for mailbox space; the receiver yields
    /// the answer. A full shard answers [`LedgerError::Busy`] at once.
    pub fn submit(
        &self,
        request: PostRequest,
    ) -> Result<oneshot::Receiver<PostReply>, LedgerError> {
        let shard = &self.shards[self.shard_of(request.account_id)];
        try_ask(shard, "accounts_shard", request).map_err(|(rejected, _)| match rejected {
            Rejected::Full => LedgerError::Busy,
            Rejected::Closed => LedgerError::ShuttingDown,
        })
    }

    /// Submits `request` and waits for its answer.
    pub async fn post(&self, request: PostRequest) -> PostReply {
        let rx = self.submit(request)?;
        rx.await.unwrap_or(Err(LedgerError::ShuttingDown))
    }

    /// Commits everything queued and waits for in-flight batches (graceful shutdown).
    pub async fn drain(&self) {
        for shard in self.shards.iter() {
            // A shard that has already stopped has nothing left to drain.
            let _ = shard.send(Drain).await;
        }
    }
}
