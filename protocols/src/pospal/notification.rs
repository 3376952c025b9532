//! The notification envelope (spec 1.2) and the decoding pipeline.
//!
//! Decoding is split so that nothing beyond the envelope is parsed before the sender is
//! authenticated: [`Envelope::decode`] reads the outer object and leaves `body` as text;
//! [`Notification::decode_verified`] then finds the app key of `appId` (unknown: 403),
//! checks `data-signature` over the raw bytes (wrong: 401), and only then decodes the body
//! (malformed: 400). Notes on the spec's examples:
//! - `timestamp`/`bornTimeStamp` are described as seconds but every example holds
//!   milliseconds (13 digits): they are kept as sent, as `i64`, and named `_ms`.
//! - The examples print `body` across several lines for reading; on the wire it is one
//!   JSON string with escaped quotes, and that is what is accepted (raw control characters
//!   in a JSON string are refused by any JSON parser, Pospal's own included).
//! - `product.edit` repeats the `version` key: duplicate keys are accepted, the last wins.
//! - `version` is marked required but nothing depends on it: an absent one is accepted.

use super::body::{decode_body, Body};
use super::cmd::Cmd;
use super::codes::PospalError;
use super::limits::{APP_ID_CHARS_MAX, ENVELOPE_DEPTH_MAX, REQUEST_BYTES_MAX, TEXT_CHARS_MAX};
use super::signature::{verify_signature, AppKey};
use crate::json::{self, Object, ObjectError};
use serde_json::Value;
use std::borrow::Borrow;

/// The outer object of a notification, `body` still as text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// `cmd`.
    pub cmd: Cmd,
    /// `appId`: the Pospal account the data belongs to.
    pub app_id: String,
    /// `timestamp`: when the notification was pushed (milliseconds, see module notes).
    pub timestamp_ms: i64,
    /// `bornTimeStamp`: when the event happened (milliseconds).
    pub born_timestamp_ms: i64,
    /// `version` (e.g. `1.0`).
    pub version: Option<String>,
    /// `body`, the JSON text as received.
    pub body_raw: String,
}

impl Envelope {
    /// Decodes the envelope: at most [`REQUEST_BYTES_MAX`] bytes, UTF-8 JSON object, `cmd`,
    /// `appId`, `timestamp`, `bornTimeStamp` and `body` (a string) required.
    pub fn decode(raw: &[u8]) -> Result<Envelope, PospalError> {
        // A UTF-8 byte order mark in front of the JSON (the signature covers it as sent).
        let raw = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
        let obj =
            json::parse_object(raw, REQUEST_BYTES_MAX, ENVELOPE_DEPTH_MAX).map_err(|error| {
                match error {
                    ObjectError::TooLarge { bytes, max } => PospalError::TooLarge { bytes, max },
                    ObjectError::TooDeep => PospalError::TooDeep {
                        part: "envelope",
                        max: ENVELOPE_DEPTH_MAX,
                    },
                    ObjectError::Syntax { line, column } => PospalError::Syntax {
                        part: "envelope",
                        line,
                        column,
                    },
                    ObjectError::NotObject => PospalError::Shape("envelope"),
                }
            })?;
        let cmd = Cmd::parse(json::opt_str(&obj, "cmd")?.ok_or(PospalError::Missing("cmd"))?)?;
        let app_id = json::opt_str(&obj, "appId")?.ok_or(PospalError::Missing("appId"))?;
        if app_id.is_empty()
            || app_id.chars().count() > APP_ID_CHARS_MAX
            || app_id.chars().any(char::is_control)
        {
            return Err(PospalError::Invalid {
                field: "appId",
                reason: "empty, too long or contains a control character",
            });
        }
        let version = json::opt_str(&obj, "version")?;
        if version.is_some_and(|v| v.chars().count() > TEXT_CHARS_MAX) {
            return Err(PospalError::Invalid {
                field: "version",
                reason: "too long",
            });
        }
        Ok(Envelope {
            cmd,
            app_id: app_id.to_owned(),
            timestamp_ms: long(&obj, "timestamp")?,
            born_timestamp_ms: long(&obj, "bornTimeStamp")?,
            version: version.map(str::to_owned),
            body_raw: json::opt_str(&obj, "body")?
                .ok_or(PospalError::Missing("body"))?
                .to_owned(),
        })
    }

    /// Decodes the body (see [`decode_body`]).
    pub fn into_notification(self) -> Result<Notification, PospalError> {
        let body = decode_body(&self.cmd, &self.body_raw)?;
        Ok(Notification {
            envelope: self,
            body,
        })
    }
}

fn long(obj: &Object, field: &'static str) -> Result<i64, PospalError> {
    match obj.get(field) {
        None | Some(Value::Null) => Err(PospalError::Missing(field)),
        Some(Value::Number(number)) => number.as_i64().ok_or(PospalError::Invalid {
            field,
            reason: "not a Java long",
        }),
        Some(_) => Err(PospalError::WrongType(field)),
    }
}

/// A decoded, typed notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// The envelope (`cmd`, `appId`, timestamps, raw body).
    pub envelope: Envelope,
    /// The typed body ([`Body::Unknown`] for an unknown `cmd`).
    pub body: Body,
}

impl Notification {
    /// Decodes envelope and body without checking the signature (tests, replays of
    /// notifications already verified).
    pub fn decode(raw: &[u8]) -> Result<Notification, PospalError> {
        Envelope::decode(raw)?.into_notification()
    }

    /// The full pipeline for an HTTP request: decode the envelope, look the app key of
    /// `appId` up with `key_for` ([`PospalError::UnknownApp`] when it answers `None`),
    /// verify `data-signature` ([`PospalError::BadSignature`] when missing or wrong), then
    /// decode the body.
    pub fn decode_verified<K, F>(
        raw: &[u8],
        signature: Option<&str>,
        key_for: F,
    ) -> Result<Notification, PospalError>
    where
        K: Borrow<AppKey>,
        F: FnOnce(&str) -> Option<K>,
    {
        let envelope = Envelope::decode(raw)?;
        let key = key_for(&envelope.app_id).ok_or(PospalError::UnknownApp)?;
        let signature = signature.ok_or(PospalError::BadSignature)?;
        if !verify_signature(key.borrow(), raw, signature) {
            return Err(PospalError::BadSignature);
        }
        envelope.into_notification()
    }

    /// `cmd`.
    pub fn cmd(&self) -> &Cmd {
        &self.envelope.cmd
    }

    /// `appId`.
    pub fn app_id(&self) -> &str {
        &self.envelope.app_id
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::money::{AmountError, Fen};
    use crate::pospal::body::{OrderState, TicketType};
    use crate::pospal::cmd::{ProductOrderCmd, StockFlowCmd};
    use crate::pospal::codes::Refusal;
    use crate::pospal::signature::sign;
    use proptest::prelude::*;
    use rust_decimal::Decimal;
    use serde_json::json;
    use std::str::FromStr;

    /// Spec 1.2, verbatim (valid JSON as printed).
    pub(crate) const SPEC_ENVELOPE: &str = r#"{
    "cmd": "ticket.new",
    "timestamp": 1503561093821,
    "bornTimeStamp": 1503561093654,
    "version": "1.0",
    "appId": "hanskang_appid",
    "body": "{\"uid\":1503561096375464791, \"sn\":\"201708241552090160001\"}"
}"#;

    /// Spec 2.1.1 body as printed inside the envelope (quotes escaped, lines broken).
    const SPEC_TICKET_NEW_BODY: &str = r#"{
		    \"sn\":\"201712251802262250338\",
		    \"uid\":1514196146215295712,
		    \"customerUid\":413142651953373931,
\"ticketType\":1,
		    \"customerBalanceUsedLogs\":[
					{\"usedMoney\":76.21,
					\"datetime\":\"2017-12-25 14:54:42\",
					\"operateType\":1,
					\"afterUsedMoney\":98627.29
					}
				],
		    \"customerPointGaintLogs\":[
					{\"gaintPoint\":76.21,
					\"datetime\":\"2017-12-25 18:02:26\",
					\"operateType\":1,
					\"afterGaintPoint\":1168.52
					}
		    ]
    }"#;

    /// Spec 2.1.2 body as printed (it mixes escaped and bare quotes).
    const SPEC_TICKET_REVERSE_BODY: &str = r#"{
		    \"sn\":\"201712251802262250338\",
		    \"uid\":1514196146215295712,
		    \"customerUid\":413142651953373931,
\"ticketType\":3,
		    \"customerBalanceUsedLogs\":[
					{\"usedMoney\":76.21,
					\"datetime\":\"2017-12-25 14:54:42\",
					\"operateType\":1,
					\"afterUsedMoney\":111110.00					                },
{
"usedMoney":-12.00,
"datetime":"2021-05-10 17:54:34",
"operateType":3,
"afterUsedMoney":111122.00
}
				],
		    \"customerPointGaintLogs\":[
					{\"gaintPoint\":76.21,
					\"datetime\":\"2017-12-25 18:02:26\",
					\"operateType\":1,
					\"afterGaintPoint\":1168.52
					}
		    ]
    }"#;

    /// Spec 2.2.1, verbatim (valid JSON as printed).
    const SPEC_CUSTOMER_NEW: &str = r#"{
    "cmd": "customer.new",
    "timestamp": 1504169245033,
    "bornTimeStamp": 1504169244879,
    "version": "1.0",
    "appId": "87EB2C555BBF382E7F6C7B275B0C502A",
    "body": "{\"number\":\"uuu\",\"customerUid\":896494787380243344,\"phone\":\"13600927865\",\"name\":\"uuu\"}"
}"#;

    /// Spec 2.2.2 body as printed; note its typo `\"giftPoint\":\0.00`.
    const SPEC_RECHARGE_BODY: &str = r#"{
		    \"customerUid\":231607639459718452,
		    \"datetime\":\"2017-09-14 17:09:48\",
		    \"rechargeStoreAccount\":\"adasun4\",
		    \"rechargeStoreAppId\":\"abcdefghijklmnopqrst\",
		    \"giftPoint\":\0.00,
		    \"giftMoney\":0.00,
		    \"rechargeMoney\":20.00
    }"#;

    /// Spec 2.4.1, verbatim (note the leading space in `cmd`).
    const SPEC_STOCK_TAKING: &str = r#"{
    "cmd": " stockTaking.new",
    "timestamp": 1504169245033,
    "bornTimeStamp": 1504169244879,
    "version": "1.0",
    "appId": "87EB2C555BBF382E7F6C7B275B0C502A",
    "body": "{\"stockTakingId\": 11111}"
}"#;

    /// Spec 2.8, verbatim.
    const SPEC_PRODUCT_REQUEST: &str = r#"{
    "cmd": "productRequest.new",
    "timestamp": 1556508421516,
    "bornTimeStamp": 1556508421297,
    "version": "1.0",
    "appId": "hanskang_appid",
    "body": "{\"productRequestId\":15306}"
}"#;

    /// Turns a body printed inside an envelope example into the JSON text it stands for.
    pub(crate) fn unescape_printed(body: &str) -> String {
        body.replace("\\\"", "\"")
    }

    /// A well-formed envelope around `body` (what Pospal sends for the printed examples).
    pub(crate) fn envelope(cmd: &str, body: &str) -> String {
        json!({
            "cmd": cmd,
            "timestamp": 1514196291392i64,
            "bornTimeStamp": 1514196291251i64,
            "version": "1.0",
            "appId": "hanskang_appid",
            "body": body,
        })
        .to_string()
    }

    pub(crate) fn decode(text: &str) -> Result<Notification, PospalError> {
        Notification::decode(text.as_bytes())
    }

    #[test]
    fn spec_envelope_verbatim() {
        let n = decode(SPEC_ENVELOPE).unwrap();
        assert_eq!(n.cmd(), &Cmd::TicketNew);
        assert_eq!(n.app_id(), "hanskang_appid");
        assert_eq!(n.envelope.timestamp_ms, 1503561093821);
        assert_eq!(n.envelope.born_timestamp_ms, 1503561093654);
        assert_eq!(n.envelope.version.as_deref(), Some("1.0"));
        let Body::Ticket(ticket) = n.body else {
            panic!("not a ticket")
        };
        assert_eq!(ticket.uid, Some(1503561096375464791));
        assert_eq!(ticket.sn, "201708241552090160001");
        assert_eq!(ticket.ticket_type, None);
        assert_eq!(ticket.customer_uid, None);
    }

    #[test]
    fn spec_ticket_new() {
        let text = envelope("ticket.new", &unescape_printed(SPEC_TICKET_NEW_BODY));
        let Body::Ticket(ticket) = decode(&text).unwrap().body else {
            panic!()
        };
        assert_eq!(ticket.sn, "201712251802262250338");
        assert_eq!(ticket.uid, Some(1514196146215295712));
        assert_eq!(ticket.customer_uid, Some(413142651953373931));
        assert_eq!(ticket.ticket_type, Some(TicketType::Sale));
        assert_eq!(ticket.balance_logs.len(), 1);
        let log = &ticket.balance_logs[0];
        assert_eq!(log.used_money, Fen(7621));
        assert_eq!(log.after_used_money, Some(Fen(9862729)));
        assert_eq!(log.operate_type, Some(TicketType::Sale));
        assert_eq!(log.datetime.as_deref(), Some("2017-12-25 14:54:42"));
        let points = &ticket.point_logs[0];
        assert_eq!(points.points, Decimal::from_str("76.21").unwrap());
        assert_eq!(
            points.after_points,
            Some(Decimal::from_str("1168.52").unwrap())
        );
        assert!(ticket.payments.is_empty());
        assert_eq!(ticket.total_amount, None);
    }

    #[test]
    fn spec_ticket_reverse() {
        let text = envelope(
            "ticket.reverse",
            &unescape_printed(SPEC_TICKET_REVERSE_BODY),
        );
        let n = decode(&text).unwrap();
        assert_eq!(n.cmd(), &Cmd::TicketReverse);
        let Body::Ticket(ticket) = n.body else {
            panic!()
        };
        assert_eq!(ticket.ticket_type, Some(TicketType::SaleReversed));
        assert_eq!(ticket.balance_logs[0].after_used_money, Some(Fen(11111000)));
        assert_eq!(ticket.balance_logs[1].used_money, Fen(-1200));
        assert_eq!(
            ticket.balance_logs[1].operate_type,
            Some(TicketType::SaleReversed)
        );
    }

    #[test]
    fn ticket_entity_fields_when_sent() {
        let body = r#"{"sn":"1","ticketType":2,"customerUid":0,"totalAmount":"-15.50",
            "payments":[{"code":"payCode_2","amount":-15.5}]}"#;
        let Body::Ticket(ticket) = decode(&envelope("ticket.new", body)).unwrap().body else {
            panic!()
        };
        assert_eq!(ticket.customer_uid, None);
        assert_eq!(ticket.ticket_type, Some(TicketType::Refund));
        assert_eq!(ticket.total_amount, Some(Fen(-1550)));
        assert_eq!(ticket.payments[0].code, "payCode_2");
        assert_eq!(ticket.payments[0].amount, Fen(-1550));
    }

    #[test]
    fn spec_customer_new_verbatim() {
        let Body::CustomerNew(customer) = decode(SPEC_CUSTOMER_NEW).unwrap().body else {
            panic!()
        };
        assert_eq!(customer.customer_uid, 896494787380243344);
        assert_eq!(customer.number.as_deref(), Some("uuu"));
        assert_eq!(customer.phone.as_deref(), Some("13600927865"));
        assert_eq!(customer.name.as_deref(), Some("uuu"));
    }

    #[test]
    fn spec_recharge() {
        // As printed, `\0.00` is not JSON; the typo is fixed to `0.00`.
        let printed = envelope("customer.recharge", &unescape_printed(SPEC_RECHARGE_BODY));
        assert_eq!(decode(&printed).unwrap_err().code(), Refusal::Malformed);
        let fixed = unescape_printed(SPEC_RECHARGE_BODY).replace("\\0.00", "0.00");
        let Body::Recharge(recharge) = decode(&envelope("customer.recharge", &fixed)).unwrap().body
        else {
            panic!()
        };
        assert_eq!(recharge.customer_uid, 231607639459718452);
        assert_eq!(recharge.datetime, "2017-09-14 17:09:48");
        assert_eq!(recharge.recharge_money, Fen(2000));
        assert_eq!(recharge.gift_money, Fen(0));
        assert_eq!(
            recharge.gift_points,
            Some(Decimal::from_str("0.00").unwrap())
        );
        assert_eq!(recharge.store_account.as_deref(), Some("adasun4"));
        assert_eq!(
            recharge.store_app_id.as_deref(),
            Some("abcdefghijklmnopqrst")
        );
    }

    #[test]
    fn coupon_use_from_the_field_table() {
        // The spec's example says `customer.new` with body `{$json}`: built from its table.
        let body = json!({
            "createdUserAppId": "A1", "useUserAppId": "A2", "promotionCouponUid": 7,
            "code": "C0DE-1", "createdDateTime": "2021-01-01 10:00:00",
            "usedDateTime": "2021-01-02 11:00:00", "createdByCustomerUid": 1,
            "usedByCustomerUid": 2, "createdByTicketUid": 3, "usedByTicketUid": 4,
            "expiredDate": "2021-12-31 23:59:59"
        });
        let Body::CouponUse(coupon) = decode(&envelope("couponCode.use", &body.to_string()))
            .unwrap()
            .body
        else {
            panic!()
        };
        assert_eq!(coupon.code, "C0DE-1");
        assert_eq!(coupon.promotion_coupon_uid, Some(7));
        assert_eq!(coupon.used_by_ticket_uid, Some(4));
        assert_eq!(coupon.used_datetime.as_deref(), Some("2021-01-02 11:00:00"));
        assert_eq!(coupon.expired_date.as_deref(), Some("2021-12-31 23:59:59"));
    }

    #[test]
    fn spec_stock_taking_and_product_request_verbatim() {
        let n = decode(SPEC_STOCK_TAKING).unwrap();
        assert_eq!(n.cmd(), &Cmd::StockTakingNew);
        assert_eq!(
            n.body,
            Body::StockTaking {
                stock_taking_id: 11111
            }
        );
        let n = decode(SPEC_PRODUCT_REQUEST).unwrap();
        assert_eq!(
            n.body,
            Body::ProductRequest {
                product_request_id: 15306
            }
        );
    }

    #[test]
    fn spec_product_edit_with_duplicate_version() {
        let text = r#"{
"cmd": "product.edit",
"timestamp": 1503561093821,
"bornTimeStamp": 1503561093654,
"version": "1.0",
"appId": "hanskang_appid",
    "version": "1.0",
		"body": "[\n\t\t\t{\"barcode\":\"0600002854215\"},\n\t\t\t{\"barcode\":\"0600001713212\"}\n\t\t]"
}"#;
        let n = decode(text).unwrap();
        assert_eq!(
            n.body,
            Body::ProductEdit {
                barcodes: vec!["0600002854215".into(), "0600001713212".into()]
            }
        );
    }

    #[test]
    fn product_orders_and_stock_flows() {
        let body = "{\n\t\t   \"orderNo\": \"xxx\",\n\t\t   \"state\": 1\n\t}";
        let n = decode(&envelope("productOrder.updateProductOrder", body)).unwrap();
        assert_eq!(n.cmd(), &Cmd::ProductOrder(ProductOrderCmd::Update));
        let Body::ProductOrder(order) = n.body else {
            panic!()
        };
        assert_eq!(
            (order.order_no.as_str(), order.state),
            ("xxx", OrderState::Synced)
        );
        let n = decode(&envelope(
            "productOrder.createProductOrder",
            r#"{"orderNo":"x","state":null}"#,
        ));
        let Body::ProductOrder(order) = n.unwrap().body else {
            panic!()
        };
        assert_eq!(order.state, OrderState::Created);
        for cmd in Cmd::KNOWN.iter().filter(|c| matches!(c, Cmd::StockFlow(_))) {
            let n = decode(&envelope(
                cmd.as_str(),
                "{\n\t\t   \"stockFlowId\": 123456\n\t}",
            ))
            .unwrap();
            assert_eq!(
                n.body,
                Body::StockFlow {
                    stock_flow_id: 123456
                }
            );
        }
        assert_eq!(
            decode(&envelope(
                "stockFlow.confirmStockFlowIn",
                r#"{"stockFlowId":1}"#
            ))
            .unwrap()
            .cmd(),
            &Cmd::StockFlow(StockFlowCmd::ConfirmIn)
        );
    }

    #[test]
    fn unknown_cmd_keeps_raw_body() {
        for body in ["not json at all", "{\"a\":1.23456}", ""] {
            let n = decode(&envelope("member.levelChange", body)).unwrap();
            assert_eq!(n.cmd(), &Cmd::Unknown("member.levelChange".into()));
            assert_eq!(n.body, Body::Unknown);
            assert_eq!(n.envelope.body_raw, body);
        }
    }

    #[test]
    fn pipeline_checks_app_then_signature_then_body() {
        let key = AppKey::new("k3y");
        let keys = |app: &str| (app == "hanskang_appid").then_some(&key);
        let raw = SPEC_ENVELOPE.as_bytes();
        let good = sign(&key, raw);
        let n = Notification::decode_verified(raw, Some(&good), keys).unwrap();
        assert_eq!(n.cmd(), &Cmd::TicketNew);
        let refused = |raw: &[u8], signature: Option<&str>| {
            Notification::decode_verified(raw, signature, keys)
                .unwrap_err()
                .code()
        };
        assert_eq!(refused(raw, None), Refusal::BadSignature);
        assert_eq!(
            refused(raw, Some("BF706E6AC693BA3B1BABD32E6713431D")),
            Refusal::BadSignature
        );
        let other = SPEC_ENVELOPE.replace("hanskang_appid", "someone_else");
        assert_eq!(refused(other.as_bytes(), Some(&good)), Refusal::UnknownApp);
        // A signed but malformed body is refused after the signature check.
        let bad_body = envelope("ticket.new", "{\"sn\":1.5.5}");
        let signed = sign(&key, bad_body.as_bytes());
        assert_eq!(
            refused(bad_body.as_bytes(), Some(&signed)),
            Refusal::Malformed
        );
        // An unsigned malformed body is refused for its signature, never parsed.
        assert_eq!(
            refused(bad_body.as_bytes(), Some(&good)),
            Refusal::BadSignature
        );
        // Owned keys work too.
        let owned = Notification::decode_verified(raw, Some(&good), |_| Some(AppKey::new("k3y")));
        assert!(owned.is_ok());
    }

    #[test]
    fn bad_inputs_get_their_refusals() {
        use Refusal::*;
        let ticket = |body: &str| envelope("ticket.new", body);
        let huge = envelope("x.y", &"a".repeat(REQUEST_BYTES_MAX));
        let rows: Vec<(String, Refusal)> = vec![
            (String::new(), Malformed),
            ("[]".into(), Malformed),
            ("{\"cmd\":".into(), Malformed),
            (huge, TooLarge),
            (SPEC_ENVELOPE.replace("\"cmd\": \"ticket.new\",", ""), Malformed),
            (SPEC_ENVELOPE.replace("\"appId\": \"hanskang_appid\",", ""), Malformed),
            (SPEC_ENVELOPE.replace("1503561093821", "\"1503561093821\""), Malformed),
            (SPEC_ENVELOPE.replace("1503561093821", "15035610938.21"), Malformed),
            (json!({"cmd":"ticket.new","timestamp":1,"bornTimeStamp":1,"appId":"a","body":{"sn":"1"}}).to_string(), Malformed),
            (json!({"cmd":"ticket.new","timestamp":1,"bornTimeStamp":1,"appId":"a","body":{}, "x":[[1]]}).to_string(), Malformed),
            (ticket(r#"{"sn":"1","customerBalanceUsedLogs":[{"usedMoney":76.215}]}"#), Malformed),
            (ticket(r#"{"sn":"1","customerBalanceUsedLogs":[{"usedMoney":1e-3}]}"#), Malformed),
            (ticket(r#"{"sn":"1","customerBalanceUsedLogs":[{"usedMoney":"abc"}]}"#), Malformed),
            (ticket(r#"{"sn":"1","customerBalanceUsedLogs":[{"datetime":"x"}]}"#), Malformed),
            (ticket(r#"{"sn":"1","customerBalanceUsedLogs":[{"datetime":"2017-12-25 14:54:42."}]}"#), Malformed),
            (ticket(r#"{"sn":"1","uid":99999999999999999999}"#), Malformed),
            (ticket(r#"{"sn":"1","uid":1.5}"#), Malformed),
            (ticket(r#"{"uid":1}"#), Malformed),
            (ticket(r#"[{"sn":"1"}]"#), Malformed),
            (ticket(&format!("{}1{}", "[".repeat(20), "]".repeat(20))), Malformed),
            (envelope("customer.recharge", r#"{"customerUid":1,"datetime":"2017-09-14 17:09:48","rechargeMoney":-20.00}"#), Malformed),
            (envelope("customer.recharge", r#"{"customerUid":1,"rechargeMoney":20.00}"#), Malformed),
            (envelope("customer.new", r#"{"name":"x"}"#), Malformed),
            (envelope("product.edit", r#"{"barcode":"1"}"#), Malformed),
            (envelope("stockFlow.editStockFlowIn", r#"{"stockFlowId":"abc"}"#), Malformed),
        ];
        assert!(rows.len() >= 15);
        for (input, expected) in rows {
            let error = decode(&input).unwrap_err();
            assert_eq!(error.code(), expected, "{error} for {input:.120}");
        }
        let precise = decode(&ticket(
            r#"{"sn":"1","customerBalanceUsedLogs":[{"usedMoney":76.215}]}"#,
        ));
        assert_eq!(
            precise.unwrap_err(),
            PospalError::Amount {
                field: "usedMoney",
                source: AmountError::TooPrecise(2)
            }
        );
    }

    #[test]
    fn serializer_variants_are_read() {
        // Java BigDecimal.toString exponents, fractional seconds, a `T`, types the spec does
        // not list, the corrected `gain` spelling, and a BOM in front of envelope and body.
        let body = "\u{feff}{\"sn\":\"1\",\"ticketType\":7,\"customerUid\":5,
            \"customerBalanceUsedLogs\":[{\"usedMoney\":1E+2,\"datetime\":\"2017-12-25 14:54:42.123\",
              \"operateType\":9,\"afterUsedMoney\":9.8627E+2}],
            \"customerPointGainLogs\":[{\"gainPoint\":7.621E+1,\"datetime\":\"2017-12-25T18:02:26.5\",
              \"afterGainPoint\":1.5E+1}]}";
        let mut raw = b"\xEF\xBB\xBF".to_vec();
        raw.extend_from_slice(envelope("ticket.new", body).as_bytes());
        let Body::Ticket(ticket) = Notification::decode(&raw).unwrap().body else {
            panic!()
        };
        assert_eq!(ticket.ticket_type, Some(TicketType::Other(7)));
        let log = &ticket.balance_logs[0];
        assert_eq!(
            (log.used_money, log.after_used_money),
            (Fen(10_000), Some(Fen(98_627)))
        );
        assert_eq!(log.operate_type, Some(TicketType::Other(9)));
        assert_eq!(log.datetime.as_deref(), Some("2017-12-25 14:54:42.123"));
        let points = &ticket.point_logs[0];
        assert_eq!(points.points, Decimal::from_str("76.21").unwrap());
        assert_eq!(points.after_points, Some(Decimal::from(15)));
        let order = decode(&envelope(
            "productOrder.completePay",
            r#"{"orderNo":"x","state":6}"#,
        ));
        let Body::ProductOrder(order) = order.unwrap().body else {
            panic!()
        };
        assert_eq!(order.state, OrderState::Other(6));
    }

    #[test]
    fn numeric_strings_are_amounts_too() {
        let body =
            r#"{"sn":"1","customerBalanceUsedLogs":[{"usedMoney":"76.21","afterUsedMoney":"0"}]}"#;
        let Body::Ticket(ticket) = decode(&envelope("ticket.new", body)).unwrap().body else {
            panic!()
        };
        assert_eq!(ticket.balance_logs[0].used_money, Fen(7621));
        assert_eq!(ticket.balance_logs[0].after_used_money, Some(Fen(0)));
    }

    fn mutated(base: String) -> impl Strategy<Value = Vec<u8>> {
        (0..base.len(), any::<u8>(), 0usize..3).prop_map(move |(at, byte, mode)| {
            let mut bytes = base.clone().into_bytes();
            match mode {
                0 => bytes[at] = byte,
                1 => bytes.truncate(at),
                _ => bytes.insert(at, byte),
            }
            bytes
        })
    }

    proptest! {
        #[test]
        fn never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = Notification::decode(&bytes);
            let key = AppKey::new("k");
            let _ = Notification::decode_verified(&bytes, Some("00"), |_| Some(&key));
        }

        #[test]
        fn never_panics_on_envelope_mutations(bytes in mutated(SPEC_CUSTOMER_NEW.to_owned())) {
            let _ = Notification::decode(&bytes);
        }

        #[test]
        fn never_panics_on_body_mutations(
            body in mutated(unescape_printed(SPEC_TICKET_REVERSE_BODY)),
            cmd in prop::sample::select(Cmd::KNOWN.to_vec()),
        ) {
            let text = envelope(cmd.as_str(), &String::from_utf8_lossy(&body));
            if let Ok(n) = decode(&text) {
                let _ = crate::pospal::keys::business_key(&n);
                let _ = crate::pospal::keys::ordering_key(&n);
            }
        }

        #[test]
        fn never_panics_on_jsonish_bodies(body in "[\\[\\]{}\":,0-9.eE+\\- a-z\\\\]{0,80}", cmd in prop::sample::select(Cmd::KNOWN.to_vec())) {
            let _ = decode(&envelope(cmd.as_str(), &body));
        }
    }
}
