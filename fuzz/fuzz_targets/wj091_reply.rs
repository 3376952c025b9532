//! KTV WJ091: the reply decoder, typed by the request it answers (one request per type;
//! the first byte chooses it). Invariant: a decoded reply encodes, zipped or not, to bytes
//! that decode to it again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use posgate_fuzz::{assert_round_trip, pick};
use posgate_protocols::ktv::limits::WJ091_REPLY_BYTES_MAX;
use posgate_protocols::ktv::{decode_reply, decode_request, Wj091Request};
use std::sync::OnceLock;

/// One request of each type, as a venue simulator would receive it.
const REQUESTS: [&str; 10] = [
    r#"{"cmdid":"WJ091","companycode":"FUZZ01","type":0}"#,
    r#"{"cmdid":"WJ091","companycode":"FUZZ01","type":1}"#,
    r#"{"cmdid":"WJ091","companycode":"FUZZ01","type":2,"date":"2026-12-01","page_size":2,"page_num":0}"#,
    r#"{"cmdid":"WJ091","companycode":"FUZZ01","type":3,"date":"2026-12-01","page_size":2,"page_num":1}"#,
    r#"{"cmdid":"WJ091","companycode":"FUZZ01","type":4,"roomid":"0010"}"#,
    r#"{"cmdid":"WJ091","companycode":"FUZZ01","type":5,"date":"2026-12-01"}"#,
    r#"{"cmdid":"WJ091","companycode":"FUZZ01","type":6}"#,
    r#"{"cmdid":"WJ091","companycode":"FUZZ01","type":7,"date":"2026-12-01"}"#,
    r#"{"cmdid":"WJ091","companycode":"FUZZ01","type":8,"date":"2026-12-01"}"#,
    r#"{"cmdid":"WJ091","companycode":"FUZZ01","type":9,"room_id":"0010","begin_date":"2026-12-01 10:00:00","end_date":"2026-12-01 23:00:00"}"#,
];

fn requests() -> &'static [Wj091Request] {
    static PARSED: OnceLock<Vec<Wj091Request>> = OnceLock::new();
    PARSED.get_or_init(|| {
        REQUESTS
            .iter()
            .map(|text| decode_request(text.as_bytes()).expect("a valid request"))
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((request, bytes)) = pick(requests(), data, WJ091_REPLY_BYTES_MAX) else {
        return;
    };
    let Ok(reply) = decode_reply(&request, bytes) else {
        return;
    };
    for zip in [false, true] {
        assert_round_trip(&reply, decode_reply(&request, &reply.encode(zip)));
    }
});
