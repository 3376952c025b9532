-- KTV scheduled backfill: one replica claims (venue, business date) per interval, so a
-- cluster pulls each venue's day once per interval instead of once per replica.
CREATE TABLE ktv_backfill_claims (
    companycode    TEXT NOT NULL,
    business_date  TEXT NOT NULL,
    claimed_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (companycode, business_date)
);
