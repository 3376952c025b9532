//! DS50 payment box / cloud speaker (ds50-cloud-speaker.txt): posgate is the device's
//! Payment Server, the customer server that pushes voice broadcasts, and the producer of
//! the device's `posparam.ini`.
//!
//! The module follows the spec's sections: [`sale`] (3.5.1/3.5.2), [`details`] (3.5.3),
//! [`broadcast`] (3.4, MQTT), [`posparam`] (3.1/3.2). Card data lives in [`card`] behind
//! masking types; validated scalars in [`types`]; the response-code table and the error type
//! in [`codes`]; every limit in [`limits`]. Requests are decoded through a JSON map
//! (the private `json` module) so each field gets its own error and no error quotes a wire value.

pub mod broadcast;
pub mod card;
pub mod codes;
pub mod details;
mod json;
pub mod limits;
pub mod posparam;
pub mod sale;
pub mod types;

pub use broadcast::{
    broadcast_topic, validate_topic_prefix, Broadcast, BroadcastMode, DEFAULT_MQTT_TOPIC,
};
pub use card::{EmvData, MaskedPan, Pan, PinBlock, Sensitive, Track2};
pub use codes::{Ds50Error, ResponseCode};
pub use details::{DetailStatus, DetailsReply, DetailsRequest, TransInfo};
pub use posparam::{MqttAuth, MqttParams, PaymentParams, PosParam};
pub use sale::{SaleReply, SaleRequest, SaleStatus};
pub use types::{
    AuthCode, BatchNo, CardOrg, DeviceSn, PayType, ReplyEmvData, TraceNo, TransType, WireDate,
    WireDateTime, WireTime,
};
