-- KTV member income pulled over WJ091 (issue 11, deliverable 5): type 3 member recharges
-- (rows kept raw: their format is defined by the member-card documents, keyed by the
-- SHA-256 of the row) and type 5 card fees (keyed by `onlybusinessid`, `amount` = the
-- `acceptmoney` in fen). A row pulled again replaces the stored one.
CREATE TABLE ktv_member_rows (
    companycode    TEXT NOT NULL,
    business_date  TEXT NOT NULL,
    kind           BIGINT NOT NULL,
    row_key        TEXT NOT NULL,
    amount         BIGINT,
    row_json       TEXT NOT NULL,
    pulled_at_ms   BIGINT NOT NULL,
    PRIMARY KEY (companycode, kind, row_key)
);
CREATE INDEX ktv_member_rows_day ON ktv_member_rows (companycode, business_date);

-- Per-venue security settings (issue 11, deliverable 6): the venue's own cipher mode ('' =
-- the gateway's `ktv.cipher_mode`), and the key it had before the last rotation, still
-- accepted until `previous_key_until_ms` (the overlap window while its gateway switches).
ALTER TABLE ktv_venue_keys ADD COLUMN cipher_mode TEXT NOT NULL DEFAULT '';
ALTER TABLE ktv_venue_keys ADD COLUMN previous_key_wrapped TEXT NOT NULL DEFAULT '';
ALTER TABLE ktv_venue_keys ADD COLUMN previous_key_until_ms BIGINT;
