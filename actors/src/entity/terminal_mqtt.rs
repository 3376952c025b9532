//! The MQTT POS protocol rules of a terminal actor (consumption machines, family
//! `mqtt_pos`): consumption requests become ledger postings, balance queries read the
//! account, and every answer is encoded here, in the spec's own vocabulary (`xfCode`).
//!
//! Identity: a consumption is idempotent on `mqtt:{deviceId}:{posNum}` and its content (the
//! device's own fields are part of the fingerprint, so a reused `posNum` with another
//! `payTime` or amount is answered `DuplicateMismatch`). A reversal (mode 10) names its
//! original by its own `posNum` and is keyed `...:{posNum}:reversal`; a cancel (mode 31)
//! carries its own `posNum` (keyed `...:{posNum}:cancel`) and undoes the device's last
//! online amount consumption, if `payMoney` matches what it charged and it is recent enough
//! (`mqtt.cancel_window_seconds`). The business date of the daily limits is the server's
//! (`ledger.utc_offset_minutes`), never the device's.
//!
//! Top-up (mode 2) and load (mode 12, 圈存) are capabilities an operator grants a terminal,
//! with ceilings; offline records (51/52) that cannot be booked go to the offline exception
//! queue and are acknowledged, so that no served meal is ever lost.

use super::merchant_announce::announce_payment;
use super::terminal::{TerminalActor, TerminalState};
use super::{EntityError, ProtocolSettings};
use crate::ledger::{
    Asset, DeviceFields, LedgerError, LimitPolicy, Operation, PostOutcome, PostRequest, Refusal,
    VoidKind,
};
use crate::mailbox::Ask;
use crate::model::{TerminalFamily, TerminalStatus, Transaction};
use crate::store::capabilities::{self, Capability};
use crate::store::exceptions::{self, NewException};
use crate::store::{catalog, Store};
use actix::prelude::*;
use posgate_protocols::mqtt_pos::{
    BalanceReply, Balances as WireBalances, ConsumeDetail, ConsumeReply, ConsumeRequest,
    DeviceMessage, XfCode,
};
use posgate_protocols::Fen;
use tokio::sync::oneshot;

/// A decoded message from a consumption machine, for its terminal actor.
#[derive(Clone, Debug)]
pub struct MqttDeviceMessage(pub DeviceMessage);

/// The payload to publish back on `{prefix}/pos/{deviceId}/api`, if the message has an
/// answer.
pub type MqttReply = Option<Vec<u8>>;

/// The answer a message gets when it cannot be processed at all (unknown terminal, busy),
/// in the shape its kind expects; `None` for kinds that are not answered.
pub fn refusal_reply(message: &DeviceMessage, code: XfCode) -> MqttReply {
    match message {
        DeviceMessage::Consume(_) => {
            Some(ConsumeReply::refused(code, WireBalances::default()).encode())
        }
        DeviceMessage::BalanceQuery(_) => Some(BalanceReply::failed(code).encode()),
        _ => None,
    }
}

/// The `xfCode` of a ledger refusal. `copies` tells whether the debit drew copies.
pub fn xf_code(refusal: Refusal, copies: bool) -> XfCode {
    match refusal {
        Refusal::AccountNotFound => XfCode::UnknownUser,
        Refusal::AccountFrozen => XfCode::AccountFrozen,
        Refusal::Insufficient if copies => XfCode::InsufficientCopies,
        Refusal::Insufficient => XfCode::InsufficientBalance,
        Refusal::OverSingleLimit => XfCode::OverSingleLimit,
        Refusal::OverDailyAmount => XfCode::OverDailyAmount,
        Refusal::OverDailyCount => XfCode::OverDailyCount,
        Refusal::OriginalNotFound | Refusal::AlreadyVoided | Refusal::VoidedBeforeArrival => {
            XfCode::OriginalNotFound
        }
        Refusal::NotVoidable | Refusal::RefundExceedsOriginal => XfCode::NotCancellable,
        Refusal::InvalidRequest => XfCode::AmountOutOfRange,
    }
}

fn entity_code(e: &EntityError) -> XfCode {
    match e {
        EntityError::NotFound | EntityError::Disabled | EntityError::Foreign => {
            XfCode::UnknownTerminal
        }
        EntityError::Busy | EntityError::ShuttingDown | EntityError::Store(_) => XfCode::BusyRetry,
    }
}

fn wire_balances(outcome: &PostOutcome) -> WireBalances {
    WireBalances {
        subsidy: Fen(outcome.balances.subsidy),
        cash: Fen(outcome.balances.cash),
        copies: outcome.balances.copies,
    }
}

/// The consumption reply of a ledger outcome. `dstMoney` is money actually received (fen):
/// what a money operation posted, 0 for copies (the copies were paid for when loaded;
/// `cpAfter` shows what is left).
pub fn consume_reply(outcome: &PostOutcome, copies: bool) -> ConsumeReply {
    if outcome.key_conflict {
        return ConsumeReply::refused(XfCode::DuplicateMismatch, wire_balances(outcome));
    }
    let received = if copies { 0 } else { outcome.posted_amount };
    match outcome.refusal {
        None => ConsumeReply::success(Fen(received), wire_balances(outcome)),
        Some(r) => ConsumeReply::refused(xf_code(r, copies), wire_balances(outcome)),
    }
}

/// The device's own fields of a consumption, by wire name: recorded on the journal for the
/// auditor (`payTime` and `imgPath` tie a charge to its photo, the offline pricing lets an
/// offline record be checked) and part of the request's fingerprint, so that a `posNum`
/// reused with another `payTime` or amount is a conflict, never a replay.
pub fn device_fields(req: &ConsumeRequest) -> DeviceFields {
    let mut fields = DeviceFields::new();
    let mut put = |name: &str, value: String| {
        fields.insert(name.to_string(), value);
    };
    put("mode", req.mode().code().to_string());
    put("payMoney", req.pay_money.get().to_string());
    put("payTime", req.pay_time.to_string());
    put("idenType", req.iden_type.clone());
    if let Some(img) = &req.img_path {
        put("imgPath", img.as_str().to_string());
    }
    let (copies, pricing) = match req.detail {
        ConsumeDetail::OnlineCopies { copies } => (Some(copies), None),
        ConsumeDetail::OfflineCopies { copies, pricing } => (Some(copies), pricing),
        ConsumeDetail::OfflineAmount(pricing) => (None, Some(pricing)),
        _ => (None, None),
    };
    if let Some(copies) = copies {
        put("payCopies", copies.to_string());
    }
    if let Some(pricing) = pricing {
        put("offlineDz", pricing.discount.to_string());
        put("offlineMoney", pricing.amount.get().to_string());
    }
    fields
}

/// The ledger key of a consumption request: `mqtt:{device}:{posNum}`, with a `:reversal`
/// or `:cancel` suffix for modes 10 and 31.
pub fn request_key(device: &str, req: &ConsumeRequest) -> String {
    let key = format!("mqtt:{device}:{}", req.pos_num);
    match req.detail {
        ConsumeDetail::Reversal => format!("{key}:reversal"),
        ConsumeDetail::Cancel => format!("{key}:cancel"),
        _ => key,
    }
}

/// What an offline amount record draws, in order: the offline purse (圈存, money loaded for
/// exactly this) first, then the configured money order.
pub fn offline_sources(debit_order: &[Asset]) -> Vec<Asset> {
    std::iter::once(Asset::Purse)
        .chain(debit_order.iter().copied().filter(|a| *a != Asset::Purse))
        .collect()
}

/// The ledger operation of a consumption. `settings.mqtt_debit_order` is the draw order of
/// money (subsidy then cash by default); offline amount records draw the offline purse
/// (圈存) first, the money loaded for exactly that. A reversal (mode 10) names the original
/// by its own `posNum`. A cancel (mode 31) names no original on the wire: its original is
/// left empty here and set by the terminal actor once it found the device's last
/// consumption (`TerminalActor::cancel`).
fn operation(device: &str, req: &ConsumeRequest, settings: &ProtocolSettings) -> Operation {
    let amount = req.pay_money.get();
    let debit = |amount, sources: Vec<Asset>, discount, limits, overdraft| Operation::Debit {
        amount,
        sources,
        discount,
        limits,
        overdraft,
        award_points: 0,
    };
    let money = settings.mqtt_debit_order.clone();
    match req.detail {
        ConsumeDetail::OnlineAmount => debit(amount, money, true, LimitPolicy::Online, false),
        ConsumeDetail::OnlineCopies { copies } => debit(
            i64::from(copies),
            vec![Asset::Copies],
            false,
            LimitPolicy::Online,
            false,
        ),
        ConsumeDetail::OfflineAmount(pricing) => debit(
            pricing.amount.get(),
            offline_sources(&money),
            false,
            LimitPolicy::Offline,
            true,
        ),
        ConsumeDetail::OfflineCopies { copies, .. } => debit(
            i64::from(copies),
            vec![Asset::Copies],
            false,
            LimitPolicy::Offline,
            true,
        ),
        ConsumeDetail::Reversal => Operation::Void {
            original_key: format!("mqtt:{device}:{}", req.pos_num),
            kind: VoidKind::Reversal,
        },
        ConsumeDetail::Cancel => Operation::Void {
            original_key: String::new(),
            kind: VoidKind::Cancel,
        },
        ConsumeDetail::Load => Operation::Transfer {
            from: Asset::Cash,
            to: Asset::Purse,
            amount,
        },
        ConsumeDetail::OnlineRecharge => Operation::Credit {
            asset: Asset::Cash,
            amount,
        },
    }
}

/// The ledger request of a consumption for account `account_id`, on the server's business
/// day (`settings.business_date()`: a device's clock never moves the day of a limit; its
/// `payTime` is recorded, not trusted).
pub fn posting(
    device: &str,
    req: &ConsumeRequest,
    account_id: i64,
    settings: &ProtocolSettings,
) -> PostRequest {
    PostRequest {
        idempotency_key: request_key(device, req),
        account_id,
        terminal: Some(format!("mqtt:{device}")),
        business_date: settings.business_date(),
        op: operation(device, req, settings),
        device_fields: device_fields(req),
    }
}

fn draws_copies(req: &ConsumeRequest) -> bool {
    matches!(
        req.detail,
        ConsumeDetail::OnlineCopies { .. } | ConsumeDetail::OfflineCopies { .. }
    )
}

impl TerminalActor {
    /// The terminal, if it may take MQTT POS traffic now.
    pub(super) fn mqtt_terminal(&self) -> Result<TerminalState, EntityError> {
        let state = self.state.get()?;
        if state.terminal.family != TerminalFamily::MqttPos {
            return Err(EntityError::NotFound);
        }
        if state.terminal.status != TerminalStatus::Active || !state.merchant_active {
            return Err(EntityError::Disabled);
        }
        Ok(state.clone())
    }

    /// Resolves `user_id` to an account of `merchant_id` (cached: accounts never change
    /// merchant or user id), then runs `then`. The lookup blocks this actor's mailbox, so
    /// messages keep their order.
    fn with_account(
        &mut self,
        ctx: &mut Context<Self>,
        merchant_id: i64,
        user_id: String,
        then: impl FnOnce(&mut Self, Result<Option<i64>, EntityError>, &mut Context<Self>) + 'static,
    ) {
        if let Some(&id) = self.users.get(&user_id) {
            return then(self, Ok(Some(id)), ctx);
        }
        let store = self.deps.store.clone();
        let lookup = user_id.clone();
        ctx.wait(
            async move {
                store
                    .transaction(move |db| {
                        Box::pin(
                            async move { catalog::find_account(db, merchant_id, &lookup).await },
                        )
                    })
                    .await
            }
            .into_actor(self)
            .map(move |found, act, ctx| {
                let found = found.map(|a| a.map(|a| a.id)).map_err(EntityError::from);
                if let Ok(Some(id)) = found {
                    act.users.insert(user_id, id);
                }
                then(act, found, ctx);
            }),
        );
    }

    fn consume(
        &mut self,
        ctx: &mut Context<Self>,
        state: TerminalState,
        req: ConsumeRequest,
        reply: oneshot::Sender<MqttReply>,
    ) {
        if let Some(reason) = offline_inconsistency(&req) {
            return self.hold_offline(&state, &req, reason, WireBalances::default(), reply);
        }
        let user = req.user_id.as_str().to_string();
        self.with_account(
            ctx,
            state.terminal.merchant_id,
            user,
            move |act, account, ctx| match account {
                Ok(Some(id)) => act.route(ctx, state, req, id, reply),
                Ok(None) if is_offline(&req) => {
                    act.hold_offline(&state, &req, "unknown_user", WireBalances::default(), reply)
                }
                Ok(None) => answer(reply, XfCode::UnknownUser),
                Err(e) => answer(reply, entity_code(&e)),
            },
        );
    }

    /// Sends a consumption of a known account down the path its mode takes.
    fn route(
        &mut self,
        ctx: &mut Context<Self>,
        state: TerminalState,
        req: ConsumeRequest,
        account: i64,
        reply: oneshot::Sender<MqttReply>,
    ) {
        let settings = self.deps.settings.clone();
        let request = posting(&state.terminal.code, &req, account, &settings);
        match req.detail {
            ConsumeDetail::Cancel => self.cancel(ctx, req, request, reply),
            ConsumeDetail::OnlineRecharge => {
                self.granted(ctx, &state, Capability::TopUp, request, reply)
            }
            ConsumeDetail::Load => self.granted(ctx, &state, Capability::Load, request, reply),
            ConsumeDetail::OfflineAmount(_) | ConsumeDetail::OfflineCopies { .. } => {
                self.submit_offline(state, req, request, reply)
            }
            _ => self.submit(request, draws_copies(&req), reply),
        }
    }

    /// Modes 2 and 12 create or move money: only a terminal granted `capability` may, within
    /// its ceilings. A retry of a request already journaled replays whatever the grant says
    /// now (the first answer stands).
    fn granted(
        &mut self,
        ctx: &mut Context<Self>,
        state: &TerminalState,
        capability: Capability,
        request: PostRequest,
        reply: oneshot::Sender<MqttReply>,
    ) {
        let grant = state.grant(capability).copied();
        let amount = operation_amount(&request.op);
        let store = self.deps.store.clone();
        let terminal = self.life.key().to_string();
        let (date, key) = (request.business_date, request.idempotency_key.clone());
        ctx.wait(
            async move {
                store
                    .transaction(move |db| {
                        Box::pin(async move {
                            capabilities::day_usage(db, &terminal, capability, date, &key).await
                        })
                    })
                    .await
            }
            .into_actor(self)
            .map(move |usage, act, _| match (usage, grant) {
                (Err(e), _) => answer(reply, entity_code(&EntityError::from(e))),
                (Ok((true, _)), _) => act.submit(request, false, reply),
                (Ok(_), None) => {
                    refused_capability(capability, "not_granted");
                    answer(reply, XfCode::NotPermitted)
                }
                (Ok((false, day_total)), Some(grant))
                    if !grant.allows_amount(amount) || !grant.allows_day(day_total, amount) =>
                {
                    refused_capability(capability, "over_ceiling");
                    answer(reply, XfCode::OverTerminalCeiling)
                }
                (Ok(_), Some(_)) => act.submit(request, false, reply),
            }),
        );
    }

    /// Mode 31 undoes the device's last consumption (the spec: `payMoney` is "the actual
    /// amount of the last transaction"): an online amount consumption of the same account,
    /// charged exactly `payMoney`, within `mqtt.cancel_window_seconds`. Copies, recharges,
    /// loads and offline records are not cancellable. A retried cancel replays.
    fn cancel(
        &mut self,
        ctx: &mut Context<Self>,
        req: ConsumeRequest,
        mut request: PostRequest,
        reply: oneshot::Sender<MqttReply>,
    ) {
        let store = self.deps.store.clone();
        let key = request.idempotency_key.clone();
        let terminal = self.life.key().to_string();
        let window_ms = i64::try_from(self.deps.settings.mqtt_cancel_window_seconds)
            .unwrap_or(i64::MAX)
            .saturating_mul(1000);
        ctx.wait(
            async move {
                store
                    .transaction(move |db| {
                        Box::pin(async move {
                            if let Some(done) = catalog::find_transaction(db, &key).await? {
                                return Ok(Ok(done.original_key.unwrap_or_default()));
                            }
                            let last = catalog::last_transaction_of_terminal(db, &terminal).await?;
                            Ok(cancellable(last, &req, request.account_id, window_ms))
                        })
                    })
                    .await
            }
            .into_actor(self)
            .map(move |target, act, _| match target {
                Ok(Ok(original_key)) => {
                    request.op = Operation::Void {
                        original_key,
                        kind: VoidKind::Cancel,
                    };
                    act.submit(request, false, reply);
                }
                Ok(Err(code)) => answer(reply, code),
                Err(e) => answer(reply, entity_code(&EntityError::from(e))),
            }),
        );
    }

    /// Hands `request` to the accounts shard now (arrival order) and answers when it has
    /// committed.
    /// A posted online amount consumption is announced on the merchant's speakers.
    fn submit(&mut self, request: PostRequest, copies: bool, reply: oneshot::Sender<MqttReply>) {
        let announce = self
            .payment_merchant(&request)
            .map(|merchant| (self.deps.merchants.clone(), merchant));
        self.submit_then(request, move |outcome| async move {
            let out = match outcome {
                Ok(outcome) => {
                    if let Some((merchants, merchant)) = &announce {
                        announce_payment(merchants, *merchant, &outcome);
                    }
                    consume_reply(&outcome, copies)
                }
                Err(e) => ConsumeReply::refused(entity_code(&e), WireBalances::default()),
            };
            let _ = reply.send(Some(out.encode()));
        });
    }

    /// Submits `request` now and runs `then` with its outcome once committed.
    fn submit_then<F, Fut>(&mut self, request: PostRequest, then: F)
    where
        F: FnOnce(Result<PostOutcome, EntityError>) -> Fut + 'static,
        Fut: std::future::Future<Output = ()> + 'static,
    {
        match self.deps.accounts.submit(request) {
            Err(e) => {
                actix::spawn(then(Err(EntityError::from(e))));
            }
            Ok(rx) => {
                actix::spawn(async move {
                    let outcome = rx.await.unwrap_or(Err(LedgerError::ShuttingDown));
                    then(outcome.map_err(EntityError::from)).await;
                });
            }
        }
    }

    /// Offline records (51/52): the device already served the meal, so a record the ledger
    /// refuses (frozen account...) or that reuses a `posNum` with other content is held in
    /// the offline exception queue and acknowledged; only an infrastructure failure is
    /// answered with a retry code.
    fn submit_offline(
        &mut self,
        state: TerminalState,
        req: ConsumeRequest,
        request: PostRequest,
        reply: oneshot::Sender<MqttReply>,
    ) {
        let copies = draws_copies(&req);
        let store = self.deps.store.clone();
        self.submit_then(request, move |outcome| async move {
            let reason = match &outcome {
                Ok(o) if o.key_conflict => "pos_num_reused",
                Ok(o) => match o.refusal {
                    None => {
                        let _ = reply.send(Some(consume_reply(o, copies).encode()));
                        return;
                    }
                    Some(r) => r.as_str(),
                },
                Err(e) => {
                    let out = ConsumeReply::refused(entity_code(e), WireBalances::default());
                    let _ = reply.send(Some(out.encode()));
                    return;
                }
            };
            let balances = outcome.as_ref().map(wire_balances).unwrap_or_default();
            let out = hold(&store, &state, &req, reason, balances).await;
            let _ = reply.send(Some(out.encode()));
        });
    }

    /// Puts an offline record in the exception queue and acknowledges it.
    fn hold_offline(
        &mut self,
        state: &TerminalState,
        req: &ConsumeRequest,
        reason: &'static str,
        balances: WireBalances,
        reply: oneshot::Sender<MqttReply>,
    ) {
        let (store, state, req) = (self.deps.store.clone(), state.clone(), req.clone());
        actix::spawn(async move {
            let out = hold(&store, &state, &req, reason, balances).await;
            let _ = reply.send(Some(out.encode()));
        });
    }

    fn balance(
        &mut self,
        ctx: &mut Context<Self>,
        state: TerminalState,
        user_id: String,
        reply: oneshot::Sender<MqttReply>,
    ) {
        self.with_account(
            ctx,
            state.terminal.merchant_id,
            user_id,
            move |act, account, ctx| {
                let account = match account {
                    Ok(Some(id)) => id,
                    Ok(None) => {
                        let _ =
                            reply.send(Some(BalanceReply::failed(XfCode::UnknownUser).encode()));
                        return;
                    }
                    Err(e) => {
                        let _ = reply.send(Some(BalanceReply::failed(entity_code(&e)).encode()));
                        return;
                    }
                };
                let store = act.deps.store.clone();
                ctx.spawn(
                    async move {
                        store
                            .transaction(move |db| {
                                Box::pin(async move {
                                    let account = catalog::get_account(db, account).await?;
                                    let balances =
                                        catalog::balances(db, account.as_ref().map_or(0, |a| a.id))
                                            .await?;
                                    Ok((account, balances))
                                })
                            })
                            .await
                    }
                    .into_actor(act)
                    .map(move |read, _, _| {
                        let out = match read {
                            Ok((Some(account), Some(b))) => {
                                let code = if account.status == crate::model::AccountStatus::Active
                                {
                                    XfCode::Success
                                } else {
                                    XfCode::AccountFrozen
                                };
                                BalanceReply::found(
                                    code,
                                    WireBalances {
                                        subsidy: Fen(b.subsidy),
                                        cash: Fen(b.cash),
                                        copies: b.copies,
                                    },
                                )
                            }
                            Ok(_) => BalanceReply::failed(XfCode::UnknownUser),
                            Err(_) => BalanceReply::failed(XfCode::BusyRetry),
                        };
                        let _ = reply.send(Some(out.encode()));
                    }),
                );
            },
        );
    }
}

/// Answers a consumption with a refusal that posted nothing.
fn answer(reply: oneshot::Sender<MqttReply>, code: XfCode) {
    let _ = reply.send(Some(
        ConsumeReply::refused(code, WireBalances::default()).encode(),
    ));
}

fn is_offline(req: &ConsumeRequest) -> bool {
    matches!(
        req.detail,
        ConsumeDetail::OfflineAmount(_) | ConsumeDetail::OfflineCopies { .. }
    )
}

/// Why an offline record cannot be booked as sent, if its amounts contradict each other:
/// the device's discounted amount (`offlineMoney`) above the price (`payMoney`).
fn offline_inconsistency(req: &ConsumeRequest) -> Option<&'static str> {
    let pricing = match req.detail {
        ConsumeDetail::OfflineAmount(pricing) => Some(pricing),
        ConsumeDetail::OfflineCopies { pricing, .. } => pricing,
        _ => None,
    }?;
    (pricing.amount.get() > req.pay_money.get()).then_some("offline_money_above_pay_money")
}

/// The amount a top-up or load asks for.
fn operation_amount(op: &Operation) -> i64 {
    match op {
        Operation::Debit { amount, .. }
        | Operation::Credit { amount, .. }
        | Operation::Transfer { amount, .. }
        | Operation::Refund { amount, .. } => *amount,
        Operation::Void { .. } => 0,
    }
}

fn refused_capability(capability: Capability, why: &'static str) {
    metrics::counter!("posgate_mqtt_capability_refusals_total",
        "capability" => capability.as_str(), "reason" => why)
    .increment(1);
}

/// The key of the transaction a mode 31 cancel undoes, or the code that refuses it: the
/// terminal's last transaction must be an online amount consumption (mode 1) of `account`,
/// not voided, charged exactly `payMoney`, at most `window_ms` ago.
fn cancellable(
    last: Option<Transaction>,
    req: &ConsumeRequest,
    account: i64,
    window_ms: i64,
) -> Result<String, XfCode> {
    let last = last.ok_or(XfCode::OriginalNotFound)?;
    let mode = last.device_fields.get("mode").map(String::as_str);
    if mode != Some("1") || last.kind != "debit" {
        return Err(XfCode::NotCancellable);
    }
    if last.account_id != Some(account)
        || last.status != "posted"
        || last.posted_amount != req.pay_money.get()
    {
        return Err(XfCode::OriginalNotFound);
    }
    if crate::store::now_ms().saturating_sub(last.created_at_ms) > window_ms {
        return Err(XfCode::NotCancellable);
    }
    Ok(last.idempotency_key)
}

/// Stores an offline record in the exception queue and builds its acknowledgement
/// (`xfCode` 0, `dstMoney` 0: kept for an operator, nothing booked); a retry code when the
/// store cannot take it, so that the device sends it again.
async fn hold(
    store: &Store,
    state: &TerminalState,
    req: &ConsumeRequest,
    reason: &'static str,
    balances: WireBalances,
) -> ConsumeReply {
    let mut raw = device_fields(req);
    raw.insert("userId".into(), req.user_id.as_str().to_string());
    raw.insert("posNum".into(), req.pos_num.to_string());
    let amount = match req.detail {
        ConsumeDetail::OfflineAmount(pricing) => pricing.amount.get(),
        ConsumeDetail::OfflineCopies { copies, .. } => i64::from(copies),
        _ => req.pay_money.get(),
    };
    let new = NewException {
        terminal: state.terminal.actor_key(),
        pos_num: i64::try_from(req.pos_num).unwrap_or(i64::MAX),
        merchant_id: state.terminal.merchant_id,
        user_id: req.user_id.as_str().to_string(),
        mode: i64::from(req.mode().code()),
        amount,
        reason: reason.to_string(),
        raw: serde_json::to_string(&raw).unwrap_or_default(),
    };
    let now = crate::store::now_ms();
    let stored = store
        .transaction(move |db| Box::pin(async move { exceptions::record(db, &new, now).await }))
        .await;
    match stored {
        Ok((row, fresh)) => {
            if fresh {
                metrics::counter!("posgate_offline_exceptions_total", "reason" => reason)
                    .increment(1);
                tracing::warn!(exception = row.id, terminal = %row.terminal, pos_num = row.pos_num,
                    reason, "offline record held for an operator");
            }
            ConsumeReply::success(Fen(0), balances)
        }
        Err(e) => {
            tracing::error!(error = %e, reason, "could not store an offline record exception");
            ConsumeReply::refused(XfCode::BusyRetry, WireBalances::default())
        }
    }
}

impl Handler<Ask<MqttDeviceMessage, MqttReply>> for TerminalActor {
    type Result = ();

    fn handle(&mut self, msg: Ask<MqttDeviceMessage, MqttReply>, ctx: &mut Context<Self>) {
        self.life.touch();
        let Ask { query, reply } = msg;
        let message = query.0;
        let state = match self.mqtt_terminal() {
            Ok(state) => state,
            Err(e) => {
                let reason = match e {
                    EntityError::NotFound => "unknown",
                    EntityError::Disabled | EntityError::Foreign => "disabled",
                    EntityError::Busy | EntityError::ShuttingDown | EntityError::Store(_) => {
                        "unavailable"
                    }
                };
                metrics::counter!("posgate_mqtt_refused_devices_total", "reason" => reason)
                    .increment(1);
                tracing::warn!(terminal = %self.life.key(), reason, "MQTT message from a terminal that cannot be served");
                let _ = reply.send(refusal_reply(&message, entity_code(&e)));
                self.stop_if_failed(ctx);
                return;
            }
        };
        match message {
            DeviceMessage::Consume(req) => {
                self.seen(ctx, None);
                self.consume(ctx, state, req, reply);
            }
            DeviceMessage::BalanceQuery(q) => {
                self.seen(ctx, None);
                self.balance(ctx, state, q.user_id.as_str().to_string(), reply);
            }
            DeviceMessage::Online(notice) => {
                let report = serde_json::to_string(&notice.attributes).unwrap_or_default();
                self.seen(ctx, Some(report));
                let _ = reply.send(None);
            }
            DeviceMessage::Ack(ack) => {
                self.seen(ctx, None);
                self.acknowledge(ctx, state, ack);
                let _ = reply.send(None);
            }
            DeviceMessage::Notice(_) | DeviceMessage::Photo(_) | DeviceMessage::MenuRecord(_) => {
                self.seen(ctx, None);
                self.upload(ctx, state, message, reply);
            }
        }
    }
}
