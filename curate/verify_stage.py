"""`curate verify`: a verdict for every sample that has none for its current content, from the
checker of its problem's domain.

Inputs: `samples` (reasoning + content joined with `curate.traces.full_response`, and the
finish reason: a response cut off at the token limit has no final answer), `problems.domain`
(which checker: curate/verify/domains.py's CHECKERS), `problems.gold_answer`,
`problems.question` (the SymPy verifier reads order words, options and rounding from it) and,
for a domain other than math, `problems.meta` (HumanEval's `test`, MBPP's `test_list`, a
database, options), given to the checker as a `Task`.
Outputs: one `verdicts` row per sample and checker version (`verdicts.verifier`: "sympy/5", or
"sympy/5+strict-form" with --strict-form; "code/2", "sql/2", "choice/2") with the
`content_hash` of what was verified (the sample row's stored `samples.content_hash`,
db.store.CONTENT_HASH_SQL, which covers a non-math problem's meta), one `runs` row (kind
"verify") with the counts per verdict (correct, incorrect, unparseable, no_answer, timeout,
error). Skipped and counted: math, sql and choice samples whose problem has no gold answer
(`skipped_no_gold`), code samples whose problem has no tests (`skipped_no_tests`).

Domains: one checker per domain for the whole run (make_checker with CheckerOptions from
--strict-form and --unsafe-local), closed at the end; the other domains run before math, whose
samples are usually most. A domain whose checker module is not installed (or an unknown domain)
stops verify with BadInput (exit 2) naming it, before anything runs, only when samples of it are
pending (any with no verdict for their current content). Code runs in the sandbox
(curate/verify/sandbox.py); where it cannot isolate (SandboxUnavailable on the first check)
verify stops with BadInput saying which isolation is missing and that --unsafe-local runs the
untrusted programs without it; the batches committed before stay, the run is marked failed.

Pending: a sample with no verdict of its domain checker's version for its current content (new,
regenerated, or its gold, question or meta changed). A sample whose only verdict comes from an
older version of the same family (e.g. "sympy/1" for "sympy/5", "code/1" for "code/2") is
re-verified only with --reverify-older; the counts say how many such samples remain
(`older_version`), and `verdict_current` (migration 022) marks their rows `older_version`.

Resumable: samples are verified in batches of BATCH_SIZE, each batch written and committed in
its own transaction, so an interrupted run keeps the finished batches and the next run starts
where it stopped. --reverify recomputes (and replaces) existing verdicts of these versions.

--steps also checks the steps of every math and choice sample (curate.verify.check_steps,
checker "steps/N"), whatever its verdict and whether or not its problem has a gold answer: one
`step_check_samples` row per sample and one `step_checks` row per claim (curate/step_checks.py),
with the content hash read. Code and SQL samples are not step-checked (their arithmetic-looking
lines are program text, not claims) and are counted as `steps_skipped_domain`. Pending,
batches and resumption as for verdicts; --reverify rechecks too. Without --steps nothing of
this runs, so plain verify keeps its speed.
Command: `curate verify [--db PATH] [--workers W] [--timeout S] [--strict-form] [--unsafe-local]
[--model M] [--reverify] [--reverify-older] [--limit N] [--steps]`.
"""

from __future__ import annotations

import inspect
import json
import os
import re
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass

import polars as pl

from curate.step_checks import CheckedSample, pending_samples, replace_checks
from curate.traces import full_response
from curate.verify import STEPS_VERSION, check_steps_many
from curate.verify.checker import STRICT_SUFFIX, verifier_name
from curate.verify.domains import CHECKERS, STEP_DOMAINS, CheckerOptions, DomainChecker, Task, make_checker
from db import BadInput, Store
from db.console import progress_bar

BATCH_SIZE = 500
VERDICTS = ("correct", "incorrect", "unparseable", "no_answer", "timeout", "error")
STEP_COUNTS = ("steps_checked", "claims", "wrong_steps", "steps_skipped_domain")
# A sample whose problem is missing counts as math.
_STEP_DOMAIN_SQL = (
    "s.problem_id NOT IN (SELECT problem_id FROM problems WHERE domain NOT IN ("
    + ", ".join(f"'{domain}'" for domain in STEP_DOMAINS)
    + "))"
)
# A checker version is FAMILY/NUMBER[+suffix] ("sympy/5+strict-form", "code/2"); migration 022 reads it the same way.
_VERSION = re.compile(r"^([a-z]+)/([0-9]+)")
# Verdicts of older versions of the same family and strictness: 'sympy/1' to 'sympy/4' for 'sympy/5'.
_OLDER_SQL = (
    "v.verifier LIKE ? AND v.verifier <> ? AND (v.verifier LIKE '%+strict-form') = ? "
    "AND TRY_CAST(regexp_extract(v.verifier, '^[a-z]+/([0-9]+)', 1) AS INTEGER) < ?"
)
# What a sample's problem must have to be checked, per domain (SQL over `p`, the problems): the
# count a sample without it goes to, and the condition. Math, sql and choice compare with the gold.
_NO_GOLD = ("skipped_no_gold", "p.gold_answer IS NULL OR trim(p.gold_answer) = ''")
_SKIPS = {
    # HumanEval's `test` or MBPP's `test_list` (curate/verify/code.py's tests_for reads them).
    "code": (
        "skipped_no_tests",
        "coalesce(trim(p.meta->>'test'), '') = '' AND coalesce(p.meta->>'test_list', '[]') IN ('', '[]', '\"\"')",
    ),
}
SKIP_COUNTS = ("skipped_no_gold", "skipped_no_tests")


@dataclass(frozen=True)
class Pending:
    """What verify finds to do for one domain."""

    ids: list[tuple[int, str]]  # (rowid, sample id) to verify, in sample id order (--limit takes the first)
    skipped: Counter  # samples whose problem lacks what the checker needs, per skip count
    older_left: int  # samples left with only an older-version verdict of the family


def _pending(
    store, domain: str, version: str | None, model: str | None, reverify: bool, reverify_older: bool
) -> Pending:
    """The samples of `domain` to check with `version` (None: no checker is installed, so any
    sample without a verdict for its current content is pending)."""
    skip_count, skip_sql = _SKIPS.get(domain, _NO_GOLD)
    # The sample rows carry their hash (samples.content_hash), so no text is read here.
    current = "EXISTS (SELECT 1 FROM verdicts v WHERE v.sample_id = h.sample_id AND v.content_hash = h.hash AND "
    numbered = _VERSION.match(version or "")
    if version is None:
        current, older, params = current + "v.verifier NOT LIKE 'judge:%')", "FALSE", []
    elif numbered is None:  # a version without a number has no older ones
        current, older, params = current + "v.verifier = ?)", "FALSE", [version]
    else:
        family, number = numbered.groups()
        current += "v.verifier = ?)"
        older = (
            f"EXISTS (SELECT 1 FROM verdicts v WHERE v.sample_id = h.sample_id AND {_OLDER_SQL} "
            "AND (v.content_hash IS NULL OR v.content_hash = h.hash))"
        )
        params = [version, f"{family}/%", version, version.endswith(STRICT_SUFFIX), int(number)]
    model_filter = "s.model = ?" if model is not None else "TRUE"
    rows = store.execute(
        f"WITH h AS MATERIALIZED (SELECT s.rowid AS row_id, s.sample_id, {skip_sql} AS skip, s.content_hash AS hash "
        f"FROM samples s JOIN problems p ON p.problem_id = s.problem_id WHERE p.domain = ? AND {model_filter}) "
        f"SELECT h.row_id, h.sample_id, h.skip, {current} AS has_current, {older} AS has_older "
        f"FROM h ORDER BY h.sample_id",
        [domain] + ([model] if model is not None else []) + params,
    ).fetchall()
    ids, skipped, older_left = [], Counter(), 0
    for rowid, sample_id, skip, has_current, has_older in rows:
        if skip:
            skipped[skip_count] += 1
        elif reverify or not (has_current or has_older) or (has_older and not has_current and reverify_older):
            ids.append((rowid, sample_id))
        elif has_older and not has_current:
            older_left += 1
    return Pending(ids, skipped, older_left)


@dataclass(frozen=True)
class VerifyConfig:
    """`curate verify` options."""

    workers: int | None = None  # worker processes (SymPy, sandbox); None: all cores
    timeout: float = 5.0  # seconds per check (a comparison, a program's run) before it is stopped
    strict_form: bool = False  # a correct but unsimplified answer counts as incorrect
    unsafe_local: bool = False  # code: run programs without isolation where the sandbox has none
    model: str | None = None  # only samples of this model
    reverify: bool = False  # recompute verdicts that exist for this verifier version
    reverify_older: bool = False  # also verify samples whose verdict came from an older version
    limit: int | None = None  # at most this many samples
    steps: bool = False  # also check every sample's steps (step_checks, checker steps/N)
    progress: bool = True  # progress bar on stderr


@dataclass(frozen=True)
class VerifyResult:
    """Counts per verdict (and samples skipped for want of a gold answer or tests, and samples left
    with an older-version verdict), as stored in `runs`."""

    run_id: str
    counts: dict[str, int]


def _domains(store) -> list[str]:
    """The problems' domains in CHECKERS order, math last: the other domains are small and their
    environment (a sandbox, a database) fails on their first check, before hours of math."""
    found = {row[0] for row in store.execute("SELECT DISTINCT domain FROM problems").fetchall()}
    known = [domain for domain in CHECKERS if domain in found and domain != "math"]
    return known + sorted(found - set(CHECKERS)) + (["math"] if "math" in found else [])


def _checkers(store, config: VerifyConfig, closing: ExitStack) -> dict[str, tuple[DomainChecker | None, Pending]]:
    """The checker and pending samples of each domain (None: no checker, and nothing pending, its
    skipped samples still counted); BadInput for a domain with pending samples and no checker."""
    options = CheckerOptions(strict_form=config.strict_form, unsafe_local=config.unsafe_local)
    found: dict[str, tuple[DomainChecker | None, Pending]] = {}
    for domain in _domains(store):
        try:
            checker = make_checker(domain, options)
        except (ImportError, ValueError) as error:
            pending = _pending(store, domain, None, config.model, config.reverify, config.reverify_older)
            if pending.ids:
                why = (
                    f"no checker for domain {domain!r} is installed ({error})"
                    if isinstance(error, ImportError)
                    else error
                )
                raise BadInput(
                    f"{len(pending.ids)} samples of domain {domain!r} are pending, but {why}", field="problems.domain"
                ) from error
            found[domain] = (None, pending)
            continue
        closing.callback(checker.close)
        pending = _pending(store, domain, checker.version, config.model, config.reverify, config.reverify_older)
        found[domain] = (checker, pending)
    return found


def run(store: Store, config: VerifyConfig) -> VerifyResult:
    """Verify the store's samples (see module doc); returns the counts also stored in `runs`."""
    if config.timeout <= 0:
        raise BadInput("the timeout must be positive", field="--timeout")
    if config.workers is not None and config.workers < 1:
        raise BadInput("at least one worker is needed", field="--workers")
    if config.limit is not None and config.limit < 0:
        raise BadInput("the limit cannot be negative", field="--limit")
    counts: Counter = Counter(verified=0, skipped_no_gold=0, older_version=0)
    model = config.model
    if model is not None and not store.scalar("SELECT count(*) FROM samples WHERE model = ?", [model]):
        raise BadInput(f"no samples of model {model!r}", field="--model")
    with store.transaction():  # a sample written by SQL that left its hash unset gets one first
        store.rehash_samples("s.content_hash IS NULL")
    with ExitStack() as closing:  # every checker is closed at the end, however the run ends
        checkers = _checkers(store, config, closing)
        work, left = {}, config.limit
        for domain, (_, pending) in checkers.items():
            counts.update(pending.skipped)
            counts["older_version"] += pending.older_left
            work[domain] = sorted(pending.ids if left is None else pending.ids[:left])
            left = None if left is None else left - len(work[domain])
        stored = {
            "verifier": verifier_name(config.strict_form),
            "verifiers": {domain: checker.version for domain, (checker, _) in checkers.items() if checker},
            "workers": config.workers,
            "timeout": config.timeout,
            "strict_form": config.strict_form,
            "unsafe_local": config.unsafe_local,
            "model": model,
            "reverify": config.reverify,
            "reverify_older": config.reverify_older,
            "limit": config.limit,
            "steps": config.steps,
        }
        with (
            store.run("verify", stored) as record,
            progress_bar(enabled=config.progress, eta=True) as progress,
            store.memory_limit(),
        ):
            record.counts_of = lambda: dict(counts)
            for domain, ids in work.items():
                checker = checkers[domain][0]
                if checker is None or (not ids and domain != "math"):  # math keeps its bar, as before domains
                    continue
                task = progress.add_task("verify" if domain == "math" else f"verify {domain}", total=len(ids))
                for start in range(0, len(ids), BATCH_SIZE):
                    batch = ids[start : start + BATCH_SIZE]
                    _checked_batch(
                        store,
                        config,
                        checker,
                        batch,
                        record.run_id,
                        counts,
                        lambda n, task=task: progress.advance(task, n),
                    )
            if config.steps:
                _check_all_steps(store, config, record.run_id, counts, progress)
    return VerifyResult(record.run_id, dict(counts))


def _checked_batch(store, config, checker, batch, run_id, counts, advance) -> None:
    """_verify_batch, with a sandbox that cannot isolate turned into bad usage (exit 2)."""
    try:
        _verify_batch(store, config, checker, batch, run_id, counts, advance)
    except RuntimeError as error:
        from curate.verify.sandbox import SandboxUnavailable  # loaded only where code ran

        if not isinstance(error, SandboxUnavailable):
            raise
        raise BadInput(
            f"{checker.domain} samples are pending and the sandbox cannot isolate their programs: {error}; "
            "with --unsafe-local they run without isolation, with your user's rights over the files and the "
            "network (docs/SANDBOX.md)",
            field="--unsafe-local",
        ) from error


def _check_all_steps(store: Store, config: VerifyConfig, run_id: str, counts: Counter, progress) -> None:
    """Step checks for every sample without one of this checker version for its content."""
    counts.update(steps_checked=0, claims=0, wrong_steps=0)
    model_where, params = ("s.model = ?", [config.model]) if config.model is not None else ("TRUE", [])
    counts["steps_skipped_domain"] = store.scalar(
        f"SELECT count(*) FROM samples s WHERE ({model_where}) AND NOT {_STEP_DOMAIN_SQL}", params
    )
    where = f"({model_where}) AND {_STEP_DOMAIN_SQL}"
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
    store,
    config: VerifyConfig,
    checker: DomainChecker,
    batch: list[tuple[int, str]],
    run_id: str,
    counts: Counter,
    advance,
) -> None:
    # The rowid range lets DuckDB read only the batch's row groups: an id list alone scanned
    # every trace per batch (2.7 CPU-s per 500 samples at 100k, quadratic in the store size).
    samples = store.query(
        "SELECT sample_id, problem_id, reasoning, content, finish_reason, content_hash FROM samples "
        "WHERE rowid BETWEEN ? AND ? AND sample_id IN (SELECT unnest(?))",
        [batch[0][0], batch[-1][0], [sample_id for _, sample_id in batch]],
    )
    # The batch's problems by key: joined in SQL, every problem was hashed per batch (125,000 at
    # 1M samples), which made verify half as fast per sample at 1M as at 100k. Math reads no meta.
    problems = store.query(
        "SELECT problem_id, gold_answer, question, domain, "
        "CASE WHEN domain <> 'math' THEN CAST(meta AS VARCHAR) END AS meta "
        "FROM problems WHERE list_contains($ids, problem_id)",
        {"ids": samples["problem_id"].unique().to_list()},
    )
    rows = samples.join(problems, on="problem_id", how="inner").sort("sample_id")
    tasks = {
        r["problem_id"]: Task(
            r["problem_id"], r["question"], r["gold_answer"], json.loads(r["meta"] or "{}"), r["domain"]
        )
        for r in problems.iter_rows(named=True)
    }
    items = [
        (tasks[r["problem_id"]], full_response(r["reasoning"], r["content"]), r["finish_reason"])
        for r in rows.iter_rows(named=True)
    ]
    # The SymPy checker reports each verdict as it lands; the others per batch.
    reports = "on_done" in inspect.signature(checker.check_many).parameters
    verdicts = checker.check_many(
        items,
        workers=config.workers or os.cpu_count() or 1,
        timeout=config.timeout,
        **({"on_done": advance} if reports else {}),
    )
    frame = pl.DataFrame(
        {
            "sample_id": rows["sample_id"],
            "verifier": [checker.version] * rows.height,
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
    if not reports:
        advance(len(batch))


def summary_rows(counts: dict[str, int]) -> list[tuple[str, int]]:
    """Counts in a fixed order for printing."""
    order = ["verified", *VERDICTS, *SKIP_COUNTS, "older_version"]
    rows = [(name, counts.get(name, 0)) for name in order]
    # Step counts only when --steps ran: samples checked, claims found, samples with an unretracted wrong step.
    return rows + [(name, counts[name]) for name in STEP_COUNTS if name in counts]
