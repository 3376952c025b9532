//! Catalog types: merchants, groups, terminals, accounts, cards, venues, and the journal as
//! the admin API shows it. Storage-neutral; the store maps them to rows.

use crate::ledger::{Asset, Balances};
use serde::{Deserialize, Serialize};

macro_rules! status_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Stored and wire name.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            /// Parses the stored name.
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

status_enum!(
    /// Merchant status.
    MerchantStatus { /// Trading.
        Active => "active", /// Suspended: its terminals and accounts are refused.
        Suspended => "suspended" }
);
status_enum!(
    /// Terminal (and venue) status.
    TerminalStatus { /// In service.
        Active => "active", /// Refused with the protocol's "unknown/disabled terminal" code.
        Disabled => "disabled" }
);
status_enum!(
    /// Account status.
    AccountStatus { /// Usable.
        Active => "active", /// No debits or credits; voids and refunds still allowed.
        Frozen => "frozen", /// Closed for good (same rules as frozen).
        Closed => "closed" }
);
status_enum!(
    /// Terminal family: which protocol a terminal speaks.
    TerminalFamily { /// Canteen consumption machine over MQTT.
        MqttPos => "mqtt_pos", /// Loyalty-card terminal over the jpos HTTP access layer.
        Jpos => "jpos", /// DS50 payment box / cloud speaker.
        Ds50 => "ds50" }
);

impl TerminalFamily {
    /// Every family.
    pub const ALL: [TerminalFamily; 3] = [
        TerminalFamily::MqttPos,
        TerminalFamily::Jpos,
        TerminalFamily::Ds50,
    ];

    /// The entity-actor key prefix of this family (`mqtt`, `jpos`, `ds50`).
    pub const fn key_prefix(self) -> &'static str {
        match self {
            TerminalFamily::MqttPos => "mqtt",
            TerminalFamily::Jpos => "jpos",
            TerminalFamily::Ds50 => "ds50",
        }
    }
}

/// A merchant: owns terminals, accounts, groups and venues.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Merchant {
    /// Internal id.
    pub id: i64,
    /// Operator-chosen unique code.
    pub code: String,
    /// Display name (jpos `storeName`...).
    pub name: String,
    /// Status.
    pub status: MerchantStatus,
    /// The merchant's counter account: the other side of its customers' postings.
    pub counter_account_id: i64,
    /// Every payment posted at the merchant is announced on its DS50 speakers.
    #[serde(default)]
    pub announce_payments: bool,
    /// Creation time, unix ms.
    pub created_at_ms: i64,
    /// Last update, unix ms.
    pub updated_at_ms: i64,
}

/// Group rules (MQTT spec 人员组规则). Amounts in fen; 0 = no limit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Group {
    /// Internal id.
    pub id: i64,
    /// Owning merchant.
    pub merchant_id: i64,
    /// Group name (MQTT `g`), unique per merchant.
    pub name: String,
    /// Single limit `dcxe`, fen.
    pub single_limit: i64,
    /// Daily amount `rxe`, fen.
    pub daily_amount_limit: i64,
    /// Daily count `rxc`.
    pub daily_count_limit: i64,
    /// Offline amount `zxe`, fen.
    pub offline_amount_limit: i64,
    /// Offline count `zxc`.
    pub offline_count_limit: i64,
    /// Discount `dz`: percent of the price paid, 0-100 (0 and 100 = full price).
    pub discount_percent: i64,
    /// Creation time, unix ms.
    pub created_at_ms: i64,
    /// Last update, unix ms.
    pub updated_at_ms: i64,
}

/// A terminal. Its secrets are stored apart and never shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Terminal {
    /// Internal id.
    pub id: i64,
    /// Protocol family.
    pub family: TerminalFamily,
    /// The device's own id (MQTT deviceId, `storeNo:terminalNo`, DS50 SN), unique per family.
    pub code: String,
    /// Owning merchant.
    pub merchant_id: i64,
    /// Display name.
    pub name: String,
    /// Status.
    pub status: TerminalStatus,
    /// When the device last sent anything, unix ms (written at most every 30 s).
    pub last_seen_at_ms: Option<i64>,
    /// What the device reported in its last online message (JSON list of key/value pairs).
    pub online_report: Option<String>,
    /// Creation time, unix ms.
    pub created_at_ms: i64,
    /// Last update, unix ms.
    pub updated_at_ms: i64,
}

impl Terminal {
    /// The entity-actor key: `{family prefix}:{code}`.
    pub fn actor_key(&self) -> String {
        format!("{}:{}", self.family.key_prefix(), self.code)
    }
}

/// A customer account (stored value, subsidy, copies, points, offline purse).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Account {
    /// Internal id.
    pub id: i64,
    /// Owning merchant.
    pub merchant_id: i64,
    /// The owner's id in the merchant's systems (MQTT `userId`, member id), unique per
    /// merchant.
    pub user_id: String,
    /// Display name.
    pub name: String,
    /// Group, if any.
    pub group_id: Option<i64>,
    /// Status.
    pub status: AccountStatus,
    /// Creation time, unix ms.
    pub created_at_ms: i64,
    /// Last update, unix ms.
    pub updated_at_ms: i64,
}

/// A card bound to an account: only its mask is ever shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Card {
    /// Account the card pays from.
    pub account_id: i64,
    /// Masked PAN (first 6, last 4).
    pub pan_masked: String,
    /// `active` or `blocked`.
    pub status: String,
    /// Creation time, unix ms.
    pub created_at_ms: i64,
}

/// A KTV venue (商户通 companycode).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Venue {
    /// Internal id.
    pub id: i64,
    /// The venue system's company code, unique.
    pub companycode: String,
    /// Owning merchant.
    pub merchant_id: i64,
    /// Display name.
    pub name: String,
    /// Status.
    pub status: TerminalStatus,
    /// Creation time, unix ms.
    pub created_at_ms: i64,
    /// Last update, unix ms.
    pub updated_at_ms: i64,
}

/// A journal row as the admin API lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Transaction {
    /// Journal id.
    pub id: i64,
    /// Idempotency key.
    pub idempotency_key: String,
    /// `debit`, `credit`, `transfer`, `reversal`, `cancel`, `refund`, `tombstone`.
    pub kind: String,
    /// `posted`, `refused`, `voided`, `tombstone`.
    pub status: String,
    /// Refusal reason, when refused.
    pub refusal: Option<String>,
    /// Account.
    pub account_id: Option<i64>,
    /// Merchant.
    pub merchant_id: Option<i64>,
    /// Terminal key.
    pub terminal: Option<String>,
    /// Main asset.
    pub asset: Option<Asset>,
    /// Amount asked.
    pub amount: i64,
    /// Amount posted.
    pub posted_amount: i64,
    /// Amount refunded so far.
    pub refunded_amount: i64,
    /// Key of the original (voids, refunds, tombstones).
    pub original_key: Option<String>,
    /// Flags (`overdraft`, `offline_amount_exceeded`...).
    pub flags: Vec<String>,
    /// Business date (YYYY-MM-DD).
    pub business_date: String,
    /// Balances after the transaction.
    pub balances_after: Balances,
    /// Creation time, unix ms.
    pub created_at_ms: i64,
    /// What the device said beyond the request's identity, by wire name (MQTT `payTime`,
    /// `idenType`, `imgPath`, `offlineDz`, `offlineMoney`, `payMoney`, `mode`); empty when
    /// the protocol keeps its own journal (jpos, DS50) or for admin postings.
    pub device_fields: crate::ledger::DeviceFields,
}

/// Filter and page of a transaction listing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionFilter {
    /// Only this account.
    pub account_id: Option<i64>,
    /// Only this terminal key.
    pub terminal: Option<String>,
    /// Created at or after (unix ms).
    pub from_ms: Option<i64>,
    /// Created before (unix ms).
    pub to_ms: Option<i64>,
    /// Page: only ids below this (newest first); `None` for the first page.
    pub before_id: Option<i64>,
    /// Page size.
    pub limit: i64,
}
