//! KTV: the JSON step of an upload, after decryption and gunzip: `decode_opened` with the
//! opened bytes for each path that carries sealed data (the first byte chooses it; openTime
//! is inline only and is covered by `ktv_upload`). Invariant: the typed upload is of the
//! path's kind and names the envelope's venue.
#![no_main]

use libfuzzer_sys::fuzz_target;
use posgate_fuzz::pick;
use posgate_protocols::ktv::limits::DECOMPRESSED_BYTES_MAX;
use posgate_protocols::ktv::upload::UploadPath;
use posgate_protocols::ktv::{CompanyCode, Envelope, Upload};

const PATHS: [UploadPath; 4] = [
    UploadPath::Realtime,
    UploadPath::Vouchers,
    UploadPath::Notify,
    UploadPath::PaymentSetting,
];

fuzz_target!(|data: &[u8]| {
    let Some((path, json)) = pick(&PATHS, data, DECOMPRESSED_BYTES_MAX) else {
        return;
    };
    let venue = CompanyCode::parse("FUZZ01").expect("a valid company code");
    let envelope = Envelope::plain(venue.clone(), serde_json::Value::Null);
    let Ok(upload) = envelope.decode_opened(path, Some(json)) else {
        return;
    };
    let companycode = match (path, &upload) {
        (UploadPath::Realtime, Upload::Realtime { companycode, .. })
        | (UploadPath::Vouchers, Upload::Vouchers { companycode, .. })
        | (UploadPath::Notify, Upload::Notify { companycode, .. })
        | (UploadPath::PaymentSetting, Upload::PaymentSetting { companycode, .. }) => companycode,
        _ => panic!("{path:?} typed as another path's upload"),
    };
    assert_eq!(companycode, &venue);
});
