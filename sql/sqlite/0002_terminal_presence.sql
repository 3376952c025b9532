-- When a terminal was last seen (any message; written at most every 30 s) and what it
-- reported in its last online message.
ALTER TABLE terminals ADD COLUMN last_seen_at_ms BIGINT;
ALTER TABLE terminals ADD COLUMN online_report TEXT;
