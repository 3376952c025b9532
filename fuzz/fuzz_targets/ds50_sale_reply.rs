//! DS50: the sale reply (spec 3.5.2, the simulators' decoder). Invariants: `transStatus`
//! agrees with the code (checked by the decoder), and the reply round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use posgate_fuzz::assert_round_trip;
use posgate_protocols::ds50::limits::REPLY_BYTES_MAX;
use posgate_protocols::ds50::SaleReply;

fuzz_target!(|data: &[u8]| {
    if data.len() > REPLY_BYTES_MAX + 1 {
        return;
    }
    if let Ok(reply) = SaleReply::decode(data) {
        assert_round_trip(&reply, SaleReply::decode(&reply.encode()));
    }
});
