//! SQLite backend: one connection, in WAL mode, used from blocking threads.
//!
//! SQLite has a single writer per database file, so the embedded mode keeps one connection
//! behind a mutex and runs every transaction (`BEGIN IMMEDIATE`) on a blocking thread, never
//! on an async worker. Statements are the shared `$1`-style ones, rewritten to SQLite's
//! `?1` numbered form, and cached per connection.

use super::sql::{Db, Dialect, Row, StoreError, Value};
use async_trait::async_trait;
use rusqlite::types::ValueRef;
use rusqlite::Connection;
use std::borrow::Cow;

/// Opens (creating if needed) the database file at `path`, or an in-memory database for
/// `:memory:`.
pub fn open(path: &str) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(classify)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(classify)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
    )
    .map_err(classify)?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

/// Maps a rusqlite error onto a [`StoreError`].
pub fn classify(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(err, msg)
            if err.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Constraint {
                constraint: msg.clone().unwrap_or_else(|| err.to_string()),
            }
        }
        rusqlite::Error::SqliteFailure(err, _)
            if err.code == rusqlite::ErrorCode::DatabaseBusy
                || err.code == rusqlite::ErrorCode::DatabaseLocked =>
        {
            StoreError::Conflict(e.to_string())
        }
        _ => StoreError::Unavailable(e.to_string()),
    }
}

/// Rewrites `$1` placeholders to `?1`. `$` does not appear in posgate's SQL otherwise.
fn rewrite(sql: &str) -> Cow<'_, str> {
    if sql.contains('$') {
        Cow::Owned(sql.replace('$', "?"))
    } else {
        Cow::Borrowed(sql)
    }
}

fn bind(params: &[Value]) -> Result<Vec<rusqlite::types::Value>, StoreError> {
    params
        .iter()
        .map(|v| match v {
            Value::Null | Value::I64(None) | Value::Text(None) | Value::Bytes(None) => {
                Ok(rusqlite::types::Value::Null)
            }
            Value::Bytes(Some(x)) => Ok(rusqlite::types::Value::Blob(x.clone())),
            Value::I64(Some(x)) => Ok(rusqlite::types::Value::Integer(*x)),
            Value::Text(Some(x)) => Ok(rusqlite::types::Value::Text(x.clone())),
            Value::I64Array(_) | Value::TextArray(_) => Err(StoreError::Decode(
                "array parameters are PostgreSQL-only".into(),
            )),
        })
        .collect()
}

/// An open SQLite transaction (or plain connection) seen through [`Db`].
pub struct SqliteTx<'a>(pub &'a Connection);

#[async_trait(?Send)]
impl Db for SqliteTx<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        let mut stmt = self.0.prepare_cached(&rewrite(sql)).map_err(classify)?;
        let columns = stmt.column_count();
        let values = bind(params)?;
        let mut rows = stmt
            .query(rusqlite::params_from_iter(values))
            .map_err(classify)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(classify)? {
            let mut cells = Vec::with_capacity(columns);
            for i in 0..columns {
                cells.push(match row.get_ref(i).map_err(classify)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(x) => Value::I64(Some(x)),
                    ValueRef::Text(t) => Value::Text(Some(String::from_utf8_lossy(t).into_owned())),
                    ValueRef::Blob(b) => Value::Bytes(Some(b.to_vec())),
                    ValueRef::Real(_) => {
                        return Err(StoreError::Decode(format!(
                            "column {i} is a floating-point number"
                        )))
                    }
                });
            }
            out.push(Row(cells));
        }
        Ok(out)
    }

    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        let mut stmt = self.0.prepare_cached(&rewrite(sql)).map_err(classify)?;
        let values = bind(params)?;
        let n = stmt
            .execute(rusqlite::params_from_iter(values))
            .map_err(classify)?;
        Ok(n as u64)
    }

    async fn batch(&self, sql: &str) -> Result<(), StoreError> {
        self.0.execute_batch(sql).map_err(classify)
    }
}
