-- Partner intake (issue 11): every partner message (a Pospal notification, a KTV upload)
-- that passed authentication is stored here byte for byte BEFORE it is interpreted. What
-- cannot be interpreted stays here as a dead letter (status 'dead', with the reason) until
-- an operator replays it through the admin API, optionally with a corrected body; the
-- original bytes are never changed. The replays are kept in partner_intake_replays
-- (who, what, when, with what result).
CREATE TABLE partner_intake (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    partner             TEXT NOT NULL CHECK (partner IN ('pospal', 'ktv')),
    owner               TEXT NOT NULL,
    kind                TEXT NOT NULL,
    body_b64            TEXT NOT NULL,
    body_sha256         TEXT NOT NULL,
    headers             TEXT NOT NULL,
    received_at_ms      BIGINT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('received', 'applied', 'dead', 'replayed')),
    reason              TEXT NOT NULL DEFAULT '',
    attempts            BIGINT NOT NULL DEFAULT 1,
    last_attempt_at_ms  BIGINT NOT NULL
);
-- One row per distinct message of an owner: a redelivery of the same bytes counts an attempt.
CREATE UNIQUE INDEX partner_intake_message ON partner_intake (partner, owner, body_sha256);
CREATE INDEX partner_intake_status ON partner_intake (status, partner, owner, id);

CREATE TABLE partner_intake_replays (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    intake_id           BIGINT NOT NULL REFERENCES partner_intake(id),
    operator            TEXT NOT NULL,
    note                TEXT NOT NULL,
    corrected_body_b64  TEXT,
    result_status       TEXT NOT NULL,
    result_reason       TEXT NOT NULL,
    at_ms               BIGINT NOT NULL
);
CREATE INDEX partner_intake_replays_intake ON partner_intake_replays (intake_id, id);

-- Pospal reconciliation (issue 11): a mismatch is of cash (afterUsedMoney) or points
-- (afterGaintPoint, business key suffixed ':points'), and an operator resolves it, with a
-- note, or by posting an adjustment that makes posgate follow Pospal.
ALTER TABLE pospal_balance_mismatches ADD COLUMN asset TEXT NOT NULL DEFAULT 'cash';
ALTER TABLE pospal_balance_mismatches ADD COLUMN status TEXT NOT NULL DEFAULT 'open';
ALTER TABLE pospal_balance_mismatches ADD COLUMN resolution TEXT NOT NULL DEFAULT '';
ALTER TABLE pospal_balance_mismatches ADD COLUMN note TEXT NOT NULL DEFAULT '';
ALTER TABLE pospal_balance_mismatches ADD COLUMN resolved_by TEXT NOT NULL DEFAULT '';
ALTER TABLE pospal_balance_mismatches ADD COLUMN resolved_at_ms BIGINT;
ALTER TABLE pospal_balance_mismatches ADD COLUMN adjustment_key TEXT;
CREATE INDEX pospal_balance_mismatches_open ON pospal_balance_mismatches (merchant_id, status, id);

-- Refused partner requests (bad envelope, unknown appId, bad signature, too large): nothing
-- in them is trusted, so they are never interpreted, only kept as evidence, bounded: the
-- first 64 KiB of the body, at most a configured number of rows per partner (the oldest
-- go), and a per-minute rate limit in the gateway (what is over it is only counted). A
-- refused request whose cause was posgate's configuration (an app registered late, a key
-- rotated) can be re-checked by an operator: if it now authenticates, it enters the intake.
CREATE TABLE partner_refusals (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    partner             TEXT NOT NULL CHECK (partner IN ('pospal', 'ktv')),
    refusal             TEXT NOT NULL,
    reason              TEXT NOT NULL,
    claimed_owner       TEXT NOT NULL,
    body_b64            TEXT NOT NULL,
    body_bytes          BIGINT NOT NULL,
    truncated           BIGINT NOT NULL,
    headers             TEXT NOT NULL,
    received_at_ms      BIGINT NOT NULL,
    recheck_intake_id   BIGINT
);
CREATE INDEX partner_refusals_partner ON partner_refusals (partner, id);

-- Pospal ticket totals per merchant and business day (the date of the ticket's last log,
-- else the gateway's business date when it was consumed), added to once per consumed
-- ticket event, in the transaction that stores the event. Counted from this version on.
CREATE TABLE pospal_ticket_days (
    merchant_id        BIGINT NOT NULL,
    business_date      TEXT NOT NULL,
    tickets            BIGINT NOT NULL,
    sales              BIGINT NOT NULL,
    refunds            BIGINT NOT NULL,
    other_tickets      BIGINT NOT NULL,
    reverses           BIGINT NOT NULL,
    member_tickets     BIGINT NOT NULL,
    member_cash_used   BIGINT NOT NULL,
    points_gained      BIGINT NOT NULL,
    total_amount       BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, business_date)
);
