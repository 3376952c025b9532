//! Entity actors (one per terminal, merchant, KTV venue) and the registry that keeps them.
//!
//! An entity actor is spawned by its [`Registry`] on the first message for its key, loads
//! its state from the store before handling anything (`ctx.wait`), handles its messages one
//! at a time and in order, and stops itself after `idle_timeout_seconds` without messages.
//! The database is the truth; the actor is a cache of it, so stopping loses nothing.
//! Mailboxes are bounded: a full one is reported to the adapter as [`EntityError::Busy`].

pub mod cached;
mod jpos;
mod lifecycle;
mod merchant;
mod merchant_announce;
mod merchant_ds50;
mod merchant_pospal;
mod registry;
mod terminal;
mod terminal_commands;
mod terminal_ds50;
mod terminal_mqtt;
mod terminal_uploads;
mod venue;

pub use cached::{Info, Loaded, Reload};
pub use jpos::sweep::OUTCOMES as JPOS_SWEEP_OUTCOMES;
pub use jpos::{
    batch_totals as jpos_batch_totals, earned_points, jpos_code, jpos_entity_code,
    totals_json as jpos_totals_json, JposAnswer, JposCall, JposCard, JposTrace, JposWork, KeptKeys,
    PinPresented, VerifyCodeLimits, PIN_TRIES_MAX,
};
pub use lifecycle::Lifecycle;
pub use merchant::{MerchantActor, MerchantPost, MerchantPostReply};
pub use merchant_announce::{Announce, MerchantSlot, ANNOUNCE_OUTCOMES};
pub use merchant_ds50::{BroadcastError, Ds50Broadcast, Ds50BroadcastReply};
pub use merchant_pospal::{
    order_stage, plan as pospal_plan, points_hundredths, stock_flow_stage, DocumentStep, MemberRef,
    PlanError as PospalPlanError, PospalDelivery, PospalNotify, PospalNotifyReply, PospalPlan,
    Posting as PospalPosting,
};
pub use registry::{Entity, EntityArbiters, Registry, WeakRegistry};
pub use terminal::{TerminalActor, TerminalPost, TerminalPostReply, TerminalState};
pub use terminal_commands::{SendCommand, SendCommandReply};
pub use terminal_ds50::{
    auth_code as ds50_auth_code, ds50_code, ds50_entity_code, sale_posting, sale_reply, Ds50Sale,
    Ds50SaleReply,
};
pub use terminal_mqtt::{
    consume_reply, offline_sources, posting, refusal_reply, xf_code, MqttDeviceMessage, MqttReply,
};
pub use venue::{
    describe_violations, ktv_entity_code, BackfillCounts, KtvBackfill, KtvBackfillReply, KtvUpload,
    KtvUploadReply, VenueActor, VenueRecord,
};

use crate::accounts::Accounts;
use crate::ledger::LedgerError;
use crate::store::{Store, StoreError};
use serde::{Deserialize, Serialize};

/// Settings of the entity actors.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EntityConfig {
    /// Seconds without messages after which an entity actor stops.
    pub idle_timeout_seconds: u64,
    /// Messages an entity actor may hold queued before it answers "busy".
    pub mailbox_capacity: usize,
    /// Threads (arbiters) the entity actors run on; 0 means one per CPU core.
    pub arbiters: usize,
}

impl Default for EntityConfig {
    fn default() -> Self {
        EntityConfig {
            idle_timeout_seconds: 300,
            mailbox_capacity: 64,
            arbiters: 0,
        }
    }
}

/// What every entity actor needs.
#[derive(Clone)]
pub struct EntityDeps {
    /// The store, to load state.
    pub store: Store,
    /// The accounts actor, to post.
    pub accounts: Accounts,
    /// Protocol rules taken from configuration.
    pub settings: std::sync::Arc<ProtocolSettings>,
    /// Publishes to devices; filled once the MQTT adapter has started (it needs the
    /// terminal registry first), empty when MQTT is disabled.
    pub publisher: PublisherSlot,
    /// The merchant actors, told of posted payments to announce; filled once the merchant
    /// registry exists (it holds these deps), empty where nothing announces.
    pub merchants: MerchantSlot,
}

/// Publishes server-to-device messages (implemented by the MQTT adapter).
pub trait DevicePublisher: Send + Sync {
    /// Publishes `payload` on the api topic of device `device_id`.
    fn to_device(
        &self,
        device_id: &str,
        payload: Vec<u8>,
    ) -> futures::future::BoxFuture<'static, Result<(), String>>;

    /// Publishes `payload` on `topic` as it is (DS50 broadcasts: `{mqtt_topic}/{SN}`).
    fn to_topic(
        &self,
        topic: String,
        payload: Vec<u8>,
    ) -> futures::future::BoxFuture<'static, Result<(), String>>;
}

/// Where the publisher is put once it exists.
pub type PublisherSlot = std::sync::Arc<std::sync::OnceLock<std::sync::Arc<dyn DevicePublisher>>>;

/// Protocol rules the entity actors apply, from configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolSettings {
    /// MQTT POS: the money assets an online or offline amount consumption draws, in order
    /// (subsidy `btYe` before cash `xjYe` by default).
    pub mqtt_debit_order: Vec<crate::ledger::Asset>,
    /// The business day's offset east of UTC, minutes (`ledger.utc_offset_minutes`).
    pub utc_offset_minutes: i32,
    /// MQTT POS: how long after a consumption a mode 31 cancel may still undo it, seconds.
    pub mqtt_cancel_window_seconds: u64,
}

impl ProtocolSettings {
    /// The server's business date now.
    pub fn business_date(&self) -> chrono::NaiveDate {
        crate::ledger::business_date(self.utc_offset_minutes, chrono::Utc::now())
    }
}

impl Default for ProtocolSettings {
    fn default() -> Self {
        ProtocolSettings {
            mqtt_debit_order: vec![crate::ledger::Asset::Subsidy, crate::ledger::Asset::Cash],
            utc_offset_minutes: 480,
            mqtt_cancel_window_seconds: 600,
        }
    }
}

/// Why an entity could not answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EntityError {
    /// No such terminal / merchant / venue in the store.
    #[error("not found")]
    NotFound,
    /// The entity exists but is disabled or suspended.
    #[error("disabled")]
    Disabled,
    /// The request names something that does not belong to this entity.
    #[error("not owned by this entity")]
    Foreign,
    /// Mailbox full (entity or accounts shard): retry later.
    #[error("busy, retry later")]
    Busy,
    /// The actor is stopping or the gateway is shutting down: retry.
    #[error("shutting down")]
    ShuttingDown,
    /// Store failure while loading state.
    #[error("store: {0}")]
    Store(String),
}

impl From<LedgerError> for EntityError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::Busy => EntityError::Busy,
            LedgerError::ShuttingDown => EntityError::ShuttingDown,
            LedgerError::Store(s) => EntityError::Store(s),
        }
    }
}

impl From<StoreError> for EntityError {
    fn from(e: StoreError) -> Self {
        EntityError::Store(e.to_string())
    }
}
