//! One entry point for everything a device publishes: topic kind + payload -> [`DeviceMessage`].
//!
//! The adapter parses the topic ([`super::topic::Topic`]), then hands the kind and the bytes
//! here; the payload is read once, with the size bound of its topic, and dispatched:
//!
//! * `online` topic: always the online message;
//! * `api_ret`: `sAckId` present -> acknowledgement; else `mode` present -> consumption
//!   request; else `msgType` `online` -> online message; else refused;
//! * other topics: `msgType` `online` -> online message (the spec names no online topic, so a
//!   device may well publish it anywhere), else the topic's own message.

use super::consume::{CommandAck, ConsumeRequest};
use super::error::MqttPosError;
use super::json::{parse_object, Fields};
use super::limits::{PAYLOAD_BYTES_MAX, PHOTO_PAYLOAD_BYTES_MAX};
use super::topic::DeviceMessageKind;
use super::uploads::{BalanceQuery, DeviceNotice, MenuRecord, OnlineNotice, PhotoUpload};

/// A decoded device message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceMessage {
    /// `api_ret` with `mode`.
    Consume(ConsumeRequest),
    /// `api_ret` with `sAckId`.
    Ack(CommandAck),
    /// `pos_pay`.
    BalanceQuery(BalanceQuery),
    /// `message`.
    Notice(DeviceNotice),
    /// `frame_imgup`.
    Photo(PhotoUpload),
    /// `menu_rec`.
    MenuRecord(MenuRecord),
    /// The online message.
    Online(OnlineNotice),
}

/// Decodes what a device published on a topic of kind `kind`.
pub fn decode_device_message(
    kind: DeviceMessageKind,
    payload: &[u8],
) -> Result<DeviceMessage, MqttPosError> {
    let max = match kind {
        DeviceMessageKind::FrameImgup => PHOTO_PAYLOAD_BYTES_MAX,
        DeviceMessageKind::ApiRet
        | DeviceMessageKind::PosPay
        | DeviceMessageKind::Message
        | DeviceMessageKind::MenuRec
        | DeviceMessageKind::Online => PAYLOAD_BYTES_MAX,
    };
    let map = parse_object(payload, max)?;
    let fields = Fields::new(&map);
    let says_online = matches!(
        fields.get(&["msgType"])?,
        Some(serde_json::Value::String(t)) if OnlineNotice::is_online_msg_type(t)
    );
    let message = match kind {
        DeviceMessageKind::Online => DeviceMessage::Online(OnlineNotice::from_map(&map)?),
        DeviceMessageKind::ApiRet => {
            if fields.has(&["sAckId"]) {
                DeviceMessage::Ack(CommandAck::from_map(&map)?)
            } else if fields.has(&["mode"]) {
                DeviceMessage::Consume(ConsumeRequest::from_map(&map)?)
            } else if says_online {
                DeviceMessage::Online(OnlineNotice::from_map(&map)?)
            } else {
                return Err(MqttPosError::UnrecognisedMessage);
            }
        }
        _ if says_online => DeviceMessage::Online(OnlineNotice::from_map(&map)?),
        DeviceMessageKind::PosPay => DeviceMessage::BalanceQuery(BalanceQuery::from_map(&map)?),
        DeviceMessageKind::Message => DeviceMessage::Notice(DeviceNotice::from_map(&map)?),
        DeviceMessageKind::FrameImgup => DeviceMessage::Photo(PhotoUpload::from_map(&map)?),
        DeviceMessageKind::MenuRec => DeviceMessage::MenuRecord(MenuRecord::from_map(&map)?),
    };
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Fen;
    use crate::mqtt_pos::codes::XfCode;
    use crate::mqtt_pos::consume::{ConsumeDetail, ConsumeMode, OfflinePricing};
    use crate::mqtt_pos::uploads::NoticeType;
    use proptest::prelude::*;

    /// The spec's consumption example, verbatim (bare keys: not JSON, accepted).
    const SPEC_CONSUME: &str = r#"{
    mode: 1,
    posNum: 4068,
    userId: "200004",
    payTime: "2021-05-07 14:24:13",
    idenType: "reqCard",
    payMoney: 117,
    payCopies: 2,
    offlineDz: 35,
    offlineMoney: 234,
    imgPath: "2021-05-07/jk686538.jpg"
}"#;

    /// The spec's message example, verbatim (missing comma after `"fe"`: accepted, the next
    /// member is on a new line).
    const SPEC_MESSAGE: &str = r#"{
    "user": 123456, 
    "time": "2019-09-25 11:08:27",  
    "type": "fe" 
    "param": "-4001"
}"#;

    /// The spec's photo example, verbatim (missing commas; its photo is a placeholder).
    const SPEC_PHOTO: &str = r#"{
    "msgType": "frame_imgup"
    "imgPath": "2021-05-07/jk686538.jpg"
    "photo": "[base64格式数据]"
}"#;

    /// The spec's dish record example, verbatim (missing commas, spaces in the time, numeric id).
    const SPEC_MENU: &str = r#"{
    "posNum": 110221,
    "payTime": "2021-05-06 12: 23: 56"
    "group": 2
    "list": [
        {
            "id": 45895,
            "num": 25
        }
    ]
}"#;

    fn consume(text: &str) -> Result<ConsumeRequest, MqttPosError> {
        match decode_device_message(DeviceMessageKind::ApiRet, text.as_bytes())? {
            DeviceMessage::Consume(request) => Ok(request),
            other => panic!("not a consumption: {other:?}"),
        }
    }

    fn with_mode(mode: &str, extra: &str) -> String {
        format!(
            r#"{{"mode":{mode},"posNum":7,"userId":"200004","payTime":"2021-05-07 14:24:13","idenType":"face","payMoney":500{extra}}}"#
        )
    }

    #[test]
    fn decodes_spec_consumption_example() {
        let request = consume(SPEC_CONSUME).unwrap();
        assert_eq!(request.detail, ConsumeDetail::OnlineAmount);
        assert_eq!(request.mode(), ConsumeMode::OnlineAmount);
        assert_eq!(request.pos_num, 4068);
        assert_eq!(request.user_id.as_str(), "200004");
        assert_eq!(request.pay_time.to_string(), "2021-05-07 14:24:13");
        assert_eq!(request.iden_type, "reqCard");
        assert_eq!(request.pay_money, Fen(117));
        assert_eq!(
            request.img_path.as_ref().map(|p| p.as_str()),
            Some("2021-05-07/jk686538.jpg")
        );
        assert_eq!(request.msg_type, None);
    }

    #[test]
    fn decodes_every_mode() {
        let cases = [
            ("1", "", ConsumeDetail::OnlineAmount),
            ("2", "", ConsumeDetail::OnlineRecharge),
            ("10", "", ConsumeDetail::Reversal),
            ("12", "", ConsumeDetail::Load),
            ("31", "", ConsumeDetail::Cancel),
            ("41", "", ConsumeDetail::OnlineCopies { copies: 1 }),
            (
                "41",
                r#","PayCopies":"3""#,
                ConsumeDetail::OnlineCopies { copies: 3 },
            ),
            (
                "51",
                r#","offlineDz":"85","OfflineMoney":"425""#,
                ConsumeDetail::OfflineAmount(OfflinePricing {
                    discount: 85,
                    amount: Fen(425),
                }),
            ),
            (
                "51",
                r#","offlineMoney":500"#,
                ConsumeDetail::OfflineAmount(OfflinePricing {
                    discount: 100,
                    amount: Fen(500),
                }),
            ),
            (
                "52",
                r#","payCopies":2"#,
                ConsumeDetail::OfflineCopies {
                    copies: 2,
                    pricing: None,
                },
            ),
            (
                "\"52\"",
                r#","payCopies":2,"PayCopies":2,"offlineDz":0,"offlineMoney":0"#,
                ConsumeDetail::OfflineCopies {
                    copies: 2,
                    pricing: Some(OfflinePricing {
                        discount: 0,
                        amount: Fen(0),
                    }),
                },
            ),
        ];
        for (mode, extra, detail) in cases {
            let request = consume(&with_mode(mode, extra)).unwrap();
            assert_eq!(request.detail, detail, "{mode} {extra}");
            assert_eq!(
                i64::from(request.mode().code()),
                mode.trim_matches('"').parse::<i64>().unwrap()
            );
        }
        assert_eq!(ConsumeMode::all().len(), 8);
    }

    #[test]
    fn decodes_acks() {
        let text = r#"{"sAckId":"abcd1234","code":"0","msg":"ok","data":{"sn":"X1","ver":2}}"#;
        let DeviceMessage::Ack(ack) =
            decode_device_message(DeviceMessageKind::ApiRet, text.as_bytes()).unwrap()
        else {
            panic!("not an ack");
        };
        assert_eq!(ack.ack_id.as_str(), "abcd1234");
        assert!(ack.is_success());
        assert_eq!(ack.message.as_deref(), Some("ok"));
        assert_eq!(ack.data.as_deref(), Some(r#"{"sn":"X1","ver":2}"#));
        let bare = CommandAck::decode(br#"{"sAckId":"a-1"}"#).unwrap();
        assert_eq!(bare.code, None);
        assert!(!bare.is_success());
    }

    #[test]
    fn decodes_spec_upload_examples() {
        let DeviceMessage::Notice(notice) =
            decode_device_message(DeviceMessageKind::Message, SPEC_MESSAGE.as_bytes()).unwrap()
        else {
            panic!("not a notice");
        };
        assert_eq!(notice.user.as_str(), "123456");
        assert_eq!(notice.kind, NoticeType::FaceError);
        assert_eq!(notice.param, "-4001");
        assert_eq!(notice.time.to_string(), "2019-09-25 11:08:27");

        assert_eq!(
            decode_device_message(DeviceMessageKind::FrameImgup, SPEC_PHOTO.as_bytes()),
            Err(MqttPosError::BadPhoto)
        );
        let real = SPEC_PHOTO.replace("[base64格式数据]", "/9j/4AAQ\\nSkZJRg==");
        let DeviceMessage::Photo(photo) =
            decode_device_message(DeviceMessageKind::FrameImgup, real.as_bytes()).unwrap()
        else {
            panic!("not a photo");
        };
        assert_eq!(photo.img_path.as_str(), "2021-05-07/jk686538.jpg");
        assert_eq!(photo.photo, b"\xff\xd8\xff\xe0\x00\x10JFIF");
        assert_eq!(photo.msg_type.as_deref(), Some("frame_imgup"));
        assert!(format!("{photo:?}").contains("photo_bytes: 10"));
        let data_url = r#"{"imgPath":"a.jpg","photo":"data:image/jpeg;base64,_9j_4AAQ"}"#;
        assert_eq!(
            PhotoUpload::decode(data_url.as_bytes()).unwrap().photo,
            b"\xff\xd8\xff\xe0\x00\x10"
        );

        let DeviceMessage::MenuRecord(menu) =
            decode_device_message(DeviceMessageKind::MenuRec, SPEC_MENU.as_bytes()).unwrap()
        else {
            panic!("not a dish record");
        };
        assert_eq!(menu.pos_num, 110221);
        assert_eq!(menu.group, 2);
        assert_eq!(menu.pay_time.to_string(), "2021-05-06 12:23:56");
        assert_eq!(menu.lines.len(), 1);
        assert_eq!(menu.lines[0].id, "45895");
        assert_eq!(menu.lines[0].quantity, 25);
        let empty =
            MenuRecord::decode(br#"{"posNum":1,"payTime":"2021-05-06 12:23:56","group":0}"#);
        assert_eq!(empty.map(|m| m.lines.len()), Ok(0));
    }

    #[test]
    fn decodes_balance_query_and_online() {
        let DeviceMessage::BalanceQuery(query) = decode_device_message(
            DeviceMessageKind::PosPay,
            br#"{"userId":200004,"msgType":"pos_pay"}"#,
        )
        .unwrap() else {
            panic!("not a balance query");
        };
        assert_eq!(query.user_id.as_str(), "200004");
        assert_eq!(query.msg_type.as_deref(), Some("pos_pay"));

        let online =
            br#"{"msgType":"online","sn":"5394611","ip":"10.0.0.9","ver":3,"cfg":{"a":1}}"#;
        for kind in DeviceMessageKind::all() {
            let DeviceMessage::Online(notice) = decode_device_message(*kind, online).unwrap()
            else {
                panic!("not online on {kind:?}");
            };
            assert_eq!(notice.msg_type.as_deref(), Some("online"));
            assert_eq!(
                notice.attributes,
                vec![
                    ("ip".to_owned(), "10.0.0.9".to_owned()),
                    ("sn".to_owned(), "5394611".to_owned()),
                    ("ver".to_owned(), "3".to_owned()),
                ]
            );
        }
        assert!(matches!(
            decode_device_message(DeviceMessageKind::Online, b"{}"),
            Ok(DeviceMessage::Online(_))
        ));
    }

    #[test]
    fn bad_inputs_map_to_codes() {
        use DeviceMessageKind::{ApiRet, FrameImgup, MenuRec, Message, PosPay};
        let long_photo = format!(
            r#"{{"imgPath":"a.jpg","photo":"{}"}}"#,
            "A".repeat(crate::mqtt_pos::limits::PHOTO_BYTES_MAX / 3 * 4 + 8)
        );
        let cases: Vec<(DeviceMessageKind, String, MqttPosError, XfCode)> = vec![
            (
                ApiRet,
                "hello".into(),
                MqttPosError::Malformed {
                    offset: 0,
                    reason: "unexpected character",
                },
                XfCode::MalformedRequest,
            ),
            (
                ApiRet,
                "[1,2]".into(),
                MqttPosError::NotAnObject,
                XfCode::MalformedRequest,
            ),
            (
                ApiRet,
                "{}".into(),
                MqttPosError::UnrecognisedMessage,
                XfCode::MalformedRequest,
            ),
            (
                ApiRet,
                with_mode("7", ""),
                MqttPosError::UnknownMode(7),
                XfCode::UnknownMode,
            ),
            (
                ApiRet,
                with_mode("\"x\"", ""),
                MqttPosError::WrongType {
                    field: "mode",
                    expected: "an integer",
                },
                XfCode::MalformedRequest,
            ),
            (
                ApiRet,
                with_mode("1", "").replace("\"payMoney\":500", "\"payMoney\":-1"),
                MqttPosError::NegativeAmount("payMoney"),
                XfCode::AmountOutOfRange,
            ),
            (
                ApiRet,
                with_mode("1", "").replace("\"payMoney\":500", "\"payMoney\":\"-5\""),
                MqttPosError::NegativeAmount("payMoney"),
                XfCode::AmountOutOfRange,
            ),
            (
                ApiRet,
                with_mode("1", "").replace("500", "99999999999999999999"),
                MqttPosError::AmountTooLarge("payMoney"),
                XfCode::AmountOutOfRange,
            ),
            (
                ApiRet,
                with_mode("1", "").replace("500", "1000000000001"),
                MqttPosError::AmountTooLarge("payMoney"),
                XfCode::AmountOutOfRange,
            ),
            (
                ApiRet,
                with_mode("1", "").replace("500", "1.5"),
                MqttPosError::WrongType {
                    field: "payMoney",
                    expected: "an integer amount in fen",
                },
                XfCode::MalformedRequest,
            ),
            (
                ApiRet,
                with_mode("1", "").replace("500", "true"),
                MqttPosError::WrongType {
                    field: "payMoney",
                    expected: "an integer amount in fen",
                },
                XfCode::MalformedRequest,
            ),
            (
                ApiRet,
                with_mode("1", "").replace(",\"payMoney\":500", ""),
                MqttPosError::MissingField("payMoney"),
                XfCode::MalformedRequest,
            ),
            (
                ApiRet,
                with_mode("1", "").replace("\"userId\":\"200004\",", ""),
                MqttPosError::MissingField("userId"),
                XfCode::MalformedRequest,
            ),
            (
                ApiRet,
                with_mode("1", "").replace("\"posNum\":7", "\"posNum\":null"),
                MqttPosError::MissingField("posNum"),
                XfCode::MalformedRequest,
            ),
            (
                ApiRet,
                with_mode("1", "").replace("\"posNum\":7", "\"posNum\":-7"),
                MqttPosError::OutOfRange("posNum"),
                XfCode::MalformedRequest,
            ),
            (
                ApiRet,
                with_mode("1", "").replace("14:24:13", "25:24:13"),
                MqttPosError::BadTime("payTime"),
                XfCode::MalformedRequest,
            ),
            (
                ApiRet,
                with_mode("1", "").replace("200004", "../etc"),
                MqttPosError::BadText("userId"),
                XfCode::MalformedRequest,
            ),
            (
                ApiRet,
                with_mode("1", "").replace("\"face\"", "\"\""),
                MqttPosError::BadText("idenType"),
                XfCode::MalformedRequest,
            ),
            (
                ApiRet,
                with_mode("1", r#","payMoney":500"#),
                MqttPosError::DuplicateField("payMoney".into()),
                XfCode::MalformedRequest,
            ),
            (
                ApiRet,
                with_mode("41", r#","payCopies":0"#),
                MqttPosError::OutOfRange("payCopies"),
                XfCode::MalformedRequest,
            ),
            (
                ApiRet,
                with_mode("41", r#","payCopies":2,"PayCopies":3"#),
                MqttPosError::DuplicateField("PayCopies".into()),
                XfCode::MalformedRequest,
            ),
            (
                ApiRet,
                with_mode("51", ""),
                MqttPosError::MissingField("offlineMoney"),
                XfCode::MalformedRequest,
            ),
            (
                ApiRet,
                with_mode("51", r#","offlineMoney":10,"offlineDz":101"#),
                MqttPosError::OutOfRange("offlineDz"),
                XfCode::MalformedRequest,
            ),
            (
                ApiRet,
                with_mode("51", r#","OfflineMoney":"-3""#),
                MqttPosError::NegativeAmount("offlineMoney"),
                XfCode::AmountOutOfRange,
            ),
            (
                ApiRet,
                r#"{"sAckId":"a b"}"#.into(),
                MqttPosError::BadText("sAckId"),
                XfCode::MalformedRequest,
            ),
            (
                ApiRet,
                "{\"a\":".repeat(10) + "1",
                MqttPosError::TooDeep,
                XfCode::MalformedRequest,
            ),
            (
                ApiRet,
                format!(r#"{{"x":"{}"}}"#, "a".repeat(PAYLOAD_BYTES_MAX)),
                MqttPosError::PayloadTooLarge {
                    bytes: PAYLOAD_BYTES_MAX + 8,
                    max: PAYLOAD_BYTES_MAX,
                },
                XfCode::MalformedRequest,
            ),
            (
                PosPay,
                r#"{"msgType":"pos_pay"}"#.into(),
                MqttPosError::MissingField("userId"),
                XfCode::MalformedRequest,
            ),
            (
                PosPay,
                r#"{"userId":1.5}"#.into(),
                MqttPosError::WrongType {
                    field: "userId",
                    expected: "a string or an integer",
                },
                XfCode::MalformedRequest,
            ),
            (
                Message,
                r#"{"user":1,"time":"2019-09-25 11:08:27","type":"fe"}"#.into(),
                MqttPosError::MissingField("param"),
                XfCode::MalformedRequest,
            ),
            (
                Message,
                r#"{"user":"a/b","time":"2019-09-25 11:08:27","type":"fe","param":1}"#.into(),
                MqttPosError::BadText("user"),
                XfCode::MalformedRequest,
            ),
            (
                FrameImgup,
                r#"{"imgPath":"..","photo":"AAAA"}"#.into(),
                MqttPosError::BadImgPath,
                XfCode::MalformedRequest,
            ),
            (
                FrameImgup,
                r#"{"imgPath":"a.jpg","photo":"A"}"#.into(),
                MqttPosError::BadPhoto,
                XfCode::MalformedRequest,
            ),
            (
                FrameImgup,
                long_photo,
                MqttPosError::PhotoTooLarge {
                    max: crate::mqtt_pos::limits::PHOTO_BYTES_MAX,
                },
                XfCode::MalformedRequest,
            ),
            (
                MenuRec,
                r#"{"posNum":1,"payTime":"2021-05-06 12:23:56","group":7}"#.into(),
                MqttPosError::OutOfRange("group"),
                XfCode::MalformedRequest,
            ),
            (
                MenuRec,
                r#"{"posNum":1,"payTime":"2021-05-06 12:23:56","group":1,"list":[1]}"#.into(),
                MqttPosError::WrongType {
                    field: "list",
                    expected: "a list of objects",
                },
                XfCode::MalformedRequest,
            ),
            (
                MenuRec,
                format!(
                    r#"{{"posNum":1,"payTime":"2021-05-06 12:23:56","group":1,"list":[{}{{}}]}}"#,
                    "{},".repeat(200)
                ),
                MqttPosError::TooManyItems {
                    field: "list",
                    max: 200,
                },
                XfCode::MalformedRequest,
            ),
        ];
        assert!(cases.len() >= 15);
        for (kind, payload, error, code) in cases {
            let got = decode_device_message(kind, payload.as_bytes());
            assert_eq!(
                got.as_ref().err(),
                Some(&error),
                "{kind:?} {}",
                &payload[..payload.len().min(120)]
            );
            assert_eq!(error.code(), code, "{error:?}");
        }
    }

    fn valid_samples() -> Vec<(DeviceMessageKind, String)> {
        vec![
            (DeviceMessageKind::ApiRet, SPEC_CONSUME.to_owned()),
            (
                DeviceMessageKind::ApiRet,
                with_mode("51", r#","offlineDz":"85","OfflineMoney":"425""#),
            ),
            (
                DeviceMessageKind::ApiRet,
                r#"{"sAckId":"abcd1234","code":0,"data":[1,{"a":"b"}]}"#.to_owned(),
            ),
            (
                DeviceMessageKind::PosPay,
                r#"{"userId":"200004","msgType":"pos_pay"}"#.to_owned(),
            ),
            (DeviceMessageKind::Message, SPEC_MESSAGE.to_owned()),
            (
                DeviceMessageKind::FrameImgup,
                SPEC_PHOTO.replace("[base64格式数据]", "/9j/4AAQSkZJRg=="),
            ),
            (DeviceMessageKind::MenuRec, SPEC_MENU.to_owned()),
            (
                DeviceMessageKind::Online,
                r#"{"msgType":"online","sn":"1"}"#.to_owned(),
            ),
        ]
    }

    proptest! {
        #[test]
        fn never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256), k in 0usize..6) {
            let kind = DeviceMessageKind::all()[k];
            let _ = decode_device_message(kind, &bytes);
            let _ = ConsumeRequest::decode(&bytes);
            let _ = CommandAck::decode(&bytes);
            let _ = BalanceQuery::decode(&bytes);
            let _ = DeviceNotice::decode(&bytes);
            let _ = PhotoUpload::decode(&bytes);
            let _ = MenuRecord::decode(&bytes);
            let _ = OnlineNotice::decode(&bytes);
        }

        #[test]
        fn never_panics_on_mutations(
            sample in 0usize..8,
            edits in proptest::collection::vec((any::<usize>(), 0u8..3, proptest::sample::select(
                vec![b'{', b'}', b'[', b']', b'"', b',', b':', b'-', b'0', b'9', b'.', b'e', b'\\', b'u', b' ', b'\n', b'/', b'*', b'n', 0xff, 0xe5]
            )), 1..8),
        ) {
            let samples = valid_samples();
            let (kind, text) = &samples[sample];
            let mut bytes = text.as_bytes().to_vec();
            for (at, op, byte) in edits {
                let at = at % (bytes.len() + 1);
                match op {
                    0 => bytes.insert(at, byte),
                    1 if at < bytes.len() => { bytes.remove(at); }
                    _ if at < bytes.len() => bytes[at] = byte,
                    _ => bytes.push(byte),
                }
            }
            let _ = decode_device_message(*kind, &bytes);
        }

        #[test]
        fn never_panics_on_field_values(
            sample in 0usize..8,
            value in proptest::sample::select(vec![
                "null", "true", "-1", "0", "1e3", "1.5", "\"\"", "\"-\"", "\"12\"", "\"-0\"",
                "99999999999999999999", "-99999999999999999999", "[]", "{}", "\"../x\"",
                "\"2021-02-29 00:00:00\"", "9007199254740992", "\"\\u0000\"",
            ]),
            field in proptest::sample::select(vec![
                "mode", "posNum", "payMoney", "userId", "payTime", "idenType", "imgPath",
                "payCopies", "offlineDz", "offlineMoney", "sAckId", "code", "data", "user",
                "time", "type", "param", "photo", "group", "list", "msgType",
            ]),
        ) {
            let samples = valid_samples();
            let (kind, text) = &samples[sample];
            let mutated = text.replacen('{', &format!("{{\"{field}\":{value},"), 1);
            let _ = decode_device_message(*kind, mutated.as_bytes());
        }
    }
}
