//! The sale (spec 3.5.1 payment request, 3.5.2 payment response).
//!
//! The request is decoded field by field into [`SaleRequest`], whose card data fields are
//! masked types; it has no encoder on purpose, so it can never be serialised back out with
//! its track 2, PIN block or EMV data. The reply is built by posgate, so [`SaleReply`] has
//! an encoder and, for simulators and tests, a decoder. `transStatus` is derived from the
//! response code, so an approval can never carry a decline code or the reverse.

use super::card::{EmvData, MaskedPan, Pan, PinBlock, Track2};
use super::codes::{Ds50Error, ResponseCode};
use super::json::{opt_str, parse_object, req_str, text};
use super::limits::{REPLY_BYTES_MAX, REQUEST_BYTES_MAX, SHORT_TEXT_CHARS_MAX};
use super::types::{
    AuthCode, BatchNo, CardOrg, DeviceSn, PayType, ReplyEmvData, TraceNo, TransType, WireDate,
    WireTime,
};
use crate::money::Fen;
use serde::Serialize;

/// A decoded sale request. Card data is masked in `Debug`; there is no encoder.
#[derive(Clone, Debug)]
pub struct SaleRequest {
    /// `deviceSn`.
    pub device_sn: DeviceSn,
    /// `model` (e.g. `DS50`).
    pub model: String,
    /// `transType`: `SALE`, or `REVERSAL` (posgate's extension: undo the sale of the same
    /// batch and trace).
    pub trans_type: TransType,
    /// `appVersion` of the device firmware.
    pub app_version: String,
    /// `payType` (only `CARD`).
    pub pay_type: PayType,
    /// `transAmount`, decimal yuan with exactly two decimals on the wire, never zero.
    pub amount: Fen,
    /// `cardNo`, masked (masked here if the device sent it in full).
    pub card_no: MaskedPan,
    /// `cardOrg`.
    pub card_org: CardOrg,
    /// `emvData`; `None` when the device sent an empty string (magnetic stripe).
    pub emv_data: Option<EmvData>,
    /// `batchNo`.
    pub batch_no: BatchNo,
    /// `traceNo`.
    pub trace_no: TraceNo,
    /// `track2`.
    pub track2: Track2,
    /// `pin`; `None` when the device left it out or sent an empty string (no PIN entered).
    pub pin: Option<PinBlock>,
    /// `date` (device local date).
    pub date: WireDate,
    /// `time` (device local time).
    pub time: WireTime,
}

impl SaleRequest {
    /// Decodes a sale request body.
    ///
    /// Accepted: the spec's JSON; unknown extra fields are ignored. `emvData` may be an
    /// empty string (swiped card); `pin` may be absent, null or empty (no PIN entered).
    /// `cardNo` must agree with the PAN of `track2` on its first 6 and last 4 digits.
    /// `transAmount` must be yuan with exactly two decimals, and agree with the EMV amount
    /// (tag `9F02`, in cents) when `emvData` carries one: cents read as yuan would charge
    /// 100 times the amount.
    pub fn decode(input: &[u8]) -> Result<SaleRequest, Ds50Error> {
        let obj = parse_object(input, REQUEST_BYTES_MAX, "sale request")?;
        let device_sn = DeviceSn::parse(req_str(&obj, "deviceSn")?)?;
        let model = text(req_str(&obj, "model")?, "model", SHORT_TEXT_CHARS_MAX)?;
        let trans_type = TransType::parse(req_str(&obj, "transType")?)?;
        let app_version = text(
            req_str(&obj, "appVersion")?,
            "appVersion",
            SHORT_TEXT_CHARS_MAX,
        )?;
        let pay_type = PayType::parse(req_str(&obj, "payType")?)?;
        let amount = parse_amount(req_str(&obj, "transAmount")?)?;
        let card_no = MaskedPan::parse(req_str(&obj, "cardNo")?)?;
        let card_org = CardOrg::parse(req_str(&obj, "cardOrg")?)?;
        let emv_data = match req_str(&obj, "emvData")? {
            "" => None,
            hex => Some(EmvData::parse(hex)?),
        };
        if emv_data
            .as_ref()
            .and_then(EmvData::amount_authorised)
            .is_some_and(|emv| emv != amount)
        {
            return Err(Ds50Error::AmountMismatch);
        }
        let batch_no = BatchNo::parse(req_str(&obj, "batchNo")?)?;
        let trace_no = TraceNo::parse(req_str(&obj, "traceNo")?)?;
        let track2 = Track2::parse(req_str(&obj, "track2")?)?;
        if !card_no.matches(&track2.pan()) {
            return Err(Ds50Error::CardMismatch);
        }
        let pin = match opt_str(&obj, "pin")? {
            None | Some("") => None,
            Some(hex) => Some(PinBlock::parse(hex)?),
        };
        let date = WireDate::parse_dashed(req_str(&obj, "date")?, "date")?;
        let time = WireTime::parse(req_str(&obj, "time")?, "time")?;
        Ok(SaleRequest {
            device_sn,
            model,
            trans_type,
            app_version,
            pay_type,
            amount,
            card_no,
            card_org,
            emv_data,
            batch_no,
            trace_no,
            track2,
            pin,
            date,
            time,
        })
    }

    /// The PAN of track 2 (for the keyed card hash; never store or log it).
    pub fn pan(&self) -> Pan {
        self.track2.pan()
    }

    /// The ledger idempotency key of the sale: `ds50:{sn}:{batch}:{trace}`, the trace
    /// identity. A retried sale carries the same device, batch and trace (and the same
    /// content) and gets the first answer again; the same identity with another date, time,
    /// card or amount is a conflict (`94`), never a replay. A reversal names the sale it
    /// undoes by the same key.
    pub fn idempotency_key(&self) -> String {
        format!(
            "ds50:{}:{}:{}",
            self.device_sn,
            self.batch_no.to_wire(),
            self.trace_no.to_wire()
        )
    }
}

/// Reads `transAmount`: decimal yuan with exactly two decimals (`66.66`), not zero. An
/// amount without its two decimals (`6666`, `66.6`) is refused (`13`): a firmware that
/// sends cents there would otherwise be charged 100 times the amount.
fn parse_amount(text: &str) -> Result<Fen, Ds50Error> {
    let two_decimals = text
        .split_once('.')
        .is_some_and(|(_, fraction)| fraction.len() == 2);
    if !two_decimals {
        return Err(Ds50Error::AmountNotTwoDecimals);
    }
    let amount = Fen::parse_yuan(text).map_err(|source| Ds50Error::Amount {
        field: "transAmount",
        source,
    })?;
    if amount == Fen::ZERO {
        return Err(Ds50Error::ZeroAmount);
    }
    Ok(amount)
}

/// `transStatus` of a sale reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SaleStatus {
    /// `APPROVE`.
    Approve,
    /// `DECLINE`.
    Decline,
}

impl SaleStatus {
    /// The wire string.
    pub const fn as_str(self) -> &'static str {
        match self {
            SaleStatus::Approve => "APPROVE",
            SaleStatus::Decline => "DECLINE",
        }
    }
}

/// A sale reply (spec 3.5.2): `acqAuthCode`, `acqResponseCode`, `emvData`, `transStatus`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaleReply {
    auth_code: Option<AuthCode>,
    code: ResponseCode,
    emv_data: Option<ReplyEmvData>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SaleReplyWire<'a> {
    acq_auth_code: &'a str,
    acq_response_code: &'a str,
    emv_data: &'a str,
    trans_status: &'a str,
}

impl SaleReply {
    /// An approval (`00`, `APPROVE`) with the authorisation code and optional issuer EMV data.
    pub fn approve(auth_code: AuthCode, emv_data: Option<ReplyEmvData>) -> SaleReply {
        SaleReply {
            auth_code: Some(auth_code),
            code: ResponseCode::Approved,
            emv_data,
        }
    }

    /// A decline (`DECLINE`) with the given code and an empty `acqAuthCode`. Asking to
    /// decline with `00` is a caller bug; it is sent as `96` (system malfunction) so that the
    /// reply is never self-contradictory.
    pub fn decline(code: ResponseCode) -> SaleReply {
        let code = if code.is_approved() {
            ResponseCode::SystemMalfunction
        } else {
            code
        };
        SaleReply {
            auth_code: None,
            code,
            emv_data: None,
        }
    }

    /// The decline a refused request gets.
    pub fn refused(error: &Ds50Error) -> SaleReply {
        SaleReply::decline(error.code())
    }

    /// `acqResponseCode`.
    pub fn code(&self) -> ResponseCode {
        self.code
    }

    /// `acqAuthCode` (only on approvals).
    pub fn auth_code(&self) -> Option<&AuthCode> {
        self.auth_code.as_ref()
    }

    /// `transStatus`, derived from the code.
    pub fn status(&self) -> SaleStatus {
        if self.code.is_approved() {
            SaleStatus::Approve
        } else {
            SaleStatus::Decline
        }
    }

    /// The reply as a JSON string, fields in the spec's order.
    pub fn to_json(&self) -> String {
        let wire = SaleReplyWire {
            acq_auth_code: self.auth_code.as_ref().map_or("", AuthCode::as_str),
            acq_response_code: self.code.as_str(),
            emv_data: self.emv_data.as_ref().map_or("", ReplyEmvData::as_str),
            trans_status: self.status().as_str(),
        };
        serde_json::to_string(&wire).unwrap_or_default()
    }

    /// The reply as bytes.
    pub fn encode(&self) -> Vec<u8> {
        self.to_json().into_bytes()
    }

    /// Decodes a reply (device simulators, tests). `transStatus` must agree with the code;
    /// an approval must carry an authorisation code.
    pub fn decode(input: &[u8]) -> Result<SaleReply, Ds50Error> {
        let obj = parse_object(input, REPLY_BYTES_MAX, "sale reply")?;
        let code = ResponseCode::from_wire(req_str(&obj, "acqResponseCode")?).ok_or(
            Ds50Error::Invalid {
                field: "acqResponseCode",
                reason: "not in the response code table",
            },
        )?;
        let auth_code = match opt_str(&obj, "acqAuthCode")? {
            None | Some("") => None,
            Some(text) => Some(AuthCode::parse(text)?),
        };
        let emv_data = match opt_str(&obj, "emvData")? {
            None | Some("") => None,
            Some(hex) => Some(ReplyEmvData::parse(hex)?),
        };
        let status = match req_str(&obj, "transStatus")? {
            "APPROVE" => SaleStatus::Approve,
            "DECLINE" => SaleStatus::Decline,
            _ => {
                return Err(Ds50Error::Invalid {
                    field: "transStatus",
                    reason: "not APPROVE or DECLINE",
                })
            }
        };
        let reply = SaleReply {
            auth_code,
            code,
            emv_data,
        };
        if reply.status() != status || (code.is_approved() && reply.auth_code.is_none()) {
            return Err(Ds50Error::Invalid {
                field: "transStatus",
                reason: "disagrees with acqResponseCode or acqAuthCode",
            });
        }
        Ok(reply)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::money::AmountError;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    /// The spec's example, verbatim (3.5.1).
    pub(crate) const SPEC_SALE: &str = r#"{
  "deviceSn":"S20A1012574P0002",
  "model":"DS50",
  "transType":"SALE",
  "appVersion":"V1.0.0",
  "payType":"CARD",
  "transAmount":"66.66",
  "cardNo":"451461********2125",
  "cardOrg":"VISA",
  "emvData":"9F260888C89C10C57849A79F2701809F100706011203A020009F3704FCB8E0FA9F36020742950580800080009A032512159C01009F02060000000066665F2A020170820218009F1A0201709F03060000000000009F3303E0F8C89F34031E03009F3501219F1E0838333230314943438407A00000000310109F09020001",
  "batchNo":"000000",
  "traceNo":"000001",
  "track2":"4514617628832125D270120115195475",
  "pin":"ADF34EF2424A042E",
  "date":"2025-12-15",
  "time":"15:50:23"
}"#;

    #[test]
    fn decodes_spec_example() {
        let sale = SaleRequest::decode(SPEC_SALE.as_bytes()).unwrap();
        assert_eq!(sale.device_sn.as_str(), "S20A1012574P0002");
        assert_eq!(sale.model, "DS50");
        assert_eq!(sale.trans_type, TransType::Sale);
        assert_eq!(sale.pay_type, PayType::Card);
        assert_eq!(sale.amount, Fen(6666));
        assert_eq!(sale.card_no.as_str(), "451461********2125");
        assert_eq!(sale.card_org, CardOrg::Visa);
        assert!(sale
            .emv_data
            .as_ref()
            .unwrap()
            .expose()
            .starts_with("9F2608"));
        assert_eq!(sale.batch_no.get(), 0);
        assert_eq!(sale.trace_no.get(), 1);
        assert_eq!(sale.pan().expose(), "4514617628832125");
        assert_eq!(sale.pin.as_ref().unwrap().expose(), "ADF34EF2424A042E");
        assert_eq!(sale.date.to_dashed(), "2025-12-15");
        assert_eq!(sale.time.to_wire(), "15:50:23");
        assert_eq!(
            sale.idempotency_key(),
            "ds50:S20A1012574P0002:000000:000001"
        );
        let debug = format!("{sale:?}");
        assert!(!debug.contains("7628832"));
        assert!(!debug.contains("ADF34EF2"));
        assert!(!debug.contains("9F260888"));
    }

    #[test]
    fn empty_pin_and_emv_are_none() {
        let sale = with(&[("pin", json!("")), ("emvData", json!(""))]);
        let sale = SaleRequest::decode(sale.as_bytes()).unwrap();
        assert!(sale.pin.is_none());
        assert!(sale.emv_data.is_none());
        // Absent (no PIN entered) and explicit null are accepted too.
        let absent = with(&[("pin", Value::Null)]);
        assert!(SaleRequest::decode(absent.as_bytes())
            .unwrap()
            .pin
            .is_none());
        let null = absent.replacen('{', "{\"pin\":null,", 1);
        assert!(SaleRequest::decode(null.as_bytes()).unwrap().pin.is_none());
    }

    #[test]
    fn cents_can_never_be_read_as_yuan() {
        use ResponseCode::InvalidAmount;
        for amount in ["6666", "66.6", "66", "66.666"] {
            let body = with(&[("transAmount", json!(amount)), ("emvData", json!(""))]);
            let error = SaleRequest::decode(body.as_bytes()).unwrap_err();
            assert_eq!(error.code(), InvalidAmount, "{amount}");
        }
        // The spec's EMV data says 9F02 = 000000006666 (66.66): another amount disagrees.
        let body = with(&[("transAmount", json!("6666.00"))]);
        assert_eq!(
            SaleRequest::decode(body.as_bytes()).unwrap_err(),
            Ds50Error::AmountMismatch
        );
        let body = with(&[("transAmount", json!("0.67"))]);
        assert_eq!(
            SaleRequest::decode(body.as_bytes()).unwrap_err(),
            Ds50Error::AmountMismatch
        );
    }

    #[test]
    fn reversal_is_a_trans_type() {
        let body = with(&[("transType", json!("REVERSAL"))]);
        let sale = SaleRequest::decode(body.as_bytes()).unwrap();
        assert_eq!(sale.trans_type, TransType::Reversal);
    }

    /// The spec example with some fields replaced (`Value::Null` removes the field).
    pub(crate) fn with(changes: &[(&str, Value)]) -> String {
        let mut value: Value = serde_json::from_str(SPEC_SALE).unwrap();
        let map = value.as_object_mut().unwrap();
        for (key, new) in changes {
            if new.is_null() {
                map.remove(*key);
            } else {
                map.insert((*key).to_owned(), new.clone());
            }
        }
        value.to_string()
    }

    #[test]
    fn bad_inputs_get_their_codes() {
        use ResponseCode::*;
        let deep = format!("{}{}", "[".repeat(10), "]".repeat(10));
        let big = format!("{{\"x\":\"{}\"}}", "a".repeat(REQUEST_BYTES_MAX));
        let rows: Vec<(String, ResponseCode)> = vec![
            ("".into(), FormatError),
            ("not json".into(), FormatError),
            ("[1,2]".into(), FormatError),
            (deep, FormatError),
            (big, FormatError),
            (with(&[("deviceSn", Value::Null)]), FormatError),
            (with(&[("deviceSn", json!("S20/1"))]), FormatError),
            (with(&[("transAmount", json!(66.66))]), FormatError),
            (with(&[("transAmount", json!("66.666"))]), InvalidAmount),
            (with(&[("transAmount", json!("-1.00"))]), InvalidAmount),
            (with(&[("transAmount", json!("0.00"))]), InvalidAmount),
            (with(&[("transAmount", json!("1e3"))]), InvalidAmount),
            (with(&[("transType", json!("REFUND"))]), InvalidTransaction),
            (with(&[("payType", json!("QR"))]), InvalidTransaction),
            (
                with(&[("track2", json!("4514617628832125"))]),
                InvalidCardNumber,
            ),
            (
                with(&[("track2", json!("45146176D2701"))]),
                InvalidCardNumber,
            ),
            (
                with(&[("track2", json!("4514617628832126D2701201"))]),
                InvalidCardNumber,
            ),
            (with(&[("cardNo", json!("451461**21"))]), InvalidCardNumber),
            (with(&[("pin", json!("ADF34EF2424A042"))]), FormatError),
            (with(&[("emvData", json!("9F2"))]), FormatError),
            (with(&[("batchNo", json!("0"))]), FormatError),
            (with(&[("traceNo", json!(1))]), FormatError),
            (with(&[("date", json!("2025-02-30"))]), FormatError),
            (with(&[("time", json!("25:00:00"))]), FormatError),
            (with(&[("model", json!("DS\n50"))]), FormatError),
        ];
        assert!(rows.len() >= 15);
        for (input, expected) in rows {
            let error = SaleRequest::decode(input.as_bytes()).unwrap_err();
            assert_eq!(error.code(), expected, "{error} for {input:.80}");
            assert_eq!(SaleReply::refused(&error).status(), SaleStatus::Decline);
        }
        let error = SaleRequest::decode(with(&[("transAmount", json!("66.666"))]).as_bytes());
        assert_eq!(error.unwrap_err(), Ds50Error::AmountNotTwoDecimals);
        let error = SaleRequest::decode(with(&[("transAmount", json!("-1.00"))]).as_bytes());
        assert_eq!(
            error.unwrap_err(),
            Ds50Error::Amount {
                field: "transAmount",
                source: AmountError::Negative
            }
        );
    }

    #[test]
    fn reply_round_trips() {
        let approve = SaleReply::approve(AuthCode::parse("1234567890").unwrap(), None);
        assert_eq!(
            approve.to_json(),
            r#"{"acqAuthCode":"1234567890","acqResponseCode":"00","emvData":"","transStatus":"APPROVE"}"#
        );
        assert_eq!(SaleReply::decode(&approve.encode()).unwrap(), approve);
        let decline = SaleReply::decline(ResponseCode::InsufficientFunds);
        assert_eq!(
            decline.to_json(),
            r#"{"acqAuthCode":"","acqResponseCode":"51","emvData":"","transStatus":"DECLINE"}"#
        );
        assert_eq!(SaleReply::decode(&decline.encode()).unwrap(), decline);
        assert_eq!(
            SaleReply::decline(ResponseCode::Approved).code(),
            ResponseCode::SystemMalfunction
        );
        let with_emv = SaleReply::approve(
            AuthCode::parse("ABC123").unwrap(),
            Some(ReplyEmvData::parse("910A0102").unwrap()),
        );
        assert_eq!(SaleReply::decode(&with_emv.encode()).unwrap(), with_emv);
        // The spec's own reply example.
        let spec = br#"{"acqAuthCode":"1234567890","acqResponseCode":"00","emvData":"","transStatus":"APPROVE"}"#;
        assert_eq!(SaleReply::decode(spec).unwrap(), approve);
        let contradictory =
            br#"{"acqAuthCode":"","acqResponseCode":"00","emvData":"","transStatus":"DECLINE"}"#;
        assert!(SaleReply::decode(contradictory).is_err());
    }

    fn mutate(base: &str) -> impl Strategy<Value = String> {
        let base = base.to_owned();
        (0..base.len(), any::<u8>(), 0usize..3).prop_map(move |(at, byte, mode)| {
            let mut bytes = base.clone().into_bytes();
            match mode {
                0 => bytes[at] = byte,
                1 => bytes.truncate(at),
                _ => bytes.insert(at, byte),
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
    }

    proptest! {
        #[test]
        fn decoders_never_panic_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = SaleRequest::decode(&bytes);
            let _ = SaleReply::decode(&bytes);
        }

        #[test]
        fn decoders_never_panic_on_mutations(text in mutate(SPEC_SALE)) {
            let _ = SaleRequest::decode(text.as_bytes());
        }

        #[test]
        fn decoders_never_panic_on_field_values(
            field in prop::sample::select(vec!["track2", "cardNo", "transAmount", "date", "time", "pin", "emvData", "batchNo", "deviceSn"]),
            value in "[0-9A-Za-z=*.:\\-é ]{0,40}",
        ) {
            let _ = SaleRequest::decode(with(&[(field, json!(value))]).as_bytes());
        }
    }
}
