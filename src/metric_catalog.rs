//! Every metric posgate exports, with its kind, unit and help text: described to the
//! Prometheus recorder at start so that each one carries `# HELP` and `# TYPE` lines
//! (`promtool check metrics` clean). A metric recorded anywhere in the code must have its
//! entry here; the monitoring contract test (`tests/metrics_contract.rs`) runs
//! `promtool check metrics` on a live scrape, which names any that is missing.

use metrics::Unit;

/// What a metric is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up; the name ends in `_total`.
    Counter,
    /// Goes up and down.
    Gauge,
    /// A distribution; durations end in `_seconds`.
    Histogram,
}

/// One exported metric.
#[derive(Clone, Copy, Debug)]
pub struct Metric {
    /// The name (`posgate_...`).
    pub name: &'static str,
    /// Counter, gauge or histogram.
    pub kind: Kind,
    /// The unit, when it has one.
    pub unit: Option<Unit>,
    /// The help text (labels named in parentheses).
    pub help: &'static str,
}

const fn counter(name: &'static str, help: &'static str) -> Metric {
    Metric {
        name,
        kind: Kind::Counter,
        unit: None,
        help,
    }
}

const fn gauge(name: &'static str, help: &'static str) -> Metric {
    Metric {
        name,
        kind: Kind::Gauge,
        unit: None,
        help,
    }
}

const fn seconds(name: &'static str, help: &'static str) -> Metric {
    Metric {
        name,
        kind: Kind::Histogram,
        unit: Some(Unit::Seconds),
        help,
    }
}

const fn count_histogram(name: &'static str, help: &'static str) -> Metric {
    Metric {
        name,
        kind: Kind::Histogram,
        unit: Some(Unit::Count),
        help,
    }
}

/// The catalogue, by area.
pub const METRICS: &[Metric] = &[
    // HTTP and actors.
    counter("posgate_http_requests_total", "HTTP requests (protocol, endpoint route pattern, status)"),
    seconds("posgate_http_request_duration_seconds", "HTTP request latency (protocol, endpoint)"),
    gauge("posgate_live_actors", "running entity actors (kind)"),
    counter("posgate_mailbox_rejections_total", "requests refused because an actor mailbox was full (kind)"),
    // Ledger.
    count_histogram("posgate_accounts_batch_size", "postings committed per ledger transaction (shard)"),
    seconds("posgate_accounts_commit_seconds", "ledger batch commit latency (shard)"),
    counter("posgate_ledger_errors_total", "ledger batch failures (kind: conflict_retried, unavailable, commit_unknown, constraint, conflict, decode, invariant)"),
    counter(
        "posgate_ledger_commit_unknown_total",
        "postings of a batch whose COMMIT answer was lost (resolution: landed, resubmitted, unresolved)",
    ),
    // Database.
    gauge(
        "posgate_db_pool_connections",
        "PostgreSQL pool connections at scrape time (state: idle, in_use)",
    ),
    gauge(
        "posgate_db_pool_size",
        "most connections the PostgreSQL pool may open (database.pool_size)",
    ),
    counter(
        "posgate_db_pool_acquire_timeouts_total",
        "transactions that got no pooled connection within database.acquire_timeout_ms",
    ),
    counter(
        "posgate_db_pool_waits_total",
        "connection checkouts that had to wait for a connection",
    ),
    gauge(
        "posgate_offline_exceptions_open",
        "offline exceptions waiting for an operator (database-wide, at scrape time)",
    ),
    gauge(
        "posgate_intake_dead_letters",
        "partner messages that are dead, waiting for a replay (database-wide, at scrape time)",
    ),
    gauge(
        "posgate_devices_online",
        "terminals seen in the last 5 minutes (family; database-wide)",
    ),
    // Replica coherence.
    gauge("posgate_change_feed_connected", "1 while this replica listens to the PostgreSQL change feed"),
    counter("posgate_change_feed_events_total", "change-feed events applied (kind: listening, terminal, merchant, venue)"),
    counter("posgate_change_feed_reconnects_total", "change-feed connections lost and reopened"),
    // MQTT POS.
    gauge("posgate_mqtt_connected", "1 while the MQTT adapter is connected to its broker"),
    counter("posgate_mqtt_connection_errors_total", "MQTT connections lost or refused"),
    counter("posgate_mqtt_session_resumes_total", "persistent MQTT sessions resumed for the broker to redeliver"),
    counter("posgate_mqtt_messages_total", "device messages handled (kind, outcome)"),
    seconds("posgate_mqtt_message_duration_seconds", "device message handling time, receipt to answer (kind)"),
    counter("posgate_mqtt_uploads_total", "device uploads (kind: notice, photo, dish_record; outcome)"),
    counter("posgate_mqtt_refused_devices_total", "messages from terminals that cannot be served (reason)"),
    counter("posgate_mqtt_capability_refusals_total", "top-ups and loads refused by a terminal capability (capability, reason)"),
    counter("posgate_mqtt_command_acks_total", "server command acknowledgements from devices (outcome)"),
    counter("posgate_offline_exceptions_total", "offline records the ledger could not book, queued for an operator (reason)"),
    counter("posgate_offline_exceptions_resolved_total", "offline exceptions resolved by an operator (resolution)"),
    // jpos.
    counter("posgate_jpos_card_probe_refusals_total", "jpos requests refused because their terminal presented too many distinct cards in a minute"),
    counter("posgate_jpos_pin_refusals_total", "jpos consumes refused for a missing or wrong PIN (blocked: whether this try blocked the card)"),
    counter("posgate_jpos_requests_total", "jpos requests (endpoint, status)"),
    counter("posgate_jpos_capability_refusals_total", "jpos requests refused by a terminal capability (capability)"),
    counter("posgate_jpos_reversal_overdrafts_total", "jpos reversals that took a balance below zero"),
    counter("posgate_jpos_settlements_total", "jpos batch settlements (result)"),
    counter("posgate_jpos_sms_total", "jpos SMS verification codes (result)"),
    counter("posgate_pending_resolved_total", "jpos requests left pending and resolved by the sweeper (outcome)"),
    // DS50.
    counter("posgate_ds50_sales_total", "DS50 sales and reversals (result)"),
    counter("posgate_payment_announcements_total", "payments announced on a merchant's DS50 speakers (outcome)"),
    // Pospal and partner intake.
    counter("posgate_pospal_notifications_total", "Pospal notifications (cmd, result)"),
    counter("posgate_pospal_balance_mismatches_total", "Pospal member balances that differ from posgate's (asset)"),
    counter("posgate_pospal_below_zero_total", "Pospal changes that took a balance below zero"),
    counter("posgate_pospal_key_conflicts_total", "Pospal business keys seen again with other content"),
    counter("posgate_intake_refusals_unkept_total", "refused partner requests not kept, over the per-minute budget (partner)"),
    counter("posgate_intake_replays_total", "dead letters replayed by an operator (partner, result)"),
    // Console and admin audit.
    counter("posgate_console_logins_total", "console logins (result: ok, refused)"),
    counter("posgate_admin_rate_limited_total", "admin requests and console logins refused over their rate (what)"),
    counter("posgate_admin_audit_failures_total", "admin changes made whose audit record could not be written"),
    // KTV and AMQP.
    counter("posgate_ktv_uploads_total", "KTV venue uploads (kind, ret)"),
    counter("posgate_ktv_bills_total", "KTV bills stored (source, outcome)"),
    gauge("posgate_amqp_connected", "1 while the RabbitMQ connection for WJ091 is open"),
    counter("posgate_amqp_reconnects_total", "RabbitMQ connections lost and reopened"),
    counter("posgate_ktv_wj091_requests_total", "WJ091 pulls (type, outcome)"),
    seconds("posgate_ktv_wj091_request_duration_seconds", "WJ091 round trip (type)"),
    counter("posgate_ktv_backfill_runs_total", "KTV backfill runs (result)"),
    counter("posgate_ktv_backfill_pages_total", "WJ091 pages pulled by the backfill"),
    counter("posgate_ktv_backfill_bills_total", "bills stored by the backfill (outcome)"),
    seconds("posgate_ktv_backfill_duration_seconds", "KTV backfill run duration"),
];

/// Describes every metric of [`METRICS`] to the installed recorder.
pub fn describe_all() {
    for m in METRICS {
        match (m.kind, m.unit) {
            (Kind::Counter, _) => metrics::describe_counter!(m.name, m.help),
            (Kind::Gauge, _) => metrics::describe_gauge!(m.name, m.help),
            (Kind::Histogram, Some(unit)) => metrics::describe_histogram!(m.name, unit, m.help),
            (Kind::Histogram, None) => metrics::describe_histogram!(m.name, m.help),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Kind, METRICS};
    use std::collections::BTreeSet;

    #[test]
    fn names_follow_the_prometheus_conventions_once_each() {
        let mut seen = BTreeSet::new();
        for m in METRICS {
            assert!(seen.insert(m.name), "{} twice", m.name);
            assert!(m.name.starts_with("posgate_"), "{}", m.name);
            assert!(
                m.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{}",
                m.name
            );
            assert_eq!(
                m.kind == Kind::Counter,
                m.name.ends_with("_total"),
                "{}",
                m.name
            );
            if m.unit == Some(metrics::Unit::Seconds) {
                assert!(m.name.ends_with("_seconds"), "{}", m.name);
            }
            assert!(!m.help.is_empty(), "{}", m.name);
        }
    }
}
