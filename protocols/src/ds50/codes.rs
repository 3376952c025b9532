//! The DS50 response-code table (`acqResponseCode` of the sale reply, `respCode` of the
//! transaction-details reply) and the codec's error type.
//!
//! The spec only shows `"00"` (approved), and says the reply carries an ISO-8583-like
//! acquirer response code. The table below therefore keeps the ISO 8583 (field 39) meaning
//! for every numeric code, so that a code means the same thing here as on every acquirer
//! the device firmware was written against. Two conditions have no ISO code and get
//! posgate codes in a separate `P` range (field 39 is alphanumeric, `an 2`): an expired API
//! key and a full mailbox ("busy, retry"). The table is written once, in one macro
//! invocation, so the enum, the wire strings and the texts cannot drift apart; a test checks
//! that no wire string is used twice.
//!
//! Every refusal of the codec ([`Ds50Error`]) maps to one code through an exhaustive match.
//! None maps to `00`.

use crate::money::AmountError;

macro_rules! response_table {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, $text:literal; )+) => {
        /// A DS50 response code (`acqResponseCode` / `respCode`) and its description.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ResponseCode {
            $( $(#[$doc])* $variant, )+
        }

        impl ResponseCode {
            /// Every code of the table, in table order.
            pub const ALL: &'static [ResponseCode] = &[ $( ResponseCode::$variant, )+ ];

            /// The wire code, e.g. `"00"`, `"51"`, `"P2"`.
            pub const fn as_str(self) -> &'static str {
                match self { $( ResponseCode::$variant => $code, )+ }
            }

            /// What the code means (English, for logs and the admin API).
            pub const fn description(self) -> &'static str {
                match self { $( ResponseCode::$variant => $text, )+ }
            }
        }
    };
}

response_table! {
    /// 00 (spec): approved / query succeeded.
    Approved = "00", "approved";
    /// 03 (ISO): the device serial number is not registered with posgate.
    InvalidMerchant = "03", "unknown device or merchant";
    /// 05 (ISO): do not honour (generic decline decided by posgate's rules).
    DoNotHonour = "05", "do not honour";
    /// 12 (ISO): transaction or payment type the gateway does not support.
    InvalidTransaction = "12", "invalid transaction";
    /// 13 (ISO): amount malformed, zero, or above the accepted maximum.
    InvalidAmount = "13", "invalid amount";
    /// 14 (ISO): track 2 / card number malformed or inconsistent with `cardNo`.
    InvalidCardNumber = "14", "invalid card number";
    /// 30 (ISO): malformed request (not JSON, missing or badly typed field).
    FormatError = "30", "format error";
    /// 51 (ISO): insufficient funds.
    InsufficientFunds = "51", "insufficient funds";
    /// 54 (ISO): expired card.
    ExpiredCard = "54", "expired card";
    /// 55 (ISO): incorrect PIN.
    IncorrectPin = "55", "incorrect PIN";
    /// 56 (ISO): no card record (unknown card).
    NoCardRecord = "56", "no card record";
    /// 57 (ISO): transaction not permitted to the cardholder (card blocked, lost...).
    NotPermittedToCardholder = "57", "transaction not permitted to cardholder";
    /// 61 (ISO): exceeds an amount limit (single or daily).
    ExceedsAmountLimit = "61", "exceeds amount limit";
    /// 63 (ISO): security violation (missing or wrong API key).
    SecurityViolation = "63", "security violation";
    /// 65 (ISO): exceeds a frequency limit (daily count).
    ExceedsFrequencyLimit = "65", "exceeds frequency limit";
    /// 91 (ISO): the ledger or store is unavailable; the device may retry.
    IssuerUnavailable = "91", "issuer or switch inoperative";
    /// 94 (ISO): duplicate transmission: the trace identity (device, batch, trace) was used
    /// before with other content (another date, time, card or amount).
    DuplicateTransmission = "94", "duplicate transmission";
    /// 96 (ISO): system malfunction (an internal error in posgate).
    SystemMalfunction = "96", "system malfunction";
    /// P1 (posgate): the device's API key is past its `pgw_api_key_expiry`; it needs a new
    /// `posparam.ini` pushed through TMS.
    ApiKeyExpired = "P1", "API key expired";
    /// P2 (posgate): busy, retry: the device's actor mailbox is full.
    Busy = "P2", "busy, retry later";
}

impl ResponseCode {
    /// Looks a wire code up in the table.
    pub fn from_wire(code: &str) -> Option<ResponseCode> {
        ResponseCode::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == code)
    }

    /// Whether the code approves (only `00`).
    pub const fn is_approved(self) -> bool {
        matches!(self, ResponseCode::Approved)
    }
}

/// Why a DS50 message (or a `posparam.ini`, or a topic) was refused.
///
/// Variants never carry wire values, only field names: a refused track 2 or PIN block
/// must not reach a log line through an error message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Ds50Error {
    /// The message is longer than the decoder's byte limit.
    #[error("message is {bytes} bytes, more than {max}")]
    TooLarge {
        /// Size received.
        bytes: usize,
        /// Limit that applied.
        max: usize,
    },
    /// JSON nested deeper than the message's shape allows.
    #[error("JSON nested deeper than {max} levels")]
    TooDeep {
        /// Limit that applied.
        max: usize,
    },
    /// Not valid JSON (position of the first error only, never the content).
    #[error("invalid JSON at line {line} column {column}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// Valid JSON, but not an object where an object was expected.
    #[error("{0}: expected a JSON object")]
    NotObject(&'static str),
    /// A required field is absent or null.
    #[error("missing field {0}")]
    Missing(&'static str),
    /// A field has the wrong JSON type (e.g. a number where a string is required).
    #[error("field {0} has the wrong JSON type")]
    WrongType(&'static str),
    /// A field is present and typed right but its value breaks the spec's rules.
    #[error("field {field} is invalid: {reason}")]
    Invalid {
        /// Wire name of the field.
        field: &'static str,
        /// Which rule was broken.
        reason: &'static str,
    },
    /// The amount is not a valid decimal amount.
    #[error("field {field}: {source}")]
    Amount {
        /// Wire name of the field.
        field: &'static str,
        /// The money parser's reason.
        source: AmountError,
    },
    /// A sale of zero.
    #[error("amount is zero")]
    ZeroAmount,
    /// `transAmount` is not yuan with exactly two decimals (`6666` could be cents).
    #[error("transAmount is not yuan with exactly two decimals")]
    AmountNotTwoDecimals,
    /// `transAmount` disagrees with the amount of the EMV data (tag `9F02`).
    #[error("transAmount disagrees with the EMV amount (9F02)")]
    AmountMismatch,
    /// `transType` other than the ones the spec defines.
    #[error("unsupported transType")]
    UnsupportedTransType,
    /// `payType` other than `CARD`.
    #[error("unsupported payType")]
    UnsupportedPayType,
    /// Track 2 or card number malformed.
    #[error("invalid card data: {0}")]
    InvalidCard(&'static str),
    /// `cardNo` does not show the first 6 / last 4 digits of the PAN in track 2.
    #[error("cardNo does not match the PAN of track2")]
    CardMismatch,
}

impl Ds50Error {
    /// The response code a device gets for this refusal.
    pub fn code(&self) -> ResponseCode {
        match self {
            Ds50Error::TooLarge { .. }
            | Ds50Error::TooDeep { .. }
            | Ds50Error::Syntax { .. }
            | Ds50Error::NotObject(_)
            | Ds50Error::Missing(_)
            | Ds50Error::WrongType(_)
            | Ds50Error::Invalid { .. } => ResponseCode::FormatError,
            Ds50Error::Amount { .. }
            | Ds50Error::ZeroAmount
            | Ds50Error::AmountNotTwoDecimals
            | Ds50Error::AmountMismatch => ResponseCode::InvalidAmount,
            Ds50Error::UnsupportedTransType | Ds50Error::UnsupportedPayType => {
                ResponseCode::InvalidTransaction
            }
            Ds50Error::InvalidCard(_) | Ds50Error::CardMismatch => ResponseCode::InvalidCardNumber,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn table_has_no_duplicate_codes() {
        let mut seen = HashSet::new();
        for code in ResponseCode::ALL {
            assert!(seen.insert(code.as_str()), "duplicate {}", code.as_str());
            assert_eq!(code.as_str().len(), 2);
            assert!(!code.description().is_empty());
            assert_eq!(ResponseCode::from_wire(code.as_str()), Some(*code));
        }
        assert_eq!(ResponseCode::from_wire("ZZ"), None);
    }

    #[test]
    fn spec_codes_keep_their_strings() {
        assert_eq!(ResponseCode::Approved.as_str(), "00");
        assert_eq!(ResponseCode::InsufficientFunds.as_str(), "51");
        assert!(ResponseCode::Approved.is_approved());
        assert!(!ResponseCode::Busy.is_approved());
    }

    #[test]
    fn no_error_maps_to_approved() {
        let errors = [
            Ds50Error::TooLarge { bytes: 1, max: 0 },
            Ds50Error::TooDeep { max: 1 },
            Ds50Error::Syntax { line: 1, column: 1 },
            Ds50Error::NotObject("x"),
            Ds50Error::Missing("x"),
            Ds50Error::WrongType("x"),
            Ds50Error::Invalid {
                field: "x",
                reason: "y",
            },
            Ds50Error::Amount {
                field: "x",
                source: AmountError::Empty,
            },
            Ds50Error::ZeroAmount,
            Ds50Error::AmountNotTwoDecimals,
            Ds50Error::AmountMismatch,
            Ds50Error::UnsupportedTransType,
            Ds50Error::UnsupportedPayType,
            Ds50Error::InvalidCard("x"),
            Ds50Error::CardMismatch,
        ];
        for error in errors {
            assert_ne!(error.code(), ResponseCode::Approved);
        }
    }
}
