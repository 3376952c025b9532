//! Server-to-device commands (MQTT POS): what was sent to which terminal, whether the
//! device acknowledged it and with what result, and the documents served at `cmdDataUrl`
//! for commands too large for MQTT: each may be fetched up to
//! [`COMMAND_DOCUMENT_FETCHES_MAX`] times before it expires (a device retries a download
//! that failed), and is removed when the device acknowledges its command.

use super::sql::{query_opt, Db, Row, StoreError};
use serde::{Deserialize, Serialize};

/// A command as the admin API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceCommand {
    /// Command id.
    pub id: i64,
    /// Terminal it was sent to.
    pub terminal_id: i64,
    /// The spec's api name (`/pos/cmd`, `/pos/group_rule`...).
    pub api: String,
    /// `sAckId`, when an acknowledgement was asked for.
    pub ack_id: Option<String>,
    /// `inline` or `url` (`cmdDataUrl`).
    pub delivery: String,
    /// Size of the command document, bytes.
    pub payload_bytes: i64,
    /// `sent` (no ack asked), `pending`, `acknowledged` or `timed_out`.
    pub status: String,
    /// The device's result `code` (0 = success by the REST convention).
    pub result_code: Option<i64>,
    /// The device's result `msg`.
    pub result_msg: Option<String>,
    /// The device's result `data` (JSON text).
    pub result_data: Option<String>,
    /// Sent at, unix ms.
    pub created_at_ms: i64,
    /// Acknowledgement deadline, unix ms.
    pub expires_at_ms: i64,
    /// Acknowledged at, unix ms.
    pub acked_at_ms: Option<i64>,
}

const COLS: &str = "id, terminal_id, api, ack_id, delivery, payload_bytes, status, result_code, \
     result_msg, result_data, created_at_ms, expires_at_ms, acked_at_ms";

fn row(r: &Row, now_ms: i64) -> Result<DeviceCommand, StoreError> {
    let mut status = r.text(6)?;
    let expires_at_ms = r.i64(11)?;
    if status == "pending" && now_ms >= expires_at_ms {
        status = "timed_out".into();
    }
    Ok(DeviceCommand {
        id: r.i64(0)?,
        terminal_id: r.i64(1)?,
        api: r.text(2)?,
        ack_id: r.opt_text(3)?,
        delivery: r.text(4)?,
        payload_bytes: r.i64(5)?,
        status,
        result_code: r.opt_i64(7)?,
        result_msg: r.opt_text(8)?,
        result_data: r.opt_text(9)?,
        created_at_ms: r.i64(10)?,
        expires_at_ms,
        acked_at_ms: r.opt_i64(12)?,
    })
}

/// What a new command row records.
#[derive(Clone, Debug)]
pub struct NewCommand<'a> {
    /// Terminal.
    pub terminal_id: i64,
    /// Api name.
    pub api: &'a str,
    /// `sAckId`, if an acknowledgement is asked for.
    pub ack_id: Option<&'a str>,
    /// `inline` or `url`.
    pub delivery: &'a str,
    /// Document size.
    pub payload_bytes: i64,
    /// Now.
    pub now_ms: i64,
    /// Acknowledgement deadline.
    pub expires_at_ms: i64,
}

/// Records a command about to be sent.
pub async fn insert(db: &dyn Db, c: &NewCommand<'_>) -> Result<DeviceCommand, StoreError> {
    let status = if c.ack_id.is_some() {
        "pending"
    } else {
        "sent"
    };
    let sql = format!(
        "INSERT INTO device_commands (terminal_id, api, ack_id, delivery, payload_bytes, status, \
         created_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {COLS}"
    );
    let r = query_opt(
        db,
        &sql,
        &[
            c.terminal_id.into(),
            c.api.into(),
            c.ack_id.into(),
            c.delivery.into(),
            c.payload_bytes.into(),
            status.into(),
            c.now_ms.into(),
            c.expires_at_ms.into(),
        ],
    )
    .await?
    .ok_or_else(|| StoreError::Decode("insert returned no row".into()))?;
    row(&r, c.now_ms)
}

/// How many times a command document may be fetched: a device whose download failed
/// retries, and a leaked URL is not an open door for long.
pub const COMMAND_DOCUMENT_FETCHES_MAX: i64 = 5;

/// Records a device's acknowledgement; returns whether a pending command of that terminal
/// matched (a late, unknown or repeated `sAckId` matches nothing and changes nothing). The
/// command's document, if it had one, is no longer served.
pub async fn acknowledge(
    db: &dyn Db,
    terminal_id: i64,
    ack_id: &str,
    code: Option<i64>,
    msg: Option<&str>,
    data: Option<&str>,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let n = db
        .execute(
            "UPDATE device_commands SET status = 'acknowledged', result_code = $3, \
             result_msg = $4, result_data = $5, acked_at_ms = $6 \
             WHERE terminal_id = $1 AND ack_id = $2 AND status = 'pending'",
            &[
                terminal_id.into(),
                ack_id.into(),
                code.into(),
                msg.into(),
                data.into(),
                now_ms.into(),
            ],
        )
        .await?;
    db.execute(
        "DELETE FROM command_documents WHERE terminal_id = $1 AND ack_id = $2",
        &[terminal_id.into(), ack_id.into()],
    )
    .await?;
    Ok(n == 1)
}

/// Lists a terminal's commands, newest first.
pub async fn list(
    db: &dyn Db,
    terminal_id: i64,
    limit: i64,
    now_ms: i64,
) -> Result<Vec<DeviceCommand>, StoreError> {
    let sql = format!(
        "SELECT {COLS} FROM device_commands WHERE terminal_id = $1 ORDER BY id DESC LIMIT $2"
    );
    db.query(&sql, &[terminal_id.into(), limit.into()])
        .await?
        .iter()
        .map(|r| row(r, now_ms))
        .collect()
}

/// A command document to serve at `cmdDataUrl`.
#[derive(Clone, Debug)]
pub struct NewDocument<'a> {
    /// SHA-256 (hex) of the URL's token.
    pub token_sha256: &'a str,
    /// The document.
    pub body: &'a str,
    /// The terminal the command goes to.
    pub terminal_id: i64,
    /// The command's `sAckId`, when it asks for an acknowledgement (which removes the
    /// document).
    pub ack_id: Option<&'a str>,
    /// Served until, unix ms.
    pub expires_at_ms: i64,
}

/// Stores a command document under the SHA-256 of its URL token.
pub async fn put_document(db: &dyn Db, d: &NewDocument<'_>) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO command_documents (token_sha256, body, expires_at_ms, used, terminal_id, \
         ack_id) VALUES ($1, $2, $3, 0, $4, $5)",
        &[
            d.token_sha256.into(),
            d.body.into(),
            d.expires_at_ms.into(),
            d.terminal_id.into(),
            d.ack_id.into(),
        ],
    )
    .await
    .map(drop)
}

/// Serves a document: before it expires, up to [`COMMAND_DOCUMENT_FETCHES_MAX`] times, and
/// only until its command is acknowledged (see [`acknowledge`]). Expired and exhausted
/// documents are deleted on the way.
pub async fn fetch_document(
    db: &dyn Db,
    token_sha256: &str,
    now_ms: i64,
) -> Result<Option<String>, StoreError> {
    let body = query_opt(
        db,
        "UPDATE command_documents SET used = used + 1 WHERE token_sha256 = $1 AND used < $3 \
         AND expires_at_ms > $2 RETURNING body",
        &[
            token_sha256.into(),
            now_ms.into(),
            COMMAND_DOCUMENT_FETCHES_MAX.into(),
        ],
    )
    .await?
    .map(|r| r.text(0))
    .transpose()?;
    db.execute(
        "DELETE FROM command_documents WHERE expires_at_ms <= $1 OR used >= $2",
        &[now_ms.into(), COMMAND_DOCUMENT_FETCHES_MAX.into()],
    )
    .await?;
    Ok(body)
}
