//! Every bound of the MQTT POS codec, in one place, each with the reason for its number.
//!
//! The decoders check these before allocating, so a device (or anybody able to publish on the
//! broker) cannot make posgate build an unbounded value. Names carry their unit last
//! (`_bytes_max`, `_max` for counts) so a reader never guesses what a number means.

/// Largest payload accepted on any device topic except `frame_imgup`.
///
/// A consumption request is well under 1 KiB; 64 KiB leaves room for a command
/// acknowledgement that carries a terminal-information result, and no more.
pub const PAYLOAD_BYTES_MAX: usize = 64 * 1024;

/// Largest decoded photo of a `frame_imgup` upload: 1 MiB.
///
/// The terminals take small camera snapshots (tens of KiB); 1 MiB is a generous ceiling that
/// still keeps one upload from exhausting memory.
pub const PHOTO_BYTES_MAX: usize = 1024 * 1024;

/// Largest payload accepted on `frame_imgup`: the base64 form of [`PHOTO_BYTES_MAX`]
/// (4/3 of it) plus line breaks and the few small JSON fields around it.
pub const PHOTO_PAYLOAD_BYTES_MAX: usize = PHOTO_BYTES_MAX / 3 * 4 + PHOTO_BYTES_MAX / 32 + 4096;

/// Deepest JSON nesting accepted. The deepest message of the spec (a list of objects inside
/// the message object) has depth 3; 8 leaves room for a nested acknowledgement result.
pub const JSON_DEPTH_MAX: usize = 8;

/// Most JSON values (scalars, arrays and objects counted alike) in one payload.
///
/// A menu record of [`MENU_LINES_MAX`] lines has about 3 values per line; 4096 covers it and
/// any acknowledgement result while bounding the tree the parser builds.
pub const JSON_VALUES_MAX: usize = 4096;

/// Longest MQTT topic accepted: prefix, `pos`, device id, suffix and separators fit in 128.
pub const TOPIC_BYTES_MAX: usize = 128;

/// Longest topic prefix (the device's "Topic 前缀" setting; default `jdev`).
pub const PREFIX_BYTES_MAX: usize = 32;

/// Longest device id. The spec's ids are 5 to 8 digits; 32 admits serial numbers too.
pub const DEVICE_ID_BYTES_MAX: usize = 32;

/// Longest user id (`userId`, the whitelist's person number as text). The spec's are 6 digits.
pub const USER_ID_BYTES_MAX: usize = 32;

/// Longest acknowledgement id (`sAckId`, "a random string"); 64 fits any UUID form.
pub const ACK_ID_BYTES_MAX: usize = 64;

/// Longest short free-text field from a device (`msgType`, `idenType`, a message `type` or
/// `param`): these are tokens, 64 bytes is plenty.
pub const SHORT_TEXT_BYTES_MAX: usize = 64;

/// Longest `imgPath` accepted before sanitising (the spec's is 23 bytes).
pub const IMG_PATH_BYTES_MAX: usize = 255;

/// Most path components kept in a sanitised `imgPath` (the spec's has 2: date and file).
pub const IMG_PATH_COMPONENTS_MAX: usize = 8;

/// Largest `posNum` (serial number): 2^53 - 1, the largest integer a JSON number keeps exactly
/// in every implementation (devices built on JavaScript-like stacks included).
pub const POS_NUM_MAX: u64 = 9_007_199_254_740_991;

/// Largest number of copies (份) in one consumption: a canteen tray never holds 1000 meals.
pub const COPIES_MAX: u32 = 999;

/// Highest meal/menu group number: the spec allows groups 0 to 6 (7 groups).
pub const MEAL_GROUP_MAX: u8 = 6;

/// Highest discount (`dz`, `offlineDz`): percent of the full price, 100 = full price.
pub const DISCOUNT_MAX: u8 = 100;

/// Most lines in one uploaded dish record (`menu_rec`).
pub const MENU_LINES_MAX: usize = 200;

/// Largest quantity of one dish line in a dish record.
pub const MENU_QUANTITY_MAX: u32 = 10_000;

/// Most extra fields kept from an online message (they are informational only).
pub const ONLINE_ATTRIBUTES_MAX: usize = 32;

/// Largest acknowledgement result (`data`) kept, as compact JSON text.
pub const ACK_DATA_BYTES_MAX: usize = 16 * 1024;

/// Largest command payload published inline on `…/api`.
///
/// The terminals are embedded devices, and the spec itself says large data belongs in a file
/// fetched through `cmdDataUrl`; past 256 KiB the encoder refuses and asks for that form.
pub const COMMAND_PAYLOAD_BYTES_MAX: usize = 256 * 1024;

/// Largest document served at a `cmdDataUrl` (e.g. a full whitelist with inline photos).
pub const REMOTE_DOCUMENT_BYTES_MAX: usize = 64 * 1024 * 1024;

/// Most items in one meal menu group (keys are typed on a keypad; 200 is far past practice).
pub const MENU_ITEMS_MAX: usize = 200;

/// Most media (advertisement pictures) in one command.
pub const MEDIA_ITEMS_MAX: usize = 100;

/// Most whitelist entries in one command (inline or remote document).
pub const WHITELIST_ENTRIES_MAX: usize = 100_000;

/// Longest URL (`baseUrl`, `cmdDataUrl`, media and photo URLs).
pub const URL_BYTES_MAX: usize = 1024;

/// Longest display text sent to a device (names, department, dish and place names), in
/// characters: the terminals' screens show far fewer.
pub const DISPLAY_TEXT_CHARS_MAX: usize = 64;

/// Longest QR-code key (`qrKey`) and whitelist password (`w`).
pub const SECRET_BYTES_MAX: usize = 128;

/// Longest `keepMs` of an openDoor command: one minute.
pub const OPEN_DOOR_KEEP_MS_MAX: u32 = 60_000;
