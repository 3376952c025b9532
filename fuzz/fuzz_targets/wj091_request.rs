//! KTV WJ091: the request decoder (venue simulators). Invariant: it round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use posgate_fuzz::decode_round_trip;
use posgate_protocols::ktv::limits::WJ091_REQUEST_BYTES_MAX;
use posgate_protocols::ktv::{decode_request, Wj091Request};

fuzz_target!(|data: &[u8]| {
    decode_round_trip(
        data,
        WJ091_REQUEST_BYTES_MAX,
        decode_request,
        Wj091Request::encode,
    );
});
