//! DS50: the voice broadcast payload (spec 3.4). Invariants: what decodes fits the
//! firmware's payload buffer once encoded, and round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use posgate_fuzz::decode_round_trip;
use posgate_protocols::ds50::limits::{BROADCAST_PAYLOAD_BYTES_MAX, REPLY_BYTES_MAX};
use posgate_protocols::ds50::Broadcast;

fuzz_target!(|data: &[u8]| {
    if let Some(broadcast) =
        decode_round_trip(data, REPLY_BYTES_MAX, Broadcast::decode, Broadcast::encode)
    {
        let bytes = broadcast.encode().len();
        assert!(
            bytes <= BROADCAST_PAYLOAD_BYTES_MAX,
            "payload over the firmware buffer"
        );
    }
});
