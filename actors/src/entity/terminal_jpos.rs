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
//! are idempotent and rebuilt from the stored figures. A different request under a used
//! trace number gets `94`. Reversals resend the original's body, so their rows have the
//! role `reversal` under the original's batch and trace; a reversal of an unknown original
//! leaves a `tombstone` row (and a ledger tombstone) that refuses the late original.

use super::terminal::{TerminalActor, TerminalState};
use super::{EntityDeps, EntityError};
use crate::ledger::{
    Asset, Balances, LedgerError, LimitPolicy, Operation, PostOutcome, PostRequest, Refusal,
    VoidKind,
};
use crate::mailbox::Ask;
use crate::model::{AccountStatus, TerminalFamily, TerminalStatus};
use crate::store::jpos::{
    self as store_jpos, TransRow, CANCELLED, REVERSED, ROLE_REQUEST, ROLE_REVERSAL, STANDING,
    STATUS_DONE, STATUS_PENDING, STATUS_TOMBSTONE,
};
use crate::store::{catalog, now_ms, Db, StoreError};
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
        /// Keyed digest of the new code.
        code_digest: String,
        /// The code's lifetime, ms.
        ttl_ms: i64,
        /// Shortest time between two codes to one number, ms.
        resend_ms: i64,
        /// Most codes to one number per hour.
        sends_per_hour_max: i64,
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
        let state = match self.jpos_terminal() {
            Ok(state) => state,
            Err(e) => {
                let _ = reply.send(JposAnswer::refuse(jpos_entity_code(&e), call.now_ms));
                self.stop_if_failed(ctx);
                return;
            }
        };
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
            } => self.checkin(operator_no, working_key).await,
            JposWork::CardQuery { trace, card } => self.card_query(trace, card).await,
            JposWork::Settle { trace, totals } => self.settle(trace, totals).await,
            JposWork::TicketQuery { trace, card } => self.ticket_query(trace, card).await,
            JposWork::TicketConsume {
                trace,
                card,
                lines,
                reversal,
            } => self.ticket_consume(trace, card, lines, reversal).await,
            JposWork::SendVerifyCode {
                mobile_no,
                code_digest,
                ttl_ms,
                resend_ms,
                sends_per_hour_max,
            } => {
                self.send_verify_code(
                    mobile_no,
                    code_digest,
                    ttl_ms,
                    resend_ms,
                    sends_per_hour_max,
                )
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
                    self.reversal(trace, card, "consume").await
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
                    self.reversal(trace, card, "cancel").await
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

    async fn post(&self, request: PostRequest) -> Result<PostOutcome, JposStatus> {
        let rx = self
            .deps
            .accounts
            .submit(request)
            .map_err(|e| jpos_entity_code(&EntityError::from(e)))?;
        rx.await
            .unwrap_or(Err(LedgerError::ShuttingDown))
            .map_err(|e| jpos_entity_code(&EntityError::from(e)))
    }

    /// Posts and maps the outcome: the balances when posted, the code otherwise.
    async fn post_checked(&self, request: PostRequest) -> Result<Balances, JposStatus> {
        let outcome = self.post(request).await?;
        if outcome.key_conflict {
            return Err(JposStatus::DuplicateTransmission);
        }
        match outcome.refusal {
            None => Ok(outcome.balances),
            Some(r) => Err(jpos_code(r)),
        }
    }

    fn request(&self, key: &str, account_id: i64, op: Operation) -> PostRequest {
        PostRequest {
            idempotency_key: key.to_string(),
            account_id,
            terminal: Some(self.key.clone()),
            business_date: self.call.business_date,
            op,
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
    /// this call is the one that answers it. Returns what was stored.
    async fn complete<F>(&self, row: &TransRow, answer: JposAnswer, also: F) -> JposAnswer
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
                        if stored.status == JposStatus::Approved {
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
                        also(db).await?;
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

    // ------------------------------------------------------------------ checkin, query

    async fn checkin(
        &self,
        operator_no: String,
        working_key: WorkingKey,
    ) -> Result<JposAnswer, JposStatus> {
        let terminal_id = self.terminal_id();
        let merchant = self.merchant_id();
        let now = self.call.now_ms;
        let (batch, store_name) = self
            .deps
            .store
            .transaction(move |db| {
                Box::pin(async move {
                    let batch = store_jpos::check_in(db, terminal_id, &operator_no, now).await?;
                    let name = catalog::get_merchant(db, merchant)
                        .await?
                        .map(|m| m.name)
                        .unwrap_or_default();
                    Ok((batch, name))
                })
            })
            .await
            .map_err(|e| store_code(&e))?;
        let batch_no = BatchNo::new(batch.batch_no).ok_or(JposStatus::IssuerUnavailable)?;
        let trans_time = TransTime::from_unix_millis(now).ok_or(JposStatus::IssuerUnavailable)?;
        Ok(JposAnswer::of(&CheckinReply {
            trans_time,
            batch_no,
            store_name,
            working_key,
        }))
    }

    async fn card_query(&self, trace: JposTrace, card: JposCard) -> Result<JposAnswer, JposStatus> {
        self.require_batch(trace.batch_no).await?;
        let merchant = self.merchant_id();
        let found = self
            .deps
            .store
            .transaction(move |db| {
                Box::pin(async move {
                    let account = match lookup_card(db, &card, merchant).await? {
                        CardLookup::Unknown => return Ok(None),
                        CardLookup::Blocked | CardLookup::Account(_) => {
                            let Some(hmac) = &card.hmac else {
                                return Ok(None);
                            };
                            let Some(found) = catalog::find_card(db, hmac).await? else {
                                return Ok(None);
                            };
                            catalog::get_account(db, found.account_id).await?
                        }
                    };
                    let Some(account) = account else {
                        return Ok(None);
                    };
                    let balances = catalog::balances(db, account.id).await?.unwrap_or_default();
                    let vouchers: Vec<VoucherInfo> = store_jpos::tickets(db, account.id, false)
                        .await?
                        .into_iter()
                        .filter(|t| t.ticket_type == VOUCHER_TYPE)
                        .filter_map(|t| {
                            Some(VoucherInfo {
                                id: u64::try_from(t.ticket_id).ok()?,
                                amount: Fen(t.face_amount),
                                num: u32::try_from(t.num).ok()?,
                                name: t.name,
                            })
                        })
                        .collect();
                    Ok(Some((account, balances, vouchers)))
                })
            })
            .await
            .map_err(|e| store_code(&e))?;
        let Some((account, balances, vouchers)) = found else {
            return Err(JposStatus::InvalidCardNumber);
        };
        let active = account.status == AccountStatus::Active;
        Ok(JposAnswer::of(&CardQueryReply {
            trans_time: TransTime::from_unix_millis(self.call.now_ms)
                .ok_or(JposStatus::IssuerUnavailable)?,
            point_balance: Fen(balances.points),
            available_point_balance: Fen(available(&balances, active)),
            vouchers,
            id_type: IdType::Other,
            id_no: String::new(),
            name: account.name,
            gender: Gender::Unknown,
            mobile_no: String::new(),
            grade: None,
            address: String::new(),
            email: String::new(),
        }))
    }

    // ------------------------------------------------------------------ consume

    /// A consume: batch check, trace lookup, card, earn rule and journal row in one store
    /// transaction; then the ledger posting; then balances and the reply in one more.
    async fn consume(
        &self,
        trace: JposTrace,
        card: JposCard,
        point: i64,
        cash: i64,
        vouchers: Vec<(u64, u32)>,
        register_trace: Option<String>,
    ) -> Result<JposAnswer, JposStatus> {
        let mut row = self.new_row(trace, ROLE_REQUEST, "consume", &card);
        row.ledger_key = Some(self.ledger_key(trace));
        row.point_amount = point;
        row.cash_amount = cash;
        row.register_trace = register_trace;
        let (terminal_id, merchant) = (self.terminal_id(), self.merchant_id());
        let batch = trace.batch_no.get();
        let prepared = self
            .deps
            .store
            .transaction(move |db| {
                Box::pin(async move {
                    let state = store_jpos::batch_state(db, terminal_id).await?;
                    if !state.is_some_and(|s| s.checked_in && s.batch_no == batch) {
                        return Ok(Err(JposStatus::NotCheckedIn));
                    }
                    let (key, batch_no, trace_no) = (
                        row.terminal_key.clone(),
                        row.batch_no.clone(),
                        row.trace_no.clone(),
                    );
                    if let Some(existing) =
                        store_jpos::find_trans(db, &key, &batch_no, &trace_no, ROLE_REQUEST).await?
                    {
                        return Ok(Ok(Ok(existing)));
                    }
                    let refusal = match lookup_card(db, &card, merchant).await? {
                        CardLookup::Unknown => Some(JposStatus::InvalidCardNumber),
                        CardLookup::Blocked => Some(JposStatus::NotPermittedToCardholder),
                        CardLookup::Account(id) => {
                            row.account_id = Some(id);
                            if point == 0 && cash == 0 && vouchers.is_empty() {
                                Some(JposStatus::InvalidAmount)
                            } else {
                                None
                            }
                        }
                    };
                    if let Some(code) = refusal {
                        return insert_answered(db, row, code, None, |_| None)
                            .await
                            .map(|answer| Ok(Err(answer)));
                    }
                    // Vouchers are the card's type 03 tickets: all there, or refused.
                    let lines: Vec<(i64, String, i64)> = vouchers
                        .iter()
                        .map(|(id, num)| {
                            let id = i64::try_from(*id).unwrap_or(i64::MAX);
                            (id, VOUCHER_TYPE.to_string(), i64::from(*num))
                        })
                        .collect();
                    if !lines.is_empty() {
                        let account = row.account_id.unwrap_or_default();
                        match face_value(db, account, &lines).await? {
                            Some(amount) => {
                                row.ticket_amount = amount;
                                row.ticket_lines = Some(serde_json::json!(lines).to_string());
                            }
                            None => {
                                return insert_answered(
                                    db,
                                    row,
                                    JposStatus::InsufficientFunds,
                                    None,
                                    |_| None,
                                )
                                .await
                                .map(|answer| Ok(Err(answer)))
                            }
                        }
                    }
                    let rules = store_jpos::rules(db, merchant).await?;
                    row.persent_point = earned_points(cash, rules.earn_rate_bp);
                    let inserted = match store_jpos::insert_trans(db, &row, now_ms()).await? {
                        Some(inserted) => {
                            // Taken with the row that records them, or not at all.
                            move_lines(db, &inserted, -1).await?;
                            inserted
                        }
                        None => {
                            store_jpos::find_trans(db, &key, &batch_no, &trace_no, ROLE_REQUEST)
                                .await?
                                .ok_or_else(|| StoreError::Conflict("jpos row vanished".into()))?
                        }
                    };
                    Ok(Ok(Ok(inserted)))
                })
            })
            .await
            .map_err(|e| store_code(&e))?;
        match prepared? {
            Err(answer) => Ok(answer),
            Ok(row) => match self.existing(row) {
                Plan::Answer(answer) => Ok(answer),
                Plan::Execute(row) => Ok(self.execute_consume(*row).await),
            },
        }
    }

    fn answer(&self, plan: Plan) -> JposAnswer {
        match plan {
            Plan::Answer(answer) => answer,
            // Never reached: a refused row is inserted as answered.
            Plan::Execute(_) => JposAnswer::refuse(JposStatus::IssuerUnavailable, self.call.now_ms),
        }
    }

    /// The ledger operation of a consume's figures (or of re-applying them): a points debit
    /// with the grant, a points credit when only points are granted, nothing otherwise.
    fn consume_op(point: i64, persent: i64) -> Option<Operation> {
        if point > 0 {
            Some(Operation::Debit {
                amount: point,
                sources: vec![Asset::Points],
                discount: false,
                limits: LimitPolicy::None,
                overdraft: false,
                award_points: persent,
            })
        } else if persent > 0 {
            Some(Operation::Credit {
                asset: Asset::Points,
                amount: persent,
            })
        } else {
            None
        }
    }

    async fn execute_consume(&self, row: TransRow) -> JposAnswer {
        let now = self.call.now_ms;
        let Some(account) = row.account_id else {
            return self
                .complete_refused(&row, JposStatus::InvalidCardNumber)
                .await;
        };
        let key = row.ledger_key.clone().unwrap_or_default();
        let mut posted = None;
        if let Some(op) = Self::consume_op(row.point_amount, row.persent_point) {
            match self.post_checked(self.request(&key, account, op)).await {
                Ok(balances) => posted = Some(balances),
                // Nothing answered yet: the retry finishes it.
                Err(code @ (JposStatus::IssuerUnavailable | JposStatus::SystemBusy)) => {
                    return JposAnswer::refuse(code, now)
                }
                Err(code) => {
                    let answer = JposAnswer::refuse(code, row.trans_time_ms);
                    let taken = row.clone();
                    // A refused consume gives its vouchers back.
                    return self
                        .complete_any(&row, answer, move |db| {
                            Box::pin(async move { move_lines(db, &taken, 1).await })
                        })
                        .await;
                }
            }
        }
        let merchant = self.merchant_id();
        let result = self
            .deps
            .store
            .transaction(move |db| {
                Box::pin(async move {
                    let balances = match posted {
                        Some(balances) => balances,
                        None => catalog::balances(db, account).await?.unwrap_or_default(),
                    };
                    let active = catalog::get_account(db, account)
                        .await?
                        .is_some_and(|a| a.status == AccountStatus::Active);
                    let advertisement = store_jpos::rules(db, merchant).await?.advertisement;
                    let Some(trans_time) = TransTime::from_unix_millis(row.trans_time_ms) else {
                        return Err(StoreError::Decode("transTime out of range".into()));
                    };
                    let answer = JposAnswer::of(&ConsumeReply {
                        trans_time,
                        serial_no: serial(&row),
                        point_balance: Fen(balances.points),
                        available_point_balance: Fen(available(&balances, active)),
                        use_point: Fen(row.point_amount),
                        persent_point: Fen(row.persent_point),
                        advertisement: (!advertisement.is_empty()).then_some(advertisement),
                    });
                    if store_jpos::complete_trans(db, row.id, "00", &answer.body, now_ms()).await? {
                        return Ok(answer);
                    }
                    let stored = store_jpos::get_trans(db, row.id).await?;
                    Ok(stored
                        .as_ref()
                        .and_then(JposAnswer::stored)
                        .unwrap_or(answer))
                })
            })
            .await;
        result.unwrap_or_else(|e| JposAnswer::refuse(store_code(&e), now))
    }

    // ------------------------------------------------------------------ reversals

    /// A reversal (冲正) of the consume or cancel at `trace`: the body is the original's.
    async fn reversal(
        &self,
        trace: JposTrace,
        card: JposCard,
        endpoint: &'static str,
    ) -> Result<JposAnswer, JposStatus> {
        if let Some(row) = self.find(trace, ROLE_REVERSAL).await? {
            return match self.existing(row) {
                Plan::Answer(answer) => Ok(answer),
                Plan::Execute(row) => Ok(self.execute_reversal(*row).await),
            };
        }
        let mut rev = self.new_row(trace, ROLE_REVERSAL, endpoint, &card);
        rev.ledger_key = Some(format!("{}:reversal", self.ledger_key(trace)));
        let original = self.find(trace, ROLE_REQUEST).await?;
        match original {
            None => {
                // Reversal before its original: a tombstone refuses the late original.
                let account = match self.card(&card).await? {
                    CardLookup::Account(id) => Some(id),
                    CardLookup::Unknown | CardLookup::Blocked => None,
                };
                let mut tomb = self.new_row(trace, ROLE_REQUEST, endpoint, &card);
                tomb.status = STATUS_TOMBSTONE.to_string();
                tomb.account_id = account;
                tomb.ledger_key = Some(self.ledger_key(trace));
                let tomb = match self.insert(tomb).await? {
                    Plan::Execute(row) => *row,
                    // The original arrived meanwhile: reverse it on the retry.
                    Plan::Answer(_) => return Err(JposStatus::SystemBusy),
                };
                rev.original_id = Some(tomb.id);
                rev.original_key = tomb.ledger_key.clone();
                rev.account_id = account;
            }
            Some(o) if o.fingerprint != self.call.fingerprint || o.endpoint != endpoint => {
                // Not the body of the transaction at this trace: there is no such original.
                return Ok(
                    self.answer(self.insert_refused(rev, JposStatus::OriginalNotFound).await)
                );
            }
            Some(o) => {
                rev.original_id = Some(o.id);
                rev.original_key = o.ledger_key.clone();
                rev.account_id = o.account_id;
            }
        }
        match self.insert(rev).await? {
            Plan::Answer(answer) => Ok(answer),
            Plan::Execute(row) => Ok(self.execute_reversal(*row).await),
        }
    }

    async fn execute_reversal(&self, rev: TransRow) -> JposAnswer {
        let now = self.call.now_ms;
        let original = match self.get(rev.original_id.unwrap_or_default()).await {
            Ok(Some(o)) => o,
            Ok(None) => {
                return self
                    .complete_refused(&rev, JposStatus::OriginalNotFound)
                    .await
            }
            Err(code) => return JposAnswer::refuse(code, now),
        };
        let ok = JposAnswer::refuse(JposStatus::Approved, rev.trans_time_ms);
        if original.status == STATUS_TOMBSTONE {
            if let (Some(account), Some(key)) = (rev.account_id, &rev.original_key) {
                // A ledger tombstone too, so that no replica posts the late original.
                let void = Operation::Void {
                    original_key: key.clone(),
                    kind: VoidKind::Reversal,
                };
                let ledger_key = rev.ledger_key.clone().unwrap_or_default();
                if let Err(code) = self.post(self.request(&ledger_key, account, void)).await {
                    return JposAnswer::refuse(code, now);
                }
            }
            return self
                .complete_refused(&rev, JposStatus::OriginalNotFound)
                .await;
        }
        let approved = original.response_code.as_deref() == Some("00");
        if original.status == STATUS_DONE && !approved {
            // The original was refused: nothing to undo.
            return self
                .complete(&rev, ok, |_| Box::pin(async { Ok(()) }))
                .await;
        }
        match original.voided {
            REVERSED => {
                return self
                    .complete(&rev, ok, |_| Box::pin(async { Ok(()) }))
                    .await
            }
            CANCELLED => {
                return self
                    .complete_refused(&rev, JposStatus::InvalidTransaction)
                    .await
            }
            _ => {}
        }
        let account = original.account_id.unwrap_or_default();
        let ledger_key = rev.ledger_key.clone().unwrap_or_default();
        let mut restore_id = None;
        if original.endpoint == "consume" {
            if Self::consume_op(original.point_amount, original.persent_point).is_some() {
                let void = Operation::Void {
                    original_key: original.ledger_key.clone().unwrap_or_default(),
                    kind: VoidKind::Reversal,
                };
                match self.post(self.request(&ledger_key, account, void)).await {
                    Ok(outcome) if outcome.key_conflict => {
                        return self
                            .complete_refused(&rev, JposStatus::DuplicateTransmission)
                            .await
                    }
                    Ok(outcome) => match outcome.refusal {
                        None | Some(Refusal::AlreadyVoided) => {}
                        // Still in effect (partly refunded): not a code the terminal takes
                        // for reversed, and not stored, so its retries try again.
                        Some(Refusal::NotVoidable) => {
                            tracing::warn!(terminal = %self.key, "jpos reversal of a consume that cannot be voided");
                            return JposAnswer::refuse(JposStatus::SystemBusy, now);
                        }
                        Some(r) => return self.complete_refused(&rev, jpos_code(r)).await,
                    },
                    Err(code) => return JposAnswer::refuse(code, now),
                }
            }
        } else {
            // Reversing a cancel re-applies the consume it cancelled (a void is final in
            // the ledger, so the consume's figures are posted again under this key).
            if let Some(op) = Self::consume_op(original.point_amount, original.persent_point) {
                match self
                    .post_checked(self.request(&ledger_key, account, op))
                    .await
                {
                    Ok(_) => {}
                    Err(code @ (JposStatus::IssuerUnavailable | JposStatus::SystemBusy)) => {
                        return JposAnswer::refuse(code, now)
                    }
                    Err(code) => return self.complete_refused(&rev, code).await,
                }
            }
            restore_id = original.original_id;
        }
        let original_id = original.id;
        let reapplied = Self::consume_op(original.point_amount, original.persent_point)
            .is_some()
            .then_some(ledger_key);
        let vouchers = original.clone();
        self.complete(&rev, ok, move |db| {
            Box::pin(async move {
                let now = now_ms();
                store_jpos::set_voided(db, original_id, REVERSED, now).await?;
                // A reversed consume gives its vouchers back; a reversed cancel takes the
                // consume's vouchers again.
                let direction = if restore_id.is_some() { -1 } else { 1 };
                move_lines(db, &vouchers, direction).await?;
                if let Some(consume) = restore_id {
                    store_jpos::set_voided(db, consume, STANDING, now).await?;
                    if let Some(key) = &reapplied {
                        store_jpos::set_ledger_key(db, consume, key, now).await?;
                    }
                }
                Ok(())
            })
        })
        .await
    }

    // ------------------------------------------------------------------ cancel

    async fn cancel(
        &self,
        trace: JposTrace,
        card: JposCard,
        original: JposTrace,
        ori_trans_time_ms: i64,
    ) -> Result<JposAnswer, JposStatus> {
        self.require_batch(trace.batch_no).await?;
        if let Some(row) = self.find(trace, ROLE_REQUEST).await? {
            return match self.existing(row) {
                Plan::Answer(answer) => Ok(answer),
                Plan::Execute(row) => Ok(self.execute_cancel(*row).await),
            };
        }
        let mut row = self.new_row(trace, ROLE_REQUEST, "cancel", &card);
        row.ledger_key = Some(self.ledger_key(trace));
        let account = match self.card(&card).await? {
            CardLookup::Account(id) => id,
            CardLookup::Unknown => {
                return Ok(self.answer(
                    self.insert_refused(row, JposStatus::InvalidCardNumber)
                        .await,
                ))
            }
            CardLookup::Blocked => {
                return Ok(self.answer(
                    self.insert_refused(row, JposStatus::NotPermittedToCardholder)
                        .await,
                ))
            }
        };
        row.account_id = Some(account);
        // A cancel (撤销) names a consume of the current batch.
        let consume = if original.batch_no == trace.batch_no {
            self.find(original, ROLE_REQUEST).await?
        } else {
            None
        };
        let refusal = match &consume {
            None => Some(JposStatus::OriginalNotFound),
            Some(o) => Self::check_original(o, "consume", &card, Some(ori_trans_time_ms)),
        };
        if let Some(code) = refusal {
            return Ok(self.answer(self.insert_refused(row, code).await));
        }
        let consume = consume.unwrap_or_default();
        if consume.refunded_point + consume.refunded_cash > 0 {
            return Ok(self.answer(
                self.insert_refused(row, JposStatus::InvalidTransaction)
                    .await,
            ));
        }
        row.original_id = Some(consume.id);
        row.original_key = consume.ledger_key.clone();
        row.point_amount = consume.point_amount;
        row.cash_amount = consume.cash_amount;
        row.persent_point = consume.persent_point;
        row.ticket_amount = consume.ticket_amount;
        row.ticket_lines = consume.ticket_lines.clone();
        match self.insert(row).await? {
            Plan::Answer(answer) => Ok(answer),
            Plan::Execute(row) => Ok(self.execute_cancel(*row).await),
        }
    }

    /// Why `original` cannot be cancelled or refunded by this card, if it cannot.
    fn check_original(
        original: &TransRow,
        endpoint: &str,
        card: &JposCard,
        trans_time_ms: Option<i64>,
    ) -> Option<JposStatus> {
        let same_card = card.hmac.is_some() && original.card_hmac == card.hmac;
        let approved =
            original.status == STATUS_DONE && original.response_code.as_deref() == Some("00");
        // `oriTransTime` may come back in seconds: compare at second precision.
        let same_time = trans_time_ms.is_none_or(|ms| ms / 1000 == original.trans_time_ms / 1000);
        if original.endpoint != endpoint || !approved || !same_card || !same_time {
            return Some(JposStatus::OriginalNotFound);
        }
        match original.voided {
            STANDING => None,
            _ => Some(JposStatus::InvalidTransaction),
        }
    }

    async fn execute_cancel(&self, row: TransRow) -> JposAnswer {
        let now = self.call.now_ms;
        let account = row.account_id.unwrap_or_default();
        if Self::consume_op(row.point_amount, row.persent_point).is_some() {
            let void = Operation::Void {
                original_key: row.original_key.clone().unwrap_or_default(),
                kind: VoidKind::Cancel,
            };
            let key = row.ledger_key.clone().unwrap_or_default();
            match self.post_checked(self.request(&key, account, void)).await {
                Ok(_) => {}
                Err(code @ (JposStatus::IssuerUnavailable | JposStatus::SystemBusy)) => {
                    return JposAnswer::refuse(code, now)
                }
                Err(code) => return self.complete_refused(&row, code).await,
            }
        }
        let answer = match self
            .points_reply(&row, row.point_amount, row.persent_point)
            .await
        {
            Ok(answer) => answer,
            Err(code) => return JposAnswer::refuse(code, now),
        };
        let consume = row.original_id.unwrap_or_default();
        let vouchers = row.clone();
        self.complete(&row, answer, move |db| {
            Box::pin(async move {
                store_jpos::set_voided(db, consume, CANCELLED, now_ms()).await?;
                // The cancelled consume's vouchers go back to the card.
                move_lines(db, &vouchers, 1).await
            })
        })
        .await
    }

    async fn points_reply(
        &self,
        row: &TransRow,
        use_point: i64,
        persent_point: i64,
    ) -> Result<JposAnswer, JposStatus> {
        let (balances, active, _) = self
            .account_view(row.account_id.unwrap_or_default())
            .await?;
        Ok(JposAnswer::of(&PointsReply {
            trans_time: TransTime::from_unix_millis(row.trans_time_ms)
                .ok_or(JposStatus::IssuerUnavailable)?,
            serial_no: serial(row),
            point_balance: Fen(balances.points),
            available_point_balance: Fen(available(&balances, active)),
            use_point: Fen(use_point),
            persent_point: Fen(persent_point),
        }))
    }

    // ------------------------------------------------------------------ refund

    async fn refund(
        &self,
        trace: JposTrace,
        card: JposCard,
        ori_serial_no: String,
        ori_date: String,
        point: Option<i64>,
        cash: Option<i64>,
    ) -> Result<JposAnswer, JposStatus> {
        self.require_batch(trace.batch_no).await?;
        if let Some(row) = self.find(trace, ROLE_REQUEST).await? {
            return match self.existing(row) {
                Plan::Answer(answer) => Ok(answer),
                Plan::Execute(row) => Ok(self.execute_refund(*row).await),
            };
        }
        let mut row = self.new_row(trace, ROLE_REQUEST, "refund", &card);
        row.ledger_key = Some(self.ledger_key(trace));
        let account = match self.card(&card).await? {
            CardLookup::Account(id) => id,
            CardLookup::Unknown => {
                return Ok(self.answer(
                    self.insert_refused(row, JposStatus::InvalidCardNumber)
                        .await,
                ))
            }
            CardLookup::Blocked => {
                return Ok(self.answer(
                    self.insert_refused(row, JposStatus::NotPermittedToCardholder)
                        .await,
                ))
            }
        };
        row.account_id = Some(account);
        let consume = match ori_serial_no.parse::<i64>() {
            Ok(id) if id > 0 => self.get(id).await?,
            _ => None,
        };
        let refusal = match &consume {
            None => Some(JposStatus::OriginalNotFound),
            Some(o) if o.business_date != ori_date || o.role != ROLE_REQUEST => {
                Some(JposStatus::OriginalNotFound)
            }
            Some(o) => Self::check_original(o, "consume", &card, None),
        };
        if let Some(code) = refusal {
            return Ok(self.answer(self.insert_refused(row, code).await));
        }
        let consume = consume.unwrap_or_default();
        let left_point = consume.point_amount - consume.refunded_point;
        let left_cash = consume.cash_amount - consume.refunded_cash;
        let (point, cash) = match (point, cash) {
            (None, None) => (left_point, left_cash),
            (point, cash) => (point.unwrap_or(0), cash.unwrap_or(0)),
        };
        if point > left_point || cash > left_cash {
            return Ok(self.answer(
                self.insert_refused(row, JposStatus::OriginalAmountIncorrect)
                    .await,
            ));
        }
        if point + cash == 0 {
            return Ok(self.answer(
                self.insert_refused(row, JposStatus::InvalidTransaction)
                    .await,
            ));
        }
        // Granted points go back in proportion, cumulatively, so a full refund in parts
        // takes back exactly what was granted.
        let total = i128::from(consume.point_amount + consume.cash_amount);
        let refunded_after =
            i128::from(consume.refunded_point + consume.refunded_cash + point + cash);
        let target = i128::from(consume.persent_point) * refunded_after / total.max(1);
        let back = i64::try_from(target).unwrap_or(0) - consume.refunded_persent;
        // Granted points the card no longer holds are paid back in cash (补现金额).
        let (balances, _, _) = self.account_view(account).await?;
        let holdable = (balances.points + point).max(0);
        let take = back.clamp(0, holdable);
        row.original_id = Some(consume.id);
        row.original_key = consume.ledger_key.clone();
        row.point_amount = point;
        row.cash_amount = cash;
        row.persent_point = back.max(0);
        row.supply_cash = back.max(0) - take;
        match self.insert(row).await? {
            Plan::Answer(answer) => Ok(answer),
            Plan::Execute(row) => Ok(self.execute_refund(*row).await),
        }
    }

    async fn execute_refund(&self, row: TransRow) -> JposAnswer {
        let now = self.call.now_ms;
        let account = row.account_id.unwrap_or_default();
        let key = row.ledger_key.clone().unwrap_or_default();
        if row.point_amount > 0 {
            let refund = Operation::Refund {
                original_key: row.original_key.clone().unwrap_or_default(),
                amount: row.point_amount,
            };
            match self.post_checked(self.request(&key, account, refund)).await {
                Ok(_) => {}
                Err(code @ (JposStatus::IssuerUnavailable | JposStatus::SystemBusy)) => {
                    return JposAnswer::refuse(code, now)
                }
                Err(code) => return self.complete_refused(&row, code).await,
            }
        }
        let mut supply = row.supply_cash;
        let take = row.persent_point - row.supply_cash;
        if take > 0 {
            let debit = Operation::Debit {
                amount: take,
                sources: vec![Asset::Points],
                discount: false,
                limits: LimitPolicy::None,
                overdraft: false,
                award_points: 0,
            };
            match self
                .post(self.request(&format!("{key}:award"), account, debit))
                .await
            {
                Ok(outcome) if outcome.is_posted() => {}
                // Spent meanwhile (another terminal): the cardholder pays it in cash.
                Ok(_) => supply = row.persent_point,
                Err(code) => return JposAnswer::refuse(code, now),
            }
        }
        let (balances, active, _) = match self.account_view(account).await {
            Ok(view) => view,
            Err(code) => return JposAnswer::refuse(code, now),
        };
        let Some(trans_time) = TransTime::from_unix_millis(row.trans_time_ms) else {
            return JposAnswer::refuse(JposStatus::IssuerUnavailable, now);
        };
        let answer = JposAnswer::of(&RefundReply {
            trans_time,
            serial_no: serial(&row),
            point_balance: Fen(balances.points),
            available_point_balance: Fen(available(&balances, active)),
            return_point: Fen(row.point_amount),
            return_persent_point: Fen(row.persent_point),
            return_cash: Fen(row.cash_amount),
            supply_cash: Fen(supply),
        });
        let (consume, id) = (row.original_id.unwrap_or_default(), row.id);
        let (point, cash, persent) = (row.point_amount, row.cash_amount, row.persent_point);
        self.complete(&row, answer, move |db| {
            Box::pin(async move {
                let now = now_ms();
                store_jpos::add_refunded(db, consume, point, cash, persent, now).await?;
                if supply != 0 {
                    db.execute(
                        "UPDATE jpos_trans SET supply_cash = $2 WHERE id = $1",
                        &[id.into(), supply.into()],
                    )
                    .await?;
                }
                Ok(())
            })
        })
        .await
    }

    // ------------------------------------------------------------------ refund cancel

    async fn refund_cancel(
        &self,
        trace: JposTrace,
        card: JposCard,
        ori_serial_no: String,
        original: JposTrace,
        ori_trans_time_ms: i64,
    ) -> Result<JposAnswer, JposStatus> {
        self.require_batch(trace.batch_no).await?;
        if let Some(row) = self.find(trace, ROLE_REQUEST).await? {
            return match self.existing(row) {
                Plan::Answer(answer) => Ok(answer),
                Plan::Execute(row) => Ok(self.execute_refund_cancel(*row).await),
            };
        }
        let mut row = self.new_row(trace, ROLE_REQUEST, "refund_cancel", &card);
        row.ledger_key = Some(self.ledger_key(trace));
        let account = match self.card(&card).await? {
            CardLookup::Account(id) => id,
            CardLookup::Unknown => {
                return Ok(self.answer(
                    self.insert_refused(row, JposStatus::InvalidCardNumber)
                        .await,
                ))
            }
            CardLookup::Blocked => {
                return Ok(self.answer(
                    self.insert_refused(row, JposStatus::NotPermittedToCardholder)
                        .await,
                ))
            }
        };
        row.account_id = Some(account);
        let refund = self.find(original, ROLE_REQUEST).await?;
        let refusal = match &refund {
            None => Some(JposStatus::OriginalNotFound),
            Some(r) if ori_serial_no.parse::<i64>().ok() != Some(r.id) => {
                Some(JposStatus::OriginalNotFound)
            }
            Some(r) => Self::check_original(r, "refund", &card, Some(ori_trans_time_ms)),
        };
        if let Some(code) = refusal {
            return Ok(self.answer(self.insert_refused(row, code).await));
        }
        let refund = refund.unwrap_or_default();
        row.original_id = Some(refund.id);
        row.original_key = refund.ledger_key.clone();
        row.point_amount = refund.point_amount;
        row.cash_amount = refund.cash_amount;
        row.persent_point = refund.persent_point - refund.supply_cash;
        match self.insert(row).await? {
            Plan::Answer(answer) => Ok(answer),
            Plan::Execute(row) => Ok(self.execute_refund_cancel(*row).await),
        }
    }

    async fn execute_refund_cancel(&self, row: TransRow) -> JposAnswer {
        let now = self.call.now_ms;
        let account = row.account_id.unwrap_or_default();
        let key = row.ledger_key.clone().unwrap_or_default();
        let refund_key = row.original_key.clone().unwrap_or_default();
        let mut voids = Vec::new();
        if row.point_amount > 0 {
            voids.push((key.clone(), refund_key.clone()));
        }
        if row.persent_point > 0 {
            voids.push((format!("{key}:award"), format!("{refund_key}:award")));
        }
        for (own, original_key) in voids {
            let void = Operation::Void {
                original_key,
                kind: VoidKind::Cancel,
            };
            match self.post_checked(self.request(&own, account, void)).await {
                Ok(_) => {}
                Err(code @ (JposStatus::IssuerUnavailable | JposStatus::SystemBusy)) => {
                    return JposAnswer::refuse(code, now)
                }
                Err(code) => return self.complete_refused(&row, code).await,
            }
        }
        let answer = match self
            .points_reply(&row, row.point_amount, row.persent_point)
            .await
        {
            Ok(answer) => answer,
            Err(code) => return JposAnswer::refuse(code, now),
        };
        let refund_id = row.original_id.unwrap_or_default();
        let (point, cash) = (row.point_amount, row.cash_amount);
        self.complete(&row, answer, move |db| {
            Box::pin(async move {
                let now = now_ms();
                let Some(refund) = store_jpos::get_trans(db, refund_id).await? else {
                    return Ok(());
                };
                store_jpos::set_voided(db, refund_id, CANCELLED, now).await?;
                if let Some(consume) = refund.original_id {
                    store_jpos::add_refunded(
                        db,
                        consume,
                        -point,
                        -cash,
                        -refund.persent_point,
                        now,
                    )
                    .await?;
                }
                Ok(())
            })
        })
        .await
    }

    // ------------------------------------------------------------------ tickets

    async fn ticket_query(
        &self,
        trace: JposTrace,
        card: JposCard,
    ) -> Result<JposAnswer, JposStatus> {
        self.require_batch(trace.batch_no).await?;
        let account = match self.card(&card).await? {
            CardLookup::Account(id) => id,
            CardLookup::Unknown => return Err(JposStatus::InvalidCardNumber),
            CardLookup::Blocked => return Err(JposStatus::NotPermittedToCardholder),
        };
        let held = self
            .deps
            .store
            .transaction(move |db| {
                Box::pin(async move { store_jpos::tickets(db, account, false).await })
            })
            .await
            .map_err(|e| store_code(&e))?;
        let (balances, active, _) = self.account_view(account).await?;
        let tickets = held
            .into_iter()
            .filter_map(|t| {
                Some(TicketInfo {
                    id: u64::try_from(t.ticket_id).ok()?,
                    ticket_type: TicketType::parse(&t.ticket_type).ok()?,
                    amount: Fen(t.face_amount),
                    name: t.name,
                    num: u32::try_from(t.num).ok()?,
                })
            })
            .collect();
        Ok(JposAnswer::of(&TicketQueryReply {
            trans_time: TransTime::from_unix_millis(self.call.now_ms)
                .ok_or(JposStatus::IssuerUnavailable)?,
            point_balance: Fen(balances.points),
            available_point_balance: Fen(available(&balances, active)),
            tickets,
        }))
    }

    async fn ticket_consume(
        &self,
        trace: JposTrace,
        card: JposCard,
        lines: Vec<(u64, TicketType, u32)>,
        reversal: bool,
    ) -> Result<JposAnswer, JposStatus> {
        if !reversal {
            self.require_batch(trace.batch_no).await?;
        }
        let role = if reversal {
            ROLE_REVERSAL
        } else {
            ROLE_REQUEST
        };
        if let Some(row) = self.find(trace, role).await? {
            return match self.existing(row) {
                Plan::Answer(answer) => Ok(answer),
                // Ticket rows are answered in the transaction that inserts them.
                Plan::Execute(_) => Err(JposStatus::IssuerUnavailable),
            };
        }
        let account = match self.card(&card).await? {
            CardLookup::Account(id) => Some(id),
            CardLookup::Unknown => None,
            CardLookup::Blocked if reversal => None,
            CardLookup::Blocked => {
                let row = self.new_row(trace, role, "ticket_consume", &card);
                return Ok(self.answer(
                    self.insert_refused(row, JposStatus::NotPermittedToCardholder)
                        .await,
                ));
            }
        };
        let mut row = self.new_row(trace, role, "ticket_consume", &card);
        row.account_id = account;
        let lines: Vec<(i64, String, i64)> = lines
            .iter()
            .map(|(id, kind, num)| {
                (
                    i64::try_from(*id).unwrap_or(i64::MAX),
                    kind.as_str().to_string(),
                    i64::from(*num),
                )
            })
            .collect();
        row.ticket_lines = Some(serde_json::json!(lines).to_string());
        let merchant = self.merchant_id();
        let fingerprint = self.call.fingerprint.clone();
        let key = self.key.clone();
        let answered = self
            .deps
            .store
            .transaction(move |db| {
                Box::pin(async move {
                    if reversal {
                        reverse_tickets(db, row, &key, &fingerprint).await
                    } else {
                        take_tickets(db, row, &lines, merchant).await
                    }
                })
            })
            .await;
        match answered {
            Ok(answer) => Ok(answer),
            // Holdings moved under us (another replica): nothing was written, retry.
            Err(StoreError::Conflict(_)) => Err(JposStatus::SystemBusy),
            Err(e) => Err(store_code(&e)),
        }
    }

    // ------------------------------------------------------------------ verify code

    async fn send_verify_code(
        &self,
        mobile_no: String,
        code_digest: String,
        ttl_ms: i64,
        resend_ms: i64,
        sends_per_hour_max: i64,
    ) -> Result<JposAnswer, JposStatus> {
        let now = self.call.now_ms;
        let allowed = self
            .deps
            .store
            .transaction(move |db| {
                Box::pin(async move {
                    let previous = store_jpos::verify_code(db, &mobile_no).await?;
                    let (window_start_ms, window_sends) = match &previous {
                        Some(p) if now - p.sent_at_ms < resend_ms => return Ok(false),
                        Some(p) if now - p.window_start_ms < HOUR_MS => {
                            if p.window_sends >= sends_per_hour_max {
                                return Ok(false);
                            }
                            (p.window_start_ms, p.window_sends + 1)
                        }
                        _ => (now, 1),
                    };
                    let code = store_jpos::VerifyCode {
                        code_digest,
                        expires_at_ms: now.saturating_add(ttl_ms),
                        attempts: 0,
                        sent_at_ms: now,
                        window_start_ms,
                        window_sends,
                    };
                    store_jpos::put_verify_code(db, &mobile_no, &code).await?;
                    Ok(true)
                })
            })
            .await
            .map_err(|e| store_code(&e))?;
        if allowed {
            Ok(JposAnswer {
                status: JposStatus::Approved,
                body: StatusReply::new(JposStatus::Approved).to_json(),
            })
        } else {
            Err(JposStatus::ExceedsFrequencyLimit)
        }
    }

    async fn card_activate(
        &self,
        trace: JposTrace,
        card: JposCard,
        mobile_no: String,
        code_digest: String,
        id_type: String,
        attempts_max: i64,
    ) -> Result<JposAnswer, JposStatus> {
        self.require_batch(trace.batch_no).await?;
        if let Some(row) = self.find(trace, ROLE_REQUEST).await? {
            return match self.existing(row) {
                Plan::Answer(answer) => Ok(answer),
                Plan::Execute(_) => Err(JposStatus::IssuerUnavailable),
            };
        }
        let mut row = self.new_row(trace, ROLE_REQUEST, "card_active", &card);
        let account = match self.card(&card).await? {
            CardLookup::Account(id) => id,
            CardLookup::Unknown => {
                return Ok(self.answer(
                    self.insert_refused(row, JposStatus::InvalidCardNumber)
                        .await,
                ))
            }
            CardLookup::Blocked => {
                return Ok(self.answer(
                    self.insert_refused(row, JposStatus::NotPermittedToCardholder)
                        .await,
                ))
            }
        };
        row.account_id = Some(account);
        let now = self.call.now_ms;
        let hmac = card.hmac.clone().unwrap_or_default();
        self.deps
            .store
            .transaction(move |db| {
                Box::pin(async move {
                    let stored = store_jpos::verify_code(db, &mobile_no).await?;
                    let status = match stored {
                        None => JposStatus::ResponseTooLate,
                        Some(c) if now >= c.expires_at_ms => JposStatus::ResponseTooLate,
                        Some(c) if c.attempts >= attempts_max => JposStatus::PinTriesExceededAlt,
                        Some(c)
                            if !constant_time_eq(
                                c.code_digest.as_bytes(),
                                code_digest.as_bytes(),
                            ) =>
                        {
                            store_jpos::count_attempt(db, &mobile_no).await?;
                            JposStatus::IncorrectPassword
                        }
                        Some(_) => {
                            store_jpos::spend_verify_code(db, &mobile_no).await?;
                            if store_jpos::activate_card(
                                db, &hmac, account, &mobile_no, &id_type, now,
                            )
                            .await?
                            {
                                JposStatus::Approved
                            } else {
                                JposStatus::InvalidTransaction
                            }
                        }
                    };
                    insert_answered(db, row, status, None, |row| {
                        Some(
                            CardActivateReply {
                                serial_no: serial(row),
                                trans_time: TransTime::from_unix_millis(row.trans_time_ms)?,
                            }
                            .to_json(),
                        )
                    })
                    .await
                })
            })
            .await
            .map_err(|e| store_code(&e))
    }

    // ------------------------------------------------------------------ settle

    async fn settle(
        &self,
        trace: JposTrace,
        totals: SettleTotals,
    ) -> Result<JposAnswer, JposStatus> {
        let key = self.key.clone();
        let batch = trace.batch_no.to_wire();
        let terminal_id = self.terminal_id();
        let batch_no = trace.batch_no;
        let now = self.call.now_ms;
        let settled = self
            .deps
            .store
            .transaction(move |db| {
                Box::pin(async move {
                    // A settlement is answered once per batch; a retry gets the same flag.
                    if let Some(s) = store_jpos::find_settlement(db, &key, &batch).await? {
                        return Ok(Some(SettleFlag::from_wire(&s.settle_flag)));
                    }
                    let state = store_jpos::batch_state(db, terminal_id).await?;
                    if !state.is_some_and(|s| s.checked_in && s.batch_no == batch_no.get()) {
                        return Ok(None);
                    }
                    let rows = store_jpos::approved_in_batch(db, &key, &batch).await?;
                    let ours = batch_totals(&rows);
                    let discrepancies = compare(&totals, &ours);
                    let flag = SettleFlag::from_discrepancies(&discrepancies);
                    let report: Vec<serde_json::Value> = discrepancies
                        .iter()
                        .map(|d| {
                            serde_json::json!({
                                "figure": d.figure.wire_name(),
                                "terminal": value_json(d.terminal),
                                "posgate": value_json(d.ours),
                            })
                        })
                        .collect();
                    let settlement = store_jpos::Settlement {
                        id: 0,
                        terminal_id,
                        terminal_key: key.clone(),
                        batch_no: batch.clone(),
                        settle_flag: flag.as_str().to_string(),
                        terminal_totals: totals_json(&totals).to_string(),
                        our_totals: totals_json(&ours).to_string(),
                        discrepancies: serde_json::Value::Array(report).to_string(),
                        created_at_ms: now,
                    };
                    match store_jpos::insert_settlement(db, &settlement).await? {
                        Some(_) => {
                            let next = batch_no.next().get();
                            store_jpos::close_batch(db, terminal_id, batch_no.get(), next, now)
                                .await?;
                            Ok(Some(flag))
                        }
                        None => Ok(store_jpos::find_settlement(db, &key, &batch)
                            .await?
                            .map(|s| SettleFlag::from_wire(&s.settle_flag))),
                    }
                })
            })
            .await
            .map_err(|e| store_code(&e))?;
        match settled {
            Some(flag) => {
                let result = match flag {
                    SettleFlag::Balanced => "balanced",
                    SettleFlag::Unbalanced => "unbalanced",
                };
                metrics::counter!("posgate_jpos_settlements_total", "result" => result)
                    .increment(1);
                Ok(JposAnswer::of(&SettleReply { flag }))
            }
            None => Err(JposStatus::NotCheckedIn),
        }
    }
}

fn value_json(value: SettleValue) -> serde_json::Value {
    match value {
        SettleValue::Count(count) => serde_json::Value::from(count),
        SettleValue::Amount(amount) => serde_json::Value::from(amount.to_yuan_string()),
    }
}

/// The twelve figures as a JSON object keyed by wire name.
pub fn totals_json(totals: &SettleTotals) -> serde_json::Value {
    let map: serde_json::Map<String, serde_json::Value> = SettleFigure::ALL
        .iter()
        .map(|&figure| {
            (
                figure.wire_name().to_string(),
                value_json(totals.get(figure)),
            )
        })
        .collect();
    serde_json::Value::Object(map)
}

fn count(n: &mut u64, amount: &mut Fen, value: i64) {
    if value > 0 {
        *n += 1;
        *amount = Fen(amount.0.saturating_add(value));
    }
}

/// posgate's settlement figures of a batch, from its approved, not reversed rows:
///
/// - point debits: points taken from cards — a consume's `usePoint`, the granted points a
///   cancel or refund takes back, a refund cancel's points taken again;
/// - point credits: points given to cards — a consume's `persentPoint`, the points a cancel
///   or refund gives back, the granted points a refund cancel gives back;
/// - ticket debits: ticket consumes and the vouchers of consumes, by face value; ticket
///   credits: the vouchers a cancel gives back (a ticket consume is undone only by its
///   reversal, which takes it out of the batch);
/// - `totalTransCount`: consumes, cancels, refunds, refund cancels, ticket consumes and card
///   activations; `cancelCount` cancels; `refundCount` refunds (also those later cancelled);
///   `cardActiveCount` card activations.
pub fn batch_totals(rows: &[TransRow]) -> SettleTotals {
    let mut t = SettleTotals::default();
    for row in rows {
        let taken_back = row.persent_point - row.supply_cash;
        match row.endpoint.as_str() {
            "consume" => {
                count(
                    &mut t.point_debit_count,
                    &mut t.point_debit_amount,
                    row.point_amount,
                );
                count(
                    &mut t.point_credit_count,
                    &mut t.point_credit_amount,
                    row.persent_point,
                );
                count(
                    &mut t.ticket_debit_count,
                    &mut t.ticket_debit_amount,
                    row.ticket_amount,
                );
            }
            "cancel" => {
                count(
                    &mut t.ticket_credit_count,
                    &mut t.ticket_credit_amount,
                    row.ticket_amount,
                );
                count(
                    &mut t.point_credit_count,
                    &mut t.point_credit_amount,
                    row.point_amount,
                );
                count(
                    &mut t.point_debit_count,
                    &mut t.point_debit_amount,
                    row.persent_point,
                );
                t.cancel_count += 1;
            }
            "refund" => {
                count(
                    &mut t.point_credit_count,
                    &mut t.point_credit_amount,
                    row.point_amount,
                );
                count(
                    &mut t.point_debit_count,
                    &mut t.point_debit_amount,
                    taken_back,
                );
                t.refund_count += 1;
            }
            "ticket_consume" => {
                count(
                    &mut t.ticket_debit_count,
                    &mut t.ticket_debit_amount,
                    row.ticket_amount,
                );
            }
            "card_active" => t.card_active_count += 1,
            "refund_cancel" => {
                count(
                    &mut t.point_debit_count,
                    &mut t.point_debit_amount,
                    row.point_amount,
                );
                count(
                    &mut t.point_credit_count,
                    &mut t.point_credit_amount,
                    row.persent_point,
                );
            }
            _ => continue,
        }
        t.total_trans_count += 1;
    }
    t
}

const HOUR_MS: i64 = 3_600_000;

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

/// Takes the tickets of a ticket consume and journals it, in one transaction.
async fn take_tickets(
    db: &dyn Db,
    mut row: TransRow,
    lines: &[(i64, String, i64)],
    merchant_id: i64,
) -> Result<JposAnswer, StoreError> {
    let Some(account) = row.account_id else {
        return insert_answered(db, row, JposStatus::InvalidCardNumber, None, |_| None).await;
    };
    let Some(face_total) = face_value(db, account, lines).await? else {
        return insert_answered(db, row, JposStatus::InsufficientFunds, None, |_| None).await;
    };
    row.ticket_amount = face_total;
    let advertisement = store_jpos::rules(db, merchant_id).await?.advertisement;
    insert_answered(db, row, JposStatus::Approved, Some(-1), |row| {
        Some(
            TicketConsumeReply {
                serial_no: serial(row),
                advertisement: (!advertisement.is_empty()).then_some(advertisement),
                trans_time: TransTime::from_unix_millis(row.trans_time_ms)?,
            }
            .to_json(),
        )
    })
    .await
}

/// Reverses a ticket consume (its tickets go back), in one transaction; a reversal before
/// its original leaves a tombstone that refuses the late original.
async fn reverse_tickets(
    db: &dyn Db,
    rev: TransRow,
    terminal_key: &str,
    fingerprint: &str,
) -> Result<JposAnswer, StoreError> {
    let original =
        store_jpos::find_trans(db, terminal_key, &rev.batch_no, &rev.trace_no, ROLE_REQUEST)
            .await?;
    let Some(original) = original else {
        let mut tomb = rev.clone();
        tomb.role = ROLE_REQUEST.to_string();
        tomb.status = STATUS_TOMBSTONE.to_string();
        store_jpos::insert_trans(db, &tomb, now_ms()).await?;
        return insert_answered(db, rev, JposStatus::OriginalNotFound, None, |_| None).await;
    };
    if original.fingerprint != fingerprint || original.endpoint != "ticket_consume" {
        return insert_answered(db, rev, JposStatus::OriginalNotFound, None, |_| None).await;
    }
    let approved = original.status == STATUS_DONE
        && original.response_code.as_deref() == Some("00")
        && original.voided == STANDING;
    // The original's tickets go back with the reversal's row (moved only if inserted).
    let mut rev = rev;
    rev.ticket_lines = original.ticket_lines.clone();
    rev.account_id = original.account_id;
    if approved {
        store_jpos::set_voided(db, original.id, REVERSED, now_ms()).await?;
    }
    let ok = StatusReply {
        status: JposStatus::Approved,
        trans_time: TransTime::from_unix_millis(rev.trans_time_ms),
    }
    .to_json();
    let moves = approved.then_some(1);
    insert_answered(db, rev, JposStatus::Approved, moves, move |_| Some(ok)).await
}

/// The ticket type that a consume's `vaucher` list draws: 代金券.
const VOUCHER_TYPE: &str = "03";

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
