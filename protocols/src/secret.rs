//! One wrapper for every secret posgate holds: card data, PIN blocks, working keys, QR
//! keys, tokens, database and broker URLs with passwords.
//!
//! Each protocol module and the binary used to carry its own copy of this wrapper; they
//! differed only in the text `Debug` prints. So there is one generic type, [`Masked`],
//! whose mask text is a type parameter ([`Mask`]), and two names for it:
//! - [`Secret<T>`]: configuration and tokens; `Debug` prints `"****"` (quoted, so a
//!   printed configuration still reads as JSON-ish text).
//! - [`Sensitive<T>`]: wire data inside the protocol codecs; `Debug` prints
//!   `Sensitive(***)`.
//!
//! Both behave alike otherwise: `Display` prints `****`; `Serialize` writes the mask, so
//! serialising a configuration or a struct never leaks the value; `Deserialize` reads the
//! value itself; and the value leaves the wrapper only through [`Masked::expose`], an
//! explicit, greppable call. [`constant_time_eq`] compares secrets without leaking, through
//! timing, how much of a guess was right.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::marker::PhantomData;

/// What a [`Masked`] value prints from `Debug`. Implemented by uninhabited marker types.
pub trait Mask {
    /// The `Debug` text.
    const DEBUG: &'static str;
}

/// The mask of [`Secret`]: `Debug` prints `"****"`.
#[derive(Clone, Copy, Debug)]
pub enum QuotedMask {}

impl Mask for QuotedMask {
    const DEBUG: &'static str = "\"****\"";
}

/// The mask of [`Sensitive`]: `Debug` prints `Sensitive(***)`.
#[derive(Clone, Copy, Debug)]
pub enum SensitiveMask {}

impl Mask for SensitiveMask {
    const DEBUG: &'static str = "Sensitive(***)";
}

/// A secret value whose `Debug` prints `M`'s mask, whose `Display` and `Serialize` print
/// `****`, and which is read only through [`Masked::expose`].
pub struct Masked<T, M: Mask> {
    value: T,
    // `fn() -> M`: the marker adds no auto-trait or drop-check requirement of its own.
    mask: PhantomData<fn() -> M>,
}

/// A secret of the configuration or the HTTP layer (tokens, keys, URLs): `Debug` prints
/// `"****"`.
pub type Secret<T> = Masked<T, QuotedMask>;

/// Secret wire data inside a protocol codec (PIN blocks, tracks, keys, passwords):
/// `Debug` prints `Sensitive(***)`.
pub type Sensitive<T> = Masked<T, SensitiveMask>;

impl<T, M: Mask> Masked<T, M> {
    /// Wraps a value (`const`, so that fixed test keys can be constants).
    pub const fn new(value: T) -> Masked<T, M> {
        Masked {
            value,
            mask: PhantomData,
        }
    }

    /// The secret itself. Every call site is a place where the secret leaves the wrapper:
    /// keep them few, and never log the result.
    pub fn expose(&self) -> &T {
        &self.value
    }
}

impl<T: Clone, M: Mask> Clone for Masked<T, M> {
    fn clone(&self) -> Self {
        Masked::new(self.value.clone())
    }
}

impl<T: Default, M: Mask> Default for Masked<T, M> {
    fn default() -> Self {
        Masked::new(T::default())
    }
}

/// Plain equality, for tests and configuration comparisons; use [`constant_time_eq`] where
/// a guess is being checked.
impl<T: PartialEq, M: Mask> PartialEq for Masked<T, M> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<T: Eq, M: Mask> Eq for Masked<T, M> {}

impl<T, M: Mask> fmt::Debug for Masked<T, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(M::DEBUG)
    }
}

impl<T, M: Mask> fmt::Display for Masked<T, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

/// Reads the value itself (configuration files, environment overrides).
impl<'de, T: Deserialize<'de>, M: Mask> Deserialize<'de> for Masked<T, M> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Masked::new)
    }
}

/// Serializes as the mask, so that printing a configuration never shows the secret.
impl<T, M: Mask> Serialize for Masked<T, M> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("****")
    }
}

/// Constant-time equality of two byte strings (signatures, tokens, keys, codes). Lengths
/// are not secret (tokens and signatures have a fixed format); the contents are.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Debug, Display and Serialize of both names, and the value behind `expose`.
    fn shown<M: Mask>(secret: &Masked<String, M>) -> [String; 4] {
        [
            format!("{secret:?}"),
            secret.to_string(),
            serde_json::to_string(secret).unwrap(),
            secret.expose().clone(),
        ]
    }

    #[test]
    fn only_expose_shows_the_value() {
        assert_eq!(
            shown(&Secret::new("hunter2".to_owned())),
            ["\"****\"", "****", "\"****\"", "hunter2"]
        );
        assert_eq!(
            shown(&Sensitive::new("4514617628832125".to_owned())),
            ["Sensitive(***)", "****", "\"****\"", "4514617628832125"]
        );
        let key = Sensitive::new(vec![1u8, 2, 3]);
        assert_eq!(key.clone(), key);
    }

    #[test]
    fn deserializes_the_value() {
        let s: Secret<String> = serde_json::from_str("\"hunter2\"").unwrap();
        assert_eq!(s.expose(), "hunter2");
        assert_eq!(Secret::<String>::default().expose(), "");
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(constant_time_eq(b"", b""));
    }
}
