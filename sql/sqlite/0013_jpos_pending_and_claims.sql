-- jpos edges (issue 10): the pending-row sweeper, card activation, SMS caps.
--
-- A pending row (a request whose postings may be in flight) is resolved by the sweeper
-- within `jpos.pending_resolve_after_seconds`: a replica claims the row first
-- (`sweep_claimed_at_ms`, a lease), and records that it resolved it (`resolved_by`,
-- `resolved_at_ms`) for the admin API.
ALTER TABLE jpos_trans ADD COLUMN sweep_claimed_at_ms BIGINT;
ALTER TABLE jpos_trans ADD COLUMN resolved_by TEXT;
ALTER TABLE jpos_trans ADD COLUMN resolved_at_ms BIGINT;
CREATE INDEX jpos_trans_pending ON jpos_trans (created_at_ms) WHERE status = 'pending';
CREATE INDEX jpos_trans_resolved ON jpos_trans (resolved_at_ms) WHERE resolved_by IS NOT NULL;

-- Card activation (卡激活): a merchant that issues cards inactive requires an activation
-- (a row in jpos_card_activations) before a card may spend.
ALTER TABLE jpos_merchant_rules ADD COLUMN activation_required BIGINT NOT NULL DEFAULT 0;

-- Verification-code sends per hour: `scope` is a terminal key or '*' (all terminals),
-- `hour` the unix hour; a conditional increment keeps each within its cap.
CREATE TABLE jpos_sms_quota (
    scope   TEXT NOT NULL,
    hour    BIGINT NOT NULL,
    sends   BIGINT NOT NULL,
    PRIMARY KEY (scope, hour)
);
