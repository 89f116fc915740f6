"""The review app's SQL, as plain functions over an open `Store` (tests call them directly).

Tables read: problems, samples, verdicts (view verdict_current and the judge's rows), scores,
selections, review_events (view review_current). Table written: review_events, append-only:
a decision is a new row and undo is a new 'revert' row naming the event it takes back.
Verdicts, scores and selections may be empty (their stages not run yet): every join to them
is a LEFT JOIN and a missing value reaches the app as None.

A reviewer's own current decision on a sample is their newest event that is neither a revert
nor reverted (a skip counts: it marks the sample seen). The store-wide current decision is the
view review_current (skips left out).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import duckdb
import polars as pl

from db import BadInput, Store

QUEUES = ("pending", "all", "flagged", "disagreements")
DECISIONS = ("accept", "reject", "flag", "skip")
JUDGEMENTS = ("accept", "reject", "flag")  # the decisions agreement is measured on (skip is no judgement)

# Live (not reverted, not revert) events; {reviewer_filter} narrows to one reviewer.
_LIVE_EVENTS = """
    SELECT e.* FROM review_events e
    WHERE e.decision <> 'revert' {reviewer_filter}
      AND e.event_id NOT IN (SELECT reverts_event_id FROM review_events WHERE reverts_event_id IS NOT NULL)
"""

# Each reviewer's current decision per sample (skip included).
REVIEWER_CURRENT = f"""
    SELECT sample_id, reviewer, decision, note, corrected_answer, event_id FROM (
        SELECT l.*, row_number() OVER (PARTITION BY l.sample_id, l.reviewer ORDER BY l.event_id DESC) AS rn
        FROM ({_LIVE_EVENTS.format(reviewer_filter='')}) l
    ) WHERE rn = 1
"""

# Every column a --filter may use, one row per sample. Heavy text columns (question, reasoning,
# content) are here for filters only; DuckDB reads them only when a filter names them.
_QUEUE_BASE = """
WITH mine AS (
    SELECT sample_id, decision FROM (
        SELECT l.sample_id, l.decision,
               row_number() OVER (PARTITION BY l.sample_id ORDER BY l.event_id DESC) AS rn
        FROM ({live_mine}) l
    ) WHERE rn = 1
),
reviewers AS (
    SELECT sample_id, count(DISTINCT reviewer) AS n_reviewers FROM ({live_all}) GROUP BY sample_id
),
sel AS (SELECT sample_id, min(rank) AS selection_rank FROM selections GROUP BY sample_id),
judge AS (
    SELECT sample_id, arg_max(verdict, created_at) AS judge_verdict
    FROM verdicts WHERE verifier LIKE 'judge:%' GROUP BY sample_id
),
base AS (
    SELECT s.sample_id, s.problem_id, s.model, s.sample_index, s.status, s.finish_reason,
           s.completion_tokens, s.reasoning_tokens, s.reasoning, s.content,
           p.source, p.split, p.section, p.year, p.question, p.gold_answer,
           v.verdict, v.answer, v.form_ok, j.judge_verdict,
           sc.length_tokens, sc.length_words, sc.agreement, sc.repetition_ratio, sc.cluster,
           sel.selection_rank, sel.sample_id IS NOT NULL AS selected,
           r.decision, r.reviewer AS decided_by, coalesce(n.n_reviewers, 0) AS n_reviewers,
           m.decision AS my_decision
    FROM samples s
    LEFT JOIN problems p ON p.problem_id = s.problem_id
    LEFT JOIN verdict_current v ON v.sample_id = s.sample_id
    LEFT JOIN judge j ON j.sample_id = s.sample_id
    LEFT JOIN scores sc ON sc.sample_id = s.sample_id
    LEFT JOIN sel ON sel.sample_id = s.sample_id
    LEFT JOIN review_current r ON r.sample_id = s.sample_id
    LEFT JOIN reviewers n ON n.sample_id = s.sample_id
    LEFT JOIN mine m ON m.sample_id = s.sample_id
)
"""

# The light columns the app keeps for the whole queue (the rest comes with a sample's details;
# leaving verdicts and decisions out here lets DuckDB skip work on 100,000-sample queues).
QUEUE_COLUMNS = ("sample_id", "problem_id", "model", "sample_index", "selected", "my_decision")
# Columns a filter can name (documented in the README and the filter dialog).
FILTER_COLUMNS = (
    "sample_id", "problem_id", "model", "sample_index", "status", "finish_reason", "completion_tokens",
    "reasoning_tokens", "reasoning", "content", "source", "split", "section", "year", "question",
    "gold_answer", "verdict", "answer", "form_ok", "judge_verdict", "length_tokens", "length_words",
    "agreement", "repetition_ratio", "cluster", "selection_rank", "selected", "decision", "decided_by",
    "n_reviewers", "my_decision",
)

_QUEUE_WHERE = {
    "pending": "(my_decision IS NULL OR my_decision = 'skip')",
    "all": "TRUE",
    "flagged": "decision = 'flag'",
    "disagreements": (
        "((verdict = 'correct' AND decision = 'reject') OR (verdict = 'incorrect' AND decision = 'accept')"
        " OR (judge_verdict IS NOT NULL AND verdict IS NOT NULL AND judge_verdict <> verdict))"
    ),
}
# Selected samples first (by problem, then rank), then the rest; skipped ones last in `pending`.
_QUEUE_ORDER = {
    "pending": "coalesce(my_decision = 'skip', FALSE), NOT selected, problem_id, selection_rank NULLS LAST, model, sample_index, sample_id",
}
_DEFAULT_ORDER = "NOT selected, problem_id, selection_rank NULLS LAST, model, sample_index, sample_id"


def queue_sql(kind: str, where: str | None) -> str:
    """The query listing one queue's samples in review order; parameters: $reviewer."""
    if kind not in QUEUES:
        raise BadInput(f"unknown queue {kind!r}; use one of {', '.join(QUEUES)}", field="--queue")
    user_filter = f"AND ({where}\n)" if where and where.strip() else ""
    return (
        _QUEUE_BASE.format(
            live_mine=_LIVE_EVENTS.format(reviewer_filter="AND e.reviewer = $reviewer"),
            live_all=_LIVE_EVENTS.format(reviewer_filter="AND e.decision <> 'skip'"),
        )
        + f"SELECT {', '.join(QUEUE_COLUMNS)} FROM base WHERE {_QUEUE_WHERE[kind]} {user_filter}\n"
        + f"ORDER BY {_QUEUE_ORDER.get(kind, _DEFAULT_ORDER)}"
    )


def load_queue(store: Store, reviewer: str, kind: str = "pending", where: str | None = None) -> pl.DataFrame:
    """The queue's light columns in review order; a filter SQL error is bad input."""
    check_filter(store, reviewer, kind, where)
    return store.query(queue_sql(kind, where), {"reviewer": reviewer})


def check_filter(store: Store, reviewer: str, kind: str, where: str | None) -> None:
    """Fail with bad input now, before the app starts, when the queue or filter cannot run."""
    try:
        store.query(f"SELECT * FROM ({queue_sql(kind, where)}) LIMIT 0", {"reviewer": reviewer})
    except (duckdb.ParserException, duckdb.BinderException, duckdb.CatalogException, duckdb.ConversionException) as error:
        first_line = str(error).splitlines()[0]
        raise BadInput(f"{first_line} (columns: {', '.join(FILTER_COLUMNS)})", field="--filter") from error


def resume_index(queue: pl.DataFrame) -> int:
    """Where this reviewer stopped: the first sample they have not touched, else the start."""
    if queue.height == 0:
        return 0
    untouched = queue.with_row_index("i").filter(pl.col("my_decision").is_null())
    return int(untouched["i"][0]) if untouched.height else 0


@dataclass(frozen=True)
class SampleDetail:
    """What the main view shows for one sample."""

    sample_id: str
    problem_id: str
    sample: dict  # the samples row plus the problem's question, gold_answer, source, year, section
    verdicts: list[dict]  # every verifier's row, SymPy and judges
    scores: dict | None
    events: list[dict]  # this sample's review events, oldest first
    siblings: list[dict]  # every sample of the problem, this one included

    @property
    def verdict(self) -> dict | None:
        """The current SymPy verdict (the verdict_current rule: newest non-judge row)."""
        own = [v for v in self.verdicts if not str(v["verifier"]).startswith("judge:")]
        return max(own, key=lambda v: (v["created_at"], v["verifier"])) if own else None

    @property
    def judge_verdicts(self) -> list[dict]:
        return [v for v in self.verdicts if str(v["verifier"]).startswith("judge:")]


# The samples of some problems with their current verdict and decision. The rules of the views
# verdict_current and review_current are applied to these samples' rows only: the views rank
# every row of the store first, which costs a full scan per sample shown.
_SIBLINGS = """
WITH sib AS (
    SELECT problem_id, sample_id, model, sample_index, status FROM samples
    WHERE problem_id IN (SELECT unnest($problems))
),
v AS (
    SELECT * FROM (
        SELECT sample_id, verdict, answer,
               row_number() OVER (PARTITION BY sample_id ORDER BY created_at DESC, verifier DESC) AS rn
        FROM verdicts WHERE sample_id IN (SELECT sample_id FROM sib) AND verifier NOT LIKE 'judge:%'
    ) WHERE rn = 1
),
e AS (SELECT * FROM review_events WHERE sample_id IN (SELECT sample_id FROM sib)),
r AS (
    SELECT * FROM (
        SELECT sample_id, decision, row_number() OVER (PARTITION BY sample_id ORDER BY event_id DESC) AS rn
        FROM e WHERE decision NOT IN ('revert', 'skip')
          AND event_id NOT IN (SELECT reverts_event_id FROM e WHERE reverts_event_id IS NOT NULL)
    ) WHERE rn = 1
)
SELECT sib.problem_id, sib.sample_id, sib.model, sib.sample_index, sib.status, v.verdict, v.answer, sc.cluster, r.decision
FROM sib
LEFT JOIN v ON v.sample_id = sib.sample_id
LEFT JOIN scores sc ON sc.sample_id = sib.sample_id
LEFT JOIN r ON r.sample_id = sib.sample_id
ORDER BY sib.problem_id, sib.model, sib.sample_index, sib.sample_id
"""


def sample_details(store: Store, sample_ids: list[str]) -> list[SampleDetail]:
    """Full text and context of the given samples (unknown ids are left out), in the given order."""
    if not sample_ids:
        return []
    ids = {"ids": list(sample_ids)}
    rows = store.query(
        "SELECT s.*, p.question, p.gold_answer, p.source, p.source_id, p.year, p.section "
        "FROM samples s LEFT JOIN problems p ON p.problem_id = s.problem_id WHERE s.sample_id IN (SELECT unnest($ids))",
        ids,
    ).to_dicts()
    verdicts = store.query(
        "SELECT sample_id, verifier, answer, answer_source, verdict, reason, form_ok, form_reason, created_at "
        "FROM verdicts WHERE sample_id IN (SELECT unnest($ids)) ORDER BY verifier",
        ids,
    ).to_dicts()
    scores = store.query(
        "SELECT * FROM scores WHERE sample_id IN (SELECT unnest($ids))", ids
    ).to_dicts()
    events = store.query(
        "SELECT event_id, sample_id, reviewer, decision, note, corrected_answer, reverts_event_id "
        "FROM review_events WHERE sample_id IN (SELECT unnest($ids)) ORDER BY event_id",
        ids,
    ).to_dicts()
    siblings: dict[str, list[dict]] = {}
    problems = list(dict.fromkeys(row["problem_id"] for row in rows))
    for sibling in store.query(_SIBLINGS, {"problems": problems}).to_dicts():
        siblings.setdefault(sibling.pop("problem_id"), []).append(sibling)
    by_id = {row["sample_id"]: row for row in rows}
    details = []
    for sample_id in sample_ids:
        row = by_id.get(sample_id)
        if row is None:
            continue
        details.append(
            SampleDetail(
                sample_id=sample_id,
                problem_id=row["problem_id"],
                sample=row,
                verdicts=[v for v in verdicts if v["sample_id"] == sample_id],
                scores=next((s for s in scores if s["sample_id"] == sample_id), None),
                events=[e for e in events if e["sample_id"] == sample_id],
                siblings=siblings[row["problem_id"]],
            )
        )
    return details


def record_decision(
    store: Store, sample_id: str, reviewer: str, decision: str, note: str | None = None, corrected_answer: str | None = None
) -> int:
    """Append one decision event; returns its event_id."""
    if decision not in DECISIONS:
        raise BadInput(f"unknown decision {decision!r}; use one of {', '.join(DECISIONS)}", field="decision")
    if not reviewer:
        raise BadInput("a decision needs a reviewer name", field="--reviewer")
    with store.transaction():
        if store.scalar("SELECT count(*) FROM samples WHERE sample_id = ?", [sample_id]) == 0:
            raise BadInput(f"no sample {sample_id!r} in the store", field="sample_id")
        return int(
            store.scalar(
                "INSERT INTO review_events (sample_id, reviewer, decision, note, corrected_answer) "
                "VALUES (?, ?, ?, ?, ?) RETURNING event_id",
                [sample_id, reviewer, decision, note or None, corrected_answer or None],
            )
        )


@dataclass(frozen=True)
class Reverted:
    revert_event_id: int
    reverted_event_id: int
    sample_id: str
    decision: str  # the decision taken back


def undo_latest(store: Store, reviewer: str) -> Reverted | None:
    """Append a revert of this reviewer's latest live decision; None when there is nothing to undo."""
    with store.transaction():
        latest = store.execute(
            _LIVE_EVENTS.format(reviewer_filter="AND e.reviewer = ?") + " ORDER BY e.event_id DESC LIMIT 1",
            [reviewer],
        ).fetchone()
        if latest is None:
            return None
        columns = [d[0] for d in store.con.description]
        event = dict(zip(columns, latest))
        revert_id = store.scalar(
            "INSERT INTO review_events (sample_id, reviewer, decision, reverts_event_id) "
            "VALUES (?, ?, 'revert', ?) RETURNING event_id",
            [event["sample_id"], reviewer, event["event_id"]],
        )
    return Reverted(int(revert_id), int(event["event_id"]), event["sample_id"], event["decision"])


@dataclass(frozen=True)
class Progress:
    """Per-reviewer counts of current decisions, and the store's sample count."""

    reviewer: str
    total_samples: int
    mine: dict[str, int]  # decision -> samples, for this reviewer
    others: dict[str, int]  # other reviewer -> samples decided (skips left out)

    @property
    def decided(self) -> int:
        return sum(n for decision, n in self.mine.items() if decision != "skip")


def progress(store: Store, reviewer: str) -> Progress:
    counts = store.query(
        f"SELECT reviewer, decision, count(*) AS n FROM ({REVIEWER_CURRENT}) GROUP BY ALL ORDER BY ALL"
    )
    mine = {row["decision"]: row["n"] for row in counts.filter(pl.col("reviewer") == reviewer).to_dicts()}
    others: dict[str, int] = {}
    for row in counts.filter((pl.col("reviewer") != reviewer) & (pl.col("decision") != "skip")).to_dicts():
        others[row["reviewer"]] = others.get(row["reviewer"], 0) + row["n"]
    return Progress(reviewer, int(store.scalar("SELECT count(*) FROM samples")), mine, others)


# ---- `curate review --stats` ------------------------------------------------------------------

def decision_counts(store: Store) -> pl.DataFrame:
    """One row per reviewer: samples per current decision, and events written."""
    current = store.query(f"SELECT reviewer, decision FROM ({REVIEWER_CURRENT})")
    events = store.query("SELECT reviewer, count(*) AS events FROM review_events GROUP BY reviewer")
    if events.height == 0:
        return pl.DataFrame(schema={"reviewer": pl.String, **{d: pl.Int64 for d in DECISIONS}, "events": pl.Int64})
    counts = [
        current.group_by("reviewer").agg((pl.col("decision") == decision).sum().cast(pl.Int64).alias(decision))
        for decision in DECISIONS
    ]
    table = events.select("reviewer")
    for frame in counts:
        table = table.join(frame, on="reviewer", how="left")
    return table.join(events, on="reviewer", how="left").fill_null(0).sort("reviewer")


@dataclass(frozen=True)
class Agreement:
    samples_multi: int  # samples with judgements from 2+ reviewers
    samples_agreed: int  # of those, samples where every reviewer gave the same decision
    pairs: list[dict]  # per pair of reviewers: reviewer_a, reviewer_b, samples, agreed, kappa

    @property
    def share(self) -> float | None:
        return self.samples_agreed / self.samples_multi if self.samples_multi else None


def agreement(store: Store) -> Agreement:
    """Reviewer agreement on accept/reject/flag: share of multi-reviewer samples agreed, and
    Cohen's kappa for every pair of reviewers over the samples both judged."""
    judged = store.query(
        f"SELECT sample_id, reviewer, decision FROM ({REVIEWER_CURRENT}) WHERE decision IN ('accept', 'reject', 'flag')"
    )
    per_sample = judged.group_by("sample_id").agg(
        pl.col("reviewer").n_unique().alias("n"), pl.col("decision").n_unique().alias("distinct")
    )
    multi = per_sample.filter(pl.col("n") >= 2)
    pairs = []
    reviewers = sorted(judged["reviewer"].unique().to_list())
    for a, b in combinations(reviewers, 2):
        both = (
            judged.filter(pl.col("reviewer") == a).select("sample_id", pl.col("decision").alias("a"))
            .join(judged.filter(pl.col("reviewer") == b).select("sample_id", pl.col("decision").alias("b")), on="sample_id")
        )
        if both.height:
            labels_a, labels_b = both["a"].to_list(), both["b"].to_list()
            pairs.append({
                "reviewer_a": a, "reviewer_b": b, "samples": both.height,
                "agreed": sum(x == y for x, y in zip(labels_a, labels_b)),
                "kappa": cohens_kappa(labels_a, labels_b),
            })
    return Agreement(multi.height, multi.filter(pl.col("distinct") == 1).height, pairs)


def cohens_kappa(labels_a: list[str], labels_b: list[str]) -> float | None:
    """Cohen's kappa of two raters over the same items; None when chance agreement is 1 (undefined)."""
    n = len(labels_a)
    if n == 0 or n != len(labels_b):
        return None
    observed = sum(x == y for x, y in zip(labels_a, labels_b)) / n
    categories = set(labels_a) | set(labels_b)
    expected = sum((labels_a.count(c) / n) * (labels_b.count(c) / n) for c in categories)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)
