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
    /// Member recharges and card fees pulled over WJ091 (types 3 and 5).
    pub member_income: MemberIncome,
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
    let mut income = member_income_by_day(db, companycode, from, to).await?;
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
            member_income: income.remove(&c.business_date).unwrap_or_default(),
            completeness: c,
        })
        .collect();
    // Days with member income only.
    for (day, member_income) in income {
        reports.push(DayReport {
            summary: DaySummary {
                business_date: day.clone(),
                ..DaySummary::default()
            },
            completeness: DayCompleteness {
                business_date: day.clone(),
                status: "unknown".into(),
                ..DayCompleteness::default()
            },
            business_date: day,
            by_payment: Vec::new(),
            member_income,
        });
    }
    reports.sort_by(|a, b| a.business_date.cmp(&b.business_date));
    Ok(reports)
}

/// The CSV of [`day_reports`]: one line per figure, `business_date,section,item,value`
/// (sections `status`, `count`, `category`, `member`, `payment`; amounts in fen).
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
        let m = &r.member_income;
        for (item, value) in [
            ("recharges", m.recharges),
            ("card_fees", m.card_fees),
            ("card_fee_income", m.card_fee_income),
        ] {
            out.push_str(&format!("{d},member,{item},{value}\n"));
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

/// A member-income row pulled over WJ091 to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberRow {
    /// 3 member recharge, 5 card fee.
    pub kind: i64,
    /// The row's identity: `onlybusinessid` (type 5), SHA-256 of the row (type 3).
    pub row_key: String,
    /// Fen, when the row's amount is known (type 5 `acceptmoney`).
    pub amount: Option<i64>,
    /// The row as pulled.
    pub json: String,
}

/// Stores member-income rows of `business_date`; returns how many were not stored before.
pub async fn store_member_rows(
    db: &dyn Db,
    companycode: &str,
    business_date: &str,
    rows: &[MemberRow],
    now_ms: i64,
) -> Result<u64, StoreError> {
    let mut new = 0;
    for row in rows {
        let existed = db
            .query(
                "SELECT 1 FROM ktv_member_rows WHERE companycode = $1 AND kind = $2 \
                 AND row_key = $3",
                &[
                    companycode.into(),
                    row.kind.into(),
                    row.row_key.clone().into(),
                ],
            )
            .await?
            .is_empty();
        new += u64::from(existed);
        db.execute(
            "INSERT INTO ktv_member_rows (companycode, business_date, kind, row_key, amount, \
             row_json, pulled_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (companycode, kind, row_key) DO UPDATE SET \
             business_date = excluded.business_date, amount = excluded.amount, \
             row_json = excluded.row_json, pulled_at_ms = excluded.pulled_at_ms",
            &[
                companycode.into(),
                business_date.into(),
                row.kind.into(),
                row.row_key.clone().into(),
                row.amount.into(),
                row.json.clone().into(),
                now_ms.into(),
            ],
        )
        .await?;
    }
    Ok(new)
}

/// Member income of one day: recharge rows, card-fee rows and their income.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberIncome {
    /// WJ091 type 3 rows stored (kept raw).
    pub recharges: i64,
    /// WJ091 type 5 rows stored.
    pub card_fees: i64,
    /// Sum of the card fees' `acceptmoney`, fen.
    pub card_fee_income: i64,
}

/// Member income per business day from `from` to `to`.
async fn member_income_by_day(
    db: &dyn Db,
    companycode: &str,
    from: &str,
    to: &str,
) -> Result<BTreeMap<String, MemberIncome>, StoreError> {
    let mut days: BTreeMap<String, MemberIncome> = BTreeMap::new();
    for r in db
        .query(
            "SELECT business_date, kind, CAST(COUNT(*) AS BIGINT), \
             CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM ktv_member_rows \
             WHERE companycode = $1 AND business_date >= $2 AND business_date <= $3 \
             GROUP BY business_date, kind",
            &[companycode.into(), from.into(), to.into()],
        )
        .await?
    {
        let day = days.entry(r.text(0)?).or_default();
        match r.i64(1)? {
            3 => day.recharges = r.i64(2)?,
            _ => {
                day.card_fees = r.i64(2)?;
                day.card_fee_income = r.i64(3)?;
            }
        }
    }
    Ok(days)
}
