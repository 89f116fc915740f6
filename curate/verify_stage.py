"""`curate verify`: a verdict for every sample that has none for its current content.

Inputs: `samples` (reasoning + content joined with `curate.traces.full_response`, and the
finish reason: a response cut off at the token limit has no final answer), `problems.gold_answer`
and `problems.question` (the verifier reads order words, options and rounding from it).
Outputs: one `verdicts` row per sample and verifier name ("sympy/5", or "sympy/5+strict-form"
with --strict-form) with the `content_hash` of what was verified (the sample row's stored
`samples.content_hash`, db.store.CONTENT_HASH_SQL), one `runs`
row (kind "verify") with the counts. Samples whose problem has no gold answer are skipped and
counted.

Pending: a sample with no verdict of this verifier for its current content (new, regenerated,
or its gold or question changed). A sample whose only verdict comes from an older verifier
version (e.g. "sympy/1") is re-verified only with --reverify-older; the counts say how many such
samples remain (`older_version`), and `verdict_current` marks their rows `older_version`.

Resumable: samples are verified in batches of BATCH_SIZE, each batch written and committed in
its own transaction, so an interrupted run keeps the finished batches and the next run starts
where it stopped. --reverify recomputes (and replaces) existing verdicts of this verifier.

--steps also checks the steps of every sample (curate.verify.check_steps, checker "steps/N"),
whatever its verdict and whether or not its problem has a gold answer: one `step_check_samples`
row per sample and one `step_checks` row per claim (curate/step_checks.py), with the content
hash read. Pending, batches and resumption as for verdicts; --reverify rechecks too. Without
--steps nothing of this runs, so plain verify keeps its speed.
Command: `curate verify [--db PATH] [--workers W] [--timeout S] [--strict-form] [--model M]
[--reverify] [--reverify-older] [--limit N] [--steps]`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import polars as pl

from curate.step_checks import CheckedSample, pending_samples, replace_checks
from curate.traces import full_response
from curate.verify import STEPS_VERSION, check_steps_many
from curate.verify.checker import STRICT_SUFFIX, VERIFIER_VERSION, Verifier, verifier_name
from db import BadInput, Store
from db.console import progress_bar

BATCH_SIZE = 500
VERDICTS = ("correct", "incorrect", "unparseable", "no_answer", "timeout")
STEP_COUNTS = ("steps_checked", "claims", "wrong_steps")
# Verifier names of older versions with the same strictness: 'sympy/1' to 'sympy/4' for 'sympy/5'.
_OLDER_SQL = (
    "v.verifier LIKE 'sympy/%' AND v.verifier <> ? AND (v.verifier LIKE '%+strict-form') = ? "
    "AND TRY_CAST(regexp_extract(v.verifier, '^sympy/([0-9]+)', 1) AS INTEGER) < ?"
)


def _version_number() -> int:
    return int(VERIFIER_VERSION.split("/")[1])


def _pending_ids(
    store, verifier: str, model: str | None, reverify: bool, reverify_older: bool, limit: int | None
) -> tuple[list[tuple[int, str]], int, int]:
    """((rowid, sample id) to verify in rowid order, samples skipped for lack of a gold answer,
    samples left with only an older-version verdict)."""
    strict = verifier.endswith(STRICT_SUFFIX)
    # The sample rows carry their hash (samples.content_hash), so no text is read here.
    current = "EXISTS (SELECT 1 FROM verdicts v WHERE v.sample_id = h.sample_id AND v.verifier = ? AND v.content_hash = h.hash)"
    older = (
        f"EXISTS (SELECT 1 FROM verdicts v WHERE v.sample_id = h.sample_id AND {_OLDER_SQL} "
        "AND (v.content_hash IS NULL OR v.content_hash = h.hash))"
    )
    model_filter = "s.model = ?" if model is not None else "TRUE"
    rows = store.execute(
        f"WITH h AS MATERIALIZED (SELECT s.rowid AS row_id, s.sample_id, "
        "p.gold_answer IS NULL OR trim(p.gold_answer) = '' AS no_gold, s.content_hash AS hash "
        f"FROM samples s JOIN problems p ON p.problem_id = s.problem_id WHERE {model_filter}) "
        f"SELECT h.row_id, h.sample_id, h.no_gold, {current} AS has_current, {older} AS has_older "
        f"FROM h ORDER BY h.sample_id",
        ([model] if model is not None else []) + [verifier, verifier, strict, _version_number()],
    ).fetchall()
    ids, skipped, older_left = [], 0, 0
    for rowid, sample_id, no_gold, has_current, has_older in rows:
        if no_gold:
            skipped += 1
        elif reverify or not (has_current or has_older) or (has_older and not has_current and reverify_older):
            ids.append((rowid, sample_id))
        elif has_older and not has_current:
            older_left += 1
    if limit is not None:
        ids = ids[:limit]
    return sorted(ids), skipped, older_left


@dataclass(frozen=True)
class VerifyConfig:
    """`curate verify` options."""

    workers: int | None = None  # SymPy worker processes; None: all cores
    timeout: float = 5.0  # seconds per comparison before its worker is killed
    strict_form: bool = False  # a correct but unsimplified answer counts as incorrect
    model: str | None = None  # only samples of this model
    reverify: bool = False  # recompute verdicts that exist for this verifier version
    reverify_older: bool = False  # also verify samples whose verdict came from an older version
    limit: int | None = None  # at most this many samples
    steps: bool = False  # also check every sample's steps (step_checks, checker steps/N)
    progress: bool = True  # progress bar on stderr


@dataclass(frozen=True)
class VerifyResult:
    """Counts per verdict (and samples skipped for want of a gold answer, and samples left with an
    older-version verdict), as stored in `runs`."""

    run_id: str
    counts: dict[str, int]


def run(store: Store, config: VerifyConfig) -> VerifyResult:
    """Verify the store's samples (see module doc); returns the counts also stored in `runs`."""
    if config.timeout <= 0:
        raise BadInput("the timeout must be positive", field="--timeout")
    if config.workers is not None and config.workers < 1:
        raise BadInput("at least one worker is needed", field="--workers")
    if config.limit is not None and config.limit < 0:
        raise BadInput("the limit cannot be negative", field="--limit")
    verifier = verifier_name(config.strict_form)
    counts: Counter = Counter(verified=0)
    model = config.model
    if model is not None and not store.scalar("SELECT count(*) FROM samples WHERE model = ?", [model]):
        raise BadInput(f"no samples of model {model!r}", field="--model")
    with store.transaction():  # a sample written by SQL that left its hash unset gets one first
        store.rehash_samples("s.content_hash IS NULL")
    ids, skipped, older_left = _pending_ids(
        store, verifier, model, config.reverify, config.reverify_older, config.limit
    )
    counts["skipped_no_gold"] = skipped
    counts["older_version"] = older_left
    stored = {
        "verifier": verifier,
        "workers": config.workers,
        "timeout": config.timeout,
        "strict_form": config.strict_form,
        "model": model,
        "reverify": config.reverify,
        "reverify_older": config.reverify_older,
        "limit": config.limit,
        "steps": config.steps,
    }
    with store.run("verify", stored) as record:
        record.counts_of = lambda: dict(counts)
        with (
            Verifier(workers=config.workers, timeout=config.timeout, strict_form=config.strict_form) as checker,
            progress_bar(enabled=config.progress, eta=True) as progress,
            store.memory_limit(),
        ):
            task = progress.add_task("verify", total=len(ids))
            for start in range(0, len(ids), BATCH_SIZE):
                batch = ids[start : start + BATCH_SIZE]
                _verify_batch(
                    store, checker, batch, verifier, record.run_id, counts, lambda n: progress.advance(task, n)
                )
            if config.steps:
                _check_all_steps(store, config, record.run_id, counts, progress)
    return VerifyResult(record.run_id, dict(counts))


def _check_all_steps(store: Store, config: VerifyConfig, run_id: str, counts: Counter, progress) -> None:
    """Step checks for every sample without one of this checker version for its content."""
    counts.update(steps_checked=0, claims=0, wrong_steps=0)
    where, params = ("s.model = ?", [config.model]) if config.model is not None else ("TRUE", [])
    if config.reverify:
        ids = store.execute(
            f"SELECT s.rowid, s.sample_id FROM samples s WHERE {where} ORDER BY s.rowid", params
        ).fetchall()
    else:
        ids = pending_samples(store, STEPS_VERSION, where, params)
    if config.limit is not None:
        ids = ids[: config.limit]
    task = progress.add_task("steps", total=len(ids))
    for start in range(0, len(ids), BATCH_SIZE):
        batch = ids[start : start + BATCH_SIZE]
        _check_steps_batch(store, config, batch, run_id, counts)
        progress.advance(task, len(batch))


def _check_steps_batch(store: Store, config: VerifyConfig, batch: list[tuple], run_id: str, counts: Counter) -> None:
    samples = store.query(
        "SELECT s.sample_id, s.reasoning, s.content, s.content_hash, p.question FROM samples s "
        "LEFT JOIN problems p ON p.problem_id = s.problem_id "
        "WHERE s.rowid BETWEEN ? AND ? AND list_contains(?, s.sample_id) ORDER BY s.sample_id",
        [batch[0][0], batch[-1][0], [sample_id for _, sample_id in batch]],
    )
    texts = [full_response(r["reasoning"], r["content"]) for r in samples.iter_rows(named=True)]
    # The question grounds the numbers a trace starts from (docs/STEPS.md); it is part of the content hash.
    found = check_steps_many(
        texts, questions=samples["question"].to_list(), workers=config.workers, timeout=config.timeout
    )
    checked = [
        CheckedSample(row["sample_id"], row["content_hash"], claims)
        for row, claims in zip(samples.iter_rows(named=True), found)
    ]
    replace_checks(store, STEPS_VERSION, checked, run_id)
    counts["steps_checked"] += len(checked)
    counts["claims"] += sum(len(item.claims) for item in checked)
    counts["wrong_steps"] += sum(any(c.status == "wrong" and not c.retracted for c in item.claims) for item in checked)


def _verify_batch(
    store, checker: Verifier, batch: list[tuple[int, str]], verifier: str, run_id: str, counts: Counter, advance
) -> None:
    # The rowid range lets DuckDB read only the batch's row groups: an id list alone scanned
    # every trace per batch (2.7 CPU-s per 500 samples at 100k, quadratic in the store size).
    samples = store.query(
        "SELECT sample_id, problem_id, reasoning, content, finish_reason, content_hash FROM samples "
        "WHERE rowid BETWEEN ? AND ? AND sample_id IN (SELECT unnest(?))",
        [batch[0][0], batch[-1][0], [sample_id for _, sample_id in batch]],
    )
    # The batch's problems by key: joined in SQL, every problem was hashed per batch (125,000 at
    # 1M samples), which made verify half as fast per sample at 1M as at 100k.
    problems = store.query(
        "SELECT problem_id, gold_answer, question FROM problems WHERE list_contains($ids, problem_id)",
        {"ids": samples["problem_id"].unique().to_list()},
    )
    rows = samples.join(problems, on="problem_id", how="inner").sort("sample_id")
    items = [
        (full_response(r["reasoning"], r["content"]), r["gold_answer"], r["question"], r["finish_reason"])
        for r in rows.iter_rows(named=True)
    ]
    verdicts = checker.verdicts(items, on_done=advance)
    frame = pl.DataFrame(
        {
            "sample_id": rows["sample_id"],
            "verifier": [verifier] * rows.height,
            "answer": [v.answer for v in verdicts],
            "answer_source": [v.answer_source for v in verdicts],
            "verdict": [v.verdict for v in verdicts],
            "reason": [v.reason for v in verdicts],
            "form_ok": pl.Series([v.form_ok for v in verdicts], dtype=pl.Boolean),
            "form_reason": pl.Series([v.form_reason for v in verdicts], dtype=pl.String),
            "elapsed_ms": [float(v.elapsed_ms) for v in verdicts],
            "run_id": [run_id] * rows.height,
            "content_hash": rows["content_hash"],
        },
        schema_overrides={"answer": pl.String, "answer_source": pl.String},
    )
    with store.transaction():
        store.insert_frame("verdicts", frame, on_conflict="replace")
    counts["verified"] += rows.height
    counts.update(v.verdict for v in verdicts)


def summary_rows(counts: dict[str, int]) -> list[tuple[str, int]]:
    """Counts in a fixed order for printing."""
    order = ["verified", *VERDICTS, "skipped_no_gold", "older_version"]
    rows = [(name, counts.get(name, 0)) for name in order]
    # Step counts only when --steps ran: samples checked, claims found, samples with an unretracted wrong step.
    return rows + [(name, counts[name]) for name in STEP_COUNTS if name in counts]
