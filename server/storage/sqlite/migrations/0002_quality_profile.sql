-- 0002: loader features: per-field profile, semantic type and PII flag; per-version quality
-- report, change summary and quarantine object; the dataset's validation contract.

ALTER TABLE fields ADD COLUMN semantic_type TEXT;
ALTER TABLE fields ADD COLUMN pii INTEGER NOT NULL DEFAULT 0;
ALTER TABLE fields ADD COLUMN stats TEXT NOT NULL DEFAULT '{}';

ALTER TABLE versions ADD COLUMN quality TEXT;
ALTER TABLE versions ADD COLUMN changes TEXT;
ALTER TABLE versions ADD COLUMN quarantine_key TEXT;

ALTER TABLE datasets ADD COLUMN contract TEXT;
