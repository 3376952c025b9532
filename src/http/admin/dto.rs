//! Request and response bodies of the admin API, with their validation.

use crate::http::error::ApiError;
use crate::http::json::Validate;
use posgate_actors::ledger::{Asset, Balances, PostOutcome};
use posgate_actors::model::{
    Account, AccountStatus, Card, MerchantStatus, TerminalFamily, TerminalStatus,
};
use posgate_protocols::AMOUNT_FEN_MAX;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Longest code, user id or idempotency key accepted.
pub const IDENTIFIER_CHARS_MAX: usize = 64;
/// Longest display name accepted.
pub const NAME_CHARS_MAX: usize = 128;
/// Longest client idempotency key accepted.
pub const IDEMPOTENCY_KEY_CHARS_MAX: usize = 128;

/// Checks an identifier: 1..=max characters of `[A-Za-z0-9_.:-]`.
pub fn check_identifier(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.is_empty() || value.chars().count() > max {
        return Err(ApiError::invalid(
            field,
            format!("must be 1 to {max} characters"),
        ));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'))
    {
        return Err(ApiError::invalid(
            field,
            "may only contain A-Z a-z 0-9 _ . : -",
        ));
    }
    Ok(())
}

/// The schema of a text parameter that takes exactly one of `values`.
pub fn text_enum(values: &[&str]) -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(values.iter().copied()))
        .build()
}

/// [`text_enum`] of an optional body field: `null` is accepted too.
pub fn text_enum_or_null(values: &[&str]) -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{SchemaType, Type};
    let mut enumerated: Vec<serde_json::Value> = values.iter().map(|v| (*v).into()).collect();
    enumerated.push(serde_json::Value::Null);
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(enumerated))
        .build()
}

/// Checks a display name: at most `NAME_CHARS_MAX` characters, no control characters.
pub fn check_name(field: &str, value: &str) -> Result<(), ApiError> {
    if value.chars().count() > NAME_CHARS_MAX || value.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            field,
            format!("must be at most {NAME_CHARS_MAX} characters without control characters"),
        ));
    }
    Ok(())
}

/// Longest search text (`q`) of a listing.
pub const SEARCH_CHARS_MAX: usize = 64;
/// Longest reason of an operator's cancel or refund.
pub const REASON_CHARS_MAX: usize = 200;

/// Checks a listing's search text `q` when given: at most [`SEARCH_CHARS_MAX`] characters,
/// no control characters (a query parameter, so the refusal is `invalid_query`).
pub fn check_search(value: Option<&str>) -> Result<(), ApiError> {
    let value = value.unwrap_or_default();
    if value.chars().count() > SEARCH_CHARS_MAX || value.chars().any(char::is_control) {
        return Err(ApiError::invalid_query(
            "q",
            format!("must be at most {SEARCH_CHARS_MAX} characters without control characters"),
        ));
    }
    Ok(())
}

/// Checks an operator's reason: 1 to [`REASON_CHARS_MAX`] characters, not only blanks, no
/// control characters.
pub fn check_reason(field: &str, value: &str) -> Result<(), ApiError> {
    if value.trim().is_empty()
        || value.chars().count() > REASON_CHARS_MAX
        || value.chars().any(char::is_control)
    {
        return Err(ApiError::invalid(
            field,
            format!(
                "must say why in 1 to {REASON_CHARS_MAX} characters without control characters"
            ),
        ));
    }
    Ok(())
}

/// Checks the client's idempotency key and the amount (positive) of a posting request.
pub fn check_posting(idempotency_key: &str, amount: i64) -> Result<(), ApiError> {
    check_identifier(
        "idempotency_key",
        idempotency_key,
        IDEMPOTENCY_KEY_CHARS_MAX,
    )?;
    check_amount("amount", amount, 1)
}

/// The schema of a posting request's `idempotency_key` ([`check_posting`]).
pub fn idempotency_key_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .description(Some(
            "Client-chosen key; a retry with the same key posts nothing and returns the first \
             answer.",
        ))
        .min_length(Some(1))
        .max_length(Some(IDEMPOTENCY_KEY_CHARS_MAX))
        .pattern(Some(r"^[A-Za-z0-9_.:-]{1,128}$"))
        .build()
}

/// The schema of an operator's `reason` ([`check_reason`]): not only blanks, no control
/// characters.
pub fn reason_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .description(Some(
            "Why (required); recorded on the journal entry as the device field `reason`.",
        ))
        .min_length(Some(1))
        .max_length(Some(REASON_CHARS_MAX))
        .pattern(Some(
            r"^[^\x00-\x1f\x7f-\x9f]*[^ \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$",
        ))
        .build()
}

/// Checks an amount in minor units: `min..=AMOUNT_FEN_MAX`.
pub fn check_amount(field: &str, value: i64, min: i64) -> Result<(), ApiError> {
    if value < min || value > AMOUNT_FEN_MAX {
        return Err(ApiError::invalid(
            field,
            format!("must be between {min} and {AMOUNT_FEN_MAX}"),
        ));
    }
    Ok(())
}

/// Create a merchant.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMerchant {
    /// Unique code, `[A-Za-z0-9_.:-]{1,64}`.
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_.:-]{1,64}$")]
    pub code: String,
    /// Display name.
    #[schema(max_length = 128, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub name: String,
}

impl Validate for NewMerchant {
    fn validate(&self) -> Result<(), ApiError> {
        check_identifier("code", &self.code, IDENTIFIER_CHARS_MAX)?;
        check_name("name", &self.name)
    }
}

/// Change a merchant.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MerchantPatch {
    /// New name.
    #[schema(max_length = 128, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub name: Option<String>,
    /// New status.
    pub status: Option<MerchantStatus>,
    /// Announce every payment posted at the merchant (MQTT consumption, jpos consume, DS50
    /// sale, Pospal ticket) on its DS50 speakers.
    pub announce_payments: Option<bool>,
}

impl Validate for MerchantPatch {
    fn validate(&self) -> Result<(), ApiError> {
        self.name
            .as_deref()
            .map_or(Ok(()), |n| check_name("name", n))
    }
}

/// Group rules; omitted values are 0 (no limit) and discount 100 (full price) on creation,
/// unchanged on update.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct GroupRulesBody {
    /// Single limit `dcxe`, fen; 0 = none.
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub single_limit: Option<i64>,
    /// Daily amount `rxe`, fen; 0 = none.
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub daily_amount_limit: Option<i64>,
    /// Daily count `rxc`; 0 = none.
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub daily_count_limit: Option<i64>,
    /// Offline amount `zxe`, fen; 0 = none.
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub offline_amount_limit: Option<i64>,
    /// Offline count `zxc`; 0 = none.
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub offline_count_limit: Option<i64>,
    /// Discount `dz`: percent paid, 0-100.
    #[schema(minimum = 0, maximum = 100)]
    pub discount_percent: Option<i64>,
}

impl GroupRulesBody {
    fn check(&self) -> Result<(), ApiError> {
        for (field, value) in [
            ("single_limit", self.single_limit),
            ("daily_amount_limit", self.daily_amount_limit),
            ("daily_count_limit", self.daily_count_limit),
            ("offline_amount_limit", self.offline_amount_limit),
            ("offline_count_limit", self.offline_count_limit),
        ] {
            if let Some(v) = value {
                check_amount(field, v, 0)?;
            }
        }
        match self.discount_percent {
            Some(d) if !(0..=100).contains(&d) => Err(ApiError::invalid(
                "discount_percent",
                "must be between 0 and 100",
            )),
            _ => Ok(()),
        }
    }
}

/// Create a group.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGroup {
    /// Owning merchant.
    pub merchant_id: i64,
    /// Group name (MQTT `g`), unique per merchant.
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_.:-]{1,64}$")]
    pub name: String,
    /// Rules.
    #[serde(flatten)]
    pub rules: GroupRulesBody,
}

impl Validate for NewGroup {
    fn validate(&self) -> Result<(), ApiError> {
        check_identifier("name", &self.name, IDENTIFIER_CHARS_MAX)?;
        self.rules.check()
    }
}

impl Validate for GroupRulesBody {
    fn validate(&self) -> Result<(), ApiError> {
        self.check()
    }
}

/// What an MQTT POS terminal code must be (the admin error names it).
pub const MQTT_DEVICE_ID_RULE: &str =
    "an mqtt_pos code is the device id of its topics: 1 to 32 letters, digits, - or _, never `all` (the broadcast topic)";

/// Create a terminal.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTerminal {
    /// Protocol family.
    pub family: TerminalFamily,
    /// Device id (MQTT deviceId: 1 to 32 of `[A-Za-z0-9_-]`, never `all`;
    /// `storeNo:terminalNo`; DS50 SN).
    pub code: String,
    /// Owning merchant.
    pub merchant_id: i64,
    /// Display name.
    #[serde(default)]
    pub name: String,
}

/// One family's form of [`NewTerminal`]: its `family` value and what its `code` must be.
fn new_terminal_form(family: &str, code: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "type": "object",
        "properties": {
            "family": {"type": "string", "enum": [family]},
            "code": code,
            "merchant_id": {"type": "integer", "format": "int64", "description": "Owning merchant."},
            "name": {"type": "string", "maxLength": NAME_CHARS_MAX,
                     "pattern": r"^[^\x00-\x1f\x7f-\x9f]*$", "description": "Display name."},
        },
        "required": ["family", "code", "merchant_id"],
        "additionalProperties": false,
    })
}

impl utoipa::PartialSchema for NewTerminal {
    /// The code's rule depends on the family: one form per family.
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        let device = serde_json::json!({"type": "string", "pattern": "^[A-Za-z0-9_-]{1,32}$"});
        // The device id pattern without the word `all` (no look-ahead: generators lack it).
        let mqtt = serde_json::json!({"type": "string", "description": MQTT_DEVICE_ID_RULE,
            "pattern": "^([A-Za-z0-9_-]{1,2}|[A-Za-z0-9_-]{4,32}|[A-Zb-z0-9_-][A-Za-z0-9_-]{2}\
                |a[A-Za-km-z0-9_-][A-Za-z0-9_-]|al[A-Za-km-z0-9_-])$"});
        let jpos = serde_json::json!({"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,64}$",
            "description": "`storeNo:terminalNo`"});
        let schema = serde_json::json!({
            "description": "Create a terminal: its family, device id (`code`), merchant and name.",
            "oneOf": [
                new_terminal_form("mqtt_pos", mqtt),
                new_terminal_form("jpos", jpos),
                new_terminal_form("ds50", device),
            ],
        });
        utoipa::openapi::RefOr::T(serde_json::from_value(schema).unwrap_or_default())
    }
}

impl ToSchema for NewTerminal {}

impl Validate for NewTerminal {
    fn validate(&self) -> Result<(), ApiError> {
        check_identifier("code", &self.code, IDENTIFIER_CHARS_MAX)?;
        // A DS50 terminal is its serial number: the one its sales name and its broadcast
        // topic ends with.
        if self.family == TerminalFamily::Ds50 {
            posgate_protocols::ds50::DeviceSn::parse(&self.code).map_err(|_| {
                ApiError::invalid(
                    "code",
                    "a ds50 code is the device serial number: 1 to 32 letters, digits, - or _",
                )
            })?;
        }
        // An MQTT POS terminal is its device id, the topic level of `{prefix}/pos/{id}/api`:
        // never the broadcast word `all` nor anything a topic would split or match on.
        if self.family == TerminalFamily::MqttPos {
            posgate_protocols::mqtt_pos::DeviceId::new(&self.code)
                .map_err(|_| ApiError::invalid("code", MQTT_DEVICE_ID_RULE))?;
        }
        check_name("name", &self.name)
    }
}

/// Change a terminal.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TerminalPatch {
    /// New name.
    #[schema(max_length = 128, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub name: Option<String>,
    /// New status.
    pub status: Option<TerminalStatus>,
}

impl Validate for TerminalPatch {
    fn validate(&self) -> Result<(), ApiError> {
        self.name
            .as_deref()
            .map_or(Ok(()), |n| check_name("name", n))
    }
}

/// Opening balances of a new account, minor units (fen; units for copies and points).
#[derive(Deserialize, ToSchema, Default, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct InitialBalances {
    /// Cash, fen.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub cash: i64,
    /// Subsidy, fen.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub subsidy: i64,
    /// Copies.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub copies: i64,
    /// Points.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub points: i64,
    /// Offline purse, fen.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub purse: i64,
}

impl InitialBalances {
    /// `(asset, amount)` of every non-zero balance.
    pub fn non_zero(&self) -> Vec<(Asset, i64)> {
        let b = Balances {
            cash: self.cash,
            subsidy: self.subsidy,
            copies: self.copies,
            points: self.points,
            purse: self.purse,
        };
        Asset::ALL
            .into_iter()
            .map(|a| (a, b.get(a)))
            .filter(|(_, v)| *v != 0)
            .collect()
    }
}

/// Create an account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    /// Owning merchant.
    pub merchant_id: i64,
    /// Owner's id (MQTT `userId`, member id), unique per merchant.
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_.:-]{1,64}$")]
    pub user_id: String,
    /// Display name.
    #[serde(default)]
    #[schema(max_length = 128, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub name: String,
    /// Group.
    pub group_id: Option<i64>,
    /// Card number (PAN, 12-19 digits): stored only as a keyed hash and a mask.
    #[schema(pattern = r"^[0-9]{12,19}$")]
    pub card_number: Option<String>,
    /// Opening balances, posted as credits.
    #[serde(default)]
    pub initial_balances: InitialBalances,
}

impl Validate for NewAccount {
    fn validate(&self) -> Result<(), ApiError> {
        check_identifier("user_id", &self.user_id, IDENTIFIER_CHARS_MAX)?;
        check_name("name", &self.name)?;
        if let Some(pan) = &self.card_number {
            posgate_actors::cards::validate_pan(pan)
                .map_err(|e| ApiError::invalid("card_number", e.to_string()))?;
        }
        let b = self.initial_balances;
        for (field, v) in [
            ("initial_balances.cash", b.cash),
            ("initial_balances.subsidy", b.subsidy),
            ("initial_balances.copies", b.copies),
            ("initial_balances.points", b.points),
            ("initial_balances.purse", b.purse),
        ] {
            check_amount(field, v, 0)?;
        }
        Ok(())
    }
}

/// Change an account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountPatchBody {
    /// New name.
    #[schema(max_length = 128, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub name: Option<String>,
    /// New group; `null` removes the account from its group.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub group_id: Option<Option<i64>>,
    /// New status.
    pub status: Option<AccountStatus>,
}

fn double_option<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

impl Validate for AccountPatchBody {
    fn validate(&self) -> Result<(), ApiError> {
        self.name
            .as_deref()
            .map_or(Ok(()), |n| check_name("name", n))
    }
}

/// Bind a card to an account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCard {
    /// Card number (PAN, 12-19 digits).
    #[schema(pattern = r"^[0-9]{12,19}$")]
    pub card_number: String,
}

impl Validate for NewCard {
    fn validate(&self) -> Result<(), ApiError> {
        posgate_actors::cards::validate_pan(&self.card_number)
            .map_err(|e| ApiError::invalid("card_number", e.to_string()))
    }
}

/// Credit an account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditBody {
    /// Client-chosen key; a retry with the same key posts nothing and returns the first
    /// answer.
    #[schema(schema_with = idempotency_key_schema)]
    pub idempotency_key: String,
    /// Amount, minor units, positive.
    #[schema(minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub amount: i64,
    /// Asset credited (default cash).
    #[serde(default = "cash")]
    pub asset: Asset,
}

fn cash() -> Asset {
    Asset::Cash
}

fn cash_only() -> Vec<Asset> {
    vec![Asset::Cash]
}

impl Validate for CreditBody {
    fn validate(&self) -> Result<(), ApiError> {
        check_posting(&self.idempotency_key, self.amount)
    }
}

/// Debit an account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DebitBody {
    /// Client-chosen key; a retry with the same key posts nothing and returns the first
    /// answer.
    #[schema(schema_with = idempotency_key_schema)]
    pub idempotency_key: String,
    /// Amount, minor units, positive.
    #[schema(minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub amount: i64,
    /// Assets drawn, in order (default `["cash"]`); money assets only, or one unit asset.
    #[serde(default = "cash_only")]
    #[schema(schema_with = debit_sources)]
    pub sources: Vec<Asset>,
}

/// Distinct money assets in order, or one unit asset.
fn debit_sources() -> utoipa::openapi::Schema {
    let schema = serde_json::json!({
        "description": "Assets drawn, in order (default [\"cash\"]): distinct money assets, \
            or one unit asset.",
        "anyOf": [
            {"type": "array", "items": {"type": "string", "enum": ["cash", "subsidy", "purse"]},
             "minItems": 1, "maxItems": 3, "uniqueItems": true},
            {"type": "array", "items": {"type": "string", "enum": ["copies", "points"]},
             "minItems": 1, "maxItems": 1},
        ],
    });
    serde_json::from_value(schema).unwrap_or_default()
}

impl Validate for DebitBody {
    fn validate(&self) -> Result<(), ApiError> {
        check_posting(&self.idempotency_key, self.amount)?;
        let distinct = self
            .sources
            .iter()
            .enumerate()
            .all(|(i, a)| !self.sources[..i].contains(a));
        let one_unit = self.sources.iter().all(|a| a.is_money()) || self.sources.len() == 1;
        if self.sources.is_empty() || !distinct || !one_unit {
            return Err(ApiError::invalid(
                "sources",
                "must list distinct money assets, or one of copies/points",
            ));
        }
        Ok(())
    }
}

/// The answer to a credit or debit.
#[derive(Serialize, ToSchema)]
pub struct OutcomeView {
    /// Journal id.
    pub transaction_id: i64,
    /// `posted` or `refused`.
    pub status: &'static str,
    /// Refusal reason (`insufficient`, `account_frozen`...).
    pub refusal: Option<&'static str>,
    /// Amount asked.
    pub amount: i64,
    /// Amount posted.
    pub posted_amount: i64,
    /// Balances after.
    pub balances: Balances,
    /// Flags.
    pub flags: Vec<&'static str>,
    /// This is the stored answer of an earlier request with the same key.
    pub replayed: bool,
}

impl From<&PostOutcome> for OutcomeView {
    fn from(o: &PostOutcome) -> Self {
        OutcomeView {
            transaction_id: o.transaction_id,
            status: if o.is_posted() { "posted" } else { "refused" },
            refusal: o.refusal.map(|r| r.as_str()),
            amount: o.amount,
            posted_amount: o.posted_amount,
            balances: o.balances,
            flags: o.flags.names(),
            replayed: o.replayed,
        }
    }
}

/// An account with its balances and cards.
#[derive(Serialize, ToSchema)]
pub struct AccountView {
    /// The account.
    #[serde(flatten)]
    pub account: Account,
    /// Current balances.
    pub balances: Balances,
    /// Bound cards (masked).
    pub cards: Vec<Card>,
}
