//! Pospal: the notification envelope. Invariant: a decoded envelope's `cmd` is a known
//! one or a trimmed, non-empty unknown name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use posgate_fuzz::bounded;
use posgate_protocols::pospal::limits::REQUEST_BYTES_MAX;
use posgate_protocols::pospal::{Cmd, Envelope};

fuzz_target!(|data: &[u8]| {
    let Some(data) = bounded(data, REQUEST_BYTES_MAX) else {
        return;
    };
    let Ok(envelope) = Envelope::decode(data) else {
        return;
    };
    if let Cmd::Unknown(name) = &envelope.cmd {
        assert!(!name.is_empty() && name.trim() == name, "cmd not trimmed");
        assert!(!Cmd::KNOWN.iter().any(|known| known.as_str() == name));
    }
    assert_eq!(
        Cmd::parse(envelope.cmd.as_str()).ok(),
        Some(envelope.cmd.clone())
    );
});
