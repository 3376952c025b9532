//! posgate-actors: the domain.
//!
//! - [`ledger`]: the posting rules (double entry, idempotency, limits, voids, refunds).
//! - [`store`]: the ledger store, PostgreSQL and SQLite behind one seam.
//! - [`accounts`]: the sharded accounts actor that batches postings into group commits.
//! - [`entity`]: terminal, merchant and venue actors, spawned on demand by a registry.
//! - [`cards`]: the keyed card index (HMAC of the PAN, masked display).

pub mod accounts;
pub mod cards;
pub mod entity;
pub mod ledger;
pub mod mailbox;
pub mod model;
pub mod store;
pub mod testing;
