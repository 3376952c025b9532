//! MQTT POS: the decoders of `consume.rs` (consumption request, command acknowledgement;
//! the first byte chooses). Invariant: what the `api_ret` entry point reads as that message
//! is what the decoder alone reads.
#![no_main]

use libfuzzer_sys::fuzz_target;
use posgate_fuzz::pick;
use posgate_protocols::mqtt_pos::limits::PAYLOAD_BYTES_MAX;
use posgate_protocols::mqtt_pos::{
    decode_device_message, CommandAck, ConsumeRequest, DeviceMessage, DeviceMessageKind,
};

fuzz_target!(|data: &[u8]| {
    let Some((ack, payload)) = pick(&[false, true], data, PAYLOAD_BYTES_MAX) else {
        return;
    };
    let alone = if ack {
        CommandAck::decode(payload).map(DeviceMessage::Ack)
    } else {
        ConsumeRequest::decode(payload).map(DeviceMessage::Consume)
    };
    let through_entry = decode_device_message(DeviceMessageKind::ApiRet, payload);
    if let (Ok(alone), Ok(entry)) = (&alone, &through_entry) {
        if std::mem::discriminant(alone) == std::mem::discriminant(entry) {
            assert_eq!(alone, entry, "entry point and decoder disagree");
        }
    }
});
