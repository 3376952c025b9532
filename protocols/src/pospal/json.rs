//! Reading Pospal JSON without ever turning a number into a float.
//!
//! Pospal writes amounts as Java `BigDecimal`s (`76.21`, `-12.00`) and ids as Java `long`s
//! (`1514196146215295712`, above 2^53). `serde_json` without its `arbitrary_precision`
//! feature reads a JSON number with a fraction as `f64`, so the body is first passed
//! through [`quote_numbers`], a small lexer that turns every number token outside strings
//! into a string holding the same characters. The body is then parsed as a
//! `serde_json::Value` whose scalars are only strings, booleans and null, and each field is
//! parsed from its exact text: money with `rust_decimal` into [`Fen`], ids as `i64`. The same
//! pass bounds the nesting depth before `serde_json` recurses. A side effect, documented on
//! each accessor: a number sent as a JSON string (`"20.00"`) is accepted like a number.

use super::codes::PospalError;
use super::limits::NUMBER_CHARS_MAX;
use crate::json::{self, Scanner, WrongType};
use crate::money::{is_plain_decimal, AmountError, Fen};
use rust_decimal::Decimal;
use serde_json::Value;

/// A decoded JSON object (after [`quote_numbers`], its scalars are strings).
pub(crate) use crate::json::Object;

impl From<WrongType> for PospalError {
    fn from(WrongType(field): WrongType) -> PospalError {
        PospalError::WrongType(field)
    }
}

/// Rewrites every number token outside strings as a string, refusing nesting deeper than
/// `depth_max`. Syntax is not checked here: `serde_json` does that on the result.
pub(crate) fn quote_numbers(
    text: &str,
    depth_max: usize,
    part: &'static str,
) -> Result<String, PospalError> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    let mut scanner = Scanner::new(depth_max);
    let mut start = 0usize; // start of the not yet copied input
    let mut at = 0usize;
    while at < bytes.len() {
        let byte = bytes[at];
        let outside_strings = scanner.byte(byte).map_err(|_| PospalError::TooDeep {
            part,
            max: depth_max,
        })?;
        // A number token's other bytes (digits, sign, point, exponent) never change the
        // scanner's state, so they are skipped without feeding them to it.
        match byte {
            b'-' | b'0'..=b'9' if outside_strings => {
                let end = bytes[at..]
                    .iter()
                    .position(|b| !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                    .map_or(bytes.len(), |len| at + len);
                if !is_json_number(&bytes[at..end]) {
                    return Err(PospalError::Syntax {
                        part,
                        line: 1 + bytes[..at].iter().filter(|&&b| b == b'\n').count(),
                        column: at
                            - bytes[..at]
                                .iter()
                                .rposition(|&b| b == b'\n')
                                .map_or(0, |nl| nl + 1)
                            + 1,
                    });
                }
                // Number tokens are ASCII, so `at` and `end` are char boundaries.
                out.push_str(&text[start..at]);
                out.push('"');
                out.push_str(&text[at..end]);
                out.push('"');
                start = end;
                at = end;
                continue;
            }
            _ => {}
        }
        at += 1;
    }
    out.push_str(&text[start..]);
    Ok(out)
}

/// Whether a token follows the JSON number grammar:
/// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`. Checked here because once
/// quoted, a malformed number (`1.5.5`, `-`, `01`) would otherwise pass as a string.
fn is_json_number(token: &[u8]) -> bool {
    fn digits(token: &[u8], at: &mut usize) -> usize {
        let start = *at;
        while token.get(*at).is_some_and(u8::is_ascii_digit) {
            *at += 1;
        }
        *at - start
    }
    let mut at = 0;
    if token.first() == Some(&b'-') {
        at += 1;
    }
    match token.get(at) {
        Some(b'0') => at += 1,
        Some(b'1'..=b'9') => {
            digits(token, &mut at);
        }
        _ => return false,
    }
    if token.get(at) == Some(&b'.') {
        at += 1;
        if digits(token, &mut at) == 0 {
            return false;
        }
    }
    if matches!(token.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(token.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        if digits(token, &mut at) == 0 {
            return false;
        }
    }
    at == token.len()
}

/// Quotes numbers, bounds depth, and parses into a `Value`.
pub(crate) fn parse_quoted(
    text: &str,
    depth_max: usize,
    part: &'static str,
) -> Result<Value, PospalError> {
    let quoted = quote_numbers(text, depth_max, part)?;
    serde_json::from_str(&quoted).map_err(|e| PospalError::Syntax {
        part,
        line: e.line(),
        column: e.column(),
    })
}

/// The object, or a shape error naming `what`.
pub(crate) fn as_object<'a>(
    value: &'a Value,
    what: &'static str,
) -> Result<&'a Object, PospalError> {
    match value {
        Value::Object(obj) => Ok(obj),
        _ => Err(PospalError::Shape(what)),
    }
}

/// An optional string (absent or null is `None`), at most `chars_max` characters, no
/// control characters. Numbers (quoted by [`quote_numbers`]) arrive here as strings too.
pub(crate) fn opt_text(
    obj: &Object,
    field: &'static str,
    chars_max: usize,
) -> Result<Option<String>, PospalError> {
    let Some(text) = json::opt_str(obj, field)? else {
        return Ok(None);
    };
    json::check_text(text, chars_max).map_err(|reason| PospalError::Invalid { field, reason })?;
    Ok(Some(text.to_owned()))
}

/// A required, non-empty string (see [`opt_text`]).
pub(crate) fn req_text(
    obj: &Object,
    field: &'static str,
    chars_max: usize,
) -> Result<String, PospalError> {
    match opt_text(obj, field, chars_max)? {
        Some(text) if !text.is_empty() => Ok(text),
        _ => Err(PospalError::Missing(field)),
    }
}

/// The scalar text of a field that must be a number (or a numeric string).
fn number_text<'a>(obj: &'a Object, field: &'static str) -> Result<Option<&'a str>, PospalError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.len() <= NUMBER_CHARS_MAX => Ok(Some(text)),
        Some(Value::String(_)) => Err(PospalError::Invalid {
            field,
            reason: "number too long",
        }),
        Some(_) => Err(PospalError::WrongType(field)),
    }
}

/// An optional Java `long`: an optional `-` and 1 to 19 digits, within `i64`.
pub(crate) fn opt_i64(obj: &Object, field: &'static str) -> Result<Option<i64>, PospalError> {
    let Some(text) = number_text(obj, field)? else {
        return Ok(None);
    };
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || digits.len() > 19 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PospalError::Invalid {
            field,
            reason: "not an integer",
        });
    }
    text.parse().map(Some).map_err(|_| PospalError::Invalid {
        field,
        reason: "integer out of range",
    })
}

/// A required Java `long`.
pub(crate) fn req_i64(obj: &Object, field: &'static str) -> Result<i64, PospalError> {
    opt_i64(obj, field)?.ok_or(PospalError::Missing(field))
}

/// Whether negative amounts are allowed for a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sign {
    /// Zero or more.
    NonNegative,
    /// Any sign (balance logs: negative = money given back).
    Any,
}

/// Parses a BigDecimal amount in yuan into fen: an optional `-`, digits, optionally a point
/// and digits, optionally an exponent as Java's `BigDecimal.toString` writes it (`1E+2`,
/// `7.621E+1`, `5E-1`). Exact only: more than two decimals is refused unless the extra ones
/// are zeros (`20.000` is exactly 2000 fen; `0.005` is not a fen amount).
pub(crate) fn parse_money(text: &str, sign: Sign) -> Result<Fen, AmountError> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) if sign == Sign::Any => (true, rest),
        Some(_) => return Err(AmountError::Negative),
        None => (false, text),
    };
    // Normalised first: BigDecimal's trailing zeros (`20.000`) are not extra precision.
    let Fen(fen) = Fen::from_yuan_decimal(plain_decimal(digits)?.normalize())?;
    Ok(Fen(if negative { -fen } else { fen }))
}

/// Longest exponent accepted (digits): `rust_decimal` holds 28 digits of scale anyway.
const EXPONENT_DIGITS_MAX: usize = 2;

/// Parses an unsigned decimal (`12`, `0.5`, `76.21`), also in Java `BigDecimal`'s
/// scientific form (`1E+2`, `7.621E+1`, `1.00E-2`), always exactly: the mantissa is read
/// with `from_str_exact` and the exponent only moves the point.
fn plain_decimal(digits: &str) -> Result<Decimal, AmountError> {
    if digits.is_empty() {
        return Err(AmountError::Empty);
    }
    if digits.len() > NUMBER_CHARS_MAX {
        return Err(AmountError::Syntax);
    }
    let (mantissa, exponent) = match digits.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, Some(exponent)),
        None => (digits, None),
    };
    if mantissa.is_empty() || !is_plain_decimal(mantissa) {
        return Err(AmountError::Syntax);
    }
    let value = Decimal::from_str_exact(mantissa).map_err(|_| AmountError::TooLarge)?;
    let Some(exponent) = exponent else {
        return Ok(value);
    };
    let (negative, exp_digits) = match exponent.as_bytes().first() {
        Some(b'-') => (true, &exponent[1..]),
        Some(b'+') => (false, &exponent[1..]),
        _ => (false, exponent),
    };
    if exp_digits.is_empty()
        || exp_digits.len() > EXPONENT_DIGITS_MAX
        || !exp_digits.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(AmountError::Syntax);
    }
    let shift: u32 = exp_digits.parse().map_err(|_| AmountError::Syntax)?;
    if negative {
        let mut scaled = value;
        scaled
            .set_scale(value.scale() + shift)
            .map_err(|_| AmountError::TooPrecise(28))?;
        Ok(scaled)
    } else {
        (0..shift)
            .try_fold(value, |acc, _| acc.checked_mul(Decimal::TEN))
            .ok_or(AmountError::TooLarge)
    }
}

/// An optional amount (see [`parse_money`]).
pub(crate) fn opt_money(
    obj: &Object,
    field: &'static str,
    sign: Sign,
) -> Result<Option<Fen>, PospalError> {
    number_text(obj, field)?
        .map(|text| parse_money(text, sign).map_err(|source| PospalError::Amount { field, source }))
        .transpose()
}

/// A required amount (see [`parse_money`]).
pub(crate) fn req_money(obj: &Object, field: &'static str, sign: Sign) -> Result<Fen, PospalError> {
    opt_money(obj, field, sign)?.ok_or(PospalError::Missing(field))
}

/// An optional exact decimal that is not money (points): same syntax as money (exponents
/// included), any scale `rust_decimal` holds (28 digits).
pub(crate) fn opt_decimal(
    obj: &Object,
    field: &'static str,
) -> Result<Option<Decimal>, PospalError> {
    let Some(text) = number_text(obj, field)? else {
        return Ok(None);
    };
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let value = plain_decimal(digits).map_err(|_| PospalError::Invalid {
        field,
        reason: "not a plain decimal number",
    })?;
    Ok(Some(if negative { -value } else { value }))
}

/// An optional array of at most `max` items (absent or null is empty).
pub(crate) fn opt_array<'a>(
    obj: &'a Object,
    field: &'static str,
    max: usize,
) -> Result<&'a [Value], PospalError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) if items.len() <= max => Ok(items),
        Some(Value::Array(_)) => Err(PospalError::TooMany { field, max }),
        Some(_) => Err(PospalError::WrongType(field)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::AMOUNT_FEN_MAX;
    use proptest::prelude::*;

    #[test]
    fn quotes_numbers_outside_strings_only() {
        let text = r#"{"a":76.21,"b":[-12.00,1514196146215295712],"c":"x 1.5 \" 2","d":true,"e":null,"f":1e3}"#;
        assert_eq!(
            quote_numbers(text, 8, "body").unwrap(),
            r#"{"a":"76.21","b":["-12.00","1514196146215295712"],"c":"x 1.5 \" 2","d":true,"e":null,"f":"1e3"}"#
        );
        assert!(quote_numbers("[[[[1]]]]", 3, "body").is_err());
        assert!(quote_numbers("[[[1]]]", 3, "body").is_ok());
        assert_eq!(quote_numbers("中1文", 1, "b").unwrap(), "中\"1\"文");
        for bad in [
            "1.5.5", "-", "01", "1.", ".5", "1e", "1e+", "--1", "1-2", "+1",
        ] {
            let text = format!("[{bad}]");
            assert!(parse_quoted(&text, 8, "body").is_err(), "{bad}");
        }
        for good in ["0", "-0", "1.5", "-12.00", "1e3", "1E-3", "10.5e+2"] {
            assert!(is_json_number(good.as_bytes()), "{good}");
        }
    }

    #[test]
    fn money() {
        assert_eq!(parse_money("76.21", Sign::NonNegative), Ok(Fen(7621)));
        assert_eq!(parse_money("-12.00", Sign::Any), Ok(Fen(-1200)));
        assert_eq!(parse_money("98627.29", Sign::Any), Ok(Fen(9862729)));
        assert_eq!(parse_money("20.000", Sign::NonNegative), Ok(Fen(2000)));
        assert_eq!(parse_money("0", Sign::NonNegative), Ok(Fen(0)));
        assert_eq!(
            parse_money("0.005", Sign::Any),
            Err(AmountError::TooPrecise(2))
        );
        assert_eq!(
            parse_money("-1", Sign::NonNegative),
            Err(AmountError::Negative)
        );
        // Java BigDecimal.toString's scientific forms are exact amounts too.
        assert_eq!(parse_money("1E+2", Sign::Any), Ok(Fen(10_000)));
        assert_eq!(parse_money("1e3", Sign::Any), Ok(Fen(100_000)));
        assert_eq!(parse_money("7.621E+1", Sign::Any), Ok(Fen(7_621)));
        assert_eq!(parse_money("-1.2E+1", Sign::Any), Ok(Fen(-1_200)));
        assert_eq!(parse_money("1.00E-2", Sign::Any), Ok(Fen(1)));
        assert_eq!(
            parse_money("5E-3", Sign::Any),
            Err(AmountError::TooPrecise(2))
        );
        assert_eq!(parse_money("1E+100", Sign::Any), Err(AmountError::Syntax));
        assert_eq!(parse_money("1E+99", Sign::Any), Err(AmountError::TooLarge));
        assert_eq!(parse_money("1E+20", Sign::Any), Err(AmountError::TooLarge));
        assert_eq!(parse_money("1E", Sign::Any), Err(AmountError::Syntax));
        assert_eq!(parse_money("E+2", Sign::Any), Err(AmountError::Syntax));
        assert_eq!(parse_money("--1", Sign::Any), Err(AmountError::Syntax));
        assert_eq!(parse_money("", Sign::Any), Err(AmountError::Empty));
        assert_eq!(
            parse_money("10000000000.01", Sign::Any),
            Err(AmountError::TooLarge)
        );
        assert_eq!(
            parse_money("99999999999999999999999999999999", Sign::Any),
            Err(AmountError::TooLarge)
        );
    }

    proptest! {
        #[test]
        fn quote_never_panics(text in "\\PC{0,200}") {
            let _ = parse_quoted(&text, 8, "body");
        }

        #[test]
        fn money_is_exact(fen in -AMOUNT_FEN_MAX..=AMOUNT_FEN_MAX) {
            prop_assert_eq!(parse_money(&Fen(fen).to_yuan_string(), Sign::Any), Ok(Fen(fen)));
        }
    }
}
