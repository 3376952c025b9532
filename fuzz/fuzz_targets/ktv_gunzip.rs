//! KTV: WJ091 `zip: 1` data (`base64(gzip(json))`), the gunzip step with its cap. The
//! first byte chooses whether the rest is the text as sent or raw gzip bytes the target
//! base64-encodes. Invariants: the output stays under the cap, and re-zipping it unzips to
//! the same bytes.
#![no_main]

use base64::Engine;
use libfuzzer_sys::fuzz_target;
use posgate_fuzz::bounded;
use posgate_protocols::ktv::limits::{DECOMPRESSED_BYTES_MAX, UPLOAD_BODY_BYTES_MAX};
use posgate_protocols::ktv::{zip_decode, zip_encode};

fuzz_target!(|data: &[u8]| {
    let Some((first, rest)) = data.split_first() else {
        return;
    };
    let Some(rest) = bounded(rest, UPLOAD_BODY_BYTES_MAX) else {
        return;
    };
    let text = if first % 2 == 1 {
        base64::engine::general_purpose::STANDARD.encode(rest)
    } else {
        match std::str::from_utf8(rest) {
            Ok(text) => text.to_owned(),
            Err(_) => return,
        }
    };
    let Ok(plain) = zip_decode(&text) else {
        return;
    };
    assert!(plain.len() <= DECOMPRESSED_BYTES_MAX);
    assert_eq!(zip_decode(&zip_encode(&plain)).ok(), Some(plain));
});
