-- Payments announced on the merchant's DS50 speakers (issue 16): the merchant's setting,
-- and one claim per announced payment, so that a payment is announced at most once across
-- retries and replicas (only the replica whose INSERT claims it publishes).

ALTER TABLE merchants ADD COLUMN announce_payments BIGINT NOT NULL DEFAULT 0
    CHECK (announce_payments IN (0, 1));

CREATE TABLE payment_announcements (
    transaction_id BIGINT PRIMARY KEY REFERENCES journal (id),
    merchant_id BIGINT NOT NULL REFERENCES merchants (id),
    amount BIGINT NOT NULL CHECK (amount > 0),
    at_ms BIGINT NOT NULL
);
CREATE INDEX payment_announcements_merchant ON payment_announcements (merchant_id, at_ms);

-- A change of the setting reaches every replica's merchant actor (0019's trigger, with
-- announce_payments added to the columns it watches).
DROP TRIGGER merchants_announce ON merchants;
CREATE TRIGGER merchants_announce AFTER UPDATE ON merchants
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
        OR OLD.name IS DISTINCT FROM NEW.name
        OR OLD.code IS DISTINCT FROM NEW.code
        OR OLD.counter_account_id IS DISTINCT FROM NEW.counter_account_id
        OR OLD.announce_payments IS DISTINCT FROM NEW.announce_payments)
    EXECUTE FUNCTION posgate_merchant_changed();
