//! Topics: `{prefix}/pos/{deviceId}/{suffix}` and the broadcast `{prefix}/pos/all/api`.
//!
//! The topic tells who sent a message and what it is, before any payload is read, so it is
//! parsed into a typed [`Topic`] and only a topic that parses is routed. The prefix is a
//! device setting ("Topic 前缀", default `jdev`), so it is a parameter, validated once at
//! start-up as a [`TopicPrefix`].
//!
//! The online message: the spec says a device "sends an online message after connecting" but
//! never names its topic. posgate accepts it two ways: on the suffix `online`
//! (`{prefix}/pos/{id}/online`), and as a payload with `msgType` `online` on any device topic
//! (see [`super::inbound::decode_device_message`]).

use super::error::MqttPosError;
use super::ids::DeviceId;
use super::limits::{PREFIX_BYTES_MAX, TOPIC_BYTES_MAX};

/// The spec's default topic prefix.
pub const DEFAULT_TOPIC_PREFIX: &str = "jdev";

/// A validated topic prefix: one topic level of 1 to 32 `[A-Za-z0-9_.-]`, no `$` at the start
/// (reserved by brokers), no wildcards or separators.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TopicPrefix(String);

impl TopicPrefix {
    /// Validates a configured prefix.
    pub fn new(text: &str) -> Result<TopicPrefix, MqttPosError> {
        let ok = !text.is_empty()
            && text.len() <= PREFIX_BYTES_MAX
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
        if ok {
            Ok(TopicPrefix(text.to_owned()))
        } else {
            Err(MqttPosError::BadPrefix)
        }
    }

    /// The prefix text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Subscription filters for everything devices publish: one `{prefix}/pos/+/{suffix}` per
    /// [`DeviceMessageKind`]. The adapter may wrap them in `$share/{group}/`.
    pub fn device_filters(&self) -> Vec<String> {
        DeviceMessageKind::all()
            .iter()
            .map(|k| format!("{}/pos/+/{}", self.0, k.suffix()))
            .collect()
    }
}

impl Default for TopicPrefix {
    /// `jdev`.
    fn default() -> Self {
        TopicPrefix(DEFAULT_TOPIC_PREFIX.to_owned())
    }
}

/// What a device publishes, by topic suffix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeviceMessageKind {
    /// `api_ret`: consumption requests and command acknowledgements.
    ApiRet,
    /// `pos_pay`: balance queries.
    PosPay,
    /// `message`: device messages (face errors, enrolment events...).
    Message,
    /// `frame_imgup`: photo uploads.
    FrameImgup,
    /// `menu_rec`: dish records.
    MenuRec,
    /// `online`: the online message (posgate's choice of topic; the spec names none).
    Online,
}

const KINDS: [DeviceMessageKind; 6] = [
    DeviceMessageKind::ApiRet,
    DeviceMessageKind::PosPay,
    DeviceMessageKind::Message,
    DeviceMessageKind::FrameImgup,
    DeviceMessageKind::MenuRec,
    DeviceMessageKind::Online,
];

impl DeviceMessageKind {
    /// Every kind.
    pub fn all() -> &'static [DeviceMessageKind] {
        &KINDS
    }

    /// The topic suffix.
    pub const fn suffix(self) -> &'static str {
        match self {
            DeviceMessageKind::ApiRet => "api_ret",
            DeviceMessageKind::PosPay => "pos_pay",
            DeviceMessageKind::Message => "message",
            DeviceMessageKind::FrameImgup => "frame_imgup",
            DeviceMessageKind::MenuRec => "menu_rec",
            DeviceMessageKind::Online => "online",
        }
    }

    /// The kind for a topic suffix.
    pub fn from_suffix(suffix: &str) -> Option<DeviceMessageKind> {
        KINDS.iter().copied().find(|k| k.suffix() == suffix)
    }
}

/// A parsed topic of the MQTT POS protocol (prefix excluded: it is configuration).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    /// `{prefix}/pos/{deviceId}/api`: server to one device.
    DeviceApi(DeviceId),
    /// `{prefix}/pos/all/api`: server to every device.
    BroadcastApi,
    /// `{prefix}/pos/{deviceId}/{suffix}`: device to server.
    FromDevice {
        /// The publishing device.
        device: DeviceId,
        /// What it published.
        kind: DeviceMessageKind,
    },
}

impl Topic {
    /// Parses a topic under `prefix`.
    pub fn parse(prefix: &TopicPrefix, topic: &str) -> Result<Topic, MqttPosError> {
        if topic.len() > TOPIC_BYTES_MAX {
            return Err(MqttPosError::BadTopic);
        }
        let mut levels = topic.split('/');
        let (Some(first), Some(pos), Some(id), Some(suffix), None) = (
            levels.next(),
            levels.next(),
            levels.next(),
            levels.next(),
            levels.next(),
        ) else {
            return Err(MqttPosError::BadTopic);
        };
        if first != prefix.as_str() {
            return Err(MqttPosError::BadPrefix);
        }
        if pos != "pos" {
            return Err(MqttPosError::BadTopic);
        }
        if id == "all" {
            return if suffix == "api" {
                Ok(Topic::BroadcastApi)
            } else {
                Err(MqttPosError::BadDeviceId)
            };
        }
        let device = DeviceId::new(id)?;
        if suffix == "api" {
            return Ok(Topic::DeviceApi(device));
        }
        let kind = DeviceMessageKind::from_suffix(suffix).ok_or(MqttPosError::UnknownSuffix)?;
        Ok(Topic::FromDevice { device, kind })
    }

    /// The topic text under `prefix`.
    pub fn format(&self, prefix: &TopicPrefix) -> String {
        match self {
            Topic::DeviceApi(device) => format!("{}/pos/{}/api", prefix.as_str(), device),
            Topic::BroadcastApi => format!("{}/pos/all/api", prefix.as_str()),
            Topic::FromDevice { device, kind } => {
                format!("{}/pos/{}/{}", prefix.as_str(), device, kind.suffix())
            }
        }
    }

    /// The device the topic names, if it names one.
    pub fn device(&self) -> Option<&DeviceId> {
        match self {
            Topic::DeviceApi(device) | Topic::FromDevice { device, .. } => Some(device),
            Topic::BroadcastApi => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn jdev() -> TopicPrefix {
        TopicPrefix::default()
    }

    #[test]
    fn parses_spec_topics() {
        let id = DeviceId::new("12345").unwrap();
        assert_eq!(
            Topic::parse(&jdev(), "jdev/pos/12345/api"),
            Ok(Topic::DeviceApi(id.clone()))
        );
        assert_eq!(
            Topic::parse(&jdev(), "jdev/pos/all/api"),
            Ok(Topic::BroadcastApi)
        );
        for kind in DeviceMessageKind::all() {
            let topic = Topic::FromDevice {
                device: id.clone(),
                kind: *kind,
            };
            let text = topic.format(&jdev());
            assert_eq!(text, format!("jdev/pos/12345/{}", kind.suffix()));
            assert_eq!(Topic::parse(&jdev(), &text), Ok(topic));
        }
        let custom = TopicPrefix::new("canteen-1").unwrap();
        assert_eq!(
            Topic::parse(&custom, "canteen-1/pos/5394611/api_ret").map(|t| t.format(&custom)),
            Ok("canteen-1/pos/5394611/api_ret".to_owned())
        );
        assert_eq!(
            jdev().device_filters().len(),
            DeviceMessageKind::all().len()
        );
        assert_eq!(jdev().device_filters()[0], "jdev/pos/+/api_ret");
    }

    #[test]
    fn refuses_bad_topics() {
        let cases = [
            ("other/pos/1/api", MqttPosError::BadPrefix),
            ("jdev/pos/1", MqttPosError::BadTopic),
            ("jdev/pos/1/api/x", MqttPosError::BadTopic),
            ("jdev/pay/1/api", MqttPosError::BadTopic),
            ("jdev/pos/all/api_ret", MqttPosError::BadDeviceId),
            ("jdev/pos//api", MqttPosError::BadDeviceId),
            ("jdev/pos/+/api", MqttPosError::BadDeviceId),
            ("jdev/pos/1/unknown", MqttPosError::UnknownSuffix),
        ];
        for (topic, error) in cases {
            assert_eq!(Topic::parse(&jdev(), topic), Err(error), "{topic}");
        }
        for bad in ["", "a/b", "+", "#", "$sys", &"a".repeat(33)] {
            assert_eq!(TopicPrefix::new(bad), Err(MqttPosError::BadPrefix));
        }
    }

    proptest! {
        #[test]
        fn never_panics(topic in "\\PC{0,160}") {
            let _ = Topic::parse(&jdev(), &topic);
            let _ = TopicPrefix::new(&topic);
        }

        #[test]
        fn round_trips(id in "[A-Za-z0-9_-]{1,32}", k in 0usize..6) {
            prop_assume!(id != "all");
            let topic = Topic::FromDevice { device: DeviceId::new(&id).unwrap(), kind: KINDS[k] };
            prop_assert_eq!(Topic::parse(&jdev(), &topic.format(&jdev())), Ok(topic));
        }
    }
}
