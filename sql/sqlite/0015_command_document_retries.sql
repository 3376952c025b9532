-- Command documents (cmdDataUrl) outlive a failed download: a device may fetch one up to a
-- bounded number of times (`used` now counts the fetches) before it expires, until it
-- acknowledges the command the document belongs to, which removes it.
ALTER TABLE command_documents ADD COLUMN terminal_id BIGINT;
ALTER TABLE command_documents ADD COLUMN ack_id TEXT;
CREATE INDEX command_documents_command ON command_documents (terminal_id, ack_id);
