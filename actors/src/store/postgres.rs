//! PostgreSQL backend: bb8 pool of tokio-postgres connections.
//!
//! Statements go out with `query_typed` (parameter types sent with the statement), so no
//! prepare round trip is spent per statement. Errors are classified by SQLSTATE into the
//! retryable [`StoreError::Conflict`] (deadlock, serialization failure), constraint
//! violations, and unavailability; a COMMIT whose answer is lost is
//! [`StoreError::CommitUnknown`] ([`classify_commit`]).

use super::sql::{Db, Dialect, Row, StoreError, Value};
use async_trait::async_trait;
use bb8_postgres::PostgresConnectionManager;
use std::time::Duration;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::NoTls;

/// Connection pool type.
pub type PgPool = bb8::Pool<PostgresConnectionManager<NoTls>>;

/// Pool and connection settings of the PostgreSQL backend (`database.*` settings).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgOptions {
    /// Most connections in the pool.
    pub pool_size: u32,
    /// Longest a transaction waits for a pooled connection (including opening a new one)
    /// before it fails as unavailable.
    pub acquire_timeout: Duration,
    /// Longest opening one TCP connection and logging in may take.
    pub connect_timeout: Duration,
    /// Longest sent data may stay unacknowledged before the kernel drops the connection
    /// (`TCP_USER_TIMEOUT`); zero keeps the system default.
    pub tcp_user_timeout: Duration,
    /// A connection older than this is closed and replaced; `None` = never.
    pub max_lifetime: Option<Duration>,
    /// An idle connection unused this long is closed; `None` = never.
    pub idle_timeout: Option<Duration>,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            pool_size: 16,
            acquire_timeout: Duration::from_millis(500),
            connect_timeout: Duration::from_millis(2000),
            tcp_user_timeout: Duration::from_millis(10_000),
            max_lifetime: Some(Duration::from_secs(1800)),
            idle_timeout: Some(Duration::from_secs(600)),
        }
    }
}

impl PgOptions {
    /// The default settings with a pool of `pool_size` connections.
    pub fn with_pool_size(pool_size: u32) -> PgOptions {
        PgOptions {
            pool_size,
            ..PgOptions::default()
        }
    }
}

/// Opens a pool to `url` with `options`. Fails if a first connection cannot be opened.
pub async fn connect(url: &str, options: &PgOptions) -> Result<PgPool, StoreError> {
    let mut config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| StoreError::Unavailable(format!("bad database url: {e}")))?;
    config.connect_timeout(options.connect_timeout);
    if !options.tcp_user_timeout.is_zero() {
        config.tcp_user_timeout(options.tcp_user_timeout);
    }
    let manager = PostgresConnectionManager::new(config, NoTls);
    let pool = bb8::Pool::builder()
        .max_size(options.pool_size.max(1))
        .connection_timeout(options.acquire_timeout)
        .max_lifetime(options.max_lifetime)
        .idle_timeout(options.idle_timeout)
        .build(manager)
        .await
        .map_err(unavailable)?;
    // The first connection, bounded by the connect timeout rather than the (shorter)
    // acquire timeout: a database that is slow to answer at start is not yet an outage.
    drop(pool.dedicated_connection().await.map_err(unavailable)?);
    Ok(pool)
}

/// Maps a failure to get a pooled connection; counts the timeouts.
pub fn acquire_failed(e: bb8::RunError<tokio_postgres::Error>) -> StoreError {
    if matches!(e, bb8::RunError::TimedOut) {
        metrics::counter!("posgate_db_pool_acquire_timeouts_total").increment(1);
        return StoreError::Unavailable("no database connection within the acquire timeout".into());
    }
    unavailable(e)
}

/// Maps an error of COMMIT. The server refusing the commit (SQLSTATE class 40 - deadlock,
/// serialization failure - or 23, a deferred constraint) rolled it back; anything else
/// (connection lost, server terminating the session, `40003` statement completion unknown)
/// leaves it unknown whether the transaction was committed.
pub fn classify_commit(e: tokio_postgres::Error) -> StoreError {
    match e.code().map(SqlState::code) {
        Some(code)
            if code != SqlState::T_R_STATEMENT_COMPLETION_UNKNOWN.code()
                && (code.starts_with("40") || code.starts_with("23")) =>
        {
            classify(e)
        }
        _ => StoreError::CommitUnknown(e.to_string()),
    }
}

/// Maps a tokio-postgres error onto a [`StoreError`].
pub fn classify(e: tokio_postgres::Error) -> StoreError {
    match e.code() {
        Some(code)
            if *code == SqlState::T_R_DEADLOCK_DETECTED
                || *code == SqlState::T_R_SERIALIZATION_FAILURE =>
        {
            StoreError::Conflict(code.code().to_string())
        }
        Some(code)
            if *code == SqlState::UNIQUE_VIOLATION
                || *code == SqlState::FOREIGN_KEY_VIOLATION
                || *code == SqlState::CHECK_VIOLATION
                || *code == SqlState::NOT_NULL_VIOLATION =>
        {
            let constraint = e
                .as_db_error()
                .and_then(|d| d.constraint().map(str::to_string))
                .unwrap_or_else(|| code.code().to_string());
            StoreError::Constraint { constraint }
        }
        _ => unavailable(e),
    }
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// An open PostgreSQL transaction seen through [`Db`].
pub struct PgTx<'a>(pub &'a tokio_postgres::Transaction<'a>);

fn typed(params: &[Value]) -> Vec<(&(dyn ToSql + Sync), Type)> {
    params
        .iter()
        .map(|v| -> (&(dyn ToSql + Sync), Type) {
            match v {
                Value::Null => (&None::<i64>, Type::INT8),
                Value::I64(x) => (x, Type::INT8),
                Value::Text(x) => (x, Type::TEXT),
                Value::Bytes(x) => (x, Type::BYTEA),
                Value::I64Array(x) => (x, Type::INT8_ARRAY),
                Value::TextArray(x) => (x, Type::TEXT_ARRAY),
            }
        })
        .collect()
}

fn convert(row: &tokio_postgres::Row) -> Result<Row, StoreError> {
    let mut out = Vec::with_capacity(row.len());
    for (i, col) in row.columns().iter().enumerate() {
        let decode = |e: tokio_postgres::Error| StoreError::Decode(e.to_string());
        let v = match *col.type_() {
            Type::INT8 => Value::I64(row.try_get::<_, Option<i64>>(i).map_err(decode)?),
            Type::INT4 => Value::I64(
                row.try_get::<_, Option<i32>>(i)
                    .map_err(decode)?
                    .map(i64::from),
            ),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
                Value::Text(row.try_get::<_, Option<String>>(i).map_err(decode)?)
            }
            Type::BYTEA => Value::Bytes(row.try_get::<_, Option<Vec<u8>>>(i).map_err(decode)?),
            ref other => {
                return Err(StoreError::Decode(format!(
                    "column {} has unsupported type {other}",
                    col.name()
                )))
            }
        };
        out.push(match v {
            Value::I64(None) | Value::Text(None) | Value::Bytes(None) => Value::Null,
            v => v,
        });
    }
    Ok(Row(out))
}

#[async_trait(?Send)]
impl Db for PgTx<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        let rows = self
            .0
            .query_typed(sql, &typed(params))
            .await
            .map_err(classify)?;
        rows.iter().map(convert).collect()
    }

    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        self.0
            .execute_typed(sql, &typed(params))
            .await
            .map_err(classify)
    }

    async fn batch(&self, sql: &str) -> Result<(), StoreError> {
        self.0.batch_execute(sql).await.map_err(classify)
    }
}
