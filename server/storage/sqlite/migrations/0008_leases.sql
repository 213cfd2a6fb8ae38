-- 0008: leases (numbered past the 0006/0007 other branches add; IF NOT EXISTS: safe to renumber). Which process may run a named background job (server/scheduler.py). Times are
-- Unix seconds (REAL) so expiry is one numeric comparison inside the write transaction.

CREATE TABLE IF NOT EXISTS leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    acquired_at REAL NOT NULL,
    expires_at  REAL NOT NULL
);
