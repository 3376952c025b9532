-- jpos access layer (loyalty and stored-value card terminals).

-- Per-merchant jpos rules: the points earn rule and the receipt advertisement.
CREATE TABLE jpos_merchant_rules (
    merchant_id      BIGINT PRIMARY KEY REFERENCES merchants(id),
    -- Points granted per yuan of cash, in basis points of a point (10000 = 1 point per yuan).
    earn_rate_bp     BIGINT NOT NULL DEFAULT 0 CHECK (earn_rate_bp BETWEEN 0 AND 1000000),
    advertisement    TEXT NOT NULL DEFAULT '',
    updated_at_ms    BIGINT NOT NULL
);

-- The batch state of each jpos terminal: the current batch and whether it is checked in.
CREATE TABLE jpos_terminal_batches (
    terminal_id      BIGINT PRIMARY KEY REFERENCES terminals(id),
    batch_no         BIGINT NOT NULL CHECK (batch_no BETWEEN 1 AND 999999),
    checked_in       BIGINT NOT NULL DEFAULT 0,
    operator_no      TEXT,
    checked_in_at_ms BIGINT,
    updated_at_ms    BIGINT NOT NULL
);

-- The jpos journal: one row per request that carries a trace number (role 'request') and
-- one per reversal of it (role 'reversal', same batch and trace, as the spec resends the
-- original body). The row id is the serialNo. The stored reply is what a retry gets back.
-- Card numbers only as HMAC index and masked form; never tracks, PIN blocks or passwords.
CREATE TABLE jpos_trans (
    id               BIGSERIAL PRIMARY KEY,
    terminal_key     TEXT NOT NULL,
    batch_no         TEXT NOT NULL,
    trace_no         TEXT NOT NULL,
    role             TEXT NOT NULL CHECK (role IN ('request', 'reversal')),
    endpoint         TEXT NOT NULL,
    fingerprint      TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'done', 'tombstone')),
    response_code    TEXT,
    reply            TEXT,
    account_id       BIGINT REFERENCES accounts(id),
    card_hmac        TEXT,
    card_masked      TEXT,
    ledger_key       TEXT,
    original_id      BIGINT,
    original_key     TEXT,
    point_amount     BIGINT NOT NULL DEFAULT 0,
    cash_amount      BIGINT NOT NULL DEFAULT 0,
    persent_point    BIGINT NOT NULL DEFAULT 0,
    refunded_point   BIGINT NOT NULL DEFAULT 0,
    refunded_cash    BIGINT NOT NULL DEFAULT 0,
    refunded_persent BIGINT NOT NULL DEFAULT 0,
    supply_cash      BIGINT NOT NULL DEFAULT 0,
    -- Ticket consume: face value of the tickets used, fen, and their lines (JSON).
    ticket_amount    BIGINT NOT NULL DEFAULT 0,
    ticket_lines     TEXT,
    -- 0 standing, 1 reversed (冲正), 2 cancelled (撤销).
    voided           BIGINT NOT NULL DEFAULT 0,
    register_trace   TEXT,
    business_date    TEXT NOT NULL,
    trans_time_ms    BIGINT NOT NULL,
    created_at_ms    BIGINT NOT NULL,
    updated_at_ms    BIGINT NOT NULL,
    UNIQUE (terminal_key, batch_no, trace_no, role)
);
CREATE INDEX jpos_trans_batch ON jpos_trans (terminal_key, batch_no);

-- Tickets (券) a card's account holds: 01 group-buy, 02 exchange, 03 voucher. Counted
-- holdings, not ledger money: a ticket consume takes them in the same transaction that
-- journals it, and its reversal puts them back.
CREATE TABLE jpos_tickets (
    account_id       BIGINT NOT NULL REFERENCES accounts(id),
    ticket_id        BIGINT NOT NULL,
    ticket_type      TEXT NOT NULL CHECK (ticket_type IN ('01', '02', '03')),
    name             TEXT NOT NULL,
    face_amount      BIGINT NOT NULL CHECK (face_amount >= 0),
    num              BIGINT NOT NULL CHECK (num >= 0),
    updated_at_ms    BIGINT NOT NULL,
    PRIMARY KEY (account_id, ticket_id)
);

-- SMS verification codes (发送验证码 / 卡激活): only a keyed digest of the code is kept.
CREATE TABLE jpos_verify_codes (
    mobile_no        TEXT PRIMARY KEY,
    code_digest      TEXT NOT NULL,
    expires_at_ms    BIGINT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    sent_at_ms       BIGINT NOT NULL,
    window_start_ms  BIGINT NOT NULL,
    window_sends     BIGINT NOT NULL
);

-- Card activations (卡激活): which card was activated for which mobile number.
CREATE TABLE jpos_card_activations (
    card_hmac        TEXT PRIMARY KEY,
    account_id       BIGINT NOT NULL REFERENCES accounts(id),
    mobile_no        TEXT NOT NULL,
    id_type          TEXT NOT NULL,
    activated_at_ms  BIGINT NOT NULL
);

-- Settlements: the terminal's figures, posgate's, and each differing figure.
CREATE TABLE jpos_settlements (
    id               BIGSERIAL PRIMARY KEY,
    terminal_id      BIGINT NOT NULL REFERENCES terminals(id),
    terminal_key     TEXT NOT NULL,
    batch_no         TEXT NOT NULL,
    settle_flag      TEXT NOT NULL,
    terminal_totals  TEXT NOT NULL,
    our_totals       TEXT NOT NULL,
    discrepancies    TEXT NOT NULL,
    created_at_ms    BIGINT NOT NULL,
    UNIQUE (terminal_key, batch_no)
);
CREATE INDEX jpos_settlements_terminal ON jpos_settlements (terminal_id, id);
