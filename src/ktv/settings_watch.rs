//! Venue options set on one replica reach every replica: each replica looks every
//! `ktv.settings_poll_ms` for rows of `ktv_venue_keys` whose `updated_at_ms` changed, and
//! reloads those venues' actors (which cache the key and options). PostgreSQL only: a
//! SQLite store is one process, where the admin API reloads the actor itself.
//!
//! Rows are read back to a minute before the newest change seen, so a replica whose clock
//! is behind (its `updated_at_ms` earlier than the newest seen) is still noticed; a venue is
//! reloaded only when its `updated_at_ms` differs from the one seen last.

use crate::app::Gateway;
use posgate_actors::entity::Reload;
use posgate_actors::store::ktv as store_ktv;
use std::collections::HashMap;
use std::time::Duration;

/// How far before the newest change seen each look reads (clock skew between replicas).
const SKEW_MS: i64 = 60_000;

/// The changes of one look: the venues to reload, given what was `seen`.
fn changed(seen: &mut HashMap<String, i64>, rows: Vec<(String, i64)>, first: bool) -> Vec<String> {
    let mut reload = Vec::new();
    for (code, at) in rows {
        if seen.insert(code.clone(), at) != Some(at) && !first {
            reload.push(code);
        }
    }
    reload
}

/// Watches for option changes until the gateway is dropped.
pub async fn watch(gw: actix_web::web::Data<Gateway>) {
    let every = Duration::from_millis(gw.config.ktv.settings_poll_ms.max(1));
    let weak = std::sync::Arc::downgrade(&gw.clone().into_inner());
    drop(gw);
    let mut seen: HashMap<String, i64> = HashMap::new();
    let mut first = true;
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let Some(gw) = weak.upgrade() else { return };
        let since = seen.values().copied().max().unwrap_or(0) - SKEW_MS;
        let rows = gw
            .store
            .transaction(move |db| {
                Box::pin(async move { store_ktv::settings_changed_since(db, since).await })
            })
            .await;
        let rows = match rows {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e, "KTV venue options: change poll failed");
                continue;
            }
        };
        seen.retain(|_, at| *at > since);
        for code in changed(&mut seen, rows, first) {
            tracing::info!(venue = %code, "KTV venue options changed on another replica: reloading");
            if let Err(e) = gw.venues.call(&code, Reload).await {
                tracing::warn!(venue = %code, error = %e, "KTV venue reload failed");
            }
        }
        first = false;
    }
}
