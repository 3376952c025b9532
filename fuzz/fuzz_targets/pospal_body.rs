//! Pospal: `decode_body` with each known `Cmd` (the first byte chooses it). Invariant: a
//! byte order mark in front of the JSON text changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use posgate_fuzz::pick;
use posgate_protocols::pospal::body::decode_body;
use posgate_protocols::pospal::limits::REQUEST_BYTES_MAX;
use posgate_protocols::pospal::Cmd;

fuzz_target!(|data: &[u8]| {
    let Some((cmd, rest)) = pick(Cmd::KNOWN, data, REQUEST_BYTES_MAX) else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let body = decode_body(&cmd, text);
    if !text.starts_with('\u{feff}') {
        let with_bom = format!("\u{feff}{text}");
        assert_eq!(
            decode_body(&cmd, &with_bom).ok(),
            body.ok(),
            "a BOM changes the body"
        );
    }
});
