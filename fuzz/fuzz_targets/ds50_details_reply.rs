//! DS50: the transaction details reply (the simulators' decoder). Invariants: no more
//! entries than the total, and the reply round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use posgate_fuzz::decode_round_trip;
use posgate_protocols::ds50::limits::REPLY_BYTES_MAX;
use posgate_protocols::ds50::DetailsReply;

fuzz_target!(|data: &[u8]| {
    let decoded = decode_round_trip(
        data,
        REPLY_BYTES_MAX,
        DetailsReply::decode,
        DetailsReply::encode,
    );
    if let Some(reply) = decoded {
        assert!(
            reply.entries().len() as u64 <= reply.total(),
            "more entries than the total"
        );
    }
});
