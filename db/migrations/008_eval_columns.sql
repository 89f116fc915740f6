-- 008: what `evaluate run/report/compare` needs beyond 001's eval tables.
-- run_group: the --name given (seeds and length levels of one invocation share it);
-- label: the report's row (base / student / teacher, ...); word_budget: the length study's budget;
-- fingerprint: hash of the settings that change outputs, so a resumed run cannot mix settings.
ALTER TABLE eval_runs ADD COLUMN run_group VARCHAR;
ALTER TABLE eval_runs ADD COLUMN label VARCHAR;
ALTER TABLE eval_runs ADD COLUMN word_budget INTEGER;
ALTER TABLE eval_runs ADD COLUMN fingerprint VARCHAR;
ALTER TABLE eval_runs ADD COLUMN run_id VARCHAR;
-- length_tokens: the response (reasoning + content) counted with one tokenizer for every model,
-- so lengths compare across backends; completion_tokens stays the backend's own count (NULL
-- when a multi-choice API response reports only a total).
ALTER TABLE eval_samples ADD COLUMN length_tokens INTEGER;
ALTER TABLE eval_samples ADD COLUMN prompt_tokens INTEGER;
ALTER TABLE eval_samples ADD COLUMN answer_source VARCHAR;
ALTER TABLE eval_samples ADD COLUMN reason VARCHAR;
ALTER TABLE eval_samples ADD COLUMN answer_key VARCHAR;
