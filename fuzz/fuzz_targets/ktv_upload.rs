//! KTV: `decode_upload`, the whole intake of an upload body for each path (the first byte
//! chooses it), with the venue's key fixed. Invariant: it agrees with the two-step
//! `decode_envelope` + `Envelope::decode_with` under the same key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use posgate_fuzz::{bounded, pick, KTV_KEY};
use posgate_protocols::ktv::limits::UPLOAD_BODY_BYTES_MAX;
use posgate_protocols::ktv::upload::UploadPath;
use posgate_protocols::ktv::{decode_envelope, decode_upload, AesKey, SealPolicy};

fuzz_target!(|data: &[u8]| {
    let Some((path, body)) = pick(&UploadPath::ALL, data) else {
        return;
    };
    let Some(body) = bounded(body, UPLOAD_BODY_BYTES_MAX) else {
        return;
    };
    let key = AesKey::from_bytes(KTV_KEY);
    let upload = decode_upload(path, body, |_| Some(key.clone()));
    let policy = SealPolicy {
        key: Some(key),
        ..SealPolicy::default()
    };
    let two_step = decode_envelope(body).and_then(|e| e.decode_with(path, &policy));
    assert_eq!(
        upload.ok(),
        two_step.ok(),
        "decode_upload and decode_with disagree"
    );
});
