-- 005: what `curate score`, `curate dedup` and `curate select` add to the store.

-- The answer each sample was clustered on, its fast canonical key, and its label: correct
-- against gold (the verifier's verdict, else its cluster's match with gold), or, when the
-- problem has no gold, membership of the majority cluster (pseudo_label on the row says which).
ALTER TABLE scores ADD COLUMN answer VARCHAR;
ALTER TABLE scores ADD COLUMN answer_key VARCHAR;
ALTER TABLE scores ADD COLUMN correct BOOLEAN;

-- One row per problem with samples, rewritten by every `curate score`.
CREATE TABLE problem_scores (
    problem_id        VARCHAR PRIMARY KEY,
    n_samples         INTEGER NOT NULL,     -- every sample of the problem, truncated ones included
    n_answered        INTEGER NOT NULL,     -- samples with an extracted final answer
    n_clusters        INTEGER NOT NULL,     -- distinct answers after equivalence
    majority_answer   VARCHAR,
    agreement         DOUBLE,               -- share of all samples in the majority cluster
    runner_up         DOUBLE,               -- share of all samples in the second-largest cluster
    has_gold          BOOLEAN NOT NULL,
    n_correct         INTEGER,              -- against gold; NULL without gold
    pass_rate         DOUBLE,               -- n_correct / n_samples; NULL without gold
    pseudo_label      BOOLEAN NOT NULL,     -- no gold: the majority answer stands in
    difficulty        DOUBLE,               -- 1 - pass_rate, or 1 - agreement without gold
    run_id            VARCHAR,
    created_at        TIMESTAMP NOT NULL DEFAULT current_timestamp
);

-- Problems that repeat another one (exact after normalisation, or near-duplicate text);
-- `duplicate_of` is the problem kept. Rewritten by every `curate dedup`.
CREATE TABLE problem_duplicates (
    problem_id    VARCHAR PRIMARY KEY,
    duplicate_of  VARCHAR NOT NULL,
    method        VARCHAR NOT NULL,         -- exact / fuzzy
    similarity    DOUBLE NOT NULL,          -- 100 for exact, the rapidfuzz ratio otherwise
    run_id        VARCHAR,
    created_at    TIMESTAMP NOT NULL DEFAULT current_timestamp
);

-- Selections side by side: one row per selection set with what it kept.
CREATE VIEW selection_summary AS
SELECT ss.selection_id, ss.policy, ss.n_problems, ss.n_samples,
       round(avg(sc.length_tokens), 1) AS mean_tokens,
       round(avg(CASE WHEN sc.correct THEN 1.0 ELSE 0.0 END), 3) AS share_correct,
       ss.params, ss.created_at
FROM selection_sets ss
LEFT JOIN selections se ON se.selection_id = ss.selection_id
LEFT JOIN scores sc ON sc.sample_id = se.sample_id
GROUP BY ALL;
