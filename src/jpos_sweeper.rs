//! The jpos pending-row sweeper: every request row still `pending`
//! `jpos.pending_resolve_after_seconds` after it arrived (its postings maybe made, its
//! answer never stored: a crash, an outage, a `91`/`96` answered meanwhile) is resolved
//! within a bounded time. Any replica may run it: each row is claimed in the database first
//! (`jpos_trans.sweep_claimed_at_ms`, a lease, as the KTV backfill claims its days), then
//! resolved by the terminal's actor by the rules of
//! [`posgate_actors::entity::JposWork::ResolvePending`] — the same whichever replica finds
//! it. Each resolution is counted in `posgate_pending_resolved_total{outcome}` and listed by
//! `GET /admin/v1/jpos/pending`.

use crate::app::Gateway;
use posgate_actors::entity::{JposCall, JposWork, JPOS_SWEEP_OUTCOMES};
use posgate_actors::store::jpos as store_jpos;
use posgate_actors::store::now_ms;
use std::time::Duration;

/// Rows resolved per sweep at most (the rest wait for the next tick).
const ROWS_PER_SWEEP: i64 = 200;

/// Runs the sweeper until the gateway is dropped: a sweep every half of
/// `jpos.pending_resolve_after_seconds` (1 s to 60 s), so that a row is resolved at most
/// one and a half times that setting after it arrived.
pub async fn schedule(gw: actix_web::web::Data<Gateway>) {
    let after_ms = gw
        .config
        .jpos
        .pending_resolve_after_seconds
        .saturating_mul(1000);
    let every = Duration::from_millis((after_ms / 2).clamp(1000, 60_000));
    let weak = std::sync::Arc::downgrade(&gw.clone().into_inner());
    drop(gw);
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let Some(gw) = weak.upgrade() else { return };
        sweep(&gw).await;
    }
}

/// One sweep: claims and resolves the rows due now; returns how many it resolved.
pub async fn sweep(gw: &Gateway) -> usize {
    let after_ms = i64::try_from(gw.config.jpos.pending_resolve_after_seconds)
        .unwrap_or(3600)
        .saturating_mul(1000);
    let before = now_ms() - after_ms;
    let due = gw
        .store
        .transaction(move |db| {
            Box::pin(async move { store_jpos::pending_due(db, before, ROWS_PER_SWEEP).await })
        })
        .await;
    let due = match due {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(error = %e, "jpos sweeper: pending rows unavailable");
            return 0;
        }
    };
    let mut resolved = 0;
    for row in due {
        if let Some(outcome) = resolve(gw, row.id, &row.terminal_key).await {
            metrics::counter!("posgate_pending_resolved_total", "outcome" => outcome).increment(1);
            tracing::info!(serial = row.id, terminal = %row.terminal_key, outcome,
                "jpos pending request resolved by the sweeper");
            resolved += usize::from(outcome != "unresolved");
        }
    }
    resolved
}

/// Claims row `id` and has its terminal's actor resolve it; the outcome, `None` when
/// another replica holds the claim or a request finished the row first.
async fn resolve(gw: &Gateway, id: i64, terminal_key: &str) -> Option<&'static str> {
    let now = now_ms();
    let claimed = gw
        .store
        .transaction(move |db| Box::pin(async move { store_jpos::claim_sweep(db, id, now).await }))
        .await;
    match claimed {
        Ok(true) => {}
        Ok(false) => return None,
        Err(e) => {
            tracing::warn!(error = %e, serial = id, "jpos sweeper: claim failed");
            return None;
        }
    }
    let call = JposCall {
        work: JposWork::ResolvePending { id },
        fingerprint: String::new(),
        business_date: gw.business_date(),
        now_ms: now_ms(),
    };
    let body = match gw.terminals.ask(terminal_key, call) {
        Ok(rx) => rx.await.map(|a| a.body).unwrap_or_default(),
        Err(e) => {
            tracing::warn!(error = %e, serial = id, "jpos sweeper: terminal unavailable");
            "unresolved".to_string()
        }
    };
    if body.is_empty() {
        return None;
    }
    Some(
        JPOS_SWEEP_OUTCOMES
            .into_iter()
            .find(|o| *o == body)
            .unwrap_or("unresolved"),
    )
}
