//! A deliberately small SQL seam shared by the PostgreSQL and SQLite backends.
//!
//! Catalog CRUD and the ledger's load/write steps are written once against [`Db`]; each
//! backend implements it for an open transaction. Statements use `$1`-style placeholders
//! (the SQLite side rewrites them to `?1`), values are a closed [`Value`] enum, and rows come
//! back as `Vec<Value>`. Array values exist for PostgreSQL's `= ANY($1)` and `UNNEST` forms,
//! which turn a whole batch into one statement; SQLite, in-process, loops instead.

use async_trait::async_trait;

/// Which SQL dialect a [`Db`] speaks, for the few statements that differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// PostgreSQL (arrays, `UNNEST`, `FOR UPDATE`).
    Postgres,
    /// SQLite (one writer; `BEGIN IMMEDIATE`).
    Sqlite,
}

/// A value bound to or read from a statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// SQL NULL (as read back).
    Null,
    /// A BIGINT (may be NULL when bound).
    I64(Option<i64>),
    /// A TEXT (may be NULL when bound).
    Text(Option<String>),
    /// A BYTEA / BLOB (may be NULL when bound).
    Bytes(Option<Vec<u8>>),
    /// A BIGINT[] (PostgreSQL only).
    I64Array(Vec<i64>),
    /// A TEXT[] (PostgreSQL only).
    TextArray(Vec<String>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::I64(Some(v))
    }
}
impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        Value::I64(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(Some(v.to_string()))
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(Some(v))
    }
}
impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        Value::Text(v)
    }
}
impl From<Option<&str>> for Value {
    fn from(v: Option<&str>) -> Self {
        Value::Text(v.map(str::to_string))
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Bytes(Some(v))
    }
}
impl From<Vec<i64>> for Value {
    fn from(v: Vec<i64>) -> Self {
        Value::I64Array(v)
    }
}
impl From<Vec<String>> for Value {
    fn from(v: Vec<String>) -> Self {
        Value::TextArray(v)
    }
}

impl Value {
    /// The value's kind, for error messages (never its content: bytes may be large).
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::I64(_) => "integer",
            Value::Text(_) => "text",
            Value::Bytes(_) => "bytes",
            Value::I64Array(_) => "integer array",
            Value::TextArray(_) => "text array",
        }
    }
}

/// A row read back: one [`Value`] per selected column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row(pub Vec<Value>);

impl Row {
    /// Column `i` as a BIGINT; NULL or text reads as an error.
    pub fn i64(&self, i: usize) -> Result<i64, StoreError> {
        self.opt_i64(i)?
            .ok_or_else(|| StoreError::Decode(format!("column {i} is NULL")))
    }

    /// Column `i` as a nullable BIGINT.
    pub fn opt_i64(&self, i: usize) -> Result<Option<i64>, StoreError> {
        match self.0.get(i) {
            Some(Value::I64(v)) => Ok(*v),
            Some(Value::Null) => Ok(None),
            other => Err(StoreError::Decode(format!(
                "column {i}: expected integer, got {other:?}"
            ))),
        }
    }

    /// Column `i` as TEXT.
    pub fn text(&self, i: usize) -> Result<String, StoreError> {
        self.opt_text(i)?
            .ok_or_else(|| StoreError::Decode(format!("column {i} is NULL")))
    }

    /// Column `i` as nullable bytes (BYTEA / BLOB).
    pub fn opt_bytes(&self, i: usize) -> Result<Option<Vec<u8>>, StoreError> {
        match self.0.get(i) {
            Some(Value::Bytes(v)) => Ok(v.clone()),
            Some(Value::Null) => Ok(None),
            Some(other) => Err(StoreError::Decode(format!(
                "column {i}: expected bytes, got {}",
                other.kind()
            ))),
            None => Err(StoreError::Decode(format!("no column {i}"))),
        }
    }

    /// Column `i` as nullable TEXT.
    pub fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        match self.0.get(i) {
            Some(Value::Text(v)) => Ok(v.clone()),
            Some(Value::Null) => Ok(None),
            other => Err(StoreError::Decode(format!(
                "column {i}: expected text, got {other:?}"
            ))),
        }
    }
}

/// A store failure. Nothing of the failed transaction was committed, except after
/// [`StoreError::CommitUnknown`], whose transaction may or may not have been.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Connection, I/O or server failure; retrying later may succeed.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A unique or foreign-key constraint refused the write (`constraint` names it).
    #[error("constraint violated: {constraint}")]
    Constraint {
        /// The constraint or column named by the database.
        constraint: String,
    },
    /// Deadlock, serialization failure or lost compare-and-set: retry the transaction.
    #[error("transaction conflict: {0}")]
    Conflict(String),
    /// A row did not have the expected shape (a bug or a schema mismatch).
    #[error("unexpected row: {0}")]
    Decode(String),
    /// A ledger invariant failed before writing; nothing was written.
    #[error("ledger invariant violated: {0}")]
    Invariant(String),
    /// COMMIT was sent but its answer was lost (connection cut, server shutting down): the
    /// transaction may or may not have been committed. Only a read-back (or an idempotent
    /// retry with the same keys) once the database answers tells which.
    #[error("commit outcome unknown: {0}")]
    CommitUnknown(String),
}

impl StoreError {
    /// Whether the database may answer if asked again later (unavailable, conflict, or a
    /// commit whose outcome is unknown).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StoreError::Unavailable(_) | StoreError::Conflict(_) | StoreError::CommitUnknown(_)
        )
    }
}

/// An open transaction of either backend.
#[async_trait(?Send)]
pub trait Db {
    /// The dialect, for the statements that differ.
    fn dialect(&self) -> Dialect;
    /// Runs a query and returns its rows.
    async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError>;
    /// Runs a statement and returns the number of rows it changed.
    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, StoreError>;
    /// Runs a script of several statements without parameters (migrations).
    async fn batch(&self, sql: &str) -> Result<(), StoreError>;
}

/// Runs a query expected to return at most one row.
pub async fn query_opt(
    db: &dyn Db,
    sql: &str,
    params: &[Value],
) -> Result<Option<Row>, StoreError> {
    Ok(db.query(sql, params).await?.into_iter().next())
}

/// Runs a query expected to return exactly one row.
pub async fn query_one(db: &dyn Db, sql: &str, params: &[Value]) -> Result<Row, StoreError> {
    query_opt(db, sql, params)
        .await?
        .ok_or_else(|| StoreError::Decode("expected one row, got none".into()))
}
