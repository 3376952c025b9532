//! The monitoring contract: every metric the Grafana dashboard and the alert rules of the
//! Helm chart (`helm/posgate/files/`) query is exported by a running gateway. A gateway
//! with MQTT (embedded broker), RabbitMQ and PostgreSQL is started in-process, driven over
//! real HTTP, MQTT and AMQP, and its `/metrics` scraped.

mod common;

use common::mqtt::{Backend, MqttGateway};
use common::Admin;
use posgate::secret::Secret;
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;

const DASHBOARD: &str = include_str!("../helm/posgate/files/grafana/posgate.json");
const RULES: &str = include_str!("../helm/posgate/files/prometheus/posgate-rules.yaml");

/// The posgate metric names a text of PromQL mentions: identifiers that start with
/// `posgate_` (recording-rule names, which hold `:`, are not exported metrics).
fn metric_names(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|token| token.starts_with("posgate_") && !token.contains(':'))
        .map(str::to_string)
        .collect()
}

/// The metric names of a Prometheus text exposition (samples, not comments).
fn exported_names(exposition: &str) -> BTreeSet<String> {
    exposition
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| line.split(['{', ' ']).next())
        .map(str::to_string)
        .collect()
}

/// Traffic that touches every family: admin writes (ledger postings), a device over MQTT,
/// a WJ091 request and a backfill nobody answers, a Pospal and a DS50 request.
async fn drive(gw: &MqttGateway) {
    let admin: &Admin = &gw.admin;
    admin.account(gw.merchant, 5_000).await;
    let (mut device, _) = gw.device().await;
    device.online().await.expect("device online");
    device.balance("nobody").await.expect("balance answer");
    let code = format!("{:08}", rand::random::<u32>() % 100_000_000);
    let (status, venue) = admin
        .post(
            "/admin/v1/venues",
            json!({"companycode": code, "merchant_id": gw.merchant}),
        )
        .await;
    assert_eq!(status, 201, "{venue}");
    let rpc = gw.running.gateway.wj091.as_ref().expect("WJ091 on").rpc();
    assert!(rpc.wait_connected(Duration::from_secs(20)).await);
    let (status, reply) = admin
        .post(
            &format!("/admin/v1/venues/{code}/wj091"),
            json!({"type": 0}),
        )
        .await;
    assert!(status >= 500, "no venue listens: {status} {reply}");
    let (_, reply) = admin
        .post(
            &format!("/admin/v1/venues/{code}/backfill"),
            json!({"date": "2024-03-15"}),
        )
        .await;
    assert!(reply.is_object(), "{reply}");
    let http = common::client();
    for path in ["/pospal/v1/notify", "/ds50/v1/sale"] {
        let res = http
            .post(format!("{}{path}", admin.base))
            .body("{}")
            .send()
            .await
            .expect("device endpoint answers");
        assert!(res.status().as_u16() < 500, "{path}: {}", res.status());
    }
}

/// `promtool check metrics` on a scrape: names, types, help texts and units by the
/// Prometheus conventions. promtool comes with Debian's `prometheus` package (`.ci/run`
/// installs it); without it the check is skipped with a notice, or fails under
/// POSGATE_REQUIRE_SERVICES=1.
fn promtool_check_metrics(exposition: &str) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            let _: Option<()> = posgate_actors::testing::unavailable("promtool", &e.to_string());
            return;
        }
    };
    child
        .stdin
        .take()
        .expect("promtool stdin")
        .write_all(exposition.as_bytes())
        .expect("feed promtool");
    let out = child.wait_with_output().expect("promtool runs");
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[actix_rt::test]
async fn every_metric_of_the_dashboard_and_the_alerts_is_exported() {
    let Some(amqp_url) = common::rabbitmq() else {
        return;
    };
    // On PostgreSQL, as in production: the pool and change-feed metrics exist only there.
    let Some(gw) = MqttGateway::on(Backend::Postgres, |c| {
        c.amqp.url = Secret::new(amqp_url);
        c.amqp.exchange = format!("posgate.test.contract.{:x}", rand::random::<u64>());
        c.amqp.request_timeout_ms = 300;
    })
    .await
    else {
        return;
    };
    drive(&gw).await;
    let res = common::client()
        .get(format!("{}/metrics", gw.admin.base))
        .send()
        .await
        .expect("scrape");
    assert_eq!(res.status().as_u16(), 200);
    let exposition = res.text().await.expect("metrics body");
    promtool_check_metrics(&exposition);
    let exported = exported_names(&exposition);

    let used: BTreeSet<String> = metric_names(DASHBOARD)
        .union(&metric_names(RULES))
        .cloned()
        .collect();
    assert!(
        used.len() >= 15,
        "too few metrics found in the files: {used:?}"
    );
    let missing: Vec<_> = used.difference(&exported).collect();
    assert!(
        missing.is_empty(),
        "metrics the dashboard or the alert rules use but a running gateway does not export: {missing:?}\nexported: {exported:?}"
    );
    gw.running.stop().await;
}

#[test]
fn metric_names_skip_recording_rules_and_labels() {
    let names = metric_names(
        r#"sum by (protocol) (rate(posgate_http_requests_total{status=~"5.."}[5m])) / protocol:posgate_http_requests:rate5m"#,
    );
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["posgate_http_requests_total"]
    );
    let exported = exported_names("# HELP x y\nposgate_a_total{k=\"v\"} 1\nposgate_b 0\n");
    assert_eq!(
        exported.into_iter().collect::<Vec<_>>(),
        ["posgate_a_total", "posgate_b"]
    );
}
