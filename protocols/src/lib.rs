//! posgate-protocols: the wire contracts of the devices posgate serves.
//!
//! One module per wire protocol, each pure: types, parsing, validation, encoding, crypto
//! and its error-code table. Nothing here does I/O or is async, so every decoder can be
//! fuzzed and unit-tested on bytes alone. Shared pieces (money) live beside them.
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
pub mod ktv;
pub mod money;
pub mod mqtt_pos;
pub mod pospal;

pub use money::{AmountError, Fen, AMOUNT_FEN_MAX};
