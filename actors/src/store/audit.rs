//! The ledger audit: the double-entry invariants checked against what is stored.
//!
//! Run by the tests after every scenario and exposed to operators through the admin API.
//! A clean ledger has no transaction whose postings fail to sum to zero per asset, and no
//! cached balance that differs from the sum of its account's postings.

use super::sql::{Db, StoreError};
use serde::{Deserialize, Serialize};

/// Result of an audit; clean when both lists are empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditReport {
    /// Transactions checked.
    pub transactions: i64,
    /// Postings checked.
    pub postings: i64,
    /// `(journal id, asset, sum)` of transactions whose postings do not sum to zero.
    pub unbalanced: Vec<(i64, String, i64)>,
    /// `(account id, asset, cached balance, sum of postings)` that differ.
    pub balance_mismatches: Vec<(i64, String, i64, i64)>,
}

impl AuditReport {
    /// Whether every invariant holds.
    pub fn is_clean(&self) -> bool {
        self.unbalanced.is_empty() && self.balance_mismatches.is_empty()
    }
}

/// Audits the whole ledger (a full scan: for tests and occasional operator checks).
pub async fn run(db: &dyn Db) -> Result<AuditReport, StoreError> {
    let mut report = AuditReport {
        transactions: super::sql::query_one(db, "SELECT COUNT(*) FROM journal", &[])
            .await?
            .i64(0)?,
        postings: super::sql::query_one(db, "SELECT COUNT(*) FROM postings", &[])
            .await?
            .i64(0)?,
        ..AuditReport::default()
    };
    for r in db
        .query(
            "SELECT journal_id, asset, CAST(SUM(amount) AS BIGINT) FROM postings \
             GROUP BY journal_id, asset HAVING SUM(amount) <> 0 ORDER BY journal_id LIMIT 100",
            &[],
        )
        .await?
    {
        report.unbalanced.push((r.i64(0)?, r.text(1)?, r.i64(2)?));
    }
    for r in db
        .query(
            "SELECT b.account_id, b.asset, b.amount, CAST(COALESCE(SUM(p.amount), 0) AS BIGINT) \
             FROM balances b LEFT JOIN postings p ON p.account_id = b.account_id AND p.asset = b.asset \
             GROUP BY b.account_id, b.asset, b.amount \
             HAVING b.amount <> COALESCE(SUM(p.amount), 0) ORDER BY b.account_id LIMIT 100",
            &[],
        )
        .await?
    {
        report
            .balance_mismatches
            .push((r.i64(0)?, r.text(1)?, r.i64(2)?, r.i64(3)?));
    }
    Ok(report)
}
