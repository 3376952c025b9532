-- Replica coherence: every change to a record that entity actors cache is announced on the
-- channel `posgate_changes` (LISTEN/NOTIFY), delivered to every replica when the changing
-- transaction commits. The payload names the actor, never a secret:
--   {"kind":"terminal","family":...,"code":...}  terminals, terminal_capabilities
--   {"kind":"merchant","id":...}                   merchants (its terminals reload too)
--   {"kind":"venue","code":...}                    venues, ktv_venue_keys
-- Triggers on these tables fire whoever writes (any replica, an operator's SQL), and only
-- when a cached column changes (a terminal's last-seen writes announce nothing).
-- Photos move into the database so that any replica serves them.

CREATE FUNCTION posgate_announce(payload JSON) RETURNS VOID LANGUAGE sql AS $$
    SELECT pg_notify('posgate_changes', payload::text)
$$;

CREATE FUNCTION posgate_terminal_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM posgate_announce(json_build_object('kind', 'terminal', 'family', OLD.family, 'code', OLD.code));
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM posgate_announce(json_build_object('kind', 'terminal', 'family', NEW.family, 'code', NEW.code));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER terminals_announce_insert AFTER INSERT OR DELETE ON terminals
    FOR EACH ROW EXECUTE FUNCTION posgate_terminal_changed();
CREATE TRIGGER terminals_announce_update AFTER UPDATE ON terminals
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
        OR OLD.merchant_id IS DISTINCT FROM NEW.merchant_id
        OR OLD.code IS DISTINCT FROM NEW.code
        OR OLD.family IS DISTINCT FROM NEW.family
        OR OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION posgate_terminal_changed();

CREATE FUNCTION posgate_capability_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed_terminal BIGINT;
BEGIN
    IF TG_OP = 'DELETE' THEN
        changed_terminal := OLD.terminal_id;
    ELSE
        changed_terminal := NEW.terminal_id;
    END IF;
    PERFORM posgate_announce(json_build_object('kind', 'terminal', 'family', t.family, 'code', t.code))
        FROM terminals t WHERE t.id = changed_terminal;
    RETURN NULL;
END $$;

CREATE TRIGGER terminal_capabilities_announce AFTER INSERT OR UPDATE OR DELETE ON terminal_capabilities
    FOR EACH ROW EXECUTE FUNCTION posgate_capability_changed();

CREATE FUNCTION posgate_merchant_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM posgate_announce(json_build_object('kind', 'merchant', 'id', NEW.id));
    RETURN NULL;
END $$;

CREATE TRIGGER merchants_announce AFTER UPDATE ON merchants
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
        OR OLD.name IS DISTINCT FROM NEW.name
        OR OLD.code IS DISTINCT FROM NEW.code
        OR OLD.counter_account_id IS DISTINCT FROM NEW.counter_account_id)
    EXECUTE FUNCTION posgate_merchant_changed();
CREATE TRIGGER merchants_announce_insert AFTER INSERT ON merchants
    FOR EACH ROW EXECUTE FUNCTION posgate_merchant_changed();

CREATE FUNCTION posgate_venue_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM posgate_announce(json_build_object('kind', 'venue', 'code', OLD.companycode));
    ELSE
        PERFORM posgate_announce(json_build_object('kind', 'venue', 'code', NEW.companycode));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER venues_announce AFTER INSERT OR UPDATE OR DELETE ON venues
    FOR EACH ROW EXECUTE FUNCTION posgate_venue_changed();
CREATE TRIGGER ktv_venue_keys_announce AFTER INSERT OR UPDATE OR DELETE ON ktv_venue_keys
    FOR EACH ROW EXECUTE FUNCTION posgate_venue_changed();

-- The image itself; NULL for photos stored before this migration (their bytes stay in the
-- files under mqtt.photo_dir, which is read for them).
ALTER TABLE mqtt_photos ADD COLUMN content BYTEA;
