"""The review app's SQL, as plain functions over an open `Store` (tests call them directly).

Tables read: problems, samples, verdicts (views verdict_current and judge_current), scores,
selections, review_events (views review_live, review_reviewer_current, review_current). Table
written: review_events, append-only: a decision is a new row and undo is a new 'revert' row
naming the event it takes back (every event of a bulk accept's batch); each row stores the
sample's content_hash at that moment.
Verdicts, scores and selections may be empty (their stages not run yet): every join to them
is a LEFT JOIN and a missing value reaches the app as None.

A reviewer's own current decision on a sample is their newest event that is neither a revert
nor reverted (a skip counts: it marks the sample seen). The store-wide current decision is the
view review_current (skips left out; none once the sample's content changed since, migration 023).
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

# The live-events rule (a decision not taken back by a revert) lives in the views of migration
# 011: review_live, review_reviewer_current (each reviewer's current decision, skip included)
# and review_current (store-wide, skips left out).
REVIEWER_CURRENT = "SELECT sample_id, reviewer, decision, note, corrected_answer, event_id FROM review_reviewer_current"

# Every column a --filter may use, one row per sample. Heavy text columns (question, reasoning,
# content) are here for filters only; DuckDB reads them only when a filter names them.
_QUEUE_BASE = """
WITH mine AS (SELECT sample_id, decision FROM review_reviewer_current WHERE reviewer = $reviewer),
reviewers AS (
    SELECT sample_id, count(DISTINCT reviewer) AS n_reviewers FROM review_live WHERE decision <> 'skip' GROUP BY sample_id
),
sel AS (SELECT sample_id, min(rank) AS selection_rank FROM selections GROUP BY sample_id),
judge AS (
    SELECT sample_id, arg_max(verdict, created_at) AS judge_verdict FROM judge_current GROUP BY sample_id
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

# The same rows with only what the unfiltered pending and all queues read: the verdict,
# judge, score and decision views are left out, so the first screen does not rank and
# hash-check every sample's verdict (verdict_current) before showing one.
_LIGHT_BASE = """
WITH mine AS (SELECT sample_id, decision FROM review_reviewer_current WHERE reviewer = $reviewer),
sel AS (SELECT sample_id, min(rank) AS selection_rank FROM selections GROUP BY sample_id),
base AS (
    SELECT s.sample_id, s.problem_id, s.model, s.sample_index,
           sel.selection_rank, sel.sample_id IS NOT NULL AS selected, m.decision AS my_decision
    FROM samples s
    LEFT JOIN sel ON sel.sample_id = s.sample_id
    LEFT JOIN mine m ON m.sample_id = s.sample_id
)
"""
_LIGHT_QUEUES = ("pending", "all")

# The light columns the app keeps for the whole queue (the rest comes with a sample's details;
# leaving verdicts and decisions out here lets DuckDB skip work on 100,000-sample queues).
QUEUE_COLUMNS = ("sample_id", "problem_id", "model", "sample_index", "selected", "my_decision")
# Columns a filter can name (documented in docs/GUIDE.md and the filter dialog).
FILTER_COLUMNS = (
    "sample_id",
    "problem_id",
    "model",
    "sample_index",
    "status",
    "finish_reason",
    "completion_tokens",
    "reasoning_tokens",
    "reasoning",
    "content",
    "source",
    "split",
    "section",
    "year",
    "question",
    "gold_answer",
    "verdict",
    "answer",
    "form_ok",
    "judge_verdict",
    "length_tokens",
    "length_words",
    "agreement",
    "repetition_ratio",
    "cluster",
    "selection_rank",
    "selected",
    "decision",
    "decided_by",
    "n_reviewers",
    "my_decision",
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
# Problem ids in natural order: "x:2" before "x:10" (the text before a trailing number, then the
# number); ids without a trailing number sort as text.
PROBLEM_ORDER = (
    "regexp_replace(problem_id, '[0-9]+$', ''), "
    "TRY_CAST(regexp_extract(problem_id, '[0-9]+$') AS HUGEINT) NULLS FIRST, problem_id"
)
# Selected samples first (by problem, then rank), then the rest; skipped ones last in `pending`.
_DEFAULT_ORDER = f"NOT selected, {PROBLEM_ORDER}, selection_rank NULLS LAST, model, sample_index, sample_id"
_QUEUE_ORDER = {"pending": f"coalesce(my_decision = 'skip', FALSE), {_DEFAULT_ORDER}"}


def queue_sql(kind: str, where: str | None) -> str:
    """The query listing one queue's samples in review order; parameters: $reviewer."""
    if kind not in QUEUES:
        raise BadInput(f"unknown queue {kind!r}; use one of {', '.join(QUEUES)}", field="--queue")
    user_filter = f"AND ({where}\n)" if where and where.strip() else ""
    base = _LIGHT_BASE if kind in _LIGHT_QUEUES and not user_filter else _QUEUE_BASE
    return (
        base
        + f"SELECT {', '.join(QUEUE_COLUMNS)} FROM base WHERE {_QUEUE_WHERE[kind]} {user_filter}\n"
        + f"ORDER BY {_QUEUE_ORDER.get(kind, _DEFAULT_ORDER)}"
    )


def still_listed(store: Store, reviewer: str, kind: str, where: str | None, sample_ids: list[str]) -> set[str]:
    """Which of these samples the queue, under its filter, lists now (a decision may take a
    sample out of it: pending once decided, flagged once accepted, a filter on `decision`)."""
    sql = f"SELECT sample_id FROM ({queue_sql(kind, where)}) WHERE list_contains($ids, sample_id)"
    return set(store.query(sql, {"reviewer": reviewer, "ids": list(sample_ids)})["sample_id"].to_list())


def queue_counts(store: Store, reviewer: str, where: str | None = None) -> dict[str, int]:
    """Samples in each queue (under the filter, if any), in one pass."""
    user_filter = f"WHERE ({where}\n)" if where and where.strip() else ""
    counts = ", ".join(f"count(*) FILTER (WHERE {_QUEUE_WHERE[kind]}) AS {kind}" for kind in QUEUES)
    row = store.query(_QUEUE_BASE + f"SELECT {counts} FROM base {user_filter}", {"reviewer": reviewer}).row(
        0, named=True
    )
    return {kind: int(row[kind]) for kind in QUEUES}


def load_queue(
    store: Store, reviewer: str, kind: str = "pending", where: str | None = None, limit: int | None = None
) -> pl.DataFrame:
    """The queue's light columns in review order, its first `limit` rows when given; a filter
    SQL error is bad input."""
    first = f"\nLIMIT {int(limit)}" if limit is not None else ""
    sql = queue_sql(kind, where) + first
    try:
        return store.query(sql, {"reviewer": reviewer})
    except _FILTER_ERRORS as error:  # checked here, not by a query before it: at 1M samples each costs
        raise _bad_filter(error) from error


def check_filter(store: Store, reviewer: str, kind: str, where: str | None) -> None:
    """Fail with bad input now, before the app starts, when the queue or filter cannot run."""
    sql = queue_sql(kind, where)  # an unknown queue is bad input
    if not (where and where.strip()):
        return  # no SQL of the user's: nothing to run (at 1M samples the query costs 0.3 s)
    try:
        store.query(f"SELECT * FROM ({sql}) LIMIT 0", {"reviewer": reviewer})
    except _FILTER_ERRORS as error:
        raise _bad_filter(error) from error


_FILTER_ERRORS = (duckdb.ParserException, duckdb.BinderException, duckdb.CatalogException, duckdb.ConversionException)


def _bad_filter(error: Exception) -> BadInput:
    first_line = str(error).splitlines()[0]
    return BadInput(f"{first_line} (columns: {', '.join(FILTER_COLUMNS)})", field="--filter")


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
    verdicts: list[dict]  # every verifier's row, SymPy and judges; `current`: of the sample's current content
    scores: dict | None
    events: list[dict]  # this sample's review events, oldest first
    siblings: list[dict]  # every sample of the problem, this one included
    verdict: dict | None = None  # the current verdict: the view verdict_current's row
    decisions: list[dict] = ()  # each reviewer's current decision (view review_reviewer_current), by event
    siblings_read: bool = True  # False: read without its siblings (`siblings` empty), for a first screen
    # Claims a current step check calls wrong and the trace does not take back (view
    # step_check_summary, newest steps version), in text order: checker, claim_start, claim_end
    # (offsets into curate.traces.full_response of the sample), claim, reason.
    wrong_steps: list[dict] = ()

    @property
    def judge_verdicts(self) -> list[dict]:
        """The judges' verdicts of the current content (one judged before a change is pending)."""
        return [v for v in self.verdicts if str(v["verifier"]).startswith("judge:") and v.get("current", True)]


# The views verdict_current and review_current rank rows per sample; DuckDB pushes a
# list_contains() filter on sample_id through that window (an IN-subquery it does not, and
# then ranks the whole store: ~0.5 s at 100,000 samples), so the sample ids go in as a list.
_CURRENT_OF = "SELECT * FROM {view} WHERE list_contains($ids, sample_id)"


def sample_details(store: Store, sample_ids: list[str], siblings: bool = True) -> list[SampleDetail]:
    """Full text and context of the given samples (unknown ids are left out), in the given order.

    `siblings=False` leaves out the other samples of their problems: their current verdicts are
    the costly part at a million samples (verdict_current over the family scans the verdicts and
    samples tables: ~0.2 s), so a first screen shows the sample without them and reads them after."""
    if not sample_ids:
        return []
    ids = {"ids": list(sample_ids)}
    rows = store.query(
        "SELECT s.*, p.question, p.gold_answer, p.source, p.source_id, p.year, p.section, p.domain "
        "FROM samples s LEFT JOIN problems p ON p.problem_id = s.problem_id WHERE list_contains($ids, s.sample_id)",
        ids,
    ).to_dicts()
    verdicts = store.query(
        "SELECT v.sample_id, v.verifier, v.answer, v.answer_source, v.verdict, v.reason, v.form_ok, v.form_reason, "
        "v.created_at, v.content_hash IS NULL OR v.content_hash = s.content_hash AS current "
        "FROM verdicts v JOIN samples s ON s.sample_id = v.sample_id "
        "WHERE list_contains($ids, v.sample_id) ORDER BY v.verifier",
        ids,
    ).to_dicts()
    events = store.query(
        "SELECT event_id, sample_id, reviewer, decision, note, corrected_answer, reverts_event_id, batch_id "
        "FROM review_events WHERE list_contains($ids, sample_id) ORDER BY event_id",
        ids,
    ).to_dicts()
    wrong_steps = store.query(
        "SELECT k.sample_id, k.checker, k.claim_start, k.claim_end, k.claim, k.reason FROM step_checks k "
        "JOIN step_check_summary c ON c.sample_id = k.sample_id AND c.checker = k.checker "
        "AND c.content_hash = k.content_hash "
        "WHERE list_contains($ids, k.sample_id) AND list_contains($ids, c.sample_id) AND NOT c.older_version "
        "AND k.status = 'wrong' AND NOT k.retracted ORDER BY k.claim_start, k.checker",
        ids,
    ).to_dicts()
    mine = store.query(
        "SELECT sample_id, reviewer, decision, note, corrected_answer, event_id FROM review_reviewer_current "
        "WHERE list_contains($ids, sample_id) ORDER BY event_id",
        ids,
    ).to_dicts()
    # Every sample of these problems (the requested ones among them), with verdict, decision, scores.
    problems = list(dict.fromkeys(row["problem_id"] for row in rows))
    sibling_rows = (
        store.query(
            "SELECT problem_id, sample_id, model, sample_index, status FROM samples "
            "WHERE list_contains($problems, problem_id) ORDER BY model, sample_index, sample_id",
            {"problems": problems},
        ).to_dicts()
        if siblings
        else []
    )
    family = {"ids": [row["sample_id"] for row in sibling_rows] if siblings else list(sample_ids)}
    current = {v["sample_id"]: v for v in store.query(_CURRENT_OF.format(view="verdict_current"), family).to_dicts()}
    decided = {r["sample_id"]: r for r in store.query(_CURRENT_OF.format(view="review_current"), family).to_dicts()}
    scores = {
        s["sample_id"]: s
        for s in store.query("SELECT * FROM scores WHERE list_contains($ids, sample_id)", family).to_dicts()
    }
    family_of: dict[str, list[dict]] = {}
    for sibling in sibling_rows:
        verdict = current.get(sibling["sample_id"], {})
        family_of.setdefault(sibling.pop("problem_id"), []).append(
            {
                **sibling,
                "verdict": verdict.get("verdict"),
                "answer": verdict.get("answer"),
                "cluster": scores.get(sibling["sample_id"], {}).get("cluster"),
                "decision": decided.get(sibling["sample_id"], {}).get("decision"),
            }
        )
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
                scores=scores.get(sample_id),
                events=[e for e in events if e["sample_id"] == sample_id],
                siblings=family_of.get(row["problem_id"], []),
                verdict=current.get(sample_id),
                decisions=[d for d in mine if d["sample_id"] == sample_id],
                siblings_read=siblings,
                wrong_steps=[w for w in wrong_steps if w["sample_id"] == sample_id],
            )
        )
    return details


# Every event names the content it judged (migration 023): review_current drops a decision once
# the sample's trace, gold or question changes, so select and export see the sample unreviewed.
_SAMPLE_HASH = "(SELECT content_hash FROM samples WHERE sample_id = ?)"


def record_decision(
    store: Store,
    sample_id: str,
    reviewer: str,
    decision: str,
    note: str | None = None,
    corrected_answer: str | None = None,
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
                "INSERT INTO review_events (sample_id, reviewer, decision, note, corrected_answer, content_hash) "
                f"VALUES (?, ?, ?, ?, ?, {_SAMPLE_HASH}) RETURNING event_id",
                [sample_id, reviewer, decision, note or None, corrected_answer or None, sample_id],
            )
        )


@dataclass(frozen=True)
class Reverted:
    revert_event_id: int  # the last revert written
    reverted_event_id: int
    sample_id: str  # the sample of the latest event taken back
    decision: str  # the decision taken back
    samples: tuple[str, ...] = ()  # every sample taken back (several for a bulk action)


def undo_latest(store: Store, reviewer: str) -> Reverted | None:
    """Append a revert of this reviewer's latest live decision (of every event of its batch, for
    a bulk action); None when there is nothing to undo."""
    with store.transaction():
        latest = store.query(
            "SELECT * FROM review_live WHERE reviewer = $reviewer ORDER BY event_id DESC LIMIT 1",
            {"reviewer": reviewer},
        ).to_dicts()
        if not latest:
            return None
        event = latest[0]
        batch = [event]
        if event["batch_id"] is not None:
            batch = store.query(
                "SELECT * FROM review_live WHERE reviewer = $reviewer AND batch_id = $batch ORDER BY event_id DESC",
                {"reviewer": reviewer, "batch": event["batch_id"]},
            ).to_dicts()
        for taken in batch:
            revert_id = store.scalar(
                "INSERT INTO review_events (sample_id, reviewer, decision, reverts_event_id, content_hash) "
                f"VALUES (?, ?, 'revert', ?, {_SAMPLE_HASH}) RETURNING event_id",
                [taken["sample_id"], reviewer, taken["event_id"], taken["sample_id"]],
            )
    return Reverted(
        int(revert_id),
        int(event["event_id"]),
        event["sample_id"],
        event["decision"],
        tuple(e["sample_id"] for e in batch),
    )


def bulk_accept(store: Store, problem_id: str, reviewer: str) -> list[str]:
    """Accept every sample of the problem the verifier calls correct and this reviewer has not
    decided (no decision, or a skip), as one batch (one undo takes it all back); returns them."""
    with store.transaction():
        samples = store.query(
            "SELECT s.sample_id FROM samples s JOIN verdict_current v ON v.sample_id = s.sample_id "
            "LEFT JOIN review_reviewer_current m ON m.sample_id = s.sample_id AND m.reviewer = $reviewer "
            "WHERE s.problem_id = $problem AND v.verdict = 'correct' AND (m.decision IS NULL OR m.decision = 'skip') "
            "ORDER BY s.model, s.sample_index, s.sample_id",
            {"problem": problem_id, "reviewer": reviewer},
        )["sample_id"].to_list()
        if not samples:
            return []
        # The batch is named by its first event's id, drawn before that event is written.
        batch_id = store.scalar("SELECT nextval('review_event_seq')")
        for i, sample_id in enumerate(samples):
            store.execute(
                "INSERT INTO review_events (event_id, sample_id, reviewer, decision, batch_id, content_hash) "
                f"VALUES (coalesce(?, nextval('review_event_seq')), ?, ?, 'accept', ?, {_SAMPLE_HASH})",
                [batch_id if i == 0 else None, sample_id, reviewer, batch_id, sample_id],
            )
    return samples


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
            judged.filter(pl.col("reviewer") == a)
            .select("sample_id", pl.col("decision").alias("a"))
            .join(
                judged.filter(pl.col("reviewer") == b).select("sample_id", pl.col("decision").alias("b")),
                on="sample_id",
            )
        )
        if both.height:
            labels_a, labels_b = both["a"].to_list(), both["b"].to_list()
            pairs.append(
                {
                    "reviewer_a": a,
                    "reviewer_b": b,
                    "samples": both.height,
                    "agreed": sum(x == y for x, y in zip(labels_a, labels_b)),
                    "kappa": cohens_kappa(labels_a, labels_b),
                }
            )
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
