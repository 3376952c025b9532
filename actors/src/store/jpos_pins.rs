//! What jpos PIN verification keeps: each terminal's working keys of its last check-in
//! (sealed under the gateway's key-encryption key) and each card's PIN as a keyed
//! verification value with its count of wrong tries in a row.

use super::sql::{query_one, query_opt, Db, StoreError};

/// A card's stored PIN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardPin {
    /// The keyed verification value of the PIN.
    pub verifier: String,
    /// Wrong tries in a row.
    pub tries: i64,
}

/// Keeps the working keys of `terminal_id`'s check-in, sealed (replacing the last one's).
pub async fn keep_working_keys(
    db: &dyn Db,
    terminal_id: i64,
    pin_key_sealed: &str,
    mac_key_sealed: &str,
) -> Result<(), StoreError> {
    db.execute(
        "UPDATE jpos_terminal_batches SET pin_key_sealed = $2, mac_key_sealed = $3 \
         WHERE terminal_id = $1",
        &[
            terminal_id.into(),
            pin_key_sealed.into(),
            mac_key_sealed.into(),
        ],
    )
    .await?;
    Ok(())
}

/// The sealed PIN key of the last check-in of the jpos terminal `code`
/// (`{storeNo}:{terminalNo}`), if it checked in since keys are kept.
pub async fn pin_key(db: &dyn Db, code: &str) -> Result<Option<String>, StoreError> {
    Ok(query_opt(
        db,
        "SELECT b.pin_key_sealed FROM jpos_terminal_batches b \
         JOIN terminals t ON t.id = b.terminal_id WHERE t.family = 'jpos' AND t.code = $1",
        &[code.into()],
    )
    .await?
    .map(|r| r.opt_text(0))
    .transpose()?
    .flatten())
}

/// The PIN of card `card_hmac`, if it has one.
pub async fn card_pin(db: &dyn Db, card_hmac: &str) -> Result<Option<CardPin>, StoreError> {
    let Some(row) = query_opt(
        db,
        "SELECT pin_verifier, pin_tries FROM cards WHERE pan_hmac = $1",
        &[card_hmac.into()],
    )
    .await?
    else {
        return Ok(None);
    };
    Ok(row.opt_text(0)?.map(|verifier| CardPin {
        verifier,
        tries: row.i64(1).unwrap_or_default(),
    }))
}

/// Counts a wrong try of card `card_hmac`'s PIN; returns the tries in a row now.
pub async fn count_pin_try(db: &dyn Db, card_hmac: &str) -> Result<i64, StoreError> {
    query_one(
        db,
        "UPDATE cards SET pin_tries = pin_tries + 1 WHERE pan_hmac = $1 RETURNING pin_tries",
        &[card_hmac.into()],
    )
    .await?
    .i64(0)
}

/// Clears card `card_hmac`'s count of wrong tries (a right PIN).
pub async fn clear_pin_tries(db: &dyn Db, card_hmac: &str) -> Result<(), StoreError> {
    db.execute(
        "UPDATE cards SET pin_tries = 0 WHERE pan_hmac = $1",
        &[card_hmac.into()],
    )
    .await?;
    Ok(())
}

/// Sets (or with `None` removes) card `card_hmac`'s PIN and clears its tries; false when
/// there is no such card.
pub async fn set_card_pin(
    db: &dyn Db,
    card_hmac: &str,
    verifier: Option<&str>,
) -> Result<bool, StoreError> {
    Ok(db
        .execute(
            "UPDATE cards SET pin_verifier = $2, pin_tries = 0 WHERE pan_hmac = $1",
            &[card_hmac.into(), verifier.into()],
        )
        .await?
        == 1)
}
