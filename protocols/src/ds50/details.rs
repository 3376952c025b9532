//! Transaction details (spec 3.5.3): the device asks for one page of its own sales of one
//! day; posgate answers with the total count and the page's entries.
//!
//! The request's `pageNo` and `pageSize` are strings in the spec; JSON integers are accepted
//! too. Both are bounded ([`PAGE_NO_MAX`], [`PAGE_SIZE_MAX`]) so a request can never ask the
//! store for an unbounded page. Reply amounts are cents strings (`"10000"` = 100.00 yuan), as
//! in the spec's example, and card numbers are [`MaskedPan`]s only.
//!
//! Two spellings differ from the sale reply and are kept as the spec writes them: an entry's
//! `transStatus` is `APPROVED` (not `APPROVE`). The spec's reply example has a trailing comma
//! after `transDatetime`, which is not JSON: the encoder never writes one and the decoder
//! (used by simulators and tests) refuses it like any other syntax error.

use super::card::MaskedPan;
use super::codes::{Ds50Error, ResponseCode};
use super::json::{opt_str, parse_object, parse_u32_digits, req_digits, req_str, req_u64, Object};
use super::limits::{PAGE_NO_MAX, PAGE_SIZE_MAX, REPLY_BYTES_MAX, REQUEST_BYTES_MAX};
use super::types::{
    AuthCode, BatchNo, CardOrg, DeviceSn, TraceNo, TransType, WireDate, WireDateTime,
};
use crate::money::Fen;
use serde::Serialize;
use serde_json::Value;

/// A transaction details request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DetailsRequest {
    /// `deviceSn`: whose transactions.
    pub device_sn: DeviceSn,
    /// `pageNo`, 1-based, 1..=[`PAGE_NO_MAX`].
    pub page_no: u32,
    /// `pageSize`, 1..=[`PAGE_SIZE_MAX`] (the spec's device always sends 1).
    pub page_size: u32,
    /// `date`: which day.
    pub date: WireDate,
}

impl DetailsRequest {
    /// Decodes a details request.
    pub fn decode(input: &[u8]) -> Result<DetailsRequest, Ds50Error> {
        let obj = parse_object(input, REQUEST_BYTES_MAX, "details request")?;
        let device_sn = DeviceSn::parse(req_str(&obj, "deviceSn")?)?;
        let page_no = bounded(&obj, "pageNo", PAGE_NO_MAX)?;
        let page_size = bounded(&obj, "pageSize", PAGE_SIZE_MAX)?;
        let date = WireDate::parse_dashed(req_str(&obj, "date")?, "date")?;
        Ok(DetailsRequest {
            device_sn,
            page_no,
            page_size,
            date,
        })
    }

    /// How many entries of the day's list come before this page.
    pub fn offset(&self) -> u64 {
        u64::from(self.page_no - 1) * u64::from(self.page_size)
    }
}

fn bounded(obj: &Object, field: &'static str, max: u32) -> Result<u32, Ds50Error> {
    let value = parse_u32_digits(&req_digits(obj, field)?, field)?;
    if value == 0 || value > max {
        return Err(Ds50Error::Invalid {
            field,
            reason: "out of range",
        });
    }
    Ok(value)
}

/// `transStatus` of a details entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DetailStatus {
    /// `APPROVED`.
    Approved,
    /// `DECLINED`.
    Declined,
}

impl DetailStatus {
    /// The wire string.
    pub const fn as_str(self) -> &'static str {
        match self {
            DetailStatus::Approved => "APPROVED",
            DetailStatus::Declined => "DECLINED",
        }
    }
}

/// One entry of `transInfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransInfo {
    /// `transStatus`.
    pub status: DetailStatus,
    /// `acqAuthCode` (empty on the wire when absent).
    pub auth_code: Option<AuthCode>,
    /// `transAmount`, cents string on the wire.
    pub amount: Fen,
    /// `transType`.
    pub trans_type: TransType,
    /// `cardNo`, masked.
    pub card_no: MaskedPan,
    /// `cardOrg`.
    pub card_org: CardOrg,
    /// `traceNo`.
    pub trace_no: TraceNo,
    /// `batchNo`.
    pub batch_no: BatchNo,
    /// `transDatetime`.
    pub datetime: WireDateTime,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TransInfoWire<'a> {
    trans_status: &'a str,
    acq_auth_code: &'a str,
    trans_amount: String,
    trans_type: &'a str,
    card_no: &'a str,
    card_org: &'a str,
    trace_no: String,
    batch_no: String,
    trans_datetime: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DetailsReplyWire<'a> {
    resp_code: &'a str,
    total: u64,
    trans_info: Vec<TransInfoWire<'a>>,
}

/// A transaction details reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DetailsReply {
    code: ResponseCode,
    total: u64,
    entries: Vec<TransInfo>,
}

impl DetailsReply {
    /// A successful page (`respCode` `00`): `total` is the number of matching transactions of
    /// the day (all pages), `entries` the page. Refused if the page holds more than
    /// [`PAGE_SIZE_MAX`] entries or more entries than `total`.
    pub fn page(total: u64, entries: Vec<TransInfo>) -> Result<DetailsReply, Ds50Error> {
        check_page(total, entries.len())?;
        Ok(DetailsReply {
            code: ResponseCode::Approved,
            total,
            entries,
        })
    }

    /// A failed query: the code (never `00`; `00` becomes `96`), `total` 0, no entries.
    pub fn failed(code: ResponseCode) -> DetailsReply {
        let code = if code.is_approved() {
            ResponseCode::SystemMalfunction
        } else {
            code
        };
        DetailsReply {
            code,
            total: 0,
            entries: Vec::new(),
        }
    }

    /// `respCode`.
    pub fn code(&self) -> ResponseCode {
        self.code
    }

    /// `total`.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// `transInfo`.
    pub fn entries(&self) -> &[TransInfo] {
        &self.entries
    }

    /// The reply as a JSON string, fields in the spec's order.
    pub fn to_json(&self) -> String {
        let wire = DetailsReplyWire {
            resp_code: self.code.as_str(),
            total: self.total,
            trans_info: self
                .entries
                .iter()
                .map(|e| TransInfoWire {
                    trans_status: e.status.as_str(),
                    acq_auth_code: e.auth_code.as_ref().map_or("", AuthCode::as_str),
                    trans_amount: e.amount.to_cents_string(),
                    trans_type: e.trans_type.as_str(),
                    card_no: e.card_no.as_str(),
                    card_org: e.card_org.as_str(),
                    trace_no: e.trace_no.to_wire(),
                    batch_no: e.batch_no.to_wire(),
                    trans_datetime: e.datetime.to_wire(),
                })
                .collect(),
        };
        serde_json::to_string(&wire).unwrap_or_default()
    }

    /// The reply as bytes.
    pub fn encode(&self) -> Vec<u8> {
        self.to_json().into_bytes()
    }

    /// Decodes a reply (device simulators, tests).
    pub fn decode(input: &[u8]) -> Result<DetailsReply, Ds50Error> {
        let obj = parse_object(input, REPLY_BYTES_MAX, "details reply")?;
        let code =
            ResponseCode::from_wire(req_str(&obj, "respCode")?).ok_or(Ds50Error::Invalid {
                field: "respCode",
                reason: "not in the response code table",
            })?;
        let total = req_u64(&obj, "total")?;
        let items = match obj.get("transInfo") {
            None | Some(Value::Null) => &[][..],
            Some(Value::Array(items)) => items.as_slice(),
            Some(_) => return Err(Ds50Error::WrongType("transInfo")),
        };
        check_page(total, items.len())?;
        let entries = items
            .iter()
            .map(decode_entry)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(DetailsReply {
            code,
            total,
            entries,
        })
    }
}

/// The rule of a page, the same for the builder and the decoder (so that a decoded reply is
/// one posgate could have built): at most [`PAGE_SIZE_MAX`] entries, and no more entries
/// than `total`, the count of the day's matching transactions over all pages.
fn check_page(total: u64, entries: usize) -> Result<(), Ds50Error> {
    if entries > PAGE_SIZE_MAX as usize || entries as u64 > total {
        return Err(Ds50Error::Invalid {
            field: "transInfo",
            reason: "more entries than the page size or the total",
        });
    }
    Ok(())
}

fn decode_entry(item: &Value) -> Result<TransInfo, Ds50Error> {
    let Value::Object(obj) = item else {
        return Err(Ds50Error::NotObject("transInfo entry"));
    };
    let status = match req_str(obj, "transStatus")? {
        "APPROVED" => DetailStatus::Approved,
        "DECLINED" => DetailStatus::Declined,
        _ => {
            return Err(Ds50Error::Invalid {
                field: "transStatus",
                reason: "not APPROVED or DECLINED",
            })
        }
    };
    let auth_code = match opt_str(obj, "acqAuthCode")? {
        None | Some("") => None,
        Some(text) => Some(AuthCode::parse(text)?),
    };
    let amount =
        Fen::parse_cents(req_str(obj, "transAmount")?).map_err(|source| Ds50Error::Amount {
            field: "transAmount",
            source,
        })?;
    Ok(TransInfo {
        status,
        auth_code,
        amount,
        trans_type: TransType::parse(req_str(obj, "transType")?)?,
        card_no: MaskedPan::parse(req_str(obj, "cardNo")?)?,
        card_org: CardOrg::parse(req_str(obj, "cardOrg")?)?,
        trace_no: TraceNo::parse(req_str(obj, "traceNo")?)?,
        batch_no: BatchNo::parse(req_str(obj, "batchNo")?)?,
        datetime: WireDateTime::parse(req_str(obj, "transDatetime")?, "transDatetime")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SPEC_REQUEST: &str = r#"{
  "deviceSn":"S20A1012574P0002",
  "pageNo":"1",
  "pageSize":"1",
  "date":"2025-12-15"
}"#;

    /// The spec's reply example with its trailing comma after `transDatetime` removed.
    const SPEC_REPLY: &str = r#"{
  "respCode":"00",
  "total":1,
  "transInfo": [
    {
      "transStatus": "APPROVED",
      "acqAuthCode": "12345678",
      "transAmount": "10000",
      "transType": "SALE",
      "cardNo": "451461********2125",
      "cardOrg": "VISA",
      "traceNo":"000001",
      "batchNo":"000000",
      "transDatetime": "2023-11-24 13:25:10"
    }
  ]
}"#;

    #[test]
    fn decodes_spec_request() {
        let request = DetailsRequest::decode(SPEC_REQUEST.as_bytes()).unwrap();
        assert_eq!(request.device_sn.as_str(), "S20A1012574P0002");
        assert_eq!((request.page_no, request.page_size), (1, 1));
        assert_eq!(request.offset(), 0);
        assert_eq!(request.date.to_dashed(), "2025-12-15");
        let numbers = br#"{"deviceSn":"A1","pageNo":3,"pageSize":2,"date":"2025-12-15"}"#;
        assert_eq!(DetailsRequest::decode(numbers).unwrap().offset(), 4);
    }

    #[test]
    fn bad_requests_are_format_errors() {
        for bad in [
            r#"{"deviceSn":"A1","pageNo":"0","pageSize":"1","date":"2025-12-15"}"#,
            r#"{"deviceSn":"A1","pageNo":"1","pageSize":"21","date":"2025-12-15"}"#,
            r#"{"deviceSn":"A1","pageNo":"100001","pageSize":"1","date":"2025-12-15"}"#,
            r#"{"deviceSn":"A1","pageNo":"-1","pageSize":"1","date":"2025-12-15"}"#,
            r#"{"deviceSn":"A1","pageNo":1.5,"pageSize":"1","date":"2025-12-15"}"#,
            r#"{"deviceSn":"A1","pageNo":"1","date":"2025-12-15"}"#,
            r#"{"deviceSn":"A1","pageNo":"1","pageSize":"1","date":"20251215"}"#,
            r#"{"deviceSn":"","pageNo":"1","pageSize":"1","date":"2025-12-15"}"#,
        ] {
            let error = DetailsRequest::decode(bad.as_bytes()).unwrap_err();
            assert_eq!(error.code(), ResponseCode::FormatError, "{bad}");
        }
    }

    #[test]
    fn decodes_spec_reply_and_round_trips() {
        let reply = DetailsReply::decode(SPEC_REPLY.as_bytes()).unwrap();
        assert_eq!(reply.code(), ResponseCode::Approved);
        assert_eq!(reply.total(), 1);
        let entry = &reply.entries()[0];
        assert_eq!(entry.amount, Fen(10000));
        assert_eq!(entry.status, DetailStatus::Approved);
        assert_eq!(entry.card_no.as_str(), "451461********2125");
        assert_eq!(DetailsReply::decode(&reply.encode()).unwrap(), reply);
        let expected: Value = serde_json::from_str(SPEC_REPLY).unwrap();
        let encoded: Value = serde_json::from_slice(&reply.encode()).unwrap();
        assert_eq!(encoded, expected);
        // The verbatim example (trailing comma) is not JSON.
        let sloppy = SPEC_REPLY.replace("13:25:10\"", "13:25:10\",");
        assert!(DetailsReply::decode(sloppy.as_bytes()).is_err());
    }

    #[test]
    fn builders_bound_pages() {
        let failed = DetailsReply::failed(ResponseCode::InvalidMerchant);
        assert_eq!(
            failed.to_json(),
            r#"{"respCode":"03","total":0,"transInfo":[]}"#
        );
        assert_eq!(
            DetailsReply::failed(ResponseCode::Approved).code(),
            ResponseCode::SystemMalfunction
        );
        let entry = DetailsReply::decode(SPEC_REPLY.as_bytes())
            .unwrap()
            .entries()[0]
            .clone();
        assert!(DetailsReply::page(0, vec![entry.clone()]).is_err());
        assert!(DetailsReply::page(5, vec![entry.clone(); 21]).is_err());
        assert!(DetailsReply::page(5, vec![entry]).is_ok());
        assert!(DetailsReply::page(0, vec![]).is_ok());
    }

    /// Found by the `ds50_details_reply` fuzz target: the decoder read a page the builder
    /// refuses (more entries than `total`), so a simulator took it for a reply posgate
    /// could send.
    #[test]
    fn decoder_refuses_what_the_builder_refuses() {
        let more_than_total = SPEC_REPLY.replace("\"total\":1", "\"total\":0");
        let error = DetailsReply::decode(more_than_total.as_bytes()).unwrap_err();
        assert_eq!(error.code(), ResponseCode::FormatError);
        let entry = SPEC_REPLY
            .split_once('[')
            .unwrap()
            .1
            .rsplit_once(']')
            .unwrap()
            .0;
        let over_page = format!(
            r#"{{"respCode":"00","total":50,"transInfo":[{}]}}"#,
            vec![entry; PAGE_SIZE_MAX as usize + 1].join(",")
        );
        assert!(DetailsReply::decode(over_page.as_bytes()).is_err());
    }

    proptest! {
        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = DetailsRequest::decode(&bytes);
            let _ = DetailsReply::decode(&bytes);
        }

        #[test]
        fn reply_mutations_never_panic(at in 0..SPEC_REPLY.len(), byte in any::<u8>()) {
            let mut bytes = SPEC_REPLY.as_bytes().to_vec();
            bytes[at] = byte;
            // What decodes is a page the builder accepts, and round-trips.
            if let Ok(reply) = DetailsReply::decode(&bytes) {
                prop_assert!(reply.entries().len() as u64 <= reply.total());
                prop_assert_eq!(DetailsReply::decode(&reply.encode()).ok(), Some(reply));
            }
            let mut request = SPEC_REQUEST.as_bytes().to_vec();
            let at = at % request.len();
            request[at] = byte;
            let _ = DetailsRequest::decode(&request);
        }
    }
}
