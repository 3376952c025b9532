//! A small, bounded, slightly lenient JSON reader and the typed field accessors built on it.
//!
//! Why not `serde_json::from_slice` directly: the spec's own examples are not JSON (bare keys
//! like `mode: 1`, missing commas between lines, trailing commas, `//` comments), devices differ
//! in the same ways, and a payment message must not be read ambiguously. This reader:
//!
//! * accepts strict JSON (RFC 8259), plus, and only plus: `//` and `/* */` comments, bare
//!   ASCII identifier keys (`[A-Za-z_$][A-Za-z0-9_$]*`), a missing comma between two
//!   members or elements that stand on different lines, a trailing comma before `}`/`]`, and
//!   a leading UTF-8 byte-order mark;
//! * refuses duplicate keys (`"payMoney":1,"payMoney":1000` must not mean whatever the last
//!   one says), nesting beyond [`JSON_DEPTH_MAX`] and more than [`JSON_VALUES_MAX`] values;
//! * builds a `serde_json::Value`, so the typed layer reads it with the usual accessors.
//!
//! The accessors then apply the tolerance real terminals need: integers as JSON numbers or
//! numeric strings, several spellings of one key, `null` read as absent.

use serde_json::{Map, Number, Value};

use super::error::MqttPosError;
use super::limits::{JSON_DEPTH_MAX, JSON_VALUES_MAX};
use crate::money::{AmountError, Fen};

/// Parses `bytes` (at most `max_bytes`) into a JSON object.
pub(crate) fn parse_object(
    bytes: &[u8],
    max_bytes: usize,
) -> Result<Map<String, Value>, MqttPosError> {
    if bytes.len() > max_bytes {
        return Err(MqttPosError::PayloadTooLarge {
            bytes: bytes.len(),
            max: max_bytes,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| MqttPosError::Malformed {
        offset: e.valid_up_to(),
        reason: "not UTF-8",
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = Reader {
        src: text,
        pos: 0,
        values: 0,
    };
    reader.skip_space()?;
    let value = reader.value(0)?;
    reader.skip_space()?;
    if reader.pos != text.len() {
        return Err(reader.error("trailing characters after the JSON value"));
    }
    match value {
        Value::Object(map) => Ok(map),
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) | Value::Array(_) => {
            Err(MqttPosError::NotAnObject)
        }
    }
}

struct Reader<'a> {
    src: &'a str,
    pos: usize,
    values: usize,
}

impl Reader<'_> {
    fn error(&self, reason: &'static str) -> MqttPosError {
        MqttPosError::Malformed {
            offset: self.pos,
            reason,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    /// Skips whitespace and comments; returns whether a line break was crossed.
    fn skip_space(&mut self) -> Result<bool, MqttPosError> {
        let bytes = self.src.as_bytes();
        let mut newline = false;
        loop {
            match bytes.get(self.pos) {
                Some(b'\n') | Some(b'\r') => {
                    newline = true;
                    self.pos += 1;
                }
                Some(b' ') | Some(b'\t') => self.pos += 1,
                Some(b'/') => match bytes.get(self.pos + 1) {
                    Some(b'/') => {
                        while let Some(&b) = bytes.get(self.pos) {
                            if b == b'\n' {
                                break;
                            }
                            self.pos += 1;
                        }
                    }
                    Some(b'*') => {
                        let rest = &self.src[self.pos + 2..];
                        let end = rest
                            .find("*/")
                            .ok_or_else(|| self.error("unterminated comment"))?;
                        newline |= rest[..end].contains('\n');
                        self.pos += 2 + end + 2;
                    }
                    _ => return Err(self.error("unexpected '/'")),
                },
                _ => return Ok(newline),
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, MqttPosError> {
        self.values += 1;
        if self.values > JSON_VALUES_MAX {
            return Err(MqttPosError::TooManyValues);
        }
        match self.peek() {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string().map(Value::String),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b'-') | Some(b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error("unexpected character")),
            None => Err(self.error("unexpected end of input")),
        }
    }

    fn literal(&mut self, word: &'static str, value: Value) -> Result<Value, MqttPosError> {
        if self.src[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.error("unknown literal"))
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, MqttPosError> {
        if depth > JSON_DEPTH_MAX {
            return Err(MqttPosError::TooDeep);
        }
        self.pos += 1;
        let mut map = Map::new();
        self.skip_space()?;
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(map));
        }
        loop {
            let key = match self.peek() {
                Some(b'"') => self.string()?,
                Some(b) if b.is_ascii_alphabetic() || b == b'_' || b == b'$' => self.bare_key(),
                _ => return Err(self.error("expected a key")),
            };
            self.skip_space()?;
            if self.peek() != Some(b':') {
                return Err(self.error("expected ':'"));
            }
            self.pos += 1;
            self.skip_space()?;
            let value = self.value(depth)?;
            if map.contains_key(&key) {
                return Err(MqttPosError::DuplicateField(key.chars().take(32).collect()));
            }
            map.insert(key, value);
            let newline = self.skip_space()?;
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_space()?;
                    if self.peek() == Some(b'}') {
                        self.pos += 1;
                        return Ok(Value::Object(map));
                    }
                }
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(map));
                }
                Some(_) if newline => {}
                _ => return Err(self.error("expected ',' or '}'")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, MqttPosError> {
        if depth > JSON_DEPTH_MAX {
            return Err(MqttPosError::TooDeep);
        }
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_space()?;
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value(depth)?);
            let newline = self.skip_space()?;
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_space()?;
                    if self.peek() == Some(b']') {
                        self.pos += 1;
                        return Ok(Value::Array(items));
                    }
                }
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                Some(_) if newline => {}
                _ => return Err(self.error("expected ',' or ']'")),
            }
        }
    }

    fn bare_key(&mut self) -> String {
        let start = self.pos;
        while let Some(b) = self.peek() {
            if b.is_ascii_alphanumeric() || b == b'_' || b == b'$' {
                self.pos += 1;
            } else {
                break;
            }
        }
        self.src[start..self.pos].to_owned()
    }

    fn string(&mut self) -> Result<String, MqttPosError> {
        self.pos += 1;
        let bytes = self.src.as_bytes();
        let mut out = String::new();
        let mut run = self.pos;
        loop {
            match bytes.get(self.pos) {
                None => return Err(self.error("unterminated string")),
                Some(b'"') => {
                    out.push_str(&self.src[run..self.pos]);
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    out.push_str(&self.src[run..self.pos]);
                    let escape = bytes.get(self.pos + 1).copied();
                    self.pos += 2;
                    let escaped = match escape {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            let unit = self.hex4()?;
                            self.unicode_escape(unit)?
                        }
                        _ => return Err(self.error("bad escape")),
                    };
                    out.push(escaped);
                    run = self.pos;
                }
                Some(&b) if b < 0x20 => return Err(self.error("control character in string")),
                Some(_) => self.pos += 1,
            }
        }
    }

    /// Reads four hex digits at the cursor and moves past them.
    fn hex4(&mut self) -> Result<u32, MqttPosError> {
        let digits = self
            .src
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.error("short \\u escape"))?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(self.error("bad \\u escape"));
        }
        let unit = u32::from_str_radix(digits, 16).map_err(|_| self.error("bad \\u escape"))?;
        self.pos += 4;
        Ok(unit)
    }

    /// Completes a `\u` escape whose first unit was read; handles surrogate pairs.
    fn unicode_escape(&mut self, unit: u32) -> Result<char, MqttPosError> {
        let code = match unit {
            0xD800..=0xDBFF => {
                if !self.src[self.pos..].starts_with("\\u") {
                    return Err(self.error("lone surrogate"));
                }
                self.pos += 2;
                let low = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return Err(self.error("lone surrogate"));
                }
                0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(self.error("lone surrogate")),
            other => other,
        };
        char::from_u32(code).ok_or_else(|| self.error("bad \\u escape"))
    }

    fn number(&mut self) -> Result<Value, MqttPosError> {
        let bytes = self.src.as_bytes();
        let start = self.pos;
        if bytes.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        match bytes.get(self.pos) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.skip_digits(),
            _ => return Err(self.error("bad number")),
        }
        let mut integer = true;
        if bytes.get(self.pos) == Some(&b'.') {
            integer = false;
            self.pos += 1;
            if !matches!(bytes.get(self.pos), Some(b'0'..=b'9')) {
                return Err(self.error("bad number"));
            }
            self.skip_digits();
        }
        if matches!(bytes.get(self.pos), Some(b'e') | Some(b'E')) {
            integer = false;
            self.pos += 1;
            if matches!(bytes.get(self.pos), Some(b'+') | Some(b'-')) {
                self.pos += 1;
            }
            if !matches!(bytes.get(self.pos), Some(b'0'..=b'9')) {
                return Err(self.error("bad number"));
            }
            self.skip_digits();
        }
        let text = &self.src[start..self.pos];
        if integer {
            if let Ok(n) = text.parse::<i64>() {
                return Ok(Value::Number(Number::from(n)));
            }
            if let Ok(n) = text.parse::<u64>() {
                return Ok(Value::Number(Number::from(n)));
            }
        }
        text.parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| self.error("number out of range"))
    }

    fn skip_digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
    }
}

/// Why a JSON value could not be read as an integer.
enum IntIssue {
    /// Not an integer (wrong type, fraction, not digits).
    NotInteger,
    /// An integer beyond `i64`; `negative` tells its sign.
    TooLarge { negative: bool },
}

/// Reads an integer sent as a JSON number or a numeric string (`"-"?[0-9]+`).
fn integer(value: &Value) -> Result<i64, IntIssue> {
    match value {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Ok(i)
            } else if n.is_u64() {
                Err(IntIssue::TooLarge { negative: false })
            } else {
                match n.as_f64() {
                    Some(f) if f.is_finite() && f.fract() == 0.0 => {
                        Err(IntIssue::TooLarge { negative: f < 0.0 })
                    }
                    _ => Err(IntIssue::NotInteger),
                }
            }
        }
        Value::String(s) => {
            let (negative, digits) = match s.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, s.as_str()),
            };
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(IntIssue::NotInteger);
            }
            s.parse::<i64>()
                .map_err(|_| IntIssue::TooLarge { negative })
        }
        Value::Null | Value::Bool(_) | Value::Array(_) | Value::Object(_) => {
            Err(IntIssue::NotInteger)
        }
    }
}

/// Typed, tolerant reads of one JSON object's fields.
pub(crate) struct Fields<'a> {
    map: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(map: &'a Map<String, Value>) -> Self {
        Fields { map }
    }

    /// The value under any of `names` (accepted spellings of one field), `null` as absent.
    /// Two spellings with different values are refused.
    pub(crate) fn get(&self, names: &[&'static str]) -> Result<Option<&'a Value>, MqttPosError> {
        let mut found: Option<(&'static str, &'a Value)> = None;
        for &name in names {
            match self.map.get(name) {
                None | Some(Value::Null) => {}
                Some(value) => match found {
                    Some((_, earlier)) if earlier != value => {
                        return Err(MqttPosError::DuplicateField(name.to_owned()));
                    }
                    Some(_) => {}
                    None => found = Some((name, value)),
                },
            }
        }
        Ok(found.map(|(_, value)| value))
    }

    fn required(&self, names: &[&'static str]) -> Result<&'a Value, MqttPosError> {
        self.get(names)?.ok_or(MqttPosError::MissingField(
            names.first().copied().unwrap_or("?"),
        ))
    }

    /// An optional integer in `min..=max`.
    pub(crate) fn int_opt(
        &self,
        names: &[&'static str],
        min: i64,
        max: i64,
    ) -> Result<Option<i64>, MqttPosError> {
        let field = names.first().copied().unwrap_or("?");
        let Some(value) = self.get(names)? else {
            return Ok(None);
        };
        match integer(value) {
            Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
            Ok(_) | Err(IntIssue::TooLarge { .. }) => Err(MqttPosError::OutOfRange(field)),
            Err(IntIssue::NotInteger) => Err(MqttPosError::WrongType {
                field,
                expected: "an integer",
            }),
        }
    }

    /// A required integer in `min..=max`.
    pub(crate) fn int(
        &self,
        names: &[&'static str],
        min: i64,
        max: i64,
    ) -> Result<i64, MqttPosError> {
        self.required(names)?;
        self.int_opt(names, min, max)?
            .ok_or(MqttPosError::MissingField(
                names.first().copied().unwrap_or("?"),
            ))
    }

    /// An optional amount in fen (non-negative, at most `AMOUNT_FEN_MAX`).
    pub(crate) fn money_opt(&self, names: &[&'static str]) -> Result<Option<Fen>, MqttPosError> {
        let field = names.first().copied().unwrap_or("?");
        let Some(value) = self.get(names)? else {
            return Ok(None);
        };
        match integer(value) {
            Ok(n) => Fen::from_wire_fen(n).map(Some).map_err(|e| match e {
                AmountError::Negative => MqttPosError::NegativeAmount(field),
                AmountError::Empty
                | AmountError::Syntax
                | AmountError::TooPrecise(_)
                | AmountError::TooLarge => MqttPosError::AmountTooLarge(field),
            }),
            Err(IntIssue::TooLarge { negative: true }) => Err(MqttPosError::NegativeAmount(field)),
            Err(IntIssue::TooLarge { negative: false }) => Err(MqttPosError::AmountTooLarge(field)),
            Err(IntIssue::NotInteger) => Err(MqttPosError::WrongType {
                field,
                expected: "an integer amount in fen",
            }),
        }
    }

    /// A required amount in fen.
    pub(crate) fn money(&self, names: &[&'static str]) -> Result<Fen, MqttPosError> {
        self.required(names)?;
        self.money_opt(names)?.ok_or(MqttPosError::MissingField(
            names.first().copied().unwrap_or("?"),
        ))
    }

    /// An optional string (strings only).
    pub(crate) fn str_opt(&self, names: &[&'static str]) -> Result<Option<&'a str>, MqttPosError> {
        match self.get(names)? {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(MqttPosError::WrongType {
                field: names.first().copied().unwrap_or("?"),
                expected: "a string",
            }),
        }
    }

    /// A required string.
    pub(crate) fn str(&self, names: &[&'static str]) -> Result<&'a str, MqttPosError> {
        self.required(names)?;
        self.str_opt(names)?.ok_or(MqttPosError::MissingField(
            names.first().copied().unwrap_or("?"),
        ))
    }

    /// An optional identifier that devices send as a string or as an integer (`userId`,
    /// a dish `id`, a message's `user`); integers are turned into their decimal text.
    pub(crate) fn id_text_opt(
        &self,
        names: &[&'static str],
    ) -> Result<Option<String>, MqttPosError> {
        match self.get(names)? {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(Some(n.to_string())),
            Some(_) => Err(MqttPosError::WrongType {
                field: names.first().copied().unwrap_or("?"),
                expected: "a string or an integer",
            }),
        }
    }

    /// A required identifier (string or integer).
    pub(crate) fn id_text(&self, names: &[&'static str]) -> Result<String, MqttPosError> {
        self.required(names)?;
        self.id_text_opt(names)?.ok_or(MqttPosError::MissingField(
            names.first().copied().unwrap_or("?"),
        ))
    }

    /// An optional list.
    pub(crate) fn list_opt(
        &self,
        names: &[&'static str],
        max: usize,
    ) -> Result<Option<&'a [Value]>, MqttPosError> {
        let field = names.first().copied().unwrap_or("?");
        match self.get(names)? {
            None => Ok(None),
            Some(Value::Array(items)) if items.len() > max => {
                Err(MqttPosError::TooManyItems { field, max })
            }
            Some(Value::Array(items)) => Ok(Some(items.as_slice())),
            Some(_) => Err(MqttPosError::WrongType {
                field,
                expected: "a list",
            }),
        }
    }

    /// Whether the field is present (under any spelling, not null).
    pub(crate) fn has(&self, names: &[&'static str]) -> bool {
        names
            .iter()
            .any(|n| !matches!(self.map.get(*n), None | Some(Value::Null)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(text: &str) -> Result<Map<String, Value>, MqttPosError> {
        parse_object(text.as_bytes(), 1 << 20)
    }

    #[test]
    fn strict_json_reads_like_serde_json() {
        let text = r#"{"a":1,"b":[true,false,null,-2,3.5,"x\"y\u00e9\ud83d\ude00"],"c":{}}"#;
        let ours = Value::Object(parse(text).unwrap());
        let theirs: Value = serde_json::from_str(text).unwrap();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn lenient_forms_are_read() {
        let text = "{\n // comment\n mode: 1, /* block */\n \"a\": 2\n \"b\": [1\n 2,],\n}";
        let map = parse(text).unwrap();
        assert_eq!(map["mode"], 1);
        assert_eq!(map["a"], 2);
        assert_eq!(map["b"], serde_json::json!([1, 2]));
    }

    #[test]
    fn refusals() {
        assert!(matches!(
            parse("{\"a\":1 \"b\":2}"),
            Err(MqttPosError::Malformed { .. })
        ));
        assert!(matches!(
            parse("{\"a\":1,\"a\":2}"),
            Err(MqttPosError::DuplicateField(_))
        ));
        assert!(matches!(parse("[1]"), Err(MqttPosError::NotAnObject)));
        assert!(matches!(
            parse("{\"a\":01}"),
            Err(MqttPosError::Malformed { .. })
        ));
        assert!(matches!(
            parse("{\"a\":\"\\ud800\"}"),
            Err(MqttPosError::Malformed { .. })
        ));
        assert!(matches!(
            parse("{\"a\":1e999}"),
            Err(MqttPosError::Malformed { .. })
        ));
        assert!(matches!(
            parse("{\"a\":1} x"),
            Err(MqttPosError::Malformed { .. })
        ));
        assert!(matches!(
            parse("{\"a\":\"\t\"}"),
            Err(MqttPosError::Malformed { .. })
        ));
        let deep = format!("{}{}", "{\"a\":".repeat(20), "1");
        assert_eq!(parse(&deep), Err(MqttPosError::TooDeep));
        let many = format!("{{\"a\":[{}1]}}", "1,".repeat(JSON_VALUES_MAX));
        assert_eq!(parse(&many), Err(MqttPosError::TooManyValues));
        assert!(matches!(
            parse_object(b"{}", 1),
            Err(MqttPosError::PayloadTooLarge { .. })
        ));
        assert!(matches!(
            parse_object(b"{\"a\":\"\xff\"}", 100),
            Err(MqttPosError::Malformed { .. })
        ));
    }

    proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,64}") {
            let _ = parse(&text);
        }

        #[test]
        fn never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = parse_object(&bytes, 1 << 20);
        }

        #[test]
        fn agrees_with_serde_json_on_strict_input(text in "[{}\\[\\]\",:0-9a-z\\\\ .eE+-]{0,40}") {
            let theirs: Result<Value, _> = serde_json::from_str(&text);
            if let (Ok(ours), Ok(Value::Object(theirs))) = (parse(&text), theirs) {
                prop_assert_eq!(ours, theirs);
            }
        }
    }
}
