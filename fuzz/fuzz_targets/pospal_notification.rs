//! Pospal: a whole notification (envelope, then the body by `cmd`). Invariants: with the
//! right `data-signature` the verified pipeline gives what the unverified decoder gives;
//! with a wrong one it refuses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use posgate_fuzz::{bounded, POSPAL_APP_KEY};
use posgate_protocols::pospal::limits::REQUEST_BYTES_MAX;
use posgate_protocols::pospal::{sign, AppKey, Notification, PospalError};

fuzz_target!(|data: &[u8]| {
    let Some(data) = bounded(data, REQUEST_BYTES_MAX) else {
        return;
    };
    let key = AppKey::new(POSPAL_APP_KEY);
    let plain = Notification::decode(data);
    let signature = sign(&key, data);
    let verified = Notification::decode_verified(data, Some(&signature), |_| Some(&key));
    assert_eq!(
        plain.is_ok(),
        verified.is_ok(),
        "signature changes the verdict"
    );
    assert_eq!(plain.as_ref().ok(), verified.as_ref().ok());
    if plain.is_ok() {
        let forged = Notification::decode_verified(data, Some("00"), |_| Some(&key));
        assert!(matches!(forged, Err(PospalError::BadSignature)));
    }
});
