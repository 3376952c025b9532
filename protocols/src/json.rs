//! JSON reading steps that DS50 and Pospal share: bound the input before `serde_json`
//! sees it, then take fields one by one from a `serde_json` map.
//!
//! Both protocols decode through `serde_json::Value` rather than derived structs, so that
//! every field gets its own precise error and no error message ever quotes a wire value.
//! They used to carry their own copies of the same steps; the steps now live here and
//! return the small error types below, which each protocol maps onto its own error table
//! (with its own variant names and context, e.g. Pospal's `part`). What differs stays in
//! the protocol: Pospal's number quoting, DS50's digit strings.

use serde_json::{Map, Value};

/// A decoded JSON object.
pub(crate) type Object = Map<String, Value>;

/// Brackets nested deeper than the limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TooDeep;

/// Walks JSON text one byte at a time without parsing it: knows whether a byte lies in a
/// string literal, and refuses brackets (outside strings) nested deeper than `depth_max`.
/// Syntax is not checked: `serde_json` does that afterwards, on input known to be shallow.
#[derive(Clone, Debug)]
pub(crate) struct Scanner {
    depth_max: usize,
    depth: usize,
    in_string: bool,
    escaped: bool,
}

impl Scanner {
    /// A scanner at the start of the text.
    pub(crate) fn new(depth_max: usize) -> Scanner {
        Scanner {
            depth_max,
            depth: 0,
            in_string: false,
            escaped: false,
        }
    }

    /// Feeds the next byte: `Ok(true)` when it lies outside every string literal (a
    /// bracket, a separator, a number or literal character, white space), `Ok(false)` when
    /// it is part of a string literal, quotes included.
    pub(crate) fn byte(&mut self, byte: u8) -> Result<bool, TooDeep> {
        if self.in_string {
            if self.escaped {
                self.escaped = false;
            } else if byte == b'\\' {
                self.escaped = true;
            } else if byte == b'"' {
                self.in_string = false;
            }
            return Ok(false);
        }
        match byte {
            b'"' => {
                self.in_string = true;
                return Ok(false);
            }
            b'{' | b'[' => {
                self.depth += 1;
                if self.depth > self.depth_max {
                    return Err(TooDeep);
                }
            }
            b'}' | b']' => self.depth = self.depth.saturating_sub(1),
            _ => {}
        }
        Ok(true)
    }
}

/// Refuses input whose brackets (outside strings) nest deeper than `depth_max`.
pub(crate) fn check_depth(input: &[u8], depth_max: usize) -> Result<(), TooDeep> {
    let mut scanner = Scanner::new(depth_max);
    for &byte in input {
        scanner.byte(byte)?;
    }
    Ok(())
}

/// Why [`parse_object`] refused its input, in the order the checks run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ObjectError {
    /// More than `max` bytes.
    TooLarge {
        /// Size received.
        bytes: usize,
        /// Limit that applied.
        max: usize,
    },
    /// Nested deeper than the limit.
    TooDeep,
    /// Not valid JSON (position of the first error only, never the content).
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// Valid JSON, but not an object.
    NotObject,
}

/// Checks size, then depth, parses, and requires a top-level object.
pub(crate) fn parse_object(
    input: &[u8],
    bytes_max: usize,
    depth_max: usize,
) -> Result<Object, ObjectError> {
    if input.len() > bytes_max {
        return Err(ObjectError::TooLarge {
            bytes: input.len(),
            max: bytes_max,
        });
    }
    check_depth(input, depth_max).map_err(|TooDeep| ObjectError::TooDeep)?;
    let value: Value = serde_json::from_slice(input).map_err(|e| ObjectError::Syntax {
        line: e.line(),
        column: e.column(),
    })?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(ObjectError::NotObject),
    }
}

/// A field of the wrong JSON type (its wire name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WrongType(pub(crate) &'static str);

/// An optional string field (absent or null is `None`).
pub(crate) fn opt_str<'a>(
    obj: &'a Object,
    field: &'static str,
) -> Result<Option<&'a str>, WrongType> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(WrongType(field)),
    }
}

/// Checks a free text value: at most `chars_max` characters, no control characters. The
/// error is the reason, for the protocol's "invalid field" error.
pub(crate) fn check_text(value: &str, chars_max: usize) -> Result<(), &'static str> {
    if value.chars().count() > chars_max {
        return Err("too long");
    }
    if value.chars().any(char::is_control) {
        return Err("contains a control character");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_ignores_brackets_in_strings() {
        assert_eq!(check_depth(br#"[[["]]]]]\"[[[["]]]"#, 3), Ok(()));
        assert_eq!(check_depth(b"[[[[1]]]]", 3), Err(TooDeep));
        assert_eq!(check_depth(br#"{"a":"\\"}[[[["#, 3), Err(TooDeep));
    }

    #[test]
    fn objects_are_bounded_then_parsed() {
        assert_eq!(
            parse_object(b"{}  ", 3, 8),
            Err(ObjectError::TooLarge { bytes: 4, max: 3 })
        );
        assert_eq!(parse_object(b"[[1]]", 64, 1), Err(ObjectError::TooDeep));
        assert_eq!(
            parse_object(b"{\n x", 64, 8),
            Err(ObjectError::Syntax { line: 2, column: 2 })
        );
        assert_eq!(parse_object(b"[]", 64, 8), Err(ObjectError::NotObject));
        assert_eq!(parse_object(br#"{"a":1}"#, 64, 8).unwrap().len(), 1);
    }

    #[test]
    fn fields_and_text() {
        let obj = parse_object(br#"{"s":"x","n":1,"z":null}"#, 64, 8).unwrap();
        assert_eq!(opt_str(&obj, "s"), Ok(Some("x")));
        assert_eq!(opt_str(&obj, "z"), Ok(None));
        assert_eq!(opt_str(&obj, "absent"), Ok(None));
        assert_eq!(opt_str(&obj, "n"), Err(WrongType("n")));
        assert_eq!(check_text("四个字符", 4), Ok(()));
        assert_eq!(check_text("五个字符啊", 4), Err("too long"));
        assert_eq!(check_text("a\nb", 4), Err("contains a control character"));
    }
}
