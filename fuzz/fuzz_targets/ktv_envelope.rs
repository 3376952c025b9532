//! KTV: the upload envelope `{companycode, data, ...}`. Invariant: it round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use posgate_fuzz::decode_round_trip;
use posgate_protocols::ktv::limits::UPLOAD_BODY_BYTES_MAX;
use posgate_protocols::ktv::{decode_envelope, Envelope};

fuzz_target!(|data: &[u8]| {
    decode_round_trip(
        data,
        UPLOAD_BODY_BYTES_MAX,
        decode_envelope,
        Envelope::encode,
    );
});
