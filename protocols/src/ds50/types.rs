//! Validated scalar types of the DS50 messages: serial number, dates and times, batch and
//! trace numbers, card organisation, transaction and pay types, authorisation codes.
//!
//! Each wire string becomes a type that can only hold a valid value, so the code after the
//! decoder never re-checks a format, and each type formats itself back exactly as the
//! device sends it (zero-padded six-digit batch numbers, `YYYY-MM-DD` dates...).

use super::codes::Ds50Error;
use super::json::{is_hex, parse_u32_digits};
use super::limits::{AUTH_CODE_CHARS_MAX, DEVICE_SN_CHARS_MAX, EMV_DATA_HEX_CHARS_MAX};
use std::fmt;

/// A device serial number (`deviceSn`, e.g. `S20A1012574P0002`).
///
/// ASCII letters, digits, `-` and `_` only, 1 to [`DEVICE_SN_CHARS_MAX`] characters: it is
/// used in MQTT topics (no `/`, `+`, `#`) and in idempotency keys (no `:`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceSn(String);

impl DeviceSn {
    /// Validates a serial number.
    pub fn parse(text: &str) -> Result<DeviceSn, Ds50Error> {
        let ok = !text.is_empty()
            && text.len() <= DEVICE_SN_CHARS_MAX
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(DeviceSn(text.to_owned()))
        } else {
            Err(Ds50Error::Invalid {
                field: "deviceSn",
                reason: "not 1 to 32 letters, digits, '-' or '_'",
            })
        }
    }

    /// The serial number as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DeviceSn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A calendar date (`date` as `YYYY-MM-DD`, `pgw_api_key_expiry` as `YYYYMMDD`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WireDate {
    year: u16,
    month: u8,
    day: u8,
}

impl WireDate {
    /// Builds a date, checking the day exists (leap years included). Years 1970 to 9999.
    pub fn new(year: u16, month: u8, day: u8) -> Option<WireDate> {
        if !(1970..=9999).contains(&year) || !(1..=12).contains(&month) || day == 0 {
            return None;
        }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = match month {
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => 31,
        };
        (day <= days).then_some(WireDate { year, month, day })
    }

    /// Parses `YYYY-MM-DD` (the device's `date`).
    pub fn parse_dashed(text: &str, field: &'static str) -> Result<WireDate, Ds50Error> {
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return Err(bad_date(field));
        }
        Self::from_parts(&text[0..4], &text[5..7], &text[8..10], field)
    }

    /// Parses `YYYYMMDD` (`pgw_api_key_expiry`).
    pub fn parse_compact(text: &str, field: &'static str) -> Result<WireDate, Ds50Error> {
        if text.len() != 8 || !text.is_ascii() {
            return Err(bad_date(field));
        }
        Self::from_parts(&text[0..4], &text[4..6], &text[6..8], field)
    }

    fn from_parts(
        year: &str,
        month: &str,
        day: &str,
        field: &'static str,
    ) -> Result<WireDate, Ds50Error> {
        let year = parse_u32_digits(year, field).map_err(|_| bad_date(field))?;
        let month = parse_u32_digits(month, field).map_err(|_| bad_date(field))?;
        let day = parse_u32_digits(day, field).map_err(|_| bad_date(field))?;
        let (Ok(year), Ok(month), Ok(day)) =
            (u16::try_from(year), u8::try_from(month), u8::try_from(day))
        else {
            return Err(bad_date(field));
        };
        WireDate::new(year, month, day).ok_or_else(|| bad_date(field))
    }

    /// Year, month (1-12), day (1-31).
    pub fn parts(self) -> (u16, u8, u8) {
        (self.year, self.month, self.day)
    }

    /// `YYYY-MM-DD`.
    pub fn to_dashed(self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// `YYYYMMDD`.
    pub fn to_compact(self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }
}

fn bad_date(field: &'static str) -> Ds50Error {
    Ds50Error::Invalid {
        field,
        reason: "not a valid calendar date",
    }
}

/// A time of day (`time` as `HH:MM:SS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WireTime {
    hour: u8,
    minute: u8,
    second: u8,
}

impl WireTime {
    /// Builds a time of day (no leap second).
    pub fn new(hour: u8, minute: u8, second: u8) -> Option<WireTime> {
        (hour < 24 && minute < 60 && second < 60).then_some(WireTime {
            hour,
            minute,
            second,
        })
    }

    /// Parses `HH:MM:SS`.
    pub fn parse(text: &str, field: &'static str) -> Result<WireTime, Ds50Error> {
        let bad = || Ds50Error::Invalid {
            field,
            reason: "not a valid HH:MM:SS time",
        };
        let bytes = text.as_bytes();
        if bytes.len() != 8 || bytes[2] != b':' || bytes[5] != b':' {
            return Err(bad());
        }
        let mut parts = [0u8; 3];
        for (slot, range) in parts.iter_mut().zip([0..2, 3..5, 6..8]) {
            let value = parse_u32_digits(&text[range], field).map_err(|_| bad())?;
            *slot = u8::try_from(value).map_err(|_| bad())?;
        }
        WireTime::new(parts[0], parts[1], parts[2]).ok_or_else(bad)
    }

    /// `HH:MM:SS`.
    pub fn to_wire(self) -> String {
        format!("{:02}:{:02}:{:02}", self.hour, self.minute, self.second)
    }
}

/// A date and time as the details reply carries it (`transDatetime`, `YYYY-MM-DD HH:MM:SS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WireDateTime {
    /// The date.
    pub date: WireDate,
    /// The time of day.
    pub time: WireTime,
}

impl WireDateTime {
    /// Parses `YYYY-MM-DD HH:MM:SS`.
    pub fn parse(text: &str, field: &'static str) -> Result<WireDateTime, Ds50Error> {
        if text.len() != 19 || !text.is_ascii() || text.as_bytes()[10] != b' ' {
            return Err(Ds50Error::Invalid {
                field,
                reason: "not YYYY-MM-DD HH:MM:SS",
            });
        }
        Ok(WireDateTime {
            date: WireDate::parse_dashed(&text[..10], field)?,
            time: WireTime::parse(&text[11..], field)?,
        })
    }

    /// `YYYY-MM-DD HH:MM:SS`.
    pub fn to_wire(self) -> String {
        format!("{} {}", self.date.to_dashed(), self.time.to_wire())
    }
}

macro_rules! six_digit_number {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(u32);

        impl $name {
            /// Largest value (six digits).
            pub const MAX: u32 = 999_999;

            /// Builds from a number, at most [`Self::MAX`].
            pub fn new(value: u32) -> Option<$name> {
                (value <= Self::MAX).then_some($name(value))
            }

            /// Parses exactly six ASCII digits.
            pub fn parse(text: &str) -> Result<$name, Ds50Error> {
                if text.len() != 6 {
                    return Err(Ds50Error::Invalid { field: $field, reason: "not six digits" });
                }
                parse_u32_digits(text, $field).map($name)
            }

            /// The number.
            pub fn get(self) -> u32 {
                self.0
            }

            /// Six zero-padded digits, as on the wire.
            pub fn to_wire(self) -> String {
                format!("{:06}", self.0)
            }
        }
    };
}

six_digit_number!(
    /// The terminal's batch number (`batchNo`, six digits, e.g. `000000`).
    BatchNo,
    "batchNo"
);
six_digit_number!(
    /// The terminal's trace (voucher) number (`traceNo`, six digits, e.g. `000001`).
    TraceNo,
    "traceNo"
);

/// The card organisation (`cardOrg`). Informational: an organisation the table does not
/// know is kept as sent instead of refusing the sale.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CardOrg {
    /// `VISA`.
    Visa,
    /// `MASTERCARD`.
    Mastercard,
    /// `UNIONPAY` (also accepted: `CUP`).
    UnionPay,
    /// `AMEX`.
    Amex,
    /// `JCB`.
    Jcb,
    /// `DISCOVER`.
    Discover,
    /// Anything else, as sent (validated: printable, at most 32 characters).
    Other(String),
}

impl CardOrg {
    /// Reads a `cardOrg` (case-insensitive for the known names).
    pub fn parse(text: &str) -> Result<CardOrg, Ds50Error> {
        let upper = text.to_ascii_uppercase();
        Ok(match upper.as_str() {
            "VISA" => CardOrg::Visa,
            "MASTERCARD" | "MASTER" => CardOrg::Mastercard,
            "UNIONPAY" | "CUP" => CardOrg::UnionPay,
            "AMEX" => CardOrg::Amex,
            "JCB" => CardOrg::Jcb,
            "DISCOVER" => CardOrg::Discover,
            _ => CardOrg::Other(super::json::text(
                text,
                "cardOrg",
                super::limits::SHORT_TEXT_CHARS_MAX,
            )?),
        })
    }

    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            CardOrg::Visa => "VISA",
            CardOrg::Mastercard => "MASTERCARD",
            CardOrg::UnionPay => "UNIONPAY",
            CardOrg::Amex => "AMEX",
            CardOrg::Jcb => "JCB",
            CardOrg::Discover => "DISCOVER",
            CardOrg::Other(name) => name,
        }
    }
}

/// The transaction type (`transType` of the sale request and of the details entries).
/// The spec defines only `SALE`; `REVERSAL` is posgate's extension for a box that declines
/// after posgate approved (the card refused the issuer's answer, the reply was lost).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransType {
    /// `SALE`.
    Sale,
    /// `REVERSAL` (also accepted: `VOID`): undo the sale of the same device, batch and trace.
    Reversal,
}

impl TransType {
    /// Reads a `transType`.
    pub fn parse(text: &str) -> Result<TransType, Ds50Error> {
        match text {
            "SALE" => Ok(TransType::Sale),
            "REVERSAL" | "VOID" => Ok(TransType::Reversal),
            _ => Err(Ds50Error::UnsupportedTransType),
        }
    }

    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            TransType::Sale => "SALE",
            TransType::Reversal => "REVERSAL",
        }
    }
}

/// The payment type (`payType`). The spec defines only `CARD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PayType {
    /// `CARD`.
    Card,
}

impl PayType {
    /// Reads a `payType`.
    pub fn parse(text: &str) -> Result<PayType, Ds50Error> {
        match text {
            "CARD" => Ok(PayType::Card),
            _ => Err(Ds50Error::UnsupportedPayType),
        }
    }

    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            PayType::Card => "CARD",
        }
    }
}

/// An acquirer authorisation code (`acqAuthCode`): 1 to [`AUTH_CODE_CHARS_MAX`] ASCII
/// letters or digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AuthCode(String);

impl AuthCode {
    /// Validates an authorisation code.
    pub fn parse(text: &str) -> Result<AuthCode, Ds50Error> {
        let ok = !text.is_empty()
            && text.len() <= AUTH_CODE_CHARS_MAX
            && text.bytes().all(|b| b.is_ascii_alphanumeric());
        if ok {
            Ok(AuthCode(text.to_owned()))
        } else {
            Err(Ds50Error::Invalid {
                field: "acqAuthCode",
                reason: "not 1 to 12 letters or digits",
            })
        }
    }

    /// The code as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// EMV data posgate sends back in a sale reply (`emvData`: issuer authentication data,
/// issuer scripts). Hex, even length, at most [`EMV_DATA_HEX_CHARS_MAX`]; not cardholder data,
/// so it is not masked.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ReplyEmvData(String);

impl ReplyEmvData {
    /// Validates reply EMV data (upper-cased).
    pub fn parse(text: &str) -> Result<ReplyEmvData, Ds50Error> {
        if text.is_empty()
            || text.len() > EMV_DATA_HEX_CHARS_MAX
            || text.len() % 2 != 0
            || !is_hex(text)
        {
            return Err(Ds50Error::Invalid {
                field: "emvData",
                reason: "not an even-length hex string of at most 1024 characters",
            });
        }
        Ok(ReplyEmvData(text.to_ascii_uppercase()))
    }

    /// The hex string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        let date = WireDate::parse_dashed("2025-12-15", "date").unwrap();
        assert_eq!(date.to_dashed(), "2025-12-15");
        assert_eq!(date.to_compact(), "20251215");
        assert_eq!(
            WireDate::parse_compact("20261231", "x").unwrap().parts(),
            (2026, 12, 31)
        );
        assert!(WireDate::parse_dashed("2024-02-29", "d").is_ok());
        for bad in [
            "2025-02-29",
            "2025-13-01",
            "2025-00-10",
            "2025-1-15",
            "25-12-15",
            "2025/12/15",
            "２０２５-12-1",
        ] {
            assert!(WireDate::parse_dashed(bad, "d").is_err(), "{bad}");
        }
        assert!(WireDate::parse_compact("2026123", "x").is_err());
        assert!(WireDate::parse_compact("2026é231", "x").is_err());
    }

    #[test]
    fn times_and_numbers() {
        assert_eq!(
            WireTime::parse("15:50:23", "time").unwrap().to_wire(),
            "15:50:23"
        );
        assert!(WireTime::parse("24:00:00", "time").is_err());
        assert!(WireTime::parse("12:60:00", "time").is_err());
        assert!(WireTime::parse("1:50:23", "time").is_err());
        let dt = WireDateTime::parse("2023-11-24 13:25:10", "transDatetime").unwrap();
        assert_eq!(dt.to_wire(), "2023-11-24 13:25:10");
        assert_eq!(BatchNo::parse("000000").unwrap().get(), 0);
        assert_eq!(TraceNo::parse("000001").unwrap().to_wire(), "000001");
        assert!(TraceNo::parse("1").is_err());
        assert!(TraceNo::parse("00000a").is_err());
        assert_eq!(TraceNo::new(1_000_000), None);
    }

    #[test]
    fn device_sn_and_codes() {
        assert!(DeviceSn::parse("S20A1012574P0002").is_ok());
        for bad in ["", "a/b", "a+b", "a#", "a:b", "x".repeat(33).as_str()] {
            assert!(DeviceSn::parse(bad).is_err());
        }
        assert_eq!(CardOrg::parse("visa").unwrap(), CardOrg::Visa);
        assert_eq!(CardOrg::parse("RUPAY").unwrap().as_str(), "RUPAY");
        assert!(AuthCode::parse("1234567890").is_ok());
        assert!(AuthCode::parse("").is_err());
        assert!(ReplyEmvData::parse("9F2608").is_ok());
        assert!(ReplyEmvData::parse("9F260").is_err());
    }
}
