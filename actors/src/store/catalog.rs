//! Catalog reads and writes (merchants, groups, terminals, accounts, cards, venues, journal
//! listings), written once against [`Db`] for both backends.

use super::sql::{query_one, query_opt, Db, Dialect, Row, StoreError, Value};
use crate::ledger::{Asset, Balances, Flags};
use crate::model::*;

const MERCHANT_COLS: &str =
    "id, code, name, status, counter_account_id, created_at_ms, updated_at_ms, announce_payments";
const GROUP_COLS: &str =
    "id, merchant_id, name, single_limit, daily_amount_limit, daily_count_limit, \
     offline_amount_limit, offline_count_limit, discount_percent, created_at_ms, updated_at_ms";
const TERMINAL_COLS: &str = "id, family, code, merchant_id, name, status, last_seen_at_ms, \
     online_report, created_at_ms, updated_at_ms";
const ACCOUNT_COLS: &str =
    "id, merchant_id, user_id, name, group_id, status, created_at_ms, updated_at_ms";
const VENUE_COLS: &str = "id, companycode, merchant_id, name, status, created_at_ms, updated_at_ms";
/// Journal columns, in the order [`transaction_row`] reads them.
pub const JOURNAL_COLS: &str = "id, idempotency_key, kind, status, refusal, account_id, merchant_id, \
     terminal, asset, amount, posted_amount, refunded_amount, original_key, flags, business_date, \
     fingerprint, cash_after, subsidy_after, copies_after, points_after, purse_after, created_at_ms, \
     device_fields";

/// The user id of every merchant's counter account. User ids given through the admin API
/// may not start with `~`, so it cannot collide.
pub const COUNTER_USER_ID: &str = "~counter";

fn parse<T>(what: &str, text: String, f: impl Fn(&str) -> Option<T>) -> Result<T, StoreError> {
    f(&text).ok_or_else(|| StoreError::Decode(format!("unknown {what} {text:?}")))
}

fn merchant_row(r: &Row) -> Result<Merchant, StoreError> {
    Ok(Merchant {
        id: r.i64(0)?,
        code: r.text(1)?,
        name: r.text(2)?,
        status: parse("merchant status", r.text(3)?, MerchantStatus::parse)?,
        counter_account_id: r.opt_i64(4)?.unwrap_or_default(),
        created_at_ms: r.i64(5)?,
        updated_at_ms: r.i64(6)?,
        announce_payments: r.i64(7)? != 0,
    })
}

fn group_row(r: &Row) -> Result<Group, StoreError> {
    Ok(Group {
        id: r.i64(0)?,
        merchant_id: r.i64(1)?,
        name: r.text(2)?,
        single_limit: r.i64(3)?,
        daily_amount_limit: r.i64(4)?,
        daily_count_limit: r.i64(5)?,
        offline_amount_limit: r.i64(6)?,
        offline_count_limit: r.i64(7)?,
        discount_percent: r.i64(8)?,
        created_at_ms: r.i64(9)?,
        updated_at_ms: r.i64(10)?,
    })
}

fn terminal_row(r: &Row) -> Result<Terminal, StoreError> {
    Ok(Terminal {
        id: r.i64(0)?,
        family: parse("terminal family", r.text(1)?, TerminalFamily::parse)?,
        code: r.text(2)?,
        merchant_id: r.i64(3)?,
        name: r.text(4)?,
        status: parse("terminal status", r.text(5)?, TerminalStatus::parse)?,
        last_seen_at_ms: r.opt_i64(6)?,
        online_report: r.opt_text(7)?,
        created_at_ms: r.i64(8)?,
        updated_at_ms: r.i64(9)?,
    })
}

fn account_row(r: &Row) -> Result<Account, StoreError> {
    Ok(Account {
        id: r.i64(0)?,
        merchant_id: r.i64(1)?,
        user_id: r.text(2)?,
        name: r.text(3)?,
        group_id: r.opt_i64(4)?,
        status: parse("account status", r.text(5)?, AccountStatus::parse)?,
        created_at_ms: r.i64(6)?,
        updated_at_ms: r.i64(7)?,
    })
}

fn venue_row(r: &Row) -> Result<Venue, StoreError> {
    Ok(Venue {
        id: r.i64(0)?,
        companycode: r.text(1)?,
        merchant_id: r.i64(2)?,
        name: r.text(3)?,
        status: parse("venue status", r.text(4)?, TerminalStatus::parse)?,
        created_at_ms: r.i64(5)?,
        updated_at_ms: r.i64(6)?,
    })
}

/// Reads a journal row selected with [`JOURNAL_COLS`].
pub fn transaction_row(r: &Row) -> Result<Transaction, StoreError> {
    Ok(Transaction {
        id: r.i64(0)?,
        idempotency_key: r.text(1)?,
        kind: r.text(2)?,
        status: r.text(3)?,
        refusal: r.opt_text(4)?,
        account_id: r.opt_i64(5)?,
        merchant_id: r.opt_i64(6)?,
        terminal: r.opt_text(7)?,
        asset: r.opt_text(8)?.as_deref().and_then(Asset::parse),
        amount: r.i64(9)?,
        posted_amount: r.i64(10)?,
        refunded_amount: r.i64(11)?,
        original_key: r.opt_text(12)?,
        flags: Flags(r.i64(13)?)
            .names()
            .into_iter()
            .map(str::to_string)
            .collect(),
        business_date: r.text(14)?,
        balances_after: Balances {
            cash: r.i64(16)?,
            subsidy: r.i64(17)?,
            copies: r.i64(18)?,
            points: r.i64(19)?,
            purse: r.i64(20)?,
        },
        created_at_ms: r.i64(21)?,
        device_fields: r
            .opt_text(22)?
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default(),
    })
}

// ---------------------------------------------------------------- merchants

/// Creates a merchant and its counter account.
pub async fn create_merchant(
    db: &dyn Db,
    code: &str,
    name: &str,
    now_ms: i64,
) -> Result<Merchant, StoreError> {
    let id = query_one(
        db,
        "INSERT INTO merchants (code, name, status, created_at_ms, updated_at_ms) \
         VALUES ($1, $2, 'active', $3, $3) RETURNING id",
        &[code.into(), name.into(), now_ms.into()],
    )
    .await?
    .i64(0)?;
    let counter = query_one(
        db,
        "INSERT INTO accounts (merchant_id, kind, user_id, name, status, created_at_ms, updated_at_ms) \
         VALUES ($1, 'counter', $2, 'merchant counter account', 'active', $3, $3) RETURNING id",
        &[id.into(), COUNTER_USER_ID.into(), now_ms.into()],
    )
    .await?
    .i64(0)?;
    db.execute(
        "UPDATE merchants SET counter_account_id = $2 WHERE id = $1",
        &[id.into(), counter.into()],
    )
    .await?;
    get_merchant(db, id)
        .await?
        .ok_or_else(|| StoreError::Decode("merchant vanished".into()))
}

/// Reads a merchant by id.
pub async fn get_merchant(db: &dyn Db, id: i64) -> Result<Option<Merchant>, StoreError> {
    let sql = format!("SELECT {MERCHANT_COLS} FROM merchants WHERE id = $1");
    query_opt(db, &sql, &[id.into()])
        .await?
        .as_ref()
        .map(merchant_row)
        .transpose()
}

/// Reads a merchant by code.
pub async fn get_merchant_by_code(db: &dyn Db, code: &str) -> Result<Option<Merchant>, StoreError> {
    let sql = format!("SELECT {MERCHANT_COLS} FROM merchants WHERE code = $1");
    query_opt(db, &sql, &[code.into()])
        .await?
        .as_ref()
        .map(merchant_row)
        .transpose()
}

/// Sets the name and/or status of row `id` of `table` (merchants or terminals, which share
/// those columns); `None` leaves a field as it is. Returns whether the row exists.
async fn update_name_status(
    db: &dyn Db,
    table: &'static str,
    id: i64,
    name: Option<&str>,
    status: Option<&'static str>,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let sql = format!(
        "UPDATE {table} SET name = COALESCE($2, name), status = COALESCE($3, status), \
         updated_at_ms = $4 WHERE id = $1"
    );
    let n = db
        .execute(
            &sql,
            &[id.into(), name.into(), status.into(), now_ms.into()],
        )
        .await?;
    Ok(n > 0)
}

/// The `LIKE` pattern of a substring search for `q` against a `LOWER(column)`, with `\`,
/// `%` and `_` escaped (statements say `ESCAPE '\'`). PostgreSQL's `LOWER` folds every
/// letter; SQLite's folds ASCII only, so there the pattern keeps other letters as typed
/// (they match in their exact case).
pub fn substring_pattern(dialect: Dialect, q: &str) -> String {
    let folded = match dialect {
        Dialect::Postgres => q.to_lowercase(),
        Dialect::Sqlite => q.to_ascii_lowercase(),
    };
    let mut pattern = String::with_capacity(folded.len() + 2);
    pattern.push('%');
    for c in folded.chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Text search and page of a catalog listing (merchants, accounts): newest (highest id)
/// first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CatalogFilter {
    /// Only rows whose code/user id or name contains this text (see [`substring_pattern`]).
    pub q: Option<String>,
    /// Only rows with a smaller id (the next page).
    pub before_id: Option<i64>,
    /// Page size.
    pub limit: i64,
}

/// Lists merchants, newest first, optionally of one status, `filter.q` in code or name.
pub async fn list_merchants(
    db: &dyn Db,
    status: Option<MerchantStatus>,
    filter: &CatalogFilter,
) -> Result<Vec<Merchant>, StoreError> {
    let sql = format!(
        "SELECT {MERCHANT_COLS} FROM merchants WHERE ($1 IS NULL OR status = $1) \
         AND ($2 IS NULL OR LOWER(code) LIKE $2 ESCAPE '\\' OR LOWER(name) LIKE $2 ESCAPE '\\') \
         AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4"
    );
    let status = status.map(MerchantStatus::as_str);
    db.query(&sql, &filter_params(db, status.into(), filter))
        .await?
        .iter()
        .map(merchant_row)
        .collect()
}

/// The four parameters of a [`CatalogFilter`] statement: `scope`, pattern, before id, limit.
fn filter_params(db: &dyn Db, scope: Value, filter: &CatalogFilter) -> [Value; 4] {
    let pattern = filter
        .q
        .as_deref()
        .map(|q| substring_pattern(db.dialect(), q));
    [
        scope,
        pattern.into(),
        filter.before_id.into(),
        filter.limit.into(),
    ]
}

/// Updates a merchant's name and/or status; `None` leaves a field as it is.
pub async fn update_merchant(
    db: &dyn Db,
    id: i64,
    name: Option<&str>,
    status: Option<MerchantStatus>,
    now_ms: i64,
) -> Result<Option<Merchant>, StoreError> {
    let status = status.map(MerchantStatus::as_str);
    if !update_name_status(db, "merchants", id, name, status, now_ms).await? {
        return Ok(None);
    }
    get_merchant(db, id).await
}

/// Turns the announcement of the merchant's payments on its DS50 speakers on or off;
/// returns the merchant, `None` when there is none.
pub async fn set_announce_payments(
    db: &dyn Db,
    id: i64,
    on: bool,
    now_ms: i64,
) -> Result<Option<Merchant>, StoreError> {
    let n = db
        .execute(
            "UPDATE merchants SET announce_payments = $2, updated_at_ms = $3 WHERE id = $1",
            &[id.into(), i64::from(on).into(), now_ms.into()],
        )
        .await?;
    if n == 0 {
        return Ok(None);
    }
    get_merchant(db, id).await
}

// ---------------------------------------------------------------- groups

/// Group rule values, as created or replaced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupRulesInput {
    /// `dcxe`, fen.
    pub single_limit: i64,
    /// `rxe`, fen.
    pub daily_amount_limit: i64,
    /// `rxc`.
    pub daily_count_limit: i64,
    /// `zxe`, fen.
    pub offline_amount_limit: i64,
    /// `zxc`.
    pub offline_count_limit: i64,
    /// `dz`, 0-100.
    pub discount_percent: i64,
}

impl GroupRulesInput {
    fn values(&self) -> [Value; 6] {
        [
            self.single_limit.into(),
            self.daily_amount_limit.into(),
            self.daily_count_limit.into(),
            self.offline_amount_limit.into(),
            self.offline_count_limit.into(),
            self.discount_percent.into(),
        ]
    }
}

/// Creates a group.
pub async fn create_group(
    db: &dyn Db,
    merchant_id: i64,
    name: &str,
    rules: &GroupRulesInput,
    now_ms: i64,
) -> Result<Group, StoreError> {
    let mut params: Vec<Value> = vec![merchant_id.into(), name.into()];
    params.extend(rules.values());
    params.push(now_ms.into());
    let id = query_one(
        db,
        "INSERT INTO groups (merchant_id, name, single_limit, daily_amount_limit, \
         daily_count_limit, offline_amount_limit, offline_count_limit, discount_percent, \
         created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
        &params,
    )
    .await?
    .i64(0)?;
    get_group(db, id)
        .await?
        .ok_or_else(|| StoreError::Decode("group vanished".into()))
}

/// Reads a group.
pub async fn get_group(db: &dyn Db, id: i64) -> Result<Option<Group>, StoreError> {
    let sql = format!("SELECT {GROUP_COLS} FROM groups WHERE id = $1");
    query_opt(db, &sql, &[id.into()])
        .await?
        .as_ref()
        .map(group_row)
        .transpose()
}

/// Lists a merchant's groups.
pub async fn list_groups(db: &dyn Db, merchant_id: i64) -> Result<Vec<Group>, StoreError> {
    let sql = format!("SELECT {GROUP_COLS} FROM groups WHERE merchant_id = $1 ORDER BY id");
    db.query(&sql, &[merchant_id.into()])
        .await?
        .iter()
        .map(group_row)
        .collect()
}

/// Replaces a group's rules.
pub async fn update_group(
    db: &dyn Db,
    id: i64,
    rules: &GroupRulesInput,
    now_ms: i64,
) -> Result<Option<Group>, StoreError> {
    let mut params: Vec<Value> = vec![id.into()];
    params.extend(rules.values());
    params.push(now_ms.into());
    let n = db
        .execute(
            "UPDATE groups SET single_limit = $2, daily_amount_limit = $3, daily_count_limit = $4, \
             offline_amount_limit = $5, offline_count_limit = $6, discount_percent = $7, \
             updated_at_ms = $8 WHERE id = $1",
            &params,
        )
        .await?;
    if n == 0 {
        return Ok(None);
    }
    get_group(db, id).await
}

// ---------------------------------------------------------------- terminals

/// Creates a terminal.
pub async fn create_terminal(
    db: &dyn Db,
    family: TerminalFamily,
    code: &str,
    merchant_id: i64,
    name: &str,
    now_ms: i64,
) -> Result<Terminal, StoreError> {
    let id = query_one(
        db,
        "INSERT INTO terminals (family, code, merchant_id, name, status, created_at_ms, updated_at_ms) \
         VALUES ($1, $2, $3, $4, 'active', $5, $5) RETURNING id",
        &[
            family.as_str().into(),
            code.into(),
            merchant_id.into(),
            name.into(),
            now_ms.into(),
        ],
    )
    .await?
    .i64(0)?;
    get_terminal(db, id)
        .await?
        .ok_or_else(|| StoreError::Decode("terminal vanished".into()))
}

/// Reads a terminal by id.
pub async fn get_terminal(db: &dyn Db, id: i64) -> Result<Option<Terminal>, StoreError> {
    let sql = format!("SELECT {TERMINAL_COLS} FROM terminals WHERE id = $1");
    query_opt(db, &sql, &[id.into()])
        .await?
        .as_ref()
        .map(terminal_row)
        .transpose()
}

/// Reads a terminal by family and device code.
pub async fn find_terminal(
    db: &dyn Db,
    family: TerminalFamily,
    code: &str,
) -> Result<Option<Terminal>, StoreError> {
    let sql = format!("SELECT {TERMINAL_COLS} FROM terminals WHERE family = $1 AND code = $2");
    query_opt(db, &sql, &[family.as_str().into(), code.into()])
        .await?
        .as_ref()
        .map(terminal_row)
        .transpose()
}

/// Lists a merchant's terminals of one family, by id.
pub async fn list_terminals(
    db: &dyn Db,
    merchant_id: i64,
    family: TerminalFamily,
) -> Result<Vec<Terminal>, StoreError> {
    let sql = format!(
        "SELECT {TERMINAL_COLS} FROM terminals WHERE merchant_id = $1 AND family = $2 ORDER BY id"
    );
    db.query(&sql, &[merchant_id.into(), family.as_str().into()])
        .await?
        .iter()
        .map(terminal_row)
        .collect()
}

/// A page of a merchant's terminals, newest first, optionally of one family.
pub async fn page_terminals(
    db: &dyn Db,
    merchant_id: i64,
    family: Option<TerminalFamily>,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<Terminal>, StoreError> {
    let sql = format!(
        "SELECT {TERMINAL_COLS} FROM terminals WHERE merchant_id = $1 \
         AND ($2 IS NULL OR family = $2) AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4"
    );
    let family = family.map(TerminalFamily::as_str);
    db.query(
        &sql,
        &[
            merchant_id.into(),
            family.into(),
            before_id.into(),
            limit.into(),
        ],
    )
    .await?
    .iter()
    .map(terminal_row)
    .collect()
}

/// Updates a terminal's name and/or status.
pub async fn update_terminal(
    db: &dyn Db,
    id: i64,
    name: Option<&str>,
    status: Option<TerminalStatus>,
    now_ms: i64,
) -> Result<Option<Terminal>, StoreError> {
    let status = status.map(TerminalStatus::as_str);
    if !update_name_status(db, "terminals", id, name, status, now_ms).await? {
        return Ok(None);
    }
    get_terminal(db, id).await
}

/// Records that a terminal was seen at `now_ms`, and what it reported when it came online.
pub async fn touch_terminal(
    db: &dyn Db,
    id: i64,
    now_ms: i64,
    online_report: Option<&str>,
) -> Result<(), StoreError> {
    db.execute(
        "UPDATE terminals SET last_seen_at_ms = $2, online_report = COALESCE($3, online_report) \
         WHERE id = $1",
        &[id.into(), now_ms.into(), online_report.into()],
    )
    .await
    .map(drop)
}

// ---------------------------------------------------------------- accounts

/// Creates a user account with zero balances in every asset.
pub async fn create_account(
    db: &dyn Db,
    merchant_id: i64,
    user_id: &str,
    name: &str,
    group_id: Option<i64>,
    now_ms: i64,
) -> Result<Account, StoreError> {
    let id = query_one(
        db,
        "INSERT INTO accounts (merchant_id, kind, user_id, name, group_id, status, created_at_ms, \
         updated_at_ms) VALUES ($1, 'user', $2, $3, $4, 'active', $5, $5) RETURNING id",
        &[
            merchant_id.into(),
            user_id.into(),
            name.into(),
            group_id.into(),
            now_ms.into(),
        ],
    )
    .await?
    .i64(0)?;
    for asset in Asset::ALL {
        db.execute(
            "INSERT INTO balances (account_id, asset, amount) VALUES ($1, $2, 0)",
            &[id.into(), asset.as_str().into()],
        )
        .await?;
    }
    get_account(db, id)
        .await?
        .ok_or_else(|| StoreError::Decode("account vanished".into()))
}

/// Reads a user account by id (counter accounts are not returned).
pub async fn get_account(db: &dyn Db, id: i64) -> Result<Option<Account>, StoreError> {
    let sql = format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE id = $1 AND kind = 'user'");
    query_opt(db, &sql, &[id.into()])
        .await?
        .as_ref()
        .map(account_row)
        .transpose()
}

/// Finds a merchant's user account by the owner's user id.
pub async fn find_account(
    db: &dyn Db,
    merchant_id: i64,
    user_id: &str,
) -> Result<Option<Account>, StoreError> {
    let sql = format!(
        "SELECT {ACCOUNT_COLS} FROM accounts WHERE merchant_id = $1 AND user_id = $2 AND kind = 'user'"
    );
    query_opt(db, &sql, &[merchant_id.into(), user_id.into()])
        .await?
        .as_ref()
        .map(account_row)
        .transpose()
}

/// Lists a merchant's user accounts by id, at most `limit`.
pub async fn list_accounts(
    db: &dyn Db,
    merchant_id: i64,
    limit: i64,
) -> Result<Vec<Account>, StoreError> {
    let sql = format!(
        "SELECT {ACCOUNT_COLS} FROM accounts WHERE merchant_id = $1 AND kind = 'user' ORDER BY id LIMIT $2"
    );
    db.query(&sql, &[merchant_id.into(), limit.into()])
        .await?
        .iter()
        .map(account_row)
        .collect()
}

/// Lists user accounts, newest first, optionally of one merchant, `filter.q` in user id or
/// name.
pub async fn page_accounts(
    db: &dyn Db,
    merchant_id: Option<i64>,
    filter: &CatalogFilter,
) -> Result<Vec<Account>, StoreError> {
    let sql = format!(
        "SELECT {ACCOUNT_COLS} FROM accounts WHERE kind = 'user' \
         AND ($1 IS NULL OR merchant_id = $1) \
         AND ($2 IS NULL OR LOWER(user_id) LIKE $2 ESCAPE '\\' OR LOWER(name) LIKE $2 ESCAPE '\\') \
         AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4"
    );
    db.query(&sql, &filter_params(db, merchant_id.into(), filter))
        .await?
        .iter()
        .map(account_row)
        .collect()
}

/// Account fields an update may change; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountPatch {
    /// New display name.
    pub name: Option<String>,
    /// New group: `Some(None)` removes the account from its group.
    pub group_id: Option<Option<i64>>,
    /// New status.
    pub status: Option<AccountStatus>,
}

/// Updates an account.
pub async fn update_account(
    db: &dyn Db,
    id: i64,
    patch: &AccountPatch,
    now_ms: i64,
) -> Result<Option<Account>, StoreError> {
    let n = db
        .execute(
            "UPDATE accounts SET name = COALESCE($2, name), status = COALESCE($3, status), \
             group_id = CASE WHEN $4 = 1 THEN $5 ELSE group_id END, updated_at_ms = $6 \
             WHERE id = $1 AND kind = 'user'",
            &[
                id.into(),
                patch.name.clone().into(),
                patch.status.map(|s| s.as_str()).into(),
                i64::from(patch.group_id.is_some()).into(),
                patch.group_id.flatten().into(),
                now_ms.into(),
            ],
        )
        .await?;
    if n == 0 {
        return Ok(None);
    }
    get_account(db, id).await
}

/// The cached balances of a user account.
pub async fn balances(db: &dyn Db, account_id: i64) -> Result<Option<Balances>, StoreError> {
    let rows = db
        .query(
            "SELECT asset, amount FROM balances WHERE account_id = $1",
            &[account_id.into()],
        )
        .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut out = Balances::default();
    for row in &rows {
        let asset = parse("asset", row.text(0)?, Asset::parse)?;
        out.set(asset, row.i64(1)?);
    }
    Ok(Some(out))
}

// ---------------------------------------------------------------- cards

/// Binds a card (by its keyed hash) to an account.
pub async fn add_card(
    db: &dyn Db,
    account_id: i64,
    pan_hmac: &str,
    pan_masked: &str,
    now_ms: i64,
) -> Result<Card, StoreError> {
    db.execute(
        "INSERT INTO cards (pan_hmac, account_id, pan_masked, status, created_at_ms) \
         VALUES ($1, $2, $3, 'active', $4)",
        &[
            pan_hmac.into(),
            account_id.into(),
            pan_masked.into(),
            now_ms.into(),
        ],
    )
    .await?;
    Ok(Card {
        account_id,
        pan_masked: pan_masked.to_string(),
        status: "active".into(),
        created_at_ms: now_ms,
    })
}

/// Finds the card with this keyed hash.
pub async fn find_card(db: &dyn Db, pan_hmac: &str) -> Result<Option<Card>, StoreError> {
    query_opt(
        db,
        "SELECT account_id, pan_masked, status, created_at_ms FROM cards WHERE pan_hmac = $1",
        &[pan_hmac.into()],
    )
    .await?
    .map(|r| card_row(&r))
    .transpose()
}

/// Lists the cards of an account.
pub async fn list_cards(db: &dyn Db, account_id: i64) -> Result<Vec<Card>, StoreError> {
    db.query(
        "SELECT account_id, pan_masked, status, created_at_ms FROM cards WHERE account_id = $1 \
         ORDER BY created_at_ms",
        &[account_id.into()],
    )
    .await?
    .iter()
    .map(card_row)
    .collect()
}

fn card_row(r: &Row) -> Result<Card, StoreError> {
    Ok(Card {
        account_id: r.i64(0)?,
        pan_masked: r.text(1)?,
        status: r.text(2)?,
        created_at_ms: r.i64(3)?,
    })
}

// ---------------------------------------------------------------- venues

/// Creates a venue.
pub async fn create_venue(
    db: &dyn Db,
    companycode: &str,
    merchant_id: i64,
    name: &str,
    now_ms: i64,
) -> Result<Venue, StoreError> {
    query_one(
        db,
        "INSERT INTO venues (companycode, merchant_id, name, status, created_at_ms, updated_at_ms) \
         VALUES ($1, $2, $3, 'active', $4, $4) RETURNING id",
        &[
            companycode.into(),
            merchant_id.into(),
            name.into(),
            now_ms.into(),
        ],
    )
    .await?;
    find_venue(db, companycode)
        .await?
        .ok_or_else(|| StoreError::Decode("venue vanished".into()))
}

/// Reads a venue by company code.
pub async fn find_venue(db: &dyn Db, companycode: &str) -> Result<Option<Venue>, StoreError> {
    let sql = format!("SELECT {VENUE_COLS} FROM venues WHERE companycode = $1");
    query_opt(db, &sql, &[companycode.into()])
        .await?
        .as_ref()
        .map(venue_row)
        .transpose()
}

/// A page of venues, newest first.
pub async fn page_venues(
    db: &dyn Db,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<Venue>, StoreError> {
    let sql = format!(
        "SELECT {VENUE_COLS} FROM venues WHERE ($1 IS NULL OR id < $1) ORDER BY id DESC LIMIT $2"
    );
    db.query(&sql, &[before_id.into(), limit.into()])
        .await?
        .iter()
        .map(venue_row)
        .collect()
}

// ---------------------------------------------------------------- journal

/// Lists transactions, newest first, filtered and paged by id.
pub async fn list_transactions(
    db: &dyn Db,
    filter: &TransactionFilter,
) -> Result<Vec<Transaction>, StoreError> {
    let sql = format!(
        "SELECT {JOURNAL_COLS} FROM journal WHERE ($1 IS NULL OR account_id = $1) \
         AND ($2 IS NULL OR terminal = $2) AND ($3 IS NULL OR created_at_ms >= $3) \
         AND ($4 IS NULL OR created_at_ms < $4) AND ($5 IS NULL OR id < $5) \
         ORDER BY id DESC LIMIT $6"
    );
    db.query(
        &sql,
        &[
            filter.account_id.into(),
            filter.terminal.clone().into(),
            filter.from_ms.into(),
            filter.to_ms.into(),
            filter.before_id.into(),
            filter.limit.into(),
        ],
    )
    .await?
    .iter()
    .map(transaction_row)
    .collect()
}

/// Reads one transaction by idempotency key.
pub async fn find_transaction(db: &dyn Db, key: &str) -> Result<Option<Transaction>, StoreError> {
    let sql = format!("SELECT {JOURNAL_COLS} FROM journal WHERE idempotency_key = $1");
    query_opt(db, &sql, &[key.into()])
        .await?
        .as_ref()
        .map(transaction_row)
        .transpose()
}

/// Reads one transaction by journal id.
pub async fn get_transaction(db: &dyn Db, id: i64) -> Result<Option<Transaction>, StoreError> {
    let sql = format!("SELECT {JOURNAL_COLS} FROM journal WHERE id = $1");
    query_opt(db, &sql, &[id.into()])
        .await?
        .as_ref()
        .map(transaction_row)
        .transpose()
}

/// The last transaction a terminal made that created, moved or took money (a debit, credit
/// or transfer, posted or since voided): what an MQTT mode 31 cancel names.
pub async fn last_transaction_of_terminal(
    db: &dyn Db,
    terminal: &str,
) -> Result<Option<Transaction>, StoreError> {
    let sql = format!(
        "SELECT {JOURNAL_COLS} FROM journal WHERE terminal = $1 \
         AND kind IN ('debit', 'credit', 'transfer') AND status IN ('posted', 'voided') \
         ORDER BY created_at_ms DESC, id DESC LIMIT 1"
    );
    query_opt(db, &sql, &[terminal.into()])
        .await?
        .as_ref()
        .map(transaction_row)
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_substring_pattern_escapes_wildcards_and_folds_what_the_store_folds() {
        assert_eq!(substring_pattern(Dialect::Sqlite, "Ab"), "%ab%");
        assert_eq!(
            substring_pattern(Dialect::Postgres, r"1%_\x"),
            r"%1\%\_\\x%"
        );
        assert_eq!(substring_pattern(Dialect::Postgres, "ÉCOLE"), "%école%");
        assert_eq!(substring_pattern(Dialect::Sqlite, "ÉCOLE"), "%École%");
    }
}
