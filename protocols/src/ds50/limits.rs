//! Every limit of the DS50 codec, in one place, each with the reason for its number.
//!
//! The device's messages are small and flat; the limits are a few times what the spec's
//! examples need, so that a real device never hits them and a hostile sender cannot make
//! the decoder allocate much or recurse deeply.

/// Largest sale or details request accepted, in bytes. The spec's sale example is ~900
/// bytes, most of it `emvData`; 8 KiB leaves room for the largest EMV data below.
pub const REQUEST_BYTES_MAX: usize = 8 * 1024;

/// Largest reply or broadcast payload decoded (simulators, tests), in bytes. A details reply
/// holds at most [`PAGE_SIZE_MAX`] entries of ~300 bytes.
pub const REPLY_BYTES_MAX: usize = 32 * 1024;

/// Largest `posparam.ini` accepted, in bytes. The template is ~800 bytes.
pub const POSPARAM_BYTES_MAX: usize = 16 * 1024;

/// Deepest JSON nesting accepted. Requests are flat objects (depth 1); the details reply has
/// an array of objects (depth 3); `posparam.ini` has two sections (depth 2).
pub const JSON_DEPTH_MAX: usize = 4;

/// Longest `emvData`, in hex characters: ISO 8583 field 55 carries at most 255 bytes in
/// practice; 512 bytes (1024 hex characters) is twice that.
pub const EMV_DATA_HEX_CHARS_MAX: usize = 1024;

/// Longest track 2, in characters: ISO 7813 allows 37 data characters; one more for the `F`
/// pad some readers add to reach an even number of nibbles.
pub const TRACK2_CHARS_MAX: usize = 38;

/// Shortest and longest PAN, in digits (ISO 7812): the rule all protocols share.
pub use crate::pan::{PAN_DIGITS_MAX, PAN_DIGITS_MIN};

/// Length of a PIN block, in hex characters (ISO 9564: 8 bytes).
pub const PIN_BLOCK_HEX_CHARS: usize = 16;

/// Longest device serial number, in characters (the spec's example has 16).
pub const DEVICE_SN_CHARS_MAX: usize = 32;

/// Longest free text field (`model`, `appVersion`, `cardOrg`), in characters.
pub const SHORT_TEXT_CHARS_MAX: usize = 32;

/// Longest acquirer authorisation code, in characters (the spec shows 8 and 10).
pub const AUTH_CODE_CHARS_MAX: usize = 12;

/// Largest page a details request may ask for. The spec fixes the page at 1 record; 20
/// leaves room for a firmware that asks for more without letting it ask for thousands.
pub const PAGE_SIZE_MAX: u32 = 20;

/// Largest page number accepted: a device does not make 100 000 sales a day.
pub const PAGE_NO_MAX: u32 = 100_000;

/// Longest broadcast `message`, in characters: it is spoken by a text-to-speech engine.
pub const BROADCAST_MESSAGE_CHARS_MAX: usize = 200;

/// Longest broadcast `orderId`, in bytes: the reference firmware keeps the last one in
/// `orgOrderId[32+1]` (`app_emqx.c`) to drop a repeated broadcast.
pub const ORDER_ID_CHARS_MAX: usize = 32;

/// Most digits of a broadcast `amount` (cents): the reference firmware copies it into
/// `amt[12+1]` (`app_emqx.c`) and the EMV amount is twelve digits.
pub const BROADCAST_AMOUNT_DIGITS_MAX: usize = 12;

/// Largest broadcast payload, in bytes: the reference firmware copies it into `msg[1024]`
/// and needs a terminating NUL.
pub const BROADCAST_PAYLOAD_BYTES_MAX: usize = 1023;

/// Longest MQTT topic prefix, in bytes (the whole topic stays far below MQTT's 65 535).
pub const TOPIC_PREFIX_BYTES_MAX: usize = 128;

/// Longest `posparam.ini` value (host, path, key, user, password), in characters, before
/// the per-field firmware limits below.
pub const PARAM_VALUE_CHARS_MAX: usize = 256;

/// Longest value of each `posparam.ini` field, in bytes: the reference firmware
/// (`app_param.h`, `POS_PARAM_ST`) copies each value into a fixed buffer without a length
/// check, so a value must leave room for the terminating NUL (`char mqtt_topic_command[32]`
/// holds 31 bytes). `pgw_api_key` has 1024 bytes there; `pgw_api_sale` and
/// `pgw_api_details` 32.
pub const FIRMWARE_FIELD_BYTES_MAX: &[(&str, usize)] = &[
    ("mqtt_endpoint", 127),
    ("mqtt_port", 7),
    ("mqtt_username", 63),
    ("mqtt_password", 63),
    ("mqtt_topic", 31),
    ("pgw_endpoint", 127),
    ("pgw_port", 7),
    ("pgw_api_key", 1023),
    ("pgw_api_key_expiry", 15),
    ("pgw_api_sale", 31),
    ("pgw_api_details", 31),
];

/// The firmware's limit of a `posparam.ini` field, bytes ([`FIRMWARE_FIELD_BYTES_MAX`]).
pub fn firmware_field_bytes_max(field: &str) -> usize {
    FIRMWARE_FIELD_BYTES_MAX
        .iter()
        .find(|(name, _)| *name == field)
        .map_or(PARAM_VALUE_CHARS_MAX, |(_, max)| *max)
}
