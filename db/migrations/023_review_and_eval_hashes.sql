-- 023: review decisions and eval samples name the content they were derived from (issue 26 item 6;
-- the NULL rule and the backfill as in 018: NULL, a row written outside the stages, counts as current).
--   review_events.content_hash = samples.content_hash when the reviewer decided (curate/review/queries.py)
--   eval_samples.content_hash  = db.store.problem_hash_sql of the problem when `evaluate run` checked
--                                the answer: its gold answer, question and a non-math problem's meta
--                                (the response is stored in the row itself)
-- review_current keeps the newest decision only while its hash is the sample's current one: a
-- decision on a trace re-imported with other text, regenerated, or whose gold or question changed
-- is stale (view review_stale), so select, export and best_trace treat the sample as unreviewed.
-- `evaluate report` and `compare` leave out eval samples whose problem changed since the check;
-- `evaluate run` with the same --name checks them again.
ALTER TABLE review_events ADD COLUMN content_hash VARCHAR;
ALTER TABLE eval_samples ADD COLUMN content_hash VARCHAR;

UPDATE review_events SET content_hash = s.content_hash FROM samples s WHERE s.sample_id = review_events.sample_id;
UPDATE eval_samples SET content_hash = md5(concat_ws(chr(31), coalesce(p.gold_answer, chr(0)), coalesce(p.question, chr(0)),
        CASE WHEN p.domain IS DISTINCT FROM 'math' THEN CAST(p.meta AS VARCHAR) END))
FROM problems p WHERE p.problem_id = eval_samples.problem_id;

-- The newest live decision per sample that is not a skip, of whatever content (011's review_current).
CREATE VIEW review_newest AS
SELECT * EXCLUDE (rn) FROM (
    SELECT l.*, row_number() OVER (PARTITION BY l.sample_id ORDER BY l.event_id DESC) AS rn
    FROM review_live l
    WHERE l.decision <> 'skip'
) WHERE rn = 1;

-- Current review decision per sample: the newest one, while it is of the sample's current content
-- (a decision of a sample no longer stored stays, as before).
CREATE OR REPLACE VIEW review_current AS
SELECT r.* FROM review_newest r
LEFT JOIN samples s ON s.sample_id = r.sample_id
WHERE r.content_hash IS NULL OR s.sample_id IS NULL OR r.content_hash = s.content_hash;

-- Newest decisions set aside because the sample's content changed since: review these again.
CREATE VIEW review_stale AS
SELECT r.* FROM review_newest r
JOIN samples s ON s.sample_id = r.sample_id
WHERE r.content_hash IS NOT NULL AND r.content_hash <> s.content_hash;
