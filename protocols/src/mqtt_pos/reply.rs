//! Replies to a device's consumption request and balance query, published on `…/api`.
//!
//! The spec fixes the fields exactly (`xfCode, btYe, xjYe, dstMoney, cpAfter` for a
//! consumption, `code, xfCode, btYe, xjYe, cpAfter` for a balance), all integers, money in
//! fen. The structs serialise through serde with explicit wire names, so the JSON cannot grow
//! a field by accident; tests pin the exact key sets.

use serde::Serialize;

use super::codes::XfCode;
use crate::money::Fen;

/// Balances after a transaction (or now, for a query).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Balances {
    /// `btYe`: subsidy balance in fen (补贴余额).
    pub subsidy: Fen,
    /// `xjYe`: cash balance in fen (现金余额).
    pub cash: Fen,
    /// `cpAfter`: copies (份) left.
    pub copies: i64,
}

/// The answer to a consumption request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConsumeReply {
    /// `xfCode`: 0 = success.
    pub xf_code: XfCode,
    /// Balances after the transaction (`btYe`, `xjYe`, `cpAfter`).
    pub balances: Balances,
    /// `dstMoney`: the amount actually charged (after discount), in fen.
    pub charged: Fen,
}

#[derive(Serialize)]
struct ConsumeWire {
    #[serde(rename = "xfCode")]
    xf_code: u16,
    #[serde(rename = "btYe")]
    bt_ye: i64,
    #[serde(rename = "xjYe")]
    xj_ye: i64,
    #[serde(rename = "dstMoney")]
    dst_money: i64,
    #[serde(rename = "cpAfter")]
    cp_after: i64,
}

impl ConsumeReply {
    /// A successful reply.
    pub fn success(charged: Fen, balances: Balances) -> ConsumeReply {
        ConsumeReply {
            xf_code: XfCode::Success,
            balances,
            charged,
        }
    }

    /// A refusal: nothing charged; `balances` are the current ones (zero when unknown).
    pub fn refused(xf_code: XfCode, balances: Balances) -> ConsumeReply {
        ConsumeReply {
            xf_code,
            balances,
            charged: Fen::ZERO,
        }
    }

    /// The JSON text.
    pub fn to_json(&self) -> String {
        let wire = ConsumeWire {
            xf_code: self.xf_code.code(),
            bt_ye: self.balances.subsidy.get(),
            xj_ye: self.balances.cash.get(),
            dst_money: self.charged.get(),
            cp_after: self.balances.copies,
        };
        serde_json::to_string(&wire).unwrap_or_default()
    }

    /// The payload bytes.
    pub fn encode(&self) -> Vec<u8> {
        self.to_json().into_bytes()
    }
}

/// The answer to a balance query.
///
/// The spec's `code` ("0 = success, else failure") and `xfCode` are independent: its example
/// pairs `code` 0 with `xfCode` 1. posgate reads `code` as "the query was processed":
/// [`BalanceReply::found`] sends 0 with the given `xfCode` (e.g. a frozen account still has
/// balances to show), [`BalanceReply::failed`] sends 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BalanceReply {
    /// `code`: 0 = processed, 1 = failed.
    pub code: u8,
    /// `xfCode`.
    pub xf_code: XfCode,
    /// `btYe`, `xjYe`, `cpAfter`.
    pub balances: Balances,
}

#[derive(Serialize)]
struct BalanceWire {
    code: u8,
    #[serde(rename = "xfCode")]
    xf_code: u16,
    #[serde(rename = "btYe")]
    bt_ye: i64,
    #[serde(rename = "xjYe")]
    xj_ye: i64,
    #[serde(rename = "cpAfter")]
    cp_after: i64,
}

impl BalanceReply {
    /// The query was processed: the user's balances, with `xf_code` describing the account.
    pub fn found(xf_code: XfCode, balances: Balances) -> BalanceReply {
        BalanceReply {
            code: 0,
            xf_code,
            balances,
        }
    }

    /// The query failed (unknown user, busy...): `code` 1, zero balances.
    pub fn failed(xf_code: XfCode) -> BalanceReply {
        BalanceReply {
            code: 1,
            xf_code,
            balances: Balances::default(),
        }
    }

    /// The JSON text.
    pub fn to_json(&self) -> String {
        let wire = BalanceWire {
            code: self.code,
            xf_code: self.xf_code.code(),
            bt_ye: self.balances.subsidy.get(),
            xj_ye: self.balances.cash.get(),
            cp_after: self.balances.copies,
        };
        serde_json::to_string(&wire).unwrap_or_default()
    }

    /// The payload bytes.
    pub fn encode(&self) -> Vec<u8> {
        self.to_json().into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn keys(text: &str) -> Vec<String> {
        let value: Value = serde_json::from_str(text).unwrap();
        let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    }

    #[test]
    fn consume_reply_matches_spec_example() {
        let reply = ConsumeReply::success(
            Fen(1),
            Balances {
                subsidy: Fen(1),
                cash: Fen(5000),
                copies: 3,
            },
        );
        let value: Value = serde_json::from_slice(&reply.encode()).unwrap();
        assert_eq!(
            value,
            json!({"btYe": 1, "cpAfter": 3, "xjYe": 5000, "xfCode": 0, "dstMoney": 1})
        );
        assert_eq!(
            keys(&reply.to_json()),
            ["btYe", "cpAfter", "dstMoney", "xfCode", "xjYe"]
        );
        let refused = ConsumeReply::refused(XfCode::InsufficientBalance, Balances::default());
        assert_eq!(
            refused.to_json(),
            r#"{"xfCode":2,"btYe":0,"xjYe":0,"dstMoney":0,"cpAfter":0}"#
        );
    }

    #[test]
    fn balance_reply_matches_spec_example() {
        let reply = BalanceReply::found(
            XfCode::UnknownUser,
            Balances {
                subsidy: Fen(1),
                cash: Fen(5000),
                copies: 3,
            },
        );
        let value: Value = serde_json::from_slice(&reply.encode()).unwrap();
        assert_eq!(
            value,
            json!({"btYe": 1, "cpAfter": 3, "xjYe": 5000, "code": 0, "xfCode": 1})
        );
        assert_eq!(
            keys(&reply.to_json()),
            ["btYe", "code", "cpAfter", "xfCode", "xjYe"]
        );
        assert_eq!(
            BalanceReply::failed(XfCode::BusyRetry).to_json(),
            r#"{"code":1,"xfCode":10,"btYe":0,"xjYe":0,"cpAfter":0}"#
        );
    }
}
