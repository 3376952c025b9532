//! Every bound of the KTV codec in one place, each with the reason for its number.
//!
//! The decoders parse a JSON document into a `serde_json::Value` before typing it, so the
//! memory they use is proportional to the bytes they were given: the byte limits below are
//! what bounds allocation. The count limits are then checked on the typed result, so that an
//! upload that is syntactically small but semantically absurd (ten thousand payments on one
//! bill) is refused with a clear reason instead of reaching the ledger. JSON nesting depth is
//! bounded by serde_json's own recursion limit (128 levels), far above the 4 levels the
//! spec's messages use.

/// Largest HTTP upload body, in bytes, before anything is parsed.
///
/// The spec expects a whole business day of bills to fit "in one http request" once
/// compressed; a large venue's day (a few thousand bills at ~3 KiB of JSON each) compresses
/// to well under 2 MiB, and base64 adds a third. 8 MiB leaves room for growth.
pub const UPLOAD_BODY_BYTES_MAX: usize = 8 * 1024 * 1024;

/// Largest gzip-decompressed payload, in bytes (the zip-bomb guard of `open` and of WJ091).
///
/// Four times the body limit: bill JSON compresses about 10:1, so a legitimate day of bills is
/// far below this, while a crafted gzip stream (which can expand 1000:1) is cut off here.
pub const DECOMPRESSED_BYTES_MAX: usize = 32 * 1024 * 1024;

/// Largest WJ091 reply message, in bytes, as received from RabbitMQ.
///
/// One page of at most [`WJ091_PAGE_SIZE_MAX`] bills, even uncompressed, stays below this.
pub const WJ091_REPLY_BYTES_MAX: usize = 8 * 1024 * 1024;

/// Largest WJ091 request accepted by [`super::decode_request`] (simulators, tests). The
/// spec's requests are a dozen short fields, under 300 bytes.
pub const WJ091_REQUEST_BYTES_MAX: usize = 4 * 1024;

/// Most bills in one `vouchers` upload (or one WJ091 type-2 page).
///
/// Bills are uploaded in real time, one or a few at a time; the legacy batch form carried a
/// whole business day, and even very large venues close fewer than this many bills a day.
pub const BILLS_PER_UPLOAD_MAX: usize = 5_000;

/// Most charge lines (应收明细) on one bill. The spec's example has 6; venues extend names
/// freely but rarely beyond a few dozen.
pub const CHARGES_PER_BILL_MAX: usize = 256;

/// Most payment lines (支付明细) on one bill. A bill paid in more than a few dozen ways is
/// not a real bill.
pub const PAYMENTS_PER_BILL_MAX: usize = 64;

/// Most item lines (details) under one charge. A party room's drink list with packages and
/// their sub-items can be long, but not this long.
pub const DETAILS_PER_CHARGE_MAX: usize = 2_000;

/// Most rooms in one realtime upload. The largest KTV venues have a few hundred rooms.
pub const ROOMS_MAX: usize = 1_000;

/// Most second-level room states (二级房态) on one room; the spec knows five keys.
pub const SECOND_STATES_PER_ROOM_MAX: usize = 64;

/// Most rows in a notify upload, a payment-setting upload or a WJ091 list reply that is not
/// paged (payment settings, bookings of one room).
pub const ROWS_UNPAGED_MAX: usize = 1_000;

/// Largest WJ091 `page_size`. The spec: "通娱系统返回 200 条数据就会出现超时", so asking for
/// more than 200 rows a page is never useful; the default is 100.
pub const WJ091_PAGE_SIZE_MAX: u32 = 200;

/// WJ091 `page_size` when none is given (the spec's default).
pub const WJ091_PAGE_SIZE_DEFAULT: u32 = 100;

/// Largest WJ091 `total` accepted: a business day of bills or member records of a large
/// venue is in the thousands; a total above this is a corrupt reply and would page forever.
pub const WJ091_TOTAL_ROWS_MAX: u32 = 100_000;

/// Longest venue code (companycode). Codes in the spec are 5 digits ("01103").
pub const COMPANYCODE_CHARS_MAX: usize = 32;

/// Longest upload path accepted by [`super::UploadPath::parse`].
pub const PATH_CHARS_MAX: usize = 256;
