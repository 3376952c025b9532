//! The Pospal rules of a merchant actor: what each notification does to posgate's state, and
//! doing it so that a notification is answered 200 only once all of it is durable.
//!
//! [`plan`] is pure: it turns a verified notification into a [`PospalPlan`] (the member it
//! concerns, the ledger postings that mirror it, the document it advances, the balance Pospal
//! says the member has afterwards). The actor then runs the plan in three steps, all
//! idempotent, while the merchant's mailbox waits (so one merchant's notifications, and so
//! every stock flow's and order's, are handled one at a time in arrival order):
//!
//! 1. one transaction: is the business key already consumed? (then: duplicate, nothing
//!    changes); otherwise link the member account;
//! 2. the postings, each through the accounts actor under a key derived from the business
//!    key (a retry gets the first answer, never a second posting);
//! 3. one transaction: compare Pospal's balance with the ledger's, fold the document, store
//!    the event. The event row comes last: a crash before it makes Pospal's retry redo steps
//!    1 and 2 harmlessly.
//!
//! Pospal is the system of record for its members' money: a ticket has already been paid
//! when it is pushed. Mirrored debits may therefore take the balance below zero (overdraft),
//! and any difference with Pospal's `afterUsedMoney` is recorded for the operator rather
//! than refused.

use super::merchant::MerchantActor;
use super::EntityError;
use crate::ledger::{Asset, LedgerError, LimitPolicy, Operation, PostRequest, VoidKind};
use crate::mailbox::Ask;
use crate::store::pospal::{self as store_pospal, DocumentKind, Event, Mismatch};
use crate::store::{catalog, now_ms, StoreError};
use actix::prelude::*;
use chrono::NaiveDate;
use posgate_protocols::pospal::{
    business_key, fingerprint, reversed_ticket_key, Body, Cmd, Notification, OrderState,
    StockFlowCmd, Ticket,
};
use rust_decimal::Decimal;

/// A verified Pospal notification for its merchant's actor.
#[derive(Clone, Debug)]
pub struct PospalNotify {
    /// The decoded notification (signature already checked).
    pub notification: Notification,
    /// What it does ([`plan`], made by the adapter so that a notification that cannot be
    /// mirrored is refused before it is routed).
    pub plan: PospalPlan,
    /// The gateway's business date, for postings whose notification carries no date.
    pub today: NaiveDate,
}

/// How a notification was consumed (both are answered 200).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PospalDelivery {
    /// First delivery: its effects are now durable.
    Accepted,
    /// Its business key was consumed before: nothing changed.
    Duplicate,
}

/// Reply to a [`PospalNotify`]; an error is answered with a status Pospal retries.
pub type PospalNotifyReply = Result<PospalDelivery, EntityError>;

/// The member a notification concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberRef {
    /// `customerUid`.
    pub customer_uid: i64,
    /// Member number (`customer.new`).
    pub number: Option<String>,
    /// Member name (`customer.new`).
    pub name: Option<String>,
}

/// One ledger posting to the member's account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Posting {
    /// Idempotency key (the business key, plus `:gift` or `:points` for the second and third
    /// posting of one event).
    pub key: String,
    /// What to post.
    pub op: Operation,
}

/// The document a notification advances.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentStep {
    /// Stock flow or online order.
    pub kind: DocumentKind,
    /// `stockFlowId` or `orderNo`.
    pub id: String,
    /// The status this notification reports.
    pub status: String,
    /// How far along that status is (see [`fold_document`](store_pospal::fold_document)).
    pub stage: i64,
}

/// What a notification does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PospalPlan {
    /// `pospal:{appId}:{cmd}:{identity}`.
    pub business_key: String,
    /// What the event is about (ticket `sn`, `customerUid`, coupon `code`, document id...).
    pub subject: String,
    /// The member, for member notifications (a ticket with `customerUid` 0 has none).
    pub member: Option<MemberRef>,
    /// Postings to the member's account, in order.
    pub postings: Vec<Posting>,
    /// Pospal's balance after the event (`afterUsedMoney` of the last balance log), fen.
    pub pospal_balance_after: Option<i64>,
    /// The stock flow or order it advances.
    pub document: Option<DocumentStep>,
    /// The date the postings count on (from the notification, when it carries one).
    pub business_date: Option<NaiveDate>,
}

/// Why a notification cannot be mirrored exactly (answered as malformed).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// Points with more than two decimals (posgate keeps points in hundredths).
    #[error("{0}: points must have at most 2 decimals")]
    PointsPrecision(&'static str),
    /// A sum that does not fit.
    #[error("{0}: sum out of range")]
    Overflow(&'static str),
}

/// Points as the ledger keeps them: hundredths of a point, exact.
pub fn points_hundredths(points: Decimal, field: &'static str) -> Result<i64, PlanError> {
    let scaled = points
        .checked_mul(Decimal::ONE_HUNDRED)
        .ok_or(PlanError::Overflow(field))?;
    if !scaled.fract().is_zero() {
        return Err(PlanError::PointsPrecision(field));
    }
    i64::try_from(scaled).map_err(|_| PlanError::Overflow(field))
}

/// A debit that mirrors money Pospal already took: no limits, overdraft allowed.
fn mirrored_debit(asset: Asset, amount: i64) -> Operation {
    Operation::Debit {
        amount,
        sources: vec![asset],
        discount: false,
        limits: LimitPolicy::None,
        overdraft: true,
        award_points: 0,
    }
}

/// The posting that mirrors a net movement: a debit when positive, a credit when negative.
fn net_posting(key: String, asset: Asset, net_taken: i64) -> Option<Posting> {
    let op = match net_taken {
        0 => return None,
        n if n > 0 => mirrored_debit(asset, n),
        n => Operation::Credit {
            asset,
            amount: n.checked_neg()?,
        },
    };
    Some(Posting { key, op })
}

fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()
}

fn member(customer_uid: Option<i64>) -> Option<MemberRef> {
    customer_uid
        .filter(|uid| *uid != 0)
        .map(|customer_uid| MemberRef {
            customer_uid,
            number: None,
            name: None,
        })
}

/// How far along a stock flow is after `cmd`: created 1, edited 2, confirmed or refused 3
/// (for transfers: shipped out or refused 2, received or refused at the destination 3).
pub fn stock_flow_stage(cmd: StockFlowCmd) -> i64 {
    use StockFlowCmd as S;
    match cmd {
        S::CreateIn | S::CreateNormalReturn | S::CreateReturnToSupplier | S::CreateTransfer => 1,
        S::EditIn | S::RefuseTransferOut | S::ConfirmTransferOut => 2,
        S::ConfirmIn | S::RefuseIn | S::RefuseTransferIn | S::ConfirmTransferIn => 3,
    }
}

/// How far along an online order is in `state`, and the state's name. Cancelled, finished
/// and received are final.
pub fn order_stage(state: OrderState) -> (i64, &'static str) {
    match state {
        OrderState::Created => (0, "created"),
        OrderState::Synced => (1, "synced"),
        OrderState::Accepted => (2, "accepted"),
        OrderState::Shipped => (3, "shipped"),
        OrderState::Delivering => (3, "delivering"),
        OrderState::Received => (4, "received"),
        OrderState::Finished => (5, "finished"),
        OrderState::Cancelled => (5, "cancelled"),
    }
}

/// What every ticket plan has: the `sn`, the member, Pospal's balance after the last log,
/// and the date of the last log.
fn describe_ticket(plan: &mut PospalPlan, ticket: &Ticket) {
    plan.subject = ticket.sn.clone();
    plan.member = member(ticket.customer_uid);
    let last = ticket.balance_logs.last();
    plan.pospal_balance_after = last.and_then(|l| l.after_used_money.map(|f| f.get()));
    plan.business_date = last
        .and_then(|l| l.datetime.as_deref())
        .and_then(parse_date);
}

/// Turns a notification into what it does (pure).
pub fn plan(n: &Notification) -> Result<PospalPlan, PlanError> {
    let key = business_key(n);
    let mut plan = PospalPlan {
        business_key: key.clone(),
        subject: String::new(),
        member: None,
        postings: Vec::new(),
        pospal_balance_after: None,
        document: None,
        business_date: None,
    };
    match (&n.envelope.cmd, &n.body) {
        (Cmd::TicketReverse, Body::Ticket(ticket)) => {
            describe_ticket(&mut plan, ticket);
            if let (Some(_), Some(original)) = (&plan.member, reversed_ticket_key(n)) {
                if !ticket.balance_logs.is_empty() {
                    plan.postings.push(Posting {
                        key: key.clone(),
                        op: Operation::Void {
                            original_key: original.clone(),
                            kind: VoidKind::Reversal,
                        },
                    });
                }
                if !ticket.point_logs.is_empty() {
                    plan.postings.push(Posting {
                        key: format!("{key}:points"),
                        op: Operation::Void {
                            original_key: format!("{original}:points"),
                            kind: VoidKind::Reversal,
                        },
                    });
                }
            }
        }
        (_, Body::Ticket(ticket)) => {
            describe_ticket(&mut plan, ticket);
            if plan.member.is_some() {
                let mut cash = 0i64;
                for log in &ticket.balance_logs {
                    cash = cash
                        .checked_add(log.used_money.get())
                        .ok_or(PlanError::Overflow("usedMoney"))?;
                }
                let mut points = 0i64;
                for log in &ticket.point_logs {
                    points = points
                        .checked_add(points_hundredths(log.points, "gaintPoint")?)
                        .ok_or(PlanError::Overflow("gaintPoint"))?;
                }
                plan.postings
                    .extend(net_posting(key.clone(), Asset::Cash, cash));
                // Points gained are credited: the net taken is the negated gain.
                plan.postings
                    .extend(net_posting(format!("{key}:points"), Asset::Points, -points));
            }
        }
        (_, Body::CustomerNew(customer)) => {
            plan.subject = customer.customer_uid.to_string();
            plan.member = Some(MemberRef {
                customer_uid: customer.customer_uid,
                number: customer.number.clone(),
                name: customer.name.clone(),
            });
        }
        (_, Body::Recharge(recharge)) => {
            plan.subject = recharge.customer_uid.to_string();
            plan.member = member(Some(recharge.customer_uid));
            plan.business_date = parse_date(&recharge.datetime);
            // Pospal keeps one balance (通用金额) that recharges and gifts both go to; the
            // member's cash mirrors it.
            let credits = [
                (key.clone(), Asset::Cash, recharge.recharge_money.get()),
                (
                    format!("{key}:gift"),
                    Asset::Cash,
                    recharge.gift_money.get(),
                ),
                (
                    format!("{key}:points"),
                    Asset::Points,
                    match recharge.gift_points {
                        Some(points) => points_hundredths(points, "giftPoint")?,
                        None => 0,
                    },
                ),
            ];
            for (key, asset, amount) in credits {
                if amount > 0 {
                    plan.postings.push(Posting {
                        key,
                        op: Operation::Credit { asset, amount },
                    });
                }
            }
        }
        (_, Body::CouponUse(coupon)) => plan.subject = coupon.code.clone(),
        (_, Body::StockTaking { stock_taking_id }) => plan.subject = stock_taking_id.to_string(),
        (_, Body::ProductEdit { barcodes }) => plan.subject = barcodes.join(","),
        (_, Body::ProductRequest { product_request_id }) => {
            plan.subject = product_request_id.to_string()
        }
        (Cmd::StockFlow(cmd), Body::StockFlow { stock_flow_id }) => {
            plan.subject = stock_flow_id.to_string();
            plan.document = Some(DocumentStep {
                kind: DocumentKind::StockFlow,
                id: stock_flow_id.to_string(),
                status: n.envelope.cmd.as_str().to_string(),
                stage: stock_flow_stage(*cmd),
            });
        }
        (_, Body::StockFlow { stock_flow_id }) => plan.subject = stock_flow_id.to_string(),
        (_, Body::ProductOrder(order)) => {
            plan.subject = order.order_no.clone();
            let (stage, status) = order_stage(order.state);
            plan.document = Some(DocumentStep {
                kind: DocumentKind::ProductOrder,
                id: order.order_no.clone(),
                status: status.to_string(),
                stage,
            });
        }
        (_, Body::Unknown) => {}
    }
    Ok(plan)
}

/// What step 1 found.
enum Prepared {
    /// Consumed before.
    Duplicate,
    /// New; the member's account, when the plan has a member.
    New(Option<i64>),
}

/// Runs a plan for `merchant_id` (steps 1-3 of the module comment).
async fn execute(
    deps: super::EntityDeps,
    merchant_id: i64,
    notification: Notification,
    plan: PospalPlan,
    today: NaiveDate,
) -> PospalNotifyReply {
    let envelope = &notification.envelope;
    let body_md5 = fingerprint(&envelope.body_raw);
    let lookup_key = plan.business_key.clone();
    let member = plan.member.clone();
    let lookup_md5 = body_md5.clone();
    let prepared = deps
        .store
        .transaction(move |db| {
            Box::pin(async move {
                if let Some(seen) = store_pospal::find_event(db, &lookup_key).await? {
                    if seen.body_md5 != lookup_md5 {
                        // Same business key, different content: see docs/protocols.md (the
                        // ticket `sn` risk). Redelivery cannot fix it, so it is answered 200.
                        metrics::counter!("posgate_pospal_key_conflicts_total").increment(1);
                        tracing::warn!(business_key = %lookup_key, "Pospal notification reuses a consumed business key with different content; not applied");
                    }
                    return Ok(Prepared::Duplicate);
                }
                let account = match &member {
                    Some(m) => Some(
                        store_pospal::ensure_member(
                            db,
                            merchant_id,
                            m.customer_uid,
                            m.number.as_deref(),
                            m.name.as_deref(),
                            now_ms(),
                        )
                        .await?
                        .id,
                    ),
                    None => None,
                };
                Ok(Prepared::New(account))
            })
        })
        .await?;
    let account = match prepared {
        Prepared::Duplicate => return Ok(PospalDelivery::Duplicate),
        Prepared::New(account) => account,
    };
    let mut outcome = if !plan.postings.is_empty() {
        "posted"
    } else if envelope.cmd == Cmd::CustomerNew {
        "member_linked"
    } else {
        "recorded"
    }
    .to_string();
    if let Some(account_id) = account {
        for posting in &plan.postings {
            let request = PostRequest {
                idempotency_key: posting.key.clone(),
                account_id,
                terminal: None,
                business_date: plan.business_date.unwrap_or(today),
                op: posting.op.clone(),
                device_fields: Default::default(),
            };
            let result = deps
                .accounts
                .submit(request)
                .map_err(EntityError::from)?
                .await
                .unwrap_or(Err(LedgerError::ShuttingDown))?;
            if result.key_conflict {
                metrics::counter!("posgate_pospal_key_conflicts_total").increment(1);
                tracing::warn!(business_key = %plan.business_key, "Pospal posting reuses a ledger key with different content; not applied");
                outcome = "key_conflict".into();
            } else if let Some(refusal) = result.refusal {
                // Tombstones and already-voided originals are expected (a reverse before
                // its ticket, or redelivered); anything else is worth a look.
                outcome = format!("refused:{}", refusal.as_str());
                tracing::warn!(business_key = %plan.business_key, refusal = refusal.as_str(), "Pospal posting refused by the ledger");
            }
        }
    }
    let event = Event {
        id: 0,
        business_key: plan.business_key.clone(),
        app_id: envelope.app_id.clone(),
        merchant_id,
        cmd: envelope.cmd.as_str().to_string(),
        subject: plan.subject.clone(),
        body_md5,
        body: envelope.body_raw.clone(),
        born_timestamp_ms: envelope.born_timestamp_ms,
        outcome,
        received_at_ms: 0,
    };
    let expected = plan.pospal_balance_after;
    let customer_uid = plan.member.as_ref().map(|m| m.customer_uid.to_string());
    let document = plan.document.clone();
    deps.store
        .transaction(move |db| {
            Box::pin(async move {
                let now = now_ms();
                if let (Some(account_id), Some(expected), Some(customer_uid)) =
                    (account, expected, customer_uid)
                {
                    let actual = catalog::balances(db, account_id)
                        .await?
                        .map(|b| b.cash)
                        .unwrap_or_default();
                    if actual != expected {
                        metrics::counter!("posgate_pospal_balance_mismatches_total").increment(1);
                        tracing::warn!(business_key = %event.business_key, account_id, "Pospal balance differs from the ledger's");
                        let mismatch = Mismatch {
                            id: 0,
                            merchant_id,
                            business_key: event.business_key.clone(),
                            customer_uid,
                            account_id,
                            pospal_balance: expected,
                            posgate_balance: actual,
                            recorded_at_ms: now,
                        };
                        store_pospal::record_mismatch(db, &mismatch, now).await?;
                    }
                }
                if let Some(doc) = &document {
                    store_pospal::fold_document(
                        db,
                        &event.app_id,
                        doc.kind,
                        &doc.id,
                        merchant_id,
                        &doc.status,
                        doc.stage,
                        event.born_timestamp_ms,
                        now,
                    )
                    .await?;
                }
                store_pospal::insert_event(db, &event, now).await?;
                Ok::<_, StoreError>(())
            })
        })
        .await?;
    Ok(PospalDelivery::Accepted)
}

impl Handler<Ask<PospalNotify, PospalNotifyReply>> for MerchantActor {
    type Result = ();

    fn handle(&mut self, msg: Ask<PospalNotify, PospalNotifyReply>, ctx: &mut Context<Self>) {
        self.life.touch();
        let Ask { query, reply } = msg;
        let merchant_id = match self.active_merchant() {
            Ok(id) => id,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        let deps = self.deps.clone();
        // The whole notification runs while this mailbox waits: one merchant's
        // notifications (and so each stock flow's and order's) are handled in order.
        ctx.wait(
            execute(
                deps,
                merchant_id,
                query.notification,
                query.plan,
                query.today,
            )
            .into_actor(self)
            .map(move |result, _, _| {
                let _ = reply.send(result);
            }),
        );
    }
}
