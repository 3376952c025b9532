//! KTV: the upload envelope `{companycode, data, ...}`. Invariant: it round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use posgate_fuzz::assert_round_trip;
use posgate_protocols::ktv::decode_envelope;
use posgate_protocols::ktv::limits::UPLOAD_BODY_BYTES_MAX;

fuzz_target!(|data: &[u8]| {
    if data.len() > UPLOAD_BODY_BYTES_MAX + 1 {
        return;
    }
    if let Ok(envelope) = decode_envelope(data) {
        assert_round_trip(&envelope, decode_envelope(&envelope.encode()));
    }
});
