//! Whole-message tests of the jpos codec: the spec's examples, round trips of every
//! request, a table of refusals with their codes, and never-panic properties.

use super::decode::{TicketUse, VoucherUse};
use super::request::{
    CancelRequest, CardActivateRequest, CardData, CheckinRequest, ConsumeRequest, QueryRequest,
    RefundCancelRequest, RefundRequest, Reversal, SendVerifyCodeRequest, SettleRequest,
    TerminalRef, TicketConsumeRequest, TraceRef,
};
use super::types::{
    ConsumeType, Gender, Grade, IdNo, IdType, MobileNo, OperatorNo, PinBlock, RegisterTraceNo,
    SerialNo, StoreNo, TerminalNo, TicketType, Track, TransDate, VerifyCode,
};
use super::*;
use crate::money::{AmountError, Fen};
use proptest::prelude::*;
use serde_json::Value;
use std::collections::BTreeSet;

const TIME_MS: i64 = 1_415_125_804_472;

fn time() -> TransTime {
    TransTime::from_unix_millis(TIME_MS).expect("valid time")
}

fn terminal() -> TerminalRef {
    TerminalRef {
        store_no: StoreNo::parse("storeNo", "898310048990001").expect("store"),
        terminal_no: TerminalNo::parse("terminalNo", "10000001").expect("terminal"),
    }
}

fn trace(batch: u32, trace: u32) -> TraceRef {
    TraceRef {
        batch_no: BatchNo::new(batch).expect("batch"),
        trace_no: TraceNo::new(trace).expect("trace"),
    }
}

fn card(with_tracks: bool) -> CardData {
    CardData {
        card_no: CardNo::parse("6222021234567890123").expect("card"),
        track2: with_tracks
            .then(|| Track::parse_track2("6222021234567890123=2512101").expect("t2")),
        track3: with_tracks
            .then(|| Track::parse_track3("996222021234567890123=1561560500050006").expect("t3")),
    }
}

fn consume() -> ConsumeRequest {
    ConsumeRequest {
        terminal: terminal(),
        card: card(true),
        trace: trace(1, 42),
        password: Some(PinBlock::parse("0123456789ABCDEF").expect("pin")),
        consume_type: ConsumeType::parse("consumeType", "01").expect("type"),
        point_amount: Fen(1_050),
        cash_amount: Fen(123_450),
        vouchers: vec![VoucherUse { id: 1, num: 2 }, VoucherUse { id: 2, num: 1 }],
        register_trace_no: Some(RegisterTraceNo::parse("r", "POS-77#12").expect("reg")),
    }
}

fn cancel() -> CancelRequest {
    CancelRequest {
        terminal: terminal(),
        card: card(false),
        trace: trace(1, 43),
        original: trace(1, 42),
        ori_trans_time: time(),
        ori_register_trace_no: None,
    }
}

fn ticket_consume() -> TicketConsumeRequest {
    TicketConsumeRequest {
        terminal: terminal(),
        card: card(true),
        trace: trace(1, 50),
        tickets: vec![
            TicketUse {
                id: 1,
                ticket_type: TicketType::GroupBuying,
                num: 5,
            },
            TicketUse {
                id: 2,
                ticket_type: TicketType::CashVoucher,
                num: 1,
            },
        ],
    }
}

fn totals() -> SettleTotals {
    SettleTotals {
        point_debit_count: 3,
        point_debit_amount: Fen(12_345),
        point_credit_count: 1,
        point_credit_amount: Fen(500),
        ticket_debit_count: 2,
        ticket_debit_amount: Fen(2_000),
        ticket_credit_count: 0,
        ticket_credit_amount: Fen(0),
        total_trans_count: 7,
        cancel_count: 1,
        refund_count: 0,
        card_active_count: 1,
    }
}

/// One valid request per endpoint, in the spec's order.
fn samples() -> Vec<Request> {
    let query = QueryRequest {
        terminal: terminal(),
        card_no: CardNo::parse("8800001234").expect("card"),
        trace: trace(1, 7),
    };
    vec![
        Request::Checkin(CheckinRequest {
            terminal: terminal(),
            operator_no: OperatorNo::parse("operatorNo", "01").expect("op"),
        }),
        Request::CardQuery(query.clone()),
        Request::Consume(consume()),
        Request::ConsumeReversal(Reversal {
            original: consume(),
        }),
        Request::Cancel(cancel()),
        Request::CancelReversal(Reversal { original: cancel() }),
        Request::Refund(RefundRequest {
            terminal: terminal(),
            card: card(false),
            trace: trace(2, 1),
            ori_serial_no: SerialNo::parse("oriSerialNo", "10000000000012").expect("serial"),
            ori_trans_date: TransDate::parse("oriTransDate", "20141111").expect("date"),
            ori_register_trace_no: RegisterTraceNo::parse("r", "R1").expect("reg"),
            point_amount: Some(Fen(150)),
            cash_amount: None,
        }),
        Request::RefundCancel(RefundCancelRequest {
            terminal: terminal(),
            card: card(true),
            trace: trace(2, 2),
            ori_serial_no: SerialNo::parse("oriSerialNo", "100000000231").expect("serial"),
            original: trace(2, 1),
            ori_trans_time: time(),
            ori_register_trace_no: RegisterTraceNo::parse("r", "R1").expect("reg"),
        }),
        Request::TicketQuery(query),
        Request::TicketConsume(ticket_consume()),
        Request::TicketConsumeReversal(Reversal {
            original: ticket_consume(),
        }),
        Request::SendVerifyCode(SendVerifyCodeRequest {
            terminal: terminal(),
            mobile_no: MobileNo::parse("13800000000").expect("mobile"),
            trace_no: None,
            batch_no: BatchNo::new(3),
        }),
        Request::CardActivate(CardActivateRequest {
            terminal: terminal(),
            card: card(false),
            trace: trace(3, 9),
            mobile_no: MobileNo::parse("13800000000").expect("mobile"),
            verify_code: VerifyCode::parse("493021").expect("code"),
            id_type: IdType::ResidentIdCard,
            id_no: Some(IdNo::parse("idNo", "0123456789012345678").expect("id")),
        }),
        Request::Settle(SettleRequest {
            terminal: terminal(),
            card_no: CardNo::parse("8800001234").expect("card"),
            trace: trace(1, 99),
            totals: totals(),
        }),
    ]
}

#[test]
fn every_request_round_trips() {
    let samples = samples();
    assert_eq!(samples.len(), Endpoint::ALL.len());
    for (sample, endpoint) in samples.iter().zip(Endpoint::ALL) {
        assert_eq!(sample.endpoint(), endpoint);
        let body = sample.to_form();
        assert_eq!(
            decode_request(endpoint, &body).as_ref(),
            Ok(sample),
            "{endpoint:?}"
        );
        assert_eq!(sample.terminal(), &terminal());
    }
}

#[test]
fn decodes_a_terminal_consume_form() {
    // As a terminal sends it: list field JSON percent-encoded, `+` for spaces, an unknown
    // field a later minor version might add, an empty nullable field.
    let body = "storeNo=898310048990001&terminalNo=10000001&cardNo=6222021234567890123\
        &traceNo=000042&batchNo=000001&track2=&consumeType=01&pointAmount=10.5\
        &cashAmount=1234.50&vaucher=%5B%7B%22id%22%3A1%2C%22num%22%3A2%7D%5D\
        &registerTraceNo=POS%2D77&newField=x+y";
    let Ok(Request::Consume(request)) = decode_request(Endpoint::Consume, body.as_bytes()) else {
        panic!("consume did not decode");
    };
    assert_eq!(request.point_amount, Fen(1_050));
    assert_eq!(request.cash_amount, Fen(123_450));
    assert_eq!(request.vouchers, vec![VoucherUse { id: 1, num: 2 }]);
    assert_eq!(request.card.track2, None);
    assert_eq!(request.password, None);
    assert_eq!(
        request
            .register_trace_no
            .as_ref()
            .map(RegisterTraceNo::as_str),
        Some("POS-77")
    );
    assert_eq!(request.trace, trace(1, 42));
    // Card data never shows in Debug.
    let debug = format!("{request:?}");
    assert!(!debug.contains("6222021234567890123"), "{debug}");
    assert!(debug.contains("622202****0123"));
}

#[test]
fn reversal_carries_the_original_body() {
    let body = consume().to_form();
    let Ok(Request::ConsumeReversal(reversal)) = decode_request(Endpoint::ConsumeReversal, &body)
    else {
        panic!("reversal did not decode");
    };
    assert_eq!(reversal.original, consume());
    assert!(Endpoint::ConsumeReversal.is_reversal());
    let request = Request::ConsumeReversal(reversal);
    assert_eq!(request.trace(), Some(trace(1, 42)));
}

#[test]
fn cancel_reads_seconds_or_milliseconds() {
    let mut request = cancel();
    let body = String::from_utf8(request.to_form()).expect("utf8");
    let seconds = body.replace("oriTransTime=1415125804472", "oriTransTime=1415125804");
    let Ok(Request::Cancel(decoded)) = decode_request(Endpoint::Cancel, seconds.as_bytes()) else {
        panic!("cancel did not decode");
    };
    request.ori_trans_time = TransTime::from_unix_millis(1_415_125_804_000).expect("time");
    assert_eq!(decoded, request);
}

/// Keys of a JSON object text.
fn keys(json: &str) -> BTreeSet<String> {
    let value: Value = serde_json::from_str(json).expect("JSON");
    value.as_object().expect("object").keys().cloned().collect()
}

fn parse(json: &str) -> Value {
    serde_json::from_str(json).expect("reply is JSON")
}

const SPEC_CHECKIN: &str = r#"{
  "status": "00",
  "message": "成功",
  "transTime": 1415125804472,
  "batchNo": "000001"
}"#;

const SPEC_CARD_QUERY: &str = r#"{
  "status": "00",
  "message": "成功",
  "transTime": 1415125804472,
  "pointBalance": 1,
  "avaiablePointBalance": 0,
  "vaucher": [
    {
      "id": 1,
      "amount": 1,
      "num": 2,
      "name": "vv1"
    },
    {
      "id": 2,
      "amount": 1,
      "num": 1,
      "name": "vv2"
    }
  ],
  "idType": "01",
  "idNo": "0123456789012345678",
  "name": "张三",
  "gender": "01",
  "mobileNo": "13800000000",
  "grade": "0",
  "address": "",
  "email": "zhangsan@gmail.com"
}"#;

// The spec splits this example over two code blocks; joined here.
const SPEC_CONSUME: &str = r#"{
  "status": "00",
  "message": "成功",
"transTime": 1415125804472,
"serialNo": "10000000000012",
"pointBalance": 1,
"avaiablePointBalance": 1,
"usePoint": 0,
"persentPoint": 0,
"advertisement": "欢迎参加 xxx 活动"
}"#;

const SPEC_CANCEL: &str = r#"{
  "status": "00",
  "message": "成功",
  "transTime": 1415125804472,
  "serialNo": "100000000231",
  "pointBalance": 1,
  "avaiablePointBalance": 1,
  "usePoint": 0,
  "persentPoint": 0
}"#;

const SPEC_REFUND: &str = r#"{
  "status": "00",
  "message": "成功",
  "transTime": 1415125804472,
  "serialNo": "100000000231",
  "pointBalance": 1,
  "avaiablePointBalance": 1,
  "returnPoint": 0,
  "returnPersentPoint": 0,
  "returnCash": 0,
  "supplyCash": 0
}"#;

const SPEC_TICKET_QUERY: &str = r#"{
  "status": "00",
  "message": "成功",
  "transTime": 1415125804472,
  "serialNo": "100000000231",
  "pointBalance": 1,
  "avaiablePointBalance": 1,
  "usePoint": 0,
  "persentPoint": 0,
  "ticket": [
    {
      "id": 1,
      "type": "01",
      "amount": 10,
      "name": "xx 团购券",
      "num": 5
    },
    {
      "id": 2,
      "type": "03",
      "amount": 100,
      "name": "xx 代金券",
      "num": 10
    }
  ]
}"#;

fn serial(text: &str) -> SerialNo {
    SerialNo::parse("serialNo", text).expect("serial")
}

#[test]
fn checkin_reply_matches_spec_example_plus_table_fields() {
    let reply = CheckinReply {
        trans_time: time(),
        batch_no: BatchNo::FIRST,
        store_name: "一号店".into(),
        working_key: WorkingKey::new(vec![0xA1; 16], vec![0xB2; 16]).expect("key"),
    };
    let json = reply.to_json();
    // The example omits storeName and workingKey, which the table requires (v1.0.1).
    let mut expected = keys(SPEC_CHECKIN);
    expected.extend(["storeName".to_owned(), "workingKey".to_owned()]);
    assert_eq!(keys(&json), expected);
    let value = parse(&json);
    assert_eq!(value["status"], "00");
    assert_eq!(value["message"], "交易成功");
    assert_eq!(value["transTime"], TIME_MS);
    assert_eq!(value["batchNo"], "000001");
    let key = value["workingKey"].as_str().expect("key text");
    assert_eq!(WorkingKey::parse(key), Some(reply.working_key.clone()));
    assert!(json.starts_with(r#"{"status":"00","message":"交易成功","transTime":"#));
}

#[test]
fn card_query_reply_matches_spec_example() {
    let reply = CardQueryReply {
        trans_time: time(),
        point_balance: Fen(100),
        available_point_balance: Fen(0),
        vouchers: vec![
            VoucherInfo {
                id: 1,
                amount: Fen(100),
                num: 2,
                name: "vv1".into(),
            },
            VoucherInfo {
                id: 2,
                amount: Fen(100),
                num: 1,
                name: "vv2".into(),
            },
        ],
        id_type: IdType::ResidentIdCard,
        id_no: "0123456789012345678".into(),
        name: "张三".into(),
        gender: Gender::Male,
        mobile_no: "13800000000".into(),
        grade: Some(Grade::Green),
        address: String::new(),
        email: "zhangsan@gmail.com".into(),
    };
    let json = reply.to_json();
    assert_eq!(keys(&json), keys(SPEC_CARD_QUERY));
    let ours = parse(&json);
    let spec = parse(SPEC_CARD_QUERY);
    for key in [
        "idType", "idNo", "name", "gender", "mobileNo", "grade", "address", "email",
    ] {
        assert_eq!(ours[key], spec[key], "{key}");
    }
    assert_eq!(ours["pointBalance"], "1.00");
    assert_eq!(ours["avaiablePointBalance"], "0.00");
    assert_eq!(ours["vaucher"][1]["name"], "vv2");
    assert_eq!(ours["vaucher"][0]["amount"], "1.00");
    assert_eq!(ours["vaucher"][0]["num"], 2);
    assert_eq!(ours["vaucher"][0]["id"], 1);
}

#[test]
fn consume_and_cancel_replies_match_spec_examples() {
    let consume = ConsumeReply {
        trans_time: time(),
        serial_no: serial("10000000000012"),
        point_balance: Fen(100),
        available_point_balance: Fen(100),
        use_point: Fen(0),
        persent_point: Fen(0),
        advertisement: Some("欢迎参加 xxx 活动".into()),
    };
    let json = consume.to_json();
    assert_eq!(keys(&json), keys(SPEC_CONSUME));
    let value = parse(&json);
    assert_eq!(value["advertisement"], parse(SPEC_CONSUME)["advertisement"]);
    assert_eq!(value["usePoint"], "0.00");
    assert_eq!(value["serialNo"], "10000000000012");

    let cancel = PointsReply {
        trans_time: time(),
        serial_no: serial("100000000231"),
        point_balance: Fen(100),
        available_point_balance: Fen(100),
        use_point: Fen(0),
        persent_point: Fen(0),
    };
    assert_eq!(keys(&cancel.to_json()), keys(SPEC_CANCEL));
}

#[test]
fn refund_reply_matches_spec_example() {
    let reply = RefundReply {
        trans_time: time(),
        serial_no: serial("100000000231"),
        point_balance: Fen(100),
        available_point_balance: Fen(100),
        return_point: Fen(0),
        return_persent_point: Fen(0),
        return_cash: Fen(123_450),
        supply_cash: Fen(0),
    };
    let json = reply.to_json();
    assert_eq!(keys(&json), keys(SPEC_REFUND));
    assert_eq!(parse(&json)["returnCash"], "1234.50");
}

#[test]
fn ticket_query_reply_matches_spec_example_less_copied_fields() {
    let reply = TicketQueryReply {
        trans_time: time(),
        point_balance: Fen(100),
        available_point_balance: Fen(100),
        tickets: vec![
            TicketInfo {
                id: 1,
                ticket_type: TicketType::GroupBuying,
                amount: Fen(1_000),
                name: "xx 团购券".into(),
                num: 5,
            },
            TicketInfo {
                id: 2,
                ticket_type: TicketType::CashVoucher,
                amount: Fen(10_000),
                name: "xx 代金券".into(),
                num: 10,
            },
        ],
    };
    let json = reply.to_json();
    let mut expected = keys(SPEC_TICKET_QUERY);
    for copied in ["serialNo", "usePoint", "persentPoint"] {
        expected.remove(copied);
    }
    assert_eq!(keys(&json), expected);
    let ours = parse(&json);
    let spec = parse(SPEC_TICKET_QUERY);
    assert_eq!(ours["ticket"][1]["type"], spec["ticket"][1]["type"]);
    assert_eq!(ours["ticket"][1]["name"], spec["ticket"][1]["name"]);
    assert_eq!(ours["ticket"][1]["amount"], "100.00");
    assert_eq!(ours["ticket"][0]["num"], 5);
}

#[test]
fn short_replies_carry_their_table_fields() {
    let ticket = TicketConsumeReply {
        serial_no: serial("1"),
        advertisement: None,
        trans_time: time(),
    };
    assert_eq!(
        ticket.to_json(),
        format!(r#"{{"status":"00","message":"交易成功","serialNo":"1","transTime":{TIME_MS}}}"#)
    );
    let activate = CardActivateReply {
        serial_no: serial("2"),
        trans_time: time(),
    };
    assert_eq!(
        keys(&activate.to_json()),
        keys(r#"{"status":0,"message":0,"serialNo":0,"transTime":0}"#)
    );
    let settle = SettleReply {
        flag: SettleFlag::from_discrepancies(&compare(&totals(), &totals())),
    };
    assert_eq!(
        settle.to_json(),
        r#"{"status":"00","message":"交易成功","settleFlag":"ss"}"#
    );
    let refused = StatusReply::new(JposStatus::InsufficientFunds);
    assert_eq!(
        refused.encode(),
        r#"{"status":"51","message":"余额不足, 请查询"}"#.as_bytes()
    );
    let timed = StatusReply {
        status: JposStatus::NotCheckedIn,
        trans_time: Some(time()),
    };
    assert_eq!(parse(&timed.to_json())["transTime"], TIME_MS);
}

#[test]
fn replies_escape_text() {
    let reply = ConsumeReply {
        trans_time: time(),
        serial_no: serial("1"),
        point_balance: Fen(0),
        available_point_balance: Fen(0),
        use_point: Fen(0),
        persent_point: Fen(0),
        advertisement: Some("say \"hi\"\n\\".into()),
    };
    assert_eq!(parse(&reply.to_json())["advertisement"], "say \"hi\"\n\\");
}

/// Replaces (or with `None`, removes) one field of a valid request body.
fn with_field(request: &Request, key: &str, value: Option<&str>) -> Vec<u8> {
    let body = String::from_utf8(request.to_form()).expect("utf8");
    let mut pairs: Vec<String> = body
        .split('&')
        .filter(|pair| pair.split('=').next() != Some(key))
        .map(str::to_owned)
        .collect();
    if let Some(value) = value {
        pairs.push(format!("{key}={value}"));
    }
    pairs.join("&").into_bytes()
}

#[test]
fn bad_inputs_answer_their_codes() {
    let consume = Request::Consume(consume());
    let cancel = Request::Cancel(cancel());
    let refund = &samples()[6];
    let tickets = Request::TicketConsume(ticket_consume());
    let activate = &samples()[12];
    let settle = &samples()[13];
    let rows: Vec<(&str, Endpoint, Vec<u8>, &str)> = vec![
        (
            "missing storeNo",
            Endpoint::Consume,
            with_field(&consume, "storeNo", None),
            "30",
        ),
        (
            "empty terminalNo",
            Endpoint::Consume,
            with_field(&consume, "terminalNo", Some("")),
            "30",
        ),
        (
            "card with symbols",
            Endpoint::Consume,
            with_field(&consume, "cardNo", Some("6222-0212")),
            "14",
        ),
        (
            "card too short",
            Endpoint::Consume,
            with_field(&consume, "cardNo", Some("123")),
            "14",
        ),
        (
            "5-digit trace",
            Endpoint::Consume,
            with_field(&consume, "traceNo", Some("00042")),
            "30",
        ),
        (
            "letter in batch",
            Endpoint::Consume,
            with_field(&consume, "batchNo", Some("00000A")),
            "30",
        ),
        (
            "bad track2",
            Endpoint::Consume,
            with_field(&consume, "track2", Some("62220%3DX")),
            "36",
        ),
        (
            "long track3",
            Endpoint::Consume,
            with_field(&consume, "track3", Some(&"9".repeat(105))),
            "36",
        ),
        (
            "odd password hex",
            Endpoint::Consume,
            with_field(&consume, "password", Some("ABC")),
            "30",
        ),
        (
            "3 decimals",
            Endpoint::Consume,
            with_field(&consume, "cashAmount", Some("12.345")),
            "30",
        ),
        (
            "negative",
            Endpoint::Consume,
            with_field(&consume, "cashAmount", Some("-1")),
            "30",
        ),
        (
            "exponent",
            Endpoint::Consume,
            with_field(&consume, "pointAmount", Some("1e9")),
            "30",
        ),
        (
            "empty amount",
            Endpoint::Consume,
            with_field(&consume, "pointAmount", Some("")),
            "30",
        ),
        (
            "huge amount",
            Endpoint::Consume,
            with_field(&consume, "pointAmount", Some("10000000000.01")),
            "13",
        ),
        (
            "voucher not JSON",
            Endpoint::Consume,
            with_field(&consume, "vaucher", Some("%5B")),
            "30",
        ),
        (
            "duplicate key",
            Endpoint::Consume,
            [consume.to_form(), b"&storeNo=1".to_vec()].concat(),
            "30",
        ),
        (
            "bad escape",
            Endpoint::Consume,
            b"storeNo=%G1".to_vec(),
            "30",
        ),
        (
            "reversal missing consumeType",
            Endpoint::ConsumeReversal,
            with_field(&consume, "consumeType", None),
            "30",
        ),
        (
            "ori time text",
            Endpoint::Cancel,
            with_field(&cancel, "oriTransTime", Some("yesterday")),
            "30",
        ),
        (
            "missing oriBatchNo",
            Endpoint::CancelReversal,
            with_field(&cancel, "oriBatchNo", None),
            "30",
        ),
        (
            "bad date",
            Endpoint::Refund,
            with_field(refund, "oriTransDate", Some("20141131")),
            "30",
        ),
        (
            "refund needs register trace",
            Endpoint::Refund,
            with_field(refund, "oriRegisterTraceNo", None),
            "30",
        ),
        (
            "no tickets",
            Endpoint::TicketConsume,
            with_field(&tickets, "ticket", None),
            "30",
        ),
        (
            "bad id type",
            Endpoint::CardActivate,
            with_field(activate, "idType", Some("08")),
            "30",
        ),
        (
            "letters in mobile",
            Endpoint::CardActivate,
            with_field(activate, "mobileNo", Some("138abc")),
            "30",
        ),
        (
            "fractional count",
            Endpoint::Settle,
            with_field(settle, "pointCeditCount", Some("1.5")),
            "30",
        ),
        (
            "settle missing figure",
            Endpoint::Settle,
            with_field(settle, "cardActiveCount", None),
            "30",
        ),
        (
            "oversized body",
            Endpoint::Checkin,
            vec![b'a'; limits::BODY_BYTES_MAX + 1],
            "30",
        ),
    ];
    assert!(rows.len() >= 15);
    for (name, endpoint, body, code) in rows {
        let result = decode_request(endpoint, &body);
        let Err(error) = result else {
            panic!("{name}: accepted");
        };
        assert_eq!(error.code().as_str(), code, "{name}: {error}");
    }
}

#[test]
fn amount_errors_keep_their_reason() {
    let consume = Request::Consume(consume());
    for (text, error) in [
        ("12.345", AmountError::TooPrecise(2)),
        ("-1", AmountError::Negative),
        ("1e9", AmountError::Syntax),
    ] {
        assert_eq!(
            decode_request(
                Endpoint::Consume,
                &with_field(&consume, "cashAmount", Some(text))
            ),
            Err(JposError::InvalidAmount {
                field: "cashAmount",
                error
            })
        );
    }
    assert_eq!(
        decode_request(
            Endpoint::Consume,
            &with_field(&consume, "cashAmount", Some(""))
        ),
        Err(JposError::MissingField("cashAmount"))
    );
}

#[test]
fn no_refusal_reads_as_a_successful_reversal() {
    let errors = [
        JposError::UnknownEndpoint,
        JposError::UnsupportedVersion,
        JposError::MethodNotAllowed,
        JposError::Malformed(FormError::NotUtf8),
        JposError::MissingField("x"),
        JposError::InvalidField {
            field: "x",
            reason: "y",
        },
        JposError::InvalidAmount {
            field: "x",
            error: AmountError::TooLarge,
        },
        JposError::InvalidAmount {
            field: "x",
            error: AmountError::Syntax,
        },
        JposError::InvalidCardNo,
        JposError::InvalidTrack("track2"),
        JposError::InvalidList {
            field: "x",
            reason: "y",
        },
    ];
    for error in errors {
        assert!(!error.code().is_reversal_success(), "{error}");
    }
}

/// Small edits of a valid body: drop, duplicate, replace or insert one byte.
fn mutate(body: &[u8], edits: &[(usize, u8, u8)]) -> Vec<u8> {
    let mut out = body.to_vec();
    for &(at, kind, byte) in edits {
        if out.is_empty() {
            out.push(byte);
            continue;
        }
        let at = at % out.len();
        match kind % 4 {
            0 => {
                out.remove(at);
            }
            1 => out.insert(at, out[at]),
            2 => out[at] = byte,
            _ => out.insert(at, byte),
        }
    }
    out
}

proptest! {
    #[test]
    fn decoders_never_panic_on_bytes(body in proptest::collection::vec(any::<u8>(), 0..600)) {
        for endpoint in Endpoint::ALL {
            let _ = decode_request(endpoint, &body);
        }
    }

    #[test]
    fn decoders_never_panic_on_mutations(
        index in 0usize..14,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..8),
    ) {
        let samples = samples();
        let sample = &samples[index];
        let body = mutate(&sample.to_form(), &edits);
        for endpoint in Endpoint::ALL {
            if let Ok(request) = decode_request(endpoint, &body) {
                // Whatever is accepted re-encodes to something that decodes the same.
                prop_assert_eq!(decode_request(endpoint, &request.to_form()), Ok(request));
            }
        }
    }

    #[test]
    fn list_fields_never_panic(text in "[\\[\\]{}\":,0-9a-z\\- .]{0,80}") {
        let consume = Request::Consume(consume());
        let tickets = Request::TicketConsume(ticket_consume());
        let encoded: String = text.bytes().map(|b| format!("%{b:02X}")).collect();
        let _ = decode_request(Endpoint::Consume, &with_field(&consume, "vaucher", Some(&encoded)));
        let _ = decode_request(Endpoint::TicketConsume, &with_field(&tickets, "ticket", Some(&encoded)));
    }

    #[test]
    fn consume_amounts_round_trip(point in 0i64..=crate::money::AMOUNT_FEN_MAX, cash in 0i64..1_000_000) {
        let mut request = consume();
        request.point_amount = Fen(point);
        request.cash_amount = Fen(cash);
        let request = Request::Consume(request);
        prop_assert_eq!(decode_request(Endpoint::Consume, &request.to_form()), Ok(request));
    }

    #[test]
    fn batch_numbers_stay_six_digits(value in 0u32..=999_999) {
        let batch = BatchNo::new(value).expect("in range");
        let next = batch.next();
        prop_assert!(next.get() >= 1 && next.get() <= 999_999);
        prop_assert_eq!(BatchNo::parse("batchNo", &next.to_wire()), Ok(next));
    }
}
