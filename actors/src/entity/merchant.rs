//! MerchantActor: one per merchant (key: the merchant id). Caches the merchant, checks that
//! the accounts posted to are its own, and forwards postings that come from the merchant
//! rather than a terminal (admin credits and debits; Pospal and KTV events later).

use super::cached::{cached_entity, Loaded};
use super::{Entity, EntityDeps, EntityError, Lifecycle};
use crate::ledger::{LedgerError, PostOutcome, PostRequest};
use crate::mailbox::Ask;
use crate::model::{Merchant, MerchantStatus};
use crate::store::{catalog, StoreError};
use actix::prelude::*;
use std::collections::HashMap;

/// Post on behalf of the merchant.
#[derive(Clone, Debug)]
pub struct MerchantPost(pub PostRequest);

/// Reply to a [`MerchantPost`].
pub type MerchantPostReply = Result<PostOutcome, EntityError>;

/// Actor of one merchant.
pub struct MerchantActor {
    pub(super) life: Lifecycle,
    pub(super) deps: EntityDeps,
    pub(super) state: Loaded<Merchant>,
    /// Account id -> owning merchant id. Accounts never change merchant, so entries never go
    /// stale.
    owners: HashMap<i64, Option<i64>>,
}

impl MerchantActor {
    async fn load(deps: &EntityDeps, key: &str) -> Result<Option<Merchant>, StoreError> {
        let Ok(id) = key.parse::<i64>() else {
            return Ok(None);
        };
        deps.store
            .transaction(move |db| Box::pin(async move { catalog::get_merchant(db, id).await }))
            .await
    }

    /// The merchant's id if it is loaded and active.
    pub(super) fn active_merchant(&self) -> Result<i64, EntityError> {
        match self.state.get() {
            Ok(m) if m.status == MerchantStatus::Active => Ok(m.id),
            Ok(_) => Err(EntityError::Disabled),
            Err(e) => Err(e),
        }
    }

    fn forward(
        &mut self,
        request: PostRequest,
        reply: tokio::sync::oneshot::Sender<MerchantPostReply>,
    ) {
        let merchant = match self.active_merchant() {
            Ok(id) => id,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        if self.owners.get(&request.account_id).copied().flatten() != Some(merchant) {
            let _ = reply.send(Err(EntityError::Foreign));
            return;
        }
        match self.deps.accounts.submit(request) {
            Err(e) => {
                let _ = reply.send(Err(e.into()));
            }
            Ok(rx) => {
                actix::spawn(async move {
                    let result = rx.await.unwrap_or(Err(LedgerError::ShuttingDown));
                    let _ = reply.send(result.map_err(Into::into));
                });
            }
        }
    }
}

cached_entity!(MerchantActor, Merchant);

impl Entity for MerchantActor {
    const KIND: &'static str = "merchant";

    fn create(life: Lifecycle, deps: EntityDeps) -> Self {
        MerchantActor {
            life,
            deps,
            state: Loaded::Pending,
            owners: HashMap::new(),
        }
    }
}

impl Handler<Ask<MerchantPost, MerchantPostReply>> for MerchantActor {
    type Result = ();

    fn handle(&mut self, msg: Ask<MerchantPost, MerchantPostReply>, ctx: &mut Context<Self>) {
        self.life.touch();
        let request = msg.query.0;
        if self.owners.contains_key(&request.account_id) {
            self.forward(request, msg.reply);
            return;
        }
        // First posting to this account: look up its owner before anything else runs, so
        // postings still leave in arrival order.
        let store = self.deps.store.clone();
        let account_id = request.account_id;
        ctx.wait(
            async move {
                store
                    .transaction(move |db| {
                        Box::pin(async move { catalog::get_account(db, account_id).await })
                    })
                    .await
            }
            .into_actor(self)
            .map(move |owner, act, _| match owner {
                Ok(account) => {
                    act.owners
                        .insert(account_id, account.map(|a| a.merchant_id));
                    act.forward(request, msg.reply);
                }
                Err(e) => {
                    let _ = msg.reply.send(Err(e.into()));
                }
            }),
        );
    }
}
