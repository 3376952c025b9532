//! Backfill: pull a venue's bills of one business date over WJ091 (type 2, every page),
//! compare them with the stored ones, and store the missing or changed ones through the same
//! bill rules as the uploads (via the venue's actor, page by page). Triggered from the admin
//! API, or on a schedule for every venue with KTV options.

use super::wj091::Wj091Error;
use crate::app::Gateway;
use chrono::Duration as Days;
use posgate_actors::entity::{BackfillCounts, EntityError, KtvBackfill};
use posgate_actors::store::ktv as store_ktv;
use posgate_protocols::ktv::{
    BusinessDate, CompanyCode, Page, Wj091Data, Wj091Query, Wj091Request,
};
use std::time::{Duration, Instant};

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
/// unchanged, invalid).
pub async fn backfill(
    gw: &Gateway,
    companycode: &CompanyCode,
    date: &BusinessDate,
) -> Result<BackfillCounts, BackfillError> {
    let started = Instant::now();
    let result = run(gw, companycode, date).await;
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
            unchanged = c.unchanged, invalid = c.invalid,
            seconds = started.elapsed().as_secs_f64(), "KTV backfill done"
        ),
        Err(e) => tracing::warn!(venue = %companycode, %date, error = %e, "KTV backfill failed"),
    }
    result
}

async fn run(
    gw: &Gateway,
    companycode: &CompanyCode,
    date: &BusinessDate,
) -> Result<BackfillCounts, BackfillError> {
    let client = gw.wj091.as_ref().ok_or(Wj091Error::Disabled)?;
    let page = Page::new(0, gw.config.ktv.wj091_page_size)
        .map_err(|e| BackfillError::Request(e.to_string()))?;
    let first = Wj091Request::new(
        companycode.clone(),
        Wj091Query::Bills {
            date: date.clone(),
            voucher: None,
            page,
        },
    )
    .map_err(|e| BackfillError::Request(e.to_string()))?
    .with_zip(true);
    let mut total = BackfillCounts::default();
    let mut next = Some(first);
    while let Some(request) = next {
        let reply = client.request(&request).await?;
        next = request.next_page_request(&reply);
        let bills = match reply.data {
            Wj091Data::Bills(bills) => bills,
            _ => Vec::new(),
        };
        let pages = reply.total.map_or(1, |t| t.div_ceil(page.size()).max(1));
        let counts = gw
            .venues
            .call(companycode.as_str(), KtvBackfill { bills })
            .await?;
        add(&mut total, counts);
        metrics::counter!("posgate_ktv_backfill_pages_total").increment(1);
        tracing::info!(
            venue = %companycode, %date,
            page = reply.page.map_or(0, |p| p.num()) + 1, pages,
            fetched = total.fetched, new = total.new, changed = total.changed,
            invalid = total.invalid, "KTV backfill progress"
        );
    }
    for (outcome, n) in [
        ("new", total.new),
        ("changed", total.changed),
        ("unchanged", total.unchanged),
        ("invalid", total.invalid),
    ] {
        metrics::counter!("posgate_ktv_backfill_bills_total", "outcome" => outcome).increment(n);
    }
    Ok(total)
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

/// The scheduled backfill: every `ktv.backfill_interval_seconds`, every active venue with
/// KTV options, for the business date `ktv.backfill_days_back` days ago. Runs until the
/// gateway is dropped. In a cluster each (venue, date) is claimed in the database first
/// (`ktv_backfill_claims`), so one replica per interval pulls it.
pub async fn schedule(gw: actix_web::web::Data<Gateway>) {
    let every = Duration::from_secs(gw.config.ktv.backfill_interval_seconds.max(1));
    let weak = std::sync::Arc::downgrade(&gw.clone().into_inner());
    drop(gw);
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tick.tick().await;
        let Some(gw) = weak.upgrade() else { return };
        let day = gw.business_date() - Days::days(i64::from(gw.config.ktv.backfill_days_back));
        let Ok(date) = BusinessDate::parse(&day.format("%Y-%m-%d").to_string()) else {
            continue;
        };
        let venues = match gw
            .store
            .transaction(|db| Box::pin(async move { store_ktv::backfill_venues(db).await }))
            .await
        {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "KTV scheduled backfill: venue list unavailable");
                continue;
            }
        };
        tracing::info!(%date, venues = venues.len(), "KTV scheduled backfill");
        // A claim lasts 90% of the interval: this replica's next tick can renew it, another
        // replica's tick inside the interval finds it taken.
        let lease_ms = i64::try_from(every.as_millis() * 9 / 10).unwrap_or(i64::MAX);
        for code in venues {
            let Ok(code) = CompanyCode::parse(&code) else {
                continue;
            };
            let (venue, day) = (code.as_str().to_string(), date.to_string());
            let now = posgate_actors::store::now_ms();
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
                    // Failures are logged and counted inside; the next venue still runs.
                    let _ = backfill(&gw, &code, &date).await;
                }
                Ok(false) => {
                    tracing::debug!(venue = %code, %date, "KTV scheduled backfill claimed by another replica")
                }
                Err(e) => {
                    tracing::warn!(venue = %code, error = %e, "KTV scheduled backfill: claim failed")
                }
            }
        }
    }
}
