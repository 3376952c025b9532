-- posgate foundation schema (PostgreSQL). Money and counts are BIGINT minor units (fen);
-- times are BIGINT unix milliseconds; business dates are ISO 'YYYY-MM-DD' text.

CREATE TABLE merchants (
    id                  BIGSERIAL PRIMARY KEY,
    code                TEXT NOT NULL UNIQUE,
    name                TEXT NOT NULL,
    status              TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    counter_account_id  BIGINT,
    created_at_ms       BIGINT NOT NULL,
    updated_at_ms       BIGINT NOT NULL
);

-- Group rules of the MQTT POS spec (人员组规则). 0 = no limit; discount 0-100 (100 = full price).
CREATE TABLE groups (
    id                    BIGSERIAL PRIMARY KEY,
    merchant_id           BIGINT NOT NULL REFERENCES merchants(id),
    name                  TEXT NOT NULL,
    single_limit          BIGINT NOT NULL DEFAULT 0 CHECK (single_limit >= 0),
    daily_amount_limit    BIGINT NOT NULL DEFAULT 0 CHECK (daily_amount_limit >= 0),
    daily_count_limit     BIGINT NOT NULL DEFAULT 0 CHECK (daily_count_limit >= 0),
    offline_amount_limit  BIGINT NOT NULL DEFAULT 0 CHECK (offline_amount_limit >= 0),
    offline_count_limit   BIGINT NOT NULL DEFAULT 0 CHECK (offline_count_limit >= 0),
    discount_percent      BIGINT NOT NULL DEFAULT 100 CHECK (discount_percent BETWEEN 0 AND 100),
    created_at_ms         BIGINT NOT NULL,
    updated_at_ms         BIGINT NOT NULL,
    UNIQUE (merchant_id, name)
);

CREATE TABLE terminals (
    id             BIGSERIAL PRIMARY KEY,
    family         TEXT NOT NULL CHECK (family IN ('mqtt_pos', 'jpos', 'ds50')),
    code           TEXT NOT NULL,
    merchant_id    BIGINT NOT NULL REFERENCES merchants(id),
    name           TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    -- Per-terminal secrets (protocol keys, API key hashes) as a JSON object. Never returned
    -- by the admin API and never logged.
    secrets        TEXT NOT NULL DEFAULT '{}',
    created_at_ms  BIGINT NOT NULL,
    updated_at_ms  BIGINT NOT NULL,
    UNIQUE (family, code)
);

CREATE TABLE accounts (
    id             BIGSERIAL PRIMARY KEY,
    merchant_id    BIGINT NOT NULL REFERENCES merchants(id),
    kind           TEXT NOT NULL CHECK (kind IN ('user', 'counter')),
    user_id        TEXT NOT NULL,
    name           TEXT NOT NULL DEFAULT '',
    group_id       BIGINT REFERENCES groups(id),
    status         TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'frozen', 'closed')),
    created_at_ms  BIGINT NOT NULL,
    updated_at_ms  BIGINT NOT NULL,
    UNIQUE (merchant_id, user_id)
);

ALTER TABLE merchants ADD CONSTRAINT merchants_counter_fk
    FOREIGN KEY (counter_account_id) REFERENCES accounts(id);

-- Cached balance of a user account per asset; always equal to the sum of its postings.
-- Counter accounts have no rows here: their balance is derived from postings, so that the
-- merchant's side of every transaction never becomes a hot row.
CREATE TABLE balances (
    account_id  BIGINT NOT NULL REFERENCES accounts(id),
    asset       TEXT NOT NULL CHECK (asset IN ('cash', 'subsidy', 'copies', 'points', 'purse')),
    amount      BIGINT NOT NULL,
    PRIMARY KEY (account_id, asset)
);

-- Card index: HMAC-SHA256 of the PAN under the configured card key. The PAN itself is
-- never stored; the masked form (first 6, last 4) is what is shown.
CREATE TABLE cards (
    pan_hmac       TEXT PRIMARY KEY,
    account_id     BIGINT NOT NULL REFERENCES accounts(id),
    pan_masked     TEXT NOT NULL,
    status         TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'blocked')),
    created_at_ms  BIGINT NOT NULL
);
CREATE INDEX cards_account ON cards (account_id);

CREATE TABLE journal (
    id               BIGSERIAL PRIMARY KEY,
    idempotency_key  TEXT NOT NULL UNIQUE,
    kind             TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('posted', 'refused', 'voided', 'tombstone')),
    refusal          TEXT,
    account_id       BIGINT REFERENCES accounts(id),
    merchant_id      BIGINT REFERENCES merchants(id),
    terminal         TEXT,
    asset            TEXT,
    amount           BIGINT NOT NULL,
    posted_amount    BIGINT NOT NULL,
    refunded_amount  BIGINT NOT NULL DEFAULT 0,
    original_key     TEXT,
    flags            BIGINT NOT NULL DEFAULT 0,
    business_date    TEXT NOT NULL,
    fingerprint      TEXT NOT NULL,
    cash_after       BIGINT NOT NULL DEFAULT 0,
    subsidy_after    BIGINT NOT NULL DEFAULT 0,
    copies_after     BIGINT NOT NULL DEFAULT 0,
    points_after     BIGINT NOT NULL DEFAULT 0,
    purse_after      BIGINT NOT NULL DEFAULT 0,
    created_at_ms    BIGINT NOT NULL
);
CREATE INDEX journal_account_time ON journal (account_id, created_at_ms);
CREATE INDEX journal_terminal_time ON journal (terminal, created_at_ms);
CREATE INDEX journal_time ON journal (created_at_ms);

CREATE TABLE postings (
    id          BIGSERIAL PRIMARY KEY,
    journal_id  BIGINT NOT NULL REFERENCES journal(id),
    account_id  BIGINT NOT NULL REFERENCES accounts(id),
    asset       TEXT NOT NULL,
    amount      BIGINT NOT NULL
);
CREATE INDEX postings_journal ON postings (journal_id);
CREATE INDEX postings_account ON postings (account_id, asset);

CREATE TABLE daily_usage (
    account_id      BIGINT NOT NULL REFERENCES accounts(id),
    day             TEXT NOT NULL,
    online_amount   BIGINT NOT NULL DEFAULT 0,
    online_count    BIGINT NOT NULL DEFAULT 0,
    offline_amount  BIGINT NOT NULL DEFAULT 0,
    offline_count   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, day)
);

CREATE TABLE venues (
    id             BIGSERIAL PRIMARY KEY,
    companycode    TEXT NOT NULL UNIQUE,
    merchant_id    BIGINT NOT NULL REFERENCES merchants(id),
    name           TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    created_at_ms  BIGINT NOT NULL,
    updated_at_ms  BIGINT NOT NULL
);
