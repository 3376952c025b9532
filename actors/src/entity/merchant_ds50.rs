//! DS50 voice broadcasts (spec 3.4), fanned out by the merchant actor: one message per
//! device, on the topic each device was given in its `posparam.ini` (`{mqtt_topic}/{SN}`).
//! The merchant actor owns the fan-out so that a merchant-wide broadcast and a device's own
//! are published in the order they were asked for.

use super::merchant::MerchantActor;
use super::DevicePublisher;
use crate::mailbox::Ask;
use crate::store::ds50 as store_ds50;
use crate::store::{Store, StoreError};
use actix::prelude::*;
use posgate_protocols::ds50::{broadcast_topic, DeviceSn};
use std::sync::Arc;

/// Publish a broadcast to one device of the merchant, or to all its active DS50 devices.
#[derive(Clone, Debug)]
pub struct Ds50Broadcast {
    /// The encoded broadcast (`{message, amount, transType, orderId}`).
    pub payload: Vec<u8>,
    /// One terminal (by id), or `None` for every active DS50 terminal of the merchant.
    pub terminal_id: Option<i64>,
}

/// Why a broadcast was not (fully) published.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BroadcastError {
    /// The terminal is not a DS50 terminal of this merchant.
    #[error("no such DS50 terminal of this merchant")]
    UnknownTerminal,
    /// The terminal is disabled.
    #[error("terminal is not active")]
    Inactive,
    /// MQTT is disabled in this gateway.
    #[error("MQTT is disabled (mqtt.enabled = false)")]
    MqttDisabled,
    /// A device's serial number or topic prefix cannot make an MQTT topic.
    #[error("device {0} has no valid broadcast topic")]
    BadTopic(String),
    /// The broker refused or the connection is down; `published` got it before that.
    #[error("MQTT publish failed after {published:?}: {reason}")]
    Publish {
        /// Serial numbers published before the failure.
        published: Vec<String>,
        /// The client's error.
        reason: String,
    },
    /// The device list could not be read.
    #[error("store: {0}")]
    Store(String),
}

impl From<StoreError> for BroadcastError {
    fn from(e: StoreError) -> Self {
        BroadcastError::Store(e.to_string())
    }
}

/// The serial numbers published to, in terminal id order.
pub type Ds50BroadcastReply = Result<Vec<String>, BroadcastError>;

impl Handler<Ask<Ds50Broadcast, Ds50BroadcastReply>> for MerchantActor {
    type Result = ();

    fn handle(&mut self, msg: Ask<Ds50Broadcast, Ds50BroadcastReply>, ctx: &mut Context<Self>) {
        self.life.touch();
        let Ask { query, reply } = msg;
        let merchant_id = match self.state.get() {
            Ok(m) => m.id,
            Err(_) => {
                let _ = reply.send(Err(BroadcastError::UnknownTerminal));
                return;
            }
        };
        let Some(publisher) = self.deps.publisher.get().cloned() else {
            let _ = reply.send(Err(BroadcastError::MqttDisabled));
            return;
        };
        let store = self.deps.store.clone();
        ctx.wait(
            fan_out(
                store,
                publisher,
                merchant_id,
                query.terminal_id,
                query.payload,
            )
            .into_actor(self)
            .map(move |result, _, _| {
                let _ = reply.send(result);
            }),
        );
    }
}

/// Publishes `payload` to the DS50 device `terminal_id` of merchant `merchant_id`, or to all
/// its active DS50 devices, each on its own topic; returns the serial numbers published to.
pub(super) async fn fan_out(
    store: Store,
    publisher: Arc<dyn DevicePublisher>,
    merchant_id: i64,
    terminal_id: Option<i64>,
    payload: Vec<u8>,
) -> Ds50BroadcastReply {
    let targets = store
        .transaction(move |db| Box::pin(store_ds50::broadcast_targets(db, merchant_id)))
        .await?;
    let targets: Vec<_> = match terminal_id {
        Some(id) => {
            let target = targets
                .into_iter()
                .find(|t| t.terminal_id == id)
                .ok_or(BroadcastError::UnknownTerminal)?;
            if !target.active {
                return Err(BroadcastError::Inactive);
            }
            vec![target]
        }
        None => targets.into_iter().filter(|t| t.active).collect(),
    };
    let mut published = Vec::with_capacity(targets.len());
    for target in targets {
        let topic = DeviceSn::parse(&target.sn)
            .ok()
            .and_then(|sn| broadcast_topic(&target.mqtt_topic, &sn).ok())
            .ok_or_else(|| BroadcastError::BadTopic(target.sn.clone()))?;
        if let Err(reason) = publisher.to_topic(topic, payload.clone()).await {
            return Err(BroadcastError::Publish { published, reason });
        }
        published.push(target.sn);
    }
    Ok(published)
}
