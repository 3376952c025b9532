//! What a terminal publishes on `…/api_ret`: consumption requests and command acknowledgements.
//!
//! A consumption request is money, so it is decoded into a type that cannot hold a bad value:
//! the mode becomes a [`ConsumeDetail`] carrying exactly the fields that mode needs (copies
//! for copies modes, the device's own discounted amount for offline records), amounts become
//! non-negative [`Fen`], the time a real calendar time.
//!
//! Tolerance, because real terminals need it and the spec contradicts itself:
//! * integers arrive as JSON numbers or numeric strings (the table says `String` for
//!   `offlineDz`/`OfflineMoney`/`PayCopies`, the example sends numbers): both are accepted;
//! * `OfflineMoney`/`offlineMoney`, `PayCopies`/`payCopies`, `OfflineDz`/`offlineDz` are the
//!   same field; both spellings at once with different values are refused;
//! * `userId` may be a number;
//! * `msgType` is optional (the spec's example omits it), and so is `imgPath` (the photo is
//!   asynchronous; a payment must not fail over a photo name); every other field the table
//!   marks required is required;
//! * fields the mode does not use are ignored unread (the spec's mode 1 example carries
//!   `payCopies`, `offlineDz` and `offlineMoney`).

use serde_json::{Map, Value};

use super::error::MqttPosError;
use super::ids::{AckId, ImgPath, UserId};
use super::json::{parse_object, Fields};
use super::limits::{
    ACK_DATA_BYTES_MAX, COPIES_MAX, DISCOUNT_MAX, PAYLOAD_BYTES_MAX, POS_NUM_MAX,
    SHORT_TEXT_BYTES_MAX,
};
use super::time::WireTime;
use crate::money::Fen;

/// Longest acknowledgement message (`msg`) kept, in characters; longer ones are cut.
const ACK_MESSAGE_CHARS_MAX: usize = 256;

/// Checks a short token (`msgType`, `idenType`...): 1..=64 bytes, no control characters.
pub(crate) fn short_text(text: &str, field: &'static str) -> Result<String, MqttPosError> {
    if text.is_empty() || text.len() > SHORT_TEXT_BYTES_MAX || text.chars().any(char::is_control) {
        return Err(MqttPosError::BadText(field));
    }
    Ok(text.to_owned())
}

/// Reads the optional `msgType` (empty counts as absent).
pub(crate) fn msg_type(fields: &Fields<'_>) -> Result<Option<String>, MqttPosError> {
    match fields.str_opt(&["msgType"])? {
        None | Some("") => Ok(None),
        Some(text) => short_text(text, "msgType").map(Some),
    }
}

/// Reads a required `yyyy-MM-dd HH:mm:ss` field.
pub(crate) fn time_field(
    fields: &Fields<'_>,
    name: &'static str,
) -> Result<WireTime, MqttPosError> {
    WireTime::parse(fields.str(&[name])?).ok_or(MqttPosError::BadTime(name))
}

/// Reads a required `posNum`.
pub(crate) fn pos_num(fields: &Fields<'_>) -> Result<u64, MqttPosError> {
    let max = i64::try_from(POS_NUM_MAX).unwrap_or(i64::MAX);
    let n = fields.int(&["posNum"], 0, max)?;
    u64::try_from(n).map_err(|_| MqttPosError::OutOfRange("posNum"))
}

/// The spec's consumption modes (`mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ConsumeMode {
    /// 1: online amount consumption (在线金额消费).
    OnlineAmount = 1,
    /// 2: online recharge (在线金额充值).
    OnlineRecharge = 2,
    /// 10: reversal of the device's previous transaction whose answer it missed (冲正).
    Reversal = 10,
    /// 12: load, transfer to the card purse (圈存).
    Load = 12,
    /// 31: cancellation of an online consumption (在线消费撤销).
    Cancel = 31,
    /// 41: online copies consumption (在线份消费).
    OnlineCopies = 41,
    /// 51: offline amount record (金额离线记账).
    OfflineAmount = 51,
    /// 52: offline copies record (份离线记账).
    OfflineCopies = 52,
}

const MODES: [ConsumeMode; 8] = [
    ConsumeMode::OnlineAmount,
    ConsumeMode::OnlineRecharge,
    ConsumeMode::Reversal,
    ConsumeMode::Load,
    ConsumeMode::Cancel,
    ConsumeMode::OnlineCopies,
    ConsumeMode::OfflineAmount,
    ConsumeMode::OfflineCopies,
];

impl ConsumeMode {
    /// Every mode.
    pub fn all() -> &'static [ConsumeMode] {
        &MODES
    }

    /// The wire number.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The mode for a wire number.
    pub fn from_code(code: i64) -> Option<ConsumeMode> {
        MODES.iter().copied().find(|m| i64::from(m.code()) == code)
    }
}

/// What the device computed for an offline record: its discount and the discounted amount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OfflinePricing {
    /// `offlineDz`: the discount the device applied, 0..=100 (absent on the wire = 100).
    pub discount: u8,
    /// `offlineMoney`: the amount after the device's discount.
    pub amount: Fen,
}

/// The mode of a consumption request with the fields that mode needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsumeDetail {
    /// Mode 1.
    OnlineAmount,
    /// Mode 2.
    OnlineRecharge,
    /// Mode 10: reverse the transaction with this request's `posNum`.
    Reversal,
    /// Mode 12.
    Load,
    /// Mode 31: `payMoney` is the discounted amount of the transaction being cancelled.
    Cancel,
    /// Mode 41.
    OnlineCopies {
        /// `payCopies`, 1..=[`COPIES_MAX`], 1 when absent.
        copies: u32,
    },
    /// Mode 51: the device already charged offline; `offlineMoney` is required.
    OfflineAmount(OfflinePricing),
    /// Mode 52.
    OfflineCopies {
        /// `payCopies`, 1..=[`COPIES_MAX`], 1 when absent.
        copies: u32,
        /// The device's pricing, when it sent `offlineMoney`.
        pricing: Option<OfflinePricing>,
    },
}

impl ConsumeDetail {
    /// The wire mode.
    pub fn mode(&self) -> ConsumeMode {
        match self {
            ConsumeDetail::OnlineAmount => ConsumeMode::OnlineAmount,
            ConsumeDetail::OnlineRecharge => ConsumeMode::OnlineRecharge,
            ConsumeDetail::Reversal => ConsumeMode::Reversal,
            ConsumeDetail::Load => ConsumeMode::Load,
            ConsumeDetail::Cancel => ConsumeMode::Cancel,
            ConsumeDetail::OnlineCopies { .. } => ConsumeMode::OnlineCopies,
            ConsumeDetail::OfflineAmount(_) => ConsumeMode::OfflineAmount,
            ConsumeDetail::OfflineCopies { .. } => ConsumeMode::OfflineCopies,
        }
    }
}

/// A consumption request (`api_ret` payload with `mode`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumeRequest {
    /// `mode` and its mode-specific fields.
    pub detail: ConsumeDetail,
    /// `posNum`: the device's serial number, unique per device (idempotency key part).
    pub pos_num: u64,
    /// `payMoney`: amount before discount (for a cancellation, the discounted amount of the
    /// original).
    pub pay_money: Fen,
    /// `userId`.
    pub user_id: UserId,
    /// `payTime`, device local time.
    pub pay_time: WireTime,
    /// `idenType`: how the user identified (e.g. `reqCard`, face).
    pub iden_type: String,
    /// `imgPath`, sanitised; `None` when absent, empty, or not usable as a file name (the
    /// payment goes ahead; only its photo link is lost).
    pub img_path: Option<ImgPath>,
    /// `msgType`, when sent.
    pub msg_type: Option<String>,
}

fn copies(fields: &Fields<'_>) -> Result<u32, MqttPosError> {
    let n = fields
        .int_opt(&["payCopies", "PayCopies"], 1, i64::from(COPIES_MAX))?
        .unwrap_or(1);
    u32::try_from(n).map_err(|_| MqttPosError::OutOfRange("payCopies"))
}

fn offline_pricing(fields: &Fields<'_>) -> Result<Option<OfflinePricing>, MqttPosError> {
    let Some(amount) = fields.money_opt(&["offlineMoney", "OfflineMoney"])? else {
        return Ok(None);
    };
    let discount = fields
        .int_opt(&["offlineDz", "OfflineDz"], 0, i64::from(DISCOUNT_MAX))?
        .unwrap_or(i64::from(DISCOUNT_MAX));
    let discount = u8::try_from(discount).map_err(|_| MqttPosError::OutOfRange("offlineDz"))?;
    Ok(Some(OfflinePricing { discount, amount }))
}

impl ConsumeRequest {
    /// Decodes an `api_ret` payload that is a consumption request.
    pub fn decode(payload: &[u8]) -> Result<ConsumeRequest, MqttPosError> {
        ConsumeRequest::from_map(&parse_object(payload, PAYLOAD_BYTES_MAX)?)
    }

    pub(crate) fn from_map(map: &Map<String, Value>) -> Result<ConsumeRequest, MqttPosError> {
        let fields = Fields::new(map);
        let code = fields.int(&["mode"], i64::MIN, i64::MAX)?;
        let mode = ConsumeMode::from_code(code).ok_or(MqttPosError::UnknownMode(code))?;
        let pos_num = pos_num(&fields)?;
        let pay_money = fields.money(&["payMoney"])?;
        let user_id = UserId::new(&fields.id_text(&["userId"])?)?;
        let pay_time = time_field(&fields, "payTime")?;
        let iden_type = short_text(fields.str(&["idenType"])?, "idenType")?;
        let img_path = match fields.str_opt(&["imgPath"])? {
            None | Some("") => None,
            // A payment must not fail over its photo's name.
            Some(raw) => ImgPath::sanitise(raw).ok(),
        };
        let msg_type = msg_type(&fields)?;
        let detail = match mode {
            ConsumeMode::OnlineAmount => ConsumeDetail::OnlineAmount,
            ConsumeMode::OnlineRecharge => ConsumeDetail::OnlineRecharge,
            ConsumeMode::Reversal => ConsumeDetail::Reversal,
            ConsumeMode::Load => ConsumeDetail::Load,
            ConsumeMode::Cancel => ConsumeDetail::Cancel,
            ConsumeMode::OnlineCopies => ConsumeDetail::OnlineCopies {
                copies: copies(&fields)?,
            },
            ConsumeMode::OfflineAmount => ConsumeDetail::OfflineAmount(
                offline_pricing(&fields)?.ok_or(MqttPosError::MissingField("offlineMoney"))?,
            ),
            ConsumeMode::OfflineCopies => ConsumeDetail::OfflineCopies {
                copies: copies(&fields)?,
                pricing: offline_pricing(&fields)?,
            },
        };
        Ok(ConsumeRequest {
            detail,
            pos_num,
            pay_money,
            user_id,
            pay_time,
            iden_type,
            img_path,
            msg_type,
        })
    }

    /// The wire mode.
    pub fn mode(&self) -> ConsumeMode {
        self.detail.mode()
    }
}

/// A device's acknowledgement of a command sent with `sAckId`.
///
/// The spec says only that the device sends "the command's result" to `api_ret` with the
/// `sAckId`; the result format is in its REST documentation (not part of the spec). posgate
/// reads the REST convention's `code` (number or numeric string) and `msg`, and keeps `data`
/// as compact JSON text for whoever asked (e.g. terminal information).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandAck {
    /// `sAckId`, as sent with the command.
    pub ack_id: AckId,
    /// `code`, when the device sent one (0 = success by the REST convention).
    pub code: Option<i64>,
    /// `msg` (or `message`), cut to 256 characters.
    pub message: Option<String>,
    /// `data` as compact JSON, at most [`ACK_DATA_BYTES_MAX`] bytes.
    pub data: Option<String>,
}

impl CommandAck {
    /// Decodes an `api_ret` payload that is an acknowledgement.
    pub fn decode(payload: &[u8]) -> Result<CommandAck, MqttPosError> {
        CommandAck::from_map(&parse_object(payload, PAYLOAD_BYTES_MAX)?)
    }

    pub(crate) fn from_map(map: &Map<String, Value>) -> Result<CommandAck, MqttPosError> {
        let fields = Fields::new(map);
        let ack_id = AckId::new(fields.str(&["sAckId"])?)?;
        let code = fields.int_opt(&["code"], i64::MIN, i64::MAX)?;
        let message = fields
            .str_opt(&["msg", "message"])?
            .map(|m| m.chars().take(ACK_MESSAGE_CHARS_MAX).collect());
        let data = match fields.get(&["data"])? {
            None => None,
            Some(value) => {
                let text = value.to_string();
                if text.len() > ACK_DATA_BYTES_MAX {
                    return Err(MqttPosError::PayloadTooLarge {
                        bytes: text.len(),
                        max: ACK_DATA_BYTES_MAX,
                    });
                }
                Some(text)
            }
        };
        Ok(CommandAck {
            ack_id,
            code,
            message,
            data,
        })
    }

    /// `true` when the device reported code 0.
    pub fn is_success(&self) -> bool {
        self.code == Some(0)
    }
}
