//! The ledger: double-entry postings in integer minor units.
//!
//! [`types`] is the vocabulary adapters speak; [`engine`] holds the rules, pure and shared by
//! both backends.

pub mod engine;
pub mod types;

pub use types::*;
