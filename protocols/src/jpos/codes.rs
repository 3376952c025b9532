//! The jpos response-code table (附 1: 响应码) and the codec's error type.
//!
//! The table is the spec's appendix verbatim: every code keeps its wire string and its
//! message text exactly as the terminals display them, including the final `--` row
//! (未知返回码) used for a code that is not in the table. It is written once, in one macro
//! invocation, so that the enum, the code strings and the texts cannot drift apart.
//!
//! Every refusal of the codec ([`JposError`]) maps to one of these codes through an
//! exhaustive match. None of them maps to `00`, `12` or `25`: the spec counts those as a
//! *successful* reversal, so a garbled reversal must never be answered with them.

use crate::money::AmountError;

macro_rules! status_table {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, $text:literal; )+) => {
        /// A jpos response code (`status`) with the message (`message`) the spec assigns it.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum JposStatus {
            $( $(#[$doc])* $variant, )+
        }

        impl JposStatus {
            /// Every code of the appendix, in the spec's order.
            pub const ALL: &'static [JposStatus] = &[ $( JposStatus::$variant, )+ ];

            /// The wire code, e.g. `"00"`, `"A0"`.
            pub const fn as_str(self) -> &'static str {
                match self { $( JposStatus::$variant => $code, )+ }
            }

            /// The message text the spec assigns to this code (sent as `message`).
            pub const fn message(self) -> &'static str {
                match self { $( JposStatus::$variant => $text, )+ }
            }
        }
    };
}

status_table! {
    /// 00: approved.
    Approved = "00", "交易成功";
    /// 01: refer to card issuer.
    ReferToIssuer = "01", "请联系发卡行";
    /// 02: refer to card issuer, special condition.
    ReferToIssuerSpecial = "02", "请联系发卡行";
    /// 03: merchant not registered.
    InvalidMerchant = "03", "商户未登记";
    /// 04: pick up card.
    PickUpCard = "04", "没收卡, 请联系收单行";
    /// 05: do not honour.
    DoNotHonour = "05", "请联系发卡行";
    /// 06: error.
    IssuerError = "06", "请联系发卡行";
    /// 07: pick up card, special condition.
    PickUpCardSpecial = "07", "没收卡, 请联系收单行";
    /// 09: request in progress.
    RequestInProgress = "09", "请重试";
    /// 12: invalid transaction (counts as a successful reversal).
    InvalidTransaction = "12", "请重试";
    /// 13: invalid or over-limit amount.
    InvalidAmount = "13", "交易金额超限 请重试";
    /// 14: invalid card number.
    InvalidCardNumber = "14", "无效卡号, 请联系发卡行";
    /// 15: no such issuer, card not accepted.
    NoSuchIssuer = "15", "此卡不能受理";
    /// 19: re-enter transaction.
    ReEnterTransaction = "19", "请联系发卡行";
    /// 20: invalid response.
    InvalidResponse = "20", "请联系发卡行";
    /// 21: no action taken.
    NoActionTaken = "21", "请联系发卡行";
    /// 22: suspected malfunction, operation error.
    OperationError = "22", "操作有误, 请重试";
    /// 23: unacceptable fee.
    UnacceptableFee = "23", "请联系发卡行";
    /// 25: original transaction not found (counts as a successful reversal).
    OriginalNotFound = "25", "请联系发卡行";
    /// 30: message format error.
    FormatError = "30", "请重试";
    /// 31: card not supported by the switch.
    CardNotSupported = "31", "此卡不能受理";
    /// 33: expired card (pick up).
    ExpiredCard = "33", "过期卡, 请联系发卡行";
    /// 34: suspected fraud, pick up.
    SuspectedFraud = "34", "没收卡, 请联系收单行";
    /// 35: pick up, contact acquirer.
    PickUpContactAcquirer = "35", "没收卡, 请联系收单行";
    /// 36: restricted or unreadable card.
    RestrictedCard = "36", "此卡有误, 请换卡重试";
    /// 37: pick up, call acquirer security.
    PickUpCallSecurity = "37", "没收卡, 请联系收单行";
    /// 38: allowable PIN tries exceeded.
    PinTriesExceeded = "38", "密码错误次数超限";
    /// 39: no credit account.
    NoCreditAccount = "39", "请联系发卡行";
    /// 40: requested function not supported.
    FunctionNotSupported = "40", "请联系发卡行";
    /// 41: lost card, pick up.
    LostCard = "41", "没收卡, 请联系收单行";
    /// 42: no universal account.
    NoUniversalAccount = "42", "请联系发卡方";
    /// 43: stolen card, pick up.
    StolenCard = "43", "没收卡, 请联系收单行";
    /// 44: no investment account.
    NoInvestmentAccount = "44", "请联系发卡行";
    /// 51: insufficient balance.
    InsufficientFunds = "51", "余额不足, 请查询";
    /// 52: no cheque account.
    NoChequeAccount = "52", "请联系发卡行";
    /// 53: no savings account.
    NoSavingsAccount = "53", "请联系发卡行";
    /// 54: expired card.
    ExpiredCardDecline = "54", "过期卡, 请联系发卡行";
    /// 55: incorrect password (PIN).
    IncorrectPassword = "55", "密码错, 请重试";
    /// 56: no card record.
    NoCardRecord = "56", "请联系发卡行";
    /// 57: transaction not permitted to cardholder.
    NotPermittedToCardholder = "57", "请联系发卡行";
    /// 58: transaction not permitted to terminal.
    NotPermittedToTerminal = "58", "终端无效, 请联系收单行或银联";
    /// 59: suspected fraud (issuer).
    SuspectedFraudIssuer = "59", "请联系发卡行";
    /// 60: card acceptor contact acquirer.
    ContactAcquirer = "60", "请联系发卡行";
    /// 61: exceeds amount limit.
    ExceedsAmountLimit = "61", "金额太大";
    /// 62: restricted card (issuer).
    RestrictedCardIssuer = "62", "请联系发卡行";
    /// 63: security violation.
    SecurityViolation = "63", "请联系发卡行";
    /// 64: original amount incorrect.
    OriginalAmountIncorrect = "64", "请联系发卡行";
    /// 65: exceeds frequency limit.
    ExceedsFrequencyLimit = "65", "超出取款次数限制";
    /// 66: contact acquirer or UnionPay.
    ContactAcquirerSecurity = "66", "请联系收单行或银联";
    /// 67: hard capture, pick up card.
    HardCapture = "67", "没收卡";
    /// 68: response received too late.
    ResponseTooLate = "68", "交易超时, 请重试";
    /// 75: allowable PIN tries exceeded.
    PinTriesExceededAlt = "75", "密码错误次数超限";
    /// 77: terminal must check in (签到) again.
    NotCheckedIn = "77", "请向网络中心签到";
    /// 79: POS terminal must resend its offline data.
    ResendOfflineData = "79", "POS 终端重传脱机数据";
    /// 90: cut-off in progress.
    CutoffInProgress = "90", "请稍后重试";
    /// 91: issuer or switch inoperative.
    IssuerUnavailable = "91", "请稍后重试";
    /// 92: routing error.
    RoutingError = "92", "请稍后重试";
    /// 93: transaction cannot be completed, violation of law.
    ViolationOfLaw = "93", "请联系发卡行";
    /// 94: duplicate transmission.
    DuplicateTransmission = "94", "请稍后重试";
    /// 95: reconcile error.
    ReconcileError = "95", "请稍后重试";
    /// 96: system malfunction or busy.
    SystemBusy = "96", "请稍后重试";
    /// 97: terminal not registered.
    UnknownTerminal = "97", "终端未登记, 请联系收单行或银联";
    /// 98: timeout at the issuer.
    IssuerTimeout = "98", "交易超时, 请重试";
    /// 99: PIN block / check error, check in again.
    CheckError = "99", "校验错, 请重新签到";
    /// A0: MAC check error, check in again.
    MacError = "A0", "校验错, 请重新签到";
    /// `--`: the appendix's last row, 未知返回码, standing for any code outside this table
    /// (what [`JposStatus::from_code`] yields for an unknown code). posgate never sends it.
    Unknown = "--", "未知返回码";
}

impl JposStatus {
    /// Looks a wire code up; a code outside the table yields [`JposStatus::Unknown`].
    pub fn from_code(code: &str) -> JposStatus {
        JposStatus::ALL
            .iter()
            .copied()
            .find(|status| status.as_str() == code)
            .unwrap_or(JposStatus::Unknown)
    }

    /// Whether a terminal counts this answer to a reversal (冲正) as success: the spec's
    /// "如果应答码为 00, 25, 12 则认为冲正成功".
    pub const fn is_reversal_success(self) -> bool {
        matches!(
            self,
            JposStatus::Approved | JposStatus::OriginalNotFound | JposStatus::InvalidTransaction
        )
    }
}

/// Why a form body could not be read as `key=value&...` pairs at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    /// The body is longer than [`super::limits::BODY_BYTES_MAX`].
    #[error("form body is too large")]
    BodyTooLarge,
    /// More pairs than [`super::limits::FIELD_COUNT_MAX`].
    #[error("form has too many fields")]
    TooManyFields,
    /// A key longer than [`super::limits::KEY_BYTES_MAX`].
    #[error("form key is too long")]
    KeyTooLong,
    /// A value longer than [`super::limits::VALUE_BYTES_MAX`] (after decoding).
    #[error("form value of {0} is too long")]
    ValueTooLong(String),
    /// A `%` not followed by two hex digits.
    #[error("bad percent-encoding")]
    BadPercentEncoding,
    /// A key or value that is not UTF-8 once decoded.
    #[error("form text is not UTF-8")]
    NotUtf8,
    /// A key sent twice: refused rather than guessing which one counts.
    #[error("duplicate form key {0}")]
    DuplicateKey(String),
    /// An empty key (`=value`).
    #[error("empty form key")]
    EmptyKey,
}

/// Why a jpos request was refused by the codec. [`JposError::code`] gives the status sent back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JposError {
    /// The path is not one of the spec's interfaces.
    #[error("unknown jpos endpoint")]
    UnknownEndpoint,
    /// The path names a protocol major version posgate does not serve (only `v1`).
    #[error("unsupported jpos protocol version")]
    UnsupportedVersion,
    /// Not a POST: the spec allows only POST ("所有交易只能使用 POST 方式").
    #[error("jpos requests must be POST")]
    MethodNotAllowed,
    /// The body is not a well-formed, bounded form.
    #[error("malformed form body: {0}")]
    Malformed(#[from] FormError),
    /// A required (`!`) field is absent or empty.
    #[error("missing required field {0}")]
    MissingField(&'static str),
    /// A field is present but not of its type (length, charset, digits, date...).
    #[error("invalid field {field}: {reason}")]
    InvalidField {
        /// The wire name of the field.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An amount field that is not a 2-decimal yuan amount.
    #[error("invalid amount in {field}: {error}")]
    InvalidAmount {
        /// The wire name of the field.
        field: &'static str,
        /// The amount parser's reason.
        error: AmountError,
    },
    /// `cardNo` is not a card number.
    #[error("invalid card number")]
    InvalidCardNo,
    /// `track2` / `track3` is not magnetic-stripe track data.
    #[error("invalid track data in {0}")]
    InvalidTrack(&'static str),
    /// A JSON list field (`vaucher`, `ticket`) is malformed or out of bounds.
    #[error("invalid list {field}: {reason}")]
    InvalidList {
        /// The wire name of the field.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl JposError {
    /// The response code this refusal is answered with.
    ///
    /// Choices where the appendix has no dedicated "format" code of its own wording:
    /// structural and field errors answer 30 (format error, 请重试); an amount above the
    /// ceiling answers 13 (交易金额超限); a bad card number 14; unreadable track data 36
    /// (此卡有误, 请换卡重试); an unknown path, version or method 40 (function not supported).
    pub fn code(&self) -> JposStatus {
        match self {
            JposError::UnknownEndpoint
            | JposError::UnsupportedVersion
            | JposError::MethodNotAllowed => JposStatus::FunctionNotSupported,
            JposError::Malformed(_)
            | JposError::MissingField(_)
            | JposError::InvalidField { .. }
            | JposError::InvalidList { .. } => JposStatus::FormatError,
            JposError::InvalidAmount { error, .. } => match error {
                AmountError::TooLarge => JposStatus::InvalidAmount,
                AmountError::Empty
                | AmountError::Syntax
                | AmountError::TooPrecise(_)
                | AmountError::Negative => JposStatus::FormatError,
            },
            JposError::InvalidCardNo => JposStatus::InvalidCardNumber,
            JposError::InvalidTrack(_) => JposStatus::RestrictedCard,
        }
    }

    /// Whether the body itself was unreadable (as opposed to a readable body with a bad field).
    pub fn is_malformed(&self) -> bool {
        matches!(self, JposError::Malformed(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn table_has_no_duplicate_codes() {
        let mut seen = HashSet::new();
        for status in JposStatus::ALL {
            assert!(
                seen.insert(status.as_str()),
                "duplicate {}",
                status.as_str()
            );
        }
        assert_eq!(seen.len(), 66);
    }

    #[test]
    fn table_keeps_spec_texts() {
        assert_eq!(JposStatus::UnknownTerminal.as_str(), "97");
        assert_eq!(
            JposStatus::UnknownTerminal.message(),
            "终端未登记, 请联系收单行或银联"
        );
        assert_eq!(JposStatus::NotCheckedIn.as_str(), "77");
        assert_eq!(JposStatus::InsufficientFunds.as_str(), "51");
        assert_eq!(JposStatus::InsufficientFunds.message(), "余额不足, 请查询");
        assert_eq!(JposStatus::InvalidCardNumber.as_str(), "14");
        assert_eq!(JposStatus::ExpiredCard.as_str(), "33");
        assert_eq!(JposStatus::ExpiredCardDecline.as_str(), "54");
        assert_eq!(JposStatus::IncorrectPassword.as_str(), "55");
        assert_eq!(JposStatus::SystemBusy.as_str(), "96");
        assert_eq!(JposStatus::CutoffInProgress.as_str(), "90");
        assert_eq!(JposStatus::MacError.as_str(), "A0");
        assert_eq!(JposStatus::FormatError.as_str(), "30");
        assert_eq!(JposStatus::InvalidAmount.message(), "交易金额超限 请重试");
        assert_eq!(
            JposStatus::ResendOfflineData.message(),
            "POS 终端重传脱机数据"
        );
    }

    #[test]
    fn from_code_round_trips_and_falls_back() {
        for status in JposStatus::ALL {
            assert_eq!(JposStatus::from_code(status.as_str()), *status);
        }
        assert_eq!(JposStatus::from_code("08"), JposStatus::Unknown);
        assert_eq!(JposStatus::from_code(""), JposStatus::Unknown);
    }

    #[test]
    fn reversal_success_codes() {
        let ok: Vec<&str> = JposStatus::ALL
            .iter()
            .filter(|s| s.is_reversal_success())
            .map(|s| s.as_str())
            .collect();
        assert_eq!(ok, ["00", "12", "25"]);
    }
}
