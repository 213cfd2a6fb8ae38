"""The embedded graph store: SQLite via the standard library (WAL, FTS5, recursive CTEs)."""
