//! posgate-protocols: the wire contracts of the devices posgate serves.
//!
//! One module per wire protocol, each pure: types, parsing, validation, encoding, crypto
//! and its error-code table. Nothing here does I/O or is async, so every decoder can be
//! fuzzed and unit-tested on bytes alone. Shared pieces (money) live beside them.

pub mod money;

pub use money::{AmountError, Fen, AMOUNT_FEN_MAX};
