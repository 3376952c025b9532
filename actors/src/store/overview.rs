//! What waits for an operator, counted across the whole database: the metrics' backlog
//! (sampled at scrape time) and the console's front page (one read of everything it shows).

use super::sql::{query_one, Db, StoreError};
use super::{ktv, Backlog};

/// Counts `SELECT COUNT(*) ...` without parameters.
async fn count(db: &dyn Db, sql: &str) -> Result<i64, StoreError> {
    query_one(db, sql, &[]).await?.i64(0)
}

/// `(family, count)` of a `SELECT family, COUNT(*) ... GROUP BY family`.
async fn by_family(
    db: &dyn Db,
    sql: &str,
    params: &[super::Value],
) -> Result<Vec<(String, i64)>, StoreError> {
    db.query(sql, params)
        .await?
        .iter()
        .map(|r| Ok((r.text(0)?, r.i64(1)?)))
        .collect()
}

/// Open offline exceptions, dead partner letters, terminals seen since `seen_since_ms` by
/// family (every request of a terminal counts as presence).
pub async fn backlog(db: &dyn Db, seen_since_ms: i64) -> Result<Backlog, StoreError> {
    Ok(Backlog {
        open_exceptions: count(
            db,
            "SELECT COUNT(*) FROM offline_exceptions WHERE status = 'open'",
        )
        .await?,
        dead_letters: count(
            db,
            "SELECT COUNT(*) FROM partner_intake WHERE status = 'dead'",
        )
        .await?,
        devices_seen: by_family(
            db,
            "SELECT family, COUNT(*) FROM terminals WHERE last_seen_at_ms >= $1 GROUP BY family",
            &[seen_since_ms.into()],
        )
        .await?,
    })
}

/// The database part of the console's front page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overview {
    /// Exceptions, dead letters, terminals seen recently by family.
    pub backlog: Backlog,
    /// Every registered terminal, by family.
    pub devices_total: Vec<(String, i64)>,
    /// jpos requests still `pending` (waiting for the sweeper).
    pub jpos_pending: i64,
    /// Pospal balance mismatches still `open`.
    pub pospal_mismatches_open: i64,
    /// (active venue, business date of `dates`) pairs the venue does not hold completely.
    pub venue_days_incomplete: i64,
}

/// Reads the [`Overview`]: terminals seen since `seen_since_ms` count as online, and each
/// active venue's business days `dates` (`yyyy-MM-dd`) are judged for completeness.
pub async fn read(
    db: &dyn Db,
    seen_since_ms: i64,
    dates: &[String],
) -> Result<Overview, StoreError> {
    let venues = db
        .query(
            "SELECT companycode FROM venues WHERE status = 'active' ORDER BY id",
            &[],
        )
        .await?;
    let mut venue_days_incomplete = 0;
    for venue in &venues {
        let days = ktv::incomplete_days(db, &venue.text(0)?, dates).await?;
        venue_days_incomplete += days.len() as i64;
    }
    Ok(Overview {
        backlog: backlog(db, seen_since_ms).await?,
        devices_total: by_family(
            db,
            "SELECT family, COUNT(*) FROM terminals GROUP BY family",
            &[],
        )
        .await?,
        jpos_pending: count(
            db,
            "SELECT COUNT(*) FROM jpos_trans WHERE status = 'pending'",
        )
        .await?,
        pospal_mismatches_open: count(
            db,
            "SELECT COUNT(*) FROM pospal_balance_mismatches WHERE status = 'open'",
        )
        .await?,
        venue_days_incomplete,
    })
}
