-- 0004: security. API tokens (only a sha256 of each secret is kept), and the request id of
-- every audit event, with indexes for the admin's audit-log filters.

CREATE TABLE api_tokens (
    id          TEXT PRIMARY KEY,               -- public part of the token: peso_<id>_<secret>
    name        TEXT NOT NULL UNIQUE,           -- the actor recorded in the audit log
    role        TEXT NOT NULL,                  -- reader | writer | admin
    pii         INTEGER NOT NULL DEFAULT 0,     -- may read personal data unmasked
    secret_hash TEXT NOT NULL,                  -- sha256 hex of the whole token
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    revoked_at  TEXT
);

ALTER TABLE audit ADD COLUMN request_id TEXT;
CREATE INDEX audit_actor ON audit (actor, id);
CREATE INDEX audit_action ON audit (action, id);
