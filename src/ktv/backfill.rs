//! Backfill: pull a venue's bills of one business date over WJ091 (type 2, every page),
//! compare them with the stored ones, and store the missing or changed ones through the same
//! bill rules as the uploads (via the venue's actor, page by page). Triggered from the admin
//! API, or on a schedule for every venue with KTV options and every business date within the
//! horizon that is not complete.
//!
//! Pages are followed by distinct vouchers, not by `page_size`: a venue that ignores
//! `page_size` (sends more rows) or repeats rows across pages is read to the end of its day;
//! the pull is complete when the distinct vouchers reach the venue's `total` (or a page comes
//! back short when it sends none). A complete pull flags the stored bills of the day it no
//! longer lists (voided there). Every attempt is recorded (`ktv_backfill_attempts`) with
//! what it found, and the day's figures (`ktv_days`) feed its completeness.

use super::wj091::Wj091Error;
use crate::app::Gateway;
use chrono::Duration as Days;
use posgate_actors::entity::{BackfillCounts, EntityError, KtvBackfill};
use posgate_actors::store::ktv as store_ktv;
use posgate_actors::store::ktv::{BackfillAttempt, PullFacts};
use posgate_actors::store::ktv_report::{self, MemberRow};
use posgate_actors::store::now_ms;
use posgate_protocols::ktv::{
    Bill, BusinessDate, CompanyCode, Page, Wj091Data, Wj091Query, Wj091Request,
};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// Most pages one backfill asks for (a venue that never ends its day is cut here).
pub const BACKFILL_PAGES_MAX: u32 = 1_000;

/// Who started a backfill (recorded with the attempt).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// `POST /admin/v1/venues/{companycode}/backfill`.
    Admin,
    /// The scheduled backfill.
    Schedule,
}

impl Trigger {
    /// The recorded name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Trigger::Admin => "admin",
            Trigger::Schedule => "schedule",
        }
    }
}

/// Most invalid bills named in a backfill's answer (all are counted in `invalid`).
pub const INVALID_LISTED_MAX: usize = 100;

/// Why a backfill stopped.
#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    /// The WJ091 pull failed (pages already stored stay stored).
    #[error("WJ091: {0}")]
    Wj091(#[from] Wj091Error),
    /// The venue's actor could not store (busy, unknown, disabled, store down).
    #[error("venue: {0}")]
    Venue(#[from] EntityError),
    /// The request could not be built.
    #[error("{0}")]
    Request(String),
}

impl BackfillError {
    fn label(&self) -> &'static str {
        match self {
            BackfillError::Wj091(e) => e.label(),
            BackfillError::Venue(_) => "venue",
            BackfillError::Request(_) => "request",
        }
    }
}

/// Backfills venue `companycode` for `date`; returns the counts (fetched, new, changed,
/// unchanged, invalid, repeated, absent, and the day's completeness) and records the attempt.
pub async fn backfill(
    gw: &Gateway,
    companycode: &CompanyCode,
    date: &BusinessDate,
    trigger: Trigger,
) -> Result<BackfillCounts, BackfillError> {
    let started = Instant::now();
    let started_ms = now_ms();
    let mut facts = PullFacts::default();
    let mut result = run(gw, companycode, date, &mut facts).await;
    if let Err(e) = &result {
        facts.error = e.to_string();
    }
    match record(gw, companycode, date, trigger, started_ms, &facts, &result).await {
        Ok(status) => {
            if let Ok(counts) = &mut result {
                counts.day_status = status;
            }
        }
        Err(e) => {
            tracing::warn!(venue = %companycode, %date, error = %e, "KTV backfill attempt not recorded")
        }
    }
    let label = match &result {
        Ok(_) => "ok",
        Err(e) => e.label(),
    };
    metrics::counter!("posgate_ktv_backfill_runs_total", "result" => label).increment(1);
    metrics::histogram!("posgate_ktv_backfill_duration_seconds")
        .record(started.elapsed().as_secs_f64());
    match &result {
        Ok(c) => tracing::info!(
            venue = %companycode, %date, fetched = c.fetched, new = c.new, changed = c.changed,
            unchanged = c.unchanged, invalid = c.invalid, repeated = c.repeated,
            absent = c.absent, day = %c.day_status,
            seconds = started.elapsed().as_secs_f64(), "KTV backfill done"
        ),
        Err(e) => tracing::warn!(venue = %companycode, %date, error = %e, "KTV backfill failed"),
    }
    result
}

/// Records the attempt and the day's pull figures; returns the day's completeness status.
async fn record(
    gw: &Gateway,
    companycode: &CompanyCode,
    date: &BusinessDate,
    trigger: Trigger,
    started_at_ms: i64,
    facts: &PullFacts,
    result: &Result<BackfillCounts, BackfillError>,
) -> Result<String, posgate_actors::store::StoreError> {
    let counts = result.as_ref().cloned().unwrap_or_default();
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let mut attempt = BackfillAttempt {
        business_date: date.to_string(),
        trigger: trigger.as_str().to_string(),
        started_at_ms,
        finished_at_ms: now_ms(),
        outcome: String::new(),
        total: facts.total,
        fetched: count(counts.fetched) + facts.repeated,
        repeated: facts.repeated,
        new: count(counts.new),
        changed: count(counts.changed),
        unchanged: count(counts.unchanged),
        invalid: count(counts.invalid),
        absent: count(counts.absent),
        error: facts.error.clone(),
    };
    let (code, facts) = (companycode.to_string(), facts.clone());
    gw.store
        .transaction(move |db| {
            Box::pin(async move {
                let day = attempt.business_date.clone();
                store_ktv::record_pull(db, &code, &day, &facts, attempt.finished_at_ms).await?;
                let status = store_ktv::day_completeness(db, &code, &day, &day)
                    .await?
                    .into_iter()
                    .next()
                    .map_or_else(|| "unknown".to_string(), |d| d.status);
                attempt.outcome = if facts.error.is_empty() {
                    status.clone()
                } else {
                    "failed".to_string()
                };
                store_ktv::insert_attempt(db, &code, &attempt).await?;
                Ok(status)
            })
        })
        .await
}

/// The request for page `num` of `date`'s bills.
fn bills_request(
    companycode: &CompanyCode,
    date: &BusinessDate,
    num: u32,
    size: u32,
) -> Result<Wj091Request, BackfillError> {
    let page = Page::new(num, size).map_err(|e| BackfillError::Request(e.to_string()))?;
    Ok(Wj091Request::new(
        companycode.clone(),
        Wj091Query::Bills {
            date: date.clone(),
            voucher: None,
            page,
        },
    )
    .map_err(|e| BackfillError::Request(e.to_string()))?
    .with_zip(true))
}

/// The rows of `bills` whose voucher was not seen on an earlier page; counts the others in
/// `facts.repeated` and adds the new rows' revenue to `facts.revenue`.
fn first_seen(bills: Vec<Bill>, seen: &mut HashSet<String>, facts: &mut PullFacts) -> Vec<Bill> {
    let fresh: Vec<Bill> = bills
        .into_iter()
        .filter(|b| {
            let new = seen.insert(b.voucher.clone());
            if !new {
                facts.repeated += 1;
            }
            new
        })
        .collect();
    let revenue: i128 = fresh
        .iter()
        .filter_map(Bill::revenue)
        .map(|t| t.net())
        .sum();
    facts.revenue = facts
        .revenue
        .saturating_add(i64::try_from(revenue).unwrap_or(i64::MAX));
    fresh
}

async fn run(
    gw: &Gateway,
    companycode: &CompanyCode,
    date: &BusinessDate,
    facts: &mut PullFacts,
) -> Result<BackfillCounts, BackfillError> {
    let client = gw.wj091.as_ref().ok_or(Wj091Error::Disabled)?;
    let size = gw.config.ktv.wj091_page_size;
    let mut total = BackfillCounts::default();
    let mut seen = HashSet::new();
    for num in 0..BACKFILL_PAGES_MAX {
        let reply = client
            .request(&bills_request(companycode, date, num, size)?)
            .await?;
        if let Some(t) = reply.total {
            facts.total = Some(i64::from(t));
        }
        let rows = match reply.data {
            Wj091Data::Bills(bills) => bills,
            _ => Vec::new(),
        };
        let received = rows.len();
        let fresh = first_seen(rows, &mut seen, facts);
        if !fresh.is_empty() {
            let counts = gw
                .venues
                .call(
                    companycode.as_str(),
                    KtvBackfill {
                        date: date.to_string(),
                        bills: fresh.clone(),
                    },
                )
                .await?;
            add(&mut total, counts);
        }
        metrics::counter!("posgate_ktv_backfill_pages_total").increment(1);
        tracing::info!(
            venue = %companycode, %date, page = num + 1, total = ?facts.total,
            distinct = seen.len(), repeated = facts.repeated, fetched = total.fetched,
            new = total.new, changed = total.changed, invalid = total.invalid,
            "KTV backfill progress"
        );
        let whole_day = match facts.total {
            Some(t) => seen.len() as u64 >= t.unsigned_abs(),
            None => received < size as usize,
        };
        if whole_day || fresh.is_empty() {
            break;
        }
    }
    facts.distinct = i64::try_from(seen.len()).unwrap_or(i64::MAX);
    facts.complete = match facts.total {
        Some(t) => facts.distinct == t,
        None => true,
    };
    total.repeated = facts.repeated.unsigned_abs();
    total.total = facts.total.map(i64::unsigned_abs);
    if facts.complete {
        total.absent = flag_absent(gw, companycode, date, seen).await?;
    }
    for (outcome, n) in [
        ("new", total.new),
        ("changed", total.changed),
        ("unchanged", total.unchanged),
        ("invalid", total.invalid),
        ("absent", total.absent),
    ] {
        metrics::counter!("posgate_ktv_backfill_bills_total", "outcome" => outcome).increment(n);
    }
    Ok(total)
}

/// Flags the stored bills of `date` a complete pull did not list (voided in the venue).
async fn flag_absent(
    gw: &Gateway,
    companycode: &CompanyCode,
    date: &BusinessDate,
    present: HashSet<String>,
) -> Result<u64, BackfillError> {
    let (code, day) = (companycode.to_string(), date.to_string());
    gw.store
        .transaction(move |db| {
            Box::pin(
                async move { store_ktv::flag_absent(db, &code, &day, &present, now_ms()).await },
            )
        })
        .await
        .map_err(|e| BackfillError::Venue(EntityError::from(e)))
}

fn add(total: &mut BackfillCounts, page: BackfillCounts) {
    total.fetched += page.fetched;
    total.new += page.new;
    total.changed += page.changed;
    total.unchanged += page.unchanged;
    total.invalid += page.invalid;
    let room = INVALID_LISTED_MAX.saturating_sub(total.invalid_bills.len());
    total
        .invalid_bills
        .extend(page.invalid_bills.into_iter().take(room));
}

/// The business dates the scheduled backfill looks at now: `backfill_days_back` days ago
/// back to `backfill_horizon_days` days ago, newest first.
fn scheduled_dates(gw: &Gateway) -> Vec<BusinessDate> {
    let today = gw.business_date();
    let first = gw.config.ktv.backfill_days_back;
    let last = gw.config.ktv.backfill_horizon_days.max(first);
    (first..=last)
        .filter_map(|back| {
            let day = today - Days::days(i64::from(back));
            BusinessDate::parse(&day.format("%Y-%m-%d").to_string()).ok()
        })
        .collect()
}

/// The dates of `dates` that venue `code` does not hold completely yet.
async fn incomplete_dates(
    gw: &Gateway,
    code: &str,
    dates: &[BusinessDate],
) -> Result<Vec<BusinessDate>, posgate_actors::store::StoreError> {
    let venue = code.to_string();
    let texts: Vec<String> = dates.iter().map(ToString::to_string).collect();
    let incomplete: HashSet<String> = gw
        .store
        .transaction(move |db| {
            Box::pin(async move { store_ktv::incomplete_days(db, &venue, &texts).await })
        })
        .await?
        .into_iter()
        .collect();
    Ok(dates
        .iter()
        .filter(|d| incomplete.contains(d.as_str()))
        .cloned()
        .collect())
}

/// What a member-income pull stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct MemberIncomePull {
    /// WJ091 type 3 rows pulled (member recharges, kept raw).
    pub recharges: u64,
    /// WJ091 type 5 rows pulled (card fees).
    pub card_fees: u64,
    /// Rows not stored before.
    pub new: u64,
    /// Sum of the pulled card fees' `acceptmoney`, fen.
    pub card_fee_income: i64,
}

/// Every row of a paged member-income query of `date`.
async fn member_rows(
    gw: &Gateway,
    companycode: &CompanyCode,
    query: Wj091Query,
) -> Result<Vec<MemberRow>, BackfillError> {
    let client = gw.wj091.as_ref().ok_or(Wj091Error::Disabled)?;
    let request = Wj091Request::new(companycode.clone(), query)
        .map_err(|e| BackfillError::Request(e.to_string()))?
        .with_zip(true);
    let (replies, _) = client
        .request_pages(request, BACKFILL_PAGES_MAX as usize)
        .await?;
    let mut rows = Vec::new();
    for reply in replies {
        match reply.data {
            Wj091Data::MemberRecharges(raw) => rows.extend(raw.into_iter().map(|r| {
                let json = serde_json::Value::Object(r.0).to_string();
                MemberRow {
                    kind: 3,
                    row_key: hex::encode(Sha256::digest(json.as_bytes())),
                    amount: None,
                    json,
                }
            })),
            Wj091Data::CardFees(fees) => rows.extend(fees.into_iter().map(|f| MemberRow {
                kind: 5,
                row_key: f.onlybusinessid.to_string(),
                amount: Some(f.acceptmoney.get()),
                json: serde_json::to_string(&f).unwrap_or_default(),
            })),
            _ => {}
        }
    }
    Ok(rows)
}

/// Pulls a venue's member recharges (WJ091 type 3) and card fees (type 5) of `date`, every
/// page, and stores them (a row pulled again replaces the stored one).
pub async fn pull_member_income(
    gw: &Gateway,
    companycode: &CompanyCode,
    date: &BusinessDate,
) -> Result<MemberIncomePull, BackfillError> {
    let page = Page::new(0, gw.config.ktv.wj091_page_size)
        .map_err(|e| BackfillError::Request(e.to_string()))?;
    let mut rows = member_rows(
        gw,
        companycode,
        Wj091Query::MemberRecharges {
            date: date.clone(),
            page,
        },
    )
    .await?;
    rows.extend(
        member_rows(
            gw,
            companycode,
            Wj091Query::CardFees {
                date: date.clone(),
                page,
            },
        )
        .await?,
    );
    let mut pulled = MemberIncomePull {
        recharges: rows.iter().filter(|r| r.kind == 3).count() as u64,
        card_fees: rows.iter().filter(|r| r.kind == 5).count() as u64,
        card_fee_income: rows.iter().filter_map(|r| r.amount).sum(),
        new: 0,
    };
    let (code, day) = (companycode.to_string(), date.to_string());
    pulled.new = gw
        .store
        .transaction(move |db| {
            Box::pin(async move {
                ktv_report::store_member_rows(db, &code, &day, &rows, now_ms()).await
            })
        })
        .await
        .map_err(|e| BackfillError::Venue(EntityError::from(e)))?;
    Ok(pulled)
}

/// Claims (`code`, `date`) for this replica for `lease_ms` and backfills it if won.
async fn claim_and_run(gw: &Gateway, code: &CompanyCode, date: &BusinessDate, lease_ms: i64) {
    let (venue, day) = (code.as_str().to_string(), date.to_string());
    let now = now_ms();
    let claimed = gw
        .store
        .transaction(move |db| {
            Box::pin(async move {
                store_ktv::claim_backfill(db, &venue, &day, now, now - lease_ms).await
            })
        })
        .await;
    match claimed {
        Ok(true) => {
            // Failures are logged, counted and recorded inside; the next one still runs.
            if backfill(gw, code, date, Trigger::Schedule).await.is_ok() {
                if let Err(e) = pull_member_income(gw, code, date).await {
                    tracing::warn!(venue = %code, %date, error = %e, "KTV member income pull failed");
                }
            }
        }
        Ok(false) => {
            tracing::debug!(venue = %code, %date, "KTV scheduled backfill claimed by another replica")
        }
        Err(e) => tracing::warn!(venue = %code, error = %e, "KTV scheduled backfill: claim failed"),
    }
}

/// One round of the schedule: every active venue with KTV options, every business date of
/// [`scheduled_dates`] it does not hold completely.
async fn scheduled_round(gw: &Gateway, lease_ms: i64) {
    let dates = scheduled_dates(gw);
    let venues = match gw
        .store
        .transaction(|db| Box::pin(async move { store_ktv::backfill_venues(db).await }))
        .await
    {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(error = %e, "KTV scheduled backfill: venue list unavailable");
            return;
        }
    };
    tracing::info!(
        dates = dates.len(),
        venues = venues.len(),
        "KTV scheduled backfill"
    );
    for code in venues {
        let Ok(company) = CompanyCode::parse(&code) else {
            continue;
        };
        let due = match incomplete_dates(gw, &code, &dates).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(venue = %code, error = %e, "KTV scheduled backfill: days unavailable");
                continue;
            }
        };
        for date in due {
            claim_and_run(gw, &company, &date, lease_ms).await;
        }
    }
}

/// The scheduled backfill: every `ktv.backfill_interval_seconds`, every active venue with
/// KTV options, every business date from `ktv.backfill_days_back` to
/// `ktv.backfill_horizon_days` days ago that is not complete (a failed or incomplete day is
/// tried again at each round until it is complete or leaves the horizon). Runs until the
/// gateway is dropped. In a cluster each (venue, date) is claimed in the database first
/// (`ktv_backfill_claims`), so one replica per interval pulls it.
pub async fn schedule(gw: actix_web::web::Data<Gateway>) {
    let every = Duration::from_secs(gw.config.ktv.backfill_interval_seconds.max(1));
    let weak = std::sync::Arc::downgrade(&gw.clone().into_inner());
    drop(gw);
    // A claim lasts 90% of the interval: this replica's next tick can renew it, another
    // replica's tick inside the interval finds it taken.
    let lease_ms = i64::try_from(every.as_millis() * 9 / 10).unwrap_or(i64::MAX);
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tick.tick().await;
        let Some(gw) = weak.upgrade() else { return };
        scheduled_round(&gw, lease_ms).await;
    }
}
