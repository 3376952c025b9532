//! JSON replies, one builder per response table of the spec.
//!
//! Every reply starts with `status` and `message`, the message being the appendix's text
//! for the code (so `00` says 交易成功; the spec's examples show the shorter 成功, which is
//! not in the table). Success builders always answer `00`; any other outcome, and the
//! reversals and the verify-code request whose tables have only status and message, use
//! [`StatusReply`]. Field names are the spec's wire contract, misspellings included
//! (`avaiablePointBalance`, `persentPoint`, `vaucher`). Following the data-type section
//! ("amount 金额, 单位元, 2 位小数, 例如 1234.50"), amounts and points go out as yuan
//! strings with two decimals, e.g. `"1.00"`, where the examples show bare numbers.
//! `transTime` is Unix milliseconds, as in every example. Fields are written in the
//! spec's order by a small ordered writer, so the bytes are stable and readable.

use super::codes::JposStatus;
use super::settle::SettleFlag;
use super::types::{BatchNo, Gender, Grade, IdType, SerialNo, TicketType, TransTime, WorkingKey};
use crate::money::Fen;
use serde_json::Value;

/// A reply that can be written to the HTTP response body.
pub trait JposReply {
    /// The JSON text.
    fn to_json(&self) -> String;

    /// The JSON text as bytes.
    fn encode(&self) -> Vec<u8> {
        self.to_json().into_bytes()
    }
}

/// Writes one JSON object with keys in call order.
struct JsonWriter {
    out: String,
}

impl JsonWriter {
    fn new(status: JposStatus) -> JsonWriter {
        let mut writer = JsonWriter {
            out: String::from("{"),
        };
        writer
            .str("status", status.as_str())
            .str("message", status.message());
        writer
    }

    fn key(&mut self, key: &str) {
        if self.out.len() > 1 {
            self.out.push(',');
        }
        self.out.push_str(&Value::from(key).to_string());
        self.out.push(':');
    }

    fn str(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key);
        self.out.push_str(&Value::from(value).to_string());
        self
    }

    fn yuan(&mut self, key: &str, value: Fen) -> &mut Self {
        self.str(key, &value.to_yuan_string())
    }

    fn int(&mut self, key: &str, value: i64) -> &mut Self {
        self.key(key);
        self.out.push_str(&value.to_string());
        self
    }

    fn unsigned(&mut self, key: &str, value: u64) -> &mut Self {
        self.key(key);
        self.out.push_str(&value.to_string());
        self
    }

    fn time(&mut self, value: TransTime) -> &mut Self {
        self.int("transTime", value.unix_millis())
    }

    fn raw(&mut self, key: &str, json: &str) -> &mut Self {
        self.key(key);
        self.out.push_str(json);
        self
    }

    fn finish(&mut self) -> String {
        self.out.push('}');
        std::mem::take(&mut self.out)
    }
}

/// Status and message only, with an optional `transTime`: every refusal, the three
/// reversal replies (where `00`, `25` and `12` mean reversed), and the verify-code reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusReply {
    /// The response code.
    pub status: JposStatus,
    /// Sent when given (lets a refused terminal still sync its clock).
    pub trans_time: Option<TransTime>,
}

impl StatusReply {
    /// A reply with only status and message.
    pub fn new(status: JposStatus) -> StatusReply {
        StatusReply {
            status,
            trans_time: None,
        }
    }
}

impl JposReply for StatusReply {
    fn to_json(&self) -> String {
        let mut writer = JsonWriter::new(self.status);
        if let Some(time) = self.trans_time {
            writer.time(time);
        }
        writer.finish()
    }
}

/// 签到 reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckinReply {
    /// `transTime`: the server clock, for the terminal to sync.
    pub trans_time: TransTime,
    /// `batchNo`: the batch the terminal opens.
    pub batch_no: BatchNo,
    /// `storeName`: the store's display name.
    pub store_name: String,
    /// `workingKey`: PIN key and MAC key under the terminal master key.
    pub working_key: WorkingKey,
}

impl JposReply for CheckinReply {
    fn to_json(&self) -> String {
        JsonWriter::new(JposStatus::Approved)
            .time(self.trans_time)
            .str("batchNo", &self.batch_no.to_wire())
            .str("storeName", &self.store_name)
            .str("workingKey", &self.working_key.to_wire())
            .finish()
    }
}

/// One voucher kind the card holds (`vaucher` of the card query reply).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoucherInfo {
    /// `id`.
    pub id: u64,
    /// `amount`: face value.
    pub amount: Fen,
    /// `num`: how many the card holds.
    pub num: u32,
    /// `name`.
    pub name: String,
}

/// 卡查询 reply: balances, vouchers and the cardholder's profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardQueryReply {
    /// `transTime`.
    pub trans_time: TransTime,
    /// `pointBalance`.
    pub point_balance: Fen,
    /// `avaiablePointBalance` (spec spelling).
    pub available_point_balance: Fen,
    /// `vaucher` (C): left out when empty.
    pub vouchers: Vec<VoucherInfo>,
    /// `idType`.
    pub id_type: IdType,
    /// `idNo`.
    pub id_no: String,
    /// `name`.
    pub name: String,
    /// `gender`.
    pub gender: Gender,
    /// `mobileNo`.
    pub mobile_no: String,
    /// `grade` (constraint blank: sent when known).
    pub grade: Option<Grade>,
    /// `address` (may be empty, as in the spec's example).
    pub address: String,
    /// `email`.
    pub email: String,
}

impl JposReply for CardQueryReply {
    fn to_json(&self) -> String {
        let mut writer = JsonWriter::new(JposStatus::Approved);
        writer
            .time(self.trans_time)
            .yuan("pointBalance", self.point_balance)
            .yuan("avaiablePointBalance", self.available_point_balance);
        if !self.vouchers.is_empty() {
            let items: Vec<String> = self
                .vouchers
                .iter()
                .map(|voucher| {
                    JsonItem::default()
                        .unsigned("id", voucher.id)
                        .yuan("amount", voucher.amount)
                        .unsigned("num", u64::from(voucher.num))
                        .str("name", &voucher.name)
                        .finish()
                })
                .collect();
            writer.raw("vaucher", &format!("[{}]", items.join(",")));
        }
        writer
            .str("idType", self.id_type.as_str())
            .str("idNo", &self.id_no)
            .str("name", &self.name)
            .str("gender", self.gender.as_str())
            .str("mobileNo", &self.mobile_no);
        if let Some(grade) = self.grade {
            writer.str("grade", grade.as_str());
        }
        writer
            .str("address", &self.address)
            .str("email", &self.email)
            .finish()
    }
}

/// A JSON object inside a list (no status/message).
#[derive(Default)]
struct JsonItem {
    writer: Option<JsonWriter>,
}

impl JsonItem {
    fn inner(&mut self) -> &mut JsonWriter {
        self.writer.get_or_insert_with(|| JsonWriter {
            out: String::from("{"),
        })
    }

    fn str(&mut self, key: &str, value: &str) -> &mut Self {
        self.inner().str(key, value);
        self
    }

    fn yuan(&mut self, key: &str, value: Fen) -> &mut Self {
        self.inner().yuan(key, value);
        self
    }

    fn unsigned(&mut self, key: &str, value: u64) -> &mut Self {
        self.inner().unsigned(key, value);
        self
    }

    fn finish(&mut self) -> String {
        self.inner().finish()
    }
}

/// 消费 reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumeReply {
    /// `transTime`: the terminal echoes it as `oriTransTime` when cancelling.
    pub trans_time: TransTime,
    /// `serialNo`: posgate's reference number.
    pub serial_no: SerialNo,
    /// `pointBalance` after the consume.
    pub point_balance: Fen,
    /// `avaiablePointBalance` after the consume.
    pub available_point_balance: Fen,
    /// `usePoint`: points spent.
    pub use_point: Fen,
    /// `persentPoint` (spec spelling): points granted.
    pub persent_point: Fen,
    /// `advertisement` (C): printed on the receipt when given.
    pub advertisement: Option<String>,
}

impl JposReply for ConsumeReply {
    fn to_json(&self) -> String {
        let mut writer = JsonWriter::new(JposStatus::Approved);
        writer
            .time(self.trans_time)
            .str("serialNo", self.serial_no.as_str())
            .yuan("pointBalance", self.point_balance)
            .yuan("avaiablePointBalance", self.available_point_balance)
            .yuan("usePoint", self.use_point)
            .yuan("persentPoint", self.persent_point);
        if let Some(advertisement) = &self.advertisement {
            writer.str("advertisement", advertisement);
        }
        writer.finish()
    }
}

/// 消费撤销 and 消费退货撤销 replies (same table; the cancel table lists `serialNo` twice,
/// it is sent once).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PointsReply {
    /// `transTime`.
    pub trans_time: TransTime,
    /// `serialNo`.
    pub serial_no: SerialNo,
    /// `pointBalance`.
    pub point_balance: Fen,
    /// `avaiablePointBalance`.
    pub available_point_balance: Fen,
    /// `usePoint`.
    pub use_point: Fen,
    /// `persentPoint`.
    pub persent_point: Fen,
}

impl JposReply for PointsReply {
    fn to_json(&self) -> String {
        JsonWriter::new(JposStatus::Approved)
            .time(self.trans_time)
            .str("serialNo", self.serial_no.as_str())
            .yuan("pointBalance", self.point_balance)
            .yuan("avaiablePointBalance", self.available_point_balance)
            .yuan("usePoint", self.use_point)
            .yuan("persentPoint", self.persent_point)
            .finish()
    }
}

/// 消费退货 reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundReply {
    /// `transTime`.
    pub trans_time: TransTime,
    /// `serialNo`.
    pub serial_no: SerialNo,
    /// `pointBalance`.
    pub point_balance: Fen,
    /// `avaiablePointBalance`.
    pub available_point_balance: Fen,
    /// `returnPoint`: points given back.
    pub return_point: Fen,
    /// `returnPersentPoint`: granted points taken back.
    pub return_persent_point: Fen,
    /// `returnCash`: cash given back.
    pub return_cash: Fen,
    /// `supplyCash`: cash the cardholder must add (补现金额).
    pub supply_cash: Fen,
}

impl JposReply for RefundReply {
    fn to_json(&self) -> String {
        JsonWriter::new(JposStatus::Approved)
            .time(self.trans_time)
            .str("serialNo", self.serial_no.as_str())
            .yuan("pointBalance", self.point_balance)
            .yuan("avaiablePointBalance", self.available_point_balance)
            .yuan("returnPoint", self.return_point)
            .yuan("returnPersentPoint", self.return_persent_point)
            .yuan("returnCash", self.return_cash)
            .yuan("supplyCash", self.supply_cash)
            .finish()
    }
}

/// One ticket the card holds (`ticket` of the ticket query reply).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketInfo {
    /// `id`.
    pub id: u64,
    /// `type`.
    pub ticket_type: TicketType,
    /// `amount`: face value.
    pub amount: Fen,
    /// `name`.
    pub name: String,
    /// `num`.
    pub num: u32,
}

/// 券查询 reply. The table lists status, message, the balances and `ticket`; the example
/// adds `transTime` (sent) and `serialNo`, `usePoint`, `persentPoint` (copied from the
/// consume example, meaningless for a query, not sent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketQueryReply {
    /// `transTime`.
    pub trans_time: TransTime,
    /// `pointBalance`.
    pub point_balance: Fen,
    /// `avaiablePointBalance`.
    pub available_point_balance: Fen,
    /// `ticket` (C): left out when empty.
    pub tickets: Vec<TicketInfo>,
}

impl JposReply for TicketQueryReply {
    fn to_json(&self) -> String {
        let mut writer = JsonWriter::new(JposStatus::Approved);
        writer
            .time(self.trans_time)
            .yuan("pointBalance", self.point_balance)
            .yuan("avaiablePointBalance", self.available_point_balance);
        if !self.tickets.is_empty() {
            let items: Vec<String> = self
                .tickets
                .iter()
                .map(|ticket| {
                    JsonItem::default()
                        .unsigned("id", ticket.id)
                        .str("type", ticket.ticket_type.as_str())
                        .yuan("amount", ticket.amount)
                        .str("name", &ticket.name)
                        .unsigned("num", u64::from(ticket.num))
                        .finish()
                })
                .collect();
            writer.raw("ticket", &format!("[{}]", items.join(",")));
        }
        writer.finish()
    }
}

/// 券消费 reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketConsumeReply {
    /// `serialNo`.
    pub serial_no: SerialNo,
    /// `advertisement` (C).
    pub advertisement: Option<String>,
    /// `transTime`.
    pub trans_time: TransTime,
}

impl JposReply for TicketConsumeReply {
    fn to_json(&self) -> String {
        let mut writer = JsonWriter::new(JposStatus::Approved);
        writer.str("serialNo", self.serial_no.as_str());
        if let Some(advertisement) = &self.advertisement {
            writer.str("advertisement", advertisement);
        }
        writer.time(self.trans_time).finish()
    }
}

/// 卡激活 reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardActivateReply {
    /// `serialNo`.
    pub serial_no: SerialNo,
    /// `transTime`.
    pub trans_time: TransTime,
}

impl JposReply for CardActivateReply {
    fn to_json(&self) -> String {
        JsonWriter::new(JposStatus::Approved)
            .str("serialNo", self.serial_no.as_str())
            .time(self.trans_time)
            .finish()
    }
}

/// 结算 reply: `settleFlag` `ss` when balanced, `ns` otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettleReply {
    /// The outcome of [`super::settle::compare`].
    pub flag: SettleFlag,
}

impl JposReply for SettleReply {
    fn to_json(&self) -> String {
        JsonWriter::new(JposStatus::Approved)
            .str("settleFlag", self.flag.as_str())
            .finish()
    }
}
