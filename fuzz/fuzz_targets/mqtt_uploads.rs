//! MQTT POS: the decoders of `uploads.rs` on their own (the first byte chooses one).
//! Invariant: where the entry point `decode_device_message` gives the topic's own message,
//! the decoder alone gives the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use posgate_fuzz::pick;
use posgate_protocols::mqtt_pos::limits::PHOTO_PAYLOAD_BYTES_MAX;
use posgate_protocols::mqtt_pos::{
    decode_device_message, BalanceQuery, DeviceMessage, DeviceMessageKind, DeviceNotice,
    MenuRecord, OnlineNotice, PhotoUpload,
};

const KINDS: [DeviceMessageKind; 5] = [
    DeviceMessageKind::PosPay,
    DeviceMessageKind::Message,
    DeviceMessageKind::FrameImgup,
    DeviceMessageKind::MenuRec,
    DeviceMessageKind::Online,
];

fuzz_target!(|data: &[u8]| {
    let Some((kind, payload)) = pick(&KINDS, data, PHOTO_PAYLOAD_BYTES_MAX) else {
        return;
    };
    let alone: Result<DeviceMessage, _> = match kind {
        DeviceMessageKind::PosPay => BalanceQuery::decode(payload).map(DeviceMessage::BalanceQuery),
        DeviceMessageKind::Message => DeviceNotice::decode(payload).map(DeviceMessage::Notice),
        DeviceMessageKind::FrameImgup => PhotoUpload::decode(payload).map(DeviceMessage::Photo),
        DeviceMessageKind::MenuRec => MenuRecord::decode(payload).map(DeviceMessage::MenuRecord),
        DeviceMessageKind::Online | DeviceMessageKind::ApiRet => {
            OnlineNotice::decode(payload).map(DeviceMessage::Online)
        }
    };
    let through_entry = decode_device_message(kind, payload);
    if let Ok(message) = through_entry {
        if kind == DeviceMessageKind::Online || !matches!(message, DeviceMessage::Online(_)) {
            assert_eq!(
                alone.ok(),
                Some(message),
                "entry point and decoder disagree"
            );
        }
    }
});
