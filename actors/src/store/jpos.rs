//! jpos access layer: merchant rules (earn rate, advertisement), terminal batches, the jpos
//! journal (`jpos_trans`, one row per traced request and one per reversal, holding the reply
//! a retry gets back) and settlement reports. Written once against [`Db`].
//!
//! Card numbers appear only as their HMAC index and masked form.

use super::sql::{query_one, query_opt, Db, Row, StoreError, Value};

/// A merchant's jpos rules.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MerchantRules {
    /// Points granted per yuan of cash, in basis points of a point (10000 = 1 point/yuan).
    pub earn_rate_bp: i64,
    /// Receipt advertisement; empty = none.
    pub advertisement: String,
    /// Cards spend only once activated (卡激活): for merchants that issue cards inactive.
    pub activation_required: bool,
    /// Spending needs the card present: a consume or ticket consume without `track2`
    /// (a keyed-in number) is refused.
    pub track2_required: bool,
}

/// Largest earn rate, basis points (100 points per yuan).
pub const EARN_RATE_BP_MAX: i64 = 1_000_000;

/// A merchant's rules, the defaults (no points, no advertisement) when never set.
pub async fn rules(db: &dyn Db, merchant_id: i64) -> Result<MerchantRules, StoreError> {
    Ok(query_opt(
        db,
        "SELECT earn_rate_bp, advertisement, activation_required, track2_required \
         FROM jpos_merchant_rules WHERE merchant_id = $1",
        &[merchant_id.into()],
    )
    .await?
    .map(|r| {
        Ok::<_, StoreError>(MerchantRules {
            earn_rate_bp: r.i64(0)?,
            advertisement: r.text(1)?,
            activation_required: r.i64(2)? != 0,
            track2_required: r.i64(3)? != 0,
        })
    })
    .transpose()?
    .unwrap_or_default())
}

/// Sets a merchant's rules.
pub async fn set_rules(
    db: &dyn Db,
    merchant_id: i64,
    rules: &MerchantRules,
    now_ms: i64,
) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO jpos_merchant_rules (merchant_id, earn_rate_bp, advertisement, updated_at_ms, \
         activation_required, track2_required) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (merchant_id) DO UPDATE SET \
         earn_rate_bp = excluded.earn_rate_bp, advertisement = excluded.advertisement, \
         updated_at_ms = excluded.updated_at_ms, \
         activation_required = excluded.activation_required, \
         track2_required = excluded.track2_required",
        &[
            merchant_id.into(),
            rules.earn_rate_bp.into(),
            rules.advertisement.clone().into(),
            now_ms.into(),
            i64::from(rules.activation_required).into(),
            i64::from(rules.track2_required).into(),
        ],
    )
    .await?;
    Ok(())
}

/// The batch state of a terminal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchState {
    /// Current batch number, 1..=999999.
    pub batch_no: u32,
    /// Whether the terminal is checked in to it.
    pub checked_in: bool,
    /// Operator of the last checkin.
    pub operator_no: Option<String>,
    /// When the terminal last checked in, unix ms.
    pub checked_in_at_ms: Option<i64>,
}

fn batch_row(r: &Row) -> Result<BatchState, StoreError> {
    Ok(BatchState {
        batch_no: u32::try_from(r.i64(0)?).map_err(|_| StoreError::Decode("batch_no".into()))?,
        checked_in: r.i64(1)? != 0,
        operator_no: r.opt_text(2)?,
        checked_in_at_ms: r.opt_i64(3)?,
    })
}

/// The batch state of a terminal, `None` before its first checkin.
pub async fn batch_state(db: &dyn Db, terminal_id: i64) -> Result<Option<BatchState>, StoreError> {
    query_opt(
        db,
        "SELECT batch_no, checked_in, operator_no, checked_in_at_ms FROM jpos_terminal_batches \
         WHERE terminal_id = $1",
        &[terminal_id.into()],
    )
    .await?
    .as_ref()
    .map(batch_row)
    .transpose()
}

/// Checks a terminal in: opens batch 000001 on the first checkin, else resumes the current
/// batch. Returns the state after.
pub async fn check_in(
    db: &dyn Db,
    terminal_id: i64,
    operator_no: &str,
    now_ms: i64,
) -> Result<BatchState, StoreError> {
    db.execute(
        "INSERT INTO jpos_terminal_batches (terminal_id, batch_no, checked_in, operator_no, \
         checked_in_at_ms, updated_at_ms) VALUES ($1, 1, 1, $2, $3, $3) \
         ON CONFLICT (terminal_id) DO UPDATE SET checked_in = 1, operator_no = excluded.operator_no, \
         checked_in_at_ms = excluded.checked_in_at_ms, updated_at_ms = excluded.updated_at_ms",
        &[terminal_id.into(), operator_no.into(), now_ms.into()],
    )
    .await?;
    batch_state(db, terminal_id)
        .await?
        .ok_or_else(|| StoreError::Decode("batch vanished".into()))
}

/// Closes batch `batch_no` after settlement: the next batch becomes current and the
/// terminal must check in again. False when the batch was not current (already closed).
pub async fn close_batch(
    db: &dyn Db,
    terminal_id: i64,
    batch_no: u32,
    next: u32,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let n = db
        .execute(
            "UPDATE jpos_terminal_batches SET batch_no = $3, checked_in = 0, updated_at_ms = $4 \
             WHERE terminal_id = $1 AND batch_no = $2",
            &[
                terminal_id.into(),
                i64::from(batch_no).into(),
                i64::from(next).into(),
                now_ms.into(),
            ],
        )
        .await?;
    Ok(n == 1)
}

/// Role of a journal row.
pub const ROLE_REQUEST: &str = "request";
/// Role of a reversal row (same batch and trace as its original).
pub const ROLE_REVERSAL: &str = "reversal";

/// Row status: figures fixed, postings maybe in flight.
pub const STATUS_PENDING: &str = "pending";
/// Row status: answered; `reply` holds the answer.
pub const STATUS_DONE: &str = "done";
/// Row status: a reversal arrived before this request; a late original is refused.
pub const STATUS_TOMBSTONE: &str = "tombstone";

/// `voided`: standing.
pub const STANDING: i64 = 0;
/// `voided`: reversed (冲正); left out of settlement.
pub const REVERSED: i64 = 1;
/// `voided`: cancelled (撤销) or, for a refund, cancelled by a refund cancel.
pub const CANCELLED: i64 = 2;

/// One row of the jpos journal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TransRow {
    /// Row id: the `serialNo`.
    pub id: i64,
    /// `jpos:{storeNo}:{terminalNo}`.
    pub terminal_key: String,
    /// Six digits.
    pub batch_no: String,
    /// Six digits.
    pub trace_no: String,
    /// [`ROLE_REQUEST`] or [`ROLE_REVERSAL`].
    pub role: String,
    /// Interface (`consume`, `cancel`, `refund`, ...).
    pub endpoint: String,
    /// Keyed digest of the request (without PIN block and tracks).
    pub fingerprint: String,
    /// [`STATUS_PENDING`], [`STATUS_DONE`] or [`STATUS_TOMBSTONE`].
    pub status: String,
    /// Response code sent.
    pub response_code: Option<String>,
    /// Reply JSON sent.
    pub reply: Option<String>,
    /// Card's account.
    pub account_id: Option<i64>,
    /// Card index.
    pub card_hmac: Option<String>,
    /// Masked card number.
    pub card_masked: Option<String>,
    /// Ledger idempotency key of this row's main posting.
    pub ledger_key: Option<String>,
    /// The row this one acts on (cancel, refund, refund cancel).
    pub original_id: Option<i64>,
    /// Ledger key of the original's main posting.
    pub original_key: Option<String>,
    /// Points spent (consume) or returned (cancel, refund), fen units of points.
    pub point_amount: i64,
    /// Cash part, fen.
    pub cash_amount: i64,
    /// Points granted (consume) or taken back (cancel, refund).
    pub persent_point: i64,
    /// Points of this consume refunded so far.
    pub refunded_point: i64,
    /// Cash of this consume refunded so far.
    pub refunded_cash: i64,
    /// Granted points of this consume taken back by refunds so far.
    pub refunded_persent: i64,
    /// Refund: cash the cardholder adds for granted points already spent.
    pub supply_cash: i64,
    /// Ticket consume: face value of the tickets used, fen.
    pub ticket_amount: i64,
    /// Ticket consume: the lines used, JSON `[[ticket_id, num], ...]`.
    pub ticket_lines: Option<String>,
    /// [`STANDING`], [`REVERSED`] or [`CANCELLED`].
    pub voided: i64,
    /// Cash register trace number.
    pub register_trace: Option<String>,
    /// Business date `YYYY-MM-DD`.
    pub business_date: String,
    /// `transTime` sent, unix ms.
    pub trans_time_ms: i64,
    /// `sweeper` when the pending-row sweeper resolved this row.
    pub resolved_by: Option<String>,
    /// When the sweeper resolved it, unix ms.
    pub resolved_at_ms: Option<i64>,
    /// When a replica's sweeper last claimed this pending row, unix ms.
    pub sweep_claimed_at_ms: Option<i64>,
}

const TRANS_COLS: &str = "id, terminal_key, batch_no, trace_no, role, endpoint, fingerprint, \
     status, response_code, reply, account_id, card_hmac, card_masked, ledger_key, original_id, \
     original_key, point_amount, cash_amount, persent_point, refunded_point, refunded_cash, \
     refunded_persent, supply_cash, voided, register_trace, business_date, trans_time_ms, \
     ticket_amount, ticket_lines, resolved_by, resolved_at_ms, sweep_claimed_at_ms";

fn trans_row(r: &Row) -> Result<TransRow, StoreError> {
    Ok(TransRow {
        id: r.i64(0)?,
        terminal_key: r.text(1)?,
        batch_no: r.text(2)?,
        trace_no: r.text(3)?,
        role: r.text(4)?,
        endpoint: r.text(5)?,
        fingerprint: r.text(6)?,
        status: r.text(7)?,
        response_code: r.opt_text(8)?,
        reply: r.opt_text(9)?,
        account_id: r.opt_i64(10)?,
        card_hmac: r.opt_text(11)?,
        card_masked: r.opt_text(12)?,
        ledger_key: r.opt_text(13)?,
        original_id: r.opt_i64(14)?,
        original_key: r.opt_text(15)?,
        point_amount: r.i64(16)?,
        cash_amount: r.i64(17)?,
        persent_point: r.i64(18)?,
        refunded_point: r.i64(19)?,
        refunded_cash: r.i64(20)?,
        refunded_persent: r.i64(21)?,
        supply_cash: r.i64(22)?,
        voided: r.i64(23)?,
        register_trace: r.opt_text(24)?,
        business_date: r.text(25)?,
        trans_time_ms: r.i64(26)?,
        ticket_amount: r.i64(27)?,
        ticket_lines: r.opt_text(28)?,
        resolved_by: r.opt_text(29)?,
        resolved_at_ms: r.opt_i64(30)?,
        sweep_claimed_at_ms: r.opt_i64(31)?,
    })
}

/// The row of a request (or reversal) by its place in the terminal's journal.
pub async fn find_trans(
    db: &dyn Db,
    terminal_key: &str,
    batch_no: &str,
    trace_no: &str,
    role: &str,
) -> Result<Option<TransRow>, StoreError> {
    let sql = format!(
        "SELECT {TRANS_COLS} FROM jpos_trans WHERE terminal_key = $1 AND batch_no = $2 \
         AND trace_no = $3 AND role = $4"
    );
    query_opt(
        db,
        &sql,
        &[
            terminal_key.into(),
            batch_no.into(),
            trace_no.into(),
            role.into(),
        ],
    )
    .await?
    .as_ref()
    .map(trans_row)
    .transpose()
}

/// A row by id (`serialNo`).
pub async fn get_trans(db: &dyn Db, id: i64) -> Result<Option<TransRow>, StoreError> {
    let sql = format!("SELECT {TRANS_COLS} FROM jpos_trans WHERE id = $1");
    query_opt(db, &sql, &[id.into()])
        .await?
        .as_ref()
        .map(trans_row)
        .transpose()
}

/// Inserts a new row (its `id` is ignored). `None` when a row with the same place and role
/// exists already (a concurrent replica won): the caller re-reads it.
pub async fn insert_trans(
    db: &dyn Db,
    row: &TransRow,
    now_ms: i64,
) -> Result<Option<TransRow>, StoreError> {
    let values: Vec<Value> = vec![
        row.terminal_key.clone().into(),
        row.batch_no.clone().into(),
        row.trace_no.clone().into(),
        row.role.clone().into(),
        row.endpoint.clone().into(),
        row.fingerprint.clone().into(),
        row.status.clone().into(),
        row.response_code.clone().into(),
        row.reply.clone().into(),
        row.account_id.into(),
        row.card_hmac.clone().into(),
        row.card_masked.clone().into(),
        row.ledger_key.clone().into(),
        row.original_id.into(),
        row.original_key.clone().into(),
        row.point_amount.into(),
        row.cash_amount.into(),
        row.persent_point.into(),
        row.supply_cash.into(),
        row.register_trace.clone().into(),
        row.business_date.clone().into(),
        row.trans_time_ms.into(),
        now_ms.into(),
        row.ticket_amount.into(),
        row.ticket_lines.clone().into(),
    ];
    let inserted = query_opt(
        db,
        "INSERT INTO jpos_trans (terminal_key, batch_no, trace_no, role, endpoint, fingerprint, \
         status, response_code, reply, account_id, card_hmac, card_masked, ledger_key, \
         original_id, original_key, point_amount, cash_amount, persent_point, supply_cash, \
         register_trace, business_date, trans_time_ms, created_at_ms, updated_at_ms, \
         ticket_amount, ticket_lines) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
         $18, $19, $20, $21, $22, $23, $23, $24, $25) \
         ON CONFLICT (terminal_key, batch_no, trace_no, role) DO NOTHING RETURNING id",
        &values,
    )
    .await?;
    match inserted {
        Some(r) => get_trans(db, r.i64(0)?).await,
        None => Ok(None),
    }
}

/// Records the answer of a pending row. False when it was answered already (a concurrent
/// replica): the caller re-reads the stored reply.
pub async fn complete_trans(
    db: &dyn Db,
    id: i64,
    response_code: &str,
    reply: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let n = db
        .execute(
            "UPDATE jpos_trans SET status = 'done', response_code = $2, reply = $3, \
             updated_at_ms = $4 WHERE id = $1 AND status = 'pending'",
            &[id.into(), response_code.into(), reply.into(), now_ms.into()],
        )
        .await?;
    Ok(n == 1)
}

/// How long a sweeper's claim on a pending row keeps other replicas (their sweepers, and
/// the terminal's retries) off it, ms.
pub const SWEEP_LEASE_MS: i64 = 30_000;

/// Who resolved a row that no request finished: [`TransRow::resolved_by`].
pub const RESOLVED_BY_SWEEPER: &str = "sweeper";

/// Pending rows that arrived before `created_before_ms`, oldest first.
pub async fn pending_due(
    db: &dyn Db,
    created_before_ms: i64,
    limit: i64,
) -> Result<Vec<TransRow>, StoreError> {
    let sql = format!(
        "SELECT {TRANS_COLS} FROM jpos_trans WHERE status = 'pending' AND created_at_ms < $1 \
         ORDER BY id LIMIT $2"
    );
    db.query(&sql, &[created_before_ms.into(), limit.into()])
        .await?
        .iter()
        .map(trans_row)
        .collect()
}

/// Claims a pending row for this replica's sweeper: false when it is answered already or
/// another replica's claim is younger than [`SWEEP_LEASE_MS`].
pub async fn claim_sweep(db: &dyn Db, id: i64, now_ms: i64) -> Result<bool, StoreError> {
    let n = db
        .execute(
            "UPDATE jpos_trans SET sweep_claimed_at_ms = $2 WHERE id = $1 AND status = 'pending' \
             AND (sweep_claimed_at_ms IS NULL OR sweep_claimed_at_ms < $3)",
            &[id.into(), now_ms.into(), (now_ms - SWEEP_LEASE_MS).into()],
        )
        .await?;
    Ok(n == 1)
}

/// Records that the sweeper resolved a row (once it is no longer pending); false otherwise.
pub async fn mark_resolved(db: &dyn Db, id: i64, now_ms: i64) -> Result<bool, StoreError> {
    let n = db
        .execute(
            "UPDATE jpos_trans SET resolved_by = $2, resolved_at_ms = $3 WHERE id = $1 \
             AND status <> 'pending' AND resolved_by IS NULL",
            &[id.into(), RESOLVED_BY_SWEEPER.into(), now_ms.into()],
        )
        .await?;
    Ok(n == 1)
}

/// The rows still pending and those the sweeper resolved, newest first (admin API).
pub async fn list_pending(db: &dyn Db, limit: i64) -> Result<Vec<TransRow>, StoreError> {
    let sql = format!(
        "SELECT {TRANS_COLS} FROM jpos_trans WHERE status = 'pending' OR resolved_by IS NOT NULL \
         ORDER BY id DESC LIMIT $1"
    );
    db.query(&sql, &[limit.into()])
        .await?
        .iter()
        .map(trans_row)
        .collect()
}

/// Sets the `voided` state of a row.
pub async fn set_voided(db: &dyn Db, id: i64, voided: i64, now_ms: i64) -> Result<(), StoreError> {
    db.execute(
        "UPDATE jpos_trans SET voided = $2, updated_at_ms = $3 WHERE id = $1",
        &[id.into(), voided.into(), now_ms.into()],
    )
    .await?;
    Ok(())
}

/// Points a row at the ledger posting that now carries its figures (a consume whose cancel
/// was reversed: the consume was posted again under the reversal's key).
pub async fn set_ledger_key(
    db: &dyn Db,
    id: i64,
    ledger_key: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    db.execute(
        "UPDATE jpos_trans SET ledger_key = $2, updated_at_ms = $3 WHERE id = $1",
        &[id.into(), ledger_key.into(), now_ms.into()],
    )
    .await?;
    Ok(())
}

/// Claims a refund on a consume row: adds the refunded figures only if the consume stands
/// and they stay within what it spent (a conditional update, so that of two refunds racing
/// from two terminals exactly one wins). False when refused.
pub async fn claim_refund(
    db: &dyn Db,
    id: i64,
    figures: [i64; 3],
    now_ms: i64,
) -> Result<bool, StoreError> {
    update_refunded(
        db,
        id,
        figures,
        now_ms,
        " AND voided = 0 AND refunded_point + $2 <= point_amount \
         AND refunded_cash + $3 <= cash_amount",
    )
    .await
}

/// Adds `[point, cash, persent]` to the refunded figures of row `id` when `condition` holds.
async fn update_refunded(
    db: &dyn Db,
    id: i64,
    [point, cash, persent]: [i64; 3],
    now_ms: i64,
    condition: &str,
) -> Result<bool, StoreError> {
    let sql = format!(
        "UPDATE jpos_trans SET refunded_point = refunded_point + $2, \
         refunded_cash = refunded_cash + $3, refunded_persent = refunded_persent + $4, \
         updated_at_ms = $5 WHERE id = $1{condition}"
    );
    let values = [id, point, cash, persent, now_ms].map(Value::from);
    Ok(db.execute(&sql, &values).await? == 1)
}

/// Claims a standing, never refunded row for a cancel (or a refund cancel): sets `voided`
/// only if nothing claimed it first. False when refused.
pub async fn claim_void(
    db: &dyn Db,
    id: i64,
    voided: i64,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let n = db
        .execute(
            "UPDATE jpos_trans SET voided = $2, updated_at_ms = $3 WHERE id = $1 AND voided = 0 \
             AND refunded_point = 0 AND refunded_cash = 0",
            &[id.into(), voided.into(), now_ms.into()],
        )
        .await?;
    Ok(n == 1)
}

/// Takes back (negative figures) or adds refunded amounts on a consume row.
pub async fn add_refunded(
    db: &dyn Db,
    id: i64,
    figures: [i64; 3],
    now_ms: i64,
) -> Result<(), StoreError> {
    update_refunded(db, id, figures, now_ms, "").await?;
    Ok(())
}

/// The answered, approved, not reversed rows of a batch (for settlement).
pub async fn approved_in_batch(
    db: &dyn Db,
    terminal_key: &str,
    batch_no: &str,
) -> Result<Vec<TransRow>, StoreError> {
    let sql = format!(
        "SELECT {TRANS_COLS} FROM jpos_trans WHERE terminal_key = $1 AND batch_no = $2 \
         AND role = 'request' AND status = 'done' AND response_code = '00' AND voided <> 1 \
         ORDER BY id"
    );
    db.query(&sql, &[terminal_key.into(), batch_no.into()])
        .await?
        .iter()
        .map(trans_row)
        .collect()
}

/// The rows of a terminal, newest first (admin API).
pub async fn list_trans(
    db: &dyn Db,
    terminal_key: &str,
    limit: i64,
) -> Result<Vec<TransRow>, StoreError> {
    let sql = format!(
        "SELECT {TRANS_COLS} FROM jpos_trans WHERE terminal_key = $1 ORDER BY id DESC LIMIT $2"
    );
    db.query(&sql, &[terminal_key.into(), limit.into()])
        .await?
        .iter()
        .map(trans_row)
        .collect()
}

/// A stored settlement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settlement {
    /// Id.
    pub id: i64,
    /// The terminal.
    pub terminal_id: i64,
    /// `jpos:{storeNo}:{terminalNo}`.
    pub terminal_key: String,
    /// The settled batch.
    pub batch_no: String,
    /// `ss` balanced, `ns` not.
    pub settle_flag: String,
    /// The terminal's figures (JSON object, wire names).
    pub terminal_totals: String,
    /// posgate's figures (JSON object, wire names).
    pub our_totals: String,
    /// Differing figures (JSON array of `{figure, terminal, posgate}`).
    pub discrepancies: String,
    /// When settled, unix ms.
    pub created_at_ms: i64,
}

const SETTLE_COLS: &str = "id, terminal_id, terminal_key, batch_no, settle_flag, \
     terminal_totals, our_totals, discrepancies, created_at_ms";

fn settlement_row(r: &Row) -> Result<Settlement, StoreError> {
    Ok(Settlement {
        id: r.i64(0)?,
        terminal_id: r.i64(1)?,
        terminal_key: r.text(2)?,
        batch_no: r.text(3)?,
        settle_flag: r.text(4)?,
        terminal_totals: r.text(5)?,
        our_totals: r.text(6)?,
        discrepancies: r.text(7)?,
        created_at_ms: r.i64(8)?,
    })
}

/// Stores a settlement; `None` when the batch was settled already (the stored one stands).
pub async fn insert_settlement(
    db: &dyn Db,
    s: &Settlement,
) -> Result<Option<Settlement>, StoreError> {
    let inserted = query_opt(
        db,
        "INSERT INTO jpos_settlements (terminal_id, terminal_key, batch_no, settle_flag, \
         terminal_totals, our_totals, discrepancies, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (terminal_key, batch_no) DO NOTHING RETURNING id",
        &[
            s.terminal_id.into(),
            s.terminal_key.clone().into(),
            s.batch_no.clone().into(),
            s.settle_flag.clone().into(),
            s.terminal_totals.clone().into(),
            s.our_totals.clone().into(),
            s.discrepancies.clone().into(),
            s.created_at_ms.into(),
        ],
    )
    .await?;
    match inserted {
        Some(r) => get_settlement(db, r.i64(0)?).await,
        None => Ok(None),
    }
}

/// A settlement by id.
pub async fn get_settlement(db: &dyn Db, id: i64) -> Result<Option<Settlement>, StoreError> {
    let sql = format!("SELECT {SETTLE_COLS} FROM jpos_settlements WHERE id = $1");
    query_opt(db, &sql, &[id.into()])
        .await?
        .as_ref()
        .map(settlement_row)
        .transpose()
}

/// The settlement of one batch.
pub async fn find_settlement(
    db: &dyn Db,
    terminal_key: &str,
    batch_no: &str,
) -> Result<Option<Settlement>, StoreError> {
    let sql = format!(
        "SELECT {SETTLE_COLS} FROM jpos_settlements WHERE terminal_key = $1 AND batch_no = $2"
    );
    query_opt(db, &sql, &[terminal_key.into(), batch_no.into()])
        .await?
        .as_ref()
        .map(settlement_row)
        .transpose()
}

/// A terminal's settlements, newest first; only unbalanced ones when `unbalanced_only`.
pub async fn list_settlements(
    db: &dyn Db,
    terminal_id: i64,
    unbalanced_only: bool,
    limit: i64,
) -> Result<Vec<Settlement>, StoreError> {
    let filter = if unbalanced_only {
        " AND settle_flag <> 'ss'"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {SETTLE_COLS} FROM jpos_settlements WHERE terminal_id = $1{filter} \
         ORDER BY id DESC LIMIT $2"
    );
    db.query(&sql, &[terminal_id.into(), limit.into()])
        .await?
        .iter()
        .map(settlement_row)
        .collect()
}

/// Counts rows (tests and the admin API).
pub async fn count_trans(db: &dyn Db, terminal_key: &str) -> Result<i64, StoreError> {
    query_one(
        db,
        "SELECT COUNT(*) FROM jpos_trans WHERE terminal_key = $1",
        &[terminal_key.into()],
    )
    .await?
    .i64(0)
}

/// A ticket kind a card's account holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketHolding {
    /// Ticket id (the wire `id`).
    pub ticket_id: i64,
    /// `01` group-buy, `02` exchange, `03` voucher.
    pub ticket_type: String,
    /// Name.
    pub name: String,
    /// Face value, fen.
    pub face_amount: i64,
    /// How many the account holds.
    pub num: i64,
}

/// Adds `holding.num` tickets to an account (creating the kind, or updating its type, name
/// and face value). Returns the holding after.
pub async fn add_tickets(
    db: &dyn Db,
    account_id: i64,
    holding: &TicketHolding,
    now_ms: i64,
) -> Result<TicketHolding, StoreError> {
    db.execute(
        "INSERT INTO jpos_tickets (account_id, ticket_id, ticket_type, name, face_amount, num, \
         updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (account_id, ticket_id) DO UPDATE SET ticket_type = excluded.ticket_type, \
         name = excluded.name, face_amount = excluded.face_amount, \
         num = jpos_tickets.num + excluded.num, updated_at_ms = excluded.updated_at_ms",
        &[
            account_id.into(),
            holding.ticket_id.into(),
            holding.ticket_type.clone().into(),
            holding.name.clone().into(),
            holding.face_amount.into(),
            holding.num.into(),
            now_ms.into(),
        ],
    )
    .await?;
    let all = tickets(db, account_id, true).await?;
    all.into_iter()
        .find(|t| t.ticket_id == holding.ticket_id)
        .ok_or_else(|| StoreError::Decode("ticket vanished".into()))
}

/// The tickets an account holds, by id; with `include_empty`, kinds of which none are left too.
pub async fn tickets(
    db: &dyn Db,
    account_id: i64,
    include_empty: bool,
) -> Result<Vec<TicketHolding>, StoreError> {
    let filter = if include_empty { "" } else { " AND num > 0" };
    let sql = format!(
        "SELECT ticket_id, ticket_type, name, face_amount, num FROM jpos_tickets \
         WHERE account_id = $1{filter} ORDER BY ticket_id"
    );
    db.query(&sql, &[account_id.into()])
        .await?
        .iter()
        .map(|r| {
            Ok(TicketHolding {
                ticket_id: r.i64(0)?,
                ticket_type: r.text(1)?,
                name: r.text(2)?,
                face_amount: r.i64(3)?,
                num: r.i64(4)?,
            })
        })
        .collect()
}

/// Takes (`delta` < 0) or gives back (`delta` > 0) tickets of one kind; false when the
/// account does not hold enough of that kind and type.
pub async fn move_tickets(
    db: &dyn Db,
    account_id: i64,
    ticket_id: i64,
    ticket_type: &str,
    delta: i64,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let n = db
        .execute(
            "UPDATE jpos_tickets SET num = num + $4, updated_at_ms = $5 WHERE account_id = $1 \
             AND ticket_id = $2 AND ticket_type = $3 AND num + $4 >= 0",
            &[
                account_id.into(),
                ticket_id.into(),
                ticket_type.into(),
                delta.into(),
                now_ms.into(),
            ],
        )
        .await?;
    Ok(n == 1)
}

/// A stored verification code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyCode {
    /// Keyed digest of the code.
    pub code_digest: String,
    /// Expiry, unix ms.
    pub expires_at_ms: i64,
    /// Wrong attempts so far.
    pub attempts: i64,
    /// Last send, unix ms.
    pub sent_at_ms: i64,
    /// Start of the current rate window, unix ms.
    pub window_start_ms: i64,
    /// Sends within the current window.
    pub window_sends: i64,
}

/// The code last sent to a mobile number.
pub async fn verify_code(db: &dyn Db, mobile_no: &str) -> Result<Option<VerifyCode>, StoreError> {
    query_opt(
        db,
        "SELECT code_digest, expires_at_ms, attempts, sent_at_ms, window_start_ms, window_sends \
         FROM jpos_verify_codes WHERE mobile_no = $1",
        &[mobile_no.into()],
    )
    .await?
    .map(|r| {
        Ok(VerifyCode {
            code_digest: r.text(0)?,
            expires_at_ms: r.i64(1)?,
            attempts: r.i64(2)?,
            sent_at_ms: r.i64(3)?,
            window_start_ms: r.i64(4)?,
            window_sends: r.i64(5)?,
        })
    })
    .transpose()
}

/// Stores a new code for a mobile number (replacing any earlier one).
pub async fn put_verify_code(
    db: &dyn Db,
    mobile_no: &str,
    code: &VerifyCode,
) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO jpos_verify_codes (mobile_no, code_digest, expires_at_ms, attempts, \
         sent_at_ms, window_start_ms, window_sends) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (mobile_no) DO UPDATE SET code_digest = excluded.code_digest, \
         expires_at_ms = excluded.expires_at_ms, attempts = excluded.attempts, \
         sent_at_ms = excluded.sent_at_ms, window_start_ms = excluded.window_start_ms, \
         window_sends = excluded.window_sends",
        &[
            mobile_no.into(),
            code.code_digest.clone().into(),
            code.expires_at_ms.into(),
            code.attempts.into(),
            code.sent_at_ms.into(),
            code.window_start_ms.into(),
            code.window_sends.into(),
        ],
    )
    .await?;
    Ok(())
}

/// Counts a wrong attempt.
pub async fn count_attempt(db: &dyn Db, mobile_no: &str) -> Result<(), StoreError> {
    db.execute(
        "UPDATE jpos_verify_codes SET attempts = attempts + 1 WHERE mobile_no = $1",
        &[mobile_no.into()],
    )
    .await?;
    Ok(())
}

/// Uses a code up (it cannot be used twice).
pub async fn spend_verify_code(db: &dyn Db, mobile_no: &str) -> Result<(), StoreError> {
    db.execute(
        "UPDATE jpos_verify_codes SET expires_at_ms = 0 WHERE mobile_no = $1",
        &[mobile_no.into()],
    )
    .await?;
    Ok(())
}

/// Whether a card was activated (卡激活).
pub async fn card_activated(db: &dyn Db, card_hmac: &str) -> Result<bool, StoreError> {
    Ok(query_opt(
        db,
        "SELECT 1 FROM jpos_card_activations WHERE card_hmac = $1",
        &[card_hmac.into()],
    )
    .await?
    .is_some())
}

/// Records a card activation; false when the card was activated already.
pub async fn activate_card(
    db: &dyn Db,
    card_hmac: &str,
    account_id: i64,
    mobile_no: &str,
    id_type: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let n = db
        .execute(
            "INSERT INTO jpos_card_activations (card_hmac, account_id, mobile_no, id_type, \
             activated_at_ms) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (card_hmac) DO NOTHING",
            &[
                card_hmac.into(),
                account_id.into(),
                mobile_no.into(),
                id_type.into(),
                now_ms.into(),
            ],
        )
        .await?;
    Ok(n == 1)
}

/// Counts one verification-code send in `scope` (a terminal key, or `*` for all terminals)
/// for unix hour `hour`, unless `max` are counted already: false then, nothing counted.
pub async fn take_sms_quota(
    db: &dyn Db,
    scope: &str,
    hour: i64,
    max: i64,
) -> Result<bool, StoreError> {
    db.execute(
        "INSERT INTO jpos_sms_quota (scope, hour, sends) VALUES ($1, $2, 0) \
         ON CONFLICT (scope, hour) DO NOTHING",
        &[scope.into(), hour.into()],
    )
    .await?;
    let n = db
        .execute(
            "UPDATE jpos_sms_quota SET sends = sends + 1 WHERE scope = $1 AND hour = $2 \
             AND sends < $3",
            &[scope.into(), hour.into(), max.into()],
        )
        .await?;
    Ok(n == 1)
}

/// Gives back one send counted by [`take_sms_quota`].
pub async fn give_back_sms_quota(db: &dyn Db, scope: &str, hour: i64) -> Result<(), StoreError> {
    db.execute(
        "UPDATE jpos_sms_quota SET sends = sends - 1 WHERE scope = $1 AND hour = $2 AND sends > 0",
        &[scope.into(), hour.into()],
    )
    .await?;
    Ok(())
}
