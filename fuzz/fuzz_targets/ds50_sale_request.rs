//! DS50: the sale request (spec 3.5.1). Invariants: the card number read from track 2
//! agrees with the masked `cardNo`, and neither the request's `Debug` nor its idempotency
//! key shows the full card number.
#![no_main]

use libfuzzer_sys::fuzz_target;
use posgate_fuzz::{assert_pan_hidden, bounded};
use posgate_protocols::ds50::limits::REQUEST_BYTES_MAX;
use posgate_protocols::ds50::SaleRequest;

fuzz_target!(|data: &[u8]| {
    let Some(data) = bounded(data, REQUEST_BYTES_MAX) else {
        return;
    };
    let Ok(request) = SaleRequest::decode(data) else {
        return;
    };
    let pan = request.pan();
    assert!(request.card_no.matches(&pan), "cardNo and track 2 disagree");
    assert_pan_hidden(&format!("{request:?}"), pan.expose());
    assert_pan_hidden(&request.idempotency_key(), pan.expose());
});
