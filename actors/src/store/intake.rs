//! Partner intake and dead letters, for every partner that pushes data posgate cannot ask
//! for twice (Pospal notifications, KTV uploads).
//!
//! The rule: a message that passed authentication is [`record`]ed, byte for byte, BEFORE
//! anything interprets it. Its row then ends [`mark_applied`] (interpreted and durable) or
//! [`mark_dead`] (cannot be interpreted; the reason is kept). A message left `received`
//! was being interpreted when the answer failed (busy, crash); the partner's own retry
//! counts another attempt on the same row. An operator lists the dead letters
//! ([`list`]), reads one ([`get`]) and replays it after a fix or with a corrected body;
//! each replay is recorded ([`record_replay`]) with who, what and when, and a replay that
//! applies moves the row to `replayed`. The original bytes are never changed.
//!
//! A request refused before authentication is never interpreted (nothing in it is
//! trusted); it is kept as evidence in `partner_refusals` ([`record_refusal`]), bounded in
//! size and count, and an operator may re-check it once the cause on posgate's side is
//! fixed (an app registered late): if it now authenticates, it enters the intake.
//!
//! The interpretation itself belongs to each partner's adapter; the admin API dispatches a
//! replay on [`Partner`] (see `src/http/admin/intake.rs`).

use super::sql::{query_opt, Db, Row, StoreError, Value};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The partner a message came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Partner {
    /// Pospal (银豹) notifications; the owner is the merchant id.
    Pospal,
    /// KTV venue uploads; the owner is the venue code.
    Ktv,
}

impl Partner {
    /// Every partner.
    pub const ALL: [Partner; 2] = [Partner::Pospal, Partner::Ktv];

    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Partner::Pospal => "pospal",
            Partner::Ktv => "ktv",
        }
    }

    /// Parses the stored name.
    pub fn parse(name: &str) -> Option<Partner> {
        Partner::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

/// Where an intake row stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Stored, not (yet) interpreted to the end.
    Received,
    /// Interpreted; its effects are durable.
    Applied,
    /// Cannot be interpreted: a dead letter, waiting for an operator.
    Dead,
    /// A dead letter that an operator's replay applied.
    Replayed,
}

impl Status {
    /// Every status.
    pub const ALL: [Status; 4] = [
        Status::Received,
        Status::Applied,
        Status::Dead,
        Status::Replayed,
    ];

    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Received => "received",
            Status::Applied => "applied",
            Status::Dead => "dead",
            Status::Replayed => "replayed",
        }
    }

    /// Parses the stored name.
    pub fn parse(name: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// A message to store.
#[derive(Clone, Debug)]
pub struct NewIntake<'a> {
    /// Who sent it.
    pub partner: Partner,
    /// Whose data it is: a merchant id (Pospal) or a venue code (KTV).
    pub owner: &'a str,
    /// What it is: a Pospal `cmd`, a KTV upload kind.
    pub kind: &'a str,
    /// The body, exactly as received.
    pub body: &'a [u8],
    /// The request headers worth keeping (a signature, a content type; never a secret).
    pub headers: &'a [(&'a str, String)],
}

/// A stored message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Intake {
    /// Row id.
    pub id: i64,
    /// `pospal` or `ktv`.
    pub partner: String,
    /// Merchant id or venue code.
    pub owner: String,
    /// `cmd` or upload kind.
    pub kind: String,
    /// The body as received, base64.
    pub body_b64: String,
    /// The kept headers, name to value.
    pub headers: serde_json::Map<String, serde_json::Value>,
    /// Unix milliseconds of the first delivery.
    pub received_at_ms: i64,
    /// `received`, `applied`, `dead` or `replayed`.
    pub status: String,
    /// Why it is dead (or why its last replay failed); empty otherwise.
    pub reason: String,
    /// Deliveries and replays so far.
    pub attempts: i64,
    /// Unix milliseconds of the last delivery or replay.
    pub last_attempt_at_ms: i64,
}

impl Intake {
    /// The body bytes (the stored base64 decoded).
    pub fn body(&self) -> Result<Vec<u8>, StoreError> {
        BASE64
            .decode(&self.body_b64)
            .map_err(|e| StoreError::Decode(format!("intake {} body: {e}", self.id)))
    }
}

/// Standard base64 (the encoding of stored bodies), for a corrected body an operator sends.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    BASE64.decode(text.trim()).ok()
}

const COLS: &str = "id, partner, owner, kind, body_b64, headers, received_at_ms, status, reason, \
                    attempts, last_attempt_at_ms";

fn intake_row(r: &Row) -> Result<Intake, StoreError> {
    let headers = serde_json::from_str(&r.text(5)?)
        .map_err(|e| StoreError::Decode(format!("intake headers: {e}")))?;
    Ok(Intake {
        id: r.i64(0)?,
        partner: r.text(1)?,
        owner: r.text(2)?,
        kind: r.text(3)?,
        body_b64: r.text(4)?,
        headers,
        received_at_ms: r.i64(6)?,
        status: r.text(7)?,
        reason: r.text(8)?,
        attempts: r.i64(9)?,
        last_attempt_at_ms: r.i64(10)?,
    })
}

/// Stores a message before it is interpreted and returns its row. The same bytes from the
/// same partner and owner again (a redelivery) count an attempt on the existing row, whose
/// status is kept.
pub async fn record(db: &dyn Db, new: &NewIntake<'_>, now_ms: i64) -> Result<Intake, StoreError> {
    let sha = hex::encode(Sha256::digest(new.body));
    let headers = headers_json(new.headers);
    db.execute(
        "INSERT INTO partner_intake (partner, owner, kind, body_b64, body_sha256, headers, \
         received_at_ms, status, reason, attempts, last_attempt_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'received', '', 1, $7) \
         ON CONFLICT (partner, owner, body_sha256) DO UPDATE SET \
         attempts = partner_intake.attempts + 1, last_attempt_at_ms = excluded.last_attempt_at_ms",
        &[
            new.partner.as_str().into(),
            new.owner.into(),
            new.kind.into(),
            BASE64.encode(new.body).into(),
            sha.as_str().into(),
            headers.into(),
            now_ms.into(),
        ],
    )
    .await?;
    let sql = format!(
        "SELECT {COLS} FROM partner_intake WHERE partner = $1 AND owner = $2 AND body_sha256 = $3"
    );
    let row = query_opt(
        db,
        &sql,
        &[new.partner.as_str().into(), new.owner.into(), sha.into()],
    )
    .await?
    .ok_or_else(|| StoreError::Decode("intake row vanished".into()))?;
    intake_row(&row)
}

async fn set_status(
    db: &dyn Db,
    id: i64,
    status: Status,
    reason: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    db.execute(
        "UPDATE partner_intake SET status = $1, reason = $2, last_attempt_at_ms = $3 \
         WHERE id = $4",
        &[
            status.as_str().into(),
            reason.into(),
            now_ms.into(),
            id.into(),
        ],
    )
    .await?;
    Ok(())
}

/// The message was interpreted and its effects are durable. A row already `replayed`
/// stays so (a late redelivery of a replayed letter changes nothing).
pub async fn mark_applied(db: &dyn Db, id: i64, now_ms: i64) -> Result<(), StoreError> {
    db.execute(
        "UPDATE partner_intake SET status = 'applied', reason = '', last_attempt_at_ms = $1 \
         WHERE id = $2 AND status <> 'replayed'",
        &[now_ms.into(), id.into()],
    )
    .await?;
    Ok(())
}

/// The message cannot be interpreted: a dead letter, with why (a field name and a rule,
/// never a wire value).
pub async fn mark_dead(db: &dyn Db, id: i64, reason: &str, now_ms: i64) -> Result<(), StoreError> {
    set_status(db, id, Status::Dead, reason, now_ms).await
}

/// Reads one message.
pub async fn get(db: &dyn Db, id: i64) -> Result<Option<Intake>, StoreError> {
    let sql = format!("SELECT {COLS} FROM partner_intake WHERE id = $1");
    query_opt(db, &sql, &[id.into()])
        .await?
        .as_ref()
        .map(intake_row)
        .transpose()
}

/// A listing's filters.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Only this partner.
    pub partner: Option<Partner>,
    /// Only this owner.
    pub owner: Option<String>,
    /// Only this status.
    pub status: Option<Status>,
    /// Only rows with a smaller id (the next page after a listing).
    pub before_id: Option<i64>,
    /// At most this many.
    pub limit: i64,
}

/// Messages matching `filter`, newest first (page on with `before_id` = the last id).
pub async fn list(db: &dyn Db, filter: &Filter) -> Result<Vec<Intake>, StoreError> {
    let sql = format!(
        "SELECT {COLS} FROM partner_intake WHERE ($1 IS NULL OR partner = $1) \
         AND ($2 IS NULL OR owner = $2) AND ($3 IS NULL OR status = $3) \
         AND ($4 IS NULL OR id < $4) ORDER BY id DESC LIMIT $5"
    );
    let params: [Value; 5] = [
        filter.partner.map(Partner::as_str).into(),
        filter.owner.clone().into(),
        filter.status.map(Status::as_str).into(),
        filter.before_id.into(),
        filter.limit.into(),
    ];
    db.query(&sql, &params)
        .await?
        .iter()
        .map(intake_row)
        .collect()
}

/// One replay of a message by an operator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Replay {
    /// Row id.
    pub id: i64,
    /// The message replayed.
    pub intake_id: i64,
    /// Who replayed it (as the operator named themselves).
    pub operator: String,
    /// Why.
    pub note: String,
    /// The operator's corrected body, base64, when one was given instead of the original.
    pub corrected_body_b64: Option<String>,
    /// The message's status after the replay.
    pub result_status: String,
    /// Why it is still dead, when it is.
    pub result_reason: String,
    /// Unix milliseconds.
    pub at_ms: i64,
}

/// Records a replay and its result on the message: `replayed` when it applied, still
/// `dead` with the new reason when it did not. Counts an attempt.
pub async fn record_replay(db: &dyn Db, replay: &Replay) -> Result<Replay, StoreError> {
    let applied = replay.result_status == Status::Replayed.as_str();
    let status = if applied {
        Status::Replayed
    } else {
        Status::Dead
    };
    db.execute(
        "UPDATE partner_intake SET status = $1, reason = $2, attempts = attempts + 1, \
         last_attempt_at_ms = $3 WHERE id = $4",
        &[
            status.as_str().into(),
            replay.result_reason.as_str().into(),
            replay.at_ms.into(),
            replay.intake_id.into(),
        ],
    )
    .await?;
    let row = query_opt(
        db,
        "INSERT INTO partner_intake_replays (intake_id, operator, note, corrected_body_b64, \
         result_status, result_reason, at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        &[
            replay.intake_id.into(),
            replay.operator.as_str().into(),
            replay.note.as_str().into(),
            replay.corrected_body_b64.clone().into(),
            status.as_str().into(),
            replay.result_reason.as_str().into(),
            replay.at_ms.into(),
        ],
    )
    .await?
    .ok_or_else(|| StoreError::Decode("replay row not returned".into()))?;
    Ok(Replay {
        id: row.i64(0)?,
        result_status: status.as_str().to_string(),
        ..replay.clone()
    })
}

/// The replays of a message, oldest first.
pub async fn replays(db: &dyn Db, intake_id: i64) -> Result<Vec<Replay>, StoreError> {
    db.query(
        "SELECT id, intake_id, operator, note, corrected_body_b64, result_status, \
         result_reason, at_ms FROM partner_intake_replays WHERE intake_id = $1 ORDER BY id",
        &[intake_id.into()],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(Replay {
            id: r.i64(0)?,
            intake_id: r.i64(1)?,
            operator: r.text(2)?,
            note: r.text(3)?,
            corrected_body_b64: r.opt_text(4)?,
            result_status: r.text(5)?,
            result_reason: r.text(6)?,
            at_ms: r.i64(7)?,
        })
    })
    .collect()
}

/// Bytes of a refused request's body kept as evidence.
pub const REFUSED_BODY_BYTES_MAX: usize = 64 * 1024;

/// A refused request to keep (nothing in it is trusted).
#[derive(Clone, Debug)]
pub struct NewRefusal<'a> {
    /// Who it claims to come from.
    pub partner: Partner,
    /// The refusal's name (`malformed`, `bad_signature`, `unknown_app`, `too_large`).
    pub refusal: &'a str,
    /// Why (a field name and a rule, never a wire value).
    pub reason: &'a str,
    /// The owner it claims (an `appId`, a venue code), as sent, cut to 128 characters.
    pub claimed_owner: &'a str,
    /// The body as received (only the first [`REFUSED_BODY_BYTES_MAX`] bytes are kept).
    pub body: &'a [u8],
    /// The request headers worth keeping.
    pub headers: &'a [(&'a str, String)],
}

/// A kept refused request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Refused {
    /// Row id.
    pub id: i64,
    /// `pospal` or `ktv`.
    pub partner: String,
    /// The refusal's name.
    pub refusal: String,
    /// Why.
    pub reason: String,
    /// The owner it claims (untrusted).
    pub claimed_owner: String,
    /// The body's first bytes, base64 (untrusted).
    pub body_b64: String,
    /// The body's full size.
    pub body_bytes: i64,
    /// Whether only the first bytes were kept (then it cannot be re-checked).
    pub truncated: bool,
    /// The kept headers.
    pub headers: serde_json::Map<String, serde_json::Value>,
    /// Unix milliseconds.
    pub received_at_ms: i64,
    /// The intake row it became when an operator's re-check authenticated it.
    pub recheck_intake_id: Option<i64>,
}

impl Refused {
    /// The kept body bytes.
    pub fn body(&self) -> Result<Vec<u8>, StoreError> {
        BASE64
            .decode(&self.body_b64)
            .map_err(|e| StoreError::Decode(format!("refused {} body: {e}", self.id)))
    }
}

fn headers_json(headers: &[(&str, String)]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .map(|(name, value)| (name.to_string(), value.clone().into()))
        .collect();
    serde_json::Value::Object(map).to_string()
}

/// Keeps a refused request, and drops the partner's oldest beyond `keep_max` rows.
pub async fn record_refusal(
    db: &dyn Db,
    new: &NewRefusal<'_>,
    keep_max: i64,
    now_ms: i64,
) -> Result<(), StoreError> {
    let kept = &new.body[..new.body.len().min(REFUSED_BODY_BYTES_MAX)];
    let owner: String = new.claimed_owner.chars().take(128).collect();
    db.execute(
        "INSERT INTO partner_refusals (partner, refusal, reason, claimed_owner, body_b64, \
         body_bytes, truncated, headers, received_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            new.partner.as_str().into(),
            new.refusal.into(),
            new.reason.into(),
            owner.into(),
            BASE64.encode(kept).into(),
            i64::try_from(new.body.len()).unwrap_or(i64::MAX).into(),
            i64::from(kept.len() < new.body.len()).into(),
            headers_json(new.headers).into(),
            now_ms.into(),
        ],
    )
    .await?;
    db.execute(
        "DELETE FROM partner_refusals WHERE partner = $1 AND id <= \
         (SELECT MAX(id) FROM partner_refusals WHERE partner = $1) - $2",
        &[new.partner.as_str().into(), keep_max.into()],
    )
    .await?;
    Ok(())
}

const REFUSED_COLS: &str = "id, partner, refusal, reason, claimed_owner, body_b64, body_bytes, \
                            truncated, headers, received_at_ms, recheck_intake_id";

fn refused_row(r: &Row) -> Result<Refused, StoreError> {
    let headers = serde_json::from_str(&r.text(8)?)
        .map_err(|e| StoreError::Decode(format!("refused headers: {e}")))?;
    Ok(Refused {
        id: r.i64(0)?,
        partner: r.text(1)?,
        refusal: r.text(2)?,
        reason: r.text(3)?,
        claimed_owner: r.text(4)?,
        body_b64: r.text(5)?,
        body_bytes: r.i64(6)?,
        truncated: r.i64(7)? != 0,
        headers,
        received_at_ms: r.i64(9)?,
        recheck_intake_id: r.opt_i64(10)?,
    })
}

/// Kept refused requests, newest first (page on with `before_id`).
pub async fn list_refusals(
    db: &dyn Db,
    partner: Option<Partner>,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<Refused>, StoreError> {
    let sql = format!(
        "SELECT {REFUSED_COLS} FROM partner_refusals WHERE ($1 IS NULL OR partner = $1) \
         AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
    );
    db.query(
        &sql,
        &[
            partner.map(Partner::as_str).into(),
            before_id.into(),
            limit.into(),
        ],
    )
    .await?
    .iter()
    .map(refused_row)
    .collect()
}

/// One kept refused request.
pub async fn get_refusal(db: &dyn Db, id: i64) -> Result<Option<Refused>, StoreError> {
    let sql = format!("SELECT {REFUSED_COLS} FROM partner_refusals WHERE id = $1");
    query_opt(db, &sql, &[id.into()])
        .await?
        .as_ref()
        .map(refused_row)
        .transpose()
}

/// Notes the intake row a refused request became once re-checked.
pub async fn set_recheck(db: &dyn Db, id: i64, intake_id: i64) -> Result<(), StoreError> {
    db.execute(
        "UPDATE partner_refusals SET recheck_intake_id = $1 WHERE id = $2",
        &[intake_id.into(), id.into()],
    )
    .await?;
    Ok(())
}

/// A per-minute budget of refused requests kept for one partner (in memory, per gateway):
/// a flood of forged requests costs at most this many writes a minute; the rest are only
/// counted.
#[derive(Debug)]
pub struct RefusalBudget {
    per_minute: u32,
    used: std::sync::Mutex<(i64, u32)>,
}

impl RefusalBudget {
    /// A budget of `per_minute` records a minute.
    pub fn new(per_minute: u32) -> RefusalBudget {
        RefusalBudget {
            per_minute,
            used: std::sync::Mutex::new((0, 0)),
        }
    }

    /// Whether one more refused request may be kept now (and counts it).
    pub fn take(&self, now_ms: i64) -> bool {
        let minute = now_ms.div_euclid(60_000);
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        if used.0 != minute {
            *used = (minute, 0);
        }
        if used.1 >= self.per_minute {
            return false;
        }
        used.1 += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_budget_is_per_minute() {
        let budget = RefusalBudget::new(2);
        let minute = 60_000 * 1_000;
        assert!(budget.take(minute));
        assert!(budget.take(minute + 59_999));
        assert!(!budget.take(minute + 30_000), "spent");
        assert!(budget.take(minute + 60_000), "a new minute");
        assert!(Partner::ALL
            .iter()
            .all(|p| Partner::parse(p.as_str()) == Some(*p)));
        assert!(Status::ALL
            .iter()
            .all(|s| Status::parse(s.as_str()) == Some(*s)));
    }
}
