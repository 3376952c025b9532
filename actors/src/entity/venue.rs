//! VenueActor: one per KTV venue (key: `companycode`). Caches the venue record and its KTV
//! options; stores the venue's uploads (opening hours, realtime room states and revenue,
//! bills, payment settings, booking-cancellation notices) and the bills pulled over WJ091,
//! one at a time and in arrival order.
//!
//! The adapter decodes and decrypts (with the key it reads from [`VenueRecord`]); this actor
//! applies the bill rules (balance, revoke, modify) and writes. Bills are revenue reporting:
//! they are stored, never posted to the ledger.

use super::cached::{cached_entity, Loaded};
use super::{Entity, EntityDeps, EntityError, Lifecycle};
use crate::mailbox::Ask;
use crate::model::{TerminalStatus, Venue};
use crate::store::ktv::{
    self as store_ktv, BillOutcome, BillSource, KtvSettings, PreparedBill, ReplaceRule,
};
use crate::store::{catalog, now_ms, StoreError};
use actix::prelude::*;
use posgate_protocols::ktv::{validate_bill, Bill, BillViolation, Reply, RetCode, Upload};

/// A venue and its KTV options, as the actor caches them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VenueRecord {
    /// The venue.
    pub venue: Venue,
    /// Its KTV options (`None` until set through the admin API).
    pub settings: Option<KtvSettings>,
}

/// Actor of one venue.
pub struct VenueActor {
    life: Lifecycle,
    deps: EntityDeps,
    state: Loaded<VenueRecord>,
}

impl VenueActor {
    async fn load(deps: &EntityDeps, key: &str) -> Result<Option<VenueRecord>, StoreError> {
        let code = key.to_string();
        deps.store
            .transaction(move |db| {
                Box::pin(async move {
                    let Some(venue) = catalog::find_venue(db, &code).await? else {
                        return Ok(None);
                    };
                    let settings = store_ktv::find_settings(db, &code).await?;
                    Ok(Some(VenueRecord { venue, settings }))
                })
            })
            .await
    }

    /// The venue, if it may take KTV traffic now.
    fn active(&self) -> Result<VenueRecord, EntityError> {
        let record = self.state.get()?;
        if record.venue.status != TerminalStatus::Active {
            return Err(EntityError::Disabled);
        }
        Ok(record.clone())
    }
}

cached_entity!(VenueActor, VenueRecord);

impl Entity for VenueActor {
    const KIND: &'static str = "venue";

    fn create(life: Lifecycle, deps: EntityDeps) -> Self {
        VenueActor {
            life,
            deps,
            state: Loaded::Pending,
        }
    }
}

/// A decoded (and decrypted) upload for the venue's actor.
#[derive(Clone, Debug)]
pub struct KtvUpload(pub Upload);

/// The `{ret, msg}` answer to a [`KtvUpload`].
pub type KtvUploadReply = Reply;

/// The reply code of an entity failure.
pub fn ktv_entity_code(e: &EntityError) -> RetCode {
    match e {
        EntityError::NotFound | EntityError::Disabled | EntityError::Foreign => {
            RetCode::UnknownVenue
        }
        EntityError::Busy => RetCode::Busy,
        EntityError::ShuttingDown | EntityError::Store(_) => RetCode::Internal,
    }
}

/// Names every differing figure of a bill: `bill K1: charges total (...) is 1200, expected
/// 1000 (payments translatemoney total)`.
pub fn describe_violations(voucher: &str, violations: &[BillViolation]) -> String {
    let figures: Vec<String> = violations
        .iter()
        .map(|v| format!("{} is {}, expected {}", v.figure, v.actual, v.expected))
        .collect();
    format!("bill {voucher}: {}", figures.join("; "))
}

/// What an upload writes, prepared before the transaction.
#[derive(Clone)]
enum Write {
    OpenTime(posgate_protocols::ktv::OpenTime),
    Realtime {
        date: String,
        json: String,
    },
    Bills {
        bills: Vec<PreparedBill>,
        num: Option<i64>,
        date: String,
    },
    Notices(Vec<posgate_protocols::ktv::BookingCancelled>),
    PaymentSettings(String),
}

/// Transactions a store conflict (a bill stored meanwhile by another replica, a replaced
/// revision) is retried before the upload is answered `Internal`.
const CONFLICT_ATTEMPTS: usize = 3;

/// Checks the bills of an upload: every bill must balance and be storable, else the whole
/// upload is refused (nothing is stored) with every differing figure named.
fn prepare_upload_bills(bills: &[Bill]) -> Result<Vec<PreparedBill>, Reply> {
    let unbalanced: Vec<String> = bills
        .iter()
        .filter_map(|b| {
            let v = validate_bill(b);
            (!v.is_empty()).then(|| describe_violations(&b.voucher, &v))
        })
        .collect();
    if !unbalanced.is_empty() {
        return Err(Reply::with_msg(
            RetCode::Unbalanced,
            format!(
                "{}: {}",
                RetCode::Unbalanced.description(),
                unbalanced.join(" | ")
            ),
        ));
    }
    bills
        .iter()
        .map(PreparedBill::from_bill)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|why| {
            Reply::with_msg(
                RetCode::FieldInvalid,
                format!("{}: {why}", RetCode::FieldInvalid.description()),
            )
        })
}

fn prepare(upload: Upload) -> Result<(&'static str, Write), Reply> {
    Ok(match upload {
        Upload::OpenTime(open) => ("openTime", Write::OpenTime(open)),
        Upload::Realtime { date, data, .. } => (
            "realtime",
            Write::Realtime {
                date,
                json: data.to_json().to_string(),
            },
        ),
        Upload::Vouchers {
            bills, num, date, ..
        } => (
            "vouchers",
            Write::Bills {
                bills: prepare_upload_bills(&bills)?,
                num,
                date,
            },
        ),
        Upload::Notify { notices, .. } => ("notify", Write::Notices(notices)),
        Upload::PaymentSetting { settings, .. } => (
            "payment_setting",
            Write::PaymentSettings(
                serde_json::to_string(&settings)
                    .map_err(|e| Reply::with_msg(RetCode::FieldInvalid, e.to_string()))?,
            ),
        ),
    })
}

/// Counts bill outcomes in `posgate_ktv_bills_total{source, outcome}`.
fn count_outcomes(source: BillSource, outcomes: &[BillOutcome]) {
    for o in outcomes {
        metrics::counter!("posgate_ktv_bills_total", "source" => source.as_str(), "outcome" => o.as_str())
            .increment(1);
    }
}

/// Stores an upload's bills: business days resolved by the venue's `close_time`, each
/// compared with its stored version; a conflict refuses the whole batch (nothing written).
/// The upload's `num` is recorded for the day it names (`date`) or the bills' days.
async fn store_upload_bills(
    db: &dyn crate::store::Db,
    code: &str,
    bills: Vec<PreparedBill>,
    num: Option<i64>,
    date: &str,
    now: i64,
) -> Result<Reply, StoreError> {
    let bills = store_ktv::resolve_days(db, code, bills).await?;
    let outcomes = store_ktv::store_bills(
        db,
        code,
        &bills,
        BillSource::Upload,
        ReplaceRule::Flagged,
        now,
    )
    .await?;
    count_outcomes(BillSource::Upload, &outcomes);
    let conflicts: Vec<&str> = bills
        .iter()
        .zip(&outcomes)
        .filter(|(_, o)| **o == BillOutcome::Conflict)
        .map(|(b, _)| b.voucher.as_str())
        .collect();
    if !conflicts.is_empty() {
        return Ok(Reply::with_msg(
            RetCode::FieldInvalid,
            format!(
                "{}: bills {} are already stored with other content \
                 and are not flagged modify 1/2 or revoke; nothing stored",
                RetCode::FieldInvalid.description(),
                conflicts.join(", ")
            ),
        ));
    }
    if let Some(num) = num {
        let mut days: Vec<String> = match posgate_protocols::ktv::BusinessDate::parse(date) {
            Ok(d) => vec![d.as_str().to_string()],
            Err(_) => bills.iter().map(|b| b.business_date.clone()).collect(),
        };
        days.sort();
        days.dedup();
        for day in days {
            store_ktv::note_upload_num(db, code, &day, num, now).await?;
        }
    }
    store_ktv::touch_vouchers(db, code, now).await?;
    Ok(Reply::ok())
}

/// Applies one prepared upload in the caller's transaction.
async fn apply_write(
    db: &dyn crate::store::Db,
    code: &str,
    write: Write,
    now: i64,
) -> Result<Reply, StoreError> {
    Ok(match write {
        Write::OpenTime(open) => {
            store_ktv::save_open_time(db, &open, now).await?;
            Reply::ok()
        }
        Write::Realtime { date, json } => {
            store_ktv::save_realtime(db, code, &date, &json, now).await?;
            Reply::ok()
        }
        Write::Bills { bills, num, date } => {
            store_upload_bills(db, code, bills, num, &date, now).await?
        }
        Write::Notices(notices) => {
            store_ktv::insert_notices(db, code, &notices, now).await?;
            Reply::ok_notify()
        }
        Write::PaymentSettings(json) => {
            store_ktv::save_payment_settings(db, code, &json, now).await?;
            Reply::ok()
        }
    })
}

/// [`apply_write`] in its own transaction, retried on [`StoreError::Conflict`] (another
/// replica wrote the same bill meanwhile: the retry compares with what it stored).
async fn apply_with_retries(
    store: crate::store::Store,
    code: String,
    write: Write,
) -> Result<Reply, StoreError> {
    retry_conflicts(|| {
        let (code, write) = (code.clone(), write.clone());
        store.transaction(move |db| {
            Box::pin(async move { apply_write(db, &code, write, now_ms()).await })
        })
    })
    .await
}

/// Runs `transaction` again on [`StoreError::Conflict`], at most [`CONFLICT_ATTEMPTS`] times.
async fn retry_conflicts<R, F, Fut>(mut transaction: F) -> Result<R, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<R, StoreError>>,
{
    let mut attempt = 1;
    loop {
        match transaction().await {
            Err(StoreError::Conflict(_)) if attempt < CONFLICT_ATTEMPTS => attempt += 1,
            other => return other,
        }
    }
}

impl Handler<Ask<KtvUpload, KtvUploadReply>> for VenueActor {
    type Result = ();

    fn handle(&mut self, msg: Ask<KtvUpload, KtvUploadReply>, ctx: &mut Context<Self>) {
        self.life.touch();
        let Ask { query, reply } = msg;
        let record = match self.active() {
            Ok(record) => record,
            Err(e) => {
                let _ = reply.send(Reply::with_msg(
                    ktv_entity_code(&e),
                    format!("{}: {e}", ktv_entity_code(&e).description()),
                ));
                self.stop_if_failed(ctx);
                return;
            }
        };
        let (kind, write) = match prepare(query.0) {
            Ok(prepared) => prepared,
            Err(refusal) => {
                let _ = reply.send(refusal);
                return;
            }
        };
        let code = record.venue.companycode.clone();
        let store = self.deps.store.clone();
        // Waits in this actor: a venue's uploads are stored in arrival order.
        ctx.wait(
            apply_with_retries(store, code, write)
            .into_actor(self)
            .map(move |result, act, _| {
                let answer = result.unwrap_or_else(|e| {
                    tracing::warn!(venue = %act.life.key(), kind, error = %e, "KTV upload not stored");
                    Reply::new(RetCode::Internal)
                });
                let _ = reply.send(answer);
            }),
        );
    }
}

/// Bills of one business date pulled over WJ091, to compare with the stored ones and store
/// what is missing or changed.
#[derive(Clone, Debug)]
pub struct KtvBackfill {
    /// The business date asked for: the day of the pulled bills that carry none.
    pub date: String,
    /// The pulled bills.
    pub bills: Vec<Bill>,
}

/// What a backfill did with the bills it was given.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BackfillCounts {
    /// Bills pulled.
    pub fetched: u64,
    /// Stored now, missing before.
    pub new: u64,
    /// Stored before with other content, replaced.
    pub changed: u64,
    /// Stored before with the same content.
    pub unchanged: u64,
    /// Refused by the bill rules (not stored).
    pub invalid: u64,
    /// The refused bills, with every differing figure named.
    pub invalid_bills: Vec<String>,
    /// The venue's `total` for the day, when it sent one.
    pub total: Option<u64>,
    /// Rows repeating a voucher of an earlier page (not counted in `fetched`).
    pub repeated: u64,
    /// Stored bills of the day the venue no longer lists (voided there), after a complete
    /// pull.
    pub absent: u64,
    /// The day's completeness after the pull: `complete`, `incomplete` or `unknown`.
    pub day_status: String,
}

/// The answer to a [`KtvBackfill`].
pub type KtvBackfillReply = Result<BackfillCounts, EntityError>;

impl Handler<Ask<KtvBackfill, KtvBackfillReply>> for VenueActor {
    type Result = ();

    fn handle(&mut self, msg: Ask<KtvBackfill, KtvBackfillReply>, ctx: &mut Context<Self>) {
        self.life.touch();
        let Ask { query, reply } = msg;
        let record = match self.active() {
            Ok(record) => record,
            Err(e) => {
                let _ = reply.send(Err(e));
                self.stop_if_failed(ctx);
                return;
            }
        };
        let mut counts = BackfillCounts {
            fetched: query.bills.len() as u64,
            ..BackfillCounts::default()
        };
        let mut prepared = Vec::with_capacity(query.bills.len());
        for bill in &query.bills {
            let violations = validate_bill(bill);
            if !violations.is_empty() {
                counts.invalid += 1;
                counts
                    .invalid_bills
                    .push(describe_violations(&bill.voucher, &violations));
                continue;
            }
            match PreparedBill::from_bill(bill) {
                Ok(mut p) => {
                    if !p.date_sent {
                        p.business_date = query.date.clone();
                        p.date_sent = true;
                    }
                    prepared.push(p);
                }
                Err(why) => {
                    counts.invalid += 1;
                    counts.invalid_bills.push(why);
                }
            }
        }
        let code = record.venue.companycode.clone();
        let store = self.deps.store.clone();
        ctx.wait(
            retry_conflicts(move || {
                let (store, code, prepared) = (store.clone(), code.clone(), prepared.clone());
                async move {
                    store
                        .transaction(move |db| {
                            Box::pin(async move {
                                store_ktv::store_bills(
                                    db,
                                    &code,
                                    &prepared,
                                    BillSource::Wj091,
                                    ReplaceRule::Always,
                                    now_ms(),
                                )
                                .await
                            })
                        })
                        .await
                }
            })
            .into_actor(self)
            .map(move |result, _, _| {
                let answer = result.map_err(EntityError::from).map(|outcomes| {
                    count_outcomes(BillSource::Wj091, &outcomes);
                    for o in outcomes {
                        match o {
                            BillOutcome::New => counts.new += 1,
                            BillOutcome::Replaced => counts.changed += 1,
                            BillOutcome::Unchanged | BillOutcome::Conflict | BillOutcome::Stale => {
                                counts.unchanged += 1
                            }
                        }
                    }
                    counts
                });
                let _ = reply.send(answer);
            }),
        );
    }
}
