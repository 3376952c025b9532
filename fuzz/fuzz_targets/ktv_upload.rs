//! KTV: `decode_upload`, the whole intake of an upload body for each path (the first byte
//! chooses it), with the venue's key fixed. Invariants: it agrees with the two-step
//! `decode_envelope` + `Envelope::decode_with` under the policy it implies (the key is
//! only asked for when `data` is sealed, so inline notify and payment_setting pass); and
//! what the adapter's stricter policy (a venue with a key must seal everything but
//! openTime) accepts, `decode_upload` accepts as the same upload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use posgate_fuzz::{pick, KTV_KEY};
use posgate_protocols::ktv::limits::UPLOAD_BODY_BYTES_MAX;
use posgate_protocols::ktv::upload::{EnvelopeData, UploadPath};
use posgate_protocols::ktv::{decode_envelope, decode_upload, AesKey, SealPolicy};

fuzz_target!(|data: &[u8]| {
    let Some((path, body)) = pick(&UploadPath::ALL, data, UPLOAD_BODY_BYTES_MAX) else {
        return;
    };
    let key = AesKey::from_bytes(KTV_KEY);
    let upload = decode_upload(path, body, |_| Some(key.clone())).ok();
    let Ok(envelope) = decode_envelope(body) else {
        assert!(
            upload.is_none(),
            "decode_upload read a body decode_envelope refuses"
        );
        return;
    };
    let sealed = matches!(envelope.data, EnvelopeData::Sealed(_));
    let implied = SealPolicy {
        key: sealed.then(|| key.clone()),
        ..SealPolicy::default()
    };
    let two_step = envelope.decode_with(path, &implied).ok();
    assert_eq!(upload, two_step, "decode_upload and decode_with disagree");
    let strict = SealPolicy {
        key: Some(key),
        ..SealPolicy::default()
    };
    if let Ok(accepted) = envelope.decode_with(path, &strict) {
        assert_eq!(
            upload,
            Some(accepted),
            "the adapter's policy reads another upload"
        );
    }
});
