-- 020: process checks. A step checker (curate.verify.check_steps, checker "steps/N") or a judge
-- model (`curate judge --steps`, checker "judge:MODEL") reads one sample's text
-- (curate.traces.full_response: "<think>" reasoning "</think>" content) and finds the claims in it.
--
-- step_check_samples: one row per (sample, checker) that was checked, with the content hash of
-- the sample it read (samples.content_hash, db.store.CONTENT_HASH_SQL) and how many claims it
-- found, so a sample with no checkable claim is checked too, not pending forever.
-- step_checks: one row per claim: its place in the text (claim_start, claim_end: character
-- offsets of StepCheck.start and .end), the text checked, status ok / wrong / unchecked,
-- retracted (the trace takes the claim back itself), and the reason. A recheck of a sample
-- replaces both tables' rows of its checker in one transaction.
-- No primary key on step_checks: DuckDB's key index would hold every claim in memory, and
-- rows are only ever written per (sample, checker) after deleting that pair's old ones.
CREATE TABLE step_check_samples (
    sample_id    VARCHAR NOT NULL,
    checker      VARCHAR NOT NULL,          -- "steps/1" or "judge:MODEL"
    content_hash VARCHAR NOT NULL,          -- samples.content_hash of the text read
    claims       INTEGER NOT NULL,          -- rows in step_checks for this pair
    elapsed_ms   DOUBLE,
    run_id       VARCHAR,
    created_at   TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (sample_id, checker)
);

CREATE TABLE step_checks (
    sample_id    VARCHAR NOT NULL,
    checker      VARCHAR NOT NULL,
    claim_index  INTEGER NOT NULL,          -- 0-based, in text order
    claim_start  INTEGER NOT NULL,          -- offset of the claim in full_response(reasoning, content)
    claim_end    INTEGER NOT NULL,
    claim        VARCHAR NOT NULL,
    status       VARCHAR NOT NULL,          -- ok / wrong / unchecked
    retracted    BOOLEAN NOT NULL,
    reason       VARCHAR,
    content_hash VARCHAR NOT NULL,
    run_id       VARCHAR,
    created_at   TIMESTAMP NOT NULL DEFAULT current_timestamp
);

-- One row per sample and checker whose check belongs to the sample's current content (a
-- regenerated sample, or a changed gold or question, leaves its old checks out: pending again).
-- claims: claims found; checked: those settled (ok or wrong); wrong: wrong claims, retracted
-- ones included; wrong_unretracted: wrong claims the trace does not take back (errors in the
-- trace); first_wrong_offset: claim_start of the first of those (NULL when none).
-- older_version: a "steps/N" row of a sample that also has a current row of a higher N.
CREATE VIEW step_check_summary AS
SELECT *,
       coalesce(TRY_CAST(regexp_extract(checker, '^steps/([0-9]+)', 1) AS INTEGER) < max(
           TRY_CAST(regexp_extract(checker, '^steps/([0-9]+)', 1) AS INTEGER)) OVER (PARTITION BY sample_id),
           FALSE) AS older_version
FROM (
    SELECT c.sample_id, c.checker, c.content_hash,
           c.claims,
           count(k.status) FILTER (WHERE k.status IN ('ok', 'wrong')) AS checked,
           count(k.status) FILTER (WHERE k.status = 'wrong') AS wrong,
           count(k.status) FILTER (WHERE k.status = 'wrong' AND NOT k.retracted) AS wrong_unretracted,
           min(k.claim_start) FILTER (WHERE k.status = 'wrong' AND NOT k.retracted) AS first_wrong_offset,
           c.run_id, c.created_at
    FROM step_check_samples c
    JOIN samples s ON s.sample_id = c.sample_id AND s.content_hash = c.content_hash
    LEFT JOIN step_checks k
           ON k.sample_id = c.sample_id AND k.checker = c.checker AND k.content_hash = c.content_hash
    GROUP BY c.sample_id, c.checker, c.content_hash, c.claims, c.run_id, c.created_at
);

-- One row per checked sample: its current checks summed over checkers, a "steps/N" row of an
-- older version left out. Selection, export, stats and review read a trace's flag from here:
-- wrong_unretracted > 0 means some checker found an error the trace does not take back.
CREATE VIEW step_flags AS
SELECT sample_id,
       count(*) AS checkers,
       sum(claims) AS claims,
       sum(wrong_unretracted) AS wrong_unretracted,
       min(first_wrong_offset) AS first_wrong_offset,
       string_agg(checker, ', ' ORDER BY checker) FILTER (WHERE wrong_unretracted > 0) AS flagged_by
FROM step_check_summary
WHERE NOT older_version
GROUP BY sample_id;
