//! One error type for the MQTT POS codec, each variant a distinct cause mapped to an `xfCode`.
//!
//! The adapter needs two things from a refusal: a precise reason for the log line and the
//! `xfCode` to answer the device with. Keeping both on one enum, with an exhaustive mapping in
//! [`MqttPosError::code`], means a new failure cannot be added without deciding its code.

use super::codes::XfCode;

/// Why a topic, a device payload or a server command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MqttPosError {
    /// The payload is longer than the topic allows.
    #[error("payload of {bytes} bytes exceeds {max} bytes")]
    PayloadTooLarge {
        /// Size received.
        bytes: usize,
        /// Limit for this topic.
        max: usize,
    },
    /// Not (even leniently) JSON: syntax error at a byte offset.
    #[error("malformed JSON at byte {offset}: {reason}")]
    Malformed {
        /// Byte offset of the error in the payload.
        offset: usize,
        /// What was wrong.
        reason: &'static str,
    },
    /// JSON nested deeper than [`super::limits::JSON_DEPTH_MAX`].
    #[error("JSON nested too deeply")]
    TooDeep,
    /// More JSON values than [`super::limits::JSON_VALUES_MAX`].
    #[error("too many JSON values")]
    TooManyValues,
    /// The payload is JSON but not an object.
    #[error("payload is not a JSON object")]
    NotAnObject,
    /// A key appears twice (or under two of its accepted spellings with different values).
    #[error("field {0:?} appears more than once")]
    DuplicateField(String),
    /// A required field is absent (or null).
    #[error("required field {0} is missing")]
    MissingField(&'static str),
    /// A field has the wrong JSON type or form.
    #[error("field {field} is not {expected}")]
    WrongType {
        /// Wire name of the field.
        field: &'static str,
        /// What was expected.
        expected: &'static str,
    },
    /// A money field is negative.
    #[error("amount {0} is negative")]
    NegativeAmount(&'static str),
    /// A money field exceeds [`crate::money::AMOUNT_FEN_MAX`].
    #[error("amount {0} is too large")]
    AmountTooLarge(&'static str),
    /// A non-money number is outside its allowed range.
    #[error("field {0} is out of range")]
    OutOfRange(&'static str),
    /// `mode` is not one of the spec's consumption modes.
    #[error("unknown consumption mode {0}")]
    UnknownMode(i64),
    /// A time or date field is not `yyyy-MM-dd HH:mm:ss` / `yyyy-MM-dd` or not a real date.
    #[error("field {0} is not a valid time")]
    BadTime(&'static str),
    /// A text or id field is empty, too long or has characters outside its charset.
    #[error("field {0} has a bad length or characters")]
    BadText(&'static str),
    /// `imgPath` is too long or has nothing usable left after sanitising.
    #[error("imgPath is not usable as a file name")]
    BadImgPath,
    /// The photo is not base64.
    #[error("photo is not valid base64")]
    BadPhoto,
    /// The photo decodes to more than [`super::limits::PHOTO_BYTES_MAX`].
    #[error("photo exceeds {max} bytes")]
    PhotoTooLarge {
        /// Limit in bytes.
        max: usize,
    },
    /// A list has more items than allowed.
    #[error("list {field} has more than {max} items")]
    TooManyItems {
        /// Wire name of the list.
        field: &'static str,
        /// Limit.
        max: usize,
    },
    /// An `api_ret` payload that is neither a consumption request (`mode`), an acknowledgement
    /// (`sAckId`) nor an online message.
    #[error("api_ret payload is neither a consumption request nor an acknowledgement")]
    UnrecognisedMessage,
    /// The topic does not have the shape `{prefix}/pos/{deviceId}/{suffix}`.
    #[error("topic does not match {{prefix}}/pos/{{deviceId}}/{{suffix}}")]
    BadTopic,
    /// The topic prefix is not the configured one, or a configured prefix is invalid.
    #[error("topic prefix is invalid or not the configured one")]
    BadPrefix,
    /// The device id is empty, too long, reserved (`all`) or has characters outside its charset.
    #[error("device id is invalid")]
    BadDeviceId,
    /// The topic suffix is not one of the spec's.
    #[error("unknown topic suffix")]
    UnknownSuffix,
    /// A server command has a field the device would refuse (server-side bug).
    #[error("command field {field} is invalid: {reason}")]
    InvalidCommand {
        /// Wire name of the field.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// A command is too large to publish inline; send it through `cmdDataUrl`.
    #[error("command of {bytes} bytes exceeds {max} bytes; use cmdDataUrl")]
    CommandTooLarge {
        /// Encoded size.
        bytes: usize,
        /// Limit.
        max: usize,
    },
}

impl MqttPosError {
    /// The `xfCode` to answer the device with when this error refuses its request.
    ///
    /// Server-side command errors map to [`XfCode::InternalError`]: they are posgate's bug,
    /// never the device's.
    pub fn code(&self) -> XfCode {
        match self {
            MqttPosError::PayloadTooLarge { .. }
            | MqttPosError::Malformed { .. }
            | MqttPosError::TooDeep
            | MqttPosError::TooManyValues
            | MqttPosError::NotAnObject
            | MqttPosError::DuplicateField(_)
            | MqttPosError::MissingField(_)
            | MqttPosError::WrongType { .. }
            | MqttPosError::OutOfRange(_)
            | MqttPosError::BadTime(_)
            | MqttPosError::BadText(_)
            | MqttPosError::BadImgPath
            | MqttPosError::BadPhoto
            | MqttPosError::PhotoTooLarge { .. }
            | MqttPosError::TooManyItems { .. }
            | MqttPosError::UnrecognisedMessage
            | MqttPosError::BadTopic
            | MqttPosError::UnknownSuffix => XfCode::MalformedRequest,
            MqttPosError::NegativeAmount(_) | MqttPosError::AmountTooLarge(_) => {
                XfCode::AmountOutOfRange
            }
            MqttPosError::UnknownMode(_) => XfCode::UnknownMode,
            MqttPosError::BadPrefix | MqttPosError::BadDeviceId => XfCode::UnknownTerminal,
            MqttPosError::InvalidCommand { .. } | MqttPosError::CommandTooLarge { .. } => {
                XfCode::InternalError
            }
        }
    }

    /// `true` when the bytes were not a usable JSON object at all (as opposed to a
    /// well-formed message with a bad field).
    pub fn is_malformed(&self) -> bool {
        matches!(
            self,
            MqttPosError::PayloadTooLarge { .. }
                | MqttPosError::Malformed { .. }
                | MqttPosError::TooDeep
                | MqttPosError::TooManyValues
                | MqttPosError::NotAnObject
        )
    }
}
