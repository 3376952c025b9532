//! Validated field types of the jpos messages.
//!
//! Each wire field with a format gets a type whose constructor is its validator, so that a
//! request struct holding it is valid by construction. Card data (card number, tracks, PIN
//! block) and keys live in types whose `Debug` prints a mask and whose value is read through
//! an explicit, greppable `expose()`. Identifiers the spec types only as "string" are
//! bounded printable ASCII without spaces; the exact rules chosen are on each type.

use super::codes::JposError;
use super::limits::{
    CARD_NO_CHARS_MAX, CARD_NO_CHARS_MIN, CONSUME_TYPE_CHARS_MAX, ID_CHARS_MAX, MOBILE_DIGITS_MAX,
    MOBILE_DIGITS_MIN, PIN_BLOCK_BYTES_MAX, PIN_BLOCK_BYTES_MIN, REGISTER_TRACE_CHARS_MAX,
    TRACK2_CHARS_MAX, TRACK3_CHARS_MAX, VERIFY_CODE_CHARS_MAX,
};
use crate::pan;
use crate::secret::constant_time_eq;
use std::fmt;

/// The crate's masked wrapper for card data and keys (see [`crate::secret`]).
pub use crate::secret::Sensitive;

/// Masks a card number as the spec's receipts show it: first 6, `****`, last 4 (the shared
/// [`crate::pan`] mask). Shorter numbers, which only jpos accepts (loyalty cards, 4..=10
/// characters), keep only their last 4 characters, or nothing when 4 or fewer: that rule is
/// jpos's own and stays here.
pub fn mask_card_no(card_no: &str) -> String {
    if let Some(masked) = pan::mask_first6_last4(card_no) {
        return masked;
    }
    let chars: Vec<char> = card_no.chars().collect();
    let count = chars.len();
    if count > 4 {
        let tail: String = chars[count - 4..].iter().collect();
        format!("****{tail}")
    } else {
        "****".to_owned()
    }
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// Checks printable ASCII without spaces, 1..=`chars_max` characters.
fn graphic_ascii(field: &'static str, text: &str, chars_max: usize) -> Result<(), JposError> {
    if text.is_empty() {
        return Err(JposError::MissingField(field));
    }
    if text.len() > chars_max {
        return Err(JposError::InvalidField {
            field,
            reason: "too long",
        });
    }
    if !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(JposError::InvalidField {
            field,
            reason: "not printable ASCII",
        });
    }
    Ok(())
}

macro_rules! ascii_id {
    ($(#[$doc:meta])* $name:ident, $chars_max:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// Validates the wire text (`field` names it in errors).
            pub fn parse(field: &'static str, text: &str) -> Result<$name, JposError> {
                graphic_ascii(field, text, $chars_max)?;
                Ok($name(text.to_owned()))
            }

            /// The wire text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

ascii_id!(
    /// `storeNo`: merchant (store) number, 1..=32 printable ASCII characters, no spaces.
    StoreNo,
    ID_CHARS_MAX
);
ascii_id!(
    /// `terminalNo`: terminal number, 1..=32 printable ASCII characters, no spaces.
    TerminalNo,
    ID_CHARS_MAX
);
ascii_id!(
    /// `operatorNo`: cashier account, 1..=32 printable ASCII characters, no spaces.
    OperatorNo,
    ID_CHARS_MAX
);
ascii_id!(
    /// `serialNo` / `oriSerialNo`: reference number posgate assigned, 1..=32 printable
    /// ASCII characters (the spec's examples are 12 and 14 digits).
    SerialNo,
    ID_CHARS_MAX
);
ascii_id!(
    /// `registerTraceNo`: the cash register's own trace number, 1..=64 printable ASCII, no spaces.
    RegisterTraceNo,
    REGISTER_TRACE_CHARS_MAX
);
ascii_id!(
    /// `consumeType`: how the consume is paid; the spec lists no values, so it is kept as
    /// a short code (1..=16 printable ASCII) for the domain to interpret.
    ConsumeType,
    CONSUME_TYPE_CHARS_MAX
);
ascii_id!(
    /// `idNo`: identity document number, 1..=32 printable ASCII characters.
    IdNo,
    ID_CHARS_MAX
);

macro_rules! six_digits {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(u32);

        impl $name {
            /// The first number, `000001`.
            pub const FIRST: $name = $name(1);
            /// The largest number, `999999`.
            pub const MAX: $name = $name(999_999);

            /// From a number in `0..=999999`.
            pub const fn new(value: u32) -> Option<$name> {
                if value <= 999_999 {
                    Some($name(value))
                } else {
                    None
                }
            }

            /// Parses exactly six ASCII digits (`field` names it in errors).
            pub fn parse(field: &'static str, text: &str) -> Result<$name, JposError> {
                if text.is_empty() {
                    return Err(JposError::MissingField(field));
                }
                if text.len() != 6 || !is_digits(text) {
                    return Err(JposError::InvalidField {
                        field,
                        reason: "not 6 digits",
                    });
                }
                let value = text.parse().map_err(|_| JposError::InvalidField {
                    field,
                    reason: "not 6 digits",
                })?;
                Ok($name(value))
            }

            /// The number.
            pub const fn get(self) -> u32 {
                self.0
            }

            /// The next number; after `999999` it wraps to `000001` (never `000000`).
            pub const fn next(self) -> $name {
                if self.0 >= 999_999 {
                    $name::FIRST
                } else {
                    $name(self.0 + 1)
                }
            }

            /// The six-digit wire form, zero-padded.
            pub fn to_wire(self) -> String {
                format!("{:06}", self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:06}", self.0)
            }
        }
    };
}

six_digits!(
    /// `batchNo`: six-digit batch number ("6 位数字定长").
    BatchNo
);
six_digits!(
    /// `traceNo`: six-digit POS trace number within a batch.
    TraceNo
);

/// `cardNo`: the full card number. `Debug` shows it masked.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CardNo(String);

impl CardNo {
    /// Validates a card number: 4..=32 ASCII letters or digits (loyalty cards are not
    /// always numeric). Anything else is refused with code 14.
    pub fn parse(text: &str) -> Result<CardNo, JposError> {
        if text.is_empty() {
            return Err(JposError::MissingField("cardNo"));
        }
        let ok = (CARD_NO_CHARS_MIN..=CARD_NO_CHARS_MAX).contains(&text.len())
            && text.bytes().all(|b| b.is_ascii_alphanumeric());
        if ok {
            Ok(CardNo(text.to_owned()))
        } else {
            Err(JposError::InvalidCardNo)
        }
    }

    /// The full number. Never log or store it; use [`CardNo::masked`] for display.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// First 6, `****`, last 4.
    pub fn masked(&self) -> String {
        mask_card_no(&self.0)
    }
}

impl fmt::Debug for CardNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardNo({})", self.masked())
    }
}

/// Magnetic-stripe track data (`track2` or `track3`): digits with `=` or `D` as field
/// separator. `Debug` prints a mask.
#[derive(Clone, PartialEq, Eq)]
pub struct Track(Sensitive<String>);

impl Track {
    /// Validates track 2 data (at most 37 characters).
    pub fn parse_track2(text: &str) -> Result<Track, JposError> {
        Track::parse("track2", text, TRACK2_CHARS_MAX)
    }

    /// Validates track 3 data (at most 104 characters).
    pub fn parse_track3(text: &str) -> Result<Track, JposError> {
        Track::parse("track3", text, TRACK3_CHARS_MAX)
    }

    fn parse(field: &'static str, text: &str, chars_max: usize) -> Result<Track, JposError> {
        let ok = !text.is_empty()
            && text.len() <= chars_max
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'=' || b == b'D' || b == b'd');
        if ok {
            Ok(Track(Sensitive::new(text.to_owned())))
        } else {
            Err(JposError::InvalidTrack(field))
        }
    }

    /// The track data. Never log or store it.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// The expiry of ISO/IEC 7813 track 2 data (`PAN`, separator, `YYMM`, ...) as (year,
    /// month), when the track has that shape; `None` otherwise (a loyalty card's track may
    /// carry no date, and posgate does not guess one).
    pub fn track2_expiry(&self) -> Option<(u16, u8)> {
        let text = self.expose();
        let at = text.find(['=', 'D', 'd'])?;
        let date = text.get(at + 1..at + 5)?;
        if !date.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let year: u16 = date[..2].parse().ok()?;
        let month: u8 = date[2..].parse().ok()?;
        (1..=12).contains(&month).then_some((2000 + year, month))
    }
}

#[cfg(test)]
mod track_tests {
    use super::Track;

    #[test]
    fn track2_expiry_is_read_after_the_separator() {
        let t = |s: &str| Track::parse_track2(s).unwrap().track2_expiry();
        assert_eq!(t("6222021234567890123=27012011519"), Some((2027, 1)));
        assert_eq!(t("6222021234567890123D4912"), Some((2049, 12)));
        assert_eq!(t("6222021234567890123=2713"), None, "month 13");
        assert_eq!(t("6222021234567890123=27"), None, "too short");
        assert_eq!(t("6222021234567890123"), None, "no separator");
        assert_eq!(t("62220212=D2701"), None, "no digits after the separator");
    }
}

impl fmt::Debug for Track {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Track(***)")
    }
}

/// `password`: the encrypted PIN block, sent as hex. `Debug` prints a mask.
#[derive(Clone, PartialEq, Eq)]
pub struct PinBlock(Sensitive<Vec<u8>>);

impl PinBlock {
    /// Decodes the hex text: 8 or 16 bytes.
    pub fn parse(text: &str) -> Result<PinBlock, JposError> {
        let invalid = |reason| JposError::InvalidField {
            field: "password",
            reason,
        };
        if text.len() > PIN_BLOCK_BYTES_MAX * 2 {
            return Err(invalid("too long"));
        }
        let bytes = hex::decode(text).map_err(|_| invalid("not hex"))?;
        if bytes.len() != PIN_BLOCK_BYTES_MIN && bytes.len() != PIN_BLOCK_BYTES_MAX {
            return Err(invalid("not an 8 or 16 byte PIN block"));
        }
        Ok(PinBlock(Sensitive::new(bytes)))
    }

    /// The PIN block bytes. Never log or store them.
    pub fn expose(&self) -> &[u8] {
        self.0.expose()
    }

    /// Upper-case hex, as sent on the wire.
    pub fn to_wire(&self) -> String {
        hex::encode_upper(self.0.expose())
    }
}

impl fmt::Debug for PinBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PinBlock(***)")
    }
}

/// `mobileNo`: 5..=15 digits (E.164 without the `+`; mainland numbers have 11).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MobileNo(String);

impl MobileNo {
    /// Validates the wire text.
    pub fn parse(text: &str) -> Result<MobileNo, JposError> {
        if text.is_empty() {
            return Err(JposError::MissingField("mobileNo"));
        }
        if (MOBILE_DIGITS_MIN..=MOBILE_DIGITS_MAX).contains(&text.len()) && is_digits(text) {
            Ok(MobileNo(text.to_owned()))
        } else {
            Err(JposError::InvalidField {
                field: "mobileNo",
                reason: "not 5 to 15 digits",
            })
        }
    }

    /// The number.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `verifyCode`: the SMS code the cardholder read out, 1..=16 ASCII letters or digits.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifyCode(Sensitive<String>);

impl VerifyCode {
    /// Validates the wire text.
    pub fn parse(text: &str) -> Result<VerifyCode, JposError> {
        if text.is_empty() {
            return Err(JposError::MissingField("verifyCode"));
        }
        if text.len() <= VERIFY_CODE_CHARS_MAX && text.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(VerifyCode(Sensitive::new(text.to_owned())))
        } else {
            Err(JposError::InvalidField {
                field: "verifyCode",
                reason: "not 1 to 16 letters or digits",
            })
        }
    }

    /// The code. Never log it; compare it with [`VerifyCode::matches`].
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// Whether the code equals the one sent by SMS, compared in constant time.
    pub fn matches(&self, sent: &str) -> bool {
        constant_time_eq(self.0.expose().as_bytes(), sent.as_bytes())
    }
}

impl fmt::Debug for VerifyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VerifyCode(***)")
    }
}

/// Earliest instant accepted, in Unix milliseconds: 10^11 ms (1973-03-03). Below this a
/// wire integer is read as seconds.
const TRANS_TIME_MS_MIN: i64 = 100_000_000_000;
/// Latest instant accepted, in Unix milliseconds: 9999-12-31T23:59:59.999Z.
const TRANS_TIME_MS_MAX: i64 = 253_402_300_799_999;
/// Earliest wire value read as seconds: 10^8 s (1973-03-03).
const TRANS_TIME_SECONDS_MIN: i64 = 100_000_000;

/// `transTime` / `oriTransTime`: an instant in Unix milliseconds.
///
/// The spec's type table says "time (long, seconds)" while every reply example carries
/// milliseconds (`1415125804472`), and terminals echo the reply's `transTime` back as
/// `oriTransTime`. So replies are written in milliseconds, and a wire value is read as
/// seconds below 10^11 and as milliseconds from there on: the two ranges cannot overlap
/// for instants between 1973 and 5138.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TransTime(i64);

impl TransTime {
    /// From Unix milliseconds, 1973-03-03 to 9999-12-31.
    pub const fn from_unix_millis(ms: i64) -> Option<TransTime> {
        if ms >= TRANS_TIME_MS_MIN && ms <= TRANS_TIME_MS_MAX {
            Some(TransTime(ms))
        } else {
            None
        }
    }

    /// Parses the wire integer (seconds or milliseconds, see the type's doc).
    pub fn parse(field: &'static str, text: &str) -> Result<TransTime, JposError> {
        if text.is_empty() {
            return Err(JposError::MissingField(field));
        }
        let invalid = JposError::InvalidField {
            field,
            reason: "not a Unix time in seconds or milliseconds",
        };
        if text.len() > 15 || !is_digits(text) {
            return Err(invalid);
        }
        let value: i64 = text.parse().map_err(|_| invalid.clone())?;
        let ms = if value < TRANS_TIME_SECONDS_MIN {
            return Err(invalid);
        } else if value < TRANS_TIME_MS_MIN {
            value * 1000
        } else {
            value
        };
        TransTime::from_unix_millis(ms).ok_or(invalid)
    }

    /// Unix milliseconds.
    pub const fn unix_millis(self) -> i64 {
        self.0
    }
}

/// `oriTransDate`: a calendar date sent as `yyyyMMdd` (e.g. `20141111`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TransDate {
    year: u16,
    month: u8,
    day: u8,
}

impl TransDate {
    /// A checked date (years 1970..=9999).
    pub fn new(year: u16, month: u8, day: u8) -> Option<TransDate> {
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        if (1970..=9999).contains(&year) && (1..=days).contains(&day) {
            Some(TransDate { year, month, day })
        } else {
            None
        }
    }

    /// Parses `yyyyMMdd`.
    pub fn parse(field: &'static str, text: &str) -> Result<TransDate, JposError> {
        if text.is_empty() {
            return Err(JposError::MissingField(field));
        }
        let invalid = JposError::InvalidField {
            field,
            reason: "not a yyyyMMdd date",
        };
        if text.len() != 8 || !is_digits(text) {
            return Err(invalid);
        }
        let year = text[..4].parse().map_err(|_| invalid.clone())?;
        let month = text[4..6].parse().map_err(|_| invalid.clone())?;
        let day = text[6..].parse().map_err(|_| invalid.clone())?;
        TransDate::new(year, month, day).ok_or(invalid)
    }

    /// The year.
    pub const fn year(self) -> u16 {
        self.year
    }

    /// The month, 1..=12.
    pub const fn month(self) -> u8 {
        self.month
    }

    /// The day of the month.
    pub const fn day(self) -> u8 {
        self.day
    }

    /// The `yyyyMMdd` wire form.
    pub fn to_wire(self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }
}

macro_rules! code_enum {
    ($(#[$doc:meta])* $name:ident, $field:literal { $( $(#[$vdoc:meta])* $variant:ident = $code:literal, )+ }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vdoc])* $variant, )+
        }

        impl $name {
            /// Every value, in the spec's order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )+ ];

            /// The wire code.
            pub const fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $code, )+ }
            }

            /// Parses the wire code.
            pub fn parse(text: &str) -> Result<$name, JposError> {
                if text.is_empty() {
                    return Err(JposError::MissingField($field));
                }
                $name::ALL
                    .iter()
                    .copied()
                    .find(|value| value.as_str() == text)
                    .ok_or(JposError::InvalidField { field: $field, reason: "unknown code" })
            }
        }
    };
}

code_enum!(
    /// `idType`: identity document type (名称字典).
    IdType, "idType" {
        /// 居民身份证.
        ResidentIdCard = "01",
        /// 士官证.
        SoldierCard = "02",
        /// 学生证.
        StudentCard = "03",
        /// 驾驶证.
        DrivingLicence = "04",
        /// 护照.
        Passport = "05",
        /// 港澳通行证.
        HongKongMacauPermit = "06",
        /// 其他.
        Other = "07",
    }
);

code_enum!(
    /// `gender` (名称字典).
    Gender, "gender" {
        /// 未知.
        Unknown = "00",
        /// 男.
        Male = "01",
        /// 女.
        Female = "02",
    }
);

code_enum!(
    /// `grade`: membership level (名称字典).
    Grade, "grade" {
        /// 绿卡会员.
        Green = "0",
        /// 金卡会员.
        Gold = "1",
        /// 白金卡会员.
        Platinum = "2",
        /// 钻石卡会员.
        Diamond = "3",
    }
);

code_enum!(
    /// `ticket.type`: ticket kind (名称字典).
    TicketType, "ticket.type" {
        /// 团购券: group-buying ticket.
        GroupBuying = "01",
        /// 兑换券: exchange ticket.
        Exchange = "02",
        /// 代金券: cash voucher.
        CashVoucher = "03",
    }
);

/// The part length of each working key, in bytes: single, double or triple length DES.
const WORKING_KEY_PART_BYTES: [usize; 3] = [8, 16, 24];

/// `workingKey` of the checkin reply: the PIN key and the MAC key (v1.0.1: "签到返回 密钥
/// (PIN KEY, MAC KEY)"), each already encrypted under the terminal's master key by the
/// caller. The spec types the field as one string without a layout; posgate sends the
/// upper-case hex of the PIN key followed by the hex of the MAC key, both of the same
/// length (8, 16 or 24 bytes), so a terminal splits it in two halves. `Debug` is masked.
#[derive(Clone, PartialEq, Eq)]
pub struct WorkingKey {
    pin_key: Sensitive<Vec<u8>>,
    mac_key: Sensitive<Vec<u8>>,
}

impl WorkingKey {
    /// Both parts, of equal length 8, 16 or 24 bytes.
    pub fn new(pin_key: Vec<u8>, mac_key: Vec<u8>) -> Option<WorkingKey> {
        let ok = pin_key.len() == mac_key.len() && WORKING_KEY_PART_BYTES.contains(&pin_key.len());
        ok.then(|| WorkingKey {
            pin_key: Sensitive::new(pin_key),
            mac_key: Sensitive::new(mac_key),
        })
    }

    /// Splits the wire text back into its parts (for terminal simulators).
    pub fn parse(text: &str) -> Option<WorkingKey> {
        if text.len() > 2 * 2 * 24 || text.len() % 2 != 0 {
            return None;
        }
        let bytes = hex::decode(text).ok()?;
        let half = bytes.len() / 2;
        WorkingKey::new(bytes[..half].to_vec(), bytes[half..].to_vec())
    }

    /// The encrypted PIN key.
    pub fn pin_key(&self) -> &[u8] {
        self.pin_key.expose()
    }

    /// The encrypted MAC key.
    pub fn mac_key(&self) -> &[u8] {
        self.mac_key.expose()
    }

    /// Seals clear 16-byte PIN and MAC keys under a 16-byte terminal master key, AES-128-ECB
    /// (one block each, no padding): what a checkin reply carries.
    pub fn seal(master_key: &[u8; 16], pin_clear: &[u8; 16], mac_clear: &[u8; 16]) -> WorkingKey {
        use aes::cipher::{block_padding::NoPadding, BlockModeEncrypt, KeyInit};
        let cipher = || ecb::Encryptor::<aes::Aes128>::new(&(*master_key).into());
        WorkingKey {
            pin_key: Sensitive::new(cipher().encrypt_padded_vec::<NoPadding>(pin_clear)),
            mac_key: Sensitive::new(cipher().encrypt_padded_vec::<NoPadding>(mac_clear)),
        }
    }

    /// Opens sealed 16-byte keys with the terminal master key (what a terminal does): the
    /// clear PIN key and MAC key, or `None` when the parts are not one block each.
    pub fn open(&self, master_key: &[u8; 16]) -> Option<([u8; 16], [u8; 16])> {
        use aes::cipher::{block_padding::NoPadding, BlockModeDecrypt, KeyInit};
        let open = |part: &[u8]| -> Option<[u8; 16]> {
            let clear = ecb::Decryptor::<aes::Aes128>::new(&(*master_key).into())
                .decrypt_padded_vec::<NoPadding>(part)
                .ok()?;
            clear.try_into().ok()
        };
        if self.pin_key.expose().len() != 16 {
            return None;
        }
        Some((open(self.pin_key.expose())?, open(self.mac_key.expose())?))
    }

    /// The wire text: hex(PIN key) followed by hex(MAC key), upper case.
    pub fn to_wire(&self) -> String {
        let mut text = hex::encode_upper(self.pin_key.expose());
        text.push_str(&hex::encode_upper(self.mac_key.expose()));
        text
    }
}

impl fmt::Debug for WorkingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WorkingKey(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_and_trace_numbers() {
        assert_eq!(BatchNo::parse("batchNo", "000001"), Ok(BatchNo::FIRST));
        assert_eq!(BatchNo::MAX.next(), BatchNo::FIRST);
        assert_eq!(BatchNo::FIRST.next().to_wire(), "000002");
        assert_eq!(
            TraceNo::new(41).map(|t| t.to_string()),
            Some("000041".into())
        );
        assert_eq!(TraceNo::new(1_000_000), None);
        for bad in ["00001", "0000001", "00000a", "+00001", " 00001"] {
            assert!(BatchNo::parse("batchNo", bad).is_err(), "{bad}");
        }
        assert_eq!(
            TraceNo::parse("traceNo", ""),
            Err(JposError::MissingField("traceNo"))
        );
    }

    #[test]
    fn masks_card_numbers() {
        assert_eq!(mask_card_no("6222021234567890123"), "622202****0123");
        assert_eq!(mask_card_no("12345678"), "****5678");
        assert_eq!(mask_card_no("1234"), "****");
        let card = CardNo::parse("6222021234567890123").unwrap();
        assert_eq!(format!("{card:?}"), "CardNo(622202****0123)");
        let pin = PinBlock::parse("0123456789ABCDEF").unwrap();
        assert_eq!(format!("{pin:?}"), "PinBlock(***)");
        assert_eq!(pin.to_wire(), "0123456789ABCDEF");
    }

    #[test]
    fn times_and_dates() {
        let ms = TransTime::parse("oriTransTime", "1415125804472").unwrap();
        assert_eq!(ms.unix_millis(), 1_415_125_804_472);
        let s = TransTime::parse("oriTransTime", "1415125804").unwrap();
        assert_eq!(s.unix_millis(), 1_415_125_804_000);
        assert!(TransTime::parse("oriTransTime", "99").is_err());
        assert!(TransTime::parse("oriTransTime", "-1415125804").is_err());
        assert!(TransTime::parse("oriTransTime", "999999999999999").is_err());
        assert_eq!(
            TransDate::parse("oriTransDate", "20141111").map(TransDate::to_wire),
            Ok("20141111".to_owned())
        );
        assert!(TransDate::parse("oriTransDate", "20240229").is_ok());
        assert!(TransDate::parse("oriTransDate", "20230229").is_err());
        assert!(TransDate::parse("oriTransDate", "20141301").is_err());
        assert!(TransDate::parse("oriTransDate", "2014111").is_err());
    }

    #[test]
    fn working_key_round_trips() {
        let key = WorkingKey::new(vec![0x11; 16], vec![0x22; 16]).unwrap();
        let wire = key.to_wire();
        assert_eq!(wire.len(), 64);
        assert_eq!(WorkingKey::parse(&wire), Some(key.clone()));
        assert_eq!(format!("{key:?}"), "WorkingKey(***)");
        assert!(WorkingKey::new(vec![1; 16], vec![2; 8]).is_none());
        assert!(WorkingKey::new(vec![1; 5], vec![2; 5]).is_none());
        let master = [7u8; 16];
        let sealed = WorkingKey::seal(&master, &[1; 16], &[2; 16]);
        assert_ne!(sealed.pin_key(), &[1; 16]);
        assert_eq!(sealed.open(&master), Some(([1; 16], [2; 16])));
        assert_ne!(sealed.open(&[8; 16]), Some(([1; 16], [2; 16])));
    }

    #[test]
    fn verify_code_matches_in_constant_time() {
        let code = VerifyCode::parse("493021").unwrap();
        assert!(code.matches("493021"));
        assert!(!code.matches("493020"));
        assert!(!code.matches("4930211"));
        assert_eq!(format!("{code:?}"), "VerifyCode(***)");
    }
}
