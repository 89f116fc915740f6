-- 015: `pass_rate` has one meaning in every table and view: correct samples / all samples of
-- the problem (as in `problem_scores` and selection's difficulty; a sample cut off, without
-- an answer or not verified yet counts as not passed). problem_stats used to divide by the
-- verified samples only; that rate keeps its own name, `verified_pass_rate`, beside `n_verified`.
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
LEFT JOIN scores sc ON sc.sample_id = s.sample_id
GROUP BY ALL;
