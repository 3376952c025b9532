//! DS50 payment boxes: API keys (only their SHA-256 is stored) and the card-side record of
//! each sale (masked card number, card organisation, device date and time) that the
//! transaction details query joins to the journal. Written once against [`Db`].

use super::sql::{query_one, query_opt, Db, Row, StoreError};
use posgate_protocols::ds50::DEFAULT_MQTT_TOPIC;

/// A stored API key: which terminal it opens and until when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKey {
    /// Lowercase hex SHA-256 of the key.
    pub key_sha256: String,
    /// The DS50 terminal the key belongs to.
    pub terminal_id: i64,
    /// Unix milliseconds after which the key is refused.
    pub expires_at_ms: i64,
}

/// Stores the hash of a freshly issued key.
pub async fn insert_api_key(
    db: &dyn Db,
    key_sha256: &str,
    terminal_id: i64,
    expires_at_ms: i64,
    now_ms: i64,
) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO ds50_api_keys (key_sha256, terminal_id, expires_at_ms, created_at_ms) \
         VALUES ($1, $2, $3, $4)",
        &[
            key_sha256.into(),
            terminal_id.into(),
            expires_at_ms.into(),
            now_ms.into(),
        ],
    )
    .await?;
    Ok(())
}

/// Finds a key by its hash.
pub async fn find_api_key(db: &dyn Db, key_sha256: &str) -> Result<Option<ApiKey>, StoreError> {
    query_opt(
        db,
        "SELECT key_sha256, terminal_id, expires_at_ms FROM ds50_api_keys WHERE key_sha256 = $1",
        &[key_sha256.into()],
    )
    .await?
    .map(|r| {
        Ok(ApiKey {
            key_sha256: r.text(0)?,
            terminal_id: r.i64(1)?,
            expires_at_ms: r.i64(2)?,
        })
    })
    .transpose()
}

/// A stored merchant-wide API key: which merchant's DS50 devices it opens and until when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerchantApiKey {
    /// Lowercase hex SHA-256 of the key.
    pub key_sha256: String,
    /// The merchant whose DS50 devices the key opens.
    pub merchant_id: i64,
    /// Unix milliseconds after which the key is refused.
    pub expires_at_ms: i64,
}

/// Stores the hash of a freshly issued merchant-wide key.
pub async fn insert_merchant_api_key(
    db: &dyn Db,
    key_sha256: &str,
    merchant_id: i64,
    expires_at_ms: i64,
    now_ms: i64,
) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO ds50_merchant_api_keys (key_sha256, merchant_id, expires_at_ms, \
         created_at_ms) VALUES ($1, $2, $3, $4)",
        &[
            key_sha256.into(),
            merchant_id.into(),
            expires_at_ms.into(),
            now_ms.into(),
        ],
    )
    .await?;
    Ok(())
}

/// Finds a merchant-wide key by its hash.
pub async fn find_merchant_api_key(
    db: &dyn Db,
    key_sha256: &str,
) -> Result<Option<MerchantApiKey>, StoreError> {
    query_opt(
        db,
        "SELECT key_sha256, merchant_id, expires_at_ms FROM ds50_merchant_api_keys \
         WHERE key_sha256 = $1",
        &[key_sha256.into()],
    )
    .await?
    .map(|r| {
        Ok(MerchantApiKey {
            key_sha256: r.text(0)?,
            merchant_id: r.i64(1)?,
            expires_at_ms: r.i64(2)?,
        })
    })
    .transpose()
}

/// Revokes every key of a DS50 terminal; returns how many there were.
pub async fn revoke_device_keys(db: &dyn Db, terminal_id: i64) -> Result<u64, StoreError> {
    db.execute(
        "DELETE FROM ds50_api_keys WHERE terminal_id = $1",
        &[terminal_id.into()],
    )
    .await
}

/// Revokes every merchant-wide key of a merchant; returns how many there were.
pub async fn revoke_merchant_keys(db: &dyn Db, merchant_id: i64) -> Result<u64, StoreError> {
    db.execute(
        "DELETE FROM ds50_merchant_api_keys WHERE merchant_id = $1",
        &[merchant_id.into()],
    )
    .await
}

/// The card-side record of one sale.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaleRecord {
    /// The ledger idempotency key (`ds50:{sn}:{batch}:{trace}`).
    pub idempotency_key: String,
    /// The terminal actor key (`ds50:{sn}`).
    pub terminal_key: String,
    /// The device's date, `YYYY-MM-DD`.
    pub business_date: String,
    /// Masked card number (first 6, `****`, last 4).
    pub card_masked: String,
    /// Card organisation as sent.
    pub card_org: String,
    /// The device's time, `HH:MM:SS`.
    pub trans_time: String,
    /// Six-digit batch number.
    pub batch_no: String,
    /// Six-digit trace number.
    pub trace_no: String,
}

impl SaleRecord {
    /// Whether `other` is the same sale (a retry): same date, time and masked card.
    pub fn same_content(&self, other: &SaleRecord) -> bool {
        self.business_date == other.business_date
            && self.trans_time == other.trans_time
            && self.card_masked == other.card_masked
    }
}

/// The card side of the sale of `idempotency_key`, if one was recorded.
pub async fn find_sale(
    db: &dyn Db,
    idempotency_key: &str,
) -> Result<Option<SaleRecord>, StoreError> {
    query_opt(
        db,
        "SELECT idempotency_key, terminal_key, business_date, card_masked, card_org, \
         trans_time, batch_no, trace_no FROM ds50_sales WHERE idempotency_key = $1",
        &[idempotency_key.into()],
    )
    .await?
    .map(|r| sale_row(&r))
    .transpose()
}

fn sale_row(r: &Row) -> Result<SaleRecord, StoreError> {
    Ok(SaleRecord {
        idempotency_key: r.text(0)?,
        terminal_key: r.text(1)?,
        business_date: r.text(2)?,
        card_masked: r.text(3)?,
        card_org: r.text(4)?,
        trans_time: r.text(5)?,
        batch_no: r.text(6)?,
        trace_no: r.text(7)?,
    })
}

/// Records a sale's card side; a retried sale (same key) keeps the first record.
pub async fn record_sale(db: &dyn Db, sale: &SaleRecord, now_ms: i64) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO ds50_sales (idempotency_key, terminal_key, business_date, card_masked, \
         card_org, trans_time, batch_no, trace_no, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (idempotency_key) DO NOTHING",
        &[
            sale.idempotency_key.clone().into(),
            sale.terminal_key.clone().into(),
            sale.business_date.clone().into(),
            sale.card_masked.clone().into(),
            sale.card_org.clone().into(),
            sale.trans_time.clone().into(),
            sale.batch_no.clone().into(),
            sale.trace_no.clone().into(),
            now_ms.into(),
        ],
    )
    .await?;
    Ok(())
}

/// One entry of the details query: the sale record and its journal row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaleEntry {
    /// The card side.
    pub sale: SaleRecord,
    /// Journal id (the authorisation code is derived from it).
    pub journal_id: i64,
    /// Journal status (`posted`, `refused`, `voided`).
    pub status: String,
    /// Amount asked for, fen.
    pub amount: i64,
}

const ENTRY_COLS: &str = "s.idempotency_key, s.terminal_key, s.business_date, s.card_masked, \
     s.card_org, s.trans_time, s.batch_no, s.trace_no, j.id, j.status, j.amount";

fn entry_row(r: &Row) -> Result<SaleEntry, StoreError> {
    Ok(SaleEntry {
        sale: sale_row(r)?,
        journal_id: r.i64(8)?,
        status: r.text(9)?,
        amount: r.i64(10)?,
    })
}

/// The sales of one terminal on one device date that reached the journal: their count and
/// the page of `limit` entries after `offset`, oldest first.
pub async fn list_sales(
    db: &dyn Db,
    terminal_key: &str,
    business_date: &str,
    offset: i64,
    limit: i64,
) -> Result<(i64, Vec<SaleEntry>), StoreError> {
    let from = "FROM ds50_sales s JOIN journal j ON j.idempotency_key = s.idempotency_key \
                WHERE s.terminal_key = $1 AND s.business_date = $2";
    let total = query_one(
        db,
        &format!("SELECT COUNT(*) {from}"),
        &[terminal_key.into(), business_date.into()],
    )
    .await?
    .i64(0)?;
    let sql = format!("SELECT {ENTRY_COLS} {from} ORDER BY j.id LIMIT $3 OFFSET $4");
    let rows = db
        .query(
            &sql,
            &[
                terminal_key.into(),
                business_date.into(),
                limit.into(),
                offset.into(),
            ],
        )
        .await?
        .iter()
        .map(entry_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((total, rows))
}

/// A device's broker login as issued in its `posparam.ini`: the user name and the SHA-256
/// of the password (the password itself is never stored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MqttCredentials {
    /// `mqtt_username`.
    pub username: String,
    /// Lowercase hex SHA-256 of `mqtt_password`.
    pub password_sha256: String,
}

/// Records the topic prefix and the broker login a device was given in its `posparam.ini`
/// (replacing the previous ones).
pub async fn set_device_params(
    db: &dyn Db,
    terminal_id: i64,
    mqtt_topic: &str,
    login: &MqttCredentials,
    now_ms: i64,
) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO ds50_devices (terminal_id, mqtt_topic, mqtt_username, \
         mqtt_password_sha256, updated_at_ms) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (terminal_id) DO UPDATE SET mqtt_topic = excluded.mqtt_topic, \
         mqtt_username = excluded.mqtt_username, \
         mqtt_password_sha256 = excluded.mqtt_password_sha256, \
         updated_at_ms = excluded.updated_at_ms",
        &[
            terminal_id.into(),
            mqtt_topic.into(),
            login.username.clone().into(),
            login.password_sha256.clone().into(),
            now_ms.into(),
        ],
    )
    .await?;
    Ok(())
}

/// The broker login a device was last issued, if any.
pub async fn mqtt_credentials(
    db: &dyn Db,
    terminal_id: i64,
) -> Result<Option<MqttCredentials>, StoreError> {
    let Some(row) = query_opt(
        db,
        "SELECT mqtt_username, mqtt_password_sha256 FROM ds50_devices WHERE terminal_id = $1",
        &[terminal_id.into()],
    )
    .await?
    else {
        return Ok(None);
    };
    Ok(match (row.opt_text(0)?, row.opt_text(1)?) {
        (Some(username), Some(password_sha256)) => Some(MqttCredentials {
            username,
            password_sha256,
        }),
        _ => None,
    })
}

/// The topic prefix of a device (`pos/message`, [`DEFAULT_MQTT_TOPIC`], when none was set).
pub async fn mqtt_topic(db: &dyn Db, terminal_id: i64) -> Result<String, StoreError> {
    Ok(query_opt(
        db,
        "SELECT mqtt_topic FROM ds50_devices WHERE terminal_id = $1",
        &[terminal_id.into()],
    )
    .await?
    .map(|r| r.text(0))
    .transpose()?
    .unwrap_or_else(|| DEFAULT_MQTT_TOPIC.to_string()))
}

/// A device a broadcast can go to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BroadcastTarget {
    /// Terminal id.
    pub terminal_id: i64,
    /// Serial number (the terminal code).
    pub sn: String,
    /// Whether the terminal is active.
    pub active: bool,
    /// Its topic prefix.
    pub mqtt_topic: String,
}

/// A merchant's DS50 devices with their topic prefixes, by terminal id.
pub async fn broadcast_targets(
    db: &dyn Db,
    merchant_id: i64,
) -> Result<Vec<BroadcastTarget>, StoreError> {
    db.query(
        "SELECT t.id, t.code, t.status, d.mqtt_topic FROM terminals t \
         LEFT JOIN ds50_devices d ON d.terminal_id = t.id \
         WHERE t.merchant_id = $1 AND t.family = 'ds50' ORDER BY t.id",
        &[merchant_id.into()],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(BroadcastTarget {
            terminal_id: r.i64(0)?,
            sn: r.text(1)?,
            active: r.text(2)? == "active",
            mqtt_topic: r
                .opt_text(3)?
                .unwrap_or_else(|| DEFAULT_MQTT_TOPIC.to_string()),
        })
    })
    .collect()
}
