//! What a terminal publishes besides `api_ret`: balance queries (`pos_pay`), messages
//! (`message`), photos (`frame_imgup`), dish records (`menu_rec`) and the online message.
//!
//! Same rules as consumption requests: `msgType` is optional everywhere (the examples omit
//! it), every other field the spec's table marks required is required, ids may be numbers or
//! strings. Two spec quirks are handled here and only here: the message table calls `user`
//! "0 = success" while the example sends a user id (it is read as a user id), and the photo
//! example's `"[base64格式数据]"` is a placeholder, not base64 (it is refused).

use std::fmt;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use serde_json::{Map, Value};

use super::consume::{msg_type, pos_num, short_text, time_field};
use super::error::MqttPosError;
use super::ids::{check_id, ImgPath, UserId};
use super::json::{parse_object, Fields};
use super::limits::{
    MEAL_GROUP_MAX, MENU_LINES_MAX, MENU_QUANTITY_MAX, ONLINE_ATTRIBUTES_MAX, PAYLOAD_BYTES_MAX,
    PHOTO_BYTES_MAX, PHOTO_PAYLOAD_BYTES_MAX, SHORT_TEXT_BYTES_MAX,
};
use super::time::WireTime;

/// Longest id of a dish in a dish record.
const DISH_ID_BYTES_MAX: usize = 32;
/// Longest value kept of an online message's attribute, in characters.
const ONLINE_VALUE_CHARS_MAX: usize = 256;

/// A balance query (`pos_pay`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BalanceQuery {
    /// `userId`.
    pub user_id: UserId,
    /// `msgType`, when sent.
    pub msg_type: Option<String>,
}

impl BalanceQuery {
    /// Decodes a `pos_pay` payload.
    pub fn decode(payload: &[u8]) -> Result<BalanceQuery, MqttPosError> {
        BalanceQuery::from_map(&parse_object(payload, PAYLOAD_BYTES_MAX)?)
    }

    pub(crate) fn from_map(map: &Map<String, Value>) -> Result<BalanceQuery, MqttPosError> {
        let fields = Fields::new(map);
        Ok(BalanceQuery {
            user_id: UserId::new(&fields.id_text(&["userId"])?)?,
            msg_type: msg_type(&fields)?,
        })
    }
}

/// The `type` of a device message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoticeType {
    /// `fe`: face processing error (`param` -4000 no face found, -4001 unusable face).
    FaceError,
    /// `ad`: a record (person) was added on the device.
    RecordAdded,
    /// `af`: a fingerprint was enrolled.
    FingerprintEnrolled,
    /// `uk`: a card was issued.
    CardIssued,
    /// `ap`: a photo was enrolled.
    PhotoEnrolled,
    /// Another type (device models differ); kept as sent.
    Other(String),
}

impl NoticeType {
    fn parse(text: &str) -> NoticeType {
        match text {
            "fe" => NoticeType::FaceError,
            "ad" => NoticeType::RecordAdded,
            "af" => NoticeType::FingerprintEnrolled,
            "uk" => NoticeType::CardIssued,
            "ap" => NoticeType::PhotoEnrolled,
            other => NoticeType::Other(other.to_owned()),
        }
    }

    /// The wire text.
    pub fn as_str(&self) -> &str {
        match self {
            NoticeType::FaceError => "fe",
            NoticeType::RecordAdded => "ad",
            NoticeType::FingerprintEnrolled => "af",
            NoticeType::CardIssued => "uk",
            NoticeType::PhotoEnrolled => "ap",
            NoticeType::Other(text) => text,
        }
    }
}

/// A device message (`message` topic).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceNotice {
    /// `user`: the user concerned.
    pub user: UserId,
    /// `time`.
    pub time: WireTime,
    /// `type`.
    pub kind: NoticeType,
    /// `param` (a number is kept as its text).
    pub param: String,
    /// `msgType`, when sent.
    pub msg_type: Option<String>,
}

impl DeviceNotice {
    /// Decodes a `message` payload.
    pub fn decode(payload: &[u8]) -> Result<DeviceNotice, MqttPosError> {
        DeviceNotice::from_map(&parse_object(payload, PAYLOAD_BYTES_MAX)?)
    }

    pub(crate) fn from_map(map: &Map<String, Value>) -> Result<DeviceNotice, MqttPosError> {
        let fields = Fields::new(map);
        let user =
            UserId::new(&fields.id_text(&["user"])?).map_err(|_| MqttPosError::BadText("user"))?;
        let time = time_field(&fields, "time")?;
        let kind = NoticeType::parse(&short_text(fields.str(&["type"])?, "type")?);
        let param = fields.id_text(&["param"])?;
        if param.len() > SHORT_TEXT_BYTES_MAX || param.chars().any(char::is_control) {
            return Err(MqttPosError::BadText("param"));
        }
        Ok(DeviceNotice {
            user,
            time,
            kind,
            param,
            msg_type: msg_type(&fields)?,
        })
    }
}

/// A photo upload (`frame_imgup`): the photo of a consumption, named by its `imgPath`.
#[derive(Clone, PartialEq, Eq)]
pub struct PhotoUpload {
    /// `imgPath`, sanitised (the same name the consumption request carried).
    pub img_path: ImgPath,
    /// The decoded photo bytes, at most [`PHOTO_BYTES_MAX`].
    pub photo: Vec<u8>,
    /// `msgType`, when sent.
    pub msg_type: Option<String>,
}

impl fmt::Debug for PhotoUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PhotoUpload")
            .field("img_path", &self.img_path)
            .field("photo_bytes", &self.photo.len())
            .field("msg_type", &self.msg_type)
            .finish()
    }
}

/// Decodes the photo text: standard or URL-safe alphabet, padded or not, line breaks and
/// spaces ignored, an optional `data:image/…;base64,` prefix.
fn decode_photo(text: &str) -> Result<Vec<u8>, MqttPosError> {
    let body = match text.strip_prefix("data:") {
        Some(rest) => rest
            .find(";base64,")
            .and_then(|at| rest.get(at + ";base64,".len()..))
            .ok_or(MqttPosError::BadPhoto)?,
        None => text,
    };
    // Largest base64 text of PHOTO_BYTES_MAX bytes.
    let encoded_max = PHOTO_BYTES_MAX.div_ceil(3) * 4;
    let compact: String = body
        .chars()
        .filter(|c| !matches!(c, '\r' | '\n' | ' ' | '\t'))
        .take(encoded_max + 1)
        .collect();
    if compact.len() > encoded_max {
        return Err(MqttPosError::PhotoTooLarge {
            max: PHOTO_BYTES_MAX,
        });
    }
    if compact.is_empty() {
        return Err(MqttPosError::BadPhoto);
    }
    let config =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let alphabet = if compact.contains(['-', '_']) {
        &alphabet::URL_SAFE
    } else {
        &alphabet::STANDARD
    };
    let photo = GeneralPurpose::new(alphabet, config)
        .decode(compact.as_bytes())
        .map_err(|_| MqttPosError::BadPhoto)?;
    if photo.len() > PHOTO_BYTES_MAX {
        return Err(MqttPosError::PhotoTooLarge {
            max: PHOTO_BYTES_MAX,
        });
    }
    Ok(photo)
}

impl PhotoUpload {
    /// Decodes a `frame_imgup` payload (at most [`PHOTO_PAYLOAD_BYTES_MAX`]).
    pub fn decode(payload: &[u8]) -> Result<PhotoUpload, MqttPosError> {
        PhotoUpload::from_map(&parse_object(payload, PHOTO_PAYLOAD_BYTES_MAX)?)
    }

    pub(crate) fn from_map(map: &Map<String, Value>) -> Result<PhotoUpload, MqttPosError> {
        let fields = Fields::new(map);
        let img_path = ImgPath::sanitise(fields.str(&["imgPath"])?)?;
        let photo = decode_photo(fields.str(&["photo"])?)?;
        Ok(PhotoUpload {
            img_path,
            photo,
            msg_type: msg_type(&fields)?,
        })
    }
}

/// One line of a dish record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MenuLine {
    /// `id`: the dish id (the spec's example sends a number; kept as text).
    pub id: String,
    /// `num`: how many, 1..=[`MENU_QUANTITY_MAX`].
    pub quantity: u32,
}

/// A dish record (`menu_rec`): which dishes a transaction paid for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MenuRecord {
    /// `posNum` of the transaction.
    pub pos_num: u64,
    /// `payTime`.
    pub pay_time: WireTime,
    /// `group`: menu group 0..=6.
    pub group: u8,
    /// `list` (optional on the wire: empty when absent).
    pub lines: Vec<MenuLine>,
}

impl MenuRecord {
    /// Decodes a `menu_rec` payload.
    pub fn decode(payload: &[u8]) -> Result<MenuRecord, MqttPosError> {
        MenuRecord::from_map(&parse_object(payload, PAYLOAD_BYTES_MAX)?)
    }

    pub(crate) fn from_map(map: &Map<String, Value>) -> Result<MenuRecord, MqttPosError> {
        let fields = Fields::new(map);
        let pos_num = pos_num(&fields)?;
        let pay_time = time_field(&fields, "payTime")?;
        let group = fields.int(&["group"], 0, i64::from(MEAL_GROUP_MAX))?;
        let group = u8::try_from(group).map_err(|_| MqttPosError::OutOfRange("group"))?;
        let items = fields.list_opt(&["list"], MENU_LINES_MAX)?.unwrap_or(&[]);
        let mut lines = Vec::with_capacity(items.len());
        for item in items {
            let Value::Object(line) = item else {
                return Err(MqttPosError::WrongType {
                    field: "list",
                    expected: "a list of objects",
                });
            };
            let line = Fields::new(line);
            let id = line.id_text(&["id"])?;
            if !check_id(&id, DISH_ID_BYTES_MAX) {
                return Err(MqttPosError::BadText("id"));
            }
            let quantity = line.int(&["num"], 1, i64::from(MENU_QUANTITY_MAX))?;
            let quantity = u32::try_from(quantity).map_err(|_| MqttPosError::OutOfRange("num"))?;
            lines.push(MenuLine { id, quantity });
        }
        Ok(MenuRecord {
            pos_num,
            pay_time,
            group,
            lines,
        })
    }
}

/// The online message a device sends after connecting.
///
/// The spec names neither its topic nor its fields, so posgate keeps it informational:
/// `msgType` and up to [`ONLINE_ATTRIBUTES_MAX`] scalar fields as text (values cut to 256
/// characters, nested values skipped), in key order. Nothing in it is trusted for payments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnlineNotice {
    /// `msgType`, when sent.
    pub msg_type: Option<String>,
    /// Other scalar fields, `(key, value as text)`.
    pub attributes: Vec<(String, String)>,
}

impl OnlineNotice {
    /// `true` when a `msgType` names the online message (`online`, any case).
    pub fn is_online_msg_type(msg_type: &str) -> bool {
        msg_type.eq_ignore_ascii_case("online")
    }

    /// Decodes an online message.
    pub fn decode(payload: &[u8]) -> Result<OnlineNotice, MqttPosError> {
        OnlineNotice::from_map(&parse_object(payload, PAYLOAD_BYTES_MAX)?)
    }

    pub(crate) fn from_map(map: &Map<String, Value>) -> Result<OnlineNotice, MqttPosError> {
        let fields = Fields::new(map);
        let msg_type = msg_type(&fields)?;
        let mut attributes: Vec<(String, String)> = map
            .iter()
            .filter(|(key, _)| key.as_str() != "msgType" && check_id(key, SHORT_TEXT_BYTES_MAX))
            .filter_map(|(key, value)| {
                let text = match value {
                    Value::String(s) => s.chars().take(ONLINE_VALUE_CHARS_MAX).collect(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    Value::Null | Value::Array(_) | Value::Object(_) => return None,
                };
                Some((key.clone(), text))
            })
            .collect();
        attributes.sort();
        attributes.truncate(ONLINE_ATTRIBUTES_MAX);
        Ok(OnlineNotice {
            msg_type,
            attributes,
        })
    }
}
