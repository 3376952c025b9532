//! KTV reports an operator reads (issue 11, deliverable 5): per venue and business day, the
//! revenue by charge class (the spec's types 1-6) and by payment method, the day's
//! completeness, and the bill events (反结账, voids, bills the venue no longer lists).
//! Read from `ktv_bills` and `ktv_days`; nothing here writes.

use super::ktv::{day_completeness, day_summaries_between, DayCompleteness, DaySummary};
use super::sql::{Db, StoreError};
use posgate_protocols::ktv::Bill;
use serde::Serialize;
use std::collections::BTreeMap;

/// Revenue of one payment method on one day.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentLine {
    /// 支付方式类型 ID.
    pub payment_type_id: i64,
    /// Its name on the bills (the last one seen).
    pub payment_type_name: String,
    /// Sum of `translatemoney` (else `value`), fen.
    pub amount: i64,
    /// Payments counted.
    pub payments: i64,
}

/// One business day of a venue.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DayReport {
    /// `yyyy-MM-dd`.
    pub business_date: String,
    /// Revenue by charge class, counts (bills in revenue only).
    pub summary: DaySummary,
    /// Revenue by payment method (bills in revenue only), by `payment_type_id`.
    pub by_payment: Vec<PaymentLine>,
    /// Whether the day is held whole, and why not.
    pub completeness: DayCompleteness,
}

/// Revenue by payment method per business day, from the stored bills in revenue.
async fn payments_by_day(
    db: &dyn Db,
    companycode: &str,
    from: &str,
    to: &str,
) -> Result<BTreeMap<String, Vec<PaymentLine>>, StoreError> {
    let mut days: BTreeMap<String, BTreeMap<i64, PaymentLine>> = BTreeMap::new();
    for row in db
        .query(
            "SELECT business_date, bill_json FROM ktv_bills WHERE companycode = $1 \
             AND business_date >= $2 AND business_date <= $3 AND counted = 1 \
             AND absent_at_ms IS NULL",
            &[companycode.into(), from.into(), to.into()],
        )
        .await?
    {
        let bill: Bill = serde_json::from_str(&row.text(1)?)
            .map_err(|e| StoreError::Decode(format!("stored bill: {e}")))?;
        let lines = days.entry(row.text(0)?).or_default();
        for p in &bill.payments {
            let line = lines.entry(p.payment_type_id).or_default();
            line.payment_type_id = p.payment_type_id;
            line.payment_type_name.clone_from(&p.payment_type_name);
            line.amount = line.amount.saturating_add(p.translated().get());
            line.payments += 1;
        }
    }
    Ok(days
        .into_iter()
        .map(|(d, lines)| (d, lines.into_values().collect()))
        .collect())
}

/// The report of a venue's business days from `from` to `to` (inclusive), oldest first:
/// every day with stored bills or figures from the venue.
pub async fn day_reports(
    db: &dyn Db,
    companycode: &str,
    from: &str,
    to: &str,
) -> Result<Vec<DayReport>, StoreError> {
    let mut summaries: BTreeMap<String, DaySummary> =
        day_summaries_between(db, companycode, from, to)
            .await?
            .into_iter()
            .map(|s| (s.business_date.clone(), s))
            .collect();
    let mut payments = payments_by_day(db, companycode, from, to).await?;
    let mut reports: Vec<DayReport> = day_completeness(db, companycode, from, to)
        .await?
        .into_iter()
        .map(|c| DayReport {
            business_date: c.business_date.clone(),
            summary: summaries
                .remove(&c.business_date)
                .unwrap_or_else(|| DaySummary {
                    business_date: c.business_date.clone(),
                    ..DaySummary::default()
                }),
            by_payment: payments.remove(&c.business_date).unwrap_or_default(),
            completeness: c,
        })
        .collect();
    reports.sort_by(|a, b| a.business_date.cmp(&b.business_date));
    Ok(reports)
}

/// The CSV of [`day_reports`]: one line per figure, `business_date,section,item,value`
/// (sections `status`, `category`, `payment`, `count`; amounts in fen).
pub fn reports_csv(reports: &[DayReport]) -> String {
    let mut out = String::from("business_date,section,item,value\n");
    let quote = |text: &str| format!("\"{}\"", text.replace('"', "\"\""));
    for r in reports {
        let d = &r.business_date;
        let s = &r.summary;
        out.push_str(&format!(
            "{d},status,completeness,{}\n",
            r.completeness.status
        ));
        for (item, value) in [
            ("bills", s.bills),
            ("counted", s.counted),
            ("voided", s.voided),
        ] {
            out.push_str(&format!("{d},count,{item},{value}\n"));
        }
        for (item, value) in [
            ("1 room", s.room),
            ("2 drinks", s.drinks),
            ("3 service", s.service),
            ("4 other", s.other),
            ("5 member", s.member),
            ("6 reduction", s.reduction),
            ("revenue", s.revenue),
        ] {
            out.push_str(&format!("{d},category,{item},{value}\n"));
        }
        for p in &r.by_payment {
            let item = quote(&format!("{} {}", p.payment_type_id, p.payment_type_name));
            out.push_str(&format!("{d},payment,{item},{}\n", p.amount));
        }
    }
    out
}

/// A bill event an operator lists: a 反结账, a 还原, a void, or a bill the venue no
/// longer lists (as last stored).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BillEvent {
    /// Bill number.
    pub voucher: String,
    /// `yyyy-MM-dd`.
    pub business_date: String,
    /// `rebilled` (modify 1, 反结账), `restored` (modify 2, 还原), `revoked` (revoke
    /// non-zero), `absent` (no longer listed by the venue).
    pub events: Vec<String>,
    /// The `revoke` code.
    pub revoke: i64,
    /// The `modify` code.
    pub modify: i64,
    /// Revisions stored (1 + replacements).
    pub revision: i64,
    /// Revenue of the stored version, fen.
    pub net: i64,
    /// Last change, unix ms.
    pub updated_at_ms: i64,
}

/// The bill events of a venue from `from` to `to` (inclusive), by day then voucher.
pub async fn bill_events(
    db: &dyn Db,
    companycode: &str,
    from: &str,
    to: &str,
) -> Result<Vec<BillEvent>, StoreError> {
    db.query(
        "SELECT voucher, business_date, revoke, modify, revision, net, updated_at_ms, \
         absent_at_ms FROM ktv_bills WHERE companycode = $1 AND business_date >= $2 \
         AND business_date <= $3 AND (modify <> 0 OR revoke <> 0 OR absent_at_ms IS NOT NULL) \
         ORDER BY business_date, voucher",
        &[companycode.into(), from.into(), to.into()],
    )
    .await?
    .iter()
    .map(|r| {
        let (revoke, modify) = (r.i64(2)?, r.i64(3)?);
        let events = [
            (modify == 1, "rebilled"),
            (modify == 2, "restored"),
            (revoke != 0, "revoked"),
            (r.opt_i64(7)?.is_some(), "absent"),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, name)| name.to_string())
        .collect();
        Ok(BillEvent {
            voucher: r.text(0)?,
            business_date: r.text(1)?,
            events,
            revoke,
            modify,
            revision: r.i64(4)?,
            net: r.i64(5)?,
            updated_at_ms: r.i64(6)?,
        })
    })
    .collect()
}
