//! DS50: the transaction details reply (the simulators' decoder). Invariants: no more
//! entries than the total, and the reply round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use posgate_fuzz::assert_round_trip;
use posgate_protocols::ds50::limits::REPLY_BYTES_MAX;
use posgate_protocols::ds50::DetailsReply;

fuzz_target!(|data: &[u8]| {
    if data.len() > REPLY_BYTES_MAX + 1 {
        return;
    }
    if let Ok(reply) = DetailsReply::decode(data) {
        assert_round_trip(&reply, DetailsReply::decode(&reply.encode()));
    }
});
