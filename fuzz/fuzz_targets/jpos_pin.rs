//! jpos: the PIN block reader `open_pin_block`. Input: a 16-byte PIN key, then the text
//! `{password hex}[,{card number}]`. Invariant: a block that opens is exactly the block
//! `seal_pin_block` builds for that PIN (format 0 leaves no free bits).
#![no_main]

use libfuzzer_sys::fuzz_target;
use posgate_fuzz::{bounded, DEFAULT_PAN};
use posgate_protocols::jpos::limits::VALUE_BYTES_MAX;
use posgate_protocols::jpos::pin::{open_pin_block, seal_pin_block};
use posgate_protocols::jpos::types::PinBlock;

fuzz_target!(|data: &[u8]| {
    let Some((key, rest)) = data.split_first_chunk::<16>() else {
        return;
    };
    let Some(rest) = bounded(rest, VALUE_BYTES_MAX) else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let (password, pan) = text.split_once(',').unwrap_or((text, DEFAULT_PAN));
    let Ok(block) = PinBlock::parse(password) else {
        return;
    };
    let Ok(pin) = open_pin_block(key, &block, pan) else {
        return;
    };
    let sealed = seal_pin_block(key, &pin, pan).expect("an opened PIN seals again");
    assert_eq!(
        sealed.expose(),
        block.expose(),
        "the PIN block has free bits"
    );
});
