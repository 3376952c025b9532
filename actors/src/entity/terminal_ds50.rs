//! The DS50 protocol rules of a terminal actor (payment boxes, family `ds50`, key
//! `ds50:{deviceSn}`): a sale becomes a cash debit of the card's closed-loop account, and the
//! ledger outcome becomes the spec's `acqResponseCode` / `transStatus`.
//!
//! The adapter hashes the PAN with the card key before asking: this actor only ever sees the
//! card's keyed hash and its masked number, never the PAN, track 2, PIN block or EMV data.
//! A sale is idempotent on its trace identity `ds50:{sn}:{batch}:{trace}`: a retry (same
//! date, time, card and amount) gets the first answer (same authorisation code); the same
//! identity with other content is a conflict (`94`), never a replay. A reversal
//! (`transType` `REVERSAL`) names the sale it undoes by the same identity and posts a ledger
//! reversal under `ds50:{sn}:{batch}:{trace}:reversal`: it undoes the sale if it posted, and
//! leaves a tombstone that refuses it if it has not arrived yet.

use super::merchant_announce::announce_payment;
use super::terminal::{TerminalActor, TerminalState};
use super::EntityError;
use crate::ledger::{
    Asset, LedgerError, LimitPolicy, Operation, PostOutcome, PostRequest, Refusal, VoidKind,
};
use crate::mailbox::Ask;
use crate::model::{AccountStatus, TerminalFamily, TerminalStatus};
use crate::store::ds50::{self as store_ds50, SaleRecord};
use crate::store::{catalog, now_ms, Db, StoreError};
use actix::prelude::*;
use chrono::NaiveDate;
use posgate_protocols::ds50::{AuthCode, ResponseCode, SaleReply};
use tokio::sync::oneshot;

/// A decoded DS50 sale, stripped of every sensitive field, for the device's terminal actor.
#[derive(Clone, Debug)]
pub struct Ds50Sale {
    /// `HMAC-SHA256(card key, PAN)`, lowercase hex: the card index lookup key.
    pub card_hmac: String,
    /// Masked card number (first 6, `****`, last 4).
    pub card_masked: String,
    /// Card organisation as sent.
    pub card_org: String,
    /// Ledger idempotency key of the sale (`SaleRequest::idempotency_key`); a reversal
    /// carries the key of the sale it undoes.
    pub idempotency_key: String,
    /// Undo the sale of this key instead of making one.
    pub reversal: bool,
    /// Amount, fen (positive).
    pub amount: i64,
    /// The device's date (recorded and shown by the details query, never trusted).
    pub date: NaiveDate,
    /// The server's business date (`ledger.utc_offset_minutes`): the posting's.
    pub business_date: NaiveDate,
    /// The device's time, `HH:MM:SS`.
    pub time: String,
    /// Six-digit batch number.
    pub batch_no: String,
    /// Six-digit trace number.
    pub trace_no: String,
}

/// The answer to a [`Ds50Sale`]: always a wire reply (declines included).
pub type Ds50SaleReply = SaleReply;

/// The `acqAuthCode` of an approved transaction: its journal id, at least six digits.
/// Unique because journal ids are.
pub fn auth_code(journal_id: i64) -> Option<AuthCode> {
    AuthCode::parse(&format!("{journal_id:06}")).ok()
}

/// The response code of a ledger refusal.
pub fn ds50_code(refusal: Refusal) -> ResponseCode {
    match refusal {
        Refusal::AccountNotFound => ResponseCode::NoCardRecord,
        Refusal::AccountFrozen => ResponseCode::NotPermittedToCardholder,
        Refusal::Insufficient => ResponseCode::InsufficientFunds,
        Refusal::OverSingleLimit | Refusal::OverDailyAmount => ResponseCode::ExceedsAmountLimit,
        Refusal::OverDailyCount => ResponseCode::ExceedsFrequencyLimit,
        Refusal::InvalidRequest => ResponseCode::InvalidAmount,
        _ => ResponseCode::DoNotHonour,
    }
}

/// The response code of an entity failure.
pub fn ds50_entity_code(e: &EntityError) -> ResponseCode {
    match e {
        EntityError::NotFound | EntityError::Disabled | EntityError::Foreign => {
            ResponseCode::InvalidMerchant
        }
        EntityError::Busy | EntityError::ShuttingDown => ResponseCode::Busy,
        EntityError::Store(_) => ResponseCode::IssuerUnavailable,
    }
}

/// The sale (or reversal) reply of a ledger outcome.
pub fn sale_reply(outcome: &PostOutcome) -> SaleReply {
    if outcome.key_conflict {
        return SaleReply::decline(ResponseCode::DuplicateTransmission);
    }
    match outcome.refusal {
        // Only a reversal can meet an already voided sale (cancelled by an operator): it is
        // undone, which is what the reversal asks.
        None | Some(Refusal::AlreadyVoided) => match auth_code(outcome.transaction_id) {
            Some(code) => SaleReply::approve(code, None),
            None => SaleReply::decline(ResponseCode::SystemMalfunction),
        },
        Some(r) => SaleReply::decline(ds50_code(r)),
    }
}

/// The ledger request of a sale (a cash debit, no discount, no limits, no overdraft) or of
/// a reversal (a void of the sale's key, under `{key}:reversal`).
pub fn sale_posting(sale: &Ds50Sale, account_id: i64, terminal_key: &str) -> PostRequest {
    let (idempotency_key, op) = if sale.reversal {
        (
            format!("{}:reversal", sale.idempotency_key),
            Operation::Void {
                original_key: sale.idempotency_key.clone(),
                kind: VoidKind::Reversal,
            },
        )
    } else {
        (
            sale.idempotency_key.clone(),
            Operation::Debit {
                amount: sale.amount,
                sources: vec![Asset::Cash],
                discount: false,
                limits: LimitPolicy::None,
                overdraft: false,
                award_points: 0,
            },
        )
    };
    PostRequest {
        idempotency_key,
        account_id,
        terminal: Some(terminal_key.to_string()),
        business_date: sale.business_date,
        op,
        device_fields: Default::default(),
    }
}

/// What the card lookup found.
enum CardLookup {
    /// The card's account, of this terminal's merchant, active.
    Account(i64),
    /// No such card, or a card of another merchant.
    Unknown,
    /// The card or its account is not active.
    Blocked,
    /// The trace identity was used before with other content.
    Conflict,
}

impl CardLookup {
    /// The reply when the lookup ends the request, `None` when it found the account.
    fn refusal(&self) -> Option<SaleReply> {
        let code = match self {
            CardLookup::Account(_) => return None,
            CardLookup::Unknown => ResponseCode::NoCardRecord,
            CardLookup::Blocked => ResponseCode::NotPermittedToCardholder,
            CardLookup::Conflict => ResponseCode::DuplicateTransmission,
        };
        Some(SaleReply::decline(code))
    }
}

/// Whether the trace identity of `record` was recorded before with other content (another
/// date, time or card).
async fn reuses_trace(db: &dyn Db, record: &SaleRecord) -> Result<bool, StoreError> {
    Ok(store_ds50::find_sale(db, &record.idempotency_key)
        .await?
        .is_some_and(|first| !first.same_content(record)))
}

/// Finds the account of a sale's card in the terminal's merchant, after checking that the
/// trace identity was not used with other content; records the sale's card side.
async fn lookup_sale(
    db: &dyn Db,
    record: &SaleRecord,
    hmac: &str,
    merchant_id: i64,
) -> Result<CardLookup, StoreError> {
    if reuses_trace(db, record).await? {
        return Ok(CardLookup::Conflict);
    }
    let found = card_account(db, hmac, merchant_id, false).await?;
    if matches!(found, CardLookup::Account(_)) {
        store_ds50::record_sale(db, record, now_ms()).await?;
    }
    Ok(found)
}

/// The account of a card of `merchant_id`; a card or account that is not active is
/// `Blocked` unless `blocked_too`.
async fn card_account(
    db: &dyn Db,
    hmac: &str,
    merchant_id: i64,
    blocked_too: bool,
) -> Result<CardLookup, StoreError> {
    let Some(card) = catalog::find_card(db, hmac).await? else {
        return Ok(CardLookup::Unknown);
    };
    let Some(account) = catalog::get_account(db, card.account_id).await? else {
        return Ok(CardLookup::Unknown);
    };
    if account.merchant_id != merchant_id {
        return Ok(CardLookup::Unknown);
    }
    if !blocked_too && (card.status != "active" || account.status != AccountStatus::Active) {
        return Ok(CardLookup::Blocked);
    }
    Ok(CardLookup::Account(account.id))
}

/// Finds the account a reversal posts to: the original sale's, when it reached the
/// journal, else the card's (blocked cards included: a reversal always completes). The
/// reversal must carry the original's date, time, card and amount.
async fn lookup_reversal(
    db: &dyn Db,
    record: &SaleRecord,
    amount: i64,
    hmac: &str,
    merchant_id: i64,
) -> Result<CardLookup, StoreError> {
    if reuses_trace(db, record).await? {
        return Ok(CardLookup::Conflict);
    }
    if let Some(original) = catalog::find_transaction(db, &record.idempotency_key).await? {
        if original.amount != amount {
            return Ok(CardLookup::Conflict);
        }
        if let Some(account) = original.account_id {
            return Ok(CardLookup::Account(account));
        }
    }
    card_account(db, hmac, merchant_id, true).await
}

impl TerminalActor {
    /// The terminal, if it may take DS50 traffic now: sales need an active terminal and
    /// merchant; a reversal is taken from a disabled one too (it gives money back and must
    /// always complete).
    fn ds50_terminal(&self, reversal: bool) -> Result<TerminalState, EntityError> {
        let state = self.state.get()?;
        if state.terminal.family != TerminalFamily::Ds50 {
            return Err(EntityError::NotFound);
        }
        let active = state.terminal.status == TerminalStatus::Active && state.merchant_active;
        if !active && !reversal {
            return Err(EntityError::Disabled);
        }
        Ok(state.clone())
    }
}

impl Handler<Ask<Ds50Sale, Ds50SaleReply>> for TerminalActor {
    type Result = ();

    fn handle(&mut self, msg: Ask<Ds50Sale, Ds50SaleReply>, ctx: &mut Context<Self>) {
        self.life.touch();
        let Ask { query: sale, reply } = msg;
        let state = match self.ds50_terminal(sale.reversal) {
            Ok(state) => state,
            Err(e) => {
                tracing::warn!(terminal = %self.life.key(), error = %e, "DS50 sale from a terminal that cannot be served");
                let _ = reply.send(SaleReply::decline(ds50_entity_code(&e)));
                self.stop_if_failed(ctx);
                return;
            }
        };
        self.seen(ctx, None);
        let merchant_id = state.terminal.merchant_id;
        let terminal_key = self.life.key().to_string();
        let store = self.deps.store.clone();
        let record = SaleRecord {
            idempotency_key: sale.idempotency_key.clone(),
            terminal_key: terminal_key.clone(),
            business_date: sale.date.format("%Y-%m-%d").to_string(),
            card_masked: sale.card_masked.clone(),
            card_org: sale.card_org.clone(),
            trans_time: sale.time.clone(),
            batch_no: sale.batch_no.clone(),
            trace_no: sale.trace_no.clone(),
        };
        let hmac = sale.card_hmac.clone();
        let (reversal, amount) = (sale.reversal, sale.amount);
        // The lookup waits in this actor, so the sales of one device reach the ledger in
        // arrival order.
        ctx.wait(
            async move {
                store
                    .transaction(move |db| {
                        Box::pin(async move {
                            if reversal {
                                lookup_reversal(db, &record, amount, &hmac, merchant_id).await
                            } else {
                                lookup_sale(db, &record, &hmac, merchant_id).await
                            }
                        })
                    })
                    .await
            }
            .into_actor(self)
            .map(move |found, act, _| {
                let account = match found {
                    Ok(CardLookup::Account(id)) => id,
                    Ok(other) => {
                        let _ = reply.send(other.refusal().unwrap_or_else(|| {
                            SaleReply::decline(ResponseCode::SystemMalfunction)
                        }));
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(terminal = %terminal_key, error = %e, "DS50 card lookup failed");
                        let _ = reply.send(SaleReply::decline(ResponseCode::IssuerUnavailable));
                        return;
                    }
                };
                act.post_sale(sale_posting(&sale, account, &terminal_key), reply);
            }),
        );
    }
}

impl TerminalActor {
    /// Submits a sale's (or reversal's) posting to the ledger and answers `reply` with the
    /// outcome's code.
    /// A posted sale is announced on the merchant's speakers.
    fn post_sale(&self, request: PostRequest, reply: oneshot::Sender<SaleReply>) {
        let announce = self
            .payment_merchant(&request)
            .map(|merchant| (self.deps.merchants.clone(), merchant));
        match self.deps.accounts.submit(request) {
            Err(e) => {
                let _ = reply.send(SaleReply::decline(ds50_entity_code(&EntityError::from(e))));
            }
            Ok(rx) => {
                actix::spawn(async move {
                    let out = match rx.await.unwrap_or(Err(LedgerError::ShuttingDown)) {
                        Ok(outcome) => {
                            if let Some((merchants, merchant)) = &announce {
                                announce_payment(merchants, *merchant, &outcome);
                            }
                            sale_reply(&outcome)
                        }
                        Err(e) => SaleReply::decline(ds50_entity_code(&EntityError::from(e))),
                    };
                    let _ = reply.send(out);
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Balances, Flags};

    fn outcome(refusal: Option<Refusal>, key_conflict: bool) -> PostOutcome {
        PostOutcome {
            transaction_id: 42,
            refusal,
            amount: 100,
            posted_amount: 0,
            balances: Balances::default(),
            flags: Flags(0),
            replayed: false,
            key_conflict,
        }
    }

    #[test]
    fn reversal_outcomes() {
        // A reversal that finds its sale already undone (an operator's cancel) succeeds.
        let undone = sale_reply(&outcome(Some(Refusal::AlreadyVoided), false));
        assert_eq!(undone.code(), ResponseCode::Approved);
        assert_eq!(undone.auth_code().map(AuthCode::as_str), Some("000042"));
        // The sale that arrives after its reversal is declined.
        let late = sale_reply(&outcome(Some(Refusal::VoidedBeforeArrival), false));
        assert_eq!(late.code(), ResponseCode::DoNotHonour);
        let conflict = sale_reply(&outcome(None, true));
        assert_eq!(conflict.code(), ResponseCode::DuplicateTransmission);
    }
}
