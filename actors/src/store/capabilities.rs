//! Terminal capabilities: the money-creating or money-moving operations an operator grants
//! a terminal (MQTT mode 2 top-up, mode 12 load / 圈存, jpos card activation), each with its
//! ceilings. A terminal without a grant is refused the operation.

use super::sql::{query_opt, Db, Row, StoreError};
use serde::{Deserialize, Serialize};

/// An operation a terminal may perform only when an operator granted it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Online cash top-up (MQTT mode 2, 在线金额充值): creates money on an account.
    TopUp,
    /// Load to the offline purse (MQTT mode 12, 圈存): moves cash to the purse.
    Load,
    /// Card activation (jpos `card/active`, 卡激活): makes a card spendable.
    CardActivation,
}

impl Capability {
    /// Every capability.
    pub const ALL: [Capability; 3] = [
        Capability::TopUp,
        Capability::Load,
        Capability::CardActivation,
    ];

    /// The stored and URL name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Capability::TopUp => "top_up",
            Capability::Load => "load",
            Capability::CardActivation => "card_activation",
        }
    }

    /// Parses the stored and URL name.
    pub fn parse(name: &str) -> Option<Capability> {
        Capability::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// The journal kind the capability's postings are recorded as (for daily totals); `None`
    /// for a capability that posts nothing.
    const fn journal_kind(self) -> Option<&'static str> {
        match self {
            Capability::TopUp => Some("credit"),
            Capability::Load => Some("transfer"),
            Capability::CardActivation => None,
        }
    }
}

/// A capability granted to a terminal, with its ceilings (fen; 0 = no ceiling).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Grant {
    /// What is granted.
    pub capability: Capability,
    /// Largest amount of one operation, fen; 0 = no ceiling.
    pub per_transaction_max: i64,
    /// Largest total of the terminal's operations per business day, fen; 0 = no ceiling.
    pub daily_max: i64,
    /// Granted (or last changed) at, unix ms.
    pub granted_at_ms: i64,
}

impl Grant {
    /// Whether `amount` fits the per-transaction ceiling.
    pub fn allows_amount(&self, amount: i64) -> bool {
        self.per_transaction_max == 0 || amount <= self.per_transaction_max
    }

    /// Whether `amount` on top of `day_total` fits the daily ceiling.
    pub fn allows_day(&self, day_total: i64, amount: i64) -> bool {
        self.daily_max == 0 || day_total.saturating_add(amount) <= self.daily_max
    }
}

fn grant_row(r: &Row) -> Result<Grant, StoreError> {
    let name = r.text(0)?;
    Ok(Grant {
        capability: Capability::parse(&name)
            .ok_or_else(|| StoreError::Decode(format!("unknown capability {name:?}")))?,
        per_transaction_max: r.i64(1)?,
        daily_max: r.i64(2)?,
        granted_at_ms: r.i64(3)?,
    })
}

/// The grants of a terminal, in capability order.
pub async fn grants(db: &dyn Db, terminal_id: i64) -> Result<Vec<Grant>, StoreError> {
    db.query(
        "SELECT capability, per_transaction_max, daily_max, granted_at_ms \
         FROM terminal_capabilities WHERE terminal_id = $1 ORDER BY capability",
        &[terminal_id.into()],
    )
    .await?
    .iter()
    .map(grant_row)
    .collect()
}

/// Grants (or changes the ceilings of) a capability.
pub async fn grant(db: &dyn Db, terminal_id: i64, grant: &Grant) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO terminal_capabilities \
         (terminal_id, capability, per_transaction_max, daily_max, granted_at_ms) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (terminal_id, capability) DO UPDATE SET \
         per_transaction_max = excluded.per_transaction_max, daily_max = excluded.daily_max, \
         granted_at_ms = excluded.granted_at_ms",
        &[
            terminal_id.into(),
            grant.capability.as_str().into(),
            grant.per_transaction_max.into(),
            grant.daily_max.into(),
            grant.granted_at_ms.into(),
        ],
    )
    .await
    .map(drop)
}

/// Revokes a capability; `false` when it was not granted.
pub async fn revoke(
    db: &dyn Db,
    terminal_id: i64,
    capability: Capability,
) -> Result<bool, StoreError> {
    let n = db
        .execute(
            "DELETE FROM terminal_capabilities WHERE terminal_id = $1 AND capability = $2",
            &[terminal_id.into(), capability.as_str().into()],
        )
        .await?;
    Ok(n > 0)
}

/// What the ceiling check of one request needs: whether its key is already journaled (a
/// retry, which replays whatever the ceilings say now) and the terminal's posted total of
/// the capability's operations on `business_date`, without that key.
pub async fn day_usage(
    db: &dyn Db,
    terminal_key: &str,
    capability: Capability,
    business_date: chrono::NaiveDate,
    request_key: &str,
) -> Result<(bool, i64), StoreError> {
    let retry = super::catalog::find_transaction(db, request_key)
        .await?
        .is_some();
    let Some(kind) = capability.journal_kind() else {
        return Ok((retry, 0));
    };
    let total = query_opt(
        db,
        "SELECT CAST(COALESCE(SUM(posted_amount), 0) AS BIGINT) FROM journal \
         WHERE terminal = $1 AND kind = $2 AND status = 'posted' AND business_date = $3",
        &[
            terminal_key.into(),
            kind.into(),
            business_date.to_string().into(),
        ],
    )
    .await?
    .map_or(Ok(0), |r| r.i64(0))?;
    Ok((retry, total))
}
