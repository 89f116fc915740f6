"""`curate verify`: a verdict for every sample that has none for the current verifier version.

Inputs: `samples` (reasoning + content joined with `curate.traces.full_response`) and
`problems.gold_answer`. Outputs: one `verdicts` row per sample and verifier name
("sympy/1", or "sympy/1+strict-form" with --strict-form), one `runs` row (kind "verify") with
the counts. Samples whose problem has no gold answer are skipped and counted.

Resumable: samples are verified in batches of BATCH_SIZE, each batch written and committed in
its own transaction, so an interrupted run keeps the finished batches and the next run starts
where it stopped. --reverify recomputes (and replaces) existing verdicts of this verifier.
Command: `curate verify [--db PATH] [--workers W] [--timeout S] [--strict-form] [--model M]
[--reverify] [--limit N]`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import polars as pl

from curate.traces import full_response
from curate.verify.checker import Verifier, verifier_name
from db import BadInput, Store
from db.console import progress_bar

BATCH_SIZE = 500
VERDICTS = ("correct", "incorrect", "unparseable", "no_answer", "timeout")


def _pending_ids(store, verifier: str, model: str | None, reverify: bool, limit: int | None) -> tuple[list[str], int]:
    """(sample ids to verify, samples skipped because their problem has no gold answer)."""
    conditions = ["TRUE"]
    params: list = []
    if model is not None:
        conditions.append("s.model = ?")
        params.append(model)
    if not reverify:
        conditions.append("NOT EXISTS (SELECT 1 FROM verdicts v WHERE v.sample_id = s.sample_id AND v.verifier = ?)")
        params.append(verifier)
    where = " AND ".join(conditions)
    rows = store.execute(
        f"SELECT s.sample_id, p.gold_answer IS NULL OR trim(p.gold_answer) = '' AS no_gold "
        f"FROM samples s JOIN problems p ON p.problem_id = s.problem_id WHERE {where} ORDER BY s.sample_id",
        params,
    ).fetchall()
    ids = [sample_id for sample_id, no_gold in rows if not no_gold]
    skipped = sum(1 for _, no_gold in rows if no_gold)
    if limit is not None:
        ids = ids[:limit]
    return ids, skipped


@dataclass(frozen=True)
class VerifyConfig:
    """`curate verify` options."""

    workers: int | None = None      # SymPy worker processes; None: all cores
    timeout: float = 5.0            # seconds per comparison before its worker is killed
    strict_form: bool = False       # a correct but unsimplified answer counts as incorrect
    model: str | None = None        # only samples of this model
    reverify: bool = False          # recompute verdicts that exist for this verifier version
    limit: int | None = None        # at most this many samples
    progress: bool = True           # progress bar on stderr


@dataclass(frozen=True)
class VerifyResult:
    """Counts per verdict (and samples skipped for want of a gold answer), as stored in `runs`."""

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
    ids, skipped = _pending_ids(store, verifier, model, config.reverify, config.limit)
    counts["skipped_no_gold"] = skipped
    stored = {"verifier": verifier, "workers": config.workers, "timeout": config.timeout,
              "strict_form": config.strict_form, "model": model, "reverify": config.reverify, "limit": config.limit}
    with store.run("verify", stored) as record:
        record.counts_of = lambda: dict(counts)
        with Verifier(workers=config.workers, timeout=config.timeout, strict_form=config.strict_form) as checker, \
                progress_bar(enabled=config.progress, eta=True) as progress:
            task = progress.add_task("verify", total=len(ids))
            for start in range(0, len(ids), BATCH_SIZE):
                batch = ids[start:start + BATCH_SIZE]
                _verify_batch(store, checker, batch, verifier, record.run_id, counts,
                              lambda n: progress.advance(task, n))
    return VerifyResult(record.run_id, dict(counts))


def _verify_batch(store, checker: Verifier, ids: list[str], verifier: str, run_id: str, counts: Counter,
                  advance) -> None:
    rows = store.query(
        "SELECT s.sample_id, s.reasoning, s.content, p.gold_answer FROM samples s "
        "JOIN problems p ON p.problem_id = s.problem_id WHERE s.sample_id IN (SELECT unnest(?)) ORDER BY s.sample_id",
        [ids],
    )
    pairs = [(full_response(r["reasoning"], r["content"]), r["gold_answer"]) for r in rows.iter_rows(named=True)]
    verdicts = checker.verdicts(pairs, on_done=advance)
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
        },
        schema_overrides={"answer": pl.String, "answer_source": pl.String},
    )
    with store.transaction():
        store.insert_frame("verdicts", frame, on_conflict="replace")
    counts["verified"] += rows.height
    counts.update(v.verdict for v in verdicts)


def summary_rows(counts: dict[str, int]) -> list[tuple[str, int]]:
    """Counts in a fixed order for printing."""
    order = ["verified", *VERDICTS, "skipped_no_gold"]
    return [(name, counts.get(name, 0)) for name in order]
