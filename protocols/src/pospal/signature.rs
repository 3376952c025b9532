//! `data-signature` (spec 1.3): the uppercase hex MD5 of the app key followed by the raw
//! request body, as Pospal's open API signs its requests.
//!
//! Verification works on the raw bytes exactly as received (never on re-serialised JSON)
//! and compares in constant time (`subtle`, through the crate's `constant_time_eq`), so the time a wrong signature takes to refuse
//! says nothing about how much of it was right. The header is compared case-insensitively
//! (the spec shows upper case; a lower-case sender is not a security difference). MD5 is
//! the spec's choice, not posgate's: it is kept here, behind one function.

use crate::secret::{constant_time_eq, Secret};
use md5::{Digest, Md5};
use std::fmt;

/// A Pospal app key (the shared secret of one `appId`). `Debug` prints a mask. A newtype
/// around the crate's [`Secret`] so that it reads as what it is in signatures and takes
/// any string-like value.
#[derive(Clone)]
pub struct AppKey(Secret<String>);

impl AppKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> AppKey {
        AppKey(Secret::new(key.into()))
    }

    /// The key. Every call is a place where the secret is used: keep them few.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl fmt::Debug for AppKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AppKey(****)")
    }
}

/// The `data-signature` of a body: uppercase hex of md5(app key bytes + body bytes).
pub fn sign(app_key: &AppKey, raw_body: &[u8]) -> String {
    hex::encode_upper(digest(app_key, raw_body))
}

fn digest(app_key: &AppKey, raw_body: &[u8]) -> [u8; 16] {
    let mut md5 = Md5::new();
    md5.update(app_key.expose().as_bytes());
    md5.update(raw_body);
    md5.finalize().into()
}

/// Whether `header` (the `data-signature` value, surrounding whitespace ignored, either
/// case) is the signature of `raw_body` under `app_key`. Constant time in the header's
/// content.
pub fn verify_signature(app_key: &AppKey, raw_body: &[u8], header: &str) -> bool {
    let expected = sign(app_key, raw_body);
    let given = header.trim().to_ascii_uppercase();
    constant_time_eq(expected.as_bytes(), given.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies() {
        let key = AppKey::new("secret");
        let body = br#"{"cmd":"ticket.new"}"#;
        let signature = sign(&key, body);
        assert_eq!(signature.len(), 32);
        assert_eq!(signature, signature.to_ascii_uppercase());
        // md5("secret" + body), independently: md5 of the concatenation.
        let mut joined = b"secret".to_vec();
        joined.extend_from_slice(body);
        assert_eq!(signature, hex::encode_upper(Md5::digest(&joined)));
        assert!(verify_signature(&key, body, &signature));
        assert!(verify_signature(
            &key,
            body,
            &format!(" {} ", signature.to_lowercase())
        ));
        assert!(!verify_signature(&key, body, ""));
        assert!(!verify_signature(&key, body, &signature[..31]));
        assert!(!verify_signature(&AppKey::new("other"), body, &signature));
        assert!(!verify_signature(
            &key,
            b"{\"cmd\":\"ticket.new\"} ",
            &signature
        ));
        // md5("") is well known: the empty key and body give it.
        assert_eq!(
            sign(&AppKey::new(""), b""),
            "D41D8CD98F00B204E9800998ECF8427E"
        );
        assert_eq!(format!("{key:?}"), "AppKey(****)");
    }
}
