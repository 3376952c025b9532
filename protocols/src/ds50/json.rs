//! Small helpers that read DS50 JSON into a map first and then take fields one by one.
//!
//! Decoding goes through `serde_json::Value` rather than a derived struct so that each
//! field gets its own precise error and no error message ever quotes a wire value (serde's
//! "invalid type: string \"4514...\"" would put a track 2 into a log). The byte size and the
//! nesting depth are checked before `serde_json` sees the input. The DS50 spec sends every
//! amount as a string, so no JSON number is ever read as money here.
//!
//! The steps DS50 shares with Pospal (bounds, parsing, string fields, text checks) are in
//! the crate's `json` module; here they get DS50's errors, beside what is DS50's own.

use super::codes::Ds50Error;
use super::limits::JSON_DEPTH_MAX;
use crate::json::{self, ObjectError, WrongType};
use serde_json::Value;
use std::borrow::Cow;

/// A decoded JSON object.
pub(crate) use crate::json::Object;

impl From<WrongType> for Ds50Error {
    fn from(WrongType(field): WrongType) -> Ds50Error {
        Ds50Error::WrongType(field)
    }
}

/// Checks size and depth, parses, and requires a top-level object (`what` names it).
pub(crate) fn parse_object(
    input: &[u8],
    bytes_max: usize,
    what: &'static str,
) -> Result<Object, Ds50Error> {
    json::parse_object(input, bytes_max, JSON_DEPTH_MAX).map_err(|error| match error {
        ObjectError::TooLarge { bytes, max } => Ds50Error::TooLarge { bytes, max },
        ObjectError::TooDeep => Ds50Error::TooDeep {
            max: JSON_DEPTH_MAX,
        },
        ObjectError::Syntax { line, column } => Ds50Error::Syntax { line, column },
        ObjectError::NotObject => Ds50Error::NotObject(what),
    })
}

/// A required string field.
pub(crate) fn req_str<'a>(obj: &'a Object, field: &'static str) -> Result<&'a str, Ds50Error> {
    opt_str(obj, field)?.ok_or(Ds50Error::Missing(field))
}

/// An optional string field (absent or null is `None`).
pub(crate) fn opt_str<'a>(
    obj: &'a Object,
    field: &'static str,
) -> Result<Option<&'a str>, Ds50Error> {
    Ok(json::opt_str(obj, field)?)
}

/// A required field the spec sends as a string of digits; a JSON integer is accepted too.
pub(crate) fn req_digits<'a>(
    obj: &'a Object,
    field: &'static str,
) -> Result<Cow<'a, str>, Ds50Error> {
    match obj.get(field) {
        None | Some(Value::Null) => Err(Ds50Error::Missing(field)),
        Some(Value::String(text)) => Ok(Cow::Borrowed(text)),
        Some(Value::Number(number)) => match number.as_u64() {
            Some(n) => Ok(Cow::Owned(n.to_string())),
            None => Err(Ds50Error::WrongType(field)),
        },
        Some(_) => Err(Ds50Error::WrongType(field)),
    }
}

/// A required non-negative JSON integer.
pub(crate) fn req_u64(obj: &Object, field: &'static str) -> Result<u64, Ds50Error> {
    match obj.get(field) {
        None | Some(Value::Null) => Err(Ds50Error::Missing(field)),
        Some(Value::Number(number)) => number.as_u64().ok_or(Ds50Error::WrongType(field)),
        Some(_) => Err(Ds50Error::WrongType(field)),
    }
}

/// Parses an unsigned decimal integer made of ASCII digits only, at most 9 digits.
pub(crate) fn parse_u32_digits(text: &str, field: &'static str) -> Result<u32, Ds50Error> {
    if text.is_empty() || text.len() > 9 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Ds50Error::Invalid {
            field,
            reason: "not 1 to 9 decimal digits",
        });
    }
    text.parse().map_err(|_| Ds50Error::Invalid {
        field,
        reason: "not 1 to 9 decimal digits",
    })
}

/// Checks a free text value: at most `chars_max` characters, no control characters.
pub(crate) fn text(
    value: &str,
    field: &'static str,
    chars_max: usize,
) -> Result<String, Ds50Error> {
    json::check_text(value, chars_max).map_err(|reason| Ds50Error::Invalid { field, reason })?;
    Ok(value.to_owned())
}

/// Whether every byte is an upper- or lower-case hex digit.
pub(crate) fn is_hex(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_hexdigit())
}
