//! Primary account numbers: the one rule for what a PAN is and the one way to mask it.
//!
//! DS50 (`Pan`, track 2), jpos (`cardNo` on receipts) and the card index of the actors
//! crate each validated and masked card numbers on their own. The rule is ISO/IEC 7812's:
//! 12 to 19 ASCII digits, the Luhn digit not checked (test cards and closed-loop cards
//! often fail it). The mask is the one posgate shows everywhere: the first 6 digits (the
//! BIN), `****`, the last 4. Rules that differ per protocol stay with the protocol: jpos
//! accepts 4..=32 letters or digits as a card number and masks short loyalty numbers its
//! own way; DS50 accepts the device's own masked form (`451461********2125`).

/// Shortest PAN, in digits (ISO/IEC 7812).
pub const PAN_DIGITS_MIN: usize = 12;
/// Longest PAN, in digits (ISO/IEC 7812).
pub const PAN_DIGITS_MAX: usize = 19;

/// A card number that is not 12 to 19 ASCII digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("card number must be 12 to 19 digits")]
pub struct InvalidPan;

/// Checks that `pan` is [`PAN_DIGITS_MIN`] to [`PAN_DIGITS_MAX`] ASCII digits.
pub fn validate(pan: &str) -> Result<(), InvalidPan> {
    if (PAN_DIGITS_MIN..=PAN_DIGITS_MAX).contains(&pan.len())
        && pan.bytes().all(|b| b.is_ascii_digit())
    {
        Ok(())
    } else {
        Err(InvalidPan)
    }
}

/// The displayable form of a valid PAN: first 6, `****`, last 4.
pub fn mask(pan: &str) -> Result<String, InvalidPan> {
    validate(pan)?;
    mask_first6_last4(pan).ok_or(InvalidPan)
}

/// First 6 characters, `****`, last 4 characters, for a card number of more than 10
/// characters; `None` for a shorter one, whose mask would show every character. Counts
/// characters, not bytes, so it never splits one. Does not validate: [`mask`] does.
pub fn mask_first6_last4(card_no: &str) -> Option<String> {
    let count = card_no.chars().count();
    if count <= 10 {
        return None;
    }
    let head: String = card_no.chars().take(6).collect();
    let tail: String = card_no.chars().skip(count - 4).collect();
    Some(format!("{head}****{tail}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_and_masks() {
        assert_eq!(validate("123456789012"), Ok(()));
        assert_eq!(validate("1234567890123456789"), Ok(()));
        for bad in [
            "",
            "12345678901",
            "12345678901234567890",
            "12345678901a",
            "１23456789012",
        ] {
            assert_eq!(validate(bad), Err(InvalidPan), "{bad}");
        }
        assert_eq!(mask("4514617628832125").unwrap(), "451461****2125");
        assert_eq!(mask("4514617628"), Err(InvalidPan));
        assert_eq!(mask_first6_last4("ABCDEFGHIJK").unwrap(), "ABCDEF****HIJK");
        assert_eq!(
            mask_first6_last4("卡号卡号卡号一二三四五").unwrap(),
            "卡号卡号卡号****二三四五"
        );
        assert_eq!(mask_first6_last4("1234567890"), None);
    }
}
