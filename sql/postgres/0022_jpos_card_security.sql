-- jpos card security (issue 13): each check-in's working keys, sealed under the
-- gateway's key-encryption key (AES-256-GCM, the terminal as associated data), so that the
-- PIN blocks of the batch can be read; and each card's PIN as a keyed verification value
-- (HMAC under the card index key, bound to the card), with its wrong-try counter.
ALTER TABLE jpos_terminal_batches ADD COLUMN pin_key_sealed TEXT;
ALTER TABLE jpos_terminal_batches ADD COLUMN mac_key_sealed TEXT;
ALTER TABLE cards ADD COLUMN pin_verifier TEXT;
ALTER TABLE cards ADD COLUMN pin_tries BIGINT NOT NULL DEFAULT 0;
-- A merchant may require the card present (track 2) for spending.
ALTER TABLE jpos_merchant_rules ADD COLUMN track2_required BIGINT NOT NULL DEFAULT 0
    CHECK (track2_required IN (0, 1));
