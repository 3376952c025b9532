//! Secrets at rest: a secret the gateway must keep (a Pospal appKey, which md5(appKey +
//! body) cannot be checked without; a jpos terminal's working keys) is stored encrypted,
//! AES-256-GCM under a key-encryption key, with the row it belongs to as associated data (a
//! sealed secret copied to another row does not open), as `gcm1:` + hex(nonce ||
//! ciphertext || tag).

use aes_gcm::aead::{self, Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key};
use std::fmt;

/// The prefix of a sealed secret (a Pospal appKey stored before sealing has none).
pub const SEALED_PREFIX: &str = "gcm1:";

/// Bytes of a GCM nonce.
pub const NONCE_BYTES: usize = 12;

/// Why a stored secret does not open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// Not `gcm1:` + hex of at least a nonce and a tag.
    #[error("stored secret is not sealed")]
    Format,
    /// The key-encryption key, the row or the ciphertext do not match.
    #[error("stored secret does not open with this key-encryption key")]
    Open,
}

/// The key-encryption key of stored secrets (32 bytes). `Debug` prints a mask.
#[derive(Clone)]
pub struct KeyEncryptionKey([u8; 32]);

impl fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyEncryptionKey(****)")
    }
}

impl KeyEncryptionKey {
    /// From 32 raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> KeyEncryptionKey {
        KeyEncryptionKey(bytes)
    }

    /// From 64 hex digits (the configuration's form).
    pub fn from_hex(text: &str) -> Option<KeyEncryptionKey> {
        let bytes = hex::decode(text.trim()).ok()?;
        Some(KeyEncryptionKey(bytes.try_into().ok()?))
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&Key::<Aes256Gcm>::from(self.0))
    }

    /// Seals `secret` for the row `context`. `nonce` must never repeat under this key: give
    /// fresh random bytes.
    pub fn seal(&self, context: &str, secret: &[u8], nonce: [u8; NONCE_BYTES]) -> String {
        let payload = Payload {
            msg: secret,
            aad: context.as_bytes(),
        };
        // Encrypting into a Vec cannot fail for inputs this small.
        let sealed = self
            .cipher()
            .encrypt(&aead::Nonce::<Aes256Gcm>::from(nonce), payload)
            .unwrap_or_default();
        format!(
            "{SEALED_PREFIX}{}{}",
            hex::encode(nonce),
            hex::encode(sealed)
        )
    }

    /// Opens a secret [`seal`](Self::seal)ed for `context`.
    pub fn open(&self, context: &str, stored: &str) -> Result<Vec<u8>, SealError> {
        let bytes = stored
            .strip_prefix(SEALED_PREFIX)
            .and_then(|h| hex::decode(h).ok())
            .filter(|b| b.len() >= NONCE_BYTES + 16)
            .ok_or(SealError::Format)?;
        let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
        let nonce = aead::Nonce::<Aes256Gcm>::try_from(nonce).map_err(|_| SealError::Format)?;
        let payload = Payload {
            msg: sealed,
            aad: context.as_bytes(),
        };
        self.cipher()
            .decrypt(&nonce, payload)
            .map_err(|_| SealError::Open)
    }
}

/// Whether a stored secret is sealed (not a key stored in clear before sealing existed).
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_kek_and_row() {
        let kek = KeyEncryptionKey::from_bytes([7; 32]);
        let key = b"0123456789ABCDEF-app-key";
        let sealed = kek.seal("app-1", key, [1; NONCE_BYTES]);
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("0123456789ABCDEF"));
        assert!(!sealed.contains(&hex::encode("0123456789ABCDEF")));
        assert_eq!(kek.open("app-1", &sealed).unwrap(), key);
        assert_ne!(
            sealed,
            kek.seal("app-1", key, [2; NONCE_BYTES]),
            "fresh nonce, new text"
        );
        assert_eq!(kek.open("app-2", &sealed).unwrap_err(), SealError::Open);
        let other = KeyEncryptionKey::from_bytes([8; 32]);
        assert_eq!(other.open("app-1", &sealed).unwrap_err(), SealError::Open);
        let mut tampered = sealed.clone();
        tampered.replace_range(sealed.len() - 2.., "00");
        assert!(kek.open("app-1", &tampered).is_err());
        assert_eq!(
            kek.open("app-1", "clear-key").unwrap_err(),
            SealError::Format
        );
        assert_eq!(kek.open("app-1", "gcm1:zz").unwrap_err(), SealError::Format);
        assert!(KeyEncryptionKey::from_hex(&"ab".repeat(32)).is_some());
        assert!(KeyEncryptionKey::from_hex(&"ab".repeat(16)).is_none());
        assert_eq!(format!("{kek:?}"), "KeyEncryptionKey(****)");
    }
}
