//! Replica coherence: follows the store's change feed
//! ([`posgate_actors::store::change_feed`], PostgreSQL only) and reloads the actors this
//! replica runs for every record another replica (or an operator's SQL) changed. A SQLite
//! store serves one process, whose admin API reloads its own actors; the admin API reloads
//! this replica's actors on PostgreSQL too, at once, and the feed brings the change to the
//! others as soon as it commits.

use crate::app::Gateway;
use actix_web::web;
use posgate_actors::entity::TerminalActor;
use posgate_actors::model::TerminalFamily;
use posgate_actors::store::catalog;
use posgate_actors::store::change_feed::{self, Change, FeedEvent};
use std::time::Duration;
use tokio::sync::mpsc;

/// Changes queued between the feed and the reloading.
const QUEUE: usize = 1024;
/// How often the follower checks that its gateway still exists.
const ALIVE_CHECK: Duration = Duration::from_secs(5);

/// Follows the change feed until the gateway is dropped.
pub async fn follow(gw: web::Data<Gateway>) {
    let (events, mut received) = mpsc::channel(QUEUE);
    tokio::spawn(change_feed::follow(
        gw.config.database.url.expose().clone(),
        events,
    ));
    let weak = std::sync::Arc::downgrade(&gw.into_inner());
    let mut alive = tokio::time::interval(ALIVE_CHECK);
    loop {
        tokio::select! {
            event = received.recv() => {
                let (Some(event), Some(gw)) = (event, weak.upgrade()) else { return };
                metrics::counter!("posgate_change_feed_events_total", "kind" => kind(&event))
                    .increment(1);
                apply(&gw, event).await;
            }
            _ = alive.tick() => {
                if weak.strong_count() == 0 {
                    return;
                }
            }
        }
    }
}

fn kind(event: &FeedEvent) -> &'static str {
    match event {
        FeedEvent::Listening => "listening",
        FeedEvent::Changed(Change::Terminal { .. }) => "terminal",
        FeedEvent::Changed(Change::Merchant { .. }) => "merchant",
        FeedEvent::Changed(Change::Venue { .. }) => "venue",
    }
}

/// Reloads what `event` made stale.
async fn apply(gw: &Gateway, event: FeedEvent) {
    match event {
        FeedEvent::Listening => reload_everything(gw),
        FeedEvent::Changed(Change::Terminal { family, code }) => {
            gw.terminals
                .reload_if_live(&TerminalActor::key(family, &code));
        }
        FeedEvent::Changed(Change::Merchant { id }) => reload_merchant(gw, id).await,
        FeedEvent::Changed(Change::Venue { code }) => {
            gw.venues.reload_if_live(&code);
        }
    }
}

/// Reloads every running actor: after a (re)connection, changes may have been missed.
fn reload_everything(gw: &Gateway) {
    let reloaded = gw.terminals.reload_all_live()
        + gw.merchants.reload_all_live()
        + gw.venues.reload_all_live();
    tracing::info!(reloaded, "change feed listening: running actors reloaded");
}

/// Reloads a merchant's actor and its running terminals' (which cache whether their
/// merchant is active).
pub async fn reload_merchant(gw: &Gateway, id: i64) {
    gw.merchants.reload_if_live(&id.to_string());
    let terminals = gw
        .store
        .transaction(move |db| {
            Box::pin(async move {
                let mut keys = Vec::new();
                for family in TerminalFamily::ALL {
                    let terminals = catalog::list_terminals(db, id, family).await?;
                    keys.extend(terminals.iter().map(|t| t.actor_key()));
                }
                Ok(keys)
            })
        })
        .await;
    match terminals {
        Ok(keys) => {
            for key in keys {
                gw.terminals.reload_if_live(&key);
            }
        }
        Err(e) => {
            // The running terminals keep the old merchant status until they reload; reload
            // them all rather than trade on it.
            tracing::warn!(merchant = id, error = %e, "merchant's terminals not listed: reloading every terminal");
            gw.terminals.reload_all_live();
        }
    }
}
