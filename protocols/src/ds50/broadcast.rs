//! The voice broadcast (spec 3.4): the JSON posgate publishes to a device over MQTT, and the
//! topic it publishes on.
//!
//! The spec says the device appends its serial number to the configured `mqtt_topic`
//! (default `pos/message`) "to form a unique communication topic" without naming the
//! separator; posgate uses `{mqtt_topic}/{SN}`, the MQTT convention. The payload's amount is
//! a cents string ("12344" = 123.44 yuan). The decoder exists for device simulators and
//! tests.

use super::codes::Ds50Error;
use super::json::{opt_str, parse_object, req_str, text};
use super::limits::{
    BROADCAST_AMOUNT_DIGITS_MAX, BROADCAST_MESSAGE_CHARS_MAX, BROADCAST_PAYLOAD_BYTES_MAX,
    ORDER_ID_CHARS_MAX, REPLY_BYTES_MAX, TOPIC_PREFIX_BYTES_MAX,
};
use super::types::DeviceSn;
use crate::money::{AmountError, Fen};
use serde::Serialize;

/// The default topic prefix of `posparam.ini` (`mqtt_topic`).
pub const DEFAULT_MQTT_TOPIC: &str = "pos/message";

/// What the device does with a broadcast (`transType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BroadcastMode {
    /// `00`: transaction guidance: the device speaks payment guidance.
    Guidance,
    /// `99`: amount broadcast: the device only speaks the amount.
    AmountOnly,
}

impl BroadcastMode {
    /// The wire code.
    pub const fn as_str(self) -> &'static str {
        match self {
            BroadcastMode::Guidance => "00",
            BroadcastMode::AmountOnly => "99",
        }
    }
}

/// A voice broadcast payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broadcast {
    message: Option<String>,
    amount: Fen,
    mode: BroadcastMode,
    order_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BroadcastWire<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    amount: String,
    trans_type: &'a str,
    order_id: &'a str,
}

impl Broadcast {
    /// Builds a broadcast. `message` at most [`BROADCAST_MESSAGE_CHARS_MAX`] characters;
    /// `order_id` 1..=[`ORDER_ID_CHARS_MAX`] characters; no control characters; amount not
    /// negative.
    pub fn new(
        message: Option<&str>,
        amount: Fen,
        mode: BroadcastMode,
        order_id: &str,
    ) -> Result<Broadcast, Ds50Error> {
        let message = message
            .map(|m| text(m, "message", BROADCAST_MESSAGE_CHARS_MAX))
            .transpose()?;
        if order_id.is_empty() {
            return Err(Ds50Error::Missing("orderId"));
        }
        let order_id = text(order_id, "orderId", ORDER_ID_CHARS_MAX)?;
        let amount = Fen::from_wire_fen(amount.get()).map_err(|source| Ds50Error::Amount {
            field: "amount",
            source,
        })?;
        if amount.to_cents_string().len() > BROADCAST_AMOUNT_DIGITS_MAX {
            return Err(Ds50Error::Amount {
                field: "amount",
                source: AmountError::TooLarge,
            });
        }
        let broadcast = Broadcast {
            message,
            amount,
            mode,
            order_id,
        };
        if broadcast.to_json().len() > BROADCAST_PAYLOAD_BYTES_MAX {
            return Err(Ds50Error::TooLarge {
                bytes: broadcast.to_json().len(),
                max: BROADCAST_PAYLOAD_BYTES_MAX,
            });
        }
        Ok(broadcast)
    }

    /// `message`.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// `amount`.
    pub fn amount(&self) -> Fen {
        self.amount
    }

    /// `transType`.
    pub fn mode(&self) -> BroadcastMode {
        self.mode
    }

    /// `orderId`.
    pub fn order_id(&self) -> &str {
        &self.order_id
    }

    /// The payload as JSON (`message` omitted when `None`).
    pub fn to_json(&self) -> String {
        let wire = BroadcastWire {
            message: self.message.as_deref(),
            amount: self.amount.to_cents_string(),
            trans_type: self.mode.as_str(),
            order_id: &self.order_id,
        };
        serde_json::to_string(&wire).unwrap_or_default()
    }

    /// The payload as bytes.
    pub fn encode(&self) -> Vec<u8> {
        self.to_json().into_bytes()
    }

    /// Decodes a payload (device simulators, tests).
    pub fn decode(input: &[u8]) -> Result<Broadcast, Ds50Error> {
        let obj = parse_object(input, REPLY_BYTES_MAX, "broadcast")?;
        let amount =
            Fen::parse_cents(req_str(&obj, "amount")?).map_err(|source| Ds50Error::Amount {
                field: "amount",
                source,
            })?;
        let mode = match req_str(&obj, "transType")? {
            "00" => BroadcastMode::Guidance,
            "99" => BroadcastMode::AmountOnly,
            _ => {
                return Err(Ds50Error::Invalid {
                    field: "transType",
                    reason: "not 00 or 99",
                })
            }
        };
        Broadcast::new(
            opt_str(&obj, "message")?,
            amount,
            mode,
            req_str(&obj, "orderId")?,
        )
    }
}

/// The topic a device listens on: `{prefix}/{SN}`. The prefix must be a plain topic name:
/// non-empty, at most [`TOPIC_PREFIX_BYTES_MAX`] bytes, no wildcards (`+`, `#`), no NUL or
/// control characters, not starting or ending with `/`.
pub fn broadcast_topic(prefix: &str, sn: &DeviceSn) -> Result<String, Ds50Error> {
    validate_topic_prefix(prefix)?;
    Ok(format!("{prefix}/{sn}"))
}

/// Checks a topic prefix (see [`broadcast_topic`]).
pub fn validate_topic_prefix(prefix: &str) -> Result<(), Ds50Error> {
    let bad = |reason| {
        Err(Ds50Error::Invalid {
            field: "mqtt_topic",
            reason,
        })
    };
    if prefix.is_empty() || prefix.len() > TOPIC_PREFIX_BYTES_MAX {
        return bad("empty or too long");
    }
    if prefix.contains(['+', '#']) || prefix.chars().any(char::is_control) {
        return bad("contains a wildcard or a control character");
    }
    if prefix.starts_with('/') || prefix.ends_with('/') {
        return bad("starts or ends with '/'");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SPEC: &str = r#"{
  "message": "hello",
  "amount": "12344",
  "transType": "00",
  "orderId": "12394555425"
}"#;

    #[test]
    fn decodes_spec_example_and_round_trips() {
        let broadcast = Broadcast::decode(SPEC.as_bytes()).unwrap();
        assert_eq!(broadcast.message(), Some("hello"));
        assert_eq!(broadcast.amount(), Fen(12344));
        assert_eq!(broadcast.mode(), BroadcastMode::Guidance);
        assert_eq!(broadcast.order_id(), "12394555425");
        assert_eq!(
            broadcast.to_json(),
            r#"{"message":"hello","amount":"12344","transType":"00","orderId":"12394555425"}"#
        );
        assert_eq!(Broadcast::decode(&broadcast.encode()).unwrap(), broadcast);
        let silent = Broadcast::new(None, Fen(5), BroadcastMode::AmountOnly, "o1").unwrap();
        assert_eq!(
            silent.to_json(),
            r#"{"amount":"5","transType":"99","orderId":"o1"}"#
        );
        assert_eq!(Broadcast::decode(&silent.encode()).unwrap(), silent);
    }

    #[test]
    fn refuses_bad_broadcasts() {
        for bad in [
            r#"{"amount":"123.44","transType":"00","orderId":"1"}"#,
            r#"{"amount":12344,"transType":"00","orderId":"1"}"#,
            r#"{"amount":"1","transType":"01","orderId":"1"}"#,
            r#"{"amount":"1","transType":"00","orderId":""}"#,
            r#"{"amount":"1","transType":"00"}"#,
            r#"{"message":"a\nb","amount":"1","transType":"00","orderId":"1"}"#,
        ] {
            assert!(Broadcast::decode(bad.as_bytes()).is_err(), "{bad}");
        }
        assert!(Broadcast::new(None, Fen(-1), BroadcastMode::Guidance, "1").is_err());
        let long = "x".repeat(BROADCAST_MESSAGE_CHARS_MAX + 1);
        assert!(Broadcast::new(Some(&long), Fen(1), BroadcastMode::Guidance, "1").is_err());
        // What the reference firmware's buffers hold: amt[12+1], orgOrderId[32+1], msg[1024].
        let twelve = Fen(999_999_999_999);
        assert!(Broadcast::new(None, twelve, BroadcastMode::Guidance, "1").is_ok());
        let thirteen = Fen(1_000_000_000_000);
        assert!(Broadcast::new(None, thirteen, BroadcastMode::Guidance, "1").is_err());
        let order = "o".repeat(ORDER_ID_CHARS_MAX);
        assert!(Broadcast::new(None, Fen(1), BroadcastMode::Guidance, &order).is_ok());
        let order = "o".repeat(ORDER_ID_CHARS_MAX + 1);
        assert!(Broadcast::new(None, Fen(1), BroadcastMode::Guidance, &order).is_err());
        // The longest message in 4-byte characters still fits msg[1024].
        let wide = "😀".repeat(BROADCAST_MESSAGE_CHARS_MAX);
        let widest = Broadcast::new(Some(&wide), twelve, BroadcastMode::Guidance, &order[1..]);
        assert!(widest.unwrap().encode().len() <= BROADCAST_PAYLOAD_BYTES_MAX);
    }

    #[test]
    fn topics() {
        let sn = DeviceSn::parse("S20A1012574P0002").unwrap();
        assert_eq!(
            broadcast_topic(DEFAULT_MQTT_TOPIC, &sn).unwrap(),
            "pos/message/S20A1012574P0002"
        );
        for bad in ["", "pos/#", "pos/+/x", "/pos", "pos/", "po\u{0}s"] {
            assert!(broadcast_topic(bad, &sn).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = Broadcast::decode(&bytes);
        }

        #[test]
        fn round_trips(message in proptest::option::of("[a-zA-Z0-9 ¥元]{0,50}"), fen in 0i64..=1_000_000_000, order in "[0-9A-Za-z]{1,32}", amount_only in any::<bool>()) {
            let mode = if amount_only { BroadcastMode::AmountOnly } else { BroadcastMode::Guidance };
            let broadcast = Broadcast::new(message.as_deref(), Fen(fen), mode, &order).unwrap();
            prop_assert_eq!(Broadcast::decode(&broadcast.encode()).unwrap(), broadcast);
        }
    }
}
