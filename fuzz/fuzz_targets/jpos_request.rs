//! jpos: `decode_request` for every `Endpoint::ALL` (the first byte chooses the endpoint).
//! Invariants: a decoded request belongs to its endpoint, and its form decodes back to it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use posgate_fuzz::{assert_round_trip, pick};
use posgate_protocols::jpos::limits::BODY_BYTES_MAX;
use posgate_protocols::jpos::{decode_request, Endpoint};

fuzz_target!(|data: &[u8]| {
    let Some((endpoint, body)) = pick(&Endpoint::ALL, data, BODY_BYTES_MAX) else {
        return;
    };
    let Ok(request) = decode_request(endpoint, body) else {
        return;
    };
    assert_eq!(request.endpoint(), endpoint);
    assert_round_trip(&request, decode_request(endpoint, &request.to_form()));
});
