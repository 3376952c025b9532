-- The operators' console (issue 16): login sessions, kept in the database so that any
-- replica behind the load balancer recognises them, and the admin audit log, one row per
-- change made through the admin API or the console.

-- A session is known by the SHA-256 of its id; the id itself lives only in the browser's
-- HttpOnly cookie. A session ends when idle too long, at its absolute expiry, or on logout.
CREATE TABLE console_sessions (
    id_sha256        TEXT PRIMARY KEY,
    principal        TEXT NOT NULL,
    role             TEXT NOT NULL CHECK (role IN ('read_only', 'operator', 'administrator')),
    created_at_ms    BIGINT NOT NULL,
    last_seen_at_ms  BIGINT NOT NULL,
    expires_at_ms    BIGINT NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at_ms);

-- Who changed what, when, with what result: every request that is not a read, with its
-- JSON body (secrets masked before they are stored).
CREATE TABLE admin_audit (
    id         BIGSERIAL PRIMARY KEY,
    at_ms      BIGINT NOT NULL,
    principal  TEXT NOT NULL,
    role       TEXT NOT NULL,
    via        TEXT NOT NULL CHECK (via IN ('token', 'session', 'login')),
    method     TEXT NOT NULL,
    route      TEXT NOT NULL,
    path       TEXT NOT NULL,
    status     BIGINT NOT NULL,
    body       TEXT
);
CREATE INDEX admin_audit_at ON admin_audit (at_ms);
