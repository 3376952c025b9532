//! The card index: cards are found by a keyed hash of their PAN, never by the PAN itself.
//!
//! `HMAC-SHA256(card_key, PAN)` is stored as the lookup key and the masked PAN (first 6,
//! `****`, last 4) as what people see. Without the key the hashes cannot be brute-forced
//! from the small space of valid PANs, and the key lives in configuration, not the database.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

/// The secret key of the card index. `Debug` never shows it.
#[derive(Clone)]
pub struct CardKey(Vec<u8>);

impl fmt::Debug for CardKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CardKey(****)")
    }
}

impl CardKey {
    /// Wraps raw key bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> CardKey {
        CardKey(bytes.into())
    }

    /// A 32-byte key derived from this one for `label` (HMAC-SHA256 of the label): keyed
    /// digests, per-terminal keys and the KTV venue key-encryption key, none of which may be
    /// the card index key itself.
    pub fn derive(&self, label: &str) -> [u8; 32] {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC accepts keys of any length");
        mac.update(b"posgate-derive:");
        mac.update(label.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Lowercase hex of HMAC-SHA256 of `data` under a key derived for `label`: a digest of
    /// a request that reveals nothing of the card numbers in it.
    pub fn digest(&self, label: &str, data: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.derive(label))
            .expect("HMAC accepts keys of any length");
        mac.update(data);
        hex::encode(mac.finalize().into_bytes())
    }

    /// The lookup key of `pan`: lowercase hex of HMAC-SHA256.
    pub fn index(&self, pan: &str) -> Result<String, InvalidPan> {
        validate_pan(pan)?;
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC accepts keys of any length");
        mac.update(pan.as_bytes());
        Ok(hex::encode(mac.finalize().into_bytes()))
    }
}

/// The PAN rule and mask are the ones every protocol uses ([`posgate_protocols::pan`]):
/// 12 to 19 ASCII digits; first 6, `****`, last 4. Re-exported under this module's names
/// so that its callers are unchanged.
pub use posgate_protocols::pan::{mask as mask_pan, validate as validate_pan, InvalidPan};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_is_keyed_and_stable() {
        let a = CardKey::new(b"key-a".to_vec());
        let b = CardKey::new(b"key-b".to_vec());
        let pan = "6228480402564890018";
        assert_eq!(a.index(pan).unwrap(), a.index(pan).unwrap());
        assert_ne!(a.index(pan).unwrap(), b.index(pan).unwrap());
        assert!(!a.index(pan).unwrap().contains(pan));
        assert_eq!(a.index(pan).unwrap().len(), 64);
    }

    #[test]
    fn masks_and_validates() {
        assert_eq!(mask_pan("6228480402564890018").unwrap(), "622848****0018");
        assert_eq!(mask_pan("123456789012").unwrap(), "123456****9012");
        assert_eq!(mask_pan("12345678901"), Err(InvalidPan));
        assert_eq!(mask_pan("12345678901234567890"), Err(InvalidPan));
        assert_eq!(mask_pan("62284804025648900a"), Err(InvalidPan));
        assert_eq!(
            format!("{:?}", CardKey::new(b"secret".to_vec())),
            "CardKey(****)"
        );
    }
}
