//! The MQTT protocol of canteen consumption machines (消费机), seed
//! `mqtt-pos-consumption-machine.txt`: posgate is the spec's "server".
//!
//! Shaped after the flow of one message, wire to meaning and back:
//!
//! * [`topic`]: `{prefix}/pos/{deviceId}/{suffix}` into a typed [`Topic`] (who, what);
//! * [`inbound`]: topic kind + payload into a [`DeviceMessage`], using [`consume`]
//!   (consumption requests, acknowledgements) and [`uploads`] (balance query, message, photo,
//!   dish record, online), all read by the bounded, slightly lenient reader in `json`;
//! * [`reply`]: the answers to consumption and balance requests;
//! * [`command`]: every server -> device command, validated, inline or through `cmdDataUrl`;
//! * [`codes`]: the `xfCode` table (the spec refers to one it does not include);
//! * [`discount`]: the group discount rule shared with the devices' offline mode;
//! * [`limits`]: every bound, with its reason; [`error`]: one error type mapped to `xfCode`.
//!
//! Pure: no I/O. Every decoder takes bytes, never panics, and bounds what it allocates.

pub mod codes;
pub mod command;
pub mod consume;
pub mod discount;
pub mod error;
pub mod ids;
pub mod inbound;
mod json;
pub mod limits;
pub mod reply;
pub mod time;
pub mod topic;
pub mod uploads;

pub use codes::XfCode;
pub use command::{
    ApiName, Change, Command, CommandMessage, Face, GroupRule, HttpUrl, MealMenu, Media, MediaItem,
    MenuItem, OpenDoor, Photo, SetTime, SysCfg, WhiteList, WhiteListEntry, WhiteListMode,
};
pub use consume::{CommandAck, ConsumeDetail, ConsumeMode, ConsumeRequest, OfflinePricing};
pub use discount::apply_discount;
pub use error::MqttPosError;
pub use ids::{AckId, DeviceId, ImgPath, Sensitive, UserId};
pub use inbound::{decode_device_message, DeviceMessage};
pub use reply::{BalanceReply, Balances, ConsumeReply};
pub use time::{WireDate, WireTime};
pub use topic::{DeviceMessageKind, Topic, TopicPrefix, DEFAULT_TOPIC_PREFIX};
pub use uploads::{
    BalanceQuery, DeviceNotice, MenuLine, MenuRecord, NoticeType, OnlineNotice, PhotoUpload,
};
