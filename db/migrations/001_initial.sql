-- 001: the tables and views of DESIGN.md.
-- Primary keys are deterministic hashes written by the stages, so re-running a stage is idempotent.

CREATE TABLE runs (
    run_id       VARCHAR PRIMARY KEY,
    kind         VARCHAR NOT NULL,          -- ingest, import-samples, generate, verify, score, select, export, train, eval, ...
    config       JSON,
    versions     JSON,
    started_at   TIMESTAMP NOT NULL DEFAULT current_timestamp,
    finished_at  TIMESTAMP,
    status       VARCHAR NOT NULL DEFAULT 'running',   -- running / ok / failed / interrupted
    counts       JSON,
    error        VARCHAR
);

CREATE TABLE problems (
    problem_id   VARCHAR PRIMARY KEY,       -- "{source}:{source_id}", or "{source}:q{hash of the question}" without an id
    source       VARCHAR NOT NULL,
    source_id    VARCHAR,
    question     VARCHAR NOT NULL,
    gold_answer  VARCHAR,                   -- NULL when unknown (consensus curation)
    split        VARCHAR,                   -- train / val / test
    section      VARCHAR,
    year         INTEGER,
    difficulty   VARCHAR,
    meta         JSON,
    question_hash VARCHAR NOT NULL,         -- hash of the normalised question, for matching and exact dedup
    run_id       VARCHAR,
    created_at   TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE samples (
    sample_id         VARCHAR PRIMARY KEY,  -- hash of (problem_id, model, params_hash, sample_index)
    problem_id        VARCHAR NOT NULL,
    model             VARCHAR NOT NULL,
    params_hash       VARCHAR NOT NULL,     -- hash of every generation parameter that changes the output
    sample_index      INTEGER NOT NULL,
    params            JSON,
    prompt            VARCHAR,
    reasoning         VARCHAR,
    content           VARCHAR,
    finish_reason     VARCHAR,
    status            VARCHAR NOT NULL,     -- ok / truncated / empty / error
    error             VARCHAR,
    prompt_tokens     INTEGER,
    completion_tokens INTEGER,
    reasoning_tokens  INTEGER,
    latency_s         DOUBLE,
    cost_usd          DOUBLE,
    endpoint          VARCHAR,
    run_id            VARCHAR,
    created_at        TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE verdicts (
    sample_id     VARCHAR NOT NULL,
    verifier      VARCHAR NOT NULL,         -- e.g. "sympy/1" or "judge:MODEL"
    answer        VARCHAR,                  -- the extracted final answer, as written
    answer_source VARCHAR,                  -- boxed / final_answer_phrase / answer_label / bold / last_number / judge
    verdict       VARCHAR NOT NULL,         -- correct / incorrect / unparseable / no_answer / timeout
    reason        VARCHAR,
    form_ok       BOOLEAN,
    form_reason   VARCHAR,
    elapsed_ms    DOUBLE,
    run_id        VARCHAR,
    created_at    TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (sample_id, verifier)
);

CREATE TABLE scores (
    sample_id          VARCHAR PRIMARY KEY,
    problem_id         VARCHAR NOT NULL,
    length_tokens      INTEGER,
    length_words       INTEGER,
    tokenizer          VARCHAR,
    think_closed       BOOLEAN,
    boxed_count        INTEGER,             -- distinct boxed answers in the final content
    repetition_ratio   DOUBLE,
    language_mix_ratio DOUBLE,
    cluster            INTEGER,             -- equivalent-answer class within the problem
    cluster_answer     VARCHAR,
    agreement          DOUBLE,              -- share of the problem's samples in this sample's cluster
    is_majority        BOOLEAN,
    pseudo_label       BOOLEAN,             -- the problem has no gold: the majority answer stands in
    run_id             VARCHAR,
    created_at         TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE selection_sets (
    selection_id VARCHAR PRIMARY KEY,
    policy       VARCHAR NOT NULL,
    params       JSON,
    n_samples    INTEGER,
    n_problems   INTEGER,
    run_id       VARCHAR,
    created_at   TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE selections (
    selection_id VARCHAR NOT NULL,
    policy       VARCHAR NOT NULL,
    sample_id    VARCHAR NOT NULL,
    problem_id   VARCHAR NOT NULL,
    rank         INTEGER NOT NULL,          -- 1 = best within the problem
    PRIMARY KEY (selection_id, sample_id)
);

CREATE SEQUENCE review_event_seq START 1;
CREATE TABLE review_events (
    event_id         BIGINT PRIMARY KEY DEFAULT nextval('review_event_seq'),
    sample_id        VARCHAR NOT NULL,
    reviewer         VARCHAR NOT NULL,
    decision         VARCHAR NOT NULL,      -- accept / reject / flag / skip / revert
    note             VARCHAR,
    corrected_answer VARCHAR,
    reverts_event_id BIGINT,                -- set on 'revert': the event it takes back
    created_at       TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE contamination (
    problem_id    VARCHAR NOT NULL,
    benchmark     VARCHAR NOT NULL,         -- the file or set matched against
    matched_item  VARCHAR NOT NULL,         -- id or line of the benchmark item
    matched_text  VARCHAR,
    method        VARCHAR NOT NULL,         -- exact / ngram / fuzzy
    overlap       DOUBLE NOT NULL,
    run_id        VARCHAR,
    created_at    TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (problem_id, benchmark, matched_item, method)
);

CREATE TABLE exports (
    export_id    VARCHAR PRIMARY KEY,
    path         VARCHAR NOT NULL,
    format       VARCHAR NOT NULL,
    selection_id VARCHAR,
    style        VARCHAR,
    n_train      INTEGER,
    n_val        INTEGER,
    sha256       VARCHAR,
    config       JSON,
    run_id       VARCHAR,
    created_at   TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE train_runs (
    train_run_id   VARCHAR PRIMARY KEY,
    run_id         VARCHAR,
    data_path      VARCHAR,
    model          VARCHAR,
    out_dir        VARCHAR,
    seed           INTEGER,
    config         JSON,
    versions       JSON,
    status         VARCHAR NOT NULL DEFAULT 'running',
    best_step      INTEGER,
    best_val_loss  DOUBLE,
    final_train_loss DOUBLE,
    tokens_seen    BIGINT,
    started_at     TIMESTAMP NOT NULL DEFAULT current_timestamp,
    finished_at    TIMESTAMP
);

CREATE TABLE train_metrics (
    train_run_id VARCHAR NOT NULL,
    step         INTEGER NOT NULL,
    split        VARCHAR NOT NULL,          -- train / val
    loss         DOUBLE,
    lr           DOUBLE,
    grad_norm    DOUBLE,
    tokens       BIGINT,
    tokens_per_s DOUBLE,
    epoch        DOUBLE,
    created_at   TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (train_run_id, step, split)
);

CREATE TABLE eval_runs (
    eval_run_id  VARCHAR PRIMARY KEY,       -- the --name given to `evaluate run`
    model        VARCHAR NOT NULL,
    adapter      VARCHAR,
    backend      VARCHAR NOT NULL,          -- local / openai
    base_url     VARCHAR,
    problems     VARCHAR,                   -- split name or file
    samples      INTEGER,
    seed         INTEGER,
    length_level INTEGER,
    config       JSON,
    status       VARCHAR NOT NULL DEFAULT 'running',
    started_at   TIMESTAMP NOT NULL DEFAULT current_timestamp,
    finished_at  TIMESTAMP
);

CREATE TABLE eval_samples (
    eval_run_id   VARCHAR NOT NULL,
    problem_id    VARCHAR NOT NULL,
    sample_index  INTEGER NOT NULL,
    prompt        VARCHAR,
    reasoning     VARCHAR,
    content       VARCHAR,
    finish_reason VARCHAR,
    completion_tokens INTEGER,
    words         INTEGER,
    answer        VARCHAR,
    verdict       VARCHAR,
    form_ok       BOOLEAN,
    correct       BOOLEAN,
    latency_s     DOUBLE,
    created_at    TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (eval_run_id, problem_id, sample_index)
);

-- The newest SymPy verdict per sample (judge verdicts, verifier 'judge:*', stay beside it in verdicts).
CREATE VIEW verdict_current AS
SELECT * EXCLUDE (rn) FROM (
    SELECT v.*, row_number() OVER (PARTITION BY sample_id ORDER BY created_at DESC, verifier DESC) AS rn
    FROM verdicts v
    WHERE verifier NOT LIKE 'judge:%'
) WHERE rn = 1;

-- Current review decision per sample: the newest event that is neither a revert nor reverted, nor a skip.
CREATE VIEW review_current AS
SELECT * EXCLUDE (rn) FROM (
    SELECT e.*, row_number() OVER (PARTITION BY e.sample_id ORDER BY e.event_id DESC) AS rn
    FROM review_events e
    WHERE e.decision NOT IN ('revert', 'skip')
      AND e.event_id NOT IN (SELECT reverts_event_id FROM review_events WHERE reverts_event_id IS NOT NULL)
) WHERE rn = 1;

-- Per-problem statistics over teacher samples.
CREATE VIEW problem_stats AS
SELECT
    p.problem_id, p.source, p.split, p.section, p.year, p.gold_answer,
    count(s.sample_id) AS n_samples,
    count(*) FILTER (WHERE v.verdict = 'correct') AS n_correct,
    CASE WHEN count(v.sample_id) > 0
         THEN (count(*) FILTER (WHERE v.verdict = 'correct'))::DOUBLE / count(v.sample_id) END AS pass_rate,
    max(sc.cluster_answer) FILTER (WHERE sc.is_majority) AS majority_answer,
    max(sc.agreement) FILTER (WHERE sc.is_majority) AS agreement
FROM problems p
LEFT JOIN samples s ON s.problem_id = p.problem_id
LEFT JOIN verdict_current v ON v.sample_id = s.sample_id
LEFT JOIN scores sc ON sc.sample_id = s.sample_id
GROUP BY ALL;

-- Best trace per problem: the shortest correct, complete sample no reviewer rejected.
CREATE VIEW best_trace AS
SELECT * EXCLUDE (rn) FROM (
    SELECT s.problem_id, s.sample_id, s.model, sc.length_tokens, v.answer,
           row_number() OVER (PARTITION BY s.problem_id
                              ORDER BY sc.length_tokens NULLS LAST, length(coalesce(s.reasoning, '') || coalesce(s.content, '')), s.sample_id) AS rn
    FROM samples s
    JOIN verdict_current v ON v.sample_id = s.sample_id AND v.verdict = 'correct'
    LEFT JOIN scores sc ON sc.sample_id = s.sample_id
    LEFT JOIN review_current r ON r.sample_id = s.sample_id
    WHERE s.status = 'ok' AND coalesce(r.decision, '') <> 'reject'
) WHERE rn = 1;
