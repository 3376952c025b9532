//! A wrapper for secrets (tokens, keys, URLs with passwords): `Debug` and `Display` print a
//! mask, and the value is read through [`Secret::expose`], an explicit, greppable call.
//!
//! The wrapper itself lives in `posgate_protocols::secret`, shared with the protocol codecs;
//! this module re-exports it so that the binary's paths (`crate::secret::Secret`) stay put.

pub use posgate_protocols::secret::{constant_time_eq, Secret};

/// Lowercase hex SHA-256 of a random secret (an API key, a bearer token, a session id, a
/// device password): the one form in which the store keeps them.
pub fn sha256_hex(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_everywhere() {
        let s = Secret::new("hunter2".to_string());
        assert_eq!(format!("{s:?} {s}"), "\"****\" ****");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"****\"");
        assert_eq!(s.expose(), "hunter2");
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
