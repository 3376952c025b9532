//! Field-level readers for the KTV JSON, tolerant where the spec's vendors disagree.
//!
//! Three venue systems (通娱, 精通, 坚度) implement the spec and differ in how they write
//! scalars: `total` is `"1"` in one example and `100` in another, `room_id` is an INT for
//! some and the STR `"0010"` for 精通, `checkoutCharge` was a string in the legacy format.
//! So integers, amounts and identifiers are read from either a JSON number or a JSON string.
//! What is not tolerated: amounts that are not an exact whole number of fen (a fraction of a
//! fen, more than two decimals, exponents in strings), flags other than 0/1, non-finite
//! quantities.
//!
//! Amounts are read through their text with `rust_decimal`, never through `f64`. Without
//! serde_json's `arbitrary_precision`, a JSON number with a fraction is held as an `f64`
//! whose shortest round-trip text is what we parse; every amount within
//! [`AMOUNT_FEN_MAX`](crate::money::AMOUNT_FEN_MAX) with at most two decimals has at most 15
//! significant digits, which that text reproduces exactly.

use crate::money::{is_plain_decimal, AmountError, Fen, AMOUNT_FEN_MAX};
use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serializer};
use serde_json::Value;
use std::str::FromStr;

/// Parses a signed amount of fen from its decimal text ("39800", "-1", "100.00").
///
/// The fen amounts of this spec are integers; a fraction of zero with at most two decimals is
/// accepted ("100.0"), a non-zero fraction or more than two decimals is refused.
pub fn parse_fen_text(text: &str) -> Result<Fen, AmountError> {
    if text.is_empty() {
        return Err(AmountError::Empty);
    }
    if text.len() > 24 {
        return Err(AmountError::TooLarge);
    }
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !is_plain_decimal(digits) {
        return Err(AmountError::Syntax);
    }
    let value = Decimal::from_str(text).map_err(|_| AmountError::Syntax)?;
    if value.scale() > 2 {
        return Err(AmountError::TooPrecise(2));
    }
    if !value.fract().is_zero() {
        // A fraction of a fen: the spec's amounts are "以分为单位" integers.
        return Err(AmountError::TooPrecise(0));
    }
    let whole = value.trunc().normalize();
    let fen = i64::try_from(whole.mantissa()).map_err(|_| AmountError::TooLarge)?;
    if fen.unsigned_abs() > AMOUNT_FEN_MAX.unsigned_abs() {
        return Err(AmountError::TooLarge);
    }
    Ok(Fen(fen))
}

/// Reads a fen amount from a JSON value (number or string).
pub(crate) fn fen_from_value(value: &Value) -> Result<Fen, String> {
    match value {
        Value::Number(n) => parse_fen_text(&n.to_string()).map_err(|e| format!("{e} ({n})")),
        Value::String(s) => parse_fen_text(s.trim()).map_err(|e| format!("{e} ({s:?})")),
        other => Err(format!("expected an amount in fen, got {}", kind(other))),
    }
}

/// Reads an integer from a JSON value (a number or its string form). A zero fraction is
/// accepted (`128.0`, `"128.0"`: Java serializers write counts as doubles); a non-zero one
/// is refused.
pub(crate) fn int_from_value(value: &Value) -> Result<i64, String> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| whole_int(&n.to_string()))
            .ok_or_else(|| format!("expected an integer, got {n}")),
        Value::String(s) => {
            let t = s.trim();
            if t.len() > 24 {
                return Err(format!("integer too long: {t:?}"));
            }
            t.parse::<i64>()
                .ok()
                .or_else(|| whole_int(t))
                .ok_or_else(|| format!("expected an integer, got {s:?}"))
        }
        other => Err(format!("expected an integer, got {}", kind(other))),
    }
}

/// The integer a plain decimal text with a zero fraction stands for ("128.0", "-3.00").
fn whole_int(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || text.len() > 24 || !is_plain_decimal(digits) {
        return None;
    }
    let value = Decimal::from_str(text).ok()?;
    if !value.fract().is_zero() {
        return None;
    }
    i64::try_from(value.trunc().normalize().mantissa()).ok()
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `deserialize_with`: a required fen amount.
pub(crate) fn fen<'de, D: Deserializer<'de>>(d: D) -> Result<Fen, D::Error> {
    let value = Value::deserialize(d)?;
    fen_from_value(&value).map_err(D::Error::custom)
}

/// `deserialize_with`: an optional fen amount (absent, null or "" is `None`).
pub(crate) fn opt_fen<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Fen>, D::Error> {
    let value = Value::deserialize(d)?;
    match &value {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        other => fen_from_value(other).map(Some).map_err(D::Error::custom),
    }
}

/// `deserialize_with`: a fen amount whose `-1` means "not provided" ("默认为-1 表示商家未升级").
pub(crate) fn fen_or_unset<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Fen>, D::Error> {
    match opt_fen(d)? {
        Some(Fen(-1)) | None => Ok(None),
        Some(fen) => Ok(Some(fen)),
    }
}

/// `serialize_with` for [`fen_or_unset`]: `None` is written as `-1`.
pub(crate) fn ser_fen_or_unset<S: Serializer>(v: &Option<Fen>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_i64(v.map_or(-1, Fen::get))
}

/// `deserialize_with`: a required integer (number or string).
pub(crate) fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let value = Value::deserialize(d)?;
    int_from_value(&value).map_err(D::Error::custom)
}

/// `deserialize_with`: an optional integer (absent, null or "" is `None`).
pub(crate) fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let value = Value::deserialize(d)?;
    match &value {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        other => int_from_value(other).map(Some).map_err(D::Error::custom),
    }
}

/// `deserialize_with`: text from a string or a number (ids, versions); null is "".
pub(crate) fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let value = Value::deserialize(d)?;
    match value {
        Value::Null => Ok(String::new()),
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(D::Error::custom(format!(
            "expected a string, got {}",
            kind(&other)
        ))),
    }
}

/// `deserialize_with`: a 0/1 flag from a number, a string or a boolean.
pub(crate) fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let value = Value::deserialize(d)?;
    match &value {
        Value::Bool(b) => Ok(*b),
        other => match int_from_value(other).map_err(D::Error::custom)? {
            0 => Ok(false),
            1 => Ok(true),
            n => Err(D::Error::custom(format!("expected a 0/1 flag, got {n}"))),
        },
    }
}

/// `serialize_with` for [`flag`]: written as 0 or 1.
pub(crate) fn ser_flag<S: Serializer>(v: &bool, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u8(u8::from(*v))
}

/// `deserialize_with`: an optional 0/1 flag (absent, null or "" is `None`).
pub(crate) fn opt_flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    let value = Value::deserialize(d)?;
    match &value {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        other => match int_from_value(other).map_err(D::Error::custom)? {
            0 => Ok(Some(false)),
            1 => Ok(Some(true)),
            n => Err(D::Error::custom(format!("expected a 0/1 flag, got {n}"))),
        },
    }
}

/// `serialize_with` for [`opt_flag`] (used with `skip_serializing_if = "Option::is_none"`).
pub(crate) fn ser_opt_flag<S: Serializer>(v: &Option<bool>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(b) => s.serialize_u8(u8::from(*b)),
        None => s.serialize_none(),
    }
}

/// `deserialize_with`: a quantity (not money): a finite number, from a number or a string.
pub(crate) fn quantity<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let value = Value::deserialize(d)?;
    let q = match &value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match q {
        Some(q) if q.is_finite() && q.abs() <= 1e12 => Ok(q),
        _ => Err(D::Error::custom(format!(
            "expected a quantity, got {value}"
        ))),
    }
}

/// `deserialize_with`: an optional exact decimal (not money: prices of unstated unit,
/// rates), from a number or a string; absent, null or "" is `None`.
pub(crate) fn opt_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    let value = Value::deserialize(d)?;
    let text = match &value {
        Value::Null => return Ok(None),
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        other => {
            return Err(D::Error::custom(format!(
                "expected a decimal, got {}",
                kind(other)
            )))
        }
    };
    let digits = text.strip_prefix('-').unwrap_or(&text);
    let plain = !digits.is_empty()
        && text.len() <= 24
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && digits.bytes().filter(|&b| b == b'.').count() <= 1;
    match Decimal::from_str(&text) {
        Ok(v) if plain => Ok(Some(v)),
        _ => Err(D::Error::custom(format!("{text:?} is not a plain decimal"))),
    }
}

/// `serialize_with` for [`opt_decimal`]: written as its normalized decimal text (`"1.0"` and
/// `1` are both written `"1"`), so that equal values serialize alike.
pub(crate) fn ser_opt_decimal<S: Serializer>(v: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(d) => s.serialize_str(&d.normalize().to_string()),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fen_text() {
        assert_eq!(parse_fen_text("39800"), Ok(Fen(39800)));
        assert_eq!(parse_fen_text("-1"), Ok(Fen(-1)));
        assert_eq!(parse_fen_text("100.0"), Ok(Fen(100)));
        assert_eq!(parse_fen_text("100.00"), Ok(Fen(100)));
        assert_eq!(parse_fen_text("0"), Ok(Fen(0)));
        assert_eq!(parse_fen_text("100.5"), Err(AmountError::TooPrecise(0)));
        assert_eq!(parse_fen_text("100.000"), Err(AmountError::TooPrecise(2)));
        assert_eq!(parse_fen_text("1e3"), Err(AmountError::Syntax));
        assert_eq!(parse_fen_text("+1"), Err(AmountError::Syntax));
        assert_eq!(parse_fen_text("-"), Err(AmountError::Syntax));
        assert_eq!(parse_fen_text(""), Err(AmountError::Empty));
        assert_eq!(parse_fen_text("1000000000001"), Err(AmountError::TooLarge));
        assert_eq!(parse_fen_text("-1000000000000"), Ok(Fen(-AMOUNT_FEN_MAX)));
    }

    #[test]
    fn fen_from_json_numbers() {
        let v: Value =
            serde_json::from_str("[1, 1.0, 12.5, 1e3, \"7\", null, true]").expect("json");
        let Value::Array(items) = v else {
            panic!("array")
        };
        assert_eq!(fen_from_value(&items[0]), Ok(Fen(1)));
        assert_eq!(fen_from_value(&items[1]), Ok(Fen(1)));
        assert!(fen_from_value(&items[2]).is_err());
        assert_eq!(fen_from_value(&items[3]), Ok(Fen(1000)));
        assert_eq!(fen_from_value(&items[4]), Ok(Fen(7)));
        assert!(fen_from_value(&items[5]).is_err());
        assert!(fen_from_value(&items[6]).is_err());
    }
}
