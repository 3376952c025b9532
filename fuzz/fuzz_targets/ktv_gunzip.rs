//! KTV: WJ091 `zip: 1` data (`base64(gzip(json))`), the gunzip step with its cap. The
//! first byte chooses whether the rest is the text as sent or raw gzip bytes the target
//! base64-encodes. Invariants: the output stays under the cap, and re-zipping it unzips to
//! the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use posgate_fuzz::{pick, sealed_text};
use posgate_protocols::ktv::limits::{DECOMPRESSED_BYTES_MAX, UPLOAD_BODY_BYTES_MAX};
use posgate_protocols::ktv::{zip_decode, zip_encode};

fuzz_target!(|data: &[u8]| {
    let Some((raw, rest)) = pick(&[false, true], data, UPLOAD_BODY_BYTES_MAX) else {
        return;
    };
    let Some(text) = sealed_text(rest, raw) else {
        return;
    };
    let Ok(plain) = zip_decode(&text) else {
        return;
    };
    assert!(plain.len() <= DECOMPRESSED_BYTES_MAX);
    assert_eq!(zip_decode(&zip_encode(&plain)).ok(), Some(plain));
});
