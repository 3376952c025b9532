//! The ledger store: one [`Db`] seam, two backends.
//!
//! [`Store`] owns either a PostgreSQL pool (production and cluster) or one SQLite connection
//! (embedded default) and runs closures in a database transaction on it. Everything above
//! (catalog CRUD in [`catalog`], the ledger's batch commit in [`ledger_io`]) is written once
//! against [`Db`], so the conformance suite runs the same code on both.

pub mod audit;
pub mod capabilities;
pub mod catalog;
pub mod change_feed;
pub mod commands;
pub mod ds50;
pub mod exceptions;
pub mod intake;
pub mod jpos;
pub mod ktv;
pub mod ktv_report;
pub mod ledger_io;
pub mod migrate;
pub mod pospal;
pub mod postgres;
pub mod sql;
pub mod sqlite;
pub mod uploads;

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
    /// Connects to PostgreSQL with a pool of `pool_size` connections.
    pub async fn postgres(url: &str, pool_size: u32) -> Result<Store, StoreError> {
        Ok(Store {
            backend: Backend::Postgres(postgres::connect(url, pool_size).await?),
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
    /// otherwise. SQLite transactions run on a blocking thread (`BEGIN IMMEDIATE`).
    pub async fn transaction<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: for<'a> FnOnce(&'a dyn Db) -> LocalBoxFuture<'a, Result<R, StoreError>> + Send + 'static,
    {
        match &self.backend {
            Backend::Postgres(pool) => {
                let mut conn = pool
                    .get()
                    .await
                    .map_err(|e| StoreError::Unavailable(e.to_string()))?;
                let tx = conn.transaction().await.map_err(postgres::classify)?;
                let result = f(&postgres::PgTx(&tx)).await;
                match result {
                    Ok(value) => {
                        tx.commit().await.map_err(postgres::classify)?;
                        Ok(value)
                    }
                    Err(e) => {
                        // Rollback errors are moot: the transaction is discarded either way.
                        let _ = tx.rollback().await;
                        Err(e)
                    }
                }
            }
            Backend::Sqlite(conn) => {
                let conn = conn.clone();
                tokio::task::spawn_blocking(move || {
                    let guard = conn.lock().map_err(|_| {
                        StoreError::Unavailable("sqlite connection poisoned".into())
                    })?;
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
        }
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.transaction(|db| Box::pin(async move { db.query("SELECT 1", &[]).await.map(drop) }))
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
        let now = now_ms();
        self.transaction(move |db| {
            Box::pin(async move { ledger_io::commit_batch(db, &requests, now).await })
        })
        .await
    }
}
