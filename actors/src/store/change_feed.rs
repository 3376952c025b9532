//! The change feed of a PostgreSQL store: what the triggers of migration 0019 announce on
//! the channel `posgate_changes` (LISTEN/NOTIFY) whenever a record that entity actors cache
//! changes, whoever changed it. Every replica follows the feed and reloads the actors it
//! runs for those records, so an admin change reaches every replica as soon as it commits.
//!
//! A notification sent while the listening connection is down is lost, so each
//! (re)connection is announced as [`FeedEvent::Listening`]: the follower then reloads every
//! actor it runs, which covers whatever was missed. A connection that stops answering is
//! found by a heartbeat and replaced.

use crate::model::TerminalFamily;
use futures::StreamExt;
use serde::Deserialize;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, NoTls};

/// The channel the triggers notify.
pub const CHANNEL: &str = "posgate_changes";
/// The `application_name` of the listening connection (as `pg_stat_activity` shows it).
pub const APPLICATION_NAME: &str = "posgate-change-feed";
/// How often the listening connection is checked.
const HEARTBEAT: Duration = Duration::from_secs(5);
/// How long a heartbeat may take before the connection counts as dead.
const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(3);
/// First and longest pause between connection attempts (each pause is a random part of a
/// doubling ceiling, so replicas do not reconnect in step).
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(10);

/// A record whose cached copies are stale.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// A terminal, or its capabilities.
    Terminal {
        /// Its family.
        family: TerminalFamily,
        /// Its code.
        code: String,
    },
    /// A merchant (its status is cached by its terminals too).
    Merchant {
        /// Its id.
        id: i64,
    },
    /// A venue, or its KTV key and options.
    Venue {
        /// Its `companycode`.
        code: String,
    },
}

/// What the feed tells its follower.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FeedEvent {
    /// The feed (re)connected: changes may have been missed, reload everything cached.
    Listening,
    /// A record changed.
    Changed(Change),
}

/// The payload of a notification, as the triggers write it.
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Payload {
    Terminal { family: String, code: String },
    Merchant { id: i64 },
    Venue { code: String },
}

/// Decodes a notification's payload; `None` for one this version does not know.
pub fn decode(payload: &str) -> Option<Change> {
    Some(match serde_json::from_str(payload).ok()? {
        Payload::Terminal { family, code } => Change::Terminal {
            family: TerminalFamily::parse(&family)?,
            code,
        },
        Payload::Merchant { id } => Change::Merchant { id },
        Payload::Venue { code } => Change::Venue { code },
    })
}

/// Follows the feed of the database at `url` until `events` is closed: connects, listens,
/// forwards every change, and reconnects (with jittered backoff) whenever the connection
/// fails or stops answering.
pub async fn follow(url: String, events: mpsc::Sender<FeedEvent>) {
    // Exported from the start, so a feed that never connects shows (and alerts) too.
    metrics::gauge!("posgate_change_feed_connected").set(0.0);
    let mut ceiling = BACKOFF_MIN;
    loop {
        match listen(&url, &events).await {
            Ok(()) => return,
            Err(e) => {
                metrics::gauge!("posgate_change_feed_connected").set(0.0);
                metrics::counter!("posgate_change_feed_reconnects_total").increment(1);
                tracing::warn!(error = %e, "change feed: connection lost, reconnecting");
            }
        }
        if events.is_closed() {
            return;
        }
        let pause = ceiling.mul_f64(rand::random::<f64>()).max(BACKOFF_MIN);
        tokio::time::sleep(pause).await;
        ceiling = (ceiling * 2).min(BACKOFF_MAX);
    }
}

/// One connection's life: `Ok` when the follower went away, `Err` when the connection did.
async fn listen(url: &str, events: &mpsc::Sender<FeedEvent>) -> Result<(), String> {
    let mut config: tokio_postgres::Config = url.parse().map_err(|e| format!("{e}"))?;
    config.application_name(APPLICATION_NAME);
    let (client, mut connection) = config.connect(NoTls).await.map_err(|e| e.to_string())?;
    let (notes, mut received) = mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if notes.send(n.payload().to_string()).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "change feed: connection error");
                    return;
                }
            }
        }
    });
    let _stop_driver = AbortOnDrop(driver);
    client
        .batch_execute(&format!("LISTEN {CHANNEL}"))
        .await
        .map_err(|e| e.to_string())?;
    metrics::gauge!("posgate_change_feed_connected").set(1.0);
    if events.send(FeedEvent::Listening).await.is_err() {
        return Ok(());
    }
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    loop {
        tokio::select! {
            note = received.recv() => {
                let Some(payload) = note else {
                    return Err("connection closed".into());
                };
                let Some(change) = decode(&payload) else {
                    tracing::warn!(payload, "change feed: unknown notification");
                    continue;
                };
                if events.send(FeedEvent::Changed(change)).await.is_err() {
                    return Ok(());
                }
            }
            _ = heartbeat.tick() => {
                if events.is_closed() {
                    return Ok(());
                }
                match tokio::time::timeout(HEARTBEAT_TIMEOUT, client.simple_query("SELECT 1")).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => return Err(e.to_string()),
                    Err(_) => return Err("heartbeat timed out".into()),
                }
            }
        }
    }
}

/// Stops the connection's driver task when the listening ends, however it ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::{decode, Change};
    use crate::model::TerminalFamily;

    #[test]
    fn payloads_decode_as_the_triggers_write_them() {
        assert_eq!(
            decode(r#"{"kind":"terminal","family":"jpos","code":"S1:T1"}"#),
            Some(Change::Terminal {
                family: TerminalFamily::Jpos,
                code: "S1:T1".into()
            })
        );
        assert_eq!(
            decode(r#"{"kind":"merchant","id":7}"#),
            Some(Change::Merchant { id: 7 })
        );
        assert_eq!(
            decode(r#"{"kind":"venue","code":"0042"}"#),
            Some(Change::Venue {
                code: "0042".into()
            })
        );
        for unknown in [
            r#"{"kind":"terminal","family":"telex","code":"1"}"#,
            r#"{"kind":"group","id":1}"#,
            "not json",
            "",
        ] {
            assert_eq!(decode(unknown), None, "{unknown}");
        }
    }
}
