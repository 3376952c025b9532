//! The MQTT POS protocol rules of a terminal actor (consumption machines, family
//! `mqtt_pos`): consumption requests become ledger postings, balance queries read the
//! account, and every answer is encoded here, in the spec's own vocabulary (`xfCode`).
//!
//! Identity: a consumption is idempotent on `mqtt:{deviceId}:{posNum}`. A reversal (mode
//! 10) and a cancel (mode 31) name their original by its `posNum` and are keyed
//! `...:{posNum}:reversal` / `...:{posNum}:cancel`, so a retried reversal or cancel replays
//! too. The business date of the daily limits is the date of the device's `payTime`.

use super::cached::Loaded;
use super::terminal::{TerminalActor, TerminalState};
use super::EntityError;
use crate::ledger::{
    Asset, LedgerError, LimitPolicy, Operation, PostOutcome, PostRequest, Refusal, VoidKind,
};
use crate::mailbox::Ask;
use crate::model::{TerminalFamily, TerminalStatus};
use crate::store::catalog;
use actix::prelude::*;
use chrono::NaiveDate;
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

/// The consumption reply of a ledger outcome.
pub fn consume_reply(outcome: &PostOutcome, copies: bool) -> ConsumeReply {
    if outcome.key_conflict {
        return ConsumeReply::refused(XfCode::DuplicateMismatch, wire_balances(outcome));
    }
    match outcome.refusal {
        None => ConsumeReply::success(Fen(outcome.posted_amount), wire_balances(outcome)),
        Some(r) => ConsumeReply::refused(xf_code(r, copies), wire_balances(outcome)),
    }
}

/// The ledger request of a consumption, for account `account_id`; `money_sources` is the
/// configured draw order (subsidy then cash by default).
pub fn posting(
    device: &str,
    req: &ConsumeRequest,
    account_id: i64,
    money_sources: &[Asset],
) -> PostRequest {
    let key = format!("mqtt:{device}:{}", req.pos_num);
    let date = req.pay_time.date();
    let business_date = NaiveDate::from_ymd_opt(
        i32::from(date.year()),
        u32::from(date.month()),
        u32::from(date.day()),
    )
    .unwrap_or_default();
    let amount = req.pay_money.get();
    let debit = |amount, sources: Vec<Asset>, discount, limits, overdraft| Operation::Debit {
        amount,
        sources,
        discount,
        limits,
        overdraft,
        award_points: 0,
    };
    let (idempotency_key, op) = match req.detail {
        ConsumeDetail::OnlineAmount => (
            key,
            debit(
                amount,
                money_sources.to_vec(),
                true,
                LimitPolicy::Online,
                false,
            ),
        ),
        ConsumeDetail::OnlineCopies { copies } => (
            key,
            debit(
                i64::from(copies),
                vec![Asset::Copies],
                false,
                LimitPolicy::Online,
                false,
            ),
        ),
        ConsumeDetail::OfflineAmount(pricing) => (
            key,
            debit(
                pricing.amount.get(),
                money_sources.to_vec(),
                false,
                LimitPolicy::Offline,
                true,
            ),
        ),
        ConsumeDetail::OfflineCopies { copies, .. } => (
            key,
            debit(
                i64::from(copies),
                vec![Asset::Copies],
                false,
                LimitPolicy::Offline,
                true,
            ),
        ),
        ConsumeDetail::Reversal => (
            format!("{key}:reversal"),
            Operation::Void {
                original_key: key,
                kind: VoidKind::Reversal,
            },
        ),
        ConsumeDetail::Cancel => (
            format!("{key}:cancel"),
            Operation::Void {
                original_key: key,
                kind: VoidKind::Cancel,
            },
        ),
        ConsumeDetail::Load => (
            key,
            Operation::Transfer {
                from: Asset::Cash,
                to: Asset::Purse,
                amount,
            },
        ),
        ConsumeDetail::OnlineRecharge => (
            key,
            Operation::Credit {
                asset: Asset::Cash,
                amount,
            },
        ),
    };
    PostRequest {
        idempotency_key,
        account_id,
        terminal: Some(format!("mqtt:{device}")),
        business_date,
        op,
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
        let user = req.user_id.as_str().to_string();
        self.with_account(
            ctx,
            state.terminal.merchant_id,
            user,
            move |act, account, ctx| {
                let account = match account {
                    Ok(Some(id)) => id,
                    Ok(None) => {
                        let out =
                            ConsumeReply::refused(XfCode::UnknownUser, WireBalances::default());
                        let _ = reply.send(Some(out.encode()));
                        return;
                    }
                    Err(e) => {
                        let out = ConsumeReply::refused(entity_code(&e), WireBalances::default());
                        let _ = reply.send(Some(out.encode()));
                        return;
                    }
                };
                let sources = act.deps.settings.mqtt_debit_order.clone();
                let request = posting(&state.terminal.code, &req, account, &sources);
                if matches!(req.detail, ConsumeDetail::Cancel) {
                    act.cancel(ctx, request, reply);
                } else {
                    act.submit(request, draws_copies(&req), reply);
                }
            },
        );
    }

    /// Mode 31: copies consumptions are not cancellable (spec); everything else goes to
    /// the ledger as a cancel.
    fn cancel(
        &mut self,
        ctx: &mut Context<Self>,
        request: PostRequest,
        reply: oneshot::Sender<MqttReply>,
    ) {
        let Operation::Void { original_key, .. } = &request.op else {
            return self.submit(request, false, reply);
        };
        let store = self.deps.store.clone();
        let key = original_key.clone();
        ctx.wait(
            async move {
                store
                    .transaction(move |db| {
                        Box::pin(async move { catalog::find_transaction(db, &key).await })
                    })
                    .await
            }
            .into_actor(self)
            .map(move |original, act, _| match original {
                Ok(Some(t)) if t.asset == Some(Asset::Copies) => {
                    let out =
                        ConsumeReply::refused(XfCode::NotCancellable, WireBalances::default());
                    let _ = reply.send(Some(out.encode()));
                }
                Ok(_) => act.submit(request, false, reply),
                Err(e) => {
                    let code = entity_code(&EntityError::from(e));
                    let _ = reply.send(Some(
                        ConsumeReply::refused(code, WireBalances::default()).encode(),
                    ));
                }
            }),
        );
    }

    /// Hands `request` to the accounts shard now (arrival order) and answers when it has
    /// committed.
    fn submit(&mut self, request: PostRequest, copies: bool, reply: oneshot::Sender<MqttReply>) {
        match self.deps.accounts.submit(request) {
            Err(e) => {
                let code = entity_code(&EntityError::from(e));
                let _ = reply.send(Some(
                    ConsumeReply::refused(code, WireBalances::default()).encode(),
                ));
            }
            Ok(rx) => {
                actix::spawn(async move {
                    let out = match rx.await.unwrap_or(Err(LedgerError::ShuttingDown)) {
                        Ok(outcome) => consume_reply(&outcome, copies),
                        Err(e) => ConsumeReply::refused(
                            entity_code(&EntityError::from(e)),
                            WireBalances::default(),
                        ),
                    };
                    let _ = reply.send(Some(out.encode()));
                });
            }
        }
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

    /// Records that the device was seen (every message counts; at most one store write per
    /// `SEEN_WRITE_INTERVAL`).
    fn seen(&mut self, ctx: &mut Context<Self>, report: Option<String>) {
        const SEEN_WRITE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);
        let due = self
            .seen_written
            .is_none_or(|t| t.elapsed() >= SEEN_WRITE_INTERVAL);
        if !due && report.is_none() {
            return;
        }
        let Loaded::Found(state) = &self.state else {
            return;
        };
        self.seen_written = Some(std::time::Instant::now());
        let id = state.terminal.id;
        let store = self.deps.store.clone();
        ctx.spawn(
            async move {
                let now = crate::store::now_ms();
                if let Err(e) = store
                    .transaction(move |db| {
                        Box::pin(async move {
                            catalog::touch_terminal(db, id, now, report.as_deref()).await
                        })
                    })
                    .await
                {
                    tracing::warn!(terminal = id, error = %e, "could not record last seen");
                }
            }
            .into_actor(self),
        );
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
