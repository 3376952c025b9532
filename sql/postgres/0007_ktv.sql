-- KTV venues (商户通): upload keys and options, the venue's latest state, bills, notices.

-- A venue's upload key is stored wrapped (AES-128 under a key derived from the card index
-- key), never in the clear. `encrypted` 1: realtime/vouchers must be sealed; 0: inline JSON
-- is accepted too (a venue configured unencrypted).
CREATE TABLE ktv_venue_keys (
    companycode     TEXT PRIMARY KEY REFERENCES venues(companycode),
    key_wrapped     TEXT NOT NULL DEFAULT '',
    encrypted       BIGINT NOT NULL DEFAULT 1,
    updated_at_ms   BIGINT NOT NULL
);

-- The latest of each upload kind: opening hours and system version, the realtime snapshot
-- (rooms kept in upload order inside realtime_json), payment settings, last upload times.
CREATE TABLE ktv_venue_state (
    companycode             TEXT PRIMARY KEY,
    system                  TEXT NOT NULL DEFAULT '',
    open_time_version       BIGINT,
    version_num             BIGINT,
    gateway_mode            BIGINT,
    open_time               TEXT NOT NULL DEFAULT '',
    close_time              TEXT NOT NULL DEFAULT '',
    open_time_at_ms         BIGINT,
    realtime_json           TEXT,
    realtime_date           TEXT NOT NULL DEFAULT '',
    realtime_at_ms          BIGINT,
    vouchers_at_ms          BIGINT,
    payment_settings_json   TEXT,
    payment_settings_at_ms  BIGINT,
    notify_at_ms            BIGINT
);

-- One row per bill (key ktv:{companycode}:{voucher}); a 反结账/还原/void upload replaces the
-- row and bumps `revision`. Revenue figures are fen, by charge class; `counted` is 1 when the
-- bill is in revenue (revoke 0).
CREATE TABLE ktv_bills (
    companycode      TEXT NOT NULL,
    voucher          TEXT NOT NULL,
    business_date    TEXT NOT NULL,
    voucher_type     BIGINT NOT NULL,
    revoke           BIGINT NOT NULL,
    modify           BIGINT NOT NULL,
    counted          BIGINT NOT NULL,
    room             BIGINT NOT NULL,
    drinks           BIGINT NOT NULL,
    service          BIGINT NOT NULL,
    other            BIGINT NOT NULL,
    member           BIGINT NOT NULL,
    reduction        BIGINT NOT NULL,
    net              BIGINT NOT NULL,
    payments_total   BIGINT NOT NULL,
    checkout_charge  BIGINT NOT NULL,
    fact_charge      BIGINT NOT NULL,
    content_sha256   TEXT NOT NULL,
    bill_json        TEXT NOT NULL,
    revision         BIGINT NOT NULL,
    source           TEXT NOT NULL,
    created_at_ms    BIGINT NOT NULL,
    updated_at_ms    BIGINT NOT NULL,
    PRIMARY KEY (companycode, voucher)
);
CREATE INDEX ktv_bills_day ON ktv_bills (companycode, business_date);

-- Booking cancellations made in the venue system (notify); a re-sent notice is kept once.
CREATE TABLE ktv_notices (
    companycode    TEXT NOT NULL,
    voucher        TEXT NOT NULL,
    cancel_time    TEXT NOT NULL,
    reserve_time   TEXT NOT NULL,
    room_id        TEXT NOT NULL,
    room_name      TEXT NOT NULL,
    guest_name     TEXT NOT NULL,
    staff_code     TEXT NOT NULL,
    staff_name     TEXT NOT NULL,
    remark         TEXT NOT NULL,
    created_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (companycode, voucher, cancel_time)
);
