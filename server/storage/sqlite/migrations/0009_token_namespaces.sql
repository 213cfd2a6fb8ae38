-- 0009: the namespaces a collector token may post events to (a JSON array of strings; empty
-- for reader, writer and admin tokens, which are not limited to namespaces).

ALTER TABLE api_tokens ADD COLUMN namespaces TEXT NOT NULL DEFAULT '[]';
