-- Pospal (银豹) notifications.
--
-- Apps: each Pospal appId belongs to one merchant and carries the appKey that signs its
-- notifications (md5(appKey + body) needs the key itself, so it is stored; the admin API
-- never returns it and it is never logged).
CREATE TABLE pospal_apps (
    app_id         TEXT PRIMARY KEY,
    merchant_id    BIGINT NOT NULL REFERENCES merchants(id),
    app_key        TEXT NOT NULL,
    status         TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    created_at_ms  BIGINT NOT NULL,
    updated_at_ms  BIGINT NOT NULL
);
CREATE INDEX pospal_apps_merchant ON pospal_apps (merchant_id);

-- Every consumed notification, once per business key (pospal:{appId}:{cmd}:{identity}).
-- Written last, after its effects, so that a notification is answered 200 only once all of
-- it is durable; a crash before this row makes Pospal's retry redo the (idempotent) effects.
CREATE TABLE pospal_events (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    business_key        TEXT NOT NULL UNIQUE,
    app_id              TEXT NOT NULL,
    merchant_id         BIGINT NOT NULL,
    cmd                 TEXT NOT NULL,
    subject             TEXT NOT NULL,
    body_md5            TEXT NOT NULL,
    body                TEXT NOT NULL,
    born_timestamp_ms   BIGINT NOT NULL,
    outcome             TEXT NOT NULL,
    received_at_ms      BIGINT NOT NULL
);
CREATE INDEX pospal_events_merchant ON pospal_events (merchant_id, id);

-- Pospal members (customerUid) and the ledger account that mirrors their balance.
CREATE TABLE pospal_members (
    merchant_id    BIGINT NOT NULL REFERENCES merchants(id),
    customer_uid   TEXT NOT NULL,
    account_id     BIGINT NOT NULL REFERENCES accounts(id),
    number         TEXT NOT NULL DEFAULT '',
    created_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, customer_uid)
);

-- A ticket's afterUsedMoney that differed from posgate's mirrored balance.
CREATE TABLE pospal_balance_mismatches (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    merchant_id        BIGINT NOT NULL,
    business_key       TEXT NOT NULL UNIQUE,
    customer_uid       TEXT NOT NULL,
    account_id         BIGINT NOT NULL,
    pospal_balance     BIGINT NOT NULL,
    posgate_balance    BIGINT NOT NULL,
    recorded_at_ms     BIGINT NOT NULL
);
CREATE INDEX pospal_balance_mismatches_merchant ON pospal_balance_mismatches (merchant_id, id);

-- The state of a stock flow (货流单) or a network order (网单), folded from notifications
-- that may arrive in any order: the highest stage wins, then the latest bornTimeStamp.
CREATE TABLE pospal_documents (
    app_id             TEXT NOT NULL,
    kind               TEXT NOT NULL CHECK (kind IN ('stock_flow', 'product_order')),
    document_id        TEXT NOT NULL,
    merchant_id        BIGINT NOT NULL,
    status             TEXT NOT NULL,
    stage              BIGINT NOT NULL,
    born_timestamp_ms  BIGINT NOT NULL,
    events             BIGINT NOT NULL,
    updated_at_ms      BIGINT NOT NULL,
    PRIMARY KEY (app_id, kind, document_id)
);
