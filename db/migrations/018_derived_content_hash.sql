-- 018: every derived row names the content it was computed from (DESIGN.md, "What is never lost").
-- samples.content_hash (017, db.store.CONTENT_HASH_SQL) is the hash of a sample's text, finish
-- reason and its problem's gold and question; a row below is current only while its hash equals
-- the one it names now, else it is pending for the stage that writes it:
--   verdicts.content_hash (014; judge verdicts too from now on)  = samples.content_hash at verify / judge time
--   scores.content_hash         = samples.content_hash when `curate score` ran
--   problem_scores.content_hash = problem_content.content_hash when `curate score` ran: the
--                                 problem's samples and their hashes (clusters and agreement are
--                                 computed over all of them, so a sibling regenerated, added or
--                                 removed makes every score of the problem pending)
--   selections.content_hash     = samples.content_hash when `curate select` ran
--   exports.content_hash        = md5 over the exported samples' (sample_id, content_hash), sorted
-- The NULL rule: the stages always write these columns. NULL is a row written outside them (SQL
-- by hand, an older tool) and is taken as current, since nothing says what it was computed from;
-- this migration backfills the rows that exist with the hashes stored now, so from the next
-- change of a gold answer or trace on, those rows go pending too. Exports written before 018 keep NULL.
ALTER TABLE scores ADD COLUMN content_hash VARCHAR;
ALTER TABLE problem_scores ADD COLUMN content_hash VARCHAR;
ALTER TABLE selections ADD COLUMN content_hash VARCHAR;
ALTER TABLE exports ADD COLUMN content_hash VARCHAR;

-- What a problem's scores are computed from: each of its samples and that sample's content hash.
CREATE VIEW problem_content AS
SELECT problem_id,
       md5(string_agg(sample_id || chr(31) || coalesce(content_hash, chr(0)), chr(30) ORDER BY sample_id)) AS content_hash,
       count(*) AS n_samples
FROM samples
GROUP BY problem_id;

-- One row per sample: whether its score is current, else why it is pending for `curate score`
-- (unscored, sample_changed: its text, gold or question changed; problem_changed: another sample
-- of its problem did, or one was added). NULL hashes follow the NULL rule above.
CREATE VIEW score_state AS
SELECT s.sample_id, s.problem_id,
       CASE WHEN sc.sample_id IS NULL THEN 'unscored'
            WHEN sc.content_hash IS NOT NULL AND sc.content_hash IS DISTINCT FROM s.content_hash THEN 'sample_changed'
            WHEN ps.content_hash IS NOT NULL AND ps.content_hash IS DISTINCT FROM pc.content_hash THEN 'problem_changed'
            ELSE 'current' END AS state
FROM samples s
LEFT JOIN scores sc ON sc.sample_id = s.sample_id
LEFT JOIN problem_scores ps ON ps.problem_id = s.problem_id
LEFT JOIN problem_content pc ON pc.problem_id = s.problem_id;

-- Samples whose verdicts all belong to earlier content (verdicts of some checker, none current
-- in verdict_current): pending for `curate verify`. Score, select and export read this.
CREATE VIEW verdict_pending AS
SELECT DISTINCT v.sample_id FROM verdicts v
WHERE v.verifier NOT LIKE 'judge:%'
  AND v.sample_id IN (SELECT sample_id FROM samples)
  AND v.sample_id NOT IN (SELECT sample_id FROM verdict_current);

-- The judges' verdicts of each sample's current content (verdict_current leaves judges out):
-- what `curate judge` counts as done and what the review app shows.
CREATE VIEW judge_current AS
SELECT v.* FROM verdicts v
JOIN samples s ON s.sample_id = v.sample_id
WHERE v.verifier LIKE 'judge:%'
  AND (v.content_hash IS NULL OR v.content_hash = s.content_hash);

UPDATE verdicts SET content_hash = s.content_hash
FROM samples s WHERE s.sample_id = verdicts.sample_id AND verdicts.content_hash IS NULL;
UPDATE scores SET content_hash = s.content_hash FROM samples s WHERE s.sample_id = scores.sample_id;
UPDATE selections SET content_hash = s.content_hash FROM samples s WHERE s.sample_id = selections.sample_id;
UPDATE problem_scores SET content_hash = pc.content_hash
FROM problem_content pc WHERE pc.problem_id = problem_scores.problem_id;

-- The user views read only current scores: a problem's majority answer and agreement (and the
-- length best_trace orders by) are NULL while its scores are pending. Otherwise as in 015 and 001.
CREATE OR REPLACE VIEW problem_stats AS
SELECT
    p.problem_id, p.source, p.split, p.section, p.year, p.gold_answer,
    count(s.sample_id) AS n_samples,
    count(*) FILTER (WHERE v.verdict = 'correct') AS n_correct,
    CASE WHEN count(s.sample_id) > 0
         THEN (count(*) FILTER (WHERE v.verdict = 'correct'))::DOUBLE / count(s.sample_id) END AS pass_rate,
    max(sc.cluster_answer) FILTER (WHERE sc.is_majority) AS majority_answer,
    max(sc.agreement) FILTER (WHERE sc.is_majority) AS agreement,
    count(v.sample_id) AS n_verified,
    CASE WHEN count(v.sample_id) > 0
         THEN (count(*) FILTER (WHERE v.verdict = 'correct'))::DOUBLE / count(v.sample_id) END AS verified_pass_rate
FROM problems p
LEFT JOIN samples s ON s.problem_id = p.problem_id
LEFT JOIN verdict_current v ON v.sample_id = s.sample_id
LEFT JOIN score_state st ON st.sample_id = s.sample_id
LEFT JOIN scores sc ON sc.sample_id = s.sample_id AND st.state = 'current'
GROUP BY ALL;

CREATE OR REPLACE VIEW best_trace AS
SELECT * EXCLUDE (rn) FROM (
    SELECT s.problem_id, s.sample_id, s.model, sc.length_tokens, v.answer,
           row_number() OVER (PARTITION BY s.problem_id
                              ORDER BY sc.length_tokens NULLS LAST, length(coalesce(s.reasoning, '') || coalesce(s.content, '')), s.sample_id) AS rn
    FROM samples s
    JOIN verdict_current v ON v.sample_id = s.sample_id AND v.verdict = 'correct'
    LEFT JOIN score_state st ON st.sample_id = s.sample_id
    LEFT JOIN scores sc ON sc.sample_id = s.sample_id AND st.state = 'current'
    LEFT JOIN review_current r ON r.sample_id = s.sample_id
    WHERE s.status = 'ok' AND coalesce(r.decision, '') <> 'reject'
) WHERE rn = 1;
