-- 010: verdict_current prefers the plain value check over a `--strict-form` run of the same
-- verifier (stored as "sympy/1+strict-form"), so a strict run does not silently change what
-- other stages see; strict verdicts stay queryable in `verdicts`.
CREATE OR REPLACE VIEW verdict_current AS
SELECT * EXCLUDE (rn) FROM (
    SELECT v.*, row_number() OVER (
        PARTITION BY sample_id
        ORDER BY (verifier LIKE '%+strict-form'), created_at DESC, verifier DESC) AS rn
    FROM verdicts v
    WHERE verifier NOT LIKE 'judge:%'
) WHERE rn = 1;
