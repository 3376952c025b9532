//! DS50: the transaction details request (spec 3.5.3). Invariant: the page offset it
//! gives is computed without overflow (the decoder bounds page number and size).
#![no_main]

use libfuzzer_sys::fuzz_target;
use posgate_fuzz::bounded;
use posgate_protocols::ds50::limits::{PAGE_NO_MAX, PAGE_SIZE_MAX, REQUEST_BYTES_MAX};
use posgate_protocols::ds50::DetailsRequest;

fuzz_target!(|data: &[u8]| {
    let Some(data) = bounded(data, REQUEST_BYTES_MAX) else {
        return;
    };
    if let Ok(request) = DetailsRequest::decode(data) {
        assert!(request.offset() <= u64::from(PAGE_NO_MAX) * u64::from(PAGE_SIZE_MAX));
    }
});
