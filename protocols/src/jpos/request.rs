//! Typed requests of the fourteen interfaces, decoded from (and encoded to) form bodies.
//!
//! One struct per request table of the spec, fields in the spec's order and validated in
//! that order, so the first bad field decides the refusal code. The three reversals (冲正)
//! carry the original request's body unchanged ("请求和原报文一致"), so they are a
//! [`Reversal`] wrapping the original's struct. [`decode_request`] is the single entry:
//! an [`Endpoint`] from the path plus the body bytes give a [`Request`]. Every struct can
//! also write itself back as a form body, for terminal simulators and round-trip tests.

use super::codes::JposError;
use super::decode::{
    optional, optional_amount, required, required_amount, tickets, tickets_json, vouchers,
    vouchers_json, TicketUse, VoucherUse,
};
use super::endpoint::Endpoint;
use super::form::{Form, FormWriter};
use super::settle::SettleTotals;
use super::types::{
    BatchNo, CardNo, ConsumeType, IdNo, IdType, MobileNo, OperatorNo, PinBlock, RegisterTraceNo,
    SerialNo, StoreNo, TerminalNo, TraceNo, Track, TransDate, TransTime, VerifyCode,
};
use crate::money::Fen;

/// The terminal a request comes from (`storeNo`, `terminalNo`): the entity-actor key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TerminalRef {
    /// `storeNo`.
    pub store_no: StoreNo,
    /// `terminalNo`.
    pub terminal_no: TerminalNo,
}

impl TerminalRef {
    fn from_form(form: &Form) -> Result<TerminalRef, JposError> {
        Ok(TerminalRef {
            store_no: StoreNo::parse("storeNo", required(form, "storeNo")?)?,
            terminal_no: TerminalNo::parse("terminalNo", required(form, "terminalNo")?)?,
        })
    }

    fn write(&self, writer: &mut FormWriter) {
        writer
            .field("storeNo", self.store_no.as_str())
            .field("terminalNo", self.terminal_no.as_str());
    }
}

/// A transaction's place in the terminal's journal (`batchNo`, `traceNo`), or with the
/// `ori` prefix, the original's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TraceRef {
    /// `batchNo` / `oriBatchNo`.
    pub batch_no: BatchNo,
    /// `traceNo` / `oriTraceNo`.
    pub trace_no: TraceNo,
}

impl TraceRef {
    fn from_form(form: &Form) -> Result<TraceRef, JposError> {
        let trace_no = TraceNo::parse("traceNo", required(form, "traceNo")?)?;
        let batch_no = BatchNo::parse("batchNo", required(form, "batchNo")?)?;
        Ok(TraceRef { batch_no, trace_no })
    }

    fn original_from_form(form: &Form) -> Result<TraceRef, JposError> {
        let batch_no = BatchNo::parse("oriBatchNo", required(form, "oriBatchNo")?)?;
        let trace_no = TraceNo::parse("oriTraceNo", required(form, "oriTraceNo")?)?;
        Ok(TraceRef { batch_no, trace_no })
    }

    fn write(&self, writer: &mut FormWriter) {
        writer
            .field("traceNo", &self.trace_no.to_wire())
            .field("batchNo", &self.batch_no.to_wire());
    }

    fn write_original(&self, writer: &mut FormWriter) {
        writer
            .field("oriBatchNo", &self.batch_no.to_wire())
            .field("oriTraceNo", &self.trace_no.to_wire());
    }
}

/// The card of a card-present request: `cardNo` plus the conditional tracks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardData {
    /// `cardNo`.
    pub card_no: CardNo,
    /// `track2` (C).
    pub track2: Option<Track>,
    /// `track3` (C).
    pub track3: Option<Track>,
}

impl CardData {
    /// Whether track 2 says the card expired before (`year`, `month`): a card is valid
    /// through the last day of its expiry month. No track 2, or one without a date: `false`.
    pub fn expired_before(&self, year: u16, month: u8) -> bool {
        self.track2
            .as_ref()
            .and_then(Track::track2_expiry)
            .is_some_and(|expiry| expiry < (year, month))
    }

    fn card_no(form: &Form) -> Result<CardNo, JposError> {
        CardNo::parse(required(form, "cardNo")?)
    }

    fn tracks(form: &Form, card_no: CardNo) -> Result<CardData, JposError> {
        Ok(CardData {
            card_no,
            track2: optional(form, "track2")
                .map(Track::parse_track2)
                .transpose()?,
            track3: optional(form, "track3")
                .map(Track::parse_track3)
                .transpose()?,
        })
    }

    fn write_tracks(&self, writer: &mut FormWriter) {
        writer
            .optional("track2", self.track2.as_ref().map(Track::expose))
            .optional("track3", self.track3.as_ref().map(Track::expose));
    }
}

/// The head shared by most requests: terminal, card, trace and tracks, read in the
/// spec's order (storeNo, terminalNo, cardNo, traceNo, batchNo, track2, track3).
fn card_head(form: &Form) -> Result<(TerminalRef, CardData, TraceRef), JposError> {
    let terminal = TerminalRef::from_form(form)?;
    let card_no = CardData::card_no(form)?;
    let trace = TraceRef::from_form(form)?;
    let card = CardData::tracks(form, card_no)?;
    Ok((terminal, card, trace))
}

fn write_card_head(
    writer: &mut FormWriter,
    terminal: &TerminalRef,
    card: &CardData,
    trace: &TraceRef,
) {
    terminal.write(writer);
    writer.field("cardNo", card.card_no.expose());
    trace.write(writer);
    card.write_tracks(writer);
}

/// 签到: terminal checkin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckinRequest {
    /// `storeNo`, `terminalNo`.
    pub terminal: TerminalRef,
    /// `operatorNo`.
    pub operator_no: OperatorNo,
}

impl CheckinRequest {
    fn from_form(form: &Form) -> Result<CheckinRequest, JposError> {
        Ok(CheckinRequest {
            terminal: TerminalRef::from_form(form)?,
            operator_no: OperatorNo::parse("operatorNo", required(form, "operatorNo")?)?,
        })
    }

    /// The form body.
    pub fn to_form(&self) -> Vec<u8> {
        let mut writer = FormWriter::default();
        self.terminal.write(&mut writer);
        writer
            .field("operatorNo", self.operator_no.as_str())
            .finish()
    }
}

/// 卡查询 and 券查询: card or ticket query (same fields).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryRequest {
    /// `storeNo`, `terminalNo`.
    pub terminal: TerminalRef,
    /// `cardNo`.
    pub card_no: CardNo,
    /// `traceNo`, `batchNo`.
    pub trace: TraceRef,
}

impl QueryRequest {
    fn from_form(form: &Form) -> Result<QueryRequest, JposError> {
        Ok(QueryRequest {
            terminal: TerminalRef::from_form(form)?,
            card_no: CardData::card_no(form)?,
            trace: TraceRef::from_form(form)?,
        })
    }

    /// The form body.
    pub fn to_form(&self) -> Vec<u8> {
        let mut writer = FormWriter::default();
        self.terminal.write(&mut writer);
        writer.field("cardNo", self.card_no.expose());
        self.trace.write(&mut writer);
        writer.finish()
    }
}

/// 消费: consume (points and/or cash and/or vouchers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumeRequest {
    /// `storeNo`, `terminalNo`.
    pub terminal: TerminalRef,
    /// `cardNo`, `track2`, `track3`.
    pub card: CardData,
    /// `traceNo`, `batchNo`.
    pub trace: TraceRef,
    /// `password` (C): the PIN block.
    pub password: Option<PinBlock>,
    /// `consumeType`.
    pub consume_type: ConsumeType,
    /// `pointAmount`: the part paid with points, in yuan.
    pub point_amount: Fen,
    /// `cashAmount`: the part paid in cash, in yuan.
    pub cash_amount: Fen,
    /// `vaucher` (C, spec spelling): vouchers used; empty when none.
    pub vouchers: Vec<VoucherUse>,
    /// `registerTraceNo` (C): the cash register's trace number.
    pub register_trace_no: Option<RegisterTraceNo>,
}

impl ConsumeRequest {
    fn from_form(form: &Form) -> Result<ConsumeRequest, JposError> {
        let (terminal, card, trace) = card_head(form)?;
        Ok(ConsumeRequest {
            terminal,
            card,
            trace,
            password: optional(form, "password")
                .map(PinBlock::parse)
                .transpose()?,
            consume_type: ConsumeType::parse("consumeType", required(form, "consumeType")?)?,
            point_amount: required_amount(form, "pointAmount")?,
            cash_amount: required_amount(form, "cashAmount")?,
            vouchers: vouchers(form)?,
            register_trace_no: optional(form, "registerTraceNo")
                .map(|text| RegisterTraceNo::parse("registerTraceNo", text))
                .transpose()?,
        })
    }

    /// The form body.
    pub fn to_form(&self) -> Vec<u8> {
        let mut writer = FormWriter::default();
        write_card_head(&mut writer, &self.terminal, &self.card, &self.trace);
        writer
            .optional(
                "password",
                self.password.as_ref().map(PinBlock::to_wire).as_deref(),
            )
            .field("consumeType", self.consume_type.as_str())
            .field("pointAmount", &self.point_amount.to_yuan_string())
            .field("cashAmount", &self.cash_amount.to_yuan_string());
        if !self.vouchers.is_empty() {
            writer.field("vaucher", &vouchers_json(&self.vouchers));
        }
        writer
            .optional(
                "registerTraceNo",
                self.register_trace_no.as_ref().map(RegisterTraceNo::as_str),
            )
            .finish()
    }
}

/// 消费撤销: cancel of a consume.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CancelRequest {
    /// `storeNo`, `terminalNo`.
    pub terminal: TerminalRef,
    /// `cardNo`, `track2`, `track3`.
    pub card: CardData,
    /// `traceNo`, `batchNo`.
    pub trace: TraceRef,
    /// `oriBatchNo`, `oriTraceNo`: the consume being cancelled.
    pub original: TraceRef,
    /// `oriTransTime`: the consume's `transTime`.
    pub ori_trans_time: TransTime,
    /// `oriRegisterTraceNo` (C).
    pub ori_register_trace_no: Option<RegisterTraceNo>,
}

impl CancelRequest {
    fn from_form(form: &Form) -> Result<CancelRequest, JposError> {
        let (terminal, card, trace) = card_head(form)?;
        Ok(CancelRequest {
            terminal,
            card,
            trace,
            original: TraceRef::original_from_form(form)?,
            ori_trans_time: TransTime::parse("oriTransTime", required(form, "oriTransTime")?)?,
            ori_register_trace_no: optional(form, "oriRegisterTraceNo")
                .map(|text| RegisterTraceNo::parse("oriRegisterTraceNo", text))
                .transpose()?,
        })
    }

    /// The form body.
    pub fn to_form(&self) -> Vec<u8> {
        let mut writer = FormWriter::default();
        write_card_head(&mut writer, &self.terminal, &self.card, &self.trace);
        self.original.write_original(&mut writer);
        writer
            .field(
                "oriTransTime",
                &self.ori_trans_time.unix_millis().to_string(),
            )
            .optional(
                "oriRegisterTraceNo",
                self.ori_register_trace_no
                    .as_ref()
                    .map(RegisterTraceNo::as_str),
            )
            .finish()
    }
}

/// 消费退货: refund of a consume, found by its reference number and date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundRequest {
    /// `storeNo`, `terminalNo`.
    pub terminal: TerminalRef,
    /// `cardNo`, `track2`, `track3`.
    pub card: CardData,
    /// `traceNo`, `batchNo`.
    pub trace: TraceRef,
    /// `oriSerialNo`: the consume's `serialNo`.
    pub ori_serial_no: SerialNo,
    /// `oriTransDate`: the consume's date.
    pub ori_trans_date: TransDate,
    /// `oriRegisterTraceNo` (`!` here).
    pub ori_register_trace_no: RegisterTraceNo,
    /// `pointAmount` (C, posgate's addition under the spec's versioning rule 2): the points
    /// to give back for a partial refund. With `cashAmount` absent too, the refund covers
    /// whatever is left of the original.
    pub point_amount: Option<Fen>,
    /// `cashAmount` (C, posgate's addition): the cash part of a partial refund.
    pub cash_amount: Option<Fen>,
}

impl RefundRequest {
    fn from_form(form: &Form) -> Result<RefundRequest, JposError> {
        let (terminal, card, trace) = card_head(form)?;
        Ok(RefundRequest {
            terminal,
            card,
            trace,
            ori_serial_no: SerialNo::parse("oriSerialNo", required(form, "oriSerialNo")?)?,
            ori_trans_date: TransDate::parse("oriTransDate", required(form, "oriTransDate")?)?,
            ori_register_trace_no: RegisterTraceNo::parse(
                "oriRegisterTraceNo",
                required(form, "oriRegisterTraceNo")?,
            )?,
            point_amount: optional_amount(form, "pointAmount")?,
            cash_amount: optional_amount(form, "cashAmount")?,
        })
    }

    /// The form body.
    pub fn to_form(&self) -> Vec<u8> {
        let mut writer = FormWriter::default();
        write_card_head(&mut writer, &self.terminal, &self.card, &self.trace);
        writer
            .field("oriSerialNo", self.ori_serial_no.as_str())
            .field("oriTransDate", &self.ori_trans_date.to_wire())
            .field("oriRegisterTraceNo", self.ori_register_trace_no.as_str())
            .optional(
                "pointAmount",
                self.point_amount.map(Fen::to_yuan_string).as_deref(),
            )
            .optional(
                "cashAmount",
                self.cash_amount.map(Fen::to_yuan_string).as_deref(),
            )
            .finish()
    }
}

/// 消费退货撤销: cancel of a refund.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundCancelRequest {
    /// `storeNo`, `terminalNo`.
    pub terminal: TerminalRef,
    /// `cardNo`, `track2`, `track3`.
    pub card: CardData,
    /// `traceNo`, `batchNo`.
    pub trace: TraceRef,
    /// `oriSerialNo`: the refund's `serialNo`.
    pub ori_serial_no: SerialNo,
    /// `oriBatchNo`, `oriTraceNo`: the refund being cancelled.
    pub original: TraceRef,
    /// `oriTransTime`.
    pub ori_trans_time: TransTime,
    /// `oriRegisterTraceNo` (`!` here).
    pub ori_register_trace_no: RegisterTraceNo,
}

impl RefundCancelRequest {
    fn from_form(form: &Form) -> Result<RefundCancelRequest, JposError> {
        let (terminal, card, trace) = card_head(form)?;
        Ok(RefundCancelRequest {
            terminal,
            card,
            trace,
            ori_serial_no: SerialNo::parse("oriSerialNo", required(form, "oriSerialNo")?)?,
            original: TraceRef::original_from_form(form)?,
            ori_trans_time: TransTime::parse("oriTransTime", required(form, "oriTransTime")?)?,
            ori_register_trace_no: RegisterTraceNo::parse(
                "oriRegisterTraceNo",
                required(form, "oriRegisterTraceNo")?,
            )?,
        })
    }

    /// The form body.
    pub fn to_form(&self) -> Vec<u8> {
        let mut writer = FormWriter::default();
        write_card_head(&mut writer, &self.terminal, &self.card, &self.trace);
        writer.field("oriSerialNo", self.ori_serial_no.as_str());
        self.original.write_original(&mut writer);
        writer
            .field(
                "oriTransTime",
                &self.ori_trans_time.unix_millis().to_string(),
            )
            .field("oriRegisterTraceNo", self.ori_register_trace_no.as_str())
            .finish()
    }
}

/// 券消费: ticket consume.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketConsumeRequest {
    /// `storeNo`, `terminalNo`.
    pub terminal: TerminalRef,
    /// `cardNo`, `track2`, `track3`.
    pub card: CardData,
    /// `traceNo`, `batchNo`.
    pub trace: TraceRef,
    /// `ticket`: the tickets consumed, at least one.
    pub tickets: Vec<TicketUse>,
}

impl TicketConsumeRequest {
    fn from_form(form: &Form) -> Result<TicketConsumeRequest, JposError> {
        let (terminal, card, trace) = card_head(form)?;
        Ok(TicketConsumeRequest {
            terminal,
            card,
            trace,
            tickets: tickets(form)?,
        })
    }

    /// The form body.
    pub fn to_form(&self) -> Vec<u8> {
        let mut writer = FormWriter::default();
        write_card_head(&mut writer, &self.terminal, &self.card, &self.trace);
        writer
            .field("ticket", &tickets_json(&self.tickets))
            .finish()
    }
}

/// 发送验证码: send an SMS verification code (before a card activation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendVerifyCodeRequest {
    /// `storeNo`, `terminalNo`.
    pub terminal: TerminalRef,
    /// `mobileNo`.
    pub mobile_no: MobileNo,
    /// `traceNo` (optional here).
    pub trace_no: Option<TraceNo>,
    /// `batchNo` (optional here).
    pub batch_no: Option<BatchNo>,
}

impl SendVerifyCodeRequest {
    fn from_form(form: &Form) -> Result<SendVerifyCodeRequest, JposError> {
        Ok(SendVerifyCodeRequest {
            terminal: TerminalRef::from_form(form)?,
            mobile_no: MobileNo::parse(required(form, "mobileNo")?)?,
            trace_no: optional(form, "traceNo")
                .map(|text| TraceNo::parse("traceNo", text))
                .transpose()?,
            batch_no: optional(form, "batchNo")
                .map(|text| BatchNo::parse("batchNo", text))
                .transpose()?,
        })
    }

    /// The form body.
    pub fn to_form(&self) -> Vec<u8> {
        let mut writer = FormWriter::default();
        self.terminal.write(&mut writer);
        writer
            .field("mobileNo", self.mobile_no.as_str())
            .optional("traceNo", self.trace_no.map(TraceNo::to_wire).as_deref())
            .optional("batchNo", self.batch_no.map(BatchNo::to_wire).as_deref())
            .finish()
    }
}

/// 卡激活: card activation, confirmed by the SMS code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardActivateRequest {
    /// `storeNo`, `terminalNo`.
    pub terminal: TerminalRef,
    /// `cardNo`, `track2`, `track3`.
    pub card: CardData,
    /// `traceNo`, `batchNo`.
    pub trace: TraceRef,
    /// `mobileNo`.
    pub mobile_no: MobileNo,
    /// `verifyCode`.
    pub verify_code: VerifyCode,
    /// `idType`.
    pub id_type: IdType,
    /// `idNo` (optional).
    pub id_no: Option<IdNo>,
}

impl CardActivateRequest {
    fn from_form(form: &Form) -> Result<CardActivateRequest, JposError> {
        let (terminal, card, trace) = card_head(form)?;
        Ok(CardActivateRequest {
            terminal,
            card,
            trace,
            mobile_no: MobileNo::parse(required(form, "mobileNo")?)?,
            verify_code: VerifyCode::parse(required(form, "verifyCode")?)?,
            id_type: IdType::parse(required(form, "idType")?)?,
            id_no: optional(form, "idNo")
                .map(|text| IdNo::parse("idNo", text))
                .transpose()?,
        })
    }

    /// The form body.
    pub fn to_form(&self) -> Vec<u8> {
        let mut writer = FormWriter::default();
        write_card_head(&mut writer, &self.terminal, &self.card, &self.trace);
        writer
            .field("mobileNo", self.mobile_no.as_str())
            .field("verifyCode", self.verify_code.expose())
            .field("idType", self.id_type.as_str())
            .optional("idNo", self.id_no.as_ref().map(IdNo::as_str))
            .finish()
    }
}

/// 结算: batch settlement with the terminal's totals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettleRequest {
    /// `storeNo`, `terminalNo`.
    pub terminal: TerminalRef,
    /// `cardNo`: the spec marks it `!` on settlement too, so it is required.
    pub card_no: CardNo,
    /// `traceNo`, `batchNo`: the batch being settled.
    pub trace: TraceRef,
    /// The twelve figures.
    pub totals: SettleTotals,
}

impl SettleRequest {
    fn from_form(form: &Form) -> Result<SettleRequest, JposError> {
        Ok(SettleRequest {
            terminal: TerminalRef::from_form(form)?,
            card_no: CardData::card_no(form)?,
            trace: TraceRef::from_form(form)?,
            totals: SettleTotals::from_form(form)?,
        })
    }

    /// The form body.
    pub fn to_form(&self) -> Vec<u8> {
        let mut writer = FormWriter::default();
        self.terminal.write(&mut writer);
        writer.field("cardNo", self.card_no.expose());
        self.trace.write(&mut writer);
        self.totals.write_form(&mut writer);
        writer.finish()
    }
}

/// A reversal (冲正): the original request's body, resent unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reversal<T> {
    /// The request being reversed, as the terminal first sent it.
    pub original: T,
}

/// A decoded jpos request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// 签到.
    Checkin(CheckinRequest),
    /// 卡查询.
    CardQuery(QueryRequest),
    /// 消费.
    Consume(ConsumeRequest),
    /// 消费冲正.
    ConsumeReversal(Reversal<ConsumeRequest>),
    /// 消费撤销.
    Cancel(CancelRequest),
    /// 消费撤销冲正.
    CancelReversal(Reversal<CancelRequest>),
    /// 消费退货.
    Refund(RefundRequest),
    /// 消费退货撤销.
    RefundCancel(RefundCancelRequest),
    /// 券查询.
    TicketQuery(QueryRequest),
    /// 券消费.
    TicketConsume(TicketConsumeRequest),
    /// 券消费冲正.
    TicketConsumeReversal(Reversal<TicketConsumeRequest>),
    /// 发送验证码.
    SendVerifyCode(SendVerifyCodeRequest),
    /// 卡激活.
    CardActivate(CardActivateRequest),
    /// 结算.
    Settle(SettleRequest),
}

/// Decodes the form body of a request to `endpoint`.
pub fn decode_request(endpoint: Endpoint, body: &[u8]) -> Result<Request, JposError> {
    let form = Form::decode(body)?;
    let form = &form;
    Ok(match endpoint {
        Endpoint::Checkin => Request::Checkin(CheckinRequest::from_form(form)?),
        Endpoint::CardQuery => Request::CardQuery(QueryRequest::from_form(form)?),
        Endpoint::Consume => Request::Consume(ConsumeRequest::from_form(form)?),
        Endpoint::ConsumeReversal => Request::ConsumeReversal(Reversal {
            original: ConsumeRequest::from_form(form)?,
        }),
        Endpoint::Cancel => Request::Cancel(CancelRequest::from_form(form)?),
        Endpoint::CancelReversal => Request::CancelReversal(Reversal {
            original: CancelRequest::from_form(form)?,
        }),
        Endpoint::Refund => Request::Refund(RefundRequest::from_form(form)?),
        Endpoint::RefundCancel => Request::RefundCancel(RefundCancelRequest::from_form(form)?),
        Endpoint::TicketQuery => Request::TicketQuery(QueryRequest::from_form(form)?),
        Endpoint::TicketConsume => Request::TicketConsume(TicketConsumeRequest::from_form(form)?),
        Endpoint::TicketConsumeReversal => Request::TicketConsumeReversal(Reversal {
            original: TicketConsumeRequest::from_form(form)?,
        }),
        Endpoint::SendVerifyCode => {
            Request::SendVerifyCode(SendVerifyCodeRequest::from_form(form)?)
        }
        Endpoint::CardActivate => Request::CardActivate(CardActivateRequest::from_form(form)?),
        Endpoint::Settle => Request::Settle(SettleRequest::from_form(form)?),
    })
}

impl Request {
    /// The card of a request that learns about a card or spends it (card and ticket
    /// queries, consumes, ticket consumes, activations, not their reversals): what a
    /// terminal probing card numbers would send.
    pub fn probing_card(&self) -> Option<&CardNo> {
        match self {
            Request::CardQuery(r) | Request::TicketQuery(r) => Some(&r.card_no),
            Request::CardActivate(r) => Some(&r.card.card_no),
            _ => self.spending_card().map(|c| &c.card_no),
        }
    }

    /// The card of a request that takes value from it (consume, ticket consume): the one
    /// whose expiry is checked. Reversals, cancels and refunds give value back and are
    /// never refused for an expired card.
    pub fn spending_card(&self) -> Option<&CardData> {
        match self {
            Request::Consume(r) => Some(&r.card),
            Request::TicketConsume(r) => Some(&r.card),
            _ => None,
        }
    }

    /// The interface this request belongs to.
    pub fn endpoint(&self) -> Endpoint {
        match self {
            Request::Checkin(_) => Endpoint::Checkin,
            Request::CardQuery(_) => Endpoint::CardQuery,
            Request::Consume(_) => Endpoint::Consume,
            Request::ConsumeReversal(_) => Endpoint::ConsumeReversal,
            Request::Cancel(_) => Endpoint::Cancel,
            Request::CancelReversal(_) => Endpoint::CancelReversal,
            Request::Refund(_) => Endpoint::Refund,
            Request::RefundCancel(_) => Endpoint::RefundCancel,
            Request::TicketQuery(_) => Endpoint::TicketQuery,
            Request::TicketConsume(_) => Endpoint::TicketConsume,
            Request::TicketConsumeReversal(_) => Endpoint::TicketConsumeReversal,
            Request::SendVerifyCode(_) => Endpoint::SendVerifyCode,
            Request::CardActivate(_) => Endpoint::CardActivate,
            Request::Settle(_) => Endpoint::Settle,
        }
    }

    /// The sending terminal (`storeNo`, `terminalNo`).
    pub fn terminal(&self) -> &TerminalRef {
        match self {
            Request::Checkin(request) => &request.terminal,
            Request::CardQuery(request) | Request::TicketQuery(request) => &request.terminal,
            Request::Consume(request) => &request.terminal,
            Request::ConsumeReversal(reversal) => &reversal.original.terminal,
            Request::Cancel(request) => &request.terminal,
            Request::CancelReversal(reversal) => &reversal.original.terminal,
            Request::Refund(request) => &request.terminal,
            Request::RefundCancel(request) => &request.terminal,
            Request::TicketConsume(request) => &request.terminal,
            Request::TicketConsumeReversal(reversal) => &reversal.original.terminal,
            Request::SendVerifyCode(request) => &request.terminal,
            Request::CardActivate(request) => &request.terminal,
            Request::Settle(request) => &request.terminal,
        }
    }

    /// The request's `batchNo` and `traceNo` when it has both (all but checkin and, when
    /// the terminal leaves them out, the verify-code request). For a reversal this is the
    /// original's, which is what it reverses.
    pub fn trace(&self) -> Option<TraceRef> {
        match self {
            Request::Checkin(_) => None,
            Request::CardQuery(request) | Request::TicketQuery(request) => Some(request.trace),
            Request::Consume(request) => Some(request.trace),
            Request::ConsumeReversal(reversal) => Some(reversal.original.trace),
            Request::Cancel(request) => Some(request.trace),
            Request::CancelReversal(reversal) => Some(reversal.original.trace),
            Request::Refund(request) => Some(request.trace),
            Request::RefundCancel(request) => Some(request.trace),
            Request::TicketConsume(request) => Some(request.trace),
            Request::TicketConsumeReversal(reversal) => Some(reversal.original.trace),
            Request::SendVerifyCode(request) => match (request.batch_no, request.trace_no) {
                (Some(batch_no), Some(trace_no)) => Some(TraceRef { batch_no, trace_no }),
                _ => None,
            },
            Request::CardActivate(request) => Some(request.trace),
            Request::Settle(request) => Some(request.trace),
        }
    }

    /// The form body (for simulators and tests).
    pub fn to_form(&self) -> Vec<u8> {
        match self {
            Request::Checkin(request) => request.to_form(),
            Request::CardQuery(request) | Request::TicketQuery(request) => request.to_form(),
            Request::Consume(request) => request.to_form(),
            Request::ConsumeReversal(reversal) => reversal.original.to_form(),
            Request::Cancel(request) => request.to_form(),
            Request::CancelReversal(reversal) => reversal.original.to_form(),
            Request::Refund(request) => request.to_form(),
            Request::RefundCancel(request) => request.to_form(),
            Request::TicketConsume(request) => request.to_form(),
            Request::TicketConsumeReversal(reversal) => reversal.original.to_form(),
            Request::SendVerifyCode(request) => request.to_form(),
            Request::CardActivate(request) => request.to_form(),
            Request::Settle(request) => request.to_form(),
        }
    }
}
