//! Pospal (银豹) notifications: the apps that may send them (appId -> merchant, appKey), the
//! consumed events (one per business key), the member accounts linked by `customerUid`, the
//! balance mismatches found while mirroring tickets, and the folded state of stock flows and
//! online orders. Written once against [`Db`].

use super::catalog;
use super::sql::{query_opt, Db, Row, StoreError, Value};
use crate::model::Account;
use posgate_protocols::secret::Secret;
use serde::{Deserialize, Serialize};

/// A Pospal app: the appId, its merchant, and the appKey that signs its notifications.
#[derive(Clone, Debug)]
pub struct App {
    /// Pospal's `appId`.
    pub app_id: String,
    /// The merchant its notifications belong to.
    pub merchant_id: i64,
    /// The signing key (md5(appKey + body)) as stored: sealed (`gcm1:...`, see
    /// `posgate_protocols::pospal::sealed`), or in clear until the startup sealing pass has
    /// run over a database of before. Never shown, never logged.
    pub app_key: Secret<String>,
    /// Whether notifications from it are taken.
    pub active: bool,
    /// Unix milliseconds.
    pub created_at_ms: i64,
    /// Unix milliseconds.
    pub updated_at_ms: i64,
}

const APP_COLS: &str = "app_id, merchant_id, app_key, status, created_at_ms, updated_at_ms";

fn app_row(r: &Row) -> Result<App, StoreError> {
    Ok(App {
        app_id: r.text(0)?,
        merchant_id: r.i64(1)?,
        app_key: Secret::new(r.text(2)?),
        active: r.text(3)? == "active",
        created_at_ms: r.i64(4)?,
        updated_at_ms: r.i64(5)?,
    })
}

/// Creates an app, or replaces the key (as stored: sealed), merchant and status of an
/// existing one; returns it and whether it was created.
pub async fn put_app(
    db: &dyn Db,
    app_id: &str,
    merchant_id: i64,
    app_key: &str,
    active: bool,
    now_ms: i64,
) -> Result<(App, bool), StoreError> {
    let existed = get_app(db, app_id).await?.is_some();
    let status = if active { "active" } else { "disabled" };
    db.execute(
        "INSERT INTO pospal_apps (app_id, merchant_id, app_key, status, created_at_ms, \
         updated_at_ms) VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (app_id) DO UPDATE SET \
         merchant_id = excluded.merchant_id, app_key = excluded.app_key, \
         status = excluded.status, updated_at_ms = excluded.updated_at_ms",
        &[
            app_id.into(),
            merchant_id.into(),
            app_key.into(),
            status.into(),
            now_ms.into(),
        ],
    )
    .await?;
    let app = get_app(db, app_id)
        .await?
        .ok_or_else(|| StoreError::Decode("pospal app vanished".into()))?;
    Ok((app, !existed))
}

/// Reads an app by appId.
pub async fn get_app(db: &dyn Db, app_id: &str) -> Result<Option<App>, StoreError> {
    let sql = format!("SELECT {APP_COLS} FROM pospal_apps WHERE app_id = $1");
    query_opt(db, &sql, &[app_id.into()])
        .await?
        .as_ref()
        .map(app_row)
        .transpose()
}

/// Every app whose key is still stored in clear (a database of before sealing): appId and
/// key.
pub async fn clear_keys(db: &dyn Db) -> Result<Vec<(String, Secret<String>)>, StoreError> {
    db.query(
        "SELECT app_id, app_key FROM pospal_apps WHERE substr(app_key, 1, 5) <> 'gcm1:'",
        &[],
    )
    .await?
    .iter()
    .map(|r| Ok((r.text(0)?, Secret::new(r.text(1)?))))
    .collect()
}

/// Replaces an app's stored key, unless it changed meanwhile (`was`); returns whether it did.
pub async fn replace_key(
    db: &dyn Db,
    app_id: &str,
    was: &str,
    stored: &str,
) -> Result<bool, StoreError> {
    let changed = db
        .execute(
            "UPDATE pospal_apps SET app_key = $1 WHERE app_id = $2 AND app_key = $3",
            &[stored.into(), app_id.into(), was.into()],
        )
        .await?;
    Ok(changed > 0)
}

/// A merchant's apps, by appId.
pub async fn list_apps(db: &dyn Db, merchant_id: i64) -> Result<Vec<App>, StoreError> {
    let sql = format!("SELECT {APP_COLS} FROM pospal_apps WHERE merchant_id = $1 ORDER BY app_id");
    db.query(&sql, &[merchant_id.into()])
        .await?
        .iter()
        .map(app_row)
        .collect()
}

/// A consumed notification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    /// Row id (arrival order).
    pub id: i64,
    /// `pospal:{appId}:{cmd}:{identity}`.
    pub business_key: String,
    /// Pospal's `appId`.
    pub app_id: String,
    /// Owning merchant.
    pub merchant_id: i64,
    /// `cmd` as sent (trimmed).
    pub cmd: String,
    /// What the event is about: the ticket `sn`, `customerUid`, coupon `code`, document id...
    pub subject: String,
    /// md5 of the body text: tells a plain redelivery from a different event that reuses
    /// a business key.
    pub body_md5: String,
    /// The body text as received (a JSON string holding JSON).
    pub body: String,
    /// `bornTimeStamp`, milliseconds.
    pub born_timestamp_ms: i64,
    /// What posgate did: `recorded`, `posted`, `member_linked`, `refused:{reason}`,
    /// `key_conflict`.
    pub outcome: String,
    /// Unix milliseconds.
    pub received_at_ms: i64,
}

const EVENT_COLS: &str = "id, business_key, app_id, merchant_id, cmd, subject, body_md5, body, \
                          born_timestamp_ms, outcome, received_at_ms";

fn event_row(r: &Row) -> Result<Event, StoreError> {
    Ok(Event {
        id: r.i64(0)?,
        business_key: r.text(1)?,
        app_id: r.text(2)?,
        merchant_id: r.i64(3)?,
        cmd: r.text(4)?,
        subject: r.text(5)?,
        body_md5: r.text(6)?,
        body: r.text(7)?,
        born_timestamp_ms: r.i64(8)?,
        outcome: r.text(9)?,
        received_at_ms: r.i64(10)?,
    })
}

/// The event stored under a business key, if any.
pub async fn find_event(db: &dyn Db, business_key: &str) -> Result<Option<Event>, StoreError> {
    let sql = format!("SELECT {EVENT_COLS} FROM pospal_events WHERE business_key = $1");
    query_opt(db, &sql, &[business_key.into()])
        .await?
        .as_ref()
        .map(event_row)
        .transpose()
}

/// Stores an event unless its business key is already there; returns whether it was stored.
/// (`id` and `received_at_ms` of `event` are ignored: the row gets its own.)
pub async fn insert_event(db: &dyn Db, event: &Event, now_ms: i64) -> Result<bool, StoreError> {
    let inserted = db
        .execute(
            "INSERT INTO pospal_events (business_key, app_id, merchant_id, cmd, subject, \
             body_md5, body, born_timestamp_ms, outcome, received_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (business_key) DO NOTHING",
            &[
                event.business_key.as_str().into(),
                event.app_id.as_str().into(),
                event.merchant_id.into(),
                event.cmd.as_str().into(),
                event.subject.as_str().into(),
                event.body_md5.as_str().into(),
                event.body.as_str().into(),
                event.born_timestamp_ms.into(),
                event.outcome.as_str().into(),
                now_ms.into(),
            ],
        )
        .await?;
    Ok(inserted > 0)
}

/// A merchant's events, newest first, optionally of one `cmd`, one subject and/or one
/// outcome.
pub async fn list_events(
    db: &dyn Db,
    merchant_id: i64,
    cmd: Option<&str>,
    subject: Option<&str>,
    outcome: Option<&str>,
    limit: i64,
) -> Result<Vec<Event>, StoreError> {
    let sql = format!(
        "SELECT {EVENT_COLS} FROM pospal_events WHERE merchant_id = $1 \
         AND ($2 IS NULL OR cmd = $2) AND ($3 IS NULL OR subject = $3) \
         AND ($4 IS NULL OR outcome = $4) ORDER BY id DESC LIMIT $5"
    );
    db.query(
        &sql,
        &[
            merchant_id.into(),
            cmd.into(),
            subject.into(),
            outcome.into(),
            limit.into(),
        ],
    )
    .await?
    .iter()
    .map(event_row)
    .collect()
}

/// A merchant's events whose business key starts with `prefix` (the settlements or the
/// reverses of one ticket `sn`), oldest born first.
pub async fn events_with_prefix(
    db: &dyn Db,
    merchant_id: i64,
    prefix: &str,
) -> Result<Vec<Event>, StoreError> {
    let sql = format!(
        "SELECT {EVENT_COLS} FROM pospal_events WHERE merchant_id = $1 \
         AND substr(business_key, 1, length($2)) = $2 ORDER BY born_timestamp_ms, id"
    );
    db.query(&sql, &[merchant_id.into(), prefix.into()])
        .await?
        .iter()
        .map(event_row)
        .collect()
}

/// Changes the outcome of a consumed event (a reverse that waited for its ticket).
pub async fn set_event_outcome(
    db: &dyn Db,
    business_key: &str,
    outcome: &str,
) -> Result<(), StoreError> {
    db.execute(
        "UPDATE pospal_events SET outcome = $1 WHERE business_key = $2",
        &[outcome.into(), business_key.into()],
    )
    .await?;
    Ok(())
}

/// The user id of the ledger account that mirrors a Pospal member.
pub fn member_user_id(customer_uid: i64) -> String {
    format!("pospal:{customer_uid}")
}

/// The account linked to a member, created (with the member row) on first sight: a
/// `customer.new`, or a recharge or ticket that arrives before it. A later `customer.new`
/// fills in the member number and name.
pub async fn ensure_member(
    db: &dyn Db,
    merchant_id: i64,
    customer_uid: i64,
    number: Option<&str>,
    name: Option<&str>,
    now_ms: i64,
) -> Result<Account, StoreError> {
    let user_id = member_user_id(customer_uid);
    let account = match catalog::find_account(db, merchant_id, &user_id).await? {
        Some(account) => account,
        None => {
            catalog::create_account(db, merchant_id, &user_id, name.unwrap_or(""), None, now_ms)
                .await?
        }
    };
    db.execute(
        "INSERT INTO pospal_members (merchant_id, customer_uid, account_id, number, \
         created_at_ms) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (merchant_id, customer_uid) \
         DO UPDATE SET number = CASE WHEN excluded.number = '' THEN pospal_members.number \
         ELSE excluded.number END",
        &[
            merchant_id.into(),
            customer_uid.to_string().into(),
            account.id.into(),
            number.unwrap_or("").into(),
            now_ms.into(),
        ],
    )
    .await?;
    if let Some(name) = name.filter(|n| !n.is_empty() && *n != account.name) {
        db.execute(
            "UPDATE accounts SET name = $1, updated_at_ms = $2 WHERE id = $3",
            &[name.into(), now_ms.into(), account.id.into()],
        )
        .await?;
    }
    Ok(account)
}

/// A ticket whose `afterUsedMoney` (cash) or `afterGaintPoint` (points) differs from
/// posgate's mirrored balance, and how an operator resolved it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Mismatch {
    /// Row id.
    pub id: i64,
    /// Owning merchant.
    pub merchant_id: i64,
    /// The notification's business key (`:points` appended for a points mismatch).
    pub business_key: String,
    /// The member.
    pub customer_uid: String,
    /// The member's account.
    pub account_id: i64,
    /// `cash` (fen) or `points` (hundredths of a point).
    pub asset: String,
    /// Pospal's balance after the ticket (`afterUsedMoney` / `afterGaintPoint`).
    pub pospal_balance: i64,
    /// posgate's balance after mirroring it.
    pub posgate_balance: i64,
    /// Unix milliseconds.
    pub recorded_at_ms: i64,
    /// `open` or `resolved`.
    pub status: String,
    /// `noted` (explained, nothing posted) or `adjusted` (posgate now follows Pospal).
    pub resolution: String,
    /// The operator's note.
    pub note: String,
    /// Who resolved it.
    pub resolved_by: String,
    /// Unix milliseconds.
    pub resolved_at_ms: Option<i64>,
    /// The ledger key of the adjustment, when one was posted.
    pub adjustment_key: Option<String>,
}

const MISMATCH_COLS: &str = "id, merchant_id, business_key, customer_uid, account_id, asset, \
                             pospal_balance, posgate_balance, recorded_at_ms, status, \
                             resolution, note, resolved_by, resolved_at_ms, adjustment_key";

fn mismatch_row(r: &Row) -> Result<Mismatch, StoreError> {
    Ok(Mismatch {
        id: r.i64(0)?,
        merchant_id: r.i64(1)?,
        business_key: r.text(2)?,
        customer_uid: r.text(3)?,
        account_id: r.i64(4)?,
        asset: r.text(5)?,
        pospal_balance: r.i64(6)?,
        posgate_balance: r.i64(7)?,
        recorded_at_ms: r.i64(8)?,
        status: r.text(9)?,
        resolution: r.text(10)?,
        note: r.text(11)?,
        resolved_by: r.text(12)?,
        resolved_at_ms: r.opt_i64(13)?,
        adjustment_key: r.opt_text(14)?,
    })
}

/// Records an open mismatch (once per business key).
pub async fn record_mismatch(db: &dyn Db, m: &Mismatch, now_ms: i64) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO pospal_balance_mismatches (merchant_id, business_key, customer_uid, \
         account_id, asset, pospal_balance, posgate_balance, recorded_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (business_key) DO NOTHING",
        &[
            m.merchant_id.into(),
            m.business_key.as_str().into(),
            m.customer_uid.as_str().into(),
            m.account_id.into(),
            m.asset.as_str().into(),
            m.pospal_balance.into(),
            m.posgate_balance.into(),
            now_ms.into(),
        ],
    )
    .await?;
    Ok(())
}

/// A merchant's mismatches, newest first, optionally only `open` or `resolved` ones.
pub async fn list_mismatches(
    db: &dyn Db,
    merchant_id: i64,
    status: Option<&str>,
    limit: i64,
) -> Result<Vec<Mismatch>, StoreError> {
    let sql = format!(
        "SELECT {MISMATCH_COLS} FROM pospal_balance_mismatches WHERE merchant_id = $1 \
         AND ($2 IS NULL OR status = $2) ORDER BY id DESC LIMIT $3"
    );
    db.query(&sql, &[merchant_id.into(), status.into(), limit.into()])
        .await?
        .iter()
        .map(mismatch_row)
        .collect()
}

/// One mismatch of a merchant.
pub async fn get_mismatch(
    db: &dyn Db,
    merchant_id: i64,
    id: i64,
) -> Result<Option<Mismatch>, StoreError> {
    let sql = format!(
        "SELECT {MISMATCH_COLS} FROM pospal_balance_mismatches WHERE merchant_id = $1 AND id = $2"
    );
    query_opt(db, &sql, &[merchant_id.into(), id.into()])
        .await?
        .as_ref()
        .map(mismatch_row)
        .transpose()
}

/// How an operator resolved a mismatch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolution {
    /// `noted` or `adjusted`.
    pub resolution: &'static str,
    /// The operator's note.
    pub note: String,
    /// Who.
    pub resolved_by: String,
    /// The adjustment's ledger key, if one was posted.
    pub adjustment_key: Option<String>,
}

/// Marks an open mismatch resolved; returns whether it was open.
pub async fn resolve_mismatch(
    db: &dyn Db,
    id: i64,
    resolution: &Resolution,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let changed = db
        .execute(
            "UPDATE pospal_balance_mismatches SET status = 'resolved', resolution = $1, \
             note = $2, resolved_by = $3, resolved_at_ms = $4, adjustment_key = $5 \
             WHERE id = $6 AND status = 'open'",
            &[
                resolution.resolution.into(),
                resolution.note.as_str().into(),
                resolution.resolved_by.as_str().into(),
                now_ms.into(),
                resolution.adjustment_key.clone().into(),
                id.into(),
            ],
        )
        .await?;
    Ok(changed > 0)
}

/// Which kind of document a [`Document`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocumentKind {
    /// A stock flow (货流单, `stockFlow.*`).
    StockFlow,
    /// An online order (网单, `productOrder.*`).
    ProductOrder,
}

impl DocumentKind {
    /// Parses the stored name.
    pub fn parse(name: &str) -> Option<DocumentKind> {
        [DocumentKind::StockFlow, DocumentKind::ProductOrder]
            .into_iter()
            .find(|k| k.as_str() == name)
    }

    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            DocumentKind::StockFlow => "stock_flow",
            DocumentKind::ProductOrder => "product_order",
        }
    }
}

/// The state of a stock flow or online order, folded from its notifications.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Document {
    /// Pospal's `appId`.
    pub app_id: String,
    /// `stock_flow` or `product_order`.
    pub kind: String,
    /// `stockFlowId` or `orderNo`.
    pub document_id: String,
    /// Owning merchant.
    pub merchant_id: i64,
    /// The winning status: the `cmd` of a stock flow, the state name of an order.
    pub status: String,
    /// How far along the winning status is (higher wins).
    pub stage: i64,
    /// `bornTimeStamp` of the winning notification (breaks ties between equal stages).
    pub born_timestamp_ms: i64,
    /// Notifications folded in.
    pub events: i64,
    /// Unix milliseconds.
    pub updated_at_ms: i64,
}

/// Folds one notification into its document: the status with the highest stage wins, then
/// the latest `bornTimeStamp`, so the result does not depend on arrival order.
#[allow(clippy::too_many_arguments)]
pub async fn fold_document(
    db: &dyn Db,
    app_id: &str,
    kind: DocumentKind,
    document_id: &str,
    merchant_id: i64,
    status: &str,
    stage: i64,
    born_timestamp_ms: i64,
    now_ms: i64,
) -> Result<(), StoreError> {
    const WINS: &str = "(excluded.stage > pospal_documents.stage OR (excluded.stage = \
                        pospal_documents.stage AND excluded.born_timestamp_ms >= \
                        pospal_documents.born_timestamp_ms))";
    let sql = format!(
        "INSERT INTO pospal_documents (app_id, kind, document_id, merchant_id, status, stage, \
         born_timestamp_ms, events, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8) \
         ON CONFLICT (app_id, kind, document_id) DO UPDATE SET \
         status = CASE WHEN {WINS} THEN excluded.status ELSE pospal_documents.status END, \
         stage = CASE WHEN {WINS} THEN excluded.stage ELSE pospal_documents.stage END, \
         born_timestamp_ms = CASE WHEN {WINS} THEN excluded.born_timestamp_ms \
         ELSE pospal_documents.born_timestamp_ms END, \
         events = pospal_documents.events + 1, updated_at_ms = excluded.updated_at_ms"
    );
    db.execute(
        &sql,
        &[
            app_id.into(),
            kind.as_str().into(),
            document_id.into(),
            merchant_id.into(),
            status.into(),
            stage.into(),
            born_timestamp_ms.into(),
            now_ms.into(),
        ],
    )
    .await?;
    Ok(())
}

/// A merchant's documents of one kind, most recently updated first.
pub async fn list_documents(
    db: &dyn Db,
    merchant_id: i64,
    kind: DocumentKind,
    limit: i64,
) -> Result<Vec<Document>, StoreError> {
    db.query(
        "SELECT app_id, kind, document_id, merchant_id, status, stage, born_timestamp_ms, \
         events, updated_at_ms FROM pospal_documents WHERE merchant_id = $1 AND kind = $2 \
         ORDER BY updated_at_ms DESC, document_id LIMIT $3",
        &[merchant_id.into(), kind.as_str().into(), limit.into()],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(Document {
            app_id: r.text(0)?,
            kind: r.text(1)?,
            document_id: r.text(2)?,
            merchant_id: r.i64(3)?,
            status: r.text(4)?,
            stage: r.i64(5)?,
            born_timestamp_ms: r.i64(6)?,
            events: r.i64(7)?,
            updated_at_ms: r.i64(8)?,
        })
    })
    .collect()
}

/// Pospal ticket totals of one merchant and business day (also a delta to add).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketDay {
    /// Owning merchant.
    pub merchant_id: i64,
    /// `YYYY-MM-DD`.
    pub business_date: String,
    /// `ticket.new` events.
    pub tickets: i64,
    /// ... of `ticketType` 1.
    pub sales: i64,
    /// ... of `ticketType` 2.
    pub refunds: i64,
    /// ... of another or no `ticketType`.
    pub other_tickets: i64,
    /// `ticket.reverse` events (反结账).
    pub reverses: i64,
    /// `ticket.new` events of members.
    pub member_tickets: i64,
    /// Net member balance used by the tickets (`usedMoney`, negative when given back), fen.
    pub member_cash_used: i64,
    /// Net points gained by the tickets (`gaintPoint`), hundredths.
    pub points_gained: i64,
    /// Sum of `totalAmount` of the tickets that send it, fen.
    pub total_amount: i64,
}

const DAY_COUNTS: [&str; 9] = [
    "tickets",
    "sales",
    "refunds",
    "other_tickets",
    "reverses",
    "member_tickets",
    "member_cash_used",
    "points_gained",
    "total_amount",
];

impl TicketDay {
    fn counts(&self) -> [i64; 9] {
        [
            self.tickets,
            self.sales,
            self.refunds,
            self.other_tickets,
            self.reverses,
            self.member_tickets,
            self.member_cash_used,
            self.points_gained,
            self.total_amount,
        ]
    }
}

/// Adds a consumed ticket event's figures to its merchant's day.
pub async fn add_ticket_day(db: &dyn Db, delta: &TicketDay) -> Result<(), StoreError> {
    let cols = DAY_COUNTS.join(", ");
    let values: Vec<String> = (3..3 + DAY_COUNTS.len()).map(|i| format!("${i}")).collect();
    let sums: Vec<String> = DAY_COUNTS
        .iter()
        .map(|c| format!("{c} = pospal_ticket_days.{c} + excluded.{c}"))
        .collect();
    let sql = format!(
        "INSERT INTO pospal_ticket_days (merchant_id, business_date, {cols}) VALUES ($1, $2, {}) \
         ON CONFLICT (merchant_id, business_date) DO UPDATE SET {}",
        values.join(", "),
        sums.join(", ")
    );
    let mut params: Vec<Value> = vec![
        delta.merchant_id.into(),
        delta.business_date.as_str().into(),
    ];
    params.extend(delta.counts().map(Value::from));
    db.execute(&sql, &params).await?;
    Ok(())
}

/// A merchant's ticket totals per business day from `from` to `to` (`YYYY-MM-DD`,
/// inclusive), oldest first.
pub async fn ticket_days(
    db: &dyn Db,
    merchant_id: i64,
    from: &str,
    to: &str,
) -> Result<Vec<TicketDay>, StoreError> {
    let sql = format!(
        "SELECT merchant_id, business_date, {} FROM pospal_ticket_days WHERE merchant_id = $1 \
         AND business_date >= $2 AND business_date <= $3 ORDER BY business_date",
        DAY_COUNTS.join(", ")
    );
    db.query(&sql, &[merchant_id.into(), from.into(), to.into()])
        .await?
        .iter()
        .map(|r| {
            Ok(TicketDay {
                merchant_id: r.i64(0)?,
                business_date: r.text(1)?,
                tickets: r.i64(2)?,
                sales: r.i64(3)?,
                refunds: r.i64(4)?,
                other_tickets: r.i64(5)?,
                reverses: r.i64(6)?,
                member_tickets: r.i64(7)?,
                member_cash_used: r.i64(8)?,
                points_gained: r.i64(9)?,
                total_amount: r.i64(10)?,
            })
        })
        .collect()
}
