//! Card data: the PAN, track 2, PIN block and EMV data, and the masked card number.
//!
//! Cardholder data is wrapped the moment it is decoded: [`Sensitive`] (the crate's shared
//! [`crate::secret`] wrapper) prints a mask from `Debug` and `Serialize`, and hands its
//! value out only through an explicit, greppable `expose()`. Nothing in this module can
//! serialise a track 2 or a PIN block back out. What may be shown is the [`MaskedPan`]
//! (first 6, `****`, last 4, see [`crate::pan`]), which the details reply carries.

use super::codes::Ds50Error;
use super::json::is_hex;
use super::limits::{
    EMV_DATA_HEX_CHARS_MAX, PAN_DIGITS_MAX, PIN_BLOCK_HEX_CHARS, TRACK2_CHARS_MAX,
};
use crate::money::Fen;
use crate::pan;
pub use crate::secret::Sensitive;
use std::fmt;

/// A full primary account number: 12 to 19 ASCII digits. `Debug` shows the masked form.
#[derive(Clone, PartialEq, Eq)]
pub struct Pan(Sensitive<String>);

impl Pan {
    /// Validates a PAN (digits only, 12..=19 of them; the Luhn digit is not checked).
    pub fn parse(digits: &str) -> Result<Pan, Ds50Error> {
        pan::validate(digits).map_err(|_| Ds50Error::InvalidCard("PAN is not 12 to 19 digits"))?;
        Ok(Pan(Sensitive::new(digits.to_owned())))
    }

    /// The full PAN (for the keyed hash that looks cards up; never store or log it).
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// First 6, `****`, last 4.
    pub fn masked(&self) -> MaskedPan {
        // A `Pan` holds 12 to 19 digits, so the mask always exists; the fallback is a
        // mask that shows nothing rather than a panic.
        MaskedPan(pan::mask(self.0.expose()).unwrap_or_else(|_| "****".to_owned()))
    }
}

impl fmt::Debug for Pan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pan({})", self.masked().as_str())
    }
}

/// A masked card number as the device sends it in `cardNo` and as the details reply shows
/// it: the first 6 digits, one or more `*`, the last 4 digits (`451461********2125`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MaskedPan(String);

impl MaskedPan {
    /// Reads a `cardNo`. A masked number is kept as sent; a full PAN (a firmware that does
    /// not mask) is masked here at once, so the full number never leaves the decoder.
    pub fn parse(text: &str) -> Result<MaskedPan, Ds50Error> {
        if text.bytes().all(|b| b.is_ascii_digit()) {
            return Pan::parse(text).map(|pan| pan.masked());
        }
        let bytes = text.as_bytes();
        let stars = bytes.len().saturating_sub(10);
        let ok = bytes.len() > 10
            && bytes.len() <= 6 + PAN_DIGITS_MAX + 4
            && bytes[..6].iter().all(u8::is_ascii_digit)
            && bytes[bytes.len() - 4..].iter().all(u8::is_ascii_digit)
            && bytes[6..6 + stars].iter().all(|&b| b == b'*');
        if ok {
            Ok(MaskedPan(text.to_owned()))
        } else {
            Err(Ds50Error::InvalidCard(
                "cardNo is not first 6 digits, '*'s, last 4 digits",
            ))
        }
    }

    /// The masked number.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first six digits (the BIN).
    pub fn first6(&self) -> &str {
        &self.0[..6]
    }

    /// The last four digits.
    pub fn last4(&self) -> &str {
        &self.0[self.0.len() - 4..]
    }

    /// Whether this masked number shows the first 6 and last 4 digits of `pan`.
    pub fn matches(&self, pan: &Pan) -> bool {
        let masked = pan.masked();
        masked.first6() == self.first6() && masked.last4() == self.last4()
    }
}

/// Track 2 equivalent data (`track2`, e.g. `4514617628832125D270120115195475`): the PAN,
/// a separator (`D` or `=`), the expiry `YYMM`, then the service code and discretionary
/// data. One trailing `F` pad nibble is accepted. `Debug` prints a mask.
#[derive(Clone)]
pub struct Track2 {
    raw: Sensitive<String>,
    pan_digits: usize,
}

impl Track2 {
    /// Validates track 2: digits, one separator after a 12..=19 digit PAN, at least the four
    /// expiry digits after it with a month 01..=12, at most [`TRACK2_CHARS_MAX`] characters.
    pub fn parse(text: &str) -> Result<Track2, Ds50Error> {
        if text.is_empty() || text.len() > TRACK2_CHARS_MAX {
            return Err(Ds50Error::InvalidCard("track2 length"));
        }
        let body = text.strip_suffix(['F', 'f']).unwrap_or(text);
        let Some(separator) = body.find(['D', 'd', '=']) else {
            return Err(Ds50Error::InvalidCard("track2 has no separator"));
        };
        let (pan, rest) = (&body[..separator], &body[separator + 1..]);
        Pan::parse(pan)?;
        if rest.len() < 4 || !rest.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Ds50Error::InvalidCard("track2 expiry or data not digits"));
        }
        let month = &rest[2..4];
        if !("01"..="12").contains(&month) {
            return Err(Ds50Error::InvalidCard("track2 expiry month"));
        }
        Ok(Track2 {
            raw: Sensitive::new(body.to_owned()),
            pan_digits: separator,
        })
    }

    /// The PAN (the digits before the separator).
    pub fn pan(&self) -> Pan {
        Pan(Sensitive::new(
            self.raw.expose()[..self.pan_digits].to_owned(),
        ))
    }

    /// The expiry as (YY, MM), month 1..=12.
    pub fn expiry(&self) -> (u8, u8) {
        let digits = &self.raw.expose().as_bytes()[self.pan_digits + 1..self.pan_digits + 5];
        let yy = (digits[0] - b'0') * 10 + (digits[1] - b'0');
        let mm = (digits[2] - b'0') * 10 + (digits[3] - b'0');
        (yy, mm)
    }

    /// Whether the card is expired on the given year (four digits) and month: a card is
    /// valid through the last day of its expiry month (century assumed 20xx).
    pub fn is_expired_at(&self, year: u16, month: u8) -> bool {
        let (yy, mm) = self.expiry();
        (2000 + u16::from(yy), mm) < (year, month)
    }

    /// The full track 2 (pad removed), for forwarding to an issuer; never store or log it.
    pub fn expose(&self) -> &str {
        self.raw.expose()
    }
}

impl fmt::Debug for Track2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Track2({})", self.pan().masked().as_str())
    }
}

/// An encrypted PIN block (`pin`): exactly 16 hex characters. `Debug` prints a mask.
#[derive(Clone, Debug)]
pub struct PinBlock(Sensitive<String>);

impl PinBlock {
    /// Validates a PIN block.
    pub fn parse(text: &str) -> Result<PinBlock, Ds50Error> {
        if text.len() != PIN_BLOCK_HEX_CHARS || !is_hex(text) {
            return Err(Ds50Error::Invalid {
                field: "pin",
                reason: "not 16 hex characters",
            });
        }
        Ok(PinBlock(Sensitive::new(text.to_ascii_uppercase())))
    }

    /// The PIN block, upper-case hex.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

/// The chip data of a sale request (`emvData`, hex TLV). `Debug` prints a mask.
#[derive(Clone, Debug)]
pub struct EmvData(Sensitive<String>);

impl EmvData {
    /// Validates EMV data: even-length hex, 2..=[`EMV_DATA_HEX_CHARS_MAX`] characters.
    pub fn parse(text: &str) -> Result<EmvData, Ds50Error> {
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
        Ok(EmvData(Sensitive::new(text.to_ascii_uppercase())))
    }

    /// The EMV data, upper-case hex.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// The amount the card authorised (tag `9F02`, Amount Authorised, twelve BCD digits in
    /// minor units), when the data is well-formed BER-TLV and carries it; `None` otherwise.
    pub fn amount_authorised(&self) -> Option<Fen> {
        let bytes = hex::decode(self.expose()).ok()?;
        let value = find_tag(&bytes, &[0x9F, 0x02])?;
        let digits = hex::encode(value);
        if digits.len() != 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().map(Fen)
    }
}

/// The value of the first `tag` in BER-TLV `data`, looking inside constructed tags too.
fn find_tag<'a>(mut data: &'a [u8], tag: &[u8]) -> Option<&'a [u8]> {
    while let Some((&first, _)) = data.split_first() {
        if first == 0x00 || first == 0xFF {
            data = &data[1..]; // padding between objects
            continue;
        }
        let mut tag_len = 1;
        if first & 0x1F == 0x1F {
            while data.get(tag_len)? & 0x80 != 0 {
                tag_len += 1;
            }
            tag_len += 1;
        }
        let (length, length_len) = match *data.get(tag_len)? {
            short @ 0..=0x7F => (usize::from(short), 1),
            0x81 => (usize::from(*data.get(tag_len + 1)?), 2),
            0x82 => (
                usize::from(*data.get(tag_len + 1)?) << 8 | usize::from(*data.get(tag_len + 2)?),
                3,
            ),
            _ => return None,
        };
        let start = tag_len + length_len;
        let value = data.get(start..start.checked_add(length)?)?;
        if &data[..tag_len] == tag {
            return Some(value);
        }
        if first & 0x20 != 0 {
            if let Some(found) = find_tag(value, tag) {
                return Some(found);
            }
        }
        data = &data[start + length..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACK2: &str = "4514617628832125D270120115195475";

    #[test]
    fn track2_pan_and_expiry() {
        let track2 = Track2::parse(TRACK2).unwrap();
        assert_eq!(track2.pan().expose(), "4514617628832125");
        assert_eq!(track2.pan().masked().as_str(), "451461****2125");
        assert_eq!(track2.expiry(), (27, 1));
        assert!(!track2.is_expired_at(2027, 1));
        assert!(track2.is_expired_at(2027, 2));
        assert!(Track2::parse("4514617628832125=2701201F").is_ok());
        for bad in [
            "",
            "4514617628832125",
            "45146176288D2701",
            "45146176288321254514D2701",
            "4514617628832125D27",
            "4514617628832125D2713",
            "4514617628832125D27x1",
            "4514617628832125DD2701",
            "4514617628832125D2701000000000000000000000",
        ] {
            assert!(Track2::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_never_shows_card_data() {
        let track2 = Track2::parse(TRACK2).unwrap();
        let pin = PinBlock::parse("ADF34EF2424A042E").unwrap();
        let emv = EmvData::parse("9F2608").unwrap();
        let text = format!("{track2:?} {:?} {pin:?} {emv:?}", track2.pan());
        assert!(!text.contains("7628832"), "{text}");
        assert!(!text.contains("ADF34EF2"), "{text}");
        assert!(!text.contains("9F2608"), "{text}");
        assert!(text.contains("451461****2125"));
    }

    #[test]
    fn emv_amount_authorised() {
        let spec = "9F260888C89C10C57849A79F2701809F100706011203A020009F3704FCB8E0FA9F36020742950580800080009A032512159C01009F02060000000066665F2A020170820218009F1A0201709F03060000000000009F3303E0F8C89F34031E03009F3501219F1E0838333230314943438407A00000000310109F09020001";
        let emv = EmvData::parse(spec).unwrap();
        assert_eq!(emv.amount_authorised(), Some(Fen(6666)));
        // Inside a constructed template (77), after padding.
        let nested = EmvData::parse("0077099F0206000000012344").unwrap();
        assert_eq!(nested.amount_authorised(), Some(Fen(12344)));
        for none in [
            "9F2608",
            "9F260888C89C10C57849A7",
            "9F02050000000001",
            "9F02060000000A0001",
        ] {
            assert_eq!(
                EmvData::parse(none).unwrap().amount_authorised(),
                None,
                "{none}"
            );
        }
    }

    #[test]
    fn masked_pan() {
        let masked = MaskedPan::parse("451461********2125").unwrap();
        assert_eq!(masked.first6(), "451461");
        assert_eq!(masked.last4(), "2125");
        assert!(masked.matches(&Track2::parse(TRACK2).unwrap().pan()));
        assert_eq!(
            MaskedPan::parse("4514617628832125").unwrap().as_str(),
            "451461****2125"
        );
        for bad in [
            "451461**212",
            "45146a****2125",
            "451461*x**2125",
            "4514612125",
            "12345",
        ] {
            assert!(MaskedPan::parse(bad).is_err(), "{bad}");
        }
    }
}
