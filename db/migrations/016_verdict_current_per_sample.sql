-- 016: verdict_current ranks each sample's rows on their own, so a filter on sample_id (the
-- review app asks for a few samples) reaches the verdicts scan and the content-hash check runs
-- on those samples' texts only. In 014 the newest version came from a window over the whole
-- view, which made every query rank, join and md5 every sample's full text (~0.25 s per query
-- at 100,000 samples before any hash was stored). The newest version is now the highest sympy
-- version among all non-judge verdicts, read from the verifier column alone: a newer version
-- counts as existing even when its only verdicts belong to a sample's earlier content.
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
LEFT JOIN problems p ON p.problem_id = s.problem_id
WHERE v.verifier NOT LIKE 'judge:%'
  AND (v.content_hash IS NULL OR v.content_hash = md5(concat_ws(chr(31),
          coalesce(s.reasoning, chr(0)), coalesce(s.content, chr(0)), coalesce(s.finish_reason, chr(0)),
          coalesce(p.gold_answer, chr(0)), coalesce(p.question, chr(0)))))
) WHERE rn = 1;
