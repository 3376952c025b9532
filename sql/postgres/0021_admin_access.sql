-- Who may use the admin API (issues 16 and 13): admin credentials with roles, the
-- operators' console's login sessions, kept in the database so that any replica behind the
-- load balancer recognises them, and the admin audit log, one row per change made through
-- the admin API or the console.

-- An admin credential: a random bearer token known by its SHA-256 (the token is shown once,
-- when issued). A rotation gives the old token an end (expires_at_ms) and issues a new one
-- under the same name. The configured admin.token stays the break-glass administrator.
CREATE TABLE admin_credentials (
    id               BIGSERIAL PRIMARY KEY,
    name             TEXT NOT NULL,
    role             TEXT NOT NULL CHECK (role IN ('read_only', 'operator', 'administrator')),
    token_sha256     TEXT NOT NULL UNIQUE,
    created_at_ms    BIGINT NOT NULL,
    created_by       TEXT NOT NULL,
    expires_at_ms    BIGINT,
    revoked_at_ms    BIGINT,
    last_used_at_ms  BIGINT
);
CREATE INDEX admin_credentials_name ON admin_credentials (name);

-- A session is known by the SHA-256 of its id; the id itself lives only in the browser's
-- HttpOnly cookie. A session ends when idle too long, at its absolute expiry, on logout, or
-- when its credential (NULL: the configured admin.token) is revoked or expires.
CREATE TABLE console_sessions (
    id_sha256        TEXT PRIMARY KEY,
    credential_id    BIGINT REFERENCES admin_credentials (id),
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
