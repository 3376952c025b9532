//! Every limit of the Pospal codec, in one place, each with the reason for its number.
//!
//! Notifications carry identifiers and a few short logs, not whole documents (the spec
//! says to fetch the entity through the open API), so they are small; `product.edit` is
//! the only list that can grow (one object per changed barcode).

/// Largest notification accepted, in bytes (HTTP request body). A ticket notification is
/// well under 2 KiB; 256 KiB leaves room for a `product.edit` of several thousand barcodes.
pub const REQUEST_BYTES_MAX: usize = 256 * 1024;

/// Deepest nesting of the envelope: one object (its `body` is a string).
pub const ENVELOPE_DEPTH_MAX: usize = 2;

/// Deepest nesting of a decoded `body`: ticket bodies are object > array > object (3).
pub const BODY_DEPTH_MAX: usize = 8;

/// Most entries in one of a ticket's log arrays (`customerBalanceUsedLogs`,
/// `customerPointGaintLogs`, `payments`): a ticket has one or two.
pub const TICKET_LOG_ENTRIES_MAX: usize = 1_000;

/// Most barcodes in one `product.edit`.
pub const BARCODES_MAX: usize = 20_000;

/// Longest `cmd`, in characters (the longest known is 41).
pub const CMD_CHARS_MAX: usize = 64;

/// Longest `appId`, in characters (the spec's examples have 32).
pub const APP_ID_CHARS_MAX: usize = 128;

/// Longest text field of a body (sn, names, codes, barcodes), in characters.
pub const TEXT_CHARS_MAX: usize = 256;

/// Longest number, in characters, as written in the JSON (a Java `long` has 20 with its
/// sign; a BigDecimal amount far fewer).
pub const NUMBER_CHARS_MAX: usize = 40;
