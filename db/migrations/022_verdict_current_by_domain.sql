-- 022: verdict_current reads every checker family, not only SymPy's: a verifier name is
-- FAMILY/NUMBER[+suffix] ("sympy/4", "sympy/4+strict-form", "code/1", "sql/1", "choice/1"), and a
-- row is older_version when its family has a higher number among the non-judge verdicts. Up to 021
-- the version was read with '^sympy/', so a code/1 row had verifier_version and older_version NULL
-- and lost the ranking to any sympy row. As in 016 the newest number per family comes from
-- `SELECT DISTINCT verifier FROM verdicts` (a few names, ranked there), not from a window over the
-- whole view, so a sample_id filter still reaches the verdicts scan; the names join on the
-- verifier column, so no verdict row is parsed. A sample's rows rank as before within their family
-- (newest version, the non-strict name first, newest row); a row of a family's current version
-- ranks above an older version of any family, and judge rows stay out.
CREATE OR REPLACE VIEW verdict_current AS
SELECT * EXCLUDE (rn) FROM (
SELECT v.*,
       n.number AS verifier_version,
       n.older AS older_version,
       row_number() OVER (
           PARTITION BY v.sample_id
           ORDER BY n.older NULLS LAST, n.number DESC NULLS LAST,
                    (v.verifier LIKE '%+strict-form'), v.created_at DESC, v.verifier DESC) AS rn
FROM verdicts v
LEFT JOIN samples s ON s.sample_id = v.sample_id
LEFT JOIN (
    SELECT verifier, number, number < max(number) OVER (PARTITION BY family) AS older
    FROM (
        SELECT verifier, regexp_extract(verifier, '^([a-z]+)/([0-9]+)', 1) AS family,
               TRY_CAST(regexp_extract(verifier, '^([a-z]+)/([0-9]+)', 2) AS INTEGER) AS number
        FROM (SELECT DISTINCT verifier FROM verdicts) WHERE verifier NOT LIKE 'judge:%'
    )
) n ON n.verifier = v.verifier
WHERE v.verifier NOT LIKE 'judge:%'
  AND (v.content_hash IS NULL OR v.content_hash = s.content_hash)
) WHERE rn = 1;
