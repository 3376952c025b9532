//! Small validated values shared by the uploads and WJ091: venue code, room id, dates.
//!
//! They are newtypes so that a venue code cannot be passed where a voucher number is
//! expected, and so that their checks (charset, length, calendar shape) happen once, at the
//! edge. Room ids stay text because 精通 uses ids like "0010" that must not become 10.

use super::error::KtvError;
use super::limits::COMPANYCODE_CHARS_MAX;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A venue code (`companycode`, 商家编码), e.g. "01103": the key of the venue's actor.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CompanyCode(String);

impl CompanyCode {
    /// Validates a venue code: 1 to [`COMPANYCODE_CHARS_MAX`] ASCII letters, digits, `-` or `_`.
    pub fn parse(text: &str) -> Result<CompanyCode, KtvError> {
        let ok = !text.is_empty()
            && text.len() <= COMPANYCODE_CHARS_MAX
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(CompanyCode(text.to_owned()))
        } else {
            Err(KtvError::Field(format!(
                "companycode {text:?} is not a venue code"
            )))
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CompanyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for CompanyCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for CompanyCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = super::de::text(d)?;
        CompanyCode::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A room id (包厢 ID), kept as text: INT for 通娱/坚度, STR such as "0010" for 精通.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomId(String);

impl RoomId {
    /// A room id from its text.
    pub fn new(text: impl Into<String>) -> RoomId {
        RoomId(text.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The JSON to send for this id: a number when the text is a canonical integer (the
    /// spec's type-4 example sends `"roomid": 23`), else the text itself ("0010" stays
    /// "0010", which a number would lose).
    pub fn to_json(&self) -> serde_json::Value {
        let canonical = !self.0.is_empty()
            && self.0.len() <= 18
            && self.0.bytes().all(|b| b.is_ascii_digit())
            && (self.0 == "0" || !self.0.starts_with('0'));
        match self.0.parse::<i64>() {
            Ok(n) if canonical => serde_json::Value::from(n),
            _ => serde_json::Value::String(self.0.clone()),
        }
    }
}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for RoomId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for RoomId {
    /// Refuses an empty id (and null); where the id is optional, see [`opt_room_id`].
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = super::de::text(d)?;
        if text.trim().is_empty() {
            return Err(serde::de::Error::custom("room id is empty"));
        }
        Ok(RoomId(text))
    }
}

/// `deserialize_with` for an optional room id: absent, null or "" is `None`.
pub(crate) fn opt_room_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<RoomId>, D::Error> {
    let text = super::de::text(d)?;
    Ok((!text.trim().is_empty()).then_some(RoomId(text)))
}

/// A business day (营业日), `yyyy-MM-dd`.
///
/// The spec's table says `yyyy-MM-dd` while its example sends "2022-10-09 00:00:00": a time
/// part after the date is accepted and dropped.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BusinessDate(String);

impl BusinessDate {
    /// Parses `yyyy-MM-dd`, optionally followed by a space and a time.
    pub fn parse(text: &str) -> Result<BusinessDate, KtvError> {
        let bad = || KtvError::Field(format!("{text:?} is not a yyyy-MM-dd date"));
        let date = match text.split_once(' ') {
            Some((date, time)) if time.len() <= 12 => date,
            Some(_) => return Err(bad()),
            None => text,
        };
        let b = date.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(bad());
        }
        let number = |range: std::ops::Range<usize>| -> Option<u32> {
            let part = date.get(range)?;
            if part.bytes().all(|c| c.is_ascii_digit()) {
                part.parse().ok()
            } else {
                None
            }
        };
        match (number(0..4), number(5..7), number(8..10)) {
            (Some(y), Some(m), Some(d))
                if y >= 1970 && (1..=12).contains(&m) && (1..=31).contains(&d) =>
            {
                Ok(BusinessDate(date.to_owned()))
            }
            _ => Err(bad()),
        }
    }

    /// The date as `yyyy-MM-dd`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BusinessDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for BusinessDate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for BusinessDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = super::de::text(d)?;
        BusinessDate::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A time of day `HH:mm:ss` (opening and closing times).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClockTime {
    /// Hour, 0-23.
    pub hour: u8,
    /// Minute, 0-59.
    pub minute: u8,
    /// Second, 0-59.
    pub second: u8,
}

impl ClockTime {
    /// Parses `HH:mm:ss`.
    pub fn parse(text: &str) -> Result<ClockTime, KtvError> {
        let bad = || KtvError::Field(format!("{text:?} is not a HH:mm:ss time"));
        let b = text.as_bytes();
        if b.len() != 8 || b[2] != b':' || b[5] != b':' {
            return Err(bad());
        }
        let two = |i: usize| -> Option<u8> {
            let (h, l) = (*b.get(i)?, *b.get(i + 1)?);
            if h.is_ascii_digit() && l.is_ascii_digit() {
                Some((h - b'0') * 10 + (l - b'0'))
            } else {
                None
            }
        };
        match (two(0), two(3), two(6)) {
            (Some(hour), Some(minute), Some(second)) if hour < 24 && minute < 60 && second < 60 => {
                Ok(ClockTime {
                    hour,
                    minute,
                    second,
                })
            }
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}:{:02}", self.hour, self.minute, self.second)
    }
}

impl Serialize for ClockTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for ClockTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = super::de::text(d)?;
        ClockTime::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn company_codes() {
        assert_eq!(
            CompanyCode::parse("01103").map(|c| c.to_string()),
            Ok("01103".to_owned())
        );
        assert!(CompanyCode::parse("").is_err());
        assert!(CompanyCode::parse("01 103").is_err());
        assert!(CompanyCode::parse(&"1".repeat(COMPANYCODE_CHARS_MAX + 1)).is_err());
    }

    #[test]
    fn room_ids_keep_leading_zeros() {
        assert_eq!(RoomId::new("0010").to_json(), serde_json::json!("0010"));
        assert_eq!(RoomId::new("23").to_json(), serde_json::json!(23));
        assert_eq!(RoomId::new("0").to_json(), serde_json::json!(0));
        assert_eq!(RoomId::new("K1").to_json(), serde_json::json!("K1"));
    }

    #[test]
    fn dates_and_times() {
        assert_eq!(
            BusinessDate::parse("2022-10-09").map(|d| d.to_string()),
            Ok("2022-10-09".to_owned())
        );
        assert_eq!(
            BusinessDate::parse("2022-10-09 00:00:00").map(|d| d.to_string()),
            Ok("2022-10-09".to_owned())
        );
        for bad in [
            "",
            "2022-13-01",
            "2022-1-01",
            "20221009",
            "2022-10-0x",
            "2022-10-09 xxxxxxxxxxxxxxxxxx",
        ] {
            assert!(BusinessDate::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            ClockTime::parse("03:00:00").map(|t| t.to_string()),
            Ok("03:00:00".to_owned())
        );
        for bad in [
            "24:00:00",
            "3:00:00",
            "03:00",
            "03:60:00",
            "0a:00:00",
            "03:00:00,",
        ] {
            assert!(ClockTime::parse(bad).is_err(), "{bad}");
        }
    }
}
