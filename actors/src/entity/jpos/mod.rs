//! The jpos access-layer rules of a terminal actor (family `jpos`, key
//! `jpos:{storeNo}:{terminalNo}`): checkin and batches, card query, consume, cancel, refund,
//! their reversals, and settlement.
//!
//! The adapter strips every card secret before asking: this actor sees a card's HMAC index
//! and masked number, never the card number, tracks or PIN block. Each request is handled
//! start to finish inside the actor (`ctx.wait`), so one terminal's requests are served one
//! at a time, in arrival order, as a jpos terminal sends them.
//!
//! Every traced request leaves a row in `jpos_trans` keyed by (terminal, batch, trace, role):
//! first its figures (`pending`), then the ledger postings (idempotent on
//! `jpos:{store}:{terminal}:{batch}:{trace}`), then the reply (`done`). A retry gets the
//! stored reply; a crash between the steps is finished by the retry, because the postings
//! are idempotent and rebuilt from the stored figures, or else resolved by the pending-row
//! sweeper ([`sweep`]). A different request under a used trace number gets `94`. Reversals
//! resend the original's body, so their rows have the role `reversal` under the original's
//! batch and trace; a reversal of an unknown original leaves a `tombstone` row (and a ledger
//! tombstone) that refuses the late original.
//!
//! This module holds the messages, the response-code mapping, the handler and the steps every
//! flow shares (the journal row, the ledger posting, the stored reply); one submodule per
//! group of interfaces holds the flows: [`checkin`], [`consume`] (with the reversals),
//! [`cancel`], [`refund`] (with refund cancel), [`tickets`], [`verify`] (codes and card
//! activation), [`settle`] and [`sweep`] (the sweeper's rules for pending rows).

mod cancel;
mod checkin;
mod consume;
mod refund;
mod settle;
pub mod sweep;
mod tickets;
mod verify;

pub use settle::{batch_totals, totals_json};

use consume::Undoes;

use super::merchant_announce::announce_payment;
use super::terminal::{TerminalActor, TerminalState};
use super::{EntityDeps, EntityError};
use crate::ledger::{
    Asset, Balances, Flags, LedgerError, LimitPolicy, Operation, PostOutcome, PostRequest, Refusal,
    VoidKind,
};
use crate::mailbox::Ask;
use crate::model::{AccountStatus, TerminalFamily, TerminalStatus};
use crate::store::jpos::{
    self as store_jpos, TransRow, CANCELLED, REVERSED, ROLE_REQUEST, ROLE_REVERSAL, STANDING,
    STATUS_DONE, STATUS_PENDING, STATUS_TOMBSTONE,
};
use crate::store::{catalog, jpos_pins, now_ms, Db, StoreError};
use actix::prelude::*;
use chrono::NaiveDate;
use posgate_protocols::jpos::reply::{
    CardActivateReply, TicketConsumeReply, TicketInfo, TicketQueryReply, VoucherInfo,
};
use posgate_protocols::jpos::reply::{
    CardQueryReply, CheckinReply, ConsumeReply, JposReply, PointsReply, RefundReply, SettleReply,
    StatusReply,
};
use posgate_protocols::jpos::settle::{
    compare, SettleFigure, SettleFlag, SettleTotals, SettleValue,
};
use posgate_protocols::jpos::types::{Gender, IdType, SerialNo, TicketType};
use posgate_protocols::jpos::{BatchNo, JposStatus, TraceNo, TransTime, WorkingKey};
use posgate_protocols::secret::constant_time_eq;
use posgate_protocols::Fen;

/// The card of a request, stripped: its index and masked number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JposCard {
    /// `HMAC-SHA256(card key, cardNo)`; `None` when the number cannot be indexed (not a
    /// 12 to 19 digit PAN): such a card is unknown (`14`).
    pub hmac: Option<String>,
    /// First 6, `****`, last 4.
    pub masked: String,
    /// What the request's PIN block (`password`) says, read by the adapter (which alone
    /// holds the card number and the PIN key).
    pub pin: PinPresented,
    /// The card was read (the request carries `track2`), not keyed in.
    pub track2_read: bool,
}

/// The PIN of a request, as the adapter read it: never the PIN itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum PinPresented {
    /// No PIN block.
    #[default]
    None,
    /// The keyed verification value of the PIN the block holds (what a card's PIN is
    /// stored as).
    Verifier(String),
    /// A PIN block that gives no PIN: under another key (no check-in since), not format 0,
    /// or 16 bytes. For a card with a PIN it counts as a wrong try.
    Unreadable,
}

/// Wrong PINs in a row after which a card's PIN is blocked (`38`) until an operator
/// resets it.
pub const PIN_TRIES_MAX: i64 = 3;

impl JposWork {
    /// The card of a request that spends (a consume or ticket consume, not their
    /// reversals), for the adapter to say how it was presented.
    pub fn spending_card_mut(&mut self) -> Option<&mut JposCard> {
        match self {
            JposWork::Consume {
                card,
                reversal: false,
                ..
            }
            | JposWork::TicketConsume {
                card,
                reversal: false,
                ..
            } => Some(card),
            _ => None,
        }
    }
}

/// A check-in's PIN key and MAC key as stored (sealed secrets, `gcm1:...`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeptKeys {
    /// The sealed PIN key.
    pub pin_key: String,
    /// The sealed MAC key.
    pub mac_key: String,
}

/// A place in a terminal's journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JposTrace {
    /// `batchNo`.
    pub batch_no: BatchNo,
    /// `traceNo`.
    pub trace_no: TraceNo,
}

/// What a jpos request asks, without card secrets.
#[derive(Clone, Debug)]
pub enum JposWork {
    /// 签到.
    Checkin {
        /// `operatorNo`.
        operator_no: String,
        /// The working key to hand out (sealed under the terminal master key).
        working_key: WorkingKey,
        /// The same PIN key and MAC key sealed under the gateway's key-encryption key, kept
        /// to read the batch's PIN blocks.
        kept_keys: KeptKeys,
    },
    /// 卡查询.
    CardQuery {
        /// `batchNo`, `traceNo`.
        trace: JposTrace,
        /// The card.
        card: JposCard,
    },
    /// 消费, or with `reversal`, 消费冲正.
    Consume {
        /// `batchNo`, `traceNo`.
        trace: JposTrace,
        /// The card.
        card: JposCard,
        /// `pointAmount`, fen units of points.
        point: i64,
        /// `cashAmount`, fen.
        cash: i64,
        /// The `vaucher` list: voucher (type `03` ticket) id and how many.
        vouchers: Vec<(u64, u32)>,
        /// `registerTraceNo`.
        register_trace: Option<String>,
        /// A reversal of this consume.
        reversal: bool,
    },
    /// 消费撤销, or with `reversal`, 消费撤销冲正.
    Cancel {
        /// `batchNo`, `traceNo`.
        trace: JposTrace,
        /// The card.
        card: JposCard,
        /// `oriBatchNo`, `oriTraceNo`.
        original: JposTrace,
        /// `oriTransTime`, unix ms.
        ori_trans_time_ms: i64,
        /// A reversal of this cancel.
        reversal: bool,
    },
    /// 消费退货.
    Refund {
        /// `batchNo`, `traceNo`.
        trace: JposTrace,
        /// The card.
        card: JposCard,
        /// `oriSerialNo`.
        ori_serial_no: String,
        /// `oriTransDate`, `YYYY-MM-DD`.
        ori_date: String,
        /// `pointAmount` (posgate's addition): points of a partial refund.
        point: Option<i64>,
        /// `cashAmount` (posgate's addition): cash of a partial refund.
        cash: Option<i64>,
    },
    /// 消费退货撤销.
    RefundCancel {
        /// `batchNo`, `traceNo`.
        trace: JposTrace,
        /// The card.
        card: JposCard,
        /// `oriSerialNo`: the refund's.
        ori_serial_no: String,
        /// `oriBatchNo`, `oriTraceNo`: the refund's.
        original: JposTrace,
        /// `oriTransTime`, unix ms.
        ori_trans_time_ms: i64,
    },
    /// 券查询.
    TicketQuery {
        /// `batchNo`, `traceNo`.
        trace: JposTrace,
        /// The card.
        card: JposCard,
    },
    /// 券消费, or with `reversal`, 券消费冲正.
    TicketConsume {
        /// `batchNo`, `traceNo`.
        trace: JposTrace,
        /// The card.
        card: JposCard,
        /// The lines: ticket id, type (`01`..`03`), how many.
        lines: Vec<(u64, TicketType, u32)>,
        /// A reversal of this ticket consume.
        reversal: bool,
    },
    /// 发送验证码: store a new code's digest (the adapter sends the code itself).
    SendVerifyCode {
        /// `mobileNo`.
        mobile_no: String,
        /// `batchNo`, when sent: must be the current batch.
        batch_no: Option<BatchNo>,
        /// Keyed digest of the new code.
        code_digest: String,
        /// How often codes may be sent.
        limits: VerifyCodeLimits,
    },
    /// 卡激活, confirmed by the code.
    CardActivate {
        /// `batchNo`, `traceNo`.
        trace: JposTrace,
        /// The card.
        card: JposCard,
        /// `mobileNo`.
        mobile_no: String,
        /// Keyed digest of the `verifyCode` sent.
        code_digest: String,
        /// `idType`.
        id_type: String,
        /// Wrong codes allowed before the code is dead.
        attempts_max: i64,
    },
    /// 结算.
    Settle {
        /// `batchNo`, `traceNo`.
        trace: JposTrace,
        /// The terminal's figures.
        totals: SettleTotals,
    },
    /// Not a terminal's request: the sweeper resolves the pending row `id` of this
    /// terminal (the rules are in `entity/jpos/sweep.rs`). The answer's body is the
    /// outcome: `reversed`, `completed`, `refused`, or `unresolved` (tried again on a later
    /// sweep); empty when a request finished the row first.
    ResolvePending {
        /// The row (`serialNo`).
        id: i64,
    },
}

/// How often verification codes may be sent, and how long one lives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VerifyCodeLimits {
    /// The code's lifetime, ms.
    pub ttl_ms: i64,
    /// Shortest time between two codes to one number, ms.
    pub resend_ms: i64,
    /// Most codes to one number per hour.
    pub per_number_hour_max: i64,
    /// Most codes one terminal may have sent per hour.
    pub per_terminal_hour_max: i64,
    /// Most codes all terminals together may have sent per hour.
    pub total_hour_max: i64,
    /// Wrong tries per number per hour (they survive a resend): no code is sent past them.
    pub attempts_max: i64,
}

/// A jpos request for a terminal actor.
#[derive(Clone, Debug)]
pub struct JposCall {
    /// What is asked.
    pub work: JposWork,
    /// Keyed digest of the request (without PIN block and tracks): tells a retry from a
    /// different request under the same trace number.
    pub fingerprint: String,
    /// The business date now.
    pub business_date: NaiveDate,
    /// The time now, unix ms (`transTime` of the reply).
    pub now_ms: i64,
}

/// The answer: a response code and the reply JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JposAnswer {
    /// The `status` of the reply.
    pub status: JposStatus,
    /// The reply JSON.
    pub body: String,
}

impl JposAnswer {
    /// A reply with status, message and `transTime` only.
    pub fn refuse(status: JposStatus, now_ms: i64) -> JposAnswer {
        JposAnswer {
            status,
            body: StatusReply {
                status,
                trans_time: TransTime::from_unix_millis(now_ms),
            }
            .to_json(),
        }
    }

    fn of(reply: &impl JposReply) -> JposAnswer {
        JposAnswer {
            status: JposStatus::Approved,
            body: reply.to_json(),
        }
    }

    fn stored(row: &TransRow) -> Option<JposAnswer> {
        Some(JposAnswer {
            status: JposStatus::from_code(row.response_code.as_deref()?),
            body: row.reply.clone()?,
        })
    }
}

/// The response code of a ledger refusal.
pub fn jpos_code(refusal: Refusal) -> JposStatus {
    match refusal {
        Refusal::AccountNotFound => JposStatus::NoCardRecord,
        Refusal::AccountFrozen => JposStatus::NotPermittedToCardholder,
        Refusal::Insufficient => JposStatus::InsufficientFunds,
        Refusal::OverSingleLimit | Refusal::OverDailyAmount => JposStatus::ExceedsAmountLimit,
        Refusal::OverDailyCount => JposStatus::ExceedsFrequencyLimit,
        Refusal::OriginalNotFound => JposStatus::OriginalNotFound,
        Refusal::AlreadyVoided | Refusal::NotVoidable | Refusal::VoidedBeforeArrival => {
            JposStatus::InvalidTransaction
        }
        Refusal::RefundExceedsOriginal => JposStatus::OriginalAmountIncorrect,
        Refusal::InvalidRequest => JposStatus::InvalidAmount,
    }
}

/// The response code of an entity or infrastructure failure.
pub fn jpos_entity_code(e: &EntityError) -> JposStatus {
    match e {
        EntityError::NotFound => JposStatus::UnknownTerminal,
        EntityError::Disabled | EntityError::Foreign => JposStatus::NotPermittedToTerminal,
        EntityError::Busy | EntityError::ShuttingDown => JposStatus::SystemBusy,
        EntityError::Store(_) => JposStatus::IssuerUnavailable,
    }
}

fn store_code(e: &StoreError) -> JposStatus {
    tracing::warn!(error = %e, "jpos store failure");
    JposStatus::IssuerUnavailable
}

impl TerminalActor {
    /// The terminal, if it may take jpos traffic now.
    fn jpos_terminal(&self) -> Result<TerminalState, EntityError> {
        let state = self.state.get()?;
        if state.terminal.family != TerminalFamily::Jpos {
            return Err(EntityError::NotFound);
        }
        if state.terminal.status != TerminalStatus::Active || !state.merchant_active {
            return Err(EntityError::Disabled);
        }
        Ok(state.clone())
    }
}

impl Handler<Ask<JposCall, JposAnswer>> for TerminalActor {
    type Result = ();

    fn handle(&mut self, msg: Ask<JposCall, JposAnswer>, ctx: &mut Context<Self>) {
        self.life.touch();
        let Ask { query: call, reply } = msg;
        // A terminal disabled since still has its pending rows resolved.
        let sweeping = matches!(call.work, JposWork::ResolvePending { .. });
        let state = match self.jpos_terminal() {
            Ok(state) => state,
            Err(EntityError::Disabled) if sweeping => match self.state.get() {
                Ok(state) => state.clone(),
                Err(e) => {
                    let _ = reply.send(JposAnswer::refuse(jpos_entity_code(&e), call.now_ms));
                    return;
                }
            },
            Err(e) => {
                let _ = reply.send(JposAnswer::refuse(jpos_entity_code(&e), call.now_ms));
                self.stop_if_failed(ctx);
                return;
            }
        };
        if !sweeping {
            self.seen(ctx, None);
        }
        let flow = Flow {
            deps: self.deps.clone(),
            state,
            key: self.life.key().to_string(),
            call,
        };
        // Waits in the actor: one terminal's requests are handled one after the other.
        ctx.wait(
            async move { flow.run().await }
                .into_actor(self)
                .map(move |answer, _, _| {
                    let _ = reply.send(answer);
                }),
        );
    }
}

/// What a card lookup found.
enum CardLookup {
    /// Unknown card, or a card of another merchant.
    Unknown,
    /// The card or its account is blocked, frozen or closed.
    Blocked,
    /// The card's account.
    Account(i64),
}

async fn lookup_card(
    db: &dyn Db,
    card: &JposCard,
    merchant_id: i64,
) -> Result<CardLookup, StoreError> {
    let Some(hmac) = &card.hmac else {
        return Ok(CardLookup::Unknown);
    };
    let Some(found) = catalog::find_card(db, hmac).await? else {
        return Ok(CardLookup::Unknown);
    };
    let Some(account) = catalog::get_account(db, found.account_id).await? else {
        return Ok(CardLookup::Unknown);
    };
    if account.merchant_id != merchant_id {
        return Ok(CardLookup::Unknown);
    }
    if found.status != "active" || account.status != AccountStatus::Active {
        return Ok(CardLookup::Blocked);
    }
    Ok(CardLookup::Account(account.id))
}

/// The PIN check of a spending request: nothing for a card without a PIN; `38` while its
/// PIN is blocked; else a wrong or missing PIN counts a try and answers `55`, or `75` on
/// the try that blocks it; a right one clears the count. Runs in the transaction that
/// records the answer, so the count and the refusal commit together.
async fn pin_refusal(db: &dyn Db, card: &JposCard) -> Result<Option<JposStatus>, StoreError> {
    let Some(hmac) = &card.hmac else {
        return Ok(None);
    };
    let Some(stored) = jpos_pins::card_pin(db, hmac).await? else {
        return Ok(None);
    };
    if stored.tries >= PIN_TRIES_MAX {
        return Ok(Some(JposStatus::PinTriesExceeded));
    }
    let right = matches!(&card.pin, PinPresented::Verifier(v)
        if constant_time_eq(v.as_bytes(), stored.verifier.as_bytes()));
    if right {
        if stored.tries > 0 {
            jpos_pins::clear_pin_tries(db, hmac).await?;
        }
        return Ok(None);
    }
    let tries = jpos_pins::count_pin_try(db, hmac).await?;
    metrics::counter!("posgate_jpos_pin_refusals_total", "blocked" => if tries >= PIN_TRIES_MAX { "yes" } else { "no" })
        .increment(1);
    Ok(Some(if tries >= PIN_TRIES_MAX {
        JposStatus::PinTriesExceededAlt
    } else {
        JposStatus::IncorrectPassword
    }))
}

/// Why `card` may not spend at `merchant_id`, if it may not: `36` (read the card) when the
/// merchant requires the card present and it was keyed in; `62` (restricted card) when
/// the merchant requires activation and the card was never activated.
async fn spend_refusal(
    db: &dyn Db,
    card: &JposCard,
    merchant_id: i64,
) -> Result<Option<JposStatus>, StoreError> {
    let rules = store_jpos::rules(db, merchant_id).await?;
    if rules.track2_required && !card.track2_read {
        return Ok(Some(JposStatus::RestrictedCard));
    }
    if !rules.activation_required {
        return Ok(None);
    }
    let activated = match &card.hmac {
        Some(hmac) => store_jpos::card_activated(db, hmac).await?,
        None => false,
    };
    Ok((!activated).then_some(JposStatus::RestrictedCardIssuer))
}

/// What the first step of a traced request decided.
enum Plan {
    /// Answer now (nothing to post, or a stored answer).
    Answer(JposAnswer),
    /// Post what this row says, then answer.
    Execute(Box<TransRow>),
}

/// Points a cash amount earns: `cash × rate / 10000`, rounded down.
pub fn earned_points(cash: i64, earn_rate_bp: i64) -> i64 {
    let points = i128::from(cash) * i128::from(earn_rate_bp) / 10_000;
    i64::try_from(points).unwrap_or(i64::MAX)
}

fn serial(row: &TransRow) -> SerialNo {
    SerialNo::parse("serialNo", &format!("{:012}", row.id)).unwrap_or_else(|_| {
        SerialNo::parse("serialNo", "000000000000").expect("twelve digits are a serial number")
    })
}

/// The `avaiablePointBalance` of an account: its points when it may spend them (active and
/// not negative), else zero.
fn available(balances: &Balances, active: bool) -> i64 {
    if active {
        balances.points.max(0)
    } else {
        0
    }
}

struct Flow {
    deps: EntityDeps,
    state: TerminalState,
    key: String,
    call: JposCall,
}

impl Flow {
    async fn run(self) -> JposAnswer {
        let now = self.call.now_ms;
        let result = match self.call.work.clone() {
            JposWork::Checkin {
                operator_no,
                working_key,
                kept_keys,
            } => self.checkin(operator_no, working_key, kept_keys).await,
            JposWork::CardQuery { trace, card } => self.card_query(trace, card).await,
            JposWork::Settle { trace, totals } => self.settle(trace, totals).await,
            JposWork::ResolvePending { id } => self.resolve_pending(id).await,
            JposWork::TicketQuery { trace, card } => self.ticket_query(trace, card).await,
            JposWork::TicketConsume {
                trace,
                card,
                lines,
                reversal,
            } => self.ticket_consume(trace, card, lines, reversal).await,
            JposWork::SendVerifyCode {
                mobile_no,
                batch_no,
                code_digest,
                limits,
            } => {
                self.send_verify_code(mobile_no, batch_no, code_digest, limits)
                    .await
            }
            JposWork::CardActivate {
                trace,
                card,
                mobile_no,
                code_digest,
                id_type,
                attempts_max,
            } => {
                self.card_activate(trace, card, mobile_no, code_digest, id_type, attempts_max)
                    .await
            }
            JposWork::Consume {
                trace,
                card,
                point,
                cash,
                vouchers,
                register_trace,
                reversal,
            } => {
                if reversal {
                    let undoes = Undoes::Consume {
                        point,
                        cash,
                        lines: voucher_lines(&vouchers),
                    };
                    self.reversal(trace, card, undoes).await
                } else {
                    self.consume(trace, card, point, cash, vouchers, register_trace)
                        .await
                }
            }
            JposWork::Cancel {
                trace,
                card,
                original,
                ori_trans_time_ms,
                reversal,
            } => {
                if reversal {
                    self.reversal(trace, card, Undoes::Cancel { original })
                        .await
                } else {
                    self.cancel(trace, card, original, ori_trans_time_ms).await
                }
            }
            JposWork::Refund {
                trace,
                card,
                ori_serial_no,
                ori_date,
                point,
                cash,
            } => {
                self.refund(trace, card, ori_serial_no, ori_date, point, cash)
                    .await
            }
            JposWork::RefundCancel {
                trace,
                card,
                ori_serial_no,
                original,
                ori_trans_time_ms,
            } => {
                self.refund_cancel(trace, card, ori_serial_no, original, ori_trans_time_ms)
                    .await
            }
        };
        result.unwrap_or_else(|code| JposAnswer::refuse(code, now))
    }

    fn terminal_id(&self) -> i64 {
        self.state.terminal.id
    }

    fn merchant_id(&self) -> i64 {
        self.state.terminal.merchant_id
    }

    /// Checks that the terminal is checked in to `batch` (`77` otherwise).
    async fn require_batch(&self, batch: BatchNo) -> Result<(), JposStatus> {
        let terminal_id = self.terminal_id();
        let state = self
            .deps
            .store
            .transaction(move |db| {
                Box::pin(async move { store_jpos::batch_state(db, terminal_id).await })
            })
            .await
            .map_err(|e| store_code(&e))?;
        match state {
            Some(s) if s.checked_in && s.batch_no == batch.get() => Ok(()),
            _ => Err(JposStatus::NotCheckedIn),
        }
    }

    /// Posts. A store failure leaves the commit's outcome unknown: the request is sent once
    /// more (its key makes that a read-back of what was committed, or the posting itself)
    /// before anything is answered; a failure again is answered `91` with the row pending,
    /// and the sweeper resolves it.
    async fn post(&self, request: PostRequest) -> Result<PostOutcome, JposStatus> {
        match self.submit(request.clone()).await {
            Err(LedgerError::Store(e)) => {
                tracing::warn!(terminal = %self.key, error = %e,
                    "jpos posting outcome unknown: read back");
                self.submit(request).await
            }
            other => other,
        }
        .map_err(|e| jpos_entity_code(&EntityError::from(e)))
    }

    async fn submit(&self, request: PostRequest) -> Result<PostOutcome, LedgerError> {
        let rx = self.deps.accounts.submit(request)?;
        rx.await.unwrap_or(Err(LedgerError::ShuttingDown))
    }

    /// Posts and maps the outcome: the balances when posted, the code otherwise.
    async fn post_checked(&self, request: PostRequest) -> Result<Balances, JposStatus> {
        checked(self.post(request).await?)
    }

    /// [`Flow::post_checked`] for a consume: a points debit posted now (the card's points,
    /// amounts in fen to jpos) is announced on the merchant's speakers.
    async fn post_payment(&self, request: PostRequest) -> Result<Balances, JposStatus> {
        let payment =
            matches!(request.op, Operation::Debit { .. }) && self.state.merchant_announces;
        let outcome = self.post(request).await?;
        if payment {
            announce_payment(&self.deps.merchants, self.merchant_id(), &outcome);
        }
        checked(outcome)
    }

    /// [`Flow::post_checked`] for a reversal's posting, counting an overdraft it made.
    async fn post_reversal(&self, request: PostRequest) -> Result<Balances, JposStatus> {
        let outcome = self.post(request).await?;
        consume::count_reversal_overdraft(&outcome);
        checked(outcome)
    }

    fn request(&self, key: &str, account_id: i64, op: Operation) -> PostRequest {
        PostRequest {
            idempotency_key: key.to_string(),
            account_id,
            terminal: Some(self.key.clone()),
            business_date: self.call.business_date,
            op,
            device_fields: Default::default(),
        }
    }

    fn ledger_key(&self, trace: JposTrace) -> String {
        format!("{}:{}:{}", self.key, trace.batch_no, trace.trace_no)
    }

    fn new_row(&self, trace: JposTrace, role: &str, endpoint: &str, card: &JposCard) -> TransRow {
        TransRow {
            terminal_key: self.key.clone(),
            batch_no: trace.batch_no.to_wire(),
            trace_no: trace.trace_no.to_wire(),
            role: role.to_string(),
            endpoint: endpoint.to_string(),
            fingerprint: self.call.fingerprint.clone(),
            status: STATUS_PENDING.to_string(),
            card_hmac: card.hmac.clone(),
            card_masked: Some(card.masked.clone()),
            business_date: self.call.business_date.format("%Y-%m-%d").to_string(),
            trans_time_ms: self.call.now_ms,
            ..TransRow::default()
        }
    }

    /// What an existing row means for a request that finds it.
    fn existing(&self, row: TransRow) -> Plan {
        if row.fingerprint != self.call.fingerprint {
            return Plan::Answer(JposAnswer::refuse(
                JposStatus::DuplicateTransmission,
                self.call.now_ms,
            ));
        }
        match row.status.as_str() {
            STATUS_DONE => match JposAnswer::stored(&row) {
                Some(answer) => Plan::Answer(answer),
                None => Plan::Answer(JposAnswer::refuse(
                    JposStatus::IssuerUnavailable,
                    self.call.now_ms,
                )),
            },
            STATUS_TOMBSTONE => Plan::Answer(JposAnswer::refuse(
                JposStatus::InvalidTransaction,
                self.call.now_ms,
            )),
            // A sweeper (maybe another replica's) is resolving it: not run twice at once.
            _ if row
                .sweep_claimed_at_ms
                .is_some_and(|at| self.call.now_ms - at < store_jpos::SWEEP_LEASE_MS) =>
            {
                Plan::Answer(JposAnswer::refuse(JposStatus::SystemBusy, self.call.now_ms))
            }
            _ => Plan::Execute(Box::new(row)),
        }
    }

    /// Stores a refused request as answered, so that a retry gets the same refusal.
    async fn insert_refused(&self, mut row: TransRow, status: JposStatus) -> Plan {
        let answer = JposAnswer::refuse(status, row.trans_time_ms);
        row.status = STATUS_DONE.to_string();
        row.response_code = Some(status.as_str().to_string());
        row.reply = Some(answer.body.clone());
        match self.insert(row).await {
            Ok(Plan::Execute(_)) => Plan::Answer(answer),
            Ok(other) => other,
            Err(code) => Plan::Answer(JposAnswer::refuse(code, self.call.now_ms)),
        }
    }

    /// Inserts a row, or reads the one a concurrent request inserted first.
    async fn insert(&self, row: TransRow) -> Result<Plan, JposStatus> {
        let now = self.call.now_ms;
        let probe = row.clone();
        let inserted = self
            .deps
            .store
            .transaction(move |db| {
                Box::pin(async move {
                    match store_jpos::insert_trans(db, &row, now).await? {
                        Some(row) => Ok((true, Some(row))),
                        None => Ok((
                            false,
                            store_jpos::find_trans(
                                db,
                                &probe.terminal_key,
                                &probe.batch_no,
                                &probe.trace_no,
                                &probe.role,
                            )
                            .await?,
                        )),
                    }
                })
            })
            .await
            .map_err(|e| store_code(&e))?;
        match inserted {
            (true, Some(row)) => Ok(Plan::Execute(Box::new(row))),
            (false, Some(row)) => Ok(self.existing(row)),
            _ => Err(JposStatus::IssuerUnavailable),
        }
    }

    /// Inserts a row and takes its claim on the row it acts on in the same transaction; a
    /// claim taken first by another request answers this one with the claim's refusal.
    async fn insert_claiming(&self, row: TransRow, claim: Claim) -> Result<Plan, JposStatus> {
        let result = self
            .deps
            .store
            .transaction(move |db| {
                Box::pin(async move {
                    let Some(inserted) = store_jpos::insert_trans(db, &row, now_ms()).await? else {
                        let (key, batch, trace) = (&row.terminal_key, &row.batch_no, &row.trace_no);
                        let found =
                            store_jpos::find_trans(db, key, batch, trace, &row.role).await?;
                        return Ok(Err(found));
                    };
                    let Some(code) = claim.take(db).await? else {
                        return Ok(Ok(Plan::Execute(Box::new(inserted))));
                    };
                    let answer = JposAnswer::refuse(code, inserted.trans_time_ms);
                    store_jpos::complete_trans(
                        db,
                        inserted.id,
                        code.as_str(),
                        &answer.body,
                        now_ms(),
                    )
                    .await?;
                    Ok(Ok(Plan::Answer(answer)))
                })
            })
            .await
            .map_err(|e| store_code(&e))?;
        match result {
            Ok(plan) => Ok(plan),
            Err(Some(row)) => Ok(self.existing(row)),
            Err(None) => Err(JposStatus::IssuerUnavailable),
        }
    }

    /// Answers a row refused after its claim was taken, giving the claim back in the same
    /// transaction (only when this call is the one that answers it).
    async fn refuse_releasing(&self, row: &TransRow, status: JposStatus) -> JposAnswer {
        let answer = JposAnswer::refuse(status, row.trans_time_ms);
        let claimed = row.clone();
        self.complete_any(row, answer, move |db| {
            Box::pin(async move { release_claim(db, &claimed).await })
        })
        .await
    }

    /// Reads the row of (trace, role), if any.
    async fn find(
        &self,
        trace: JposTrace,
        role: &'static str,
    ) -> Result<Option<TransRow>, JposStatus> {
        let key = self.key.clone();
        let (batch, trace_no) = (trace.batch_no.to_wire(), trace.trace_no.to_wire());
        self.deps
            .store
            .transaction(move |db| {
                Box::pin(
                    async move { store_jpos::find_trans(db, &key, &batch, &trace_no, role).await },
                )
            })
            .await
            .map_err(|e| store_code(&e))
    }

    async fn get(&self, id: i64) -> Result<Option<TransRow>, JposStatus> {
        self.deps
            .store
            .transaction(move |db| Box::pin(async move { store_jpos::get_trans(db, id).await }))
            .await
            .map_err(|e| store_code(&e))
    }

    /// The account of `card` for a new request `row` (given back with its account set), or
    /// the refusal stored for it: unknown card `14`, blocked card or frozen account `57`.
    async fn card_account(
        &self,
        row: TransRow,
        card: &JposCard,
    ) -> Result<Result<(i64, TransRow), JposAnswer>, JposStatus> {
        self.card_account_or(row, card, JposStatus::NotPermittedToCardholder)
            .await
    }

    /// [`Flow::card_account`] with `blocked` the refusal of a blocked card.
    async fn card_account_or(
        &self,
        mut row: TransRow,
        card: &JposCard,
        blocked: JposStatus,
    ) -> Result<Result<(i64, TransRow), JposAnswer>, JposStatus> {
        let status = match self.card(card).await? {
            CardLookup::Account(id) => {
                row.account_id = Some(id);
                return Ok(Ok((id, row)));
            }
            CardLookup::Unknown => JposStatus::InvalidCardNumber,
            CardLookup::Blocked => blocked,
        };
        Ok(Err(self.answer(self.insert_refused(row, status).await)))
    }

    async fn card(&self, card: &JposCard) -> Result<CardLookup, JposStatus> {
        let card = card.clone();
        let merchant = self.merchant_id();
        self.deps
            .store
            .transaction(move |db| Box::pin(async move { lookup_card(db, &card, merchant).await }))
            .await
            .map_err(|e| store_code(&e))
    }

    /// Balances, whether the account may spend, and the merchant's advertisement.
    async fn account_view(&self, account_id: i64) -> Result<(Balances, bool, String), JposStatus> {
        let merchant = self.merchant_id();
        self.deps
            .store
            .transaction(move |db| {
                Box::pin(async move {
                    let balances = catalog::balances(db, account_id).await?.unwrap_or_default();
                    let active = catalog::get_account(db, account_id)
                        .await?
                        .is_some_and(|a| a.status == AccountStatus::Active);
                    let rules = store_jpos::rules(db, merchant).await?;
                    Ok((balances, active, rules.advertisement))
                })
            })
            .await
            .map_err(|e| store_code(&e))
    }

    /// Records the answer of a pending row, running `also` in the same transaction when
    /// this call is the one that answers it and the answer approves. Returns what was stored.
    async fn complete<F>(&self, row: &TransRow, answer: JposAnswer, also: F) -> JposAnswer
    where
        F: for<'a> FnOnce(
                &'a dyn Db,
            )
                -> futures::future::LocalBoxFuture<'a, Result<(), StoreError>>
            + Send
            + 'static,
    {
        self.complete_with(row, answer, true, also).await
    }

    /// [`Flow::complete`], running `also` whatever the answer's status.
    async fn complete_any<F>(&self, row: &TransRow, answer: JposAnswer, also: F) -> JposAnswer
    where
        F: for<'a> FnOnce(
                &'a dyn Db,
            )
                -> futures::future::LocalBoxFuture<'a, Result<(), StoreError>>
            + Send
            + 'static,
    {
        self.complete_with(row, answer, false, also).await
    }

    async fn complete_with<F>(
        &self,
        row: &TransRow,
        answer: JposAnswer,
        only_approved: bool,
        also: F,
    ) -> JposAnswer
    where
        F: for<'a> FnOnce(
                &'a dyn Db,
            )
                -> futures::future::LocalBoxFuture<'a, Result<(), StoreError>>
            + Send
            + 'static,
    {
        let id = row.id;
        let now = now_ms();
        let stored = answer.clone();
        let result = self
            .deps
            .store
            .transaction(move |db| {
                Box::pin(async move {
                    let code = stored.status.as_str();
                    if store_jpos::complete_trans(db, id, code, &stored.body, now).await? {
                        if !only_approved || stored.status == JposStatus::Approved {
                            also(db).await?;
                        }
                        return Ok(None);
                    }
                    store_jpos::get_trans(db, id).await
                })
            })
            .await;
        match result {
            Ok(None) => answer,
            Ok(Some(row)) => JposAnswer::stored(&row).unwrap_or(answer),
            Err(e) => JposAnswer::refuse(store_code(&e), self.call.now_ms),
        }
    }

    async fn complete_refused(&self, row: &TransRow, status: JposStatus) -> JposAnswer {
        let answer = JposAnswer::refuse(status, row.trans_time_ms);
        self.complete(row, answer, |_| Box::pin(async { Ok(()) }))
            .await
    }
}

/// Inserts a row answered at once with `status` (the approved reply built by `approved`
/// from the inserted row, which knows its serial number), in the caller's transaction. A
/// row inserted first by a concurrent request wins: its answer is returned.
///
/// With `moves`, an approved row's ticket lines are moved in that direction (`-1` taken,
/// `1` given back) only when this call inserted it, so a concurrent duplicate moves nothing.
async fn insert_answered(
    db: &dyn Db,
    mut row: TransRow,
    status: JposStatus,
    moves: Option<i64>,
    approved: impl FnOnce(&TransRow) -> Option<String>,
) -> Result<JposAnswer, StoreError> {
    let now = now_ms();
    row.status = STATUS_PENDING.to_string();
    let Some(inserted) = store_jpos::insert_trans(db, &row, now).await? else {
        // The fingerprint decides between a retry and a duplicate, as for any row.
        let existing = store_jpos::find_trans(
            db,
            &row.terminal_key,
            &row.batch_no,
            &row.trace_no,
            &row.role,
        )
        .await?
        .ok_or_else(|| StoreError::Conflict("jpos row vanished".into()))?;
        if existing.fingerprint != row.fingerprint {
            return Ok(JposAnswer::refuse(
                JposStatus::DuplicateTransmission,
                row.trans_time_ms,
            ));
        }
        return JposAnswer::stored(&existing)
            .ok_or_else(|| StoreError::Conflict("jpos row not answered yet".into()));
    };
    if let (JposStatus::Approved, Some(direction)) = (status, moves) {
        move_lines(db, &inserted, direction).await?;
    }
    let answer = match status {
        JposStatus::Approved => match approved(&inserted) {
            Some(body) => JposAnswer { status, body },
            None => JposAnswer::refuse(JposStatus::IssuerUnavailable, row.trans_time_ms),
        },
        _ => JposAnswer::refuse(status, row.trans_time_ms),
    };
    store_jpos::complete_trans(db, inserted.id, answer.status.as_str(), &answer.body, now).await?;
    Ok(answer)
}

/// The balances of a posted outcome, the code of a refused one (`94` for a key reused with
/// another request).
fn checked(outcome: PostOutcome) -> Result<Balances, JposStatus> {
    if outcome.key_conflict {
        return Err(JposStatus::DuplicateTransmission);
    }
    match outcome.refusal {
        None => Ok(outcome.balances),
        Some(r) => Err(jpos_code(r)),
    }
}

/// What a cancel, refund or refund cancel takes from the row it acts on, in the transaction
/// that inserts it: two requests racing for the same original (from two terminals, or two
/// replicas) cannot both take it.
enum Claim {
    /// A refund's figures, within what the consume has left.
    Refund {
        /// The consume.
        consume: i64,
        /// Points refunded.
        point: i64,
        /// Cash refunded.
        cash: i64,
        /// Granted points taken back.
        persent: i64,
    },
    /// A cancel of a standing, never refunded consume, or a refund cancel of a refund.
    Void {
        /// The consume or refund.
        original: i64,
    },
}

impl Claim {
    /// Takes the claim; the refusal when it cannot: `12` when the original is voided or
    /// fully refunded, `64` when the figures exceed what is left.
    async fn take(&self, db: &dyn Db) -> Result<Option<JposStatus>, StoreError> {
        let now = now_ms();
        match *self {
            Claim::Void { original } => {
                let taken = store_jpos::claim_void(db, original, CANCELLED, now).await?;
                Ok((!taken).then_some(JposStatus::InvalidTransaction))
            }
            Claim::Refund {
                consume,
                point,
                cash,
                persent,
            } => {
                if store_jpos::claim_refund(db, consume, [point, cash, persent], now).await? {
                    return Ok(None);
                }
                let row = store_jpos::get_trans(db, consume)
                    .await?
                    .unwrap_or_default();
                let spent =
                    row.refunded_point >= row.point_amount && row.refunded_cash >= row.cash_amount;
                Ok(Some(if row.voided != STANDING || spent {
                    JposStatus::InvalidTransaction
                } else {
                    JposStatus::OriginalAmountIncorrect
                }))
            }
        }
    }
}

/// Gives back the claim of a cancel, refund or refund cancel row that was refused or
/// undone: the original stands again, or gets the refunded figures back.
async fn release_claim(db: &dyn Db, row: &TransRow) -> Result<(), StoreError> {
    let Some(original) = row.original_id else {
        return Ok(());
    };
    let now = now_ms();
    match row.endpoint.as_str() {
        "cancel" | "refund_cancel" => store_jpos::set_voided(db, original, STANDING, now).await,
        "refund" => give_back_refund(db, row).await,
        _ => Ok(()),
    }
}

/// Gives a refund's figures back to its consume (the refund was refused, or cancelled).
async fn give_back_refund(db: &dyn Db, refund: &TransRow) -> Result<(), StoreError> {
    let Some(consume) = refund.original_id else {
        return Ok(());
    };
    let figures = [
        -refund.point_amount,
        -refund.cash_amount,
        -refund.persent_point,
    ];
    store_jpos::add_refunded(db, consume, figures, now_ms()).await
}

/// The ticket type that a consume's `vaucher` list draws: 代金券.
const VOUCHER_TYPE: &str = "03";

/// The ticket lines of a consume's `vaucher` list: the card's type 03 tickets.
fn voucher_lines(vouchers: &[(u64, u32)]) -> Vec<(i64, String, i64)> {
    vouchers
        .iter()
        .map(|(id, num)| {
            let id = i64::try_from(*id).unwrap_or(i64::MAX);
            (id, VOUCHER_TYPE.to_string(), i64::from(*num))
        })
        .collect()
}

/// The stored form of ticket lines (`None` for none).
fn lines_json(lines: &[(i64, String, i64)]) -> Option<String> {
    (!lines.is_empty()).then(|| serde_json::json!(lines).to_string())
}

/// The face value of ticket lines if the account holds all of them, else `None`.
async fn face_value(
    db: &dyn Db,
    account_id: i64,
    lines: &[(i64, String, i64)],
) -> Result<Option<i64>, StoreError> {
    let held = store_jpos::tickets(db, account_id, true).await?;
    let mut total: i64 = 0;
    for (id, kind, num) in lines {
        match held
            .iter()
            .find(|t| t.ticket_id == *id && t.ticket_type == *kind)
        {
            Some(t) if t.num >= *num => {
                total = total.saturating_add(t.face_amount.saturating_mul(*num));
            }
            _ => return Ok(None),
        }
    }
    Ok(Some(total))
}

/// Takes a row's ticket lines from its account again as far as it still holds them (a
/// reversal always completes, also when the vouchers a cancel gave back were used since);
/// returns how many were no longer there.
async fn take_back_lines(db: &dyn Db, row: &TransRow) -> Result<i64, StoreError> {
    let Some(text) = row.ticket_lines.as_deref() else {
        return Ok(0);
    };
    let lines: Vec<(i64, String, i64)> =
        serde_json::from_str(text).map_err(|e| StoreError::Decode(format!("ticket lines: {e}")))?;
    let account = row.account_id.unwrap_or_default();
    let held = store_jpos::tickets(db, account, true).await?;
    let mut missing = 0;
    for (id, kind, num) in lines {
        let have = held
            .iter()
            .find(|t| t.ticket_id == id && t.ticket_type == kind)
            .map_or(0, |t| t.num);
        let take = num.min(have);
        if take > 0 {
            store_jpos::move_tickets(db, account, id, &kind, -take, now_ms()).await?;
        }
        missing += num - take;
    }
    Ok(missing)
}

/// Moves the ticket lines recorded on a row: `-1` takes them from its account, `1` gives
/// them back. A take that finds too few fails the transaction (`Conflict`).
async fn move_lines(db: &dyn Db, row: &TransRow, direction: i64) -> Result<(), StoreError> {
    let Some(text) = row.ticket_lines.as_deref() else {
        return Ok(());
    };
    let lines: Vec<(i64, String, i64)> =
        serde_json::from_str(text).map_err(|e| StoreError::Decode(format!("ticket lines: {e}")))?;
    let account = row.account_id.unwrap_or_default();
    let now = now_ms();
    for (id, kind, num) in lines {
        if !store_jpos::move_tickets(db, account, id, &kind, direction * num, now).await? {
            return Err(StoreError::Conflict("tickets moved meanwhile".into()));
        }
    }
    Ok(())
}
