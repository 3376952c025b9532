-- Payments announced on the merchant's DS50 speakers (issue 16): the merchant's setting,
-- and one claim per announced payment, so that a payment is announced at most once.

ALTER TABLE merchants ADD COLUMN announce_payments INTEGER NOT NULL DEFAULT 0
    CHECK (announce_payments IN (0, 1));

CREATE TABLE payment_announcements (
    transaction_id INTEGER PRIMARY KEY REFERENCES journal (id),
    merchant_id INTEGER NOT NULL REFERENCES merchants (id),
    amount INTEGER NOT NULL CHECK (amount > 0),
    at_ms INTEGER NOT NULL
);
CREATE INDEX payment_announcements_merchant ON payment_announcements (merchant_id, at_ms);
