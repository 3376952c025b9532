//! Small helpers that read DS50 JSON into a map first and then take fields one by one.
//!
//! Decoding goes through `serde_json::Value` rather than a derived struct so that each
//! field gets its own precise error and no error message ever quotes a wire value (serde's
//! "invalid type: string \"4514...\"" would put a track 2 into a log). The byte size and the
//! nesting depth are checked before `serde_json` sees the input. The DS50 spec sends every
//! amount as a string, so no JSON number is ever read as money here.

use super::codes::Ds50Error;
use super::limits::JSON_DEPTH_MAX;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// A decoded JSON object.
pub(crate) type Object = Map<String, Value>;

/// Checks size and depth, parses, and requires a top-level object.
pub(crate) fn parse_object(
    input: &[u8],
    bytes_max: usize,
    what: &'static str,
) -> Result<Object, Ds50Error> {
    if input.len() > bytes_max {
        return Err(Ds50Error::TooLarge {
            bytes: input.len(),
            max: bytes_max,
        });
    }
    check_depth(input, JSON_DEPTH_MAX)?;
    let value: Value = serde_json::from_slice(input).map_err(|e| Ds50Error::Syntax {
        line: e.line(),
        column: e.column(),
    })?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(Ds50Error::NotObject(what)),
    }
}

/// Refuses input whose brackets (outside strings) nest deeper than `depth_max`.
pub(crate) fn check_depth(input: &[u8], depth_max: usize) -> Result<(), Ds50Error> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in input {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > depth_max {
                    return Err(Ds50Error::TooDeep { max: depth_max });
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
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
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(Ds50Error::WrongType(field)),
    }
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
    if value.chars().count() > chars_max {
        return Err(Ds50Error::Invalid {
            field,
            reason: "too long",
        });
    }
    if value.chars().any(char::is_control) {
        return Err(Ds50Error::Invalid {
            field,
            reason: "contains a control character",
        });
    }
    Ok(value.to_owned())
}

/// Whether every byte is an upper- or lower-case hex digit.
pub(crate) fn is_hex(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_hexdigit())
}
