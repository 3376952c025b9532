-- KTV completeness per business day (issue 11, review section 5).
--
-- `order_key` orders the revisions of one bill ("{checkout_datetime}|{version, 20 digits}"):
-- a delayed older revision does not replace a newer one. `absent_at_ms` is set when a
-- complete WJ091 pull of the bill's day no longer lists it (voided in the venue system); it
-- is cleared when a later pull lists it again.
ALTER TABLE ktv_bills ADD COLUMN order_key TEXT NOT NULL DEFAULT '';
ALTER TABLE ktv_bills ADD COLUMN absent_at_ms BIGINT;

-- What the venue says a business day holds, next to what is stored: the `num` of the
-- multi-request vouchers uploads, the `total`, distinct vouchers, repeats and revenue of the
-- last WJ091 pull, and whether that pull was complete. One row per venue and day.
CREATE TABLE ktv_days (
    companycode         TEXT NOT NULL,
    business_date       TEXT NOT NULL,
    upload_num          BIGINT,
    wj091_total         BIGINT,
    wj091_distinct      BIGINT,
    wj091_repeated      BIGINT NOT NULL DEFAULT 0,
    wj091_revenue       BIGINT,
    pulled_complete     BIGINT NOT NULL DEFAULT 0,
    attempts            BIGINT NOT NULL DEFAULT 0,
    last_attempt_at_ms  BIGINT,
    last_error          TEXT NOT NULL DEFAULT '',
    updated_at_ms       BIGINT NOT NULL,
    PRIMARY KEY (companycode, business_date)
);

-- Every backfill attempt (admin or scheduled), with what it found.
CREATE TABLE ktv_backfill_attempts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    companycode     TEXT NOT NULL,
    business_date   TEXT NOT NULL,
    trigger         TEXT NOT NULL,
    started_at_ms   BIGINT NOT NULL,
    finished_at_ms  BIGINT NOT NULL,
    outcome         TEXT NOT NULL,
    total           BIGINT,
    fetched         BIGINT NOT NULL,
    repeated        BIGINT NOT NULL,
    new             BIGINT NOT NULL,
    changed         BIGINT NOT NULL,
    unchanged       BIGINT NOT NULL,
    invalid         BIGINT NOT NULL,
    absent          BIGINT NOT NULL,
    error           TEXT NOT NULL
);
CREATE INDEX ktv_backfill_attempts_day ON ktv_backfill_attempts (companycode, business_date);
