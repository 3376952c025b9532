//! Pieces the fuzz targets share: how the first input byte chooses a variant, the fixed
//! keys the crypto targets open with, and the invariants checked on every decoded value.
//!
//! Each target under `fuzz_targets/` feeds one decoder of `posgate-protocols` the bytes
//! libFuzzer gives it, bounded as the real adapter bounds them, and asserts what must hold
//! beyond "no panic" (see docs/fuzzing.md).

use base64::Engine;
use std::fmt::Debug;

/// The venue key of the KTV crypto targets: the key of the crate's own openssl fixture
/// (`protocols/src/ktv/testdata/fixture.sealed`), so that fixture is a valid seed.
pub const KTV_KEY: [u8; 16] = *b"posgate-ktv-key!";

/// The Pospal app key the notification target signs and verifies with.
pub const POSPAL_APP_KEY: &str = "posgate-fuzz-app-key";

/// The card number a PIN block is opened for when the input names none.
pub const DEFAULT_PAN: &str = "6222021234567890123";

/// Splits off the first byte to choose one of `choices` (modulo their number), and bounds
/// the rest as [`bounded`] does; `None` for an empty or oversized input.
pub fn pick<'a, T: Clone>(choices: &[T], data: &'a [u8], max: usize) -> Option<(T, &'a [u8])> {
    let (first, rest) = data.split_first()?;
    let choice = choices[usize::from(*first) % choices.len()].clone();
    Some((choice, bounded(rest, max)?))
}

/// The text a KTV crypto target opens: `rest` as sent (`None` if it is not UTF-8), or, when
/// `raw`, `rest` base64-encoded by the target, so that mutations reach the cipher and gunzip
/// instead of dying in base64.
pub fn sealed_text(rest: &[u8], raw: bool) -> Option<String> {
    if raw {
        Some(base64::engine::general_purpose::STANDARD.encode(rest))
    } else {
        std::str::from_utf8(rest).ok().map(str::to_owned)
    }
}

/// The input, unless it is longer than the adapter would let through: `max` (the decoder's
/// own bound, from its `limits.rs`) plus one byte, so that the decoder's refusal of an
/// oversized input is exercised too.
pub fn bounded(data: &[u8], max: usize) -> Option<&[u8]> {
    (data.len() <= max + 1).then_some(data)
}

/// The body of the round-trip targets: decodes `data` (bounded by `max`), and when it
/// decodes, asserts that the encoding decodes to the same value, which it returns for
/// further checks.
pub fn decode_round_trip<T, E>(
    data: &[u8],
    max: usize,
    decode: impl Fn(&[u8]) -> Result<T, E>,
    encode: impl Fn(&T) -> Vec<u8>,
) -> Option<T>
where
    T: PartialEq + Debug,
    E: Debug,
{
    let decoded = decode(bounded(data, max)?).ok()?;
    assert_round_trip(&decoded, decode(&encode(&decoded)));
    Some(decoded)
}

/// Asserts that decoding the encoding of a decoded value gives the value back.
pub fn assert_round_trip<T: PartialEq + Debug, E: Debug>(decoded: &T, again: Result<T, E>) {
    match again {
        Ok(again) => assert_eq!(&again, decoded, "decode(encode(x)) differs from x"),
        Err(error) => panic!("the encoding of a decoded value does not decode: {error:?}"),
    }
}

/// Asserts that `shown` (a `Debug` rendering, a key) does not carry `pan` in full.
pub fn assert_pan_hidden(shown: &str, pan: &str) {
    assert!(
        pan.len() < 12 || !shown.contains(pan),
        "a full card number is shown"
    );
}
