//! PINs of jpos consumes. The spec names the `password` field (hex) and the check-in's
//! "PIN KEY" without saying how they are built; posgate follows ANSI X9.24 / ISO 9564
//! practice: the PIN block is **ISO 9564 format 0** (PIN field XOR PAN field, 8 bytes)
//! enciphered with the check-in's 16-byte PIN key as **double-length TDES** (EDE2, ECB, one
//! block). A 16-byte block (AES, format 4) is not verified: it reads as unreadable.
//!
//! - PIN field: `0`, the PIN length (4 to 12), the digits, `F` padding (16 nibbles).
//! - PAN field: `0000` and the 12 rightmost digits of the card number without its check
//!   digit.

use super::types::{PinBlock, Sensitive};
use des::cipher::{Block, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use des::TdesEde2;

/// Fewest PIN digits (ISO 9564).
pub const PIN_DIGITS_MIN: usize = 4;
/// Most PIN digits (ISO 9564).
pub const PIN_DIGITS_MAX: usize = 12;

/// A clear PIN (4 to 12 digits). `Debug` prints a mask; never log or store it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Pin(Sensitive<String>);

impl Pin {
    /// A PIN of 4 to 12 ASCII digits.
    pub fn parse(text: &str) -> Option<Pin> {
        let ok = (PIN_DIGITS_MIN..=PIN_DIGITS_MAX).contains(&text.len())
            && text.bytes().all(|b| b.is_ascii_digit());
        ok.then(|| Pin(Sensitive::new(text.to_owned())))
    }

    /// The digits.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

/// Why a PIN block gives no PIN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinBlockError {
    /// Not an 8-byte block (format 4 is not verified).
    Length,
    /// Deciphered, it is not a format 0 block for this card: wrong key, wrong PAN or garbage.
    Format,
    /// The card number has too few digits for a PAN field.
    Pan,
}

/// The PAN field of `pan` (its 12 rightmost digits before the check digit, after `0000`).
fn pan_field(pan: &str) -> Result<[u8; 8], PinBlockError> {
    let digits = pan.as_bytes();
    if digits.len() < 13 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(PinBlockError::Pan);
    }
    let twelve = &digits[digits.len() - 13..digits.len() - 1];
    let mut field = [0u8; 8];
    for (i, pair) in twelve.chunks(2).enumerate() {
        field[2 + i] = ((pair[0] - b'0') << 4) | (pair[1] - b'0');
    }
    Ok(field)
}

fn cipher(pin_key: &[u8; 16]) -> TdesEde2 {
    TdesEde2::new(pin_key.into())
}

/// The clear PIN of `block`, enciphered for the card `pan` under `pin_key`.
pub fn open_pin_block(
    pin_key: &[u8; 16],
    block: &PinBlock,
    pan: &str,
) -> Result<Pin, PinBlockError> {
    let bytes: [u8; 8] = block
        .expose()
        .try_into()
        .map_err(|_| PinBlockError::Length)?;
    let mut clear = Block::<TdesEde2>::from(bytes);
    cipher(pin_key).decrypt_block(&mut clear);
    let pan = pan_field(pan)?;
    let field: Vec<u8> = clear.iter().zip(pan).map(|(c, p)| c ^ p).collect();
    let nibbles: Vec<u8> = field.iter().flat_map(|b| [b >> 4, b & 0x0f]).collect();
    let len = usize::from(nibbles[1]);
    let valid = nibbles[0] == 0
        && (PIN_DIGITS_MIN..=PIN_DIGITS_MAX).contains(&len)
        && nibbles[2..2 + len].iter().all(|n| *n <= 9)
        && nibbles[2 + len..].iter().all(|n| *n == 0x0f);
    if !valid {
        return Err(PinBlockError::Format);
    }
    let digits: String = nibbles[2..2 + len]
        .iter()
        .map(|n| char::from(b'0' + n))
        .collect();
    Pin::parse(&digits).ok_or(PinBlockError::Format)
}

/// The PIN block a PIN pad builds for `pin` on card `pan` under `pin_key` (what terminals
/// and the simulators send).
pub fn seal_pin_block(pin_key: &[u8; 16], pin: &Pin, pan: &str) -> Result<PinBlock, PinBlockError> {
    let digits = pin.expose().as_bytes();
    let mut nibbles = vec![
        0u8,
        u8::try_from(digits.len()).map_err(|_| PinBlockError::Format)?,
    ];
    nibbles.extend(digits.iter().map(|d| d - b'0'));
    nibbles.resize(16, 0x0f);
    let pan = pan_field(pan)?;
    let mut field = [0u8; 8];
    for (i, b) in field.iter_mut().enumerate() {
        *b = ((nibbles[2 * i] << 4) | nibbles[2 * i + 1]) ^ pan[i];
    }
    let mut block = Block::<TdesEde2>::from(field);
    cipher(pin_key).encrypt_block(&mut block);
    PinBlock::parse(&hex::encode(block)).map_err(|_| PinBlockError::Format)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 16] = *b"0123456789ABCDEF";
    const PAN: &str = "6222021234567890123";

    #[test]
    fn format_0_round_trips_and_binds_key_and_pan() {
        let pin = Pin::parse("123456").expect("pin");
        let block = seal_pin_block(&KEY, &pin, PAN).expect("block");
        assert_eq!(open_pin_block(&KEY, &block, PAN), Ok(pin.clone()));
        let other_key = *b"FEDCBA9876543210";
        assert_eq!(
            open_pin_block(&other_key, &block, PAN),
            Err(PinBlockError::Format)
        );
        let other_pan = "6222021234567890999";
        assert_ne!(open_pin_block(&KEY, &block, other_pan), Ok(pin));
    }

    #[test]
    fn iso_9564_format_0_known_answer() {
        // PIN 1234, PAN 4111111111111111: PIN field 041234FFFFFFFFFF, PAN field
        // 0000111111111111, clear block 041225EEEEEEEEEE (before enciphering).
        let field = pan_field("4111111111111111").expect("pan");
        assert_eq!(hex::encode_upper(field), "0000111111111111");
        let pin = Pin::parse("1234").expect("pin");
        let block = seal_pin_block(&KEY, &pin, "4111111111111111").expect("block");
        let mut clear = Block::<TdesEde2>::from(<[u8; 8]>::try_from(block.expose()).expect("8"));
        cipher(&KEY).decrypt_block(&mut clear);
        assert_eq!(hex::encode_upper(clear), "041225EEEEEEEEEE");
    }

    #[test]
    fn refusals() {
        assert!(Pin::parse("123").is_none() && Pin::parse("1234567890123").is_none());
        assert!(Pin::parse("12a4").is_none());
        let long = PinBlock::parse(&"00".repeat(16)).expect("16 bytes");
        assert_eq!(open_pin_block(&KEY, &long, PAN), Err(PinBlockError::Length));
        let block = PinBlock::parse("0123456789ABCDEF").expect("8 bytes");
        assert_eq!(
            open_pin_block(&KEY, &block, "12345"),
            Err(PinBlockError::Pan)
        );
        assert_eq!(
            open_pin_block(&KEY, &block, PAN),
            Err(PinBlockError::Format)
        );
    }
}
