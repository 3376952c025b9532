-- Server-to-device commands and their acknowledgements. status: 'sent' (no ack asked),
-- 'pending' (ack asked, none yet; shown as timed_out after expires_at_ms), 'acknowledged'.
CREATE TABLE device_commands (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    terminal_id     BIGINT NOT NULL REFERENCES terminals(id),
    api             TEXT NOT NULL,
    ack_id          TEXT UNIQUE,
    delivery        TEXT NOT NULL CHECK (delivery IN ('inline', 'url')),
    payload_bytes   BIGINT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('sent', 'pending', 'acknowledged')),
    result_code     BIGINT,
    result_msg      TEXT,
    result_data     TEXT,
    created_at_ms   BIGINT NOT NULL,
    expires_at_ms   BIGINT NOT NULL,
    acked_at_ms     BIGINT
);
CREATE INDEX device_commands_terminal ON device_commands (terminal_id, id);

-- Command documents served at cmdDataUrl: single use, expiring. Only the SHA-256 of the
-- URL's token is stored.
CREATE TABLE command_documents (
    token_sha256    TEXT PRIMARY KEY,
    body            TEXT NOT NULL,
    expires_at_ms   BIGINT NOT NULL,
    used            BIGINT NOT NULL DEFAULT 0
);
