//! The offline exception queue: MQTT POS offline records (modes 51/52) the ledger could not
//! book (an unknown user, a frozen account, inconsistent amounts). The meal was served and
//! the device has moved on, so a record is never dropped: it is kept raw, one row per device
//! record (terminal + `posNum`), until an operator books it to an account or writes it off.

use super::sql::{query_opt, Db, Row, StoreError};
use serde::{Deserialize, Serialize};

/// An offline record waiting for (or resolved by) an operator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OfflineException {
    /// Id.
    pub id: i64,
    /// Terminal key (`mqtt:{deviceId}`).
    pub terminal: String,
    /// The device's `posNum`.
    pub pos_num: i64,
    /// The terminal's merchant.
    pub merchant_id: i64,
    /// `userId` as the device sent it.
    pub user_id: String,
    /// The spec's mode (51 amount, 52 copies).
    pub mode: i64,
    /// What the device charged: fen after its discount (mode 51), copies (mode 52).
    pub amount: i64,
    /// Why it could not be booked (`unknown_user`, `account_frozen`,
    /// `offline_money_above_pay_money`, or another ledger refusal's name).
    pub reason: String,
    /// The record's fields as the device sent them (JSON object).
    pub raw: serde_json::Value,
    /// `open`, `booked` or `written_off`.
    pub status: String,
    /// The operator's note on resolution.
    pub resolution_note: Option<String>,
    /// Ledger key of the booking, when booked.
    pub transaction_key: Option<String>,
    /// Recorded at, unix ms.
    pub created_at_ms: i64,
    /// Resolved at, unix ms.
    pub resolved_at_ms: Option<i64>,
}

/// A record to put in the queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewException {
    /// Terminal key.
    pub terminal: String,
    /// `posNum`.
    pub pos_num: i64,
    /// Merchant.
    pub merchant_id: i64,
    /// `userId`.
    pub user_id: String,
    /// Mode.
    pub mode: i64,
    /// Fen or copies, see [`OfflineException::amount`].
    pub amount: i64,
    /// Reason name.
    pub reason: String,
    /// Fields as sent (JSON object text).
    pub raw: String,
}

/// How an operator resolves an exception.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// Booked to an account (the ledger key is recorded).
    Booked,
    /// Written off: the merchant bears the loss.
    WrittenOff,
}

impl Resolution {
    const fn as_str(self) -> &'static str {
        match self {
            Resolution::Booked => "booked",
            Resolution::WrittenOff => "written_off",
        }
    }
}

const COLS: &str = "id, terminal, pos_num, merchant_id, user_id, mode, amount, reason, raw, \
     status, resolution_note, transaction_key, created_at_ms, resolved_at_ms";

fn exception_row(r: &Row) -> Result<OfflineException, StoreError> {
    Ok(OfflineException {
        id: r.i64(0)?,
        terminal: r.text(1)?,
        pos_num: r.i64(2)?,
        merchant_id: r.i64(3)?,
        user_id: r.text(4)?,
        mode: r.i64(5)?,
        amount: r.i64(6)?,
        reason: r.text(7)?,
        raw: serde_json::from_str(&r.text(8)?).unwrap_or(serde_json::Value::Null),
        status: r.text(9)?,
        resolution_note: r.opt_text(10)?,
        transaction_key: r.opt_text(11)?,
        created_at_ms: r.i64(12)?,
        resolved_at_ms: r.opt_i64(13)?,
    })
}

/// Queues a record unless the same device record (same bytes) is already queued; returns
/// the row and whether it is new (a device's retry of the same record is not).
pub async fn record(
    db: &dyn Db,
    new: &NewException,
    now_ms: i64,
) -> Result<(OfflineException, bool), StoreError> {
    use sha2::{Digest, Sha256};
    let digest = hex::encode(Sha256::digest(new.raw.as_bytes()));
    let inserted = db
        .execute(
            "INSERT INTO offline_exceptions (terminal, pos_num, merchant_id, user_id, mode, \
             amount, reason, raw, record_sha256, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (terminal, pos_num, record_sha256) DO NOTHING",
            &[
                new.terminal.clone().into(),
                new.pos_num.into(),
                new.merchant_id.into(),
                new.user_id.clone().into(),
                new.mode.into(),
                new.amount.into(),
                new.reason.clone().into(),
                new.raw.clone().into(),
                digest.clone().into(),
                now_ms.into(),
            ],
        )
        .await?;
    let sql = format!(
        "SELECT {COLS} FROM offline_exceptions \
         WHERE terminal = $1 AND pos_num = $2 AND record_sha256 = $3"
    );
    let params = [
        new.terminal.clone().into(),
        new.pos_num.into(),
        digest.into(),
    ];
    let row = query_opt(db, &sql, &params)
        .await?
        .ok_or_else(|| StoreError::Decode("offline exception vanished".into()))?;
    Ok((exception_row(&row)?, inserted > 0))
}

/// Reads one exception.
pub async fn get(db: &dyn Db, id: i64) -> Result<Option<OfflineException>, StoreError> {
    let sql = format!("SELECT {COLS} FROM offline_exceptions WHERE id = $1");
    query_opt(db, &sql, &[id.into()])
        .await?
        .as_ref()
        .map(exception_row)
        .transpose()
}

/// Lists exceptions, newest first: of one merchant and/or one status, ids below `before_id`.
pub async fn list(
    db: &dyn Db,
    merchant_id: Option<i64>,
    status: Option<&str>,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<OfflineException>, StoreError> {
    let sql = format!(
        "SELECT {COLS} FROM offline_exceptions WHERE ($1 IS NULL OR merchant_id = $1) \
         AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4"
    );
    db.query(
        &sql,
        &[
            merchant_id.into(),
            status.map(str::to_string).into(),
            before_id.into(),
            limit.into(),
        ],
    )
    .await?
    .iter()
    .map(exception_row)
    .collect()
}

/// Resolves an open exception; `false` when it is not open (any more).
pub async fn resolve(
    db: &dyn Db,
    id: i64,
    resolution: Resolution,
    note: &str,
    transaction_key: Option<&str>,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let n = db
        .execute(
            "UPDATE offline_exceptions SET status = $2, resolution_note = $3, \
             transaction_key = $4, resolved_at_ms = $5 WHERE id = $1 AND status = 'open'",
            &[
                id.into(),
                resolution.as_str().into(),
                note.into(),
                transaction_key.map(str::to_string).into(),
                now_ms.into(),
            ],
        )
        .await?;
    Ok(n > 0)
}
