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
