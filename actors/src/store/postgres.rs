//! PostgreSQL backend: bb8 pool of tokio-postgres connections.
//!
//! Statements go out with `query_typed` (parameter types sent with the statement), so no
//! prepare round trip is spent per statement. Errors are classified by SQLSTATE into the
//! retryable [`StoreError::Conflict`] (deadlock, serialization failure), constraint
//! violations, and unavailability.

use super::sql::{Db, Dialect, Row, StoreError, Value};
use async_trait::async_trait;
use bb8_postgres::PostgresConnectionManager;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::NoTls;

/// Connection pool type.
pub type PgPool = bb8::Pool<PostgresConnectionManager<NoTls>>;

/// Opens a pool of `size` connections to `url`. Fails if the first connection fails.
pub async fn connect(url: &str, size: u32) -> Result<PgPool, StoreError> {
    let config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| StoreError::Unavailable(format!("bad database url: {e}")))?;
    let manager = PostgresConnectionManager::new(config, NoTls);
    let pool = bb8::Pool::builder()
        .max_size(size.max(1))
        .connection_timeout(std::time::Duration::from_secs(5))
        .build(manager)
        .await
        .map_err(unavailable)?;
    drop(
        pool.get()
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?,
    );
    Ok(pool)
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
