//! The ledger store: one [`Db`] seam, two backends.
//!
//! [`Store`] owns either a PostgreSQL pool (production and cluster) or one SQLite connection
//! (embedded default) and runs closures in a database transaction on it. Everything above
//! (catalog CRUD in [`catalog`], the ledger's batch commit in [`ledger_io`]) is written once
//! against [`Db`], so the conformance suite runs the same code on both.

pub mod admin_audit;
pub mod admin_credentials;
pub mod announcements;
pub mod audit;
pub mod capabilities;
pub mod catalog;
pub mod change_feed;
pub mod commands;
pub mod console_sessions;
pub mod ds50;
pub mod exceptions;
pub mod intake;
pub mod jpos;
pub mod jpos_pins;
pub mod ktv;
pub mod ktv_report;
pub mod ledger_io;
pub mod migrate;
pub mod overview;
pub mod pospal;
pub mod postgres;
pub mod sql;
pub mod sqlite;
pub mod uploads;

pub use postgres::PgOptions;
pub use sql::{Db, Dialect, Row, StoreError, Value};

use crate::ledger::{PostOutcome, PostRequest};
use futures::future::LocalBoxFuture;
use std::sync::{Arc, Mutex};

/// Where the data lives.
#[derive(Clone)]
enum Backend {
    Postgres(postgres::PgPool),
    Sqlite(Arc<Mutex<rusqlite::Connection>>),
}

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: only the backend's name is shown.
        write!(f, "Store({})", self.backend_name())
    }
}

/// Current time in unix milliseconds.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Store {
    /// Connects to PostgreSQL with a pool shaped by `options`.
    pub async fn postgres(url: &str, options: &PgOptions) -> Result<Store, StoreError> {
        Ok(Store {
            backend: Backend::Postgres(postgres::connect(url, options).await?),
        })
    }

    /// Opens (creating if needed) the SQLite database file at `path` (`:memory:` for a
    /// private in-memory database).
    pub fn sqlite(path: &str) -> Result<Store, StoreError> {
        Ok(Store {
            backend: Backend::Sqlite(Arc::new(Mutex::new(sqlite::open(path)?))),
        })
    }

    /// `postgres` or `sqlite`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Postgres(_) => "postgres",
            Backend::Sqlite(_) => "sqlite",
        }
    }

    /// Runs `f` in one database transaction: committed if it returns `Ok`, rolled back
    /// otherwise. SQLite transactions run on a blocking thread (`BEGIN IMMEDIATE`). A
    /// COMMIT whose answer is lost fails with [`StoreError::CommitUnknown`].
    pub async fn transaction<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: for<'a> FnOnce(&'a dyn Db) -> LocalBoxFuture<'a, Result<R, StoreError>> + Send + 'static,
    {
        self.transaction_tentative(f).await.map_err(|e| e.error)
    }

    /// Like [`Store::transaction`], but a failure whose COMMIT outcome is unknown keeps the
    /// value `f` returned: it is the answer if (and only if) the commit did land.
    pub async fn transaction_tentative<R, F>(&self, f: F) -> Result<R, TxFailure<R>>
    where
        R: Send + 'static,
        F: for<'a> FnOnce(&'a dyn Db) -> LocalBoxFuture<'a, Result<R, StoreError>> + Send + 'static,
    {
        match &self.backend {
            Backend::Postgres(pool) => {
                let mut conn = pool.get().await.map_err(postgres::acquire_failed)?;
                let tx = conn.transaction().await.map_err(postgres::classify)?;
                match f(&postgres::PgTx(&tx)).await {
                    Ok(value) => match tx.commit().await.map_err(postgres::classify_commit) {
                        Ok(()) => Ok(value),
                        Err(error @ StoreError::CommitUnknown(_)) => Err(TxFailure {
                            error,
                            tentative: Some(value),
                        }),
                        Err(error) => Err(error.into()),
                    },
                    Err(e) => {
                        // Rollback errors are moot: the transaction is discarded either way.
                        let _ = tx.rollback().await;
                        Err(e.into())
                    }
                }
            }
            Backend::Sqlite(conn) => Ok(sqlite_transaction(conn.clone(), f).await?),
        }
    }

    /// The PostgreSQL pool's state (`None` on SQLite).
    pub fn pool_state(&self) -> Option<bb8::State> {
        match &self.backend {
            Backend::Postgres(pool) => Some(pool.state()),
            Backend::Sqlite(_) => None,
        }
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.transaction(|db| Box::pin(async move { db.query("SELECT 1", &[]).await.map(drop) }))
            .await
    }

    /// The database's migrations against this binary's: a read-only check for readiness.
    pub async fn schema_status(&self) -> Result<SchemaStatus, StoreError> {
        let applied: Vec<i64> = self
            .transaction(|db| {
                Box::pin(async move {
                    db.query("SELECT version FROM schema_migrations", &[])
                        .await?
                        .iter()
                        .map(|r| r.i64(0))
                        .collect()
                })
            })
            .await?;
        let known: Vec<i64> = migrate::MIGRATIONS.iter().map(|m| m.version).collect();
        let mut pending: Vec<i64> = known
            .iter()
            .copied()
            .filter(|v| !applied.contains(v))
            .collect();
        let mut ahead: Vec<i64> = applied.into_iter().filter(|v| !known.contains(v)).collect();
        pending.sort_unstable();
        ahead.sort_unstable();
        Ok(SchemaStatus { pending, ahead })
    }

    /// What waits for an operator and which devices are present, for the metrics: open
    /// offline exceptions, dead partner letters, terminals seen since `seen_since_ms` by
    /// family (every request of a terminal counts as presence).
    pub async fn backlog(&self, seen_since_ms: i64) -> Result<Backlog, StoreError> {
        self.transaction(move |db| Box::pin(overview::backlog(db, seen_since_ms)))
            .await
    }

    /// Applies pending migrations; returns the versions applied now.
    pub async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        let mut applied = Vec::new();
        for (i, m) in migrate::MIGRATIONS.iter().enumerate() {
            let now = now_ms();
            if self
                .transaction(move |db| {
                    Box::pin(async move { migrate::apply(db, &migrate::MIGRATIONS[i], now).await })
                })
                .await?
            {
                applied.push(m.version);
            }
        }
        Ok(applied)
    }

    /// Commits a batch of posting requests in one transaction (see [`ledger_io`]).
    pub async fn commit_batch(
        &self,
        requests: Vec<PostRequest>,
    ) -> Result<Vec<PostOutcome>, StoreError> {
        self.commit_batch_tentative(requests)
            .await
            .map_err(|e| e.error)
    }

    /// [`Store::commit_batch`], keeping the outcomes the batch would have when its COMMIT
    /// answer is lost (see [`Store::transaction_tentative`]).
    pub async fn commit_batch_tentative(
        &self,
        requests: Vec<PostRequest>,
    ) -> Result<Vec<PostOutcome>, TxFailure<Vec<PostOutcome>>> {
        let now = now_ms();
        self.transaction_tentative(move |db| {
            Box::pin(async move { ledger_io::commit_batch(db, &requests, now).await })
        })
        .await
    }
}

/// The database's migrations compared with this binary's ([`Store::schema_status`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaStatus {
    /// Versions this binary has that the database lacks (not ready).
    pub pending: Vec<i64>,
    /// Versions the database has that this binary does not know: a newer release's
    /// expand-only migrations, applied ahead of a rolling upgrade (still ready).
    pub ahead: Vec<i64>,
}

/// Counts for the metrics ([`Store::backlog`]) and the console ([`overview::read`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Offline exceptions still `open`.
    pub open_exceptions: i64,
    /// Partner messages (`partner_intake`) that are `dead`.
    pub dead_letters: i64,
    /// Terminals seen recently, by family.
    pub devices_seen: Vec<(String, i64)>,
}

/// A failed transaction of [`Store::transaction_tentative`].
#[derive(Debug)]
pub struct TxFailure<R> {
    /// Why it failed.
    pub error: StoreError,
    /// With [`StoreError::CommitUnknown`]: what the transaction returned before its COMMIT,
    /// true if the commit landed.
    pub tentative: Option<R>,
}

impl<R> From<StoreError> for TxFailure<R> {
    fn from(error: StoreError) -> Self {
        TxFailure {
            error,
            tentative: None,
        }
    }
}

/// Runs `f` in a `BEGIN IMMEDIATE` transaction on a blocking thread. An in-process COMMIT
/// has a definite outcome: a failed one is rolled back.
async fn sqlite_transaction<R, F>(
    conn: Arc<Mutex<rusqlite::Connection>>,
    f: F,
) -> Result<R, StoreError>
where
    R: Send + 'static,
    F: for<'a> FnOnce(&'a dyn Db) -> LocalBoxFuture<'a, Result<R, StoreError>> + Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        let guard = conn
            .lock()
            .map_err(|_| StoreError::Unavailable("sqlite connection poisoned".into()))?;
        guard
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(sqlite::classify)?;
        let result = futures::executor::block_on(f(&sqlite::SqliteTx(&guard)));
        match result {
            Ok(value) => match guard.execute_batch("COMMIT") {
                Ok(()) => Ok(value),
                Err(e) => {
                    let _ = guard.execute_batch("ROLLBACK");
                    Err(sqlite::classify(e))
                }
            },
            Err(e) => {
                let _ = guard.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    })
    .await
    .map_err(|e| StoreError::Unavailable(format!("sqlite worker failed: {e}")))?
}
