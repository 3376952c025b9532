-- DS50 payment boxes. API keys: only the SHA-256 of each key is stored, one or more keys
-- per device, each with an expiry (the spec's pgw_api_key_expiry).
CREATE TABLE ds50_api_keys (
    key_sha256      TEXT PRIMARY KEY,
    terminal_id     BIGINT NOT NULL REFERENCES terminals(id),
    expires_at_ms   BIGINT NOT NULL,
    created_at_ms   BIGINT NOT NULL
);
CREATE INDEX ds50_api_keys_terminal ON ds50_api_keys (terminal_id);

-- What the details query shows of a sale besides its journal row: the masked card number
-- (first 6, ****, last 4; never the PAN, track 2, PIN or EMV data), the card organisation,
-- the device's date and time. Keyed like the journal row (ds50:{sn}:{date}:{batch}:{trace}).
CREATE TABLE ds50_sales (
    idempotency_key TEXT PRIMARY KEY,
    terminal_key    TEXT NOT NULL,
    business_date   TEXT NOT NULL,
    card_masked     TEXT NOT NULL,
    card_org        TEXT NOT NULL,
    trans_time      TEXT NOT NULL,
    batch_no        TEXT NOT NULL,
    trace_no        TEXT NOT NULL,
    created_at_ms   BIGINT NOT NULL
);
CREATE INDEX ds50_sales_terminal_date ON ds50_sales (terminal_key, business_date);
