//! The registry of one kind of entity actor: key -> address, spawn on demand.

use super::lifecycle::{Deregister, Lifecycle};
use super::{EntityConfig, EntityDeps, EntityError};
use crate::mailbox::{start_bounded, try_ask, Ask, Rejected};
use actix::dev::ToEnvelope;
use actix::prelude::*;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// An actor kind the registry can spawn.
pub trait Entity: Actor<Context = Context<Self>> {
    /// Kind name for metrics and logs (`terminal`, `merchant`, `venue`).
    const KIND: &'static str;
    /// Builds the actor; it loads its state itself in `started`.
    fn create(life: Lifecycle, deps: EntityDeps) -> Self;
}

/// The threads entity actors run on, shared by every registry.
#[derive(Clone)]
pub struct EntityArbiters {
    handles: Arc<Vec<ArbiterHandle>>,
}

impl EntityArbiters {
    /// Starts `count` arbiters (0: one per core).
    pub fn start(count: usize) -> EntityArbiters {
        let count = if count == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            count
        };
        EntityArbiters {
            handles: Arc::new((0..count).map(|_| Arbiter::new().handle()).collect()),
        }
    }

    fn for_key(&self, key: &str) -> &ArbiterHandle {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut h);
        &self.handles[h.finish() as usize % self.handles.len()]
    }
}

struct Inner<E: Entity> {
    live: Mutex<HashMap<String, (u64, Addr<E>)>>,
    generation: AtomicU64,
    deps: EntityDeps,
    config: EntityConfig,
    arbiters: EntityArbiters,
}

/// Key -> actor map of one entity kind. Cheap to clone.
pub struct Registry<E: Entity> {
    inner: Arc<Inner<E>>,
}

impl<E: Entity> Clone for Registry<E> {
    fn clone(&self) -> Self {
        Registry {
            inner: self.inner.clone(),
        }
    }
}

/// A handle on a registry that does not keep it alive: what the entities' own dependencies
/// hold (the merchant registry's deps point back at it).
pub struct WeakRegistry<E: Entity> {
    inner: Weak<Inner<E>>,
}

impl<E: Entity> Clone for WeakRegistry<E> {
    fn clone(&self) -> Self {
        WeakRegistry {
            inner: self.inner.clone(),
        }
    }
}

impl<E: Entity> WeakRegistry<E> {
    /// The registry, while it exists.
    pub fn upgrade(&self) -> Option<Registry<E>> {
        self.inner.upgrade().map(|inner| Registry { inner })
    }
}

impl<E: Entity> Registry<E> {
    /// A handle that does not keep the registry alive.
    pub fn downgrade(&self) -> WeakRegistry<E> {
        WeakRegistry {
            inner: Arc::downgrade(&self.inner),
        }
    }

    /// An empty registry.
    pub fn new(deps: EntityDeps, config: EntityConfig, arbiters: EntityArbiters) -> Registry<E> {
        Registry {
            inner: Arc::new(Inner {
                live: Mutex::new(HashMap::new()),
                generation: AtomicU64::new(0),
                deps,
                config,
                arbiters,
            }),
        }
    }

    /// Number of live actors.
    pub fn live(&self) -> usize {
        self.inner.live.lock().map_or(0, |m| m.len())
    }

    /// Keys of the running actors.
    fn live_keys(&self) -> Vec<String> {
        self.inner
            .live
            .lock()
            .map_or_else(|_| Vec::new(), |m| m.keys().cloned().collect())
    }

    /// Tells the actor of `key` to reload its record, if it is running (one that is not
    /// loads afresh when it starts); returns whether it was. Sent past the mailbox bound: a
    /// reload must not be lost to a busy actor, and it is one message per change.
    pub fn reload_if_live(&self, key: &str) -> bool
    where
        E: Handler<Ask<super::Reload, Result<(), EntityError>>>,
        E::Context: ToEnvelope<E, Ask<super::Reload, Result<(), EntityError>>>,
    {
        let live = self
            .inner
            .live
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some((_, addr)) = live.get(key).filter(|(_, addr)| addr.connected()) else {
            return false;
        };
        // Nobody waits for the answer: dropping the receiver is fine.
        let (reply, _) = tokio::sync::oneshot::channel();
        addr.do_send(Ask {
            query: super::Reload,
            reply,
        });
        true
    }

    /// Tells every running actor to reload its record; returns how many were told.
    pub fn reload_all_live(&self) -> usize
    where
        E: Handler<Ask<super::Reload, Result<(), EntityError>>>,
        E::Context: ToEnvelope<E, Ask<super::Reload, Result<(), EntityError>>>,
    {
        self.live_keys()
            .iter()
            .filter(|key| self.reload_if_live(key))
            .count()
    }

    /// Runs `f` on the registry's own address of the actor for `key`, spawning the actor
    /// if it is not running.
    ///
    /// Sends must go through this one stored address: actix bounds a mailbox at its
    /// capacity plus one slot per *sender*, and every clone of an `Addr` is a new sender,
    /// so sending through fresh clones would never find the mailbox full.
    fn with_addr<R>(&self, key: &str, f: impl FnOnce(&Addr<E>) -> R) -> R {
        let mut live = self
            .inner
            .live
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, addr)) = live.get(key) {
            if addr.connected() {
                return f(addr);
            }
        }
        let generation = self.inner.generation.fetch_add(1, Ordering::Relaxed);
        let weak: Weak<Inner<E>> = Arc::downgrade(&self.inner);
        let deregister: Deregister = Arc::new(move |key: &str, generation: u64| {
            if let Some(inner) = weak.upgrade() {
                let mut live = inner
                    .live
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                if live.get(key).is_some_and(|(g, _)| *g == generation) {
                    live.remove(key);
                }
            }
        });
        let life = Lifecycle::new(
            E::KIND,
            key.to_string(),
            generation,
            Duration::from_secs(self.inner.config.idle_timeout_seconds),
            deregister,
        );
        let deps = self.inner.deps.clone();
        let capacity = self.inner.config.mailbox_capacity;
        let addr = start_bounded(self.inner.arbiters.for_key(key), capacity, move |_| {
            <E as Entity>::create(life, deps)
        });
        let result = f(&addr);
        live.insert(key.to_string(), (generation, addr));
        result
    }

    /// Sends `query` to the actor for `key` (spawning it if needed) without waiting for
    /// mailbox space. An actor that stopped between lookup and send is respawned once.
    pub fn ask<Q, R>(
        &self,
        key: &str,
        query: Q,
    ) -> Result<tokio::sync::oneshot::Receiver<R>, EntityError>
    where
        E: Handler<Ask<Q, R>>,
        E::Context: ToEnvelope<E, Ask<Q, R>>,
        Q: Send + 'static,
        R: Send + 'static,
    {
        match self.with_addr(key, |addr| try_ask(addr, E::KIND, query)) {
            Ok(rx) => Ok(rx),
            Err((Rejected::Full, _)) => Err(EntityError::Busy),
            Err((Rejected::Closed, query)) => {
                match self.with_addr(key, |addr| try_ask(addr, E::KIND, query)) {
                    Ok(rx) => Ok(rx),
                    Err((Rejected::Full, _)) => Err(EntityError::Busy),
                    Err((Rejected::Closed, _)) => Err(EntityError::ShuttingDown),
                }
            }
        }
    }

    /// [`Registry::ask`] and wait for the answer.
    pub async fn call<Q, T>(&self, key: &str, query: Q) -> Result<T, EntityError>
    where
        E: Handler<Ask<Q, Result<T, EntityError>>>,
        E::Context: ToEnvelope<E, Ask<Q, Result<T, EntityError>>>,
        Q: Send + 'static,
        T: Send + 'static,
    {
        let rx = self.ask(key, query)?;
        rx.await.unwrap_or(Err(EntityError::ShuttingDown))
    }
}
