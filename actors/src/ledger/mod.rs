//! The ledger: double-entry postings in integer minor units.
//!
//! [`types`] is the vocabulary adapters speak; [`engine`] holds the rules, pure and shared by
//! both backends.

pub mod engine;
pub mod types;

pub use types::*;

/// The server's business date at `now`, for a business day that starts at midnight at
/// `utc_offset_minutes` east of UTC (`ledger.utc_offset_minutes`). Daily limits and
/// ceilings count against it; a device's clock never decides it.
pub fn business_date(
    utc_offset_minutes: i32,
    now: chrono::DateTime<chrono::Utc>,
) -> chrono::NaiveDate {
    now.with_timezone(&business_offset(utc_offset_minutes))
        .date_naive()
}

/// The business day's time zone: `utc_offset_minutes` east of UTC (UTC when out of range;
/// the configuration is validated to -720..=840).
pub fn business_offset(utc_offset_minutes: i32) -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(utc_offset_minutes.saturating_mul(60))
        .unwrap_or_else(|| chrono::FixedOffset::east_opt(0).expect("zero offset is valid"))
}
