//! KTV WJ091: the request decoder (venue simulators). Invariant: it round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use posgate_fuzz::assert_round_trip;
use posgate_protocols::ktv::decode_request;
use posgate_protocols::ktv::limits::WJ091_REQUEST_BYTES_MAX;

fuzz_target!(|data: &[u8]| {
    if data.len() > WJ091_REQUEST_BYTES_MAX + 1 {
        return;
    }
    if let Ok(request) = decode_request(data) {
        assert_round_trip(&request, decode_request(&request.encode()));
    }
});
