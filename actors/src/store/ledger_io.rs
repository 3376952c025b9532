//! The ledger's load and write steps around [`crate::ledger::engine::plan`].
//!
//! PostgreSQL reads and writes a whole batch with one statement per table (`= ANY($1)`,
//! `UNNEST`), so a batch of 500 costs the same dozen round trips as a batch of one; the
//! accounts' rows are locked first, in id order, so two replicas posting to the same accounts
//! queue on those rows instead of deadlocking, and every balance write is a compare-and-set
//! against the value read. SQLite, in-process with a single writer, runs the same steps row
//! by row with cached statements.

use super::catalog::JOURNAL_COLS;
use super::sql::{Db, Dialect, Row, StoreError, Value};
use crate::ledger::engine::{
    plan, AccountState, Entry, EntryStatus, GroupRules, Needs, Posting, Snapshot, Usage,
};
use crate::ledger::{Asset, Balances, PostOutcome, PostRequest, Refusal};
use chrono::NaiveDate;

const ACCOUNT_SELECT: &str =
    "SELECT a.id, a.merchant_id, m.counter_account_id, a.status, m.status, \
     g.id, g.single_limit, g.daily_amount_limit, g.daily_count_limit, g.offline_amount_limit, \
     g.offline_count_limit, g.discount_percent \
     FROM accounts a JOIN merchants m ON m.id = a.merchant_id \
     LEFT JOIN groups g ON g.id = a.group_id";

/// Loads, plans and writes one batch inside the caller's transaction; returns one outcome
/// per request, in order.
pub async fn commit_batch(
    db: &dyn Db,
    requests: &[PostRequest],
    now_ms: i64,
) -> Result<Vec<PostOutcome>, StoreError> {
    let needs = Needs::of(requests);
    let mut snap = load(db, &needs).await?;
    let planned = plan(&mut snap, requests, now_ms);
    planned
        .check_balanced(&snap)
        .map_err(StoreError::Invariant)?;
    write(db, &planned, &mut snap).await?;
    planned
        .replies
        .iter()
        .map(|(key, replayed, conflict)| {
            snap.entries
                .get(key)
                .map(|e| e.outcome(*replayed, *conflict))
                .ok_or_else(|| StoreError::Invariant(format!("no journal row for {key}")))
        })
        .collect()
}

fn account_state(r: &Row) -> Result<AccountState, StoreError> {
    let group = match r.opt_i64(5)? {
        None => None,
        Some(_) => Some(GroupRules {
            single_limit: r.i64(6)?,
            daily_amount_limit: r.i64(7)?,
            daily_count_limit: r.i64(8)?,
            offline_amount_limit: r.i64(9)?,
            offline_count_limit: r.i64(10)?,
            discount_percent: r.i64(11)?,
        }),
    };
    Ok(AccountState {
        id: r.i64(0)?,
        merchant_id: r.i64(1)?,
        counter_account_id: r.i64(2)?,
        active: r.text(3)? == "active" && r.text(4)? == "active",
        group,
    })
}

fn date(text: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| StoreError::Decode(format!("bad business date {text:?}")))
}

fn asset(text: &str) -> Result<Asset, StoreError> {
    Asset::parse(text).ok_or_else(|| StoreError::Decode(format!("unknown asset {text:?}")))
}

fn entry_row(r: &Row) -> Result<Entry, StoreError> {
    let status = r.text(3)?;
    Ok(Entry {
        id: Some(r.i64(0)?),
        key: r.text(1)?,
        kind: r.text(2)?,
        status: EntryStatus::parse(&status)
            .ok_or_else(|| StoreError::Decode(format!("unknown journal status {status:?}")))?,
        refusal: r.opt_text(4)?.as_deref().and_then(Refusal::parse),
        account_id: r.opt_i64(5)?,
        merchant_id: r.opt_i64(6)?,
        terminal: r.opt_text(7)?,
        asset: r.opt_text(8)?.as_deref().map(asset).transpose()?,
        amount: r.i64(9)?,
        posted_amount: r.i64(10)?,
        refunded_amount: r.i64(11)?,
        original_key: r.opt_text(12)?,
        flags: r.i64(13)?,
        business_date: date(&r.text(14)?)?,
        fingerprint: r.text(15)?,
        balances_after: Balances {
            cash: r.i64(16)?,
            subsidy: r.i64(17)?,
            copies: r.i64(18)?,
            points: r.i64(19)?,
            purse: r.i64(20)?,
        },
        created_at_ms: r.i64(21)?,
        device_fields: r.opt_text(22)?,
        postings: Vec::new(),
    })
}

/// Runs `sql` once with the whole id/key list (PostgreSQL `= ANY($1)`), or once per element
/// with `single_sql` (SQLite).
async fn query_each(
    db: &dyn Db,
    batch_sql: &str,
    single_sql: &str,
    batch_param: Value,
    singles: Vec<Vec<Value>>,
) -> Result<Vec<Row>, StoreError> {
    match db.dialect() {
        Dialect::Postgres => db.query(batch_sql, &[batch_param]).await,
        Dialect::Sqlite => {
            let mut rows = Vec::new();
            for params in singles {
                rows.extend(db.query(single_sql, &params).await?);
            }
            Ok(rows)
        }
    }
}

async fn load(db: &dyn Db, needs: &Needs) -> Result<Snapshot, StoreError> {
    let mut snap = Snapshot::default();
    let ids = needs.account_ids.clone();
    let one_id = |id: &i64| vec![Value::from(*id)];
    // 1. Accounts, locked in id order.
    let rows = query_each(
        db,
        &format!(
            "{ACCOUNT_SELECT} WHERE a.id = ANY($1) AND a.kind = 'user' ORDER BY a.id FOR UPDATE OF a"
        ),
        &format!("{ACCOUNT_SELECT} WHERE a.id = $1 AND a.kind = 'user'"),
        ids.clone().into(),
        ids.iter().map(one_id).collect(),
    )
    .await?;
    for row in &rows {
        let state = account_state(row)?;
        snap.accounts.insert(state.id, state);
    }
    // 2. Balances.
    let rows = query_each(
        db,
        "SELECT account_id, asset, amount FROM balances WHERE account_id = ANY($1)",
        "SELECT account_id, asset, amount FROM balances WHERE account_id = $1",
        ids.clone().into(),
        ids.iter().map(one_id).collect(),
    )
    .await?;
    for row in &rows {
        snap.balances
            .entry(row.i64(0)?)
            .or_default()
            .set(asset(&row.text(1)?)?, row.i64(2)?);
    }
    // 3. Daily usage.
    let usage_cols = "account_id, day, online_amount, online_count, offline_amount, offline_count";
    let rows = match db.dialect() {
        Dialect::Postgres => {
            db.query(
                &format!(
                    "SELECT {usage_cols} FROM daily_usage WHERE (account_id, day) IN \
                     (SELECT * FROM UNNEST($1::bigint[], $2::text[]))"
                ),
                &[
                    needs.usage.iter().map(|u| u.0).collect::<Vec<_>>().into(),
                    needs
                        .usage
                        .iter()
                        .map(|u| u.1.to_string())
                        .collect::<Vec<_>>()
                        .into(),
                ],
            )
            .await?
        }
        Dialect::Sqlite => {
            let mut rows = Vec::new();
            for (account, day) in &needs.usage {
                rows.extend(
                    db.query(
                        &format!(
                            "SELECT {usage_cols} FROM daily_usage WHERE account_id = $1 AND day = $2"
                        ),
                        &[(*account).into(), day.to_string().into()],
                    )
                    .await?,
                );
            }
            rows
        }
    };
    for row in &rows {
        snap.usage.insert(
            (row.i64(0)?, date(&row.text(1)?)?),
            Usage {
                online_amount: row.i64(2)?,
                online_count: row.i64(3)?,
                offline_amount: row.i64(4)?,
                offline_count: row.i64(5)?,
            },
        );
    }
    // 4. Journal rows of every key named, then of the debits behind refunds named (a void of
    //    a refund gives room back on its debit), and the postings of all of them.
    let mut by_id = std::collections::HashMap::new();
    let mut keys = needs.keys.clone();
    for _level in 0..2 {
        let rows = query_each(
            db,
            &format!("SELECT {JOURNAL_COLS} FROM journal WHERE idempotency_key = ANY($1)"),
            &format!("SELECT {JOURNAL_COLS} FROM journal WHERE idempotency_key = $1"),
            keys.clone().into(),
            keys.iter().map(|k| vec![Value::from(k.as_str())]).collect(),
        )
        .await?;
        keys.clear();
        for row in &rows {
            let entry = entry_row(row)?;
            if entry.kind == "refund" {
                if let Some(debit) = &entry.original_key {
                    if !snap.entries.contains_key(debit) {
                        keys.push(debit.clone());
                    }
                }
            }
            by_id.insert(entry.id.unwrap_or_default(), entry.key.clone());
            snap.entries.insert(entry.key.clone(), entry);
        }
        keys.retain(|k| !snap.entries.contains_key(k));
        if keys.is_empty() {
            break;
        }
    }
    let journal_ids: Vec<i64> = by_id.keys().copied().collect();
    let rows = query_each(
        db,
        "SELECT journal_id, account_id, asset, amount FROM postings WHERE journal_id = ANY($1) ORDER BY id",
        "SELECT journal_id, account_id, asset, amount FROM postings WHERE journal_id = $1 ORDER BY id",
        journal_ids.clone().into(),
        journal_ids.iter().map(one_id).collect(),
    )
    .await?;
    for row in &rows {
        let key = &by_id[&row.i64(0)?];
        if let Some(entry) = snap.entries.get_mut(key) {
            entry.postings.push(Posting {
                account_id: row.i64(1)?,
                asset: asset(&row.text(2)?)?,
                amount: row.i64(3)?,
            });
        }
    }
    Ok(snap)
}

const JOURNAL_INSERT_COLS: &str = "idempotency_key, kind, status, refusal, account_id, merchant_id, \
     terminal, asset, amount, posted_amount, refunded_amount, original_key, flags, business_date, \
     fingerprint, cash_after, subsidy_after, copies_after, points_after, purse_after, created_at_ms, \
     device_fields";

/// Number of columns in [`JOURNAL_INSERT_COLS`].
const JOURNAL_INSERT_WIDTH: usize = 22;

fn journal_values(e: &Entry) -> Vec<Value> {
    let b = e.balances_after;
    vec![
        e.key.clone().into(),
        e.kind.clone().into(),
        e.status.as_str().into(),
        e.refusal.map(|r| r.as_str()).into(),
        e.account_id.into(),
        e.merchant_id.into(),
        e.terminal.clone().into(),
        e.asset.map(|a| a.as_str()).into(),
        e.amount.into(),
        e.posted_amount.into(),
        e.refunded_amount.into(),
        e.original_key.clone().into(),
        e.flags.into(),
        e.business_date.to_string().into(),
        e.fingerprint.clone().into(),
        b.cash.into(),
        b.subsidy.into(),
        b.copies.into(),
        b.points.into(),
        b.purse.into(),
        e.created_at_ms.into(),
        e.device_fields.clone().into(),
    ]
}

/// Turns rows of scalar values into one array value per column (for `UNNEST`).
fn columns(rows: &[Vec<Value>], width: usize) -> Result<Vec<Value>, StoreError> {
    let mut out = Vec::with_capacity(width);
    for c in 0..width {
        let texts = rows.iter().all(|r| matches!(r[c], Value::Text(_)));
        out.push(if texts {
            // NULL text travels as an empty-string sentinel the SQL turns back into NULL.
            Value::TextArray(
                rows.iter()
                    .map(|r| match &r[c] {
                        Value::Text(Some(s)) => s.clone(),
                        _ => String::new(),
                    })
                    .collect(),
            )
        } else {
            let mut ints = Vec::with_capacity(rows.len());
            for r in rows {
                match &r[c] {
                    Value::I64(Some(v)) => ints.push(*v),
                    Value::I64(None) => ints.push(i64::MIN),
                    other => {
                        return Err(StoreError::Decode(format!(
                            "column {c} mixes types: {other:?}"
                        )))
                    }
                }
            }
            Value::I64Array(ints)
        });
    }
    Ok(out)
}

async fn write(
    db: &dyn Db,
    plan: &crate::ledger::engine::Plan,
    snap: &mut Snapshot,
) -> Result<(), StoreError> {
    // 1. New journal rows.
    let rows: Vec<Vec<Value>> = plan
        .inserts
        .iter()
        .map(|k| journal_values(&snap.entries[k]))
        .collect();
    match db.dialect() {
        Dialect::Postgres if !rows.is_empty() => {
            // Every column goes as an array; nullable ones use a sentinel (empty text,
            // i64::MIN) that NULLIF turns back into NULL.
            let params = columns(&rows, JOURNAL_INSERT_WIDTH)?;
            let select: Vec<String> = params
                .iter()
                .enumerate()
                .map(|(i, p)| match p {
                    Value::TextArray(_) if [3, 6, 7, 11, 21].contains(&i) => {
                        format!("NULLIF(c{i}, '')")
                    }
                    Value::I64Array(_) if [4, 5].contains(&i) => {
                        format!("NULLIF(c{i}, -9223372036854775808)")
                    }
                    _ => format!("c{i}"),
                })
                .collect();
            let unnest: Vec<String> = params
                .iter()
                .enumerate()
                .map(|(i, p)| match p {
                    Value::TextArray(_) => format!("${}::text[]", i + 1),
                    _ => format!("${}::bigint[]", i + 1),
                })
                .collect();
            let names: Vec<String> = (0..JOURNAL_INSERT_WIDTH).map(|i| format!("c{i}")).collect();
            let sql = format!(
                "INSERT INTO journal ({JOURNAL_INSERT_COLS}) SELECT {} FROM UNNEST({}) AS t({}) \
                 ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, idempotency_key",
                select.join(", "),
                unnest.join(", "),
                names.join(", ")
            );
            let returned = db.query(&sql, &params).await?;
            if returned.len() != rows.len() {
                // Another replica committed one of these keys after our read: start over.
                return Err(StoreError::Conflict(
                    "idempotency key taken concurrently".into(),
                ));
            }
            for r in &returned {
                if let Some(e) = snap.entries.get_mut(&r.text(1)?) {
                    e.id = Some(r.i64(0)?);
                }
            }
        }
        Dialect::Postgres => {}
        Dialect::Sqlite => {
            let placeholders: Vec<String> = (1..=JOURNAL_INSERT_WIDTH)
                .map(|i| format!("${i}"))
                .collect();
            let sql = format!(
                "INSERT INTO journal ({JOURNAL_INSERT_COLS}) VALUES ({}) RETURNING id",
                placeholders.join(", ")
            );
            for (key, values) in plan.inserts.iter().zip(rows) {
                let id = db
                    .query(&sql, &values)
                    .await?
                    .first()
                    .ok_or_else(|| StoreError::Decode("insert returned no id".into()))?
                    .i64(0)?;
                if let Some(e) = snap.entries.get_mut(key) {
                    e.id = Some(id);
                }
            }
        }
    }
    // 2. Postings of the new rows.
    let mut postings: Vec<Vec<Value>> = Vec::new();
    for key in &plan.inserts {
        let e = &snap.entries[key];
        let id =
            e.id.ok_or_else(|| StoreError::Invariant(format!("{key} has no id after insert")))?;
        for p in &e.postings {
            postings.push(vec![
                id.into(),
                p.account_id.into(),
                p.asset.as_str().into(),
                p.amount.into(),
            ]);
        }
    }
    run_rows(
        db,
        "INSERT INTO postings (journal_id, account_id, asset, amount) \
         SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::bigint[])",
        "INSERT INTO postings (journal_id, account_id, asset, amount) VALUES ($1, $2, $3, $4)",
        &postings,
        4,
        None,
    )
    .await?;
    // 3. Originals voided or refunded.
    let updates: Vec<Vec<Value>> = plan
        .updates
        .iter()
        .map(|k| {
            let e = &snap.entries[k];
            vec![
                k.clone().into(),
                e.status.as_str().into(),
                e.refunded_amount.into(),
            ]
        })
        .collect();
    run_rows(
        db,
        "UPDATE journal j SET status = v.status, refunded_amount = v.refunded \
         FROM UNNEST($1::text[], $2::text[], $3::bigint[]) AS v(key, status, refunded) \
         WHERE j.idempotency_key = v.key",
        "UPDATE journal SET status = $2, refunded_amount = $3 WHERE idempotency_key = $1",
        &updates,
        3,
        Some("journal row to update is missing"),
    )
    .await?;
    // 4. Balances: compare-and-set against the values read under the row locks.
    let balances: Vec<Vec<Value>> = plan
        .balances
        .iter()
        .map(|c| {
            vec![
                c.account_id.into(),
                c.asset.as_str().into(),
                c.old.into(),
                c.new.into(),
            ]
        })
        .collect();
    run_rows(
        db,
        "UPDATE balances b SET amount = v.new \
         FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::bigint[]) AS v(account_id, asset, old, new) \
         WHERE b.account_id = v.account_id AND b.asset = v.asset AND b.amount = v.old",
        "UPDATE balances SET amount = $4 WHERE account_id = $1 AND asset = $2 AND amount = $3",
        &balances,
        4,
        Some("balance changed under the batch"),
    )
    .await?;
    // 5. Daily usage.
    let usage: Vec<Vec<Value>> = plan
        .usage
        .iter()
        .map(|(account, day, u)| {
            vec![
                (*account).into(),
                day.to_string().into(),
                u.online_amount.into(),
                u.online_count.into(),
                u.offline_amount.into(),
                u.offline_count.into(),
            ]
        })
        .collect();
    let upsert =
        " ON CONFLICT (account_id, day) DO UPDATE SET online_amount = excluded.online_amount, \
         online_count = excluded.online_count, offline_amount = excluded.offline_amount, \
         offline_count = excluded.offline_count";
    run_rows(
        db,
        &format!(
            "INSERT INTO daily_usage (account_id, day, online_amount, online_count, offline_amount, \
             offline_count) SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], \
             $4::bigint[], $5::bigint[], $6::bigint[]){upsert}"
        ),
        &format!(
            "INSERT INTO daily_usage (account_id, day, online_amount, online_count, offline_amount, \
             offline_count) VALUES ($1, $2, $3, $4, $5, $6){upsert}"
        ),
        &usage,
        6,
        None,
    )
    .await?;
    Ok(())
}

/// Writes `rows` with one `UNNEST` statement (PostgreSQL) or one statement per row
/// (SQLite). With `must_match`, every row must change exactly one row, or the batch fails
/// with a retryable conflict.
async fn run_rows(
    db: &dyn Db,
    batch_sql: &str,
    single_sql: &str,
    rows: &[Vec<Value>],
    width: usize,
    must_match: Option<&str>,
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let changed = match db.dialect() {
        Dialect::Postgres => db.execute(batch_sql, &columns(rows, width)?).await?,
        Dialect::Sqlite => {
            let mut n = 0;
            for r in rows {
                n += db.execute(single_sql, r).await?;
            }
            n
        }
    };
    match must_match {
        Some(what) if changed != rows.len() as u64 => Err(StoreError::Conflict(format!(
            "{what}: {changed} of {} rows matched",
            rows.len()
        ))),
        _ => Ok(()),
    }
}
