-- The process that runs a stage, so a 'running' row whose process died (kill -9, power loss)
-- is shown as 'interrupted' instead of running forever.
ALTER TABLE runs ADD COLUMN pid INTEGER;
ALTER TABLE runs ADD COLUMN host VARCHAR;
