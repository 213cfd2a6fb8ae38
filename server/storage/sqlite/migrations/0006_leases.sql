-- 0006: leases. Which process may run a named background job (server/scheduler.py). Times are
-- Unix seconds (REAL) so expiry is one numeric comparison inside the write transaction.

CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    acquired_at REAL NOT NULL,
    expires_at  REAL NOT NULL
);
