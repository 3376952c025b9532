//! The part of every entity actor that caches one store record: loading it before the first
//! message, answering `Info`, and reloading it on `Reload` (sent by the admin API after it
//! changes the record).

use super::EntityError;

/// Ask an entity for its cached record.
#[derive(Clone, Copy, Debug)]
pub struct Info;

/// Ask an entity to reload its record from the store.
#[derive(Clone, Copy, Debug)]
pub struct Reload;

/// A record as cached by an entity actor.
#[derive(Clone, Debug)]
pub enum Loaded<T> {
    /// Not loaded yet.
    Pending,
    /// Loaded.
    Found(T),
    /// The store has no such record.
    Missing,
    /// Loading failed; the actor stops after answering, and the next message reloads.
    Failed(String),
}

impl<T: Clone> Loaded<T> {
    /// The record, or the error a request gets instead.
    pub fn get(&self) -> Result<&T, EntityError> {
        match self {
            Loaded::Found(t) => Ok(t),
            Loaded::Missing => Err(EntityError::NotFound),
            Loaded::Pending => Err(EntityError::ShuttingDown),
            Loaded::Failed(e) => Err(EntityError::Store(e.clone())),
        }
    }
}

/// Implements loading in `started`, `stopped`, and the `Info` / `Reload` handlers for an
/// entity actor with fields `life: Lifecycle`, `deps: EntityDeps`, `state: Loaded<$record>`
/// and an associated `async fn load(deps, key) -> Result<Option<$record>, StoreError>`.
macro_rules! cached_entity {
    ($actor:ty, $record:ty) => {
        impl $actor {
            fn reload(&mut self, ctx: &mut actix::Context<Self>) {
                use actix::{ActorFutureExt, AsyncContext, WrapFuture};
                let deps = self.deps.clone();
                let key = self.life.key().to_string();
                ctx.wait(
                    async move { Self::load(&deps, &key).await }
                        .into_actor(self)
                        .map(|result, act, _| {
                            act.state = match result {
                                Ok(Some(record)) => $crate::entity::cached::Loaded::Found(record),
                                Ok(None) => $crate::entity::cached::Loaded::Missing,
                                Err(e) => {
                                    tracing::warn!(key = %act.life.key(), error = %e, "entity load failed");
                                    $crate::entity::cached::Loaded::Failed(e.to_string())
                                }
                            };
                        }),
                );
            }

            /// Stops the actor if its last load failed, so the next message loads afresh.
            pub(crate) fn stop_if_failed(&self, ctx: &mut actix::Context<Self>) {
                use actix::ActorContext;
                if matches!(self.state, $crate::entity::cached::Loaded::Failed(_)) {
                    ctx.stop();
                }
            }
        }

        impl actix::Actor for $actor {
            type Context = actix::Context<Self>;

            fn started(&mut self, ctx: &mut Self::Context) {
                self.life.started(ctx, |act: &Self| &act.life);
                self.reload(ctx);
            }

            fn stopped(&mut self, _: &mut Self::Context) {
                self.life.stopped();
            }
        }

        impl actix::Handler<$crate::mailbox::Ask<$crate::entity::cached::Info, Result<$record, $crate::entity::EntityError>>>
            for $actor
        {
            type Result = ();

            fn handle(
                &mut self,
                msg: $crate::mailbox::Ask<$crate::entity::cached::Info, Result<$record, $crate::entity::EntityError>>,
                ctx: &mut actix::Context<Self>,
            ) {
                self.life.touch();
                let _ = msg.reply.send(self.state.get().cloned());
                self.stop_if_failed(ctx);
            }
        }

        impl actix::Handler<$crate::mailbox::Ask<$crate::entity::cached::Reload, Result<(), $crate::entity::EntityError>>>
            for $actor
        {
            type Result = ();

            fn handle(
                &mut self,
                msg: $crate::mailbox::Ask<$crate::entity::cached::Reload, Result<(), $crate::entity::EntityError>>,
                ctx: &mut actix::Context<Self>,
            ) {
                use actix::{ActorFutureExt, AsyncContext, WrapFuture};
                self.life.touch();
                self.reload(ctx);
                // Queued behind the reload (ctx.wait), so the answer follows the new state.
                ctx.wait(async {}.into_actor(self).map(move |(), act, ctx| {
                    let _ = msg.reply.send(act.state.get().map(drop));
                    act.stop_if_failed(ctx);
                }));
            }
        }
    };
}

pub(crate) use cached_entity;
