//! KTV venues (商户通): upload keys and options, the latest state of each upload kind, bills
//! and booking-cancellation notices. Written once against [`Db`].
//!
//! Bills are revenue reporting, not card debits: they are kept here, one row per
//! `ktv:{companycode}:{voucher}`, and never posted to the ledger (see `docs/protocols.md`).

use super::sql::{query_opt, Db, Dialect, Row, StoreError};
use posgate_protocols::ktv::{Bill, BookingCancelled, BusinessDate, OpenTime, OpenTimeVersion};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};

/// A venue's KTV options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KtvSettings {
    /// The upload key wrapped under the gateway's key-encryption key (hex); empty = none.
    pub key_wrapped: String,
    /// Whether realtime and vouchers must be sealed (false: inline JSON accepted too).
    pub encrypted: bool,
    /// The venue's cipher mode name (`aes-128-ecb-pkcs7`, `aes-128-cbc-pkcs7`); empty = the
    /// gateway's `ktv.cipher_mode`.
    pub cipher_mode: String,
    /// The key before the last rotation (wrapped), accepted until `previous_key_until_ms`;
    /// empty = none.
    pub previous_key_wrapped: String,
    /// End of the rotation's overlap window, unix ms.
    pub previous_key_until_ms: Option<i64>,
}

/// A change of a venue's options; `None` keeps what is stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SettingsChange {
    /// A new key, wrapped.
    pub key_wrapped: Option<String>,
    /// Whether realtime and vouchers must be sealed.
    pub encrypted: bool,
    /// The venue's cipher mode name; `Some("")` = back to the gateway's.
    pub cipher_mode: Option<String>,
    /// With a new key: how long the replaced key is still accepted, ms (0 = not at all).
    pub overlap_ms: i64,
}

/// Sets a venue's options. A new key with an overlap keeps the replaced one as the
/// previous key until `now_ms + overlap_ms`; a new key without one drops any previous key.
pub async fn set_settings(
    db: &dyn Db,
    companycode: &str,
    change: &SettingsChange,
    now_ms: i64,
) -> Result<(), StoreError> {
    let old = find_settings(db, companycode).await?;
    let (mut previous, mut until) = old
        .as_ref()
        .map(|o| (o.previous_key_wrapped.clone(), o.previous_key_until_ms))
        .unwrap_or_default();
    let current = old
        .as_ref()
        .map(|o| o.key_wrapped.clone())
        .unwrap_or_default();
    let key = match &change.key_wrapped {
        Some(new) if *new != current => {
            (previous, until) = if change.overlap_ms > 0 && !current.is_empty() {
                (current, Some(now_ms + change.overlap_ms))
            } else {
                (String::new(), None)
            };
            new.clone()
        }
        _ => current,
    };
    let mode = change
        .cipher_mode
        .clone()
        .or_else(|| old.as_ref().map(|o| o.cipher_mode.clone()))
        .unwrap_or_default();
    db.execute(
        "INSERT INTO ktv_venue_keys (companycode, key_wrapped, encrypted, updated_at_ms, \
         cipher_mode, previous_key_wrapped, previous_key_until_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (companycode) DO UPDATE SET key_wrapped = excluded.key_wrapped, \
         encrypted = excluded.encrypted, updated_at_ms = excluded.updated_at_ms, \
         cipher_mode = excluded.cipher_mode, previous_key_wrapped = excluded.previous_key_wrapped, \
         previous_key_until_ms = excluded.previous_key_until_ms",
        &[
            companycode.into(),
            key.into(),
            i64::from(change.encrypted).into(),
            now_ms.into(),
            mode.into(),
            previous.into(),
            until.into(),
        ],
    )
    .await?;
    Ok(())
}

/// A venue's options, if any were set.
pub async fn find_settings(
    db: &dyn Db,
    companycode: &str,
) -> Result<Option<KtvSettings>, StoreError> {
    query_opt(
        db,
        "SELECT key_wrapped, encrypted, cipher_mode, previous_key_wrapped, \
         previous_key_until_ms FROM ktv_venue_keys WHERE companycode = $1",
        &[companycode.into()],
    )
    .await?
    .map(|r| {
        Ok(KtvSettings {
            key_wrapped: r.text(0)?,
            encrypted: r.i64(1)? != 0,
            cipher_mode: r.text(2)?,
            previous_key_wrapped: r.text(3)?,
            previous_key_until_ms: r.opt_i64(4)?,
        })
    })
    .transpose()
}

/// Enables or disables a venue (`active` / `disabled`): a disabled venue's uploads are
/// answered `ret` 1 and nothing of them is stored. Returns whether the venue exists.
pub async fn set_venue_status(
    db: &dyn Db,
    companycode: &str,
    active: bool,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let status = if active { "active" } else { "disabled" };
    Ok(db
        .execute(
            "UPDATE venues SET status = $2, updated_at_ms = $3 WHERE companycode = $1",
            &[companycode.into(), status.into(), now_ms.into()],
        )
        .await?
        == 1)
}

/// Creates the venue's state row if it has none.
async fn ensure_state(db: &dyn Db, companycode: &str) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO ktv_venue_state (companycode) VALUES ($1) ON CONFLICT (companycode) DO NOTHING",
        &[companycode.into()],
    )
    .await?;
    Ok(())
}

/// Stores an openTime upload (the latest wins).
pub async fn save_open_time(db: &dyn Db, open: &OpenTime, now_ms: i64) -> Result<(), StoreError> {
    let code = open.companycode.as_str();
    ensure_state(db, code).await?;
    let (version_num, gateway) = match open.version {
        OpenTimeVersion::V1 => (None, None),
        OpenTimeVersion::V2 { version_num } => (Some(version_num), None),
        OpenTimeVersion::V3 {
            version_num,
            gateway,
        } => (Some(version_num), Some(gateway.code())),
    };
    db.execute(
        "UPDATE ktv_venue_state SET system = $2, open_time_version = $3, version_num = $4, \
         gateway_mode = $5, open_time = $6, close_time = $7, open_time_at_ms = $8 \
         WHERE companycode = $1",
        &[
            code.into(),
            open.system.clone().into(),
            i64::from(open.version.number()).into(),
            version_num.into(),
            gateway.into(),
            open.open_time.to_string().into(),
            open.close_time.to_string().into(),
            now_ms.into(),
        ],
    )
    .await?;
    Ok(())
}

/// Stores a realtime snapshot (the latest wins; rooms stay in upload order in the JSON).
pub async fn save_realtime(
    db: &dyn Db,
    companycode: &str,
    date: &str,
    snapshot_json: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    ensure_state(db, companycode).await?;
    db.execute(
        "UPDATE ktv_venue_state SET realtime_json = $2, realtime_date = $3, realtime_at_ms = $4 \
         WHERE companycode = $1",
        &[
            companycode.into(),
            snapshot_json.into(),
            date.into(),
            now_ms.into(),
        ],
    )
    .await?;
    Ok(())
}

/// Stores the payment settings (the latest list wins).
pub async fn save_payment_settings(
    db: &dyn Db,
    companycode: &str,
    settings_json: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    ensure_state(db, companycode).await?;
    db.execute(
        "UPDATE ktv_venue_state SET payment_settings_json = $2, payment_settings_at_ms = $3 \
         WHERE companycode = $1",
        &[companycode.into(), settings_json.into(), now_ms.into()],
    )
    .await?;
    Ok(())
}

/// Records the time of the last vouchers upload.
pub async fn touch_vouchers(db: &dyn Db, companycode: &str, now_ms: i64) -> Result<(), StoreError> {
    ensure_state(db, companycode).await?;
    db.execute(
        "UPDATE ktv_venue_state SET vouchers_at_ms = $2 WHERE companycode = $1",
        &[companycode.into(), now_ms.into()],
    )
    .await?;
    Ok(())
}

/// Stores booking-cancellation notices; a re-sent notice is kept once. Returns how many
/// were new.
pub async fn insert_notices(
    db: &dyn Db,
    companycode: &str,
    notices: &[BookingCancelled],
    now_ms: i64,
) -> Result<u64, StoreError> {
    ensure_state(db, companycode).await?;
    let mut inserted = 0;
    for n in notices {
        inserted += db
            .execute(
                "INSERT INTO ktv_notices (companycode, voucher, cancel_time, reserve_time, \
                 room_id, room_name, guest_name, staff_code, staff_name, remark, created_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                 ON CONFLICT (companycode, voucher, cancel_time) DO NOTHING",
                &[
                    companycode.into(),
                    n.voucher.clone().into(),
                    n.cancel_time.clone().into(),
                    n.reserve_time.clone().into(),
                    n.room_id.as_str().into(),
                    n.room_name.clone().into(),
                    n.guest_name.clone().into(),
                    n.staff_code.clone().into(),
                    n.staff_name.clone().into(),
                    n.remark.clone().into(),
                    now_ms.into(),
                ],
            )
            .await?;
    }
    db.execute(
        "UPDATE ktv_venue_state SET notify_at_ms = $2 WHERE companycode = $1",
        &[companycode.into(), now_ms.into()],
    )
    .await?;
    Ok(inserted)
}

/// A stored booking-cancellation notice (`notify` upload).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredNotice {
    /// Booking voucher.
    pub voucher: String,
    /// When it was cancelled (as sent).
    pub cancel_time: String,
    /// When it was booked for (as sent).
    pub reserve_time: String,
    /// Room id.
    pub room_id: String,
    /// Room name.
    pub room_name: String,
    /// Guest name.
    pub guest_name: String,
    /// Staff code.
    pub staff_code: String,
    /// Staff name.
    pub staff_name: String,
    /// Remark.
    pub remark: String,
    /// When posgate stored it, Unix milliseconds.
    pub created_at_ms: i64,
}

/// A venue's booking-cancellation notices, newest first.
pub async fn list_notices(
    db: &dyn Db,
    companycode: &str,
    limit: i64,
) -> Result<Vec<StoredNotice>, StoreError> {
    db.query(
        "SELECT voucher, cancel_time, reserve_time, room_id, room_name, guest_name, staff_code, \
         staff_name, remark, created_at_ms FROM ktv_notices WHERE companycode = $1 \
         ORDER BY created_at_ms DESC, cancel_time DESC, voucher LIMIT $2",
        &[companycode.into(), limit.into()],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(StoredNotice {
            voucher: r.text(0)?,
            cancel_time: r.text(1)?,
            reserve_time: r.text(2)?,
            room_id: r.text(3)?,
            room_name: r.text(4)?,
            guest_name: r.text(5)?,
            staff_code: r.text(6)?,
            staff_name: r.text(7)?,
            remark: r.text(8)?,
            created_at_ms: r.i64(9)?,
        })
    })
    .collect()
}

/// Where a bill came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BillSource {
    /// An HTTP vouchers upload.
    Upload,
    /// A WJ091 type 2 pull (backfill).
    Wj091,
}

impl BillSource {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            BillSource::Upload => "upload",
            BillSource::Wj091 => "wj091",
        }
    }
}

/// A bill reduced to what is stored: its day, flags, revenue by class and its JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreparedBill {
    /// Bill number.
    pub voucher: String,
    /// `yyyy-MM-dd`: `business_date`, or the date of `checkout_datetime` when absent.
    pub business_date: String,
    /// 1 room bill, 2 drinks bill.
    pub voucher_type: i64,
    /// The `revoke` code.
    pub revoke: i64,
    /// The `modify` code.
    pub modify: i64,
    /// In revenue (`revoke` 0).
    pub counted: bool,
    /// Charge class totals, fen: room, drinks, service, other, member, reduction.
    pub classes: [i64; 6],
    /// room + drinks + service + other + member - reduction, fen.
    pub net: i64,
    /// Sum of the payments' `translatemoney`, fen.
    pub payments_total: i64,
    /// 应收总额, fen (recorded, not checked).
    pub checkout_charge: i64,
    /// 实收总额, fen (recorded, not checked).
    pub fact_charge: i64,
    /// The bill as JSON.
    pub json: String,
    /// SHA-256 of [`PreparedBill::json`], hex: what "changed" compares.
    pub content_sha256: String,
    /// Whether this upload replaces a stored bill of the same voucher (`modify` 1/2 or a
    /// void notice, `revoke` non-zero).
    pub replaces: bool,
    /// Whether the bill carried its `business_date`; false: [`PreparedBill::business_date`]
    /// is the calendar date of `checkout_datetime` until [`resolve_days`] applies the
    /// venue's `close_time`.
    pub date_sent: bool,
    /// `checkout_datetime` as sent.
    pub checkout_datetime: String,
    /// Orders the revisions of one voucher: `{checkout_datetime}|{version, 20 digits}`.
    pub order_key: String,
}

/// The revision order of a bill: a re-settled bill (反结账) has a later checkout time, and a
/// venue that numbers its bill `version`s breaks ties with it.
fn order_key(bill: &Bill) -> String {
    let version = bill
        .version
        .trim()
        .split('.')
        .next()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    format!("{}|{version:020}", bill.checkout_datetime.trim())
}

impl PreparedBill {
    /// Prepares a (balance-checked) bill; an error names the field that cannot be stored.
    pub fn from_bill(bill: &Bill) -> Result<PreparedBill, String> {
        let date_sent = bill.business_date.is_some();
        let business_date = match &bill.business_date {
            Some(d) => d.as_str().to_string(),
            None => bill
                .checkout_datetime
                .get(..10)
                .and_then(|d| BusinessDate::parse(d).ok())
                .map(|d| d.as_str().to_string())
                .ok_or_else(|| {
                    format!(
                        "bill {}: no business_date and no checkout_datetime to take the day from",
                        bill.voucher
                    )
                })?,
        };
        let fit = |what: &str, v: i128| {
            i64::try_from(v).map_err(|_| format!("bill {}: {what} out of range", bill.voucher))
        };
        let t = bill.charge_totals();
        let classes = [
            fit("room", t.room)?,
            fit("drinks", t.drinks)?,
            fit("service", t.service)?,
            fit("other", t.other)?,
            fit("member", t.member)?,
            fit("reduction", t.reduction)?,
        ];
        let json = serde_json::to_string(bill).map_err(|e| e.to_string())?;
        Ok(PreparedBill {
            voucher: bill.voucher.clone(),
            business_date,
            voucher_type: bill.voucher_type.code(),
            revoke: bill.revoke.code(),
            modify: bill.modify.code(),
            counted: bill.counts_in_revenue(),
            classes,
            net: fit("net", t.net())?,
            payments_total: fit("payments total", bill.payments_total())?,
            checkout_charge: bill.checkout_charge.get(),
            fact_charge: bill.fact_charge.get(),
            content_sha256: hex::encode(Sha256::digest(json.as_bytes())),
            json,
            replaces: bill.modify.replaces_previous() || !bill.counts_in_revenue(),
            date_sent,
            checkout_datetime: bill.checkout_datetime.trim().to_string(),
            order_key: order_key(bill),
        })
    }
}

/// A venue's opening hours (openTime), `HH:mm:ss`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VenueHours {
    /// 营业开始时间.
    pub open_time: String,
    /// 营业结束时间.
    pub close_time: String,
}

/// The venue's last uploaded opening hours, if any.
pub async fn venue_hours(db: &dyn Db, companycode: &str) -> Result<Option<VenueHours>, StoreError> {
    Ok(query_opt(
        db,
        "SELECT open_time, close_time FROM ktv_venue_state WHERE companycode = $1",
        &[companycode.into()],
    )
    .await?
    .map(|r| -> Result<VenueHours, StoreError> {
        Ok(VenueHours {
            open_time: r.text(0)?,
            close_time: r.text(1)?,
        })
    })
    .transpose()?
    .filter(|h| !h.close_time.is_empty()))
}

/// The business day of a checkout at `checkout` (`yyyy-MM-dd HH:mm:ss`): its calendar date,
/// or the day before when the venue closes after midnight (`close_time` before
/// `open_time`) and the checkout is before `close_time` (a bill at 01:30 of a venue open
/// 12:00-03:00 belongs to the previous day). `None` when `checkout` has no date.
pub fn business_day_of(checkout: &str, hours: Option<&VenueHours>) -> Option<String> {
    let date = chrono::NaiveDate::parse_from_str(checkout.get(..10)?, "%Y-%m-%d").ok()?;
    let time = checkout.get(11..).unwrap_or("").trim();
    let before_close = hours.is_some_and(|h| {
        h.close_time < h.open_time && !time.is_empty() && time < h.close_time.as_str()
    });
    let day = if before_close { date.pred_opt()? } else { date };
    Some(day.format("%Y-%m-%d").to_string())
}

/// The bills with the business day of those that did not send one taken from their
/// checkout time and the venue's `close_time` ([`business_day_of`]).
pub async fn resolve_days(
    db: &dyn Db,
    companycode: &str,
    bills: Vec<PreparedBill>,
) -> Result<Vec<PreparedBill>, StoreError> {
    if bills.iter().all(|b| b.date_sent) {
        return Ok(bills);
    }
    let hours = venue_hours(db, companycode).await?;
    Ok(bills
        .into_iter()
        .map(|mut b| {
            if !b.date_sent {
                if let Some(day) = business_day_of(&b.checkout_datetime, hours.as_ref()) {
                    b.business_date = day;
                }
            }
            b
        })
        .collect())
}

/// What storing one bill did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BillOutcome {
    /// No bill of this voucher was stored: inserted.
    New,
    /// The same content was already stored: nothing written.
    Unchanged,
    /// Another version was stored and was replaced.
    Replaced,
    /// Another version is stored and this one does not say it replaces it (`modify` 0,
    /// `revoke` 0): refused.
    Conflict,
    /// An older revision than the stored one (earlier [`PreparedBill::order_key`]), arriving
    /// late: not applied, the newer one stays.
    Stale,
}

impl BillOutcome {
    /// The metrics label.
    pub const fn as_str(self) -> &'static str {
        match self {
            BillOutcome::New => "new",
            BillOutcome::Unchanged => "unchanged",
            BillOutcome::Replaced => "replaced",
            BillOutcome::Conflict => "conflict",
            BillOutcome::Stale => "stale",
        }
    }
}

/// How a differing version of a stored bill is treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplaceRule {
    /// Uploads: only a bill flagged 反结账/还原 or void replaces; any conflict refuses the
    /// whole batch (nothing is written).
    Flagged,
    /// Backfill: the venue system is the reference; a differing bill replaces the stored one.
    Always,
}

/// Stores `bills` of venue `companycode` (business days resolved, see [`resolve_days`]),
/// comparing each with the stored version of its voucher by the SHA-256 of its canonical
/// JSON (equal in meaning is equal). Under [`ReplaceRule::Flagged`], a revision older than
/// the stored one is [`BillOutcome::Stale`] and not applied, and if any bill is a
/// [`BillOutcome::Conflict`], nothing is written and the outcomes say which. A voucher that
/// appears more than once in `bills` is taken at its last occurrence; the earlier ones are
/// reported `Replaced`.
///
/// A voucher inserted by another replica between the read and the insert fails the
/// transaction with [`StoreError::Conflict`]: the caller retries it, and the retry compares
/// with what the other replica stored (nothing is reported unchanged without comparing).
///
/// On PostgreSQL the stored versions are read with one `= ANY` query and the new bills
/// inserted with one `UNNEST` statement; SQLite, in-process, loops.
pub async fn store_bills(
    db: &dyn Db,
    companycode: &str,
    bills: &[PreparedBill],
    source: BillSource,
    rule: ReplaceRule,
    now_ms: i64,
) -> Result<Vec<BillOutcome>, StoreError> {
    let stored = stored_versions(db, companycode, bills).await?;
    let plan = plan_bills(bills, &stored, rule);
    if plan.iter().any(|(o, _)| *o == BillOutcome::Conflict) {
        return Ok(plan.into_iter().map(|(o, _)| o).collect());
    }
    let fresh: Vec<&PreparedBill> = bills
        .iter()
        .zip(&plan)
        .filter(|(_, (o, _))| *o == BillOutcome::New)
        .map(|(b, _)| b)
        .collect();
    let inserted = insert_bills(db, companycode, &fresh, source, now_ms).await?;
    if let Some(lost) = fresh.iter().find(|b| !inserted.contains(&b.voucher)) {
        return Err(StoreError::Conflict(format!(
            "bill {} was stored concurrently",
            lost.voucher
        )));
    }
    let mut outcomes = Vec::with_capacity(bills.len());
    for (bill, (outcome, revision)) in bills.iter().zip(plan) {
        if let (BillOutcome::Replaced, Some(revision)) = (outcome, revision) {
            replace_bill(db, companycode, bill, source, revision, now_ms).await?;
        }
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// A stored version of a voucher.
struct StoredVersion {
    content_sha256: String,
    revision: i64,
    order_key: String,
}

/// What to do with each bill, with the stored revision it replaces.
fn plan_bills(
    bills: &[PreparedBill],
    stored: &HashMap<String, StoredVersion>,
    rule: ReplaceRule,
) -> Vec<(BillOutcome, Option<i64>)> {
    let last: HashMap<&str, usize> = bills
        .iter()
        .enumerate()
        .map(|(i, b)| (b.voucher.as_str(), i))
        .collect();
    bills
        .iter()
        .enumerate()
        .map(|(i, bill)| {
            if last[bill.voucher.as_str()] != i {
                return (BillOutcome::Replaced, None);
            }
            let Some(s) = stored.get(bill.voucher.as_str()) else {
                return (BillOutcome::New, None);
            };
            let outcome = if s.content_sha256 == bill.content_sha256 {
                BillOutcome::Unchanged
            } else if rule == ReplaceRule::Flagged && bill.order_key < s.order_key {
                BillOutcome::Stale
            } else if bill.replaces || rule == ReplaceRule::Always {
                BillOutcome::Replaced
            } else {
                BillOutcome::Conflict
            };
            (outcome, Some(s.revision))
        })
        .collect()
}

/// The stored version of each voucher of `bills` that is stored.
async fn stored_versions(
    db: &dyn Db,
    companycode: &str,
    bills: &[PreparedBill],
) -> Result<HashMap<String, StoredVersion>, StoreError> {
    let version = |row: &Row, at: usize| -> Result<StoredVersion, StoreError> {
        Ok(StoredVersion {
            content_sha256: row.text(at)?,
            revision: row.i64(at + 1)?,
            order_key: row.text(at + 2)?,
        })
    };
    let mut stored = HashMap::new();
    match db.dialect() {
        Dialect::Postgres => {
            let vouchers: Vec<String> = bills.iter().map(|b| b.voucher.clone()).collect();
            for row in db
                .query(
                    "SELECT voucher, content_sha256, revision, order_key FROM ktv_bills \
                     WHERE companycode = $1 AND voucher = ANY($2)",
                    &[companycode.into(), vouchers.into()],
                )
                .await?
            {
                stored.insert(row.text(0)?, version(&row, 1)?);
            }
        }
        Dialect::Sqlite => {
            for bill in bills {
                if let Some(row) = query_opt(
                    db,
                    "SELECT voucher, content_sha256, revision, order_key FROM ktv_bills \
                     WHERE companycode = $1 AND voucher = $2",
                    &[companycode.into(), bill.voucher.clone().into()],
                )
                .await?
                {
                    stored.insert(bill.voucher.clone(), version(&row, 1)?);
                }
            }
        }
    }
    Ok(stored)
}

const BILL_COLUMNS: &str = "companycode, voucher, business_date, voucher_type, revoke, modify, \
     counted, room, drinks, service, other, member, reduction, net, payments_total, \
     checkout_charge, fact_charge, content_sha256, bill_json, revision, source, created_at_ms, \
     updated_at_ms, order_key";

/// Inserts `bills` (none stored when planned); returns the vouchers actually inserted (a
/// concurrent replica may have inserted some first).
async fn insert_bills(
    db: &dyn Db,
    companycode: &str,
    bills: &[&PreparedBill],
    source: BillSource,
    now_ms: i64,
) -> Result<HashSet<String>, StoreError> {
    let mut inserted = HashSet::new();
    if bills.is_empty() {
        return Ok(inserted);
    }
    match db.dialect() {
        Dialect::Postgres => {
            let texts = |f: &dyn Fn(&PreparedBill) -> String| -> super::sql::Value {
                bills.iter().map(|b| f(b)).collect::<Vec<String>>().into()
            };
            let ints = |f: &dyn Fn(&PreparedBill) -> i64| -> super::sql::Value {
                bills.iter().map(|b| f(b)).collect::<Vec<i64>>().into()
            };
            let params = vec![
                companycode.into(),
                texts(&|b| b.voucher.clone()),
                texts(&|b| b.business_date.clone()),
                ints(&|b| b.voucher_type),
                ints(&|b| b.revoke),
                ints(&|b| b.modify),
                ints(&|b| i64::from(b.counted)),
                ints(&|b| b.classes[0]),
                ints(&|b| b.classes[1]),
                ints(&|b| b.classes[2]),
                ints(&|b| b.classes[3]),
                ints(&|b| b.classes[4]),
                ints(&|b| b.classes[5]),
                ints(&|b| b.net),
                ints(&|b| b.payments_total),
                ints(&|b| b.checkout_charge),
                ints(&|b| b.fact_charge),
                texts(&|b| b.content_sha256.clone()),
                texts(&|b| b.json.clone()),
                source.as_str().into(),
                now_ms.into(),
                texts(&|b| b.order_key.clone()),
            ];
            let sql = format!(
                "INSERT INTO ktv_bills ({BILL_COLUMNS}) \
                 SELECT $1, t.voucher, t.business_date, t.voucher_type, t.revoke, t.modify, \
                 t.counted, t.room, t.drinks, t.service, t.other, t.member, t.reduction, t.net, \
                 t.payments_total, t.checkout_charge, t.fact_charge, t.content_sha256, \
                 t.bill_json, 1, $20, $21, $21, t.order_key \
                 FROM UNNEST($2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], \
                 $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], \
                 $12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[], $16::bigint[], \
                 $17::bigint[], $18::text[], $19::text[], $22::text[]) \
                 AS t(voucher, business_date, voucher_type, revoke, modify, counted, room, \
                 drinks, service, other, member, reduction, net, payments_total, \
                 checkout_charge, fact_charge, content_sha256, bill_json, order_key) \
                 ON CONFLICT (companycode, voucher) DO NOTHING RETURNING voucher"
            );
            for row in db.query(&sql, &params).await? {
                inserted.insert(row.text(0)?);
            }
        }
        Dialect::Sqlite => {
            for bill in bills {
                if insert_bill(db, companycode, bill, source, now_ms).await? {
                    inserted.insert(bill.voucher.clone());
                }
            }
        }
    }
    Ok(inserted)
}

fn bill_values(companycode: &str, bill: &PreparedBill) -> Vec<super::sql::Value> {
    let mut v: Vec<super::sql::Value> = vec![
        companycode.into(),
        bill.voucher.clone().into(),
        bill.business_date.clone().into(),
        bill.voucher_type.into(),
        bill.revoke.into(),
        bill.modify.into(),
        i64::from(bill.counted).into(),
    ];
    v.extend(bill.classes.iter().map(|c| (*c).into()));
    v.extend([
        bill.net.into(),
        bill.payments_total.into(),
        bill.checkout_charge.into(),
        bill.fact_charge.into(),
        bill.content_sha256.clone().into(),
        bill.json.clone().into(),
    ]);
    v
}

async fn insert_bill(
    db: &dyn Db,
    companycode: &str,
    bill: &PreparedBill,
    source: BillSource,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let mut values = bill_values(companycode, bill);
    values.extend([
        source.as_str().into(),
        now_ms.into(),
        bill.order_key.clone().into(),
    ]);
    let n = db
        .execute(
            &format!(
                "INSERT INTO ktv_bills ({BILL_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
             $18, $19, 1, $20, $21, $21, $22) ON CONFLICT (companycode, voucher) DO NOTHING"
            ),
            &values,
        )
        .await?;
    Ok(n == 1)
}

async fn replace_bill(
    db: &dyn Db,
    companycode: &str,
    bill: &PreparedBill,
    source: BillSource,
    revision: i64,
    now_ms: i64,
) -> Result<(), StoreError> {
    let mut values = bill_values(companycode, bill);
    values.extend([
        source.as_str().into(),
        now_ms.into(),
        revision.into(),
        bill.order_key.clone().into(),
    ]);
    let n = db
        .execute(
            "UPDATE ktv_bills SET business_date = $3, voucher_type = $4, revoke = $5, \
             modify = $6, counted = $7, room = $8, drinks = $9, service = $10, other = $11, \
             member = $12, reduction = $13, net = $14, payments_total = $15, \
             checkout_charge = $16, fact_charge = $17, content_sha256 = $18, bill_json = $19, \
             revision = revision + 1, source = $20, updated_at_ms = $21, order_key = $23, \
             absent_at_ms = NULL \
             WHERE companycode = $1 AND voucher = $2 AND revision = $22",
            &values,
        )
        .await?;
    if n == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict(format!(
            "bill {} was replaced concurrently",
            bill.voucher
        )))
    }
}

/// The latest state of a venue's uploads.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VenueState {
    /// 管理系统版本 (openTime `system`).
    pub system: String,
    /// openTime version (1, 2, 3).
    pub open_time_version: Option<i64>,
    /// Numeric system version (openTime v2+).
    pub version_num: Option<i64>,
    /// Gateway mode (openTime v3): 0 no gateway, 1 hardware gateway.
    pub gateway_mode: Option<i64>,
    /// Opening time `HH:mm:ss`.
    pub open_time: String,
    /// Closing time `HH:mm:ss`.
    pub close_time: String,
    /// The last realtime snapshot as uploaded (revenue, batches, unsettled drinks,
    /// gua_zhang/xiao_zhang, room states in upload order).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub realtime: Option<serde_json::Value>,
    /// The snapshot's `date`.
    pub realtime_date: String,
    /// The last payment settings.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub payment_settings: Option<serde_json::Value>,
    /// Last upload times, unix ms.
    pub open_time_at_ms: Option<i64>,
    /// Last realtime upload, unix ms.
    pub realtime_at_ms: Option<i64>,
    /// Last vouchers upload, unix ms.
    pub vouchers_at_ms: Option<i64>,
    /// Last payment_setting upload, unix ms.
    pub payment_settings_at_ms: Option<i64>,
    /// Last notify upload, unix ms.
    pub notify_at_ms: Option<i64>,
}

fn json_column(r: &Row, i: usize) -> Result<Option<serde_json::Value>, StoreError> {
    r.opt_text(i)?
        .map(|t| serde_json::from_str(&t).map_err(|e| StoreError::Decode(e.to_string())))
        .transpose()
}

/// A venue's state (`None` before its first upload).
pub async fn venue_state(db: &dyn Db, companycode: &str) -> Result<Option<VenueState>, StoreError> {
    query_opt(
        db,
        "SELECT system, open_time_version, version_num, gateway_mode, open_time, close_time, \
         realtime_json, realtime_date, payment_settings_json, open_time_at_ms, realtime_at_ms, \
         vouchers_at_ms, payment_settings_at_ms, notify_at_ms \
         FROM ktv_venue_state WHERE companycode = $1",
        &[companycode.into()],
    )
    .await?
    .map(|r| {
        Ok(VenueState {
            system: r.text(0)?,
            open_time_version: r.opt_i64(1)?,
            version_num: r.opt_i64(2)?,
            gateway_mode: r.opt_i64(3)?,
            open_time: r.text(4)?,
            close_time: r.text(5)?,
            realtime: json_column(&r, 6)?,
            realtime_date: r.text(7)?,
            payment_settings: json_column(&r, 8)?,
            open_time_at_ms: r.opt_i64(9)?,
            realtime_at_ms: r.opt_i64(10)?,
            vouchers_at_ms: r.opt_i64(11)?,
            payment_settings_at_ms: r.opt_i64(12)?,
            notify_at_ms: r.opt_i64(13)?,
        })
    })
    .transpose()
}

/// One business date's bills: counts and revenue sums (bills in revenue only).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DaySummary {
    /// `yyyy-MM-dd`.
    pub business_date: String,
    /// Bills stored for the day, voided ones included.
    pub bills: i64,
    /// Bills in revenue (revoke 0, still listed by the venue).
    pub counted: i64,
    /// Voided bills (revoke non-zero, or no longer listed by the venue: `absent_at_ms`).
    pub voided: i64,
    /// Room charges, fen.
    pub room: i64,
    /// Drinks, fen.
    pub drinks: i64,
    /// Service charges, fen.
    pub service: i64,
    /// Other income, fen.
    pub other: i64,
    /// Member income, fen.
    pub member: i64,
    /// Reductions (counted negative), fen.
    pub reduction: i64,
    /// Revenue: room + drinks + service + other + member - reduction, fen.
    pub revenue: i64,
    /// Sum of payments, fen.
    pub payments: i64,
}

/// Per business date summaries of a venue's bills, newest first, at most `limit` days.
pub async fn day_summaries(
    db: &dyn Db,
    companycode: &str,
    limit: i64,
) -> Result<Vec<DaySummary>, StoreError> {
    query_summaries(
        db,
        "companycode = $1 GROUP BY business_date ORDER BY business_date DESC LIMIT $2",
        &[companycode.into(), limit.into()],
    )
    .await
}

/// Per business date summaries of a venue's bills from `from` to `to` (inclusive), oldest
/// first.
pub async fn day_summaries_between(
    db: &dyn Db,
    companycode: &str,
    from: &str,
    to: &str,
) -> Result<Vec<DaySummary>, StoreError> {
    query_summaries(
        db,
        "companycode = $1 AND business_date >= $2 AND business_date <= $3 \
         GROUP BY business_date ORDER BY business_date",
        &[companycode.into(), from.into(), to.into()],
    )
    .await
}

/// The summaries of the bills `filter` selects and groups by business date.
async fn query_summaries(
    db: &dyn Db,
    filter: &str,
    params: &[super::sql::Value],
) -> Result<Vec<DaySummary>, StoreError> {
    // Cast back to BIGINT: PostgreSQL sums BIGINT as NUMERIC.
    // A bill the venue no longer lists (absent) is out of revenue, like a voided one.
    let c = |col: &str| {
        format!(
            "CAST(COALESCE(SUM(CASE WHEN counted = 1 AND absent_at_ms IS NULL THEN {col} \
             ELSE 0 END), 0) AS BIGINT)"
        )
    };
    let sql = format!(
        "SELECT business_date, COUNT(*), {}, {}, {}, {}, {}, {}, {}, {}, {} \
         FROM ktv_bills WHERE {filter}",
        c("1"),
        c("room"),
        c("drinks"),
        c("service"),
        c("other"),
        c("member"),
        c("reduction"),
        c("net"),
        c("payments_total"),
    );
    db.query(&sql, params)
        .await?
        .iter()
        .map(|r| {
            let bills = r.i64(1)?;
            let counted = r.i64(2)?;
            Ok(DaySummary {
                business_date: r.text(0)?,
                bills,
                counted,
                voided: bills - counted,
                room: r.i64(3)?,
                drinks: r.i64(4)?,
                service: r.i64(5)?,
                other: r.i64(6)?,
                member: r.i64(7)?,
                reduction: r.i64(8)?,
                revenue: r.i64(9)?,
                payments: r.i64(10)?,
            })
        })
        .collect()
}

/// One stored bill, as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredBill {
    /// Bill number.
    pub voucher: String,
    /// `yyyy-MM-dd`.
    pub business_date: String,
    /// `revoke` code.
    pub revoke: i64,
    /// `modify` code of the stored version.
    pub modify: i64,
    /// In revenue.
    pub counted: bool,
    /// Revenue, fen.
    pub net: i64,
    /// 1 as first stored, +1 per replacement.
    pub revision: i64,
    /// `upload` or `wj091`.
    pub source: String,
    /// SHA-256 of the stored bill JSON.
    pub content_sha256: String,
    /// When a complete WJ091 pull stopped listing it (voided in the venue), unix ms.
    pub absent_at_ms: Option<i64>,
}

/// The bills of one venue and business date, by voucher.
pub async fn bills_of_day(
    db: &dyn Db,
    companycode: &str,
    business_date: &str,
) -> Result<Vec<StoredBill>, StoreError> {
    db.query(
        "SELECT voucher, business_date, revoke, modify, counted, net, revision, source, \
         content_sha256, absent_at_ms FROM ktv_bills \
         WHERE companycode = $1 AND business_date = $2 ORDER BY voucher",
        &[companycode.into(), business_date.into()],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(StoredBill {
            voucher: r.text(0)?,
            business_date: r.text(1)?,
            revoke: r.i64(2)?,
            modify: r.i64(3)?,
            counted: r.i64(4)? != 0,
            net: r.i64(5)?,
            revision: r.i64(6)?,
            source: r.text(7)?,
            content_sha256: r.text(8)?,
            absent_at_ms: r.opt_i64(9)?,
        })
    })
    .collect()
}

/// One stored bill as the venue sent it (typed and re-serialized: every field posgate reads,
/// under the spec's field names), with its business day and whether the venue still lists it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredBillDetail {
    /// `yyyy-MM-dd`.
    pub business_date: String,
    /// 1 as first stored, +1 per replacement.
    pub revision: i64,
    /// When a complete WJ091 pull stopped listing it (voided in the venue), unix ms.
    pub absent_at_ms: Option<i64>,
    /// The bill.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub bill: serde_json::Value,
}

/// One stored bill of a venue, if stored.
pub async fn find_bill(
    db: &dyn Db,
    companycode: &str,
    voucher: &str,
) -> Result<Option<StoredBillDetail>, StoreError> {
    query_opt(
        db,
        "SELECT business_date, revision, absent_at_ms, bill_json FROM ktv_bills \
         WHERE companycode = $1 AND voucher = $2",
        &[companycode.into(), voucher.into()],
    )
    .await?
    .map(|r| {
        Ok(StoredBillDetail {
            business_date: r.text(0)?,
            revision: r.i64(1)?,
            absent_at_ms: r.opt_i64(2)?,
            bill: json_column(&r, 3)?.unwrap_or_default(),
        })
    })
    .transpose()
}

/// Active venues that have KTV options set (the scheduled backfill's list).
pub async fn backfill_venues(db: &dyn Db) -> Result<Vec<String>, StoreError> {
    db.query(
        "SELECT v.companycode FROM venues v JOIN ktv_venue_keys k \
         ON k.companycode = v.companycode WHERE v.status = 'active' ORDER BY v.companycode",
        &[],
    )
    .await?
    .iter()
    .map(|r| r.text(0))
    .collect()
}

/// Claims the scheduled backfill of (`companycode`, `business_date`) for this replica unless
/// another claimed it after `stale_before_ms`; returns whether this replica should run it.
/// One statement, so two replicas racing for a claim cannot both win.
pub async fn claim_backfill(
    db: &dyn Db,
    companycode: &str,
    business_date: &str,
    now_ms: i64,
    stale_before_ms: i64,
) -> Result<bool, StoreError> {
    let changed = db
        .execute(
            "INSERT INTO ktv_backfill_claims (companycode, business_date, claimed_at_ms) \
             VALUES ($1, $2, $3) ON CONFLICT (companycode, business_date) DO UPDATE SET \
             claimed_at_ms = excluded.claimed_at_ms \
             WHERE ktv_backfill_claims.claimed_at_ms <= $4",
            &[
                companycode.into(),
                business_date.into(),
                now_ms.into(),
                stale_before_ms.into(),
            ],
        )
        .await?;
    Ok(changed > 0)
}

/// Records the `num` of a vouchers upload (bills of the business day, when a day is split
/// over several requests) for `business_date`; the largest seen is kept.
pub async fn note_upload_num(
    db: &dyn Db,
    companycode: &str,
    business_date: &str,
    num: i64,
    now_ms: i64,
) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO ktv_days (companycode, business_date, upload_num, updated_at_ms) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (companycode, business_date) DO UPDATE SET \
         upload_num = CASE WHEN ktv_days.upload_num IS NULL OR ktv_days.upload_num < $3 \
         THEN $3 ELSE ktv_days.upload_num END, updated_at_ms = $4",
        &[
            companycode.into(),
            business_date.into(),
            num.into(),
            now_ms.into(),
        ],
    )
    .await?;
    Ok(())
}

/// What one WJ091 pull of a business day found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PullFacts {
    /// The venue's `total`, if it sent one.
    pub total: Option<i64>,
    /// Distinct vouchers received.
    pub distinct: i64,
    /// Rows whose voucher had already come on an earlier page.
    pub repeated: i64,
    /// The venue's own revenue of the day (bills in revenue, fen).
    pub revenue: i64,
    /// Whether every row of the day was received (distinct = total, or a short last page).
    pub complete: bool,
    /// Why the pull stopped, "" when it did not fail.
    pub error: String,
}

/// Records a pull attempt of `business_date`: its figures when it got any, the attempt count
/// and time, and the error.
pub async fn record_pull(
    db: &dyn Db,
    companycode: &str,
    business_date: &str,
    facts: &PullFacts,
    now_ms: i64,
) -> Result<(), StoreError> {
    let failed = !facts.error.is_empty();
    db.execute(
        "INSERT INTO ktv_days (companycode, business_date, wj091_total, wj091_distinct, \
         wj091_repeated, wj091_revenue, pulled_complete, attempts, last_attempt_at_ms, \
         last_error, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, $8) \
         ON CONFLICT (companycode, business_date) DO UPDATE SET \
         wj091_total = CASE WHEN $10 = 1 THEN ktv_days.wj091_total ELSE $3 END, \
         wj091_distinct = CASE WHEN $10 = 1 THEN ktv_days.wj091_distinct ELSE $4 END, \
         wj091_repeated = CASE WHEN $10 = 1 THEN ktv_days.wj091_repeated ELSE $5 END, \
         wj091_revenue = CASE WHEN $10 = 1 THEN ktv_days.wj091_revenue ELSE $6 END, \
         pulled_complete = CASE WHEN $10 = 1 THEN ktv_days.pulled_complete ELSE $7 END, \
         attempts = ktv_days.attempts + 1, last_attempt_at_ms = $8, last_error = $9, \
         updated_at_ms = $8",
        &[
            companycode.into(),
            business_date.into(),
            facts.total.into(),
            facts.distinct.into(),
            facts.repeated.into(),
            facts.revenue.into(),
            i64::from(facts.complete && !failed).into(),
            now_ms.into(),
            facts.error.clone().into(),
            i64::from(failed).into(),
        ],
    )
    .await?;
    Ok(())
}

/// Flags the bills of `business_date` that a complete pull did not list (`present`):
/// voided in the venue system. Clears the flag of those it listed. Returns how many are
/// flagged now.
pub async fn flag_absent(
    db: &dyn Db,
    companycode: &str,
    business_date: &str,
    present: &HashSet<String>,
    now_ms: i64,
) -> Result<u64, StoreError> {
    let rows = db
        .query(
            "SELECT voucher, absent_at_ms FROM ktv_bills \
             WHERE companycode = $1 AND business_date = $2",
            &[companycode.into(), business_date.into()],
        )
        .await?;
    let mut absent = 0;
    for row in rows {
        let voucher = row.text(0)?;
        let flagged = row.opt_i64(1)?.is_some();
        let listed = present.contains(&voucher);
        if !listed {
            absent += 1;
        }
        if listed == flagged {
            let at: Option<i64> = (!listed).then_some(now_ms);
            db.execute(
                "UPDATE ktv_bills SET absent_at_ms = $3 WHERE companycode = $1 AND voucher = $2",
                &[companycode.into(), voucher.into(), at.into()],
            )
            .await?;
        }
    }
    Ok(absent)
}

/// Whether posgate holds the whole of a venue's business day, and why not.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DayCompleteness {
    /// `yyyy-MM-dd`.
    pub business_date: String,
    /// `complete`, `incomplete` or `unknown` (nothing says how many bills the day has).
    pub status: String,
    /// Every reason the day is not complete.
    pub reasons: Vec<String>,
    /// Bills stored for the day (voided ones included, absent ones not).
    pub stored_bills: i64,
    /// Revenue of the stored bills in revenue, fen.
    pub stored_revenue: i64,
    /// Stored bills the venue's last complete pull did not list (voided there).
    pub absent_bills: i64,
    /// `num` of the vouchers uploads, the largest seen.
    pub upload_num: Option<i64>,
    /// `total` of the last WJ091 pull.
    pub wj091_total: Option<i64>,
    /// Distinct vouchers of the last WJ091 pull.
    pub wj091_distinct: Option<i64>,
    /// Rows of the last pull repeating a voucher of an earlier page.
    pub wj091_repeated: i64,
    /// The venue's own revenue in the last pull, fen.
    pub wj091_revenue: Option<i64>,
    /// Whether the last pull received every row of the day.
    pub pulled_complete: bool,
    /// Backfill attempts of the day.
    pub attempts: i64,
    /// The last attempt, unix ms.
    pub last_attempt_at_ms: Option<i64>,
    /// The last attempt's error, "" when it did not fail.
    pub last_error: String,
}

impl DayCompleteness {
    /// Sets `status` and `reasons` from the figures.
    fn judge(mut self) -> DayCompleteness {
        let mut reasons = Vec::new();
        // The last complete pull is the venue's current word (a bill voided there since the
        // uploads lowers its count); otherwise the largest count it gave.
        let expected = if self.pulled_complete {
            self.wj091_total.or(self.upload_num)
        } else {
            self.upload_num.max(self.wj091_total)
        };
        if let Some(expected) = expected {
            if self.stored_bills < expected {
                reasons.push(format!(
                    "{} bills stored, the venue reports {expected}",
                    self.stored_bills
                ));
            }
        }
        if self.wj091_total.is_some() || self.attempts > 0 {
            if !self.pulled_complete {
                reasons.push("the last WJ091 pull did not receive the whole day".to_string());
            }
            if self.wj091_revenue.is_some_and(|r| r != self.stored_revenue) {
                reasons.push(format!(
                    "stored revenue {} differs from the venue's {}",
                    self.stored_revenue,
                    self.wj091_revenue.unwrap_or_default()
                ));
            }
        }
        self.status = if !reasons.is_empty() {
            "incomplete"
        } else if expected.is_some() || self.pulled_complete {
            "complete"
        } else {
            "unknown"
        }
        .to_string();
        self.reasons = reasons;
        self
    }

    /// Whether the day is complete.
    pub fn is_complete(&self) -> bool {
        self.status == "complete"
    }
}

/// Completeness of a venue's business days from `from` to `to` (inclusive, `yyyy-MM-dd`),
/// newest first: every day with stored bills or a `ktv_days` row.
pub async fn day_completeness(
    db: &dyn Db,
    companycode: &str,
    from: &str,
    to: &str,
) -> Result<Vec<DayCompleteness>, StoreError> {
    let mut days: std::collections::BTreeMap<String, DayCompleteness> = Default::default();
    for r in db
        .query(
            "SELECT business_date, \
             CAST(COALESCE(SUM(CASE WHEN absent_at_ms IS NULL THEN 1 ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN absent_at_ms IS NULL AND counted = 1 THEN net ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN absent_at_ms IS NULL THEN 0 ELSE 1 END), 0) AS BIGINT) \
             FROM ktv_bills WHERE companycode = $1 AND business_date >= $2 \
             AND business_date <= $3 GROUP BY business_date",
            &[companycode.into(), from.into(), to.into()],
        )
        .await?
    {
        let date = r.text(0)?;
        days.insert(
            date.clone(),
            DayCompleteness {
                business_date: date,
                stored_bills: r.i64(1)?,
                stored_revenue: r.i64(2)?,
                absent_bills: r.i64(3)?,
                ..DayCompleteness::default()
            },
        );
    }
    for r in db
        .query(
            "SELECT business_date, upload_num, wj091_total, wj091_distinct, wj091_repeated, \
             wj091_revenue, pulled_complete, attempts, last_attempt_at_ms, last_error \
             FROM ktv_days WHERE companycode = $1 AND business_date >= $2 \
             AND business_date <= $3",
            &[companycode.into(), from.into(), to.into()],
        )
        .await?
    {
        let date = r.text(0)?;
        let day = days.entry(date.clone()).or_insert_with(|| DayCompleteness {
            business_date: date,
            ..DayCompleteness::default()
        });
        day.upload_num = r.opt_i64(1)?;
        day.wj091_total = r.opt_i64(2)?;
        day.wj091_distinct = r.opt_i64(3)?;
        day.wj091_repeated = r.i64(4)?;
        day.wj091_revenue = r.opt_i64(5)?;
        day.pulled_complete = r.i64(6)? != 0;
        day.attempts = r.i64(7)?;
        day.last_attempt_at_ms = r.opt_i64(8)?;
        day.last_error = r.text(9)?;
    }
    Ok(days
        .into_values()
        .rev()
        .map(DayCompleteness::judge)
        .collect())
}

/// The dates of `dates` (`yyyy-MM-dd`, any order) that venue `companycode` does not hold
/// completely ([`DayCompleteness::is_complete`]), in the order given.
pub async fn incomplete_days(
    db: &dyn Db,
    companycode: &str,
    dates: &[String],
) -> Result<Vec<String>, StoreError> {
    let (Some(from), Some(to)) = (dates.iter().min(), dates.iter().max()) else {
        return Ok(Vec::new());
    };
    let complete: std::collections::HashSet<String> = day_completeness(db, companycode, from, to)
        .await?
        .into_iter()
        .filter(DayCompleteness::is_complete)
        .map(|d| d.business_date)
        .collect();
    Ok(dates
        .iter()
        .filter(|d| !complete.contains(d.as_str()))
        .cloned()
        .collect())
}

/// One backfill attempt, as recorded.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BackfillAttempt {
    /// `yyyy-MM-dd`.
    pub business_date: String,
    /// `admin` or `schedule`.
    pub trigger: String,
    /// Unix ms.
    pub started_at_ms: i64,
    /// Unix ms.
    pub finished_at_ms: i64,
    /// `complete`, `incomplete` or `failed`.
    pub outcome: String,
    /// The venue's `total`.
    pub total: Option<i64>,
    /// Rows received.
    pub fetched: i64,
    /// Rows repeating a voucher of an earlier page.
    pub repeated: i64,
    /// Bills stored, missing before.
    pub new: i64,
    /// Bills replaced.
    pub changed: i64,
    /// Bills already stored alike.
    pub unchanged: i64,
    /// Bills refused by the bill rules.
    pub invalid: i64,
    /// Stored bills the venue no longer lists.
    pub absent: i64,
    /// Why it failed, "" otherwise.
    pub error: String,
}

/// Records a backfill attempt of venue `companycode`.
pub async fn insert_attempt(
    db: &dyn Db,
    companycode: &str,
    a: &BackfillAttempt,
) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO ktv_backfill_attempts (companycode, business_date, trigger, started_at_ms, \
         finished_at_ms, outcome, total, fetched, repeated, new, changed, unchanged, invalid, \
         absent, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        &[
            companycode.into(),
            a.business_date.clone().into(),
            a.trigger.clone().into(),
            a.started_at_ms.into(),
            a.finished_at_ms.into(),
            a.outcome.clone().into(),
            a.total.into(),
            a.fetched.into(),
            a.repeated.into(),
            a.new.into(),
            a.changed.into(),
            a.unchanged.into(),
            a.invalid.into(),
            a.absent.into(),
            a.error.clone().into(),
        ],
    )
    .await?;
    Ok(())
}

/// A venue's backfill attempts, newest first, at most `limit`.
pub async fn list_attempts(
    db: &dyn Db,
    companycode: &str,
    limit: i64,
) -> Result<Vec<BackfillAttempt>, StoreError> {
    db.query(
        "SELECT business_date, trigger, started_at_ms, finished_at_ms, outcome, total, fetched, \
         repeated, new, changed, unchanged, invalid, absent, error FROM ktv_backfill_attempts \
         WHERE companycode = $1 ORDER BY id DESC LIMIT $2",
        &[companycode.into(), limit.into()],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(BackfillAttempt {
            business_date: r.text(0)?,
            trigger: r.text(1)?,
            started_at_ms: r.i64(2)?,
            finished_at_ms: r.i64(3)?,
            outcome: r.text(4)?,
            total: r.opt_i64(5)?,
            fetched: r.i64(6)?,
            repeated: r.i64(7)?,
            new: r.i64(8)?,
            changed: r.i64(9)?,
            unchanged: r.i64(10)?,
            invalid: r.i64(11)?,
            absent: r.i64(12)?,
            error: r.text(13)?,
        })
    })
    .collect()
}

/// Venues whose KTV options or record (status) changed after `since_ms` (unix ms), with the
/// latest change time: what each replica reloads (`crate::entity::Reload`) so a key set or
/// a venue disabled on one replica reaches all.
pub async fn settings_changed_since(
    db: &dyn Db,
    since_ms: i64,
) -> Result<Vec<(String, i64)>, StoreError> {
    db.query(
        "SELECT companycode, MAX(at) FROM (\
         SELECT companycode, updated_at_ms AS at FROM ktv_venue_keys WHERE updated_at_ms > $1 \
         UNION ALL SELECT companycode, updated_at_ms AS at FROM venues WHERE updated_at_ms > $1\
         ) changed GROUP BY companycode ORDER BY 2",
        &[since_ms.into()],
    )
    .await?
    .iter()
    .map(|r| Ok((r.text(0)?, r.i64(1)?)))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::claim_backfill;
    use crate::testing;

    /// Claims of one (venue, date) at `now` with claims older than `stale` free again.
    async fn claims(store: crate::store::Store, code: String) {
        let claim = |now: i64, stale: i64| {
            let (store, code) = (store.clone(), code.clone());
            async move {
                store
                    .transaction(move |db| {
                        Box::pin(async move {
                            claim_backfill(db, &code, "2026-11-23", now, stale).await
                        })
                    })
                    .await
                    .unwrap()
            }
        };
        assert!(claim(1_000, 0).await, "first claim");
        assert!(
            !claim(1_500, 500).await,
            "claimed at 1000, after 500: taken"
        );
        assert!(
            claim(2_000, 1_000).await,
            "claimed at 1000, stale at 1000: free again"
        );
        assert!(!claim(2_000, 1_000).await, "just claimed");
    }

    #[actix_rt::test]
    async fn one_replica_claims_a_backfill_per_interval_sqlite() {
        claims(testing::sqlite_store().await, "V1".into()).await;
    }

    #[actix_rt::test]
    async fn one_replica_claims_a_backfill_per_interval_postgres() {
        let Some(store) = testing::pg_store().await else {
            return;
        };
        // The scratch database is shared by this process's tests: a venue code of its own.
        claims(store, testing::unique("V")).await;
    }
}
