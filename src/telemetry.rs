//! Logs (tracing, text or JSON) and metrics (the `metrics` facade rendered as Prometheus
//! text at `/metrics`).
//!
//! The Prometheus recorder is process-global: it is installed once, and every gateway
//! started in the process (tests start several) renders from the same handle.

use crate::config::LogConfig;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use posgate_actors::store::Store;
use std::sync::OnceLock;
use std::time::Duration;

/// Histogram buckets of latency metrics (`*_seconds`), 100 µs to 10 s.
const SECONDS_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// Histogram buckets of batch sizes.
const BATCH_BUCKETS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
];

/// Installs the tracing subscriber. Safe to call more than once (later calls do nothing).
pub fn init_logging(config: &LogConfig) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(config.filter.clone()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(true);
    // try_init fails only when a subscriber is already installed (tests), which is fine.
    let _ = if config.format == "json" {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}

/// The process's Prometheus handle, installing the recorder on first use.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("posgate_accounts_batch_size".into()),
                        BATCH_BUCKETS,
                    )
                })
                .expect("static bucket lists are not empty")
                .install_recorder()
                .expect("no other metrics recorder is installed");
            describe();
            zero_alerting_counters();
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || loop {
                    std::thread::sleep(Duration::from_secs(5));
                    upkeep.run_upkeep();
                })
                .expect("spawn metrics upkeep thread");
            handle
        })
        .clone()
}

fn describe() {
    crate::metric_catalog::describe_all();
}

/// How recently a terminal must have been seen to count as online.
pub const ONLINE_WINDOW_MS: i64 = 5 * 60 * 1000;

/// Samples, at scrape time, the gauges read from the pool and the database (pool state,
/// waiting work, devices online). A database that does not answer leaves the database-wide
/// gauges at their last value (the pool gauges still show the outage). `pool_size` is
/// `database.pool_size`.
pub async fn sample(store: &Store, pool_size: u32) {
    if let Some(state) = store.pool_state() {
        metrics::gauge!("posgate_db_pool_size").set(f64::from(pool_size));
        let in_use = state.connections.saturating_sub(state.idle_connections);
        metrics::gauge!("posgate_db_pool_connections", "state" => "idle")
            .set(f64::from(state.idle_connections));
        metrics::gauge!("posgate_db_pool_connections", "state" => "in_use").set(f64::from(in_use));
        metrics::counter!("posgate_db_pool_waits_total").absolute(state.statistics.get_waited);
    }
    let since = chrono::Utc::now().timestamp_millis() - ONLINE_WINDOW_MS;
    match store.backlog(since).await {
        Ok(backlog) => {
            metrics::gauge!("posgate_offline_exceptions_open").set(backlog.open_exceptions as f64);
            metrics::gauge!("posgate_intake_dead_letters").set(backlog.dead_letters as f64);
            for family in ["mqtt_pos", "jpos", "ds50"] {
                let seen = backlog
                    .devices_seen
                    .iter()
                    .find(|(f, _)| f == family)
                    .map_or(0, |(_, n)| *n);
                metrics::gauge!("posgate_devices_online", "family" => family).set(seen as f64);
            }
        }
        Err(e) => tracing::debug!(error = %e, "metrics: database-wide gauges not sampled"),
    }
}

/// Exports, at 0, the counters the alert rules watch with `increase()` (rare events), so the
/// first event after a start is an increase Prometheus sees, not a new series.
fn zero_alerting_counters() {
    metrics::counter!("posgate_pospal_balance_mismatches_total").increment(0);
    metrics::counter!("posgate_admin_audit_failures_total").increment(0);
    for kind in [
        "conflict_retried",
        "unavailable",
        "constraint",
        "conflict",
        "decode",
        "invariant",
        "commit_unknown",
    ] {
        metrics::counter!("posgate_ledger_errors_total", "kind" => kind).increment(0);
    }
    for resolution in ["landed", "resubmitted", "unresolved"] {
        metrics::counter!("posgate_ledger_commit_unknown_total", "resolution" => resolution)
            .increment(0);
    }
    metrics::counter!("posgate_db_pool_acquire_timeouts_total").increment(0);
    for kind in ["accounts_shard", "terminal", "merchant", "venue"] {
        metrics::counter!("posgate_mailbox_rejections_total", "kind" => kind).increment(0);
    }
    for kind in ["message", "frame_imgup", "menu_rec"] {
        metrics::counter!("posgate_mqtt_messages_total", "kind" => kind, "outcome" => "unstored")
            .increment(0);
    }
}

/// Requests of one protocol this process has answered since it started.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct RequestCount {
    /// The `protocol` label of `posgate_http_requests_total` (`admin`, `jpos`, `ds50`,
    /// `pospal`, `ktv`, `mqtt`, `operations`, `other`); `mqtt` adds the device messages.
    pub protocol: String,
    /// Requests (and MQTT device messages).
    pub total: u64,
    /// Of which answered with a status of 400 or more (MQTT: an outcome of
    /// [`MQTT_ERROR_OUTCOMES`]).
    pub errors: u64,
}

/// The `posgate_mqtt_messages_total` outcomes that are errors: the message was not
/// understood, not answered (busy), on no known topic, or not stored. `handled` and
/// `no_reply` messages were served (a business refusal is a served answer, as a 200 with
/// a refusal code is over HTTP).
pub const MQTT_ERROR_OUTCOMES: [&str; 4] = ["malformed", "busy", "bad_topic", "unstored"];

/// Requests by protocol, sorted by protocol, read from this process's rendered metrics
/// (`PrometheusHandle::render`): `posgate_http_requests_total` by its `protocol` label and
/// `posgate_mqtt_messages_total` as protocol `mqtt`.
pub fn request_counts(rendered: &str) -> Vec<RequestCount> {
    let mut counts: std::collections::BTreeMap<String, RequestCount> = Default::default();
    for (name, labels, value) in rendered.lines().filter_map(text_sample) {
        let label = |key: &str| {
            labels
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        let (protocol, error) = match name {
            "posgate_http_requests_total" => {
                let status = label("status").and_then(|s| s.parse::<u16>().ok());
                (label("protocol"), status.is_some_and(|s| s >= 400))
            }
            "posgate_mqtt_messages_total" => (
                Some("mqtt"),
                label("outcome").is_some_and(|o| MQTT_ERROR_OUTCOMES.contains(&o)),
            ),
            _ => continue,
        };
        let Some(protocol) = protocol else { continue };
        let count = counts
            .entry(protocol.to_string())
            .or_insert_with(|| RequestCount {
                protocol: protocol.to_string(),
                ..RequestCount::default()
            });
        // Counters are whole numbers rendered as floats.
        let n = value.max(0.0) as u64;
        count.total += n;
        if error {
            count.errors += n;
        }
    }
    counts.into_values().collect()
}

/// A sample's labels, `(name, value)`, in their order on the line.
type Labels = Vec<(String, String)>;

/// One sample line of the Prometheus text format, `name{k="v",...} value`: the name, the
/// labels (unescaped) and the value; `None` for comments, blank lines and anything else.
fn text_sample(line: &str) -> Option<(&str, Labels, f64)> {
    if line.starts_with('#') {
        return None;
    }
    let (name, rest) = line.split_once('{')?;
    let mut labels = Vec::new();
    let mut chars = rest.chars();
    loop {
        let key: String = chars.by_ref().take_while(|&c| c != '=').collect();
        if chars.next()? != '"' {
            return None;
        }
        let mut value = String::new();
        loop {
            match chars.next()? {
                '"' => break,
                '\\' => match chars.next()? {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                c => value.push(c),
            }
        }
        labels.push((key, value));
        match chars.next()? {
            ',' => continue,
            '}' => break,
            _ => return None,
        }
    }
    let value = chars.as_str().trim().parse().ok()?;
    Some((name, labels, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RENDERED: &str = r#"# TYPE posgate_http_requests_total counter
posgate_http_requests_total{protocol="admin",endpoint="/admin/v1/merchants/{id}",status="200"} 7
posgate_http_requests_total{protocol="admin",endpoint="/admin/v1/merchants/{id}",status="404"} 2
posgate_http_requests_total{protocol="jpos",endpoint="/v1/a, \"b\"}",status="503"} 1
posgate_http_requests_total{protocol="jpos",endpoint="/v1/x",status="200"} 3
posgate_http_request_duration_seconds_count{protocol="admin",endpoint="/x"} 9
posgate_mqtt_messages_total{kind="message",outcome="handled"} 4
posgate_mqtt_messages_total{kind="message",outcome="malformed"} 1
posgate_mqtt_messages_total{kind="frame_imgup",outcome="unstored"} 0
posgate_http_requests_total{protocol="ds50",status="2xx"
"#;

    #[test]
    fn counts_requests_and_errors_by_protocol() {
        let counts = request_counts(RENDERED);
        let expected = [("admin", 9, 2), ("jpos", 4, 1), ("mqtt", 5, 1)];
        assert_eq!(counts.len(), expected.len(), "{counts:?}");
        for (count, (protocol, total, errors)) in counts.iter().zip(expected) {
            assert_eq!(
                (count.protocol.as_str(), count.total, count.errors),
                (protocol, total, errors)
            );
        }
    }

    #[test]
    fn parses_quoted_label_values_and_refuses_broken_lines() {
        let line = r#"m{a="x}y",b="q\"z\\"} 2.5"#;
        let (name, labels, value) = text_sample(line).expect("a sample");
        assert_eq!(name, "m");
        assert_eq!(labels[0], ("a".to_string(), "x}y".to_string()));
        assert_eq!(labels[1], ("b".to_string(), "q\"z\\".to_string()));
        assert_eq!(value, 2.5);
        for broken in [
            "m{a=x} 1",
            "m{a=\"x\"} one",
            "m{a=\"x\"",
            "# HELP m{a=\"x\"} 1",
        ] {
            assert!(text_sample(broken).is_none(), "{broken}");
        }
        assert!(text_sample("m 1").is_none());
    }
}
