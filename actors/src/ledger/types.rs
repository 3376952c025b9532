//! The ledger's vocabulary: assets, posting requests, outcomes and refusals.
//!
//! These are domain types, apart from any wire format: each protocol adapter maps its own
//! request onto a [`PostRequest`] and maps the [`PostOutcome`] back onto its own codes.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a balance is kept in. Money assets are in fen; copies and points are unit counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Asset {
    /// Cash balance (现金, MQTT `xjYe`), fen.
    Cash,
    /// Subsidy balance (补贴, MQTT `btYe`), fen.
    Subsidy,
    /// Prepaid meal copies (份, MQTT `cpAfter`), units.
    Copies,
    /// Loyalty points, units.
    Points,
    /// Offline purse (圈存 target), fen.
    Purse,
}

impl Asset {
    /// Every asset, in storage order.
    pub const ALL: [Asset; 5] = [
        Asset::Cash,
        Asset::Subsidy,
        Asset::Copies,
        Asset::Points,
        Asset::Purse,
    ];

    /// The name used in the database and the admin API.
    pub const fn as_str(self) -> &'static str {
        match self {
            Asset::Cash => "cash",
            Asset::Subsidy => "subsidy",
            Asset::Copies => "copies",
            Asset::Points => "points",
            Asset::Purse => "purse",
        }
    }

    /// Parses the database / admin API name.
    pub fn parse(name: &str) -> Option<Asset> {
        Asset::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// Whether the asset is money (fen) and so subject to amount limits and discounts.
    pub const fn is_money(self) -> bool {
        matches!(self, Asset::Cash | Asset::Subsidy | Asset::Purse)
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Asset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Balances of one account, one figure per asset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Balances {
    /// Cash, fen.
    pub cash: i64,
    /// Subsidy, fen.
    pub subsidy: i64,
    /// Copies, units.
    pub copies: i64,
    /// Points, units.
    pub points: i64,
    /// Offline purse, fen.
    pub purse: i64,
}

impl Balances {
    /// The balance of one asset.
    pub fn get(&self, asset: Asset) -> i64 {
        self.as_array()[asset.index()]
    }

    /// Sets the balance of one asset.
    pub fn set(&mut self, asset: Asset, amount: i64) {
        match asset {
            Asset::Cash => self.cash = amount,
            Asset::Subsidy => self.subsidy = amount,
            Asset::Copies => self.copies = amount,
            Asset::Points => self.points = amount,
            Asset::Purse => self.purse = amount,
        }
    }

    /// The balances in [`Asset::ALL`] order.
    pub fn as_array(&self) -> [i64; 5] {
        [
            self.cash,
            self.subsidy,
            self.copies,
            self.points,
            self.purse,
        ]
    }
}

/// Which group limits a debit is checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitPolicy {
    /// No limits (admin debits).
    None,
    /// Online limits refuse: single (`dcxe`), daily amount (`rxe`), daily count (`rxc`).
    Online,
    /// Offline records: the offline limits (`zxe`, `zxc`) are checked and violations
    /// flagged on the transaction, but the record is always booked.
    Offline,
}

/// Why a void (reversal or cancel) is made; recorded as the journal kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VoidKind {
    /// 冲正: the terminal never saw the answer; undo whatever happened.
    Reversal,
    /// 撤销: the operator cancels a completed transaction.
    Cancel,
}

/// What a posting request does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Operation {
    /// Take `amount` from the account, drawing the `sources` in order.
    Debit {
        /// Amount before any discount (fen, or units for copies/points).
        amount: i64,
        /// Assets to draw from, in order (e.g. subsidy then cash). Not empty, no repeats.
        sources: Vec<Asset>,
        /// Apply the account group's discount (`dz`) before limits and drawing.
        discount: bool,
        /// Which group limits apply.
        limits: LimitPolicy,
        /// May take the last source below zero (offline records); reported by a flag.
        overdraft: bool,
        /// Points credited to the account in the same transaction (0 for none).
        award_points: i64,
    },
    /// Add `amount` of `asset` to the account (recharge, admin credit, opening balance).
    Credit {
        /// Asset credited.
        asset: Asset,
        /// Amount, positive.
        amount: i64,
    },
    /// Move `amount` between two assets of the account (圈存: cash to offline purse).
    Transfer {
        /// Asset debited (never below zero).
        from: Asset,
        /// Asset credited.
        to: Asset,
        /// Amount, positive.
        amount: i64,
    },
    /// Undo a posted transaction completely. A reversal of an unknown original leaves a
    /// tombstone that refuses the original if it arrives later; a cancel of an unknown
    /// original is refused (`original_not_found`).
    Void {
        /// Idempotency key of the transaction to undo.
        original_key: String,
        /// Reversal or cancel.
        kind: VoidKind,
    },
    /// Give back part or all of a posted debit.
    Refund {
        /// Idempotency key of the debit.
        original_key: String,
        /// Amount to give back, positive, at most what is left of the original.
        amount: i64,
    },
}

impl Operation {
    /// The journal kind recorded for this operation.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Operation::Debit { .. } => "debit",
            Operation::Credit { .. } => "credit",
            Operation::Transfer { .. } => "transfer",
            Operation::Void {
                kind: VoidKind::Reversal,
                ..
            } => "reversal",
            Operation::Void {
                kind: VoidKind::Cancel,
                ..
            } => "cancel",
            Operation::Refund { .. } => "refund",
        }
    }
}

/// One request to the ledger. Idempotent on `idempotency_key`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostRequest {
    /// Unique key chosen from the protocol's own identity (`mqtt:{device}:{posNum}`...).
    pub idempotency_key: String,
    /// The user account posted to.
    pub account_id: i64,
    /// Terminal key (`mqtt:5394611`...), recorded on the journal for queries.
    pub terminal: Option<String>,
    /// Business date the daily limits count against.
    pub business_date: NaiveDate,
    /// What to do.
    pub op: Operation,
    /// What the device said beyond the request's identity (MQTT `payTime`, `idenType`,
    /// `imgPath`, offline discount and amounts...), recorded on the journal for the auditor
    /// and part of the fingerprint: a reused identity with other content is a conflict.
    pub device_fields: DeviceFields,
}

/// A device's own fields of a request, by wire name; empty when the protocol keeps them
/// elsewhere. Ordered, so that the fingerprint is stable.
pub type DeviceFields = std::collections::BTreeMap<String, String>;

impl PostRequest {
    /// A stable digest of what the request asks, so that a key reused for a different
    /// request is told apart from a plain retry. Requests without device fields digest as
    /// they always did, so stored fingerprints stay valid.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let canonical = if self.device_fields.is_empty() {
            serde_json::to_vec(&(&self.account_id, &self.terminal, &self.op))
        } else {
            serde_json::to_vec(&(
                &self.account_id,
                &self.terminal,
                &self.op,
                &self.device_fields,
            ))
        }
        .unwrap_or_default();
        hex::encode(&Sha256::digest(&canonical)[..12])
    }
}

/// A business refusal: the request was valid and was answered, but nothing was posted.
/// The names are stable: they are stored in the journal and shown in the admin API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// No such account.
    AccountNotFound,
    /// The account is frozen or closed.
    AccountFrozen,
    /// Not enough balance in the sources.
    Insufficient,
    /// Over the group's single limit (`dcxe`).
    OverSingleLimit,
    /// Over the group's daily amount (`rxe`).
    OverDailyAmount,
    /// Over the group's daily count (`rxc`).
    OverDailyCount,
    /// The original of a refund or cancel is unknown.
    OriginalNotFound,
    /// The original was already voided (or refunded in full, for a refund).
    AlreadyVoided,
    /// The original cannot be voided or refunded this way (refused, a void itself, another
    /// account's, not a debit for a refund).
    NotVoidable,
    /// The refund is larger than what is left of the original.
    RefundExceedsOriginal,
    /// A reversal arrived before this transaction: it is refused for good.
    VoidedBeforeArrival,
    /// Zero, negative or malformed amount or asset list.
    InvalidRequest,
}

impl Refusal {
    /// Stable name, as stored in the journal.
    pub const fn as_str(self) -> &'static str {
        match self {
            Refusal::AccountNotFound => "account_not_found",
            Refusal::AccountFrozen => "account_frozen",
            Refusal::Insufficient => "insufficient",
            Refusal::OverSingleLimit => "over_single_limit",
            Refusal::OverDailyAmount => "over_daily_amount",
            Refusal::OverDailyCount => "over_daily_count",
            Refusal::OriginalNotFound => "original_not_found",
            Refusal::AlreadyVoided => "already_voided",
            Refusal::NotVoidable => "not_voidable",
            Refusal::RefundExceedsOriginal => "refund_exceeds_original",
            Refusal::VoidedBeforeArrival => "voided_before_arrival",
            Refusal::InvalidRequest => "invalid_request",
        }
    }

    /// Every refusal.
    pub const ALL: [Refusal; 12] = [
        Refusal::AccountNotFound,
        Refusal::AccountFrozen,
        Refusal::Insufficient,
        Refusal::OverSingleLimit,
        Refusal::OverDailyAmount,
        Refusal::OverDailyCount,
        Refusal::OriginalNotFound,
        Refusal::AlreadyVoided,
        Refusal::NotVoidable,
        Refusal::RefundExceedsOriginal,
        Refusal::VoidedBeforeArrival,
        Refusal::InvalidRequest,
    ];

    /// Parses the stored name.
    pub fn parse(name: &str) -> Option<Refusal> {
        Refusal::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

/// Flags recorded on a transaction. Stored as a bit set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flags(pub i64);

impl Flags {
    /// The debit took the balance below zero (offline records).
    pub const OVERDRAFT: i64 = 1;
    /// An offline record exceeded the offline amount limit (`zxe`).
    pub const OFFLINE_AMOUNT_EXCEEDED: i64 = 2;
    /// An offline record exceeded the offline count limit (`zxc`).
    pub const OFFLINE_COUNT_EXCEEDED: i64 = 4;
    /// A void whose original was unknown: a tombstone now refuses the original.
    pub const ORIGINAL_MISSING: i64 = 8;
    /// A void whose original had been refused: nothing to undo.
    pub const ORIGINAL_REFUSED: i64 = 16;
    /// A reversal that took the balance below zero (undoing a credit or points already
    /// spent): a reversal always completes, the debt stays visible.
    pub const VOID_OVERDRAFT: i64 = 32;

    /// Whether `bit` is set.
    pub fn has(self, bit: i64) -> bool {
        self.0 & bit != 0
    }

    /// The names of the set bits, for the admin API.
    pub fn names(self) -> Vec<&'static str> {
        [
            (Self::OVERDRAFT, "overdraft"),
            (Self::OFFLINE_AMOUNT_EXCEEDED, "offline_amount_exceeded"),
            (Self::OFFLINE_COUNT_EXCEEDED, "offline_count_exceeded"),
            (Self::ORIGINAL_MISSING, "original_missing"),
            (Self::ORIGINAL_REFUSED, "original_refused"),
            (Self::VOID_OVERDRAFT, "void_overdraft"),
        ]
        .into_iter()
        .filter(|(bit, _)| self.has(*bit))
        .map(|(_, name)| name)
        .collect()
    }
}

/// The answer to a [`PostRequest`]: what a retry of the same key gets back, unchanged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostOutcome {
    /// Journal id of the transaction (also for refusals, which are journaled).
    pub transaction_id: i64,
    /// `None` when posted, the reason when refused.
    pub refusal: Option<Refusal>,
    /// Amount asked for (before discount).
    pub amount: i64,
    /// Amount actually posted (after discount; 0 when refused).
    pub posted_amount: i64,
    /// Balances of the account after the transaction.
    pub balances: Balances,
    /// Flags recorded on the transaction.
    pub flags: Flags,
    /// This answer is the stored answer of an earlier request with the same key.
    pub replayed: bool,
    /// The earlier request with this key asked for something different.
    pub key_conflict: bool,
}

impl PostOutcome {
    /// Whether the transaction was posted.
    pub fn is_posted(&self) -> bool {
        self.refusal.is_none()
    }
}

/// An infrastructure failure: the request may be retried as is (same identity). Nothing was
/// posted, except that a `Store` error may report a commit whose outcome stayed unknown
/// (the retry then gets the stored answer if it had posted).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// The mailbox of the actor that should take the request is full.
    #[error("busy, retry later")]
    Busy,
    /// The gateway is shutting down.
    #[error("shutting down")]
    ShuttingDown,
    /// The store failed (connection lost, deadlock, constraint...).
    #[error("store error: {0}")]
    Store(String),
}
