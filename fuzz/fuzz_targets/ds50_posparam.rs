//! DS50: `posparam.ini` (spec 3.1/3.2). Invariant: a parsed file that renders (it fits
//! the firmware's buffers) parses back to the same parameters.
#![no_main]

use libfuzzer_sys::fuzz_target;
use posgate_fuzz::{assert_round_trip, bounded};
use posgate_protocols::ds50::limits::POSPARAM_BYTES_MAX;
use posgate_protocols::ds50::PosParam;

fuzz_target!(|data: &[u8]| {
    let Some(data) = bounded(data, POSPARAM_BYTES_MAX) else {
        return;
    };
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(params) = PosParam::parse(text) else {
        return;
    };
    if let Ok(rendered) = params.render() {
        assert_round_trip(&params, PosParam::parse(&rendered));
    }
});
