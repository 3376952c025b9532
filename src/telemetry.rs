//! Logs (tracing, text or JSON) and metrics (the `metrics` facade rendered as Prometheus
//! text at `/metrics`).
//!
//! The Prometheus recorder is process-global: it is installed once, and every gateway
//! started in the process (tests start several) renders from the same handle.

use crate::config::LogConfig;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
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

/// Exports, at 0, the counters the alert rules watch with `increase()` (rare events), so the
/// first event after a start is an increase Prometheus sees, not a new series.
fn zero_alerting_counters() {
    metrics::counter!("posgate_pospal_balance_mismatches_total").increment(0);
    for kind in [
        "conflict_retried",
        "unavailable",
        "constraint",
        "conflict",
        "decode",
        "invariant",
    ] {
        metrics::counter!("posgate_ledger_errors_total", "kind" => kind).increment(0);
    }
    for kind in ["accounts_shard", "terminal", "merchant", "venue"] {
        metrics::counter!("posgate_mailbox_rejections_total", "kind" => kind).increment(0);
    }
}
