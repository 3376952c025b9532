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
//!    changes); otherwise link the member account, and for a `ticket.reverse` find the
//!    settlement of its `sn` it undoes (the latest one born before it) and that settlement's
//!    postings; for a `ticket.new`, find a reverse of it that came first;
//! 2. the postings, each through the accounts actor under a key derived from the business
//!    key (a retry gets the first answer, never a second posting);
//! 3. one transaction: compare Pospal's cash and points with the ledger's, fold the
//!    document, store the event. The event row comes last: a crash before it makes
//!    Pospal's retry redo steps 1 and 2 harmlessly.
//!
//! Pospal is the system of record for its members' money and points: a ticket has already
//! been paid when it is pushed. Mirrored debits may therefore take the balance below zero
//! (overdraft); a reverse that undoes a credit the member has meanwhile spent is booked
//! below zero too (a ledger reversal always completes, flagged `void_overdraft`: outcome
//! `posted:below_zero`, counted in `posgate_pospal_below_zero_total`); and any
//! difference with Pospal's `afterUsedMoney` / `afterGaintPoint` is recorded for the
//! operator rather than refused.

use super::merchant::MerchantActor;
use super::merchant_announce::{announce_payment, is_money_payment};
use super::EntityError;
use crate::ledger::{
    Asset, Flags, LedgerError, LimitPolicy, Operation, PostOutcome, PostRequest, Refusal, VoidKind,
};
use crate::mailbox::Ask;
use crate::store::pospal::{self as store_pospal, DocumentKind, Event, Mismatch, TicketDay};
use crate::store::{catalog, now_ms, StoreError};
use actix::prelude::*;
use chrono::NaiveDate;
use posgate_protocols::pospal::{
    business_key, fingerprint, reversed_ticket_prefix, reversing_ticket_prefix, Body, Cmd,
    Notification, OrderState, Recharge, StockFlowCmd, Ticket,
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
    /// Pospal's points after the event (`afterGaintPoint` of the last point log),
    /// hundredths.
    pub pospal_points_after: Option<i64>,
    /// A `ticket.reverse`: the key prefix of the settlements it may undo (resolved against
    /// the consumed events when it runs).
    pub reverses: Option<String>,
    /// A `ticket.new`: the key prefix of the reverses that may have come before it.
    pub reversed_by: Option<String>,
    /// A ticket event's figures for the merchant's ticket totals of its business day
    /// (merchant and date filled in when it is stored).
    pub ticket_day: Option<TicketDay>,
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
/// and received are final. A state the spec does not list (`state:{n}`) is kept at stage 0:
/// recorded on the document, it never overrides a known later state.
pub fn order_stage(state: OrderState) -> (i64, String) {
    let (stage, name) = match state {
        OrderState::Created => (0, "created"),
        OrderState::Synced => (1, "synced"),
        OrderState::Accepted => (2, "accepted"),
        OrderState::Shipped => (3, "shipped"),
        OrderState::Delivering => (3, "delivering"),
        OrderState::Received => (4, "received"),
        OrderState::Finished => (5, "finished"),
        OrderState::Cancelled => (5, "cancelled"),
        OrderState::Other(number) => return (0, format!("state:{number}")),
    };
    (stage, name.to_string())
}

/// What every ticket plan has: the `sn`, the member, Pospal's cash and points after the
/// last logs, and the date of the last log.
fn describe_ticket(plan: &mut PospalPlan, ticket: &Ticket) -> Result<(), PlanError> {
    plan.subject = ticket.sn.clone();
    plan.member = member(ticket.customer_uid);
    let last = ticket.balance_logs.last();
    plan.pospal_balance_after = last.and_then(|l| l.after_used_money.map(|f| f.get()));
    plan.pospal_points_after = match ticket.point_logs.last().and_then(|l| l.after_points) {
        Some(points) => Some(points_hundredths(points, "afterGaintPoint")?),
        None => None,
    };
    plan.business_date = last
        .and_then(|l| l.datetime.as_deref())
        .or_else(|| ticket.point_logs.last()?.datetime.as_deref())
        .and_then(parse_date);
    Ok(())
}

/// A ticket's net balance used (fen) and net points gained (hundredths).
fn ticket_sums(ticket: &Ticket) -> Result<(i64, i64), PlanError> {
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
    Ok((cash, points))
}

/// The postings that mirror a ticket's logs: the net cash, the net points.
fn ticket_postings(key: &str, ticket: &Ticket) -> Result<Vec<Posting>, PlanError> {
    let (cash, points) = ticket_sums(ticket)?;
    // Points gained are credited: the net taken is the negated gain.
    Ok(net_posting(key.to_string(), Asset::Cash, cash)
        .into_iter()
        .chain(net_posting(format!("{key}:points"), Asset::Points, -points))
        .collect())
}

/// The credits that mirror a recharge. Pospal keeps one balance (通用金额) that recharges
/// and gifts both go to; the member's cash mirrors it.
fn recharge_postings(key: &str, recharge: &Recharge) -> Result<Vec<Posting>, PlanError> {
    let credits = [
        (key.to_string(), Asset::Cash, recharge.recharge_money.get()),
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
    Ok(credits
        .into_iter()
        .filter(|(_, _, amount)| *amount > 0)
        .map(|(key, asset, amount)| Posting {
            key,
            op: Operation::Credit { asset, amount },
        })
        .collect())
}

/// A `ticket.new`'s figures for its day's totals.
fn ticket_day(ticket: &Ticket) -> Result<TicketDay, PlanError> {
    use posgate_protocols::pospal::TicketType;
    let (cash, points) = ticket_sums(ticket)?;
    let kind = ticket.ticket_type;
    Ok(TicketDay {
        tickets: 1,
        sales: i64::from(kind == Some(TicketType::Sale)),
        refunds: i64::from(kind == Some(TicketType::Refund)),
        other_tickets: i64::from(!matches!(kind, Some(TicketType::Sale | TicketType::Refund))),
        member_tickets: i64::from(ticket.customer_uid.is_some()),
        member_cash_used: cash,
        points_gained: points,
        total_amount: ticket.total_amount.map_or(0, |f| f.get()),
        ..TicketDay::default()
    })
}

/// The stock flow or online order a notification advances, if any.
fn document_step(n: &Notification) -> Option<DocumentStep> {
    match (&n.envelope.cmd, &n.body) {
        (Cmd::StockFlow(cmd), Body::StockFlow { stock_flow_id }) => Some(DocumentStep {
            kind: DocumentKind::StockFlow,
            id: stock_flow_id.to_string(),
            status: n.envelope.cmd.as_str().to_string(),
            stage: stock_flow_stage(*cmd),
        }),
        (_, Body::ProductOrder(order)) => {
            let (stage, status) = order_stage(order.state);
            Some(DocumentStep {
                kind: DocumentKind::ProductOrder,
                id: order.order_no.clone(),
                status,
                stage,
            })
        }
        _ => None,
    }
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
        pospal_points_after: None,
        reverses: None,
        reversed_by: None,
        ticket_day: None,
        document: None,
        business_date: None,
    };
    match (&n.envelope.cmd, &n.body) {
        (Cmd::TicketReverse, Body::Ticket(ticket)) => {
            // What it undoes is found when it runs (the settlement born last before it),
            // whatever its own logs say.
            describe_ticket(&mut plan, ticket)?;
            plan.reverses = reversed_ticket_prefix(n);
            plan.ticket_day = Some(TicketDay {
                reverses: 1,
                ..TicketDay::default()
            });
        }
        (_, Body::Ticket(ticket)) => {
            describe_ticket(&mut plan, ticket)?;
            plan.reversed_by = reversing_ticket_prefix(n);
            plan.ticket_day = Some(ticket_day(ticket)?);
            if plan.member.is_some() {
                plan.postings = ticket_postings(&key, ticket)?;
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
            plan.postings = recharge_postings(&key, recharge)?;
        }
        (_, Body::CouponUse(coupon)) => plan.subject = coupon.code.clone(),
        (_, Body::StockTaking { stock_taking_id }) => plan.subject = stock_taking_id.to_string(),
        (_, Body::ProductEdit { barcodes }) => plan.subject = barcodes.join(","),
        (_, Body::ProductRequest { product_request_id }) => {
            plan.subject = product_request_id.to_string()
        }
        (_, Body::StockFlow { stock_flow_id }) => {
            plan.subject = stock_flow_id.to_string();
            plan.document = document_step(n);
        }
        (_, Body::ProductOrder(order)) => {
            plan.subject = order.order_no.clone();
            plan.document = document_step(n);
        }
        (_, Body::Unknown) => {}
    }
    Ok(plan)
}

/// What step 1 found for a new notification.
struct Work {
    /// The account the postings go to.
    account: Option<i64>,
    /// The postings, in order.
    postings: Vec<Posting>,
    /// The outcome unless a posting says otherwise.
    outcome: String,
    /// A reverse that came before this ticket and now has it (its outcome changes).
    matched_reverse: Option<String>,
}

/// What step 1 found.
enum Prepared {
    /// Consumed before.
    Duplicate,
    /// New.
    New(Work),
}

/// The default outcome of a new notification's plan.
fn plain_outcome(cmd: &Cmd, plan: &PospalPlan) -> &'static str {
    if !plan.postings.is_empty() {
        "posted"
    } else if *cmd == Cmd::CustomerNew {
        "member_linked"
    } else {
        "recorded"
    }
}

/// For a reverse: the settlement it undoes (the latest one born before it; a redelivered
/// reverse finds the same) and the voids of its postings that were booked.
async fn resolve_reverse(
    db: &dyn crate::store::Db,
    merchant_id: i64,
    prefix: &str,
    key: &str,
    born_ms: i64,
    work: &mut Work,
) -> Result<(), StoreError> {
    let settlements = store_pospal::events_with_prefix(db, merchant_id, prefix).await?;
    let Some(original) = settlements
        .iter()
        .rev()
        .find(|e| e.born_timestamp_ms <= born_ms)
    else {
        // The ticket has not arrived: it is matched when it does.
        work.outcome = "awaiting_original".into();
        return Ok(());
    };
    for suffix in ["", ":points"] {
        let original_key = format!("{}{suffix}", original.business_key);
        let Some(tx) = catalog::find_transaction(db, &original_key).await? else {
            continue;
        };
        if tx.status != "posted" {
            continue;
        }
        work.account = work.account.or(tx.account_id);
        work.postings.push(Posting {
            key: format!("{key}{suffix}"),
            op: Operation::Void {
                original_key,
                kind: VoidKind::Reversal,
            },
        });
    }
    work.outcome = if work.postings.is_empty() {
        "recorded"
    } else {
        "posted"
    }
    .into();
    Ok(())
}

/// For a ticket: a reverse of its `sn` that came first (born after it, still waiting);
/// then the ticket is not booked.
async fn match_early_reverse(
    db: &dyn crate::store::Db,
    merchant_id: i64,
    prefix: &str,
    born_ms: i64,
    work: &mut Work,
) -> Result<(), StoreError> {
    let reverses = store_pospal::events_with_prefix(db, merchant_id, prefix).await?;
    if let Some(reverse) = reverses
        .iter()
        .find(|e| e.outcome == "awaiting_original" && e.born_timestamp_ms >= born_ms)
    {
        work.postings.clear();
        work.outcome = format!("refused:{}", Refusal::VoidedBeforeArrival.as_str());
        work.matched_reverse = Some(reverse.business_key.clone());
    }
    Ok(())
}

/// Step 1 (one transaction): duplicate? the member; what a reverse undoes.
async fn prepare(
    deps: &super::EntityDeps,
    merchant_id: i64,
    notification: &Notification,
    plan: &PospalPlan,
) -> Result<Prepared, StoreError> {
    let envelope = &notification.envelope;
    let body_md5 = fingerprint(&envelope.body_raw);
    let born_ms = envelope.born_timestamp_ms;
    let outcome = plain_outcome(&envelope.cmd, plan).to_string();
    let plan = plan.clone();
    deps.store
        .transaction(move |db| {
            Box::pin(async move {
                let key = plan.business_key.as_str();
                if let Some(seen) = store_pospal::find_event(db, key).await? {
                    if seen.body_md5 != body_md5 {
                        // Same business key, different content: see docs/protocols.md.
                        // Redelivery cannot fix it, so it is answered 200.
                        metrics::counter!("posgate_pospal_key_conflicts_total").increment(1);
                        tracing::warn!(business_key = %key, "Pospal notification reuses a consumed business key with different content; not applied");
                    }
                    return Ok(Prepared::Duplicate);
                }
                let account = match &plan.member {
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
                let mut work = Work {
                    account,
                    postings: plan.postings.clone(),
                    outcome,
                    matched_reverse: None,
                };
                if let Some(prefix) = &plan.reverses {
                    resolve_reverse(db, merchant_id, prefix, key, born_ms, &mut work).await?;
                }
                if let Some(prefix) = &plan.reversed_by {
                    match_early_reverse(db, merchant_id, prefix, born_ms, &mut work).await?;
                }
                Ok(Prepared::New(work))
            })
        })
        .await
}

/// Submits one posting to the accounts actor.
async fn submit(
    deps: &super::EntityDeps,
    account_id: i64,
    business_date: NaiveDate,
    posting: &Posting,
) -> Result<PostOutcome, EntityError> {
    let request = PostRequest {
        idempotency_key: posting.key.clone(),
        account_id,
        terminal: None,
        business_date,
        op: posting.op.clone(),
        device_fields: Default::default(),
    };
    Ok(deps
        .accounts
        .submit(request)
        .map_err(EntityError::from)?
        .await
        .unwrap_or(Err(LedgerError::ShuttingDown))?)
}

/// Step 2: the postings; returns the outcome when a posting changes it.
async fn post_all(
    deps: &super::EntityDeps,
    merchant_id: i64,
    business_key: &str,
    account_id: i64,
    business_date: NaiveDate,
    postings: &[Posting],
) -> Result<Option<String>, EntityError> {
    let mut outcome = None;
    for posting in postings {
        let result = submit(deps, account_id, business_date, posting).await?;
        if is_money_payment(&posting.op) {
            announce_payment(&deps.merchants, merchant_id, &result);
        }
        if result.key_conflict {
            metrics::counter!("posgate_pospal_key_conflicts_total").increment(1);
            tracing::warn!(
                business_key,
                "Pospal posting reuses a ledger key with different content; not applied"
            );
            outcome = Some("key_conflict".to_string());
            continue;
        }
        match result.refusal {
            None if result.flags.has(Flags::VOID_OVERDRAFT) => {
                // Pospal has undone a credit the member had spent: the mirror follows it
                // below zero, flagged.
                metrics::counter!("posgate_pospal_below_zero_total").increment(1);
                tracing::warn!(business_key, "Pospal reverse booked below zero");
                outcome = Some("posted:below_zero".to_string());
            }
            None => {}
            Some(refusal) => {
                outcome = Some(format!("refused:{}", refusal.as_str()));
                tracing::warn!(
                    business_key,
                    refusal = refusal.as_str(),
                    "Pospal posting refused by the ledger"
                );
            }
        }
    }
    Ok(outcome)
}

/// Compares Pospal's figure for one asset with the ledger's; records a difference.
async fn compare(
    db: &dyn crate::store::Db,
    mut mismatch: Mismatch,
    asset: Asset,
    actual: i64,
) -> Result<(), StoreError> {
    if actual == mismatch.pospal_balance {
        return Ok(());
    }
    metrics::counter!("posgate_pospal_balance_mismatches_total", "asset" => asset.as_str())
        .increment(1);
    tracing::warn!(business_key = %mismatch.business_key, account_id = mismatch.account_id, asset = asset.as_str(), "Pospal balance differs from the ledger's");
    if asset == Asset::Points {
        mismatch.business_key.push_str(":points");
    }
    mismatch.asset = asset.as_str().to_string();
    mismatch.posgate_balance = actual;
    let now = mismatch.recorded_at_ms;
    store_pospal::record_mismatch(db, &mismatch, now).await
}

/// Step 3's reconciliation: cash against `afterUsedMoney`, points against
/// `afterGaintPoint`.
async fn reconcile(
    db: &dyn crate::store::Db,
    merchant_id: i64,
    plan: &PospalPlan,
    account_id: i64,
    now: i64,
) -> Result<(), StoreError> {
    let balances = catalog::balances(db, account_id).await?.unwrap_or_default();
    let customer_uid = plan
        .member
        .as_ref()
        .map(|m| m.customer_uid.to_string())
        .unwrap_or_default();
    let figures = [
        (Asset::Cash, plan.pospal_balance_after, balances.cash),
        (Asset::Points, plan.pospal_points_after, balances.points),
    ];
    for (asset, expected, actual) in figures {
        let Some(expected) = expected else { continue };
        let mismatch = Mismatch {
            id: 0,
            merchant_id,
            business_key: plan.business_key.clone(),
            customer_uid: customer_uid.clone(),
            account_id,
            asset: String::new(),
            pospal_balance: expected,
            posgate_balance: 0,
            recorded_at_ms: now,
            status: "open".into(),
            resolution: String::new(),
            note: String::new(),
            resolved_by: String::new(),
            resolved_at_ms: None,
            adjustment_key: None,
        };
        compare(db, mismatch, asset, actual).await?;
    }
    Ok(())
}

/// Step 3 (one transaction): reconcile, fold the document, store the event (last) and,
/// once stored, count a ticket in its day's totals.
async fn finish(
    deps: &super::EntityDeps,
    merchant_id: i64,
    plan: PospalPlan,
    work: Work,
    event: Event,
    date: NaiveDate,
) -> Result<(), StoreError> {
    deps.store
        .transaction(move |db| {
            Box::pin(async move {
                let now = now_ms();
                if let Some(account_id) = work.account {
                    reconcile(db, merchant_id, &plan, account_id, now).await?;
                }
                if let Some(doc) = &plan.document {
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
                if let Some(reverse) = &work.matched_reverse {
                    store_pospal::set_event_outcome(db, reverse, "voided_late").await?;
                }
                let stored = store_pospal::insert_event(db, &event, now).await?;
                if let (true, Some(day)) = (stored, plan.ticket_day) {
                    let day = TicketDay {
                        merchant_id,
                        business_date: date.to_string(),
                        ..day
                    };
                    store_pospal::add_ticket_day(db, &day).await?;
                }
                Ok(())
            })
        })
        .await
}

/// Runs a plan for `merchant_id` (steps 1-3 of the module comment).
async fn execute(
    deps: super::EntityDeps,
    merchant_id: i64,
    notification: Notification,
    plan: PospalPlan,
    today: NaiveDate,
) -> PospalNotifyReply {
    let mut work = match prepare(&deps, merchant_id, &notification, &plan).await? {
        Prepared::Duplicate => return Ok(PospalDelivery::Duplicate),
        Prepared::New(work) => work,
    };
    let date = plan.business_date.unwrap_or(today);
    if let Some(account_id) = work.account {
        let postings = std::mem::take(&mut work.postings);
        if let Some(outcome) = post_all(
            &deps,
            merchant_id,
            &plan.business_key,
            account_id,
            date,
            &postings,
        )
        .await?
        {
            work.outcome = outcome;
        }
    }
    let envelope = notification.envelope;
    let event = Event {
        id: 0,
        business_key: plan.business_key.clone(),
        app_id: envelope.app_id,
        merchant_id,
        cmd: envelope.cmd.as_str().to_string(),
        subject: plan.subject.clone(),
        body_md5: fingerprint(&envelope.body_raw),
        body: envelope.body_raw,
        born_timestamp_ms: envelope.born_timestamp_ms,
        outcome: work.outcome.clone(),
        received_at_ms: 0,
    };
    finish(&deps, merchant_id, plan, work, event, date).await?;
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
