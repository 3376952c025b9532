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
