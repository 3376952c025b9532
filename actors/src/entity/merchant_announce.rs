//! Payments announced on the merchant's DS50 speakers (the spec's broadcast, `transType`
//! 99, the amount in cents, the payment's journal id as `orderId`).
//!
//! The posting paths (MQTT consumption, jpos consume, DS50 sale, Pospal ticket) tell the
//! merchant actor of every payment they posted, fire-and-forget, after the ledger answered:
//! the payment's answer never waits for its announcement. The merchant actor, when its
//! `announce_payments` setting is on, claims the announcement in the store (one row per
//! journal id) and only the claimer publishes: a payment is announced at most once across
//! retries and replicas. An announcement whose publishing fails is not retried.

use super::merchant::MerchantActor;
use super::merchant_ds50::fan_out;
use super::registry::WeakRegistry;
use super::DevicePublisher;
use crate::ledger::{Asset, Operation, PostOutcome};
use crate::mailbox::Ask;
use crate::store::{announcements, now_ms, Store};
use actix::prelude::*;
use posgate_protocols::ds50::{Broadcast, BroadcastMode};
use posgate_protocols::money::Fen;
use std::sync::{Arc, OnceLock};

/// Where the merchant registry is put once it exists (see [`super::EntityDeps::merchants`]).
pub type MerchantSlot = Arc<OnceLock<WeakRegistry<MerchantActor>>>;

/// A payment was posted at the merchant: announce it if the merchant wants its payments
/// announced. Nobody waits for the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Announce {
    /// Journal id of the payment (the broadcast's `orderId`).
    pub transaction_id: i64,
    /// Amount paid, fen (the broadcast's `amount`, in cents).
    pub amount_fen: i64,
}

/// The `outcome` label values of `posgate_payment_announcements_total`.
pub const ANNOUNCE_OUTCOMES: [&str; 5] =
    ["announced", "duplicate", "no_device", "failed", "dropped"];

fn count(outcome: &'static str) {
    metrics::counter!("posgate_payment_announcements_total", "outcome" => outcome).increment(1);
}

/// Whether `op` is a payment in money: a debit drawing cash, subsidy or the offline purse
/// (not meal copies or points, which are not amounts in fen).
pub(crate) fn is_money_payment(op: &Operation) -> bool {
    matches!(op, Operation::Debit { sources, .. }
        if sources.iter().all(|a| matches!(a, Asset::Cash | Asset::Subsidy | Asset::Purse)))
}

/// Tells merchant `merchant_id`'s actor of `outcome` when it is a payment posted now (not a
/// refusal, not the replayed answer of an earlier request, not a reused key, not zero).
/// The caller has checked that the operation is a payment. Never waits, never fails.
pub(crate) fn announce_payment(merchants: &MerchantSlot, merchant_id: i64, outcome: &PostOutcome) {
    if !outcome.is_posted() || outcome.replayed || outcome.key_conflict {
        return;
    }
    if outcome.posted_amount <= 0 {
        return;
    }
    let Some(registry) = merchants.get().and_then(WeakRegistry::upgrade) else {
        return;
    };
    let announce = Announce {
        transaction_id: outcome.transaction_id,
        amount_fen: outcome.posted_amount,
    };
    // The receiver is dropped: the merchant actor answers nobody.
    if let Err(e) = registry.ask::<Announce, ()>(&merchant_id.to_string(), announce) {
        tracing::warn!(merchant = merchant_id, error = %e, "payment announcement dropped");
        count("dropped");
    }
}

/// Claims the announcement of `payment` and, when claimed, broadcasts it to the merchant's
/// active DS50 devices; returns the metric's outcome.
async fn announce(
    store: Store,
    publisher: Arc<dyn DevicePublisher>,
    merchant_id: i64,
    payment: Announce,
) -> &'static str {
    let Announce {
        transaction_id,
        amount_fen,
    } = payment;
    let order_id = transaction_id.to_string();
    let message = match Broadcast::new(None, Fen(amount_fen), BroadcastMode::AmountOnly, &order_id)
    {
        Ok(message) => message,
        Err(e) => {
            tracing::warn!(merchant = merchant_id, transaction_id, error = %e, "payment not announceable");
            return "failed";
        }
    };
    let claimed = store
        .transaction(move |db| {
            Box::pin(announcements::claim(
                db,
                transaction_id,
                merchant_id,
                amount_fen,
                now_ms(),
            ))
        })
        .await;
    match claimed {
        Ok(true) => {}
        Ok(false) => return "duplicate",
        Err(e) => {
            tracing::warn!(merchant = merchant_id, transaction_id, error = %e, "payment announcement not claimed");
            return "failed";
        }
    }
    match fan_out(store, publisher, merchant_id, None, message.encode()).await {
        Ok(published) if published.is_empty() => "no_device",
        Ok(_) => "announced",
        Err(e) => {
            tracing::warn!(merchant = merchant_id, transaction_id, error = %e, "payment announcement not published");
            "failed"
        }
    }
}

impl Handler<Ask<Announce, ()>> for MerchantActor {
    type Result = ();

    fn handle(&mut self, msg: Ask<Announce, ()>, ctx: &mut Context<Self>) {
        self.life.touch();
        let merchant_id = match self.state.get() {
            Ok(m) if m.announce_payments => m.id,
            _ => return,
        };
        let Some(publisher) = self.deps.publisher.get().cloned() else {
            tracing::debug!(
                merchant = merchant_id,
                "payment not announced: MQTT is disabled"
            );
            count("failed");
            return;
        };
        let store = self.deps.store.clone();
        // Waited on, so that the speakers announce the payments in the order they were posted.
        ctx.wait(
            announce(store, publisher, merchant_id, msg.query)
                .into_actor(self)
                .map(|outcome, _, _| count(outcome)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{LimitPolicy, VoidKind};

    fn debit(sources: Vec<Asset>) -> Operation {
        Operation::Debit {
            amount: 100,
            sources,
            discount: false,
            limits: LimitPolicy::None,
            overdraft: false,
            award_points: 0,
        }
    }

    #[test]
    fn money_debits_are_payments() {
        assert!(is_money_payment(&debit(vec![Asset::Subsidy, Asset::Cash])));
        assert!(is_money_payment(&debit(vec![Asset::Purse])));
        assert!(!is_money_payment(&debit(vec![Asset::Copies])));
        assert!(!is_money_payment(&debit(vec![Asset::Points])));
        let credit = Operation::Credit {
            asset: Asset::Cash,
            amount: 100,
        };
        assert!(!is_money_payment(&credit));
        let cancel = Operation::Void {
            original_key: "k".into(),
            kind: VoidKind::Cancel,
        };
        assert!(!is_money_payment(&cancel));
    }
}
