//! MQTT POS: `decode_device_message` for each topic kind (the first byte chooses the kind).
//! Invariant: a message decodes to a variant its topic can carry, and a payload over the
//! topic's bound is refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use posgate_fuzz::pick;
use posgate_protocols::mqtt_pos::limits::{PAYLOAD_BYTES_MAX, PHOTO_PAYLOAD_BYTES_MAX};
use posgate_protocols::mqtt_pos::{decode_device_message, DeviceMessage, DeviceMessageKind};

fuzz_target!(|data: &[u8]| {
    let Some((kind, payload)) = pick(DeviceMessageKind::all(), data, PHOTO_PAYLOAD_BYTES_MAX)
    else {
        return;
    };
    let decoded = decode_device_message(kind, payload);
    if kind != DeviceMessageKind::FrameImgup && payload.len() > PAYLOAD_BYTES_MAX {
        assert!(decoded.is_err(), "an oversized payload was accepted");
    }
    let Ok(message) = decoded else { return };
    use DeviceMessage as M;
    use DeviceMessageKind as K;
    let carried = matches!(
        (kind, &message),
        (_, M::Online(_))
            | (K::ApiRet, M::Consume(_) | M::Ack(_))
            | (K::PosPay, M::BalanceQuery(_))
            | (K::Message, M::Notice(_))
            | (K::FrameImgup, M::Photo(_))
            | (K::MenuRec, M::MenuRecord(_))
    );
    assert!(carried, "{kind:?} decoded as another topic's message");
});
