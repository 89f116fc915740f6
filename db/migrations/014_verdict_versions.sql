-- 014: a verdict belongs to one verifier version and one revision of its sample.
-- content_hash: md5 of what was verified (reasoning, content, finish reason, gold, question;
-- the expression is curate.verify_stage.CONTENT_HASH_SQL), NULL for verdicts stored before 014.
-- verdict_current takes, per sample, the newest verifier version ("sympy/2" beats "sympy/1"),
-- the plain value check over --strict-form, then the newest row; a verdict whose hash no longer
-- matches its sample (regenerated, gold or question changed) is left out. Every row says its
-- version and whether a newer version exists in the store (older_version), so versions never
-- mix silently.
ALTER TABLE verdicts ADD COLUMN content_hash VARCHAR;

-- One column per EXCLUDE: DuckDB renders a multi-column EXCLUDE list in no fixed order.
CREATE OR REPLACE VIEW verdict_current AS
SELECT * EXCLUDE (rn) FROM (
SELECT * EXCLUDE (newest_version),
       verifier_version < newest_version AS older_version
FROM (
    SELECT v.*,
           TRY_CAST(regexp_extract(v.verifier, '^sympy/([0-9]+)', 1) AS INTEGER) AS verifier_version,
           max(TRY_CAST(regexp_extract(v.verifier, '^sympy/([0-9]+)', 1) AS INTEGER)) OVER () AS newest_version,
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
)) WHERE rn = 1;
