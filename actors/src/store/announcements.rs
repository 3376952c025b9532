//! Claims of payment announcements on the merchant's DS50 speakers: one row per announced
//! payment. Only the caller whose insert claims a payment publishes it, so a payment is
//! announced at most once across retries and replicas.

use super::sql::{Db, StoreError};

/// Claims the announcement of the posted payment `transaction_id` (`amount` fen, at
/// merchant `merchant_id`); returns whether this call claimed it (`false`: it was claimed
/// before, by this replica or another).
pub async fn claim(
    db: &dyn Db,
    transaction_id: i64,
    merchant_id: i64,
    amount: i64,
    at_ms: i64,
) -> Result<bool, StoreError> {
    let n = db
        .execute(
            "INSERT INTO payment_announcements (transaction_id, merchant_id, amount, at_ms) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (transaction_id) DO NOTHING",
            &[
                transaction_id.into(),
                merchant_id.into(),
                amount.into(),
                at_ms.into(),
            ],
        )
        .await?;
    Ok(n == 1)
}
