//! TerminalActor: one per terminal (`mqtt:{deviceId}`, `jpos:{storeNo}:{terminalNo}`,
//! `ds50:{sn}`). Caches the terminal and its merchant's status, refuses postings from unknown
//! or disabled terminals, and stamps its key on every posting it forwards.

use super::cached::{cached_entity, Loaded};
use super::{Entity, EntityDeps, EntityError, Lifecycle};
use crate::ledger::{PostOutcome, PostRequest};
use crate::mailbox::Ask;
use crate::model::{MerchantStatus, Terminal, TerminalFamily, TerminalStatus};
use crate::store::capabilities::{self, Capability, Grant};
use crate::store::{catalog, StoreError};
use actix::prelude::*;

/// Post through a terminal.
#[derive(Clone, Debug)]
pub struct TerminalPost(pub PostRequest);

/// The cached terminal and whether its merchant trades.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TerminalState {
    /// The terminal record.
    pub terminal: Terminal,
    /// Its merchant is active.
    pub merchant_active: bool,
    /// Its merchant wants its payments announced (`announce_payments`): only then is the
    /// merchant actor told of them (a change of the setting reloads the merchant's
    /// terminals, on every replica through the change feed).
    pub merchant_announces: bool,
    /// The capabilities an operator granted it (top-up, load), with their ceilings.
    pub grants: Vec<Grant>,
}

impl TerminalState {
    /// The grant of `capability`, when the terminal has it.
    pub fn grant(&self, capability: Capability) -> Option<&Grant> {
        self.grants.iter().find(|g| g.capability == capability)
    }
}

/// Actor of one terminal.
pub struct TerminalActor {
    pub(super) life: Lifecycle,
    pub(super) deps: EntityDeps,
    pub(super) state: Loaded<TerminalState>,
    /// User id -> account id of this terminal's merchant (accounts never change either).
    pub(super) users: std::collections::HashMap<String, i64>,
    /// When "last seen" was last written to the store.
    pub(super) seen_written: Option<std::time::Instant>,
}

impl TerminalActor {
    /// The actor key of a terminal: `{family prefix}:{code}`.
    pub fn key(family: TerminalFamily, code: &str) -> String {
        format!("{}:{code}", family.key_prefix())
    }

    async fn load(deps: &EntityDeps, key: &str) -> Result<Option<TerminalState>, StoreError> {
        let Some((prefix, code)) = key.split_once(':') else {
            return Ok(None);
        };
        let Some(family) = TerminalFamily::ALL
            .into_iter()
            .find(|f| f.key_prefix() == prefix)
        else {
            return Ok(None);
        };
        let code = code.to_string();
        deps.store
            .transaction(move |db| {
                Box::pin(async move {
                    let Some(terminal) = catalog::find_terminal(db, family, &code).await? else {
                        return Ok(None);
                    };
                    let merchant = catalog::get_merchant(db, terminal.merchant_id).await?;
                    let merchant_active = merchant
                        .as_ref()
                        .is_some_and(|m| m.status == MerchantStatus::Active);
                    let merchant_announces = merchant.is_some_and(|m| m.announce_payments);
                    let grants = capabilities::grants(db, terminal.id).await?;
                    Ok(Some(TerminalState {
                        terminal,
                        merchant_active,
                        merchant_announces,
                        grants,
                    }))
                })
            })
            .await
    }
}

impl TerminalActor {
    /// The terminal's merchant when `request` is a payment in money and the merchant wants
    /// its payments announced on its speakers.
    pub(super) fn payment_merchant(&self, request: &PostRequest) -> Option<i64> {
        if !super::merchant_announce::is_money_payment(&request.op) {
            return None;
        }
        let state = self.state.get().ok()?;
        state
            .merchant_announces
            .then_some(state.terminal.merchant_id)
    }

    /// Records that the device was seen (every request counts, of every family; at most one
    /// store write per `SEEN_WRITE_INTERVAL`); `report` is what an MQTT device reported
    /// when it came online.
    pub(super) fn seen(&mut self, ctx: &mut Context<Self>, report: Option<String>) {
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

cached_entity!(TerminalActor, TerminalState);

impl Entity for TerminalActor {
    const KIND: &'static str = "terminal";

    fn create(life: Lifecycle, deps: EntityDeps) -> Self {
        TerminalActor {
            life,
            deps,
            state: Loaded::Pending,
            users: std::collections::HashMap::new(),
            seen_written: None,
        }
    }
}

/// Reply to a [`TerminalPost`].
pub type TerminalPostReply = Result<PostOutcome, EntityError>;

impl Handler<Ask<TerminalPost, TerminalPostReply>> for TerminalActor {
    type Result = ();

    fn handle(&mut self, msg: Ask<TerminalPost, TerminalPostReply>, ctx: &mut Context<Self>) {
        self.life.touch();
        let checked = self.state.get().and_then(|s| {
            if s.terminal.status == TerminalStatus::Active && s.merchant_active {
                Ok(())
            } else {
                Err(EntityError::Disabled)
            }
        });
        let mut request = msg.query.0;
        request.terminal = Some(self.life.key().to_string());
        // Submitted here, synchronously, so postings reach the shard in arrival order.
        match checked.and_then(|()| self.deps.accounts.submit(request).map_err(Into::into)) {
            Err(e) => {
                let _ = msg.reply.send(Err(e));
                self.stop_if_failed(ctx);
            }
            Ok(rx) => {
                let reply = msg.reply;
                actix::spawn(async move {
                    let result = rx
                        .await
                        .unwrap_or(Err(crate::ledger::LedgerError::ShuttingDown));
                    let _ = reply.send(result.map_err(Into::into));
                });
            }
        }
    }
}
