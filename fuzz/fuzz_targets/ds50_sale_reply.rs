//! DS50: the sale reply (spec 3.5.2, the simulators' decoder). Invariants: `transStatus`
//! agrees with the code (checked by the decoder), and the reply round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use posgate_fuzz::decode_round_trip;
use posgate_protocols::ds50::limits::REPLY_BYTES_MAX;
use posgate_protocols::ds50::SaleReply;

fuzz_target!(|data: &[u8]| {
    decode_round_trip(data, REPLY_BYTES_MAX, SaleReply::decode, SaleReply::encode);
});
