//! The `xfCode` table: the result code of a consumption or balance reply.
//!
//! The spec says "0 = success, others see [error codes]" and then does not include the table,
//! so posgate defines it here. The numbers are stable: a number is never reused or renumbered
//! (devices show them to cashiers and operators write them down); new codes take the next free
//! number. [`XfCode::all`] lists the table so documentation can be generated from it, and a
//! test checks numbers and names are unique.

use std::fmt;

/// Result code carried as `xfCode` in consumption and balance replies. `0` is success.
///
/// Only `0` comes from the spec; every other number is posgate's, documented per variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u16)]
pub enum XfCode {
    /// 0: the operation succeeded (spec).
    Success = 0,
    /// 1: no such user (`userId` unknown or deleted).
    UnknownUser = 1,
    /// 2: the balance (cash plus subsidy, or copies) does not cover the amount.
    InsufficientBalance = 2,
    /// 3: the amount exceeds the group's single-payment limit (`dcxe`).
    OverSingleLimit = 3,
    /// 4: the day's total would exceed the group's daily amount limit (`rxe`).
    OverDailyAmount = 4,
    /// 5: the day's number of payments would exceed the group's daily count limit (`rxc`).
    OverDailyCount = 5,
    /// 6: the original transaction of a reversal or cancellation was not found, or was
    /// already reversed or cancelled.
    OriginalNotFound = 6,
    /// 7: the original transaction cannot be cancelled (copies consumption, or too old).
    NotCancellable = 7,
    /// 8: the account is frozen or reported lost.
    AccountFrozen = 8,
    /// 9: the terminal is unknown, not registered or disabled.
    UnknownTerminal = 9,
    /// 10: the gateway is busy (mailbox full, store unavailable for a moment); retry later.
    BusyRetry = 10,
    /// 11: the request is malformed (bad JSON, missing or mistyped field, bad time or id).
    MalformedRequest = 11,
    /// 12: the consumption `mode` is not one of the spec's modes.
    UnknownMode = 12,
    /// 13: an amount is negative or beyond the largest accepted amount.
    AmountOutOfRange = 13,
    /// 14: the same `posNum` was already used by this terminal for a different request.
    DuplicateMismatch = 14,
    /// 15: an offline record exceeds the group's offline amount limit (`zxe`).
    OverOfflineAmount = 15,
    /// 16: offline records exceed the group's offline count limit (`zxc`).
    OverOfflineCount = 16,
    /// 17: the user's copies (份) do not cover the requested copies.
    InsufficientCopies = 17,
    /// 18: the user is outside the validity period of the whitelist (`tb`/`te`).
    UserExpired = 18,
    /// 19: an internal error of the gateway (not the device's fault, not worth retrying at once).
    InternalError = 19,
    /// 20: the operation (top-up, load) is not granted to this terminal by an operator.
    NotPermitted = 20,
    /// 21: the amount exceeds the terminal's ceiling for the operation (per transaction or
    /// per business day).
    OverTerminalCeiling = 21,
}

/// The whole table, in number order.
const ALL: [XfCode; 22] = [
    XfCode::Success,
    XfCode::UnknownUser,
    XfCode::InsufficientBalance,
    XfCode::OverSingleLimit,
    XfCode::OverDailyAmount,
    XfCode::OverDailyCount,
    XfCode::OriginalNotFound,
    XfCode::NotCancellable,
    XfCode::AccountFrozen,
    XfCode::UnknownTerminal,
    XfCode::BusyRetry,
    XfCode::MalformedRequest,
    XfCode::UnknownMode,
    XfCode::AmountOutOfRange,
    XfCode::DuplicateMismatch,
    XfCode::OverOfflineAmount,
    XfCode::OverOfflineCount,
    XfCode::InsufficientCopies,
    XfCode::UserExpired,
    XfCode::InternalError,
    XfCode::NotPermitted,
    XfCode::OverTerminalCeiling,
];

impl XfCode {
    /// Every code of the table, in number order (for generated documentation).
    pub fn all() -> &'static [XfCode] {
        &ALL
    }

    /// The number sent as `xfCode`.
    pub const fn code(self) -> u16 {
        self as u16
    }

    /// The code for a number received or stored, if the table has it.
    pub fn from_code(code: u16) -> Option<XfCode> {
        ALL.iter().copied().find(|c| c.code() == code)
    }

    /// `true` only for [`XfCode::Success`].
    pub const fn is_success(self) -> bool {
        matches!(self, XfCode::Success)
    }

    /// A stable snake_case name, for logs and metric labels.
    pub const fn as_str(self) -> &'static str {
        match self {
            XfCode::Success => "success",
            XfCode::UnknownUser => "unknown_user",
            XfCode::InsufficientBalance => "insufficient_balance",
            XfCode::OverSingleLimit => "over_single_limit",
            XfCode::OverDailyAmount => "over_daily_amount",
            XfCode::OverDailyCount => "over_daily_count",
            XfCode::OriginalNotFound => "original_not_found",
            XfCode::NotCancellable => "not_cancellable",
            XfCode::AccountFrozen => "account_frozen",
            XfCode::UnknownTerminal => "unknown_terminal",
            XfCode::BusyRetry => "busy_retry",
            XfCode::MalformedRequest => "malformed_request",
            XfCode::UnknownMode => "unknown_mode",
            XfCode::AmountOutOfRange => "amount_out_of_range",
            XfCode::DuplicateMismatch => "duplicate_mismatch",
            XfCode::OverOfflineAmount => "over_offline_amount",
            XfCode::OverOfflineCount => "over_offline_count",
            XfCode::InsufficientCopies => "insufficient_copies",
            XfCode::UserExpired => "user_expired",
            XfCode::InternalError => "internal_error",
            XfCode::NotPermitted => "not_permitted",
            XfCode::OverTerminalCeiling => "over_terminal_ceiling",
        }
    }

    /// What the code means, in English and in the devices' Chinese.
    pub const fn description(self) -> &'static str {
        match self {
            XfCode::Success => "success (成功)",
            XfCode::UnknownUser => "unknown user (用户不存在)",
            XfCode::InsufficientBalance => "insufficient balance (余额不足)",
            XfCode::OverSingleLimit => "over the single-payment limit (超过单次限额)",
            XfCode::OverDailyAmount => "over the daily amount limit (超过日限额)",
            XfCode::OverDailyCount => "over the daily count limit (超过日限次)",
            XfCode::OriginalNotFound => {
                "original transaction not found or already reversed (原交易不存在或已冲正)"
            }
            XfCode::NotCancellable => "transaction cannot be cancelled (交易不可撤销)",
            XfCode::AccountFrozen => "account frozen or lost (账户冻结或挂失)",
            XfCode::UnknownTerminal => "unknown or disabled terminal (终端未注册)",
            XfCode::BusyRetry => "server busy, retry (系统繁忙，请重试)",
            XfCode::MalformedRequest => "malformed request (请求格式错误)",
            XfCode::UnknownMode => "unknown consumption mode (未知消费类型)",
            XfCode::AmountOutOfRange => "amount out of range (金额超出范围)",
            XfCode::DuplicateMismatch => {
                "serial number reused with different content (流水号重复且内容不同)"
            }
            XfCode::OverOfflineAmount => "over the offline amount limit (超过脱机限额)",
            XfCode::OverOfflineCount => "over the offline count limit (超过脱机限次)",
            XfCode::InsufficientCopies => "insufficient copies (份数不足)",
            XfCode::UserExpired => "user outside the validity period (不在有效期内)",
            XfCode::InternalError => "internal server error (系统错误)",
            XfCode::NotPermitted => "operation not permitted on this terminal (终端无此权限)",
            XfCode::OverTerminalCeiling => "over the terminal's ceiling (超过终端限额)",
        }
    }
}

impl fmt::Display for XfCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code(), self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn table_has_no_duplicates() {
        let codes: HashSet<u16> = XfCode::all().iter().map(|c| c.code()).collect();
        let names: HashSet<&str> = XfCode::all().iter().map(|c| c.as_str()).collect();
        let texts: HashSet<&str> = XfCode::all().iter().map(|c| c.description()).collect();
        assert_eq!(codes.len(), XfCode::all().len());
        assert_eq!(names.len(), XfCode::all().len());
        assert_eq!(texts.len(), XfCode::all().len());
    }

    #[test]
    fn table_is_in_order_and_round_trips() {
        for (index, code) in XfCode::all().iter().enumerate() {
            assert_eq!(usize::from(code.code()), index);
            assert_eq!(XfCode::from_code(code.code()), Some(*code));
        }
        assert_eq!(XfCode::from_code(9999), None);
        assert!(XfCode::Success.is_success());
        assert!(!XfCode::BusyRetry.is_success());
        assert_eq!(XfCode::Success.code(), 0);
    }
}
