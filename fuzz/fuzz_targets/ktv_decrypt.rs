//! KTV: opening sealed upload data (`base64(AES-128(gzip(json)))`) with a fixed key, in
//! both AES modes. The first byte chooses the mode and whether the rest is the text as sent
//! or raw ciphertext the target base64-encodes (so that mutations reach the cipher and
//! gunzip instead of dying in base64). Invariants: the opened bytes stay under the
//! decompressed cap, and sealing them again opens to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use posgate_fuzz::{pick, sealed_text, KTV_KEY};
use posgate_protocols::ktv::limits::{DECOMPRESSED_BYTES_MAX, UPLOAD_BODY_BYTES_MAX};
use posgate_protocols::ktv::{open_with, seal_with, AesKey, AesMode};

const CHOICES: [(AesMode, bool); 4] = [
    (AesMode::Ecb, false),
    (AesMode::Cbc, false),
    (AesMode::Ecb, true),
    (AesMode::Cbc, true),
];

fuzz_target!(|data: &[u8]| {
    let Some(((mode, raw), rest)) = pick(&CHOICES, data, UPLOAD_BODY_BYTES_MAX) else {
        return;
    };
    let Some(text) = sealed_text(rest, raw) else {
        return;
    };
    let key = AesKey::from_bytes(KTV_KEY);
    let Ok(opened) = open_with(mode, &key, &text) else {
        return;
    };
    assert!(opened.len() <= DECOMPRESSED_BYTES_MAX);
    let resealed = seal_with(mode, &key, &[7; 16], &opened);
    assert_eq!(open_with(mode, &key, &resealed).ok(), Some(opened));
});
