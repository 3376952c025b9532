//! Exact money: integer minor units (fen, 1/100 yuan) and the one converter per wire format.
//!
//! Every protocol carries amounts its own way: the MQTT POS machines send fen integers, jpos
//! and DS50 send decimal yuan strings ("1234.50", "66.66"), DS50 details and broadcasts use
//! cent strings. All of them meet in [`Fen`], an `i64` newtype with checked arithmetic and no
//! conversion from floating point. `rust_decimal` is used only here, to parse and format the
//! decimal forms, so a wire amount with a third decimal, an exponent or a sign where none is
//! allowed is refused instead of being rounded.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Largest amount, in fen, accepted from any wire format: 10^12 fen (10 billion yuan).
///
/// Far above any single payment, and far below `i64::MAX`, so that sums of many amounts
/// (daily totals, batch totals) cannot overflow in practice; arithmetic stays checked anyway.
pub const AMOUNT_FEN_MAX: i64 = 1_000_000_000_000;

/// An amount of money in fen (minor units, 1/100 yuan). May be negative (debts, postings).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Fen(pub i64);

/// Why a wire amount was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// Empty string where an amount was required.
    #[error("amount is empty")]
    Empty,
    /// Not a plain decimal number (exponents, signs, spaces, letters...).
    #[error("amount is not a plain decimal number")]
    Syntax,
    /// More fraction digits than the format allows (yuan: 2).
    #[error("amount has more than {0} decimal places")]
    TooPrecise(u32),
    /// Negative where only positive or zero amounts are allowed.
    #[error("amount is negative")]
    Negative,
    /// Above [`AMOUNT_FEN_MAX`].
    #[error("amount is too large")]
    TooLarge,
}

impl Fen {
    /// Zero fen.
    pub const ZERO: Fen = Fen(0);

    /// The raw number of fen.
    pub const fn get(self) -> i64 {
        self.0
    }

    /// Checked addition.
    pub fn checked_add(self, other: Fen) -> Option<Fen> {
        self.0.checked_add(other.0).map(Fen)
    }

    /// Checked subtraction.
    pub fn checked_sub(self, other: Fen) -> Option<Fen> {
        self.0.checked_sub(other.0).map(Fen)
    }

    /// Checked negation.
    pub fn checked_neg(self) -> Option<Fen> {
        self.0.checked_neg().map(Fen)
    }

    /// Parses a yuan amount as jpos and DS50 send it: digits, optionally a point and at most
    /// two fraction digits ("66.66", "12", "0.5"). No sign, exponent, spaces or thousands
    /// separators; at most [`AMOUNT_FEN_MAX`].
    pub fn parse_yuan(text: &str) -> Result<Fen, AmountError> {
        if text.is_empty() {
            return Err(AmountError::Empty);
        }
        if text.len() > 24 {
            return Err(AmountError::TooLarge);
        }
        if text.starts_with('-') {
            return Err(AmountError::Negative);
        }
        if !is_plain_decimal(text) {
            return Err(AmountError::Syntax);
        }
        let value = Decimal::from_str(text).map_err(|_| AmountError::Syntax)?;
        Fen::from_yuan_decimal(value)
    }

    /// Converts a non-negative yuan value to fen: at most two decimals (as the value is
    /// scaled: `20.000` is refused unless the caller normalises it first), at most
    /// [`AMOUNT_FEN_MAX`]. Shared by the yuan parsers of jpos, DS50 and Pospal.
    pub(crate) fn from_yuan_decimal(value: Decimal) -> Result<Fen, AmountError> {
        if value.scale() > 2 {
            return Err(AmountError::TooPrecise(2));
        }
        let fen = value
            .checked_mul(Decimal::ONE_HUNDRED)
            .ok_or(AmountError::TooLarge)?
            .normalize();
        let fen = i64::try_from(fen.mantissa()).map_err(|_| AmountError::TooLarge)?;
        if fen > AMOUNT_FEN_MAX {
            return Err(AmountError::TooLarge);
        }
        Ok(Fen(fen))
    }

    /// Parses a non-negative integer count of fen sent as a string ("6666" for 66.66 yuan).
    pub fn parse_cents(text: &str) -> Result<Fen, AmountError> {
        if text.is_empty() {
            return Err(AmountError::Empty);
        }
        if text.starts_with('-') {
            return Err(AmountError::Negative);
        }
        if !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AmountError::Syntax);
        }
        if text.len() > 13 {
            return Err(AmountError::TooLarge);
        }
        let fen: i64 = text.parse().map_err(|_| AmountError::Syntax)?;
        Fen::from_wire_fen(fen)
    }

    /// Accepts a fen integer from the wire (MQTT POS): non-negative and at most
    /// [`AMOUNT_FEN_MAX`].
    pub fn from_wire_fen(fen: i64) -> Result<Fen, AmountError> {
        if fen < 0 {
            Err(AmountError::Negative)
        } else if fen > AMOUNT_FEN_MAX {
            Err(AmountError::TooLarge)
        } else {
            Ok(Fen(fen))
        }
    }

    /// Yuan with exactly two decimals, as jpos and DS50 replies carry them ("1234.50").
    pub fn to_yuan_string(self) -> String {
        Decimal::new(self.0, 2).to_string()
    }

    /// Yuan as a decimal value (scale 2).
    pub fn to_decimal_yuan(self) -> Decimal {
        Decimal::new(self.0, 2)
    }

    /// Fen as a decimal integer string ("6666"), the DS50 cents format.
    pub fn to_cents_string(self) -> String {
        self.0.to_string()
    }
}

/// Whether `text` is a plain unsigned decimal as the wire formats write amounts: ASCII
/// digits with at most one point, neither first nor last (`12`, `0.5`, `76.21`). No sign,
/// exponent, space or separator. The empty text passes: callers check emptiness and length
/// first, each with its own error. Shared by the yuan parsers here, Pospal's and KTV's.
pub(crate) fn is_plain_decimal(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && text.bytes().filter(|&b| b == b'.').count() <= 1
        && !text.starts_with('.')
        && !text.ends_with('.')
}

impl fmt::Display for Fen {
    /// Displays as yuan with two decimals.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_yuan_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_yuan() {
        assert_eq!(Fen::parse_yuan("66.66"), Ok(Fen(6666)));
        assert_eq!(Fen::parse_yuan("12"), Ok(Fen(1200)));
        assert_eq!(Fen::parse_yuan("0.5"), Ok(Fen(50)));
        assert_eq!(Fen::parse_yuan("0.00"), Ok(Fen(0)));
        assert_eq!(Fen::parse_yuan("1234.50"), Ok(Fen(123450)));
        assert_eq!(Fen::parse_yuan("10000000000"), Ok(Fen(AMOUNT_FEN_MAX)));
    }

    #[test]
    fn refuses_bad_yuan() {
        assert_eq!(Fen::parse_yuan(""), Err(AmountError::Empty));
        assert_eq!(Fen::parse_yuan("12.345"), Err(AmountError::TooPrecise(2)));
        assert_eq!(Fen::parse_yuan("-1"), Err(AmountError::Negative));
        assert_eq!(Fen::parse_yuan("1e9"), Err(AmountError::Syntax));
        assert_eq!(Fen::parse_yuan(" 1"), Err(AmountError::Syntax));
        assert_eq!(Fen::parse_yuan("1."), Err(AmountError::Syntax));
        assert_eq!(Fen::parse_yuan(".5"), Err(AmountError::Syntax));
        assert_eq!(Fen::parse_yuan("1.2.3"), Err(AmountError::Syntax));
        assert_eq!(Fen::parse_yuan("+1"), Err(AmountError::Syntax));
        assert_eq!(
            Fen::parse_yuan("10000000000.01"),
            Err(AmountError::TooLarge)
        );
        assert_eq!(
            Fen::parse_yuan("99999999999999999999999999999"),
            Err(AmountError::TooLarge)
        );
    }

    #[test]
    fn cents_and_fen() {
        assert_eq!(Fen::parse_cents("6666"), Ok(Fen(6666)));
        assert_eq!(Fen::parse_cents("-1"), Err(AmountError::Negative));
        assert_eq!(Fen::parse_cents("1.0"), Err(AmountError::Syntax));
        assert_eq!(Fen::from_wire_fen(-5), Err(AmountError::Negative));
        assert_eq!(Fen(6666).to_cents_string(), "6666");
    }

    #[test]
    fn formats_yuan() {
        assert_eq!(Fen(123450).to_yuan_string(), "1234.50");
        assert_eq!(Fen(5).to_yuan_string(), "0.05");
        assert_eq!(Fen(-5).to_yuan_string(), "-0.05");
        assert_eq!(Fen(0).to_string(), "0.00");
    }

    proptest! {
        #[test]
        fn yuan_round_trips(fen in 0i64..=AMOUNT_FEN_MAX) {
            prop_assert_eq!(Fen::parse_yuan(&Fen(fen).to_yuan_string()), Ok(Fen(fen)));
        }

        #[test]
        fn parse_yuan_never_panics(text in ".{0,40}") {
            let _ = Fen::parse_yuan(&text);
            let _ = Fen::parse_cents(&text);
        }
    }
}
