-- 017: each sample row stores the hash of what a verdict of it is computed from
-- (samples.content_hash: reasoning, content, finish reason, and its problem's gold and question;
-- the expression is db.store.CONTENT_HASH_SQL), set by every write of a sample or a problem
-- (Store.insert_frame, import-samples' publish, merge), so verdict_current compares two stored
-- 32-character strings instead of md5-hashing every sample's full text on each whole-table read
-- (about 4.5 s of CPU per 100,000 samples). The view is 016's with that one comparison changed.
ALTER TABLE samples ADD COLUMN content_hash VARCHAR;

-- Joined with problems only: a self-join of samples to a hashed copy held every text (14 GB at
-- 1M samples); this form streams the samples (0.5 GB at 100k). Samples without a problem after.
UPDATE samples SET content_hash = md5(concat_ws(chr(31),
        coalesce(samples.reasoning, chr(0)), coalesce(samples.content, chr(0)), coalesce(samples.finish_reason, chr(0)),
        coalesce(p.gold_answer, chr(0)), coalesce(p.question, chr(0))))
FROM problems p
WHERE p.problem_id = samples.problem_id;

UPDATE samples SET content_hash = md5(concat_ws(chr(31),
        coalesce(reasoning, chr(0)), coalesce(content, chr(0)), coalesce(finish_reason, chr(0)), chr(0), chr(0)))
WHERE content_hash IS NULL;

CREATE OR REPLACE VIEW verdict_current AS
SELECT * EXCLUDE (rn) FROM (
SELECT v.*,
       TRY_CAST(regexp_extract(v.verifier, '^sympy/([0-9]+)', 1) AS INTEGER) AS verifier_version,
       TRY_CAST(regexp_extract(v.verifier, '^sympy/([0-9]+)', 1) AS INTEGER) < (
           SELECT max(TRY_CAST(regexp_extract(n.verifier, '^sympy/([0-9]+)', 1) AS INTEGER))
           FROM (SELECT DISTINCT verifier FROM verdicts) n WHERE n.verifier NOT LIKE 'judge:%'
       ) AS older_version,
       row_number() OVER (
           PARTITION BY v.sample_id
           ORDER BY TRY_CAST(regexp_extract(v.verifier, '^sympy/([0-9]+)', 1) AS INTEGER) DESC NULLS LAST,
                    (v.verifier LIKE '%+strict-form'), v.created_at DESC, v.verifier DESC) AS rn
FROM verdicts v
LEFT JOIN samples s ON s.sample_id = v.sample_id
WHERE v.verifier NOT LIKE 'judge:%'
  AND (v.content_hash IS NULL OR v.content_hash = s.content_hash)
) WHERE rn = 1;
