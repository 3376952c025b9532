//! The posting rules, written once for every backend.
//!
//! A shard commits a batch in three steps: the store *loads* a [`Snapshot`] of everything
//! the batch touches (accounts locked first, then balances, daily usage, and the journal rows
//! of every key the batch names), this module *plans* the batch in memory, and the store
//! *writes* the [`Plan`] in the same database transaction. Keeping the rules here, pure and
//! synchronous, means PostgreSQL and SQLite cannot drift apart, the rules are testable
//! without a database, and a batch of any size costs a fixed number of statements.
//!
//! Invariants the plan keeps (and [`Plan::check_balanced`] asserts before anything is
//! written): the postings of every transaction sum to zero per asset; a user balance moves
//! exactly by the sum of its postings; no balance goes below zero unless the request allowed
//! overdraft or is a reversal (flagged [`Flags::VOID_OVERDRAFT`]).

use super::types::*;
use chrono::NaiveDate;
use std::collections::{HashMap, HashSet};

/// Group rules of an account (MQTT spec 人员组规则); 0 means no limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroupRules {
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
    /// Discount `dz`, 0-100 percent to pay; 0 and 100 both mean full price.
    pub discount_percent: i64,
}

impl GroupRules {
    /// Applies the discount to `amount`: the MQTT POS spec's `dz` rule, shared with the
    /// devices' offline mode ([`posgate_protocols::mqtt_pos::apply_discount`]): `amount * dz
    /// / 100` rounded half up to the fen; `dz` 0 and 100 both mean full price.
    pub fn discounted(&self, amount: i64) -> i64 {
        // discount_percent is 0..=100 by the schema's CHECK; the clamp makes the cast total.
        let dz = self.discount_percent.clamp(0, 100) as u8;
        posgate_protocols::mqtt_pos::apply_discount(posgate_protocols::Fen(amount), dz).get()
    }
}

/// An account as the ledger sees it while posting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountState {
    /// Account id.
    pub id: i64,
    /// Owning merchant.
    pub merchant_id: i64,
    /// The merchant's counter account, the other side of every posting.
    pub counter_account_id: i64,
    /// Only active accounts may be debited or credited.
    pub active: bool,
    /// Group rules, if the account is in a group.
    pub group: Option<GroupRules>,
}

/// Daily usage counters of one account on one business date.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Online money debited, fen.
    pub online_amount: i64,
    /// Online debits.
    pub online_count: i64,
    /// Offline money recorded, fen.
    pub offline_amount: i64,
    /// Offline records.
    pub offline_count: i64,
}

/// One leg of a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Posting {
    /// Account moved.
    pub account_id: i64,
    /// Asset moved.
    pub asset: Asset,
    /// Signed amount: negative takes from the account, positive gives.
    pub amount: i64,
}

/// Status of a journal row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryStatus {
    /// Posted and in force.
    Posted,
    /// Answered with a refusal; no postings.
    Refused,
    /// Posted, then undone by a void.
    Voided,
    /// Placeholder left by a void whose original was unknown.
    Tombstone,
}

impl EntryStatus {
    /// Stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            EntryStatus::Posted => "posted",
            EntryStatus::Refused => "refused",
            EntryStatus::Voided => "voided",
            EntryStatus::Tombstone => "tombstone",
        }
    }

    /// Parses the stored name.
    pub fn parse(name: &str) -> Option<EntryStatus> {
        [
            EntryStatus::Posted,
            EntryStatus::Refused,
            EntryStatus::Voided,
            EntryStatus::Tombstone,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
}

/// Internal flag bits: which daily usage a debit counted against, so a void can undo it.
pub const USAGE_ONLINE: i64 = 1 << 20;
/// See [`USAGE_ONLINE`].
pub const USAGE_OFFLINE: i64 = 1 << 21;

/// A journal row, loaded or planned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Database id; `None` until a planned row is inserted.
    pub id: Option<i64>,
    /// Idempotency key (unique).
    pub key: String,
    /// Journal kind (`debit`, `credit`, `transfer`, `reversal`, `cancel`, `refund`,
    /// `tombstone`).
    pub kind: String,
    /// Status.
    pub status: EntryStatus,
    /// Refusal, when refused (or a tombstone).
    pub refusal: Option<Refusal>,
    /// Account, when it exists.
    pub account_id: Option<i64>,
    /// Merchant of the account.
    pub merchant_id: Option<i64>,
    /// Terminal key.
    pub terminal: Option<String>,
    /// Main asset (credited asset, first debit source...).
    pub asset: Option<Asset>,
    /// Amount asked.
    pub amount: i64,
    /// Amount posted.
    pub posted_amount: i64,
    /// Amount refunded so far (debits).
    pub refunded_amount: i64,
    /// Key of the original (voids, refunds).
    pub original_key: Option<String>,
    /// Flag bits ([`Flags`] plus the internal usage bits).
    pub flags: i64,
    /// Business date.
    pub business_date: NaiveDate,
    /// Request fingerprint.
    pub fingerprint: String,
    /// Balances of the account after this transaction.
    pub balances_after: Balances,
    /// Creation time, unix ms.
    pub created_at_ms: i64,
    /// The device's own fields of the request (JSON object), when it sent any.
    pub device_fields: Option<String>,
    /// Postings: planned ones for new rows; loaded ones for originals of voids/refunds.
    pub postings: Vec<Posting>,
}

impl Entry {
    /// The outcome a request (or its retry) gets from this row.
    pub fn outcome(&self, replayed: bool, key_conflict: bool) -> PostOutcome {
        PostOutcome {
            transaction_id: self.id.unwrap_or_default(),
            refusal: self.refusal,
            amount: self.amount,
            posted_amount: self.posted_amount,
            balances: self.balances_after,
            flags: Flags(self.flags & (USAGE_ONLINE - 1)),
            replayed,
            key_conflict,
        }
    }
}

/// Everything a batch reads, loaded by the store under the accounts' row locks.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Accounts named by the batch (missing ones are unknown accounts).
    pub accounts: HashMap<i64, AccountState>,
    /// Balances of those accounts.
    pub balances: HashMap<i64, Balances>,
    /// Daily usage rows of (account, business date) pairs of the batch.
    pub usage: HashMap<(i64, NaiveDate), Usage>,
    /// Journal rows for every key the batch names (request keys and original keys), with
    /// postings loaded for the originals.
    pub entries: HashMap<String, Entry>,
}

/// What a batch needs loaded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    /// Account ids, sorted and unique (locked in this order).
    pub account_ids: Vec<i64>,
    /// Idempotency keys: request keys and original keys.
    pub keys: Vec<String>,
    /// (account, business date) pairs for daily usage.
    pub usage: Vec<(i64, NaiveDate)>,
}

impl Needs {
    /// Collects what `requests` read.
    pub fn of(requests: &[PostRequest]) -> Needs {
        let mut needs = Needs::default();
        for r in requests {
            needs.account_ids.push(r.account_id);
            needs.keys.push(r.idempotency_key.clone());
            needs.usage.push((r.account_id, r.business_date));
            if let Operation::Void { original_key, .. } | Operation::Refund { original_key, .. } =
                &r.op
            {
                needs.keys.push(original_key.clone());
            }
        }
        needs.account_ids.sort_unstable();
        needs.account_ids.dedup();
        needs.keys.sort();
        needs.keys.dedup();
        needs.usage.sort();
        needs.usage.dedup();
        needs
    }
}

/// A user balance to write: compare-and-set from `old` to `new`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BalanceChange {
    /// Account.
    pub account_id: i64,
    /// Asset.
    pub asset: Asset,
    /// Value read in the snapshot.
    pub old: i64,
    /// Value to write.
    pub new: i64,
}

/// The writes of one batch, and who gets which answer.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Per request, in order: the key of the row that answers it, and whether it is a replay
    /// and a key conflict.
    pub replies: Vec<(String, bool, bool)>,
    /// Keys of new journal rows, in insertion order (the rows are in the snapshot).
    pub inserts: Vec<String>,
    /// Keys of loaded journal rows whose status or refunded amount changed.
    pub updates: Vec<String>,
    /// Balance changes.
    pub balances: Vec<BalanceChange>,
    /// Daily usage rows to upsert with these values.
    pub usage: Vec<(i64, NaiveDate, Usage)>,
}

/// Plans `requests` against `snap`, updating `snap` in place to the state after the batch.
pub fn plan(snap: &mut Snapshot, requests: &[PostRequest], now_ms: i64) -> Plan {
    let opening_balances = snap.balances.clone();
    let opening_usage = snap.usage.clone();
    let mut plan = Plan::default();
    let mut created: HashSet<String> = HashSet::new();
    for r in requests {
        if let Some(existing) = snap.entries.get(&r.idempotency_key) {
            let conflict = existing.status != EntryStatus::Tombstone
                && existing.fingerprint != r.fingerprint();
            plan.replies
                .push((r.idempotency_key.clone(), true, conflict));
            continue;
        }
        let touches = apply_one(snap, r, now_ms);
        for touch in touches
            .into_iter()
            .chain([Touch::Created(r.idempotency_key.clone())])
        {
            match touch {
                Touch::Created(key) => {
                    created.insert(key.clone());
                    plan.inserts.push(key);
                }
                Touch::Modified(key) => {
                    if !created.contains(&key) && !plan.updates.contains(&key) {
                        plan.updates.push(key);
                    }
                }
            }
        }
        plan.replies.push((r.idempotency_key.clone(), false, false));
    }
    let mut accounts: Vec<_> = snap.balances.keys().copied().collect();
    accounts.sort_unstable();
    for account_id in accounts {
        let new = snap.balances[&account_id];
        let old = opening_balances
            .get(&account_id)
            .copied()
            .unwrap_or_default();
        for asset in Asset::ALL {
            if new.get(asset) != old.get(asset) {
                plan.balances.push(BalanceChange {
                    account_id,
                    asset,
                    old: old.get(asset),
                    new: new.get(asset),
                });
            }
        }
    }
    let mut usage: Vec<_> = snap
        .usage
        .iter()
        .filter(|(k, v)| opening_usage.get(k) != Some(v))
        .map(|(&(a, d), &u)| (a, d, u))
        .collect();
    usage.sort_by_key(|&(a, d, _)| (a, d));
    plan.usage = usage;
    plan
}

impl Plan {
    /// Asserts the double-entry invariants of the planned rows before they are written:
    /// every new transaction's postings sum to zero per asset, and every balance change
    /// equals the sum of the new postings on that account and asset.
    pub fn check_balanced(&self, snap: &Snapshot) -> Result<(), String> {
        let mut moved: HashMap<(i64, Asset), i64> = HashMap::new();
        for key in &self.inserts {
            let entry = &snap.entries[key];
            let mut per_asset: HashMap<Asset, i64> = HashMap::new();
            for p in &entry.postings {
                *per_asset.entry(p.asset).or_default() += p.amount;
                if snap.balances.contains_key(&p.account_id) {
                    *moved.entry((p.account_id, p.asset)).or_default() += p.amount;
                }
            }
            if let Some((asset, sum)) = per_asset.iter().find(|(_, s)| **s != 0) {
                return Err(format!(
                    "transaction {key} does not balance: {asset} sums to {sum}"
                ));
            }
        }
        for change in &self.balances {
            let delta = change.new - change.old;
            let posted = moved
                .remove(&(change.account_id, change.asset))
                .unwrap_or(0);
            if delta != posted {
                return Err(format!(
                    "account {} {} moves {delta} but its postings sum to {posted}",
                    change.account_id, change.asset
                ));
            }
        }
        if let Some(((account, asset), sum)) = moved.into_iter().find(|(_, s)| *s != 0) {
            return Err(format!(
                "account {account} {asset} has postings of {sum} but no change"
            ));
        }
        Ok(())
    }
}

/// A journal row a request created or modified besides its own.
enum Touch {
    /// A new row (a tombstone).
    Created(String),
    /// An existing row (an original voided or refunded).
    Modified(String),
}

/// Applies one new request and records its journal row in `snap`; returns the other rows it
/// created or modified.
fn apply_one(snap: &mut Snapshot, r: &PostRequest, now_ms: i64) -> Vec<Touch> {
    let account = snap.accounts.get(&r.account_id).cloned();
    let balances = snap
        .balances
        .get(&r.account_id)
        .copied()
        .unwrap_or_default();
    let mut entry = Entry {
        id: None,
        key: r.idempotency_key.clone(),
        kind: r.op.kind_name().to_string(),
        status: EntryStatus::Posted,
        refusal: None,
        account_id: account.as_ref().map(|a| a.id),
        merchant_id: account.as_ref().map(|a| a.merchant_id),
        terminal: r.terminal.clone(),
        asset: None,
        amount: 0,
        posted_amount: 0,
        refunded_amount: 0,
        original_key: None,
        flags: 0,
        business_date: r.business_date,
        fingerprint: r.fingerprint(),
        balances_after: balances,
        created_at_ms: now_ms,
        device_fields: (!r.device_fields.is_empty())
            .then(|| serde_json::to_string(&r.device_fields).unwrap_or_default()),
        postings: Vec::new(),
    };
    let mut touched = Vec::new();
    let result = match account {
        None => Err(Refusal::AccountNotFound),
        Some(account) => {
            let ctx = Ctx {
                account: &account,
                balances,
            };
            match &r.op {
                Operation::Debit {
                    amount,
                    sources,
                    discount,
                    limits,
                    overdraft,
                    award_points,
                } => debit(
                    snap,
                    &ctx,
                    r,
                    &mut entry,
                    *amount,
                    sources,
                    *discount,
                    *limits,
                    *overdraft,
                    *award_points,
                ),
                Operation::Credit { asset, amount } => credit(&ctx, &mut entry, *asset, *amount),
                Operation::Transfer { from, to, amount } => {
                    transfer(&ctx, &mut entry, *from, *to, *amount)
                }
                Operation::Void { original_key, kind } => {
                    entry.original_key = Some(original_key.clone());
                    void(
                        snap,
                        &ctx,
                        &mut entry,
                        original_key,
                        *kind,
                        now_ms,
                        &mut touched,
                    )
                }
                Operation::Refund {
                    original_key,
                    amount,
                } => {
                    entry.original_key = Some(original_key.clone());
                    refund(snap, &ctx, &mut entry, original_key, *amount, &mut touched)
                }
            }
        }
    };
    match result {
        Ok(after) => {
            entry.balances_after = after;
            snap.balances.insert(r.account_id, after);
        }
        Err(refusal) => {
            entry.status = EntryStatus::Refused;
            entry.refusal = Some(refusal);
            entry.posted_amount = 0;
            entry.postings.clear();
            entry.flags = 0;
            touched.clear();
        }
    }
    snap.entries.insert(entry.key.clone(), entry);
    touched
}

struct Ctx<'a> {
    account: &'a AccountState,
    balances: Balances,
}

impl Ctx<'_> {
    /// Two postings: the account gets `amount` of `asset`, its merchant's counter account
    /// gives it.
    fn legs(&self, asset: Asset, amount: i64) -> [Posting; 2] {
        [
            Posting {
                account_id: self.account.id,
                asset,
                amount,
            },
            Posting {
                account_id: self.account.counter_account_id,
                asset,
                amount: -amount,
            },
        ]
    }
}

#[allow(clippy::too_many_arguments)]
fn debit(
    snap: &mut Snapshot,
    ctx: &Ctx<'_>,
    r: &PostRequest,
    entry: &mut Entry,
    amount: i64,
    sources: &[Asset],
    discount: bool,
    limits: LimitPolicy,
    overdraft: bool,
    award_points: i64,
) -> Result<Balances, Refusal> {
    entry.amount = amount;
    entry.asset = sources.first().copied();
    let distinct = sources
        .iter()
        .enumerate()
        .all(|(i, a)| !sources[..i].contains(a));
    let same_unit = sources.iter().all(|a| a.is_money()) || sources.len() == 1;
    if amount <= 0 || sources.is_empty() || !distinct || !same_unit || award_points < 0 {
        return Err(Refusal::InvalidRequest);
    }
    if !ctx.account.active {
        return Err(Refusal::AccountFrozen);
    }
    let rules = ctx.account.group.unwrap_or_default();
    let money = sources.iter().all(|a| a.is_money());
    let net = if discount && money {
        rules.discounted(amount)
    } else {
        amount
    };
    let usage_key = (ctx.account.id, r.business_date);
    let mut usage = snap.usage.get(&usage_key).copied().unwrap_or_default();
    match limits {
        LimitPolicy::None => {}
        LimitPolicy::Online => {
            if money && rules.single_limit > 0 && net > rules.single_limit {
                return Err(Refusal::OverSingleLimit);
            }
            let day_amount = usage
                .online_amount
                .saturating_add(if money { net } else { 0 });
            if money && rules.daily_amount_limit > 0 && day_amount > rules.daily_amount_limit {
                return Err(Refusal::OverDailyAmount);
            }
            if rules.daily_count_limit > 0 && usage.online_count + 1 > rules.daily_count_limit {
                return Err(Refusal::OverDailyCount);
            }
            usage.online_amount = day_amount;
            usage.online_count += 1;
            entry.flags |= USAGE_ONLINE;
        }
        LimitPolicy::Offline => {
            let day_amount = usage
                .offline_amount
                .saturating_add(if money { net } else { 0 });
            if money && rules.offline_amount_limit > 0 && day_amount > rules.offline_amount_limit {
                entry.flags |= Flags::OFFLINE_AMOUNT_EXCEEDED;
            }
            if rules.offline_count_limit > 0 && usage.offline_count + 1 > rules.offline_count_limit
            {
                entry.flags |= Flags::OFFLINE_COUNT_EXCEEDED;
            }
            usage.offline_amount = day_amount;
            usage.offline_count += 1;
            entry.flags |= USAGE_OFFLINE;
        }
    }
    let mut after = ctx.balances;
    let mut remaining = net;
    for &asset in sources {
        let take = after.get(asset).max(0).min(remaining);
        if take > 0 {
            after.set(asset, after.get(asset) - take);
            entry.postings.extend(ctx.legs(asset, -take));
            remaining -= take;
        }
    }
    if remaining > 0 {
        if !overdraft {
            return Err(Refusal::Insufficient);
        }
        let last = sources[sources.len() - 1];
        let debt = after
            .get(last)
            .checked_sub(remaining)
            .ok_or(Refusal::InvalidRequest)?;
        after.set(last, debt);
        entry.postings.extend(ctx.legs(last, -remaining));
        entry.flags |= Flags::OVERDRAFT;
    }
    if award_points > 0 {
        let points = after
            .points
            .checked_add(award_points)
            .ok_or(Refusal::InvalidRequest)?;
        after.points = points;
        entry.postings.extend(ctx.legs(Asset::Points, award_points));
    }
    entry.posted_amount = net;
    if limits != LimitPolicy::None {
        snap.usage.insert(usage_key, usage);
    }
    Ok(after)
}

fn credit(
    ctx: &Ctx<'_>,
    entry: &mut Entry,
    asset: Asset,
    amount: i64,
) -> Result<Balances, Refusal> {
    entry.amount = amount;
    entry.asset = Some(asset);
    if amount <= 0 {
        return Err(Refusal::InvalidRequest);
    }
    if !ctx.account.active {
        return Err(Refusal::AccountFrozen);
    }
    let mut after = ctx.balances;
    after.set(
        asset,
        after
            .get(asset)
            .checked_add(amount)
            .ok_or(Refusal::InvalidRequest)?,
    );
    entry.postings.extend(ctx.legs(asset, amount));
    entry.posted_amount = amount;
    Ok(after)
}

fn transfer(
    ctx: &Ctx<'_>,
    entry: &mut Entry,
    from: Asset,
    to: Asset,
    amount: i64,
) -> Result<Balances, Refusal> {
    entry.amount = amount;
    entry.asset = Some(from);
    if amount <= 0 || from == to || from.is_money() != to.is_money() {
        return Err(Refusal::InvalidRequest);
    }
    if !ctx.account.active {
        return Err(Refusal::AccountFrozen);
    }
    let mut after = ctx.balances;
    if after.get(from) < amount {
        return Err(Refusal::Insufficient);
    }
    after.set(from, after.get(from) - amount);
    after.set(
        to,
        after
            .get(to)
            .checked_add(amount)
            .ok_or(Refusal::InvalidRequest)?,
    );
    entry.postings.extend(ctx.legs(from, -amount));
    entry.postings.extend(ctx.legs(to, amount));
    entry.posted_amount = amount;
    Ok(after)
}

#[allow(clippy::too_many_arguments)]
fn void(
    snap: &mut Snapshot,
    ctx: &Ctx<'_>,
    entry: &mut Entry,
    original_key: &str,
    kind: VoidKind,
    now_ms: i64,
    touched: &mut Vec<Touch>,
) -> Result<Balances, Refusal> {
    let Some(original) = snap.entries.get(original_key).cloned() else {
        // A cancel names a transaction the operator saw complete: unknown is an error.
        if kind == VoidKind::Cancel {
            return Err(Refusal::OriginalNotFound);
        }
        // A reversal of an unknown original: leave a tombstone under its key so that, if it
        // arrives late, it is refused instead of posted.
        let tombstone = Entry {
            id: None,
            key: original_key.to_string(),
            kind: "tombstone".to_string(),
            status: EntryStatus::Tombstone,
            refusal: Some(Refusal::VoidedBeforeArrival),
            account_id: Some(ctx.account.id),
            merchant_id: Some(ctx.account.merchant_id),
            terminal: entry.terminal.clone(),
            asset: None,
            amount: 0,
            posted_amount: 0,
            refunded_amount: 0,
            original_key: Some(entry.key.clone()),
            flags: 0,
            business_date: entry.business_date,
            fingerprint: String::new(),
            balances_after: ctx.balances,
            created_at_ms: now_ms,
            device_fields: None,
            postings: Vec::new(),
        };
        snap.entries.insert(original_key.to_string(), tombstone);
        touched.push(Touch::Created(original_key.to_string()));
        entry.flags |= Flags::ORIGINAL_MISSING;
        return Ok(ctx.balances);
    };
    if original.account_id != Some(ctx.account.id) {
        return Err(Refusal::NotVoidable);
    }
    match original.status {
        EntryStatus::Refused => {
            entry.flags |= Flags::ORIGINAL_REFUSED;
            return Ok(ctx.balances);
        }
        EntryStatus::Voided | EntryStatus::Tombstone => return Err(Refusal::AlreadyVoided),
        EntryStatus::Posted => {}
    }
    // Voids cannot be voided, and a partly refunded debit can only be refunded further
    // (voiding it would give back the refunded part twice).
    if original.kind == "reversal" || original.kind == "cancel" || original.refunded_amount != 0 {
        return Err(Refusal::NotVoidable);
    }
    let refunded_debit = match (original.kind.as_str(), &original.original_key) {
        ("refund", Some(debit_key)) => {
            // The store loads the debit behind every refund it loads.
            if !snap.entries.contains_key(debit_key) {
                return Err(Refusal::NotVoidable);
            }
            Some(debit_key.clone())
        }
        _ => None,
    };
    entry.amount = original.posted_amount;
    entry.asset = original.asset;
    let mut after = ctx.balances;
    for p in &original.postings {
        if p.account_id == ctx.account.id {
            after.set(
                p.asset,
                after
                    .get(p.asset)
                    .checked_sub(p.amount)
                    .ok_or(Refusal::InvalidRequest)?,
            );
        }
        entry.postings.push(Posting {
            amount: -p.amount,
            ..*p
        });
    }
    // Undoing a credit or a refund takes the account below zero only for a reversal: a
    // reversal always completes (the terminal retries it until a success code), so it is
    // posted and flagged; a cancel is refused instead.
    if Asset::ALL
        .iter()
        .any(|&a| after.get(a) < 0 && after.get(a) < ctx.balances.get(a))
    {
        if kind == VoidKind::Cancel {
            return Err(Refusal::Insufficient);
        }
        entry.flags |= Flags::VOID_OVERDRAFT;
    }
    if original.flags & (USAGE_ONLINE | USAGE_OFFLINE) != 0 {
        let key = (ctx.account.id, original.business_date);
        let mut usage = snap.usage.get(&key).copied().unwrap_or_default();
        let money = original.asset.is_some_and(Asset::is_money);
        let amount = if money { original.posted_amount } else { 0 };
        if original.flags & USAGE_ONLINE != 0 {
            usage.online_amount = (usage.online_amount - amount).max(0);
            usage.online_count = (usage.online_count - 1).max(0);
        } else {
            usage.offline_amount = (usage.offline_amount - amount).max(0);
            usage.offline_count = (usage.offline_count - 1).max(0);
        }
        snap.usage.insert(key, usage);
    }
    if let Some(debit_key) = refunded_debit {
        if let Some(debit) = snap.entries.get_mut(&debit_key) {
            debit.refunded_amount -= original.posted_amount;
        }
        touched.push(Touch::Modified(debit_key));
    }
    entry.posted_amount = original.posted_amount;
    if let Some(o) = snap.entries.get_mut(original_key) {
        o.status = EntryStatus::Voided;
    }
    touched.push(Touch::Modified(original_key.to_string()));
    Ok(after)
}

fn refund(
    snap: &mut Snapshot,
    ctx: &Ctx<'_>,
    entry: &mut Entry,
    original_key: &str,
    amount: i64,
    touched: &mut Vec<Touch>,
) -> Result<Balances, Refusal> {
    entry.amount = amount;
    if amount <= 0 {
        return Err(Refusal::InvalidRequest);
    }
    let Some(original) = snap.entries.get(original_key).cloned() else {
        return Err(Refusal::OriginalNotFound);
    };
    entry.asset = original.asset;
    if original.account_id != Some(ctx.account.id) || original.kind != "debit" {
        return Err(Refusal::NotVoidable);
    }
    match original.status {
        EntryStatus::Posted => {}
        EntryStatus::Voided | EntryStatus::Tombstone => return Err(Refusal::AlreadyVoided),
        EntryStatus::Refused => return Err(Refusal::NotVoidable),
    }
    let left = original.posted_amount - original.refunded_amount;
    if left <= 0 {
        return Err(Refusal::AlreadyVoided);
    }
    if amount > left {
        return Err(Refusal::RefundExceedsOriginal);
    }
    // Give back to the assets the debit drew from, the last drawn first.
    let mut remaining = amount;
    let mut after = ctx.balances;
    let drawn: Vec<Posting> = original
        .postings
        .iter()
        .filter(|p| p.account_id == ctx.account.id && p.amount < 0)
        .copied()
        .collect();
    let already = original.refunded_amount;
    // Skip what earlier refunds already gave back (they used the same last-first order).
    let mut skip = already;
    for p in drawn.iter().rev() {
        let mut room = -p.amount;
        let skipped = skip.min(room);
        skip -= skipped;
        room -= skipped;
        let give = room.min(remaining);
        if give > 0 {
            after.set(p.asset, after.get(p.asset) + give);
            entry.postings.extend(ctx.legs(p.asset, give));
            remaining -= give;
        }
    }
    if remaining != 0 {
        return Err(Refusal::RefundExceedsOriginal);
    }
    if let Some(o) = snap.entries.get_mut(original_key) {
        o.refunded_amount += amount;
    }
    touched.push(Touch::Modified(original_key.to_string()));
    entry.posted_amount = amount;
    Ok(after)
}
