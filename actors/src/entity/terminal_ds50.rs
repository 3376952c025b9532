//! The DS50 protocol rules of a terminal actor (payment boxes, family `ds50`, key
//! `ds50:{deviceSn}`): a sale becomes a cash debit of the card's closed-loop account, and the
//! ledger outcome becomes the spec's `acqResponseCode` / `transStatus`.
//!
//! The adapter hashes the PAN with the card key before asking: this actor only ever sees the
//! card's keyed hash and its masked number, never the PAN, track 2, PIN block or EMV data.
//! A sale is idempotent on `ds50:{sn}:{YYYYMMDD}:{batch}:{trace}`; a retry gets the first
//! answer (same authorisation code).

use super::terminal::{TerminalActor, TerminalState};
use super::EntityError;
use crate::ledger::{
    Asset, LedgerError, LimitPolicy, Operation, PostOutcome, PostRequest, Refusal,
};
use crate::mailbox::Ask;
use crate::model::{AccountStatus, TerminalFamily, TerminalStatus};
use crate::store::ds50::{self as store_ds50, SaleRecord};
use crate::store::{catalog, now_ms};
use actix::prelude::*;
use chrono::NaiveDate;
use posgate_protocols::ds50::{AuthCode, ResponseCode, SaleReply};

/// A decoded DS50 sale, stripped of every sensitive field, for the device's terminal actor.
#[derive(Clone, Debug)]
pub struct Ds50Sale {
    /// `HMAC-SHA256(card key, PAN)`, lowercase hex: the card index lookup key.
    pub card_hmac: String,
    /// Masked card number (first 6, `****`, last 4).
    pub card_masked: String,
    /// Card organisation as sent.
    pub card_org: String,
    /// Ledger idempotency key (`SaleRequest::idempotency_key`).
    pub idempotency_key: String,
    /// Amount, fen (positive).
    pub amount: i64,
    /// The device's date (business date of the posting).
    pub date: NaiveDate,
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

/// The sale reply of a ledger outcome.
pub fn sale_reply(outcome: &PostOutcome) -> SaleReply {
    if outcome.key_conflict {
        return SaleReply::decline(ResponseCode::DuplicateTransmission);
    }
    match outcome.refusal {
        None => match auth_code(outcome.transaction_id) {
            Some(code) => SaleReply::approve(code, None),
            None => SaleReply::decline(ResponseCode::SystemMalfunction),
        },
        Some(r) => SaleReply::decline(ds50_code(r)),
    }
}

/// The ledger request of a sale: a cash debit, no discount, no limits, no overdraft.
pub fn sale_posting(sale: &Ds50Sale, account_id: i64, terminal_key: &str) -> PostRequest {
    PostRequest {
        idempotency_key: sale.idempotency_key.clone(),
        account_id,
        terminal: Some(terminal_key.to_string()),
        business_date: sale.date,
        op: Operation::Debit {
            amount: sale.amount,
            sources: vec![Asset::Cash],
            discount: false,
            limits: LimitPolicy::None,
            overdraft: false,
            award_points: 0,
        },
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
}

impl TerminalActor {
    /// The terminal, if it may take DS50 traffic now.
    fn ds50_terminal(&self) -> Result<TerminalState, EntityError> {
        let state = self.state.get()?;
        if state.terminal.family != TerminalFamily::Ds50 {
            return Err(EntityError::NotFound);
        }
        if state.terminal.status != TerminalStatus::Active || !state.merchant_active {
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
        let state = match self.ds50_terminal() {
            Ok(state) => state,
            Err(e) => {
                tracing::warn!(terminal = %self.life.key(), error = %e, "DS50 sale from a terminal that cannot be served");
                let _ = reply.send(SaleReply::decline(ds50_entity_code(&e)));
                self.stop_if_failed(ctx);
                return;
            }
        };
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
        // The lookup waits in this actor, so the sales of one device reach the ledger in
        // arrival order.
        ctx.wait(
            async move {
                store
                    .transaction(move |db| {
                        Box::pin(async move {
                            let Some(card) = catalog::find_card(db, &hmac).await? else {
                                return Ok(CardLookup::Unknown);
                            };
                            let Some(account) = catalog::get_account(db, card.account_id).await?
                            else {
                                return Ok(CardLookup::Unknown);
                            };
                            if account.merchant_id != merchant_id {
                                return Ok(CardLookup::Unknown);
                            }
                            if card.status != "active" || account.status != AccountStatus::Active
                            {
                                return Ok(CardLookup::Blocked);
                            }
                            store_ds50::record_sale(db, &record, now_ms()).await?;
                            Ok(CardLookup::Account(account.id))
                        })
                    })
                    .await
            }
            .into_actor(self)
            .map(move |found, act, _| {
                let account = match found {
                    Ok(CardLookup::Account(id)) => id,
                    Ok(CardLookup::Unknown) => {
                        let _ = reply.send(SaleReply::decline(ResponseCode::NoCardRecord));
                        return;
                    }
                    Ok(CardLookup::Blocked) => {
                        let _ = reply
                            .send(SaleReply::decline(ResponseCode::NotPermittedToCardholder));
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(terminal = %terminal_key, error = %e, "DS50 card lookup failed");
                        let _ = reply.send(SaleReply::decline(ResponseCode::IssuerUnavailable));
                        return;
                    }
                };
                let request = sale_posting(&sale, account, &terminal_key);
                match act.deps.accounts.submit(request) {
                    Err(e) => {
                        let _ = reply.send(SaleReply::decline(ds50_entity_code(
                            &EntityError::from(e),
                        )));
                    }
                    Ok(rx) => {
                        actix::spawn(async move {
                            let out = match rx.await.unwrap_or(Err(LedgerError::ShuttingDown)) {
                                Ok(outcome) => sale_reply(&outcome),
                                Err(e) => {
                                    SaleReply::decline(ds50_entity_code(&EntityError::from(e)))
                                }
                            };
                            let _ = reply.send(out);
                        });
                    }
                }
            }),
        );
    }
}
