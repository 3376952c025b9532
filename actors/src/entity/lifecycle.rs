//! What every entity actor shares: its key, idle passivation, the live-actor gauge, and
//! leaving the registry when it stops.

use actix::prelude::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Removes a stopped actor from its registry: `(key, generation)`.
pub type Deregister = Arc<dyn Fn(&str, u64) + Send + Sync>;

/// Lifecycle state embedded in each entity actor.
pub struct Lifecycle {
    key: String,
    kind: &'static str,
    generation: u64,
    idle: Duration,
    last_active: Instant,
    deregister: Deregister,
}

impl Lifecycle {
    /// A lifecycle for the actor `kind` / `key`, spawned as `generation`.
    pub fn new(
        kind: &'static str,
        key: String,
        generation: u64,
        idle: Duration,
        deregister: Deregister,
    ) -> Lifecycle {
        Lifecycle {
            key,
            kind,
            generation,
            idle,
            last_active: Instant::now(),
            deregister,
        }
    }

    /// The entity's key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Records activity; call at the top of every handler.
    pub fn touch(&mut self) {
        self.last_active = Instant::now();
    }

    /// Call from `Actor::started`: counts the actor live and arms the idle check.
    pub fn started<A>(&self, ctx: &mut Context<A>, get: fn(&A) -> &Lifecycle)
    where
        A: Actor<Context = Context<A>>,
    {
        metrics::gauge!("posgate_live_actors", "kind" => self.kind).increment(1.0);
        let every = (self.idle / 4).clamp(Duration::from_millis(10), Duration::from_secs(30));
        ctx.run_interval(every, move |act, ctx| {
            let life = get(act);
            if life.last_active.elapsed() >= life.idle {
                tracing::debug!(kind = life.kind, key = %life.key, "entity idle, stopping");
                ctx.stop();
            }
        });
    }

    /// Call from `Actor::stopped`: uncounts the actor and leaves the registry.
    pub fn stopped(&self) {
        metrics::gauge!("posgate_live_actors", "kind" => self.kind).decrement(1.0);
        (self.deregister)(&self.key, self.generation);
    }
}
