//! Every bound of the jpos codec, in one place, with the reason for its number.
//!
//! The spec gives no sizes, so each limit is the largest a legitimate terminal needs with a
//! wide margin, small enough that a hostile body cannot make the decoder allocate much.

/// Largest form body accepted, in bytes. The biggest legitimate request (a consume with a
/// voucher list of [`LIST_ITEMS_MAX`] items, percent-encoded) stays under 4 KiB.
pub const BODY_BYTES_MAX: usize = 16 * 1024;

/// Most `key=value` pairs in one form. The widest request (settlement) has 17 fields; the
/// margin leaves room for fields a later minor version adds (the spec's rule 2).
pub const FIELD_COUNT_MAX: usize = 48;

/// Longest form key, in bytes after decoding. The longest spec key (`avaiablePointBalance`)
/// has 20 characters.
pub const KEY_BYTES_MAX: usize = 32;

/// Longest form value, in bytes after decoding: the JSON list fields are the long ones.
pub const VALUE_BYTES_MAX: usize = LIST_JSON_BYTES_MAX;

/// Longest JSON text of a list field (`vaucher`, `ticket`), in bytes. [`LIST_ITEMS_MAX`]
/// items of about 60 bytes each fit with room to spare; `serde_json` then parses at most
/// this much, with its own nesting limit of 128.
pub const LIST_JSON_BYTES_MAX: usize = 4 * 1024;

/// Most items in a list field. A terminal sells a handful of voucher or ticket kinds at once.
pub const LIST_ITEMS_MAX: usize = 32;

/// Largest `num` (quantity) of one voucher or ticket line.
pub const ITEM_NUM_MAX: u32 = 9_999;

/// Longest identifier (storeNo, terminalNo, operatorNo, serialNo, ...), in characters.
/// ISO 8583 merchant ids have 15 and terminal ids 8; reference numbers 12 to 14.
pub const ID_CHARS_MAX: usize = 32;

/// Longest cash-register trace number (registerTraceNo), in characters: chosen by the
/// merchant's till software, so given more room than our own identifiers.
pub const REGISTER_TRACE_CHARS_MAX: usize = 64;

/// Longest `consumeType`, in characters: a short code whose values the spec leaves open.
pub const CONSUME_TYPE_CHARS_MAX: usize = 16;

/// Card number length bounds, in characters (ISO/IEC 7812 PANs have 12 to 19 digits;
/// loyalty card numbers may be shorter).
pub const CARD_NO_CHARS_MIN: usize = 4;
/// See [`CARD_NO_CHARS_MIN`].
pub const CARD_NO_CHARS_MAX: usize = 32;

/// Longest track 2 data, in characters (ISO/IEC 7813: 37 characters without sentinels).
pub const TRACK2_CHARS_MAX: usize = 37;

/// Longest track 3 data, in characters (ISO 4909: 104 characters without sentinels).
pub const TRACK3_CHARS_MAX: usize = 104;

/// PIN block (`password`) length bounds, in bytes after hex decoding: an ISO 9564 PIN
/// block is 8 bytes (16 bytes for AES format 4).
pub const PIN_BLOCK_BYTES_MIN: usize = 8;
/// See [`PIN_BLOCK_BYTES_MIN`].
pub const PIN_BLOCK_BYTES_MAX: usize = 16;

/// Mobile number length bounds, in digits (E.164 numbers have at most 15).
pub const MOBILE_DIGITS_MIN: usize = 5;
/// See [`MOBILE_DIGITS_MIN`].
pub const MOBILE_DIGITS_MAX: usize = 15;

/// Longest SMS verification code, in characters.
pub const VERIFY_CODE_CHARS_MAX: usize = 16;

/// Longest settlement count accepted per figure: ten million transactions in one batch.
pub const SETTLE_COUNT_MAX: u64 = 10_000_000;
