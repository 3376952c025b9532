-- What a device said about a transaction, beyond its identity, for the auditor: MQTT POS
-- payTime, idenType, imgPath, the offline discount and amounts, as a JSON object of
-- strings. Part of the request's fingerprint, so a reused posNum with other content is a
-- conflict, never a replay.
ALTER TABLE journal ADD COLUMN device_fields TEXT;

-- Money-creating or money-moving operations an operator grants a terminal (off unless a
-- row exists): 'top_up' (MQTT mode 2), 'load' (MQTT mode 12, 圈存), 'card_activation'
-- (jpos card/active). Ceilings in fen; 0 = no ceiling.
CREATE TABLE terminal_capabilities (
    terminal_id          BIGINT NOT NULL REFERENCES terminals(id),
    capability           TEXT NOT NULL CHECK (capability IN ('top_up', 'load', 'card_activation')),
    per_transaction_max  BIGINT NOT NULL DEFAULT 0,
    daily_max            BIGINT NOT NULL DEFAULT 0,
    granted_at_ms        BIGINT NOT NULL,
    PRIMARY KEY (terminal_id, capability)
);

-- Offline records (MQTT modes 51/52) the ledger could not book: an unknown user, a frozen
-- account, inconsistent amounts. Never dropped: kept raw until an operator books the record
-- to an account or writes it off. One row per device record: terminal, posNum and the
-- SHA-256 of the record (a device that reuses a posNum for another record gets a second row).
CREATE TABLE offline_exceptions (
    id               BIGSERIAL PRIMARY KEY,
    terminal         TEXT NOT NULL,
    pos_num          BIGINT NOT NULL,
    merchant_id      BIGINT NOT NULL REFERENCES merchants(id),
    user_id          TEXT NOT NULL,
    mode             BIGINT NOT NULL,
    amount           BIGINT NOT NULL,
    reason           TEXT NOT NULL,
    raw              TEXT NOT NULL,
    record_sha256    TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'booked', 'written_off')),
    resolution_note  TEXT,
    transaction_key  TEXT,
    created_at_ms    BIGINT NOT NULL,
    resolved_at_ms   BIGINT,
    UNIQUE (terminal, pos_num, record_sha256)
);
CREATE INDEX offline_exceptions_status ON offline_exceptions (status, id);
