-- 0008: leases. Which process may run a named background job (server/scheduler.py). Times are
-- Unix seconds (REAL) so expiry is one numeric comparison inside the write transaction.
-- Numbered past the 0006/0007 that other branches add; IF NOT EXISTS: safe to renumber.

CREATE TABLE IF NOT EXISTS leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    acquired_at REAL NOT NULL,
    expires_at  REAL NOT NULL
);
