//! A small, bounded `application/x-www-form-urlencoded` reader and writer.
//!
//! jpos terminals POST their requests as HTML forms. The crate has no form dependency, and
//! the format is simple enough that a reader with explicit bounds is shorter than adapting
//! one: `+` is a space, `%XX` a byte, pairs split on `&`, then `=`. The body length, the
//! number of pairs and every key and value are bounded before anything is stored; a key
//! sent twice is refused (which copy counts would otherwise depend on the server), and keys
//! this codec does not know are kept but ignored by the request decoders, so fields a later
//! minor version adds (the spec's versioning rule 2) do not break old servers.

use super::codes::FormError;
use super::limits::{BODY_BYTES_MAX, FIELD_COUNT_MAX, KEY_BYTES_MAX, VALUE_BYTES_MAX};

/// A decoded form: its pairs in wire order, keys unique.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

impl std::fmt::Debug for Form {
    /// Prints the keys only: values carry card numbers, tracks and PIN blocks.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.pairs.iter().map(|(key, _)| key))
            .finish()
    }
}

impl Form {
    /// Decodes a form body within the limits of [`super::limits`].
    pub fn decode(body: &[u8]) -> Result<Form, FormError> {
        if body.len() > BODY_BYTES_MAX {
            return Err(FormError::BodyTooLarge);
        }
        let mut pairs: Vec<(String, String)> = Vec::new();
        for segment in body.split(|&b| b == b'&') {
            if segment.is_empty() {
                continue;
            }
            if pairs.len() == FIELD_COUNT_MAX {
                return Err(FormError::TooManyFields);
            }
            let (raw_key, raw_value) = match segment.iter().position(|&b| b == b'=') {
                Some(at) => (&segment[..at], &segment[at + 1..]),
                None => (segment, &segment[segment.len()..]),
            };
            let key = percent_decode(raw_key, KEY_BYTES_MAX).ok_or(FormError::KeyTooLong)??;
            if key.is_empty() {
                return Err(FormError::EmptyKey);
            }
            let value = percent_decode(raw_value, VALUE_BYTES_MAX)
                .ok_or_else(|| FormError::ValueTooLong(key.clone()))??;
            if pairs.iter().any(|(seen, _)| *seen == key) {
                return Err(FormError::DuplicateKey(key));
            }
            pairs.push((key, value));
        }
        Ok(Form { pairs })
    }

    /// The value of `key`, if sent (possibly empty).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(seen, _)| seen == key)
            .map(|(_, value)| value.as_str())
    }

    /// The value of `key` if sent and not empty: the spec's nullable fields may arrive empty.
    pub fn non_empty(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|value| !value.is_empty())
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether the form has no pairs.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

/// Decodes `+` and `%XX`. `None` when the result would exceed `bytes_max`; an inner error for
/// bad escapes or non-UTF-8 text.
fn percent_decode(raw: &[u8], bytes_max: usize) -> Option<Result<String, FormError>> {
    // Decoding never lengthens the text, so the decoded size is at most `raw.len()`; the
    // check below runs on the decoded size, bounded by the body limit already.
    let mut out = Vec::with_capacity(raw.len().min(bytes_max));
    let mut index = 0;
    while index < raw.len() {
        if out.len() == bytes_max {
            return None;
        }
        match raw[index] {
            b'+' => {
                out.push(b' ');
                index += 1;
            }
            b'%' => {
                let high = raw.get(index + 1).copied().and_then(hex_value);
                let low = raw.get(index + 2).copied().and_then(hex_value);
                match (high, low) {
                    (Some(high), Some(low)) => out.push(high << 4 | low),
                    _ => return Some(Err(FormError::BadPercentEncoding)),
                }
                index += 3;
            }
            byte => {
                out.push(byte);
                index += 1;
            }
        }
    }
    Some(String::from_utf8(out).map_err(|_| FormError::NotUtf8))
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Builds a form body, percent-encoding everything outside the unreserved set.
#[derive(Debug, Default)]
pub(crate) struct FormWriter {
    body: String,
}

impl FormWriter {
    /// Appends `key=value`.
    pub(crate) fn field(&mut self, key: &str, value: &str) -> &mut Self {
        if !self.body.is_empty() {
            self.body.push('&');
        }
        encode_into(&mut self.body, key);
        self.body.push('=');
        encode_into(&mut self.body, value);
        self
    }

    /// Appends `key=value` when a value is present.
    pub(crate) fn optional(&mut self, key: &str, value: Option<&str>) -> &mut Self {
        if let Some(value) = value {
            self.field(key, value);
        }
        self
    }

    /// The finished body.
    pub(crate) fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.body).into_bytes()
    }
}

fn encode_into(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(char::from(byte))
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(char::from(HEX[usize::from(byte >> 4)]));
                out.push(char::from(HEX[usize::from(byte & 0x0f)]));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_plus_and_percent() {
        let form = Form::decode(b"a=1+2&b=%E5%BC%A0%21&c&d=").unwrap();
        assert_eq!(form.get("a"), Some("1 2"));
        assert_eq!(form.get("b"), Some("张!"));
        assert_eq!(form.get("c"), Some(""));
        assert_eq!(form.non_empty("d"), None);
        assert_eq!(form.len(), 4);
    }

    #[test]
    fn refuses_bad_forms() {
        assert_eq!(
            Form::decode(b"a=1&a=2"),
            Err(FormError::DuplicateKey("a".into()))
        );
        assert_eq!(Form::decode(b"a=%4"), Err(FormError::BadPercentEncoding));
        assert_eq!(Form::decode(b"a=%zz"), Err(FormError::BadPercentEncoding));
        assert_eq!(Form::decode(b"a=%FF"), Err(FormError::NotUtf8));
        assert_eq!(Form::decode(b"=1"), Err(FormError::EmptyKey));
        let long_key = format!("{}=1", "k".repeat(KEY_BYTES_MAX + 1));
        assert_eq!(
            Form::decode(long_key.as_bytes()),
            Err(FormError::KeyTooLong)
        );
        let many: Vec<String> = (0..=FIELD_COUNT_MAX).map(|i| format!("k{i}=1")).collect();
        assert_eq!(
            Form::decode(many.join("&").as_bytes()),
            Err(FormError::TooManyFields)
        );
        assert_eq!(
            Form::decode(&vec![b'a'; BODY_BYTES_MAX + 1]),
            Err(FormError::BodyTooLarge)
        );
    }

    #[test]
    fn writer_round_trips() {
        let body = FormWriter::default()
            .field("name", "张三 & co=1%+")
            .field("k", "")
            .finish();
        let form = Form::decode(&body).unwrap();
        assert_eq!(form.get("name"), Some("张三 & co=1%+"));
        assert_eq!(form.get("k"), Some(""));
    }

    proptest! {
        #[test]
        fn decode_never_panics(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = Form::decode(&body);
        }

        #[test]
        fn text_round_trips(value in "\\PC{0,64}") {
            let body = FormWriter::default().field("v", &value).finish();
            let form = Form::decode(&body).unwrap();
            prop_assert_eq!(form.get("v"), Some(value.as_str()));
        }
    }
}
