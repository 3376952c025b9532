//! posgate-protocols: the wire contracts of the devices posgate serves.
//!
//! One module per wire protocol, each pure: types, parsing, validation, encoding, crypto
//! and its error-code table. Nothing here does I/O or is async, so every decoder can be
//! fuzzed and unit-tested on bytes alone. Pieces the protocols share live beside them:
//! [`money`] (fen amounts), [`pan`] (card numbers), [`secret`] (masked secrets) and
//! `json` (bounded JSON reading), so that no protocol module carries a copy of another's.
//!
//! | module | spec | posgate's role |
//! |---|---|---|
//! | [`mqtt_pos`] | canteen consumption machines over MQTT | server |
//! | [`jpos`] | loyalty-card terminals, HTTP form posts | access-layer server |
//! | [`ds50`] | DS50 payment box / cloud speaker | payment server, broadcaster |
//! | [`pospal`] | Pospal cloud POS webhooks | notification consumer |
//! | [`ktv`] | KTV venue systems: uploads, WJ091 over RabbitMQ | online back end |

pub mod ds50;
pub mod jpos;
pub(crate) mod json;
pub mod ktv;
pub mod money;
pub mod mqtt_pos;
pub mod pan;
pub mod pospal;
pub mod sealed;
pub mod secret;

pub use money::{AmountError, Fen, AMOUNT_FEN_MAX};
