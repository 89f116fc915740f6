"""The judge: the second agent of the dual-agent setup, a model that grades the samples the SymPy
verifier could not settle.

Contract
- Inputs: `verdict_current` (the newest SymPy verdict per sample) joined with `samples` and
  `problems`. It picks samples whose verdict is `unparseable` or `timeout` (with
  `--include-incorrect` also `incorrect`), whose problem is math or choice (a program or a
  query is judged by running it, never by reading it) and has a gold answer, whose final
  content is not empty, and that have no correct/incorrect verdict from this judge for their
  current content yet (view `judge_current`, db/migrations/018): a verdict judged before the
  sample was regenerated or its gold or question changed is pending, and is judged again.
  Samples whose SymPy verdicts all belong to earlier content (view `verdict_pending`) wait for
  `curate verify`; the summary and the run's counts (`awaiting_verify`) say how many.
- Outputs: one `verdicts` row per judged sample with verifier "judge:MODEL", answer_source
  "judge", verdict correct / incorrect (unparseable when the reply has no verdict line), the
  judge's extracted answer, its verdict line as the reason, and `content_hash` (the sample's
  `samples.content_hash` when it was judged); a rejudged sample's row replaces the old one. The
  SymPy verdict stays beside it, so both are visible (`verdict_current` ignores judge rows;
  readers of judge verdicts read `judge_current`). A `runs` row per invocation.
- Command: `curate judge --model NAME [--base-url URL]... [--include-incorrect] [--limit K]`.
- Requests go through `curate.chat_client` (same endpoints, retries and rate rules as
  `curate generate`); rows are written through as they arrive, so a rerun judges only the rest.

Caveats: the judge sees the problem, the gold answer and the sample's final content (the text
after the thinking), not the reasoning, to keep prompts short and the judgement about the
stated answer. Samples whose request fails after retries get no row and are retried on rerun.

Step critic (`--steps`): for samples whose current verdict is correct (with
`--include-incorrect` also incorrect) and that have no step check of checker "judge:MODEL" for
their current content, the judge reads the whole trace (`curate.traces.full_response`) cut into
numbered paragraphs (STEPS_PROMPT: blank lines and the think tags end a paragraph) and names
the earliest wrong one, or NONE. Stored through `curate.step_checks` (tables step_checks and
step_check_samples): the named paragraph as one "wrong" claim (offsets into the trace, the
judge's REASON line as reason, never retracted: the prompt asks the judge to pass over
mistakes the trace corrects itself), no claim for NONE, one "unchecked" claim with the reply's
tail for a reply without a usable WRONG PARAGRAPH line. Traces are read in chunks of
STEP_CHUNK samples, so memory stays bounded. A real model's quality as a critic cannot be
measured offline; the tests check the protocol against the bundled fake server.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import polars as pl

from curate.chat_client import (
    EndpointConfig,
    EndpointPool,
    EndpointRejected,
    RetryPolicy,
    complete,
    endpoint_urls,
    public_url,
)
from curate.pricing import resolve_price
from curate.step_checks import CheckedSample, replace_checks
from curate.traces import full_response
from curate.verify import StepCheck
from curate.verify.domains import STEP_DOMAINS, VOTING_DOMAINS
from curate.write_through import Batches, WriteThrough
from db import BadInput
from db.console import stderr
from db.store import Store

JUDGE_PROMPT = """You are grading one answer to a mathematics competition problem. Decide only whether the candidate's final answer is mathematically equal to the reference answer.

Rules:
- Compare the final answer only; ignore the quality of the working.
- Equivalent forms count as equal (2/4 = 1/2, 0.5 = 1/2, 2\\sqrt{{2}} = \\sqrt{{8}}, x = 3 and 3, the same set in another order).
- Different values, missing parts of a multi-part answer, extra wrong values, or no clear final answer are INCORRECT.
- Do not solve the problem yourself to overrule the reference answer.

Problem:
{question}

Reference answer:
{gold}

Candidate's final response:
{response}

Reply with exactly two lines and nothing else:
ANSWER: <the candidate's final answer, as written>
VERDICT: CORRECT or VERDICT: INCORRECT"""

# The step critic's prompt (`curate judge --steps`), documented in docs/GUIDE.md.
STEPS_PROMPT = """You are checking the reasoning of one solution to a mathematics problem, step by step. The solution is split into numbered paragraphs.

Find the EARLIEST paragraph that contains a mathematical error: a wrong calculation, a false statement, an invalid deduction, or a misuse of the problem's conditions.

Rules:
- A mistake that the solution itself notices and corrects (for example "wait, that is wrong", "no, actually ...", a corrected value right after) is not an error.
- Trying an approach and abandoning it is not an error; a false statement that the solution keeps is.
- Judge each paragraph on its own; a right final answer does not make earlier paragraphs right.
- Style, verbosity and notation are not errors.

Problem:
{question}

Solution:
{paragraphs}

Reply with exactly two lines and nothing else:
WRONG PARAGRAPH: <the number of the earliest paragraph with an error, or NONE>
REASON: <one sentence: what is wrong in that paragraph, or "no error">"""

WRONG_PARAGRAPH_LINE = re.compile(r"^\W*WRONG\W+PARAGRAPH\W*:?\W*(NONE|\d+)\b", re.I | re.M)
REASON_LINE = re.compile(r"^\W*REASON\W*:\s*(.+?)\s*$", re.I | re.M)
# A paragraph ends at a blank line or at a think tag.
PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*|<think>|</think>")
STEP_CHUNK = 1000  # traces read from the store at a time by --steps
VERDICT_LINE = re.compile(r"^\W*VERDICT\W*:?\W*(CORRECT|INCORRECT)\b", re.I | re.M)
ANSWER_LINE = re.compile(r"^\W*ANSWER\W*:\s*(.+?)\s*$", re.I | re.M)
JUDGED_VERDICTS = ("unparseable", "timeout")

VERDICT_SCHEMA: dict[str, pl.DataType] = {
    "sample_id": pl.String,
    "verifier": pl.String,
    "answer": pl.String,
    "answer_source": pl.String,
    "verdict": pl.String,
    "reason": pl.String,
    "elapsed_ms": pl.Float64,
    "run_id": pl.String,
    "content_hash": pl.String,
}


@dataclass(frozen=True)
class JudgeConfig(EndpointConfig):
    """`curate judge` options: the endpoint options of `EndpointConfig` and these."""

    include_incorrect: bool = False
    limit: int | None = None
    max_tokens: int = 8192
    temperature: float = 0.0
    steps: bool = False  # the step critic: the earliest wrong paragraph of each correct trace (step_checks)


@dataclass
class JudgeResult:
    """The run's outcome, filled in while it runs; `print_summary` shows it."""

    run_id: str
    status: str  # ok / incomplete (some requests failed)
    candidates: int = 0
    counts: dict[str, int] = field(
        default_factory=lambda: {"correct": 0, "incorrect": 0, "unparseable": 0, "failed": 0}
    )
    cost_usd: float | None = 0.0
    elapsed_s: float = 0.0
    rejudged: int = 0  # candidates judged before: for earlier content, or without a verdict line
    awaiting_verify: int = 0  # samples left out: their SymPy verdicts belong to earlier content (verdict_pending)


def judge_prompt(question: str, gold: str, response: str) -> str:
    """The judge's instruction with the problem, its gold answer and the sample's response."""
    return JUDGE_PROMPT.format(question=question.strip(), gold=gold.strip(), response=response.strip())


def parse_judgement(text: str | None) -> tuple[str, str | None, str]:
    """(verdict, answer, reason) from the judge's reply; the last verdict line wins."""
    text = text or ""
    verdicts = VERDICT_LINE.findall(text)
    answers = ANSWER_LINE.findall(text)
    answer = answers[-1] if answers else None
    if not verdicts:
        tail = " ".join(text.split())[-200:]
        return "unparseable", answer, f"judge reply had no VERDICT line: {tail!r}"
    verdict = verdicts[-1].lower()
    return verdict, answer, f"VERDICT: {verdict.upper()}"


def paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the trace's paragraphs, surrounding spaces left out."""
    spans, start = [], 0
    for match in [*PARAGRAPH_BREAK.finditer(text), None]:
        end = match.start() if match else len(text)
        piece = text[start:end]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            spans.append((start + lead, start + len(piece.rstrip())))
        if match:
            start = match.end()
    return spans


def steps_prompt(question: str | None, text: str) -> str:
    """The step critic's instruction with the problem and the trace's numbered paragraphs."""
    numbered = "\n\n".join(f"[{i}] {text[a:b]}" for i, (a, b) in enumerate(paragraphs(text), start=1))
    return STEPS_PROMPT.format(question=(question or "(no problem statement stored)").strip(), paragraphs=numbered)


def parse_steps_judgement(text: str | None, count: int) -> tuple[str, int | None, str]:
    """(outcome, paragraph number, reason) from the critic's reply; the last WRONG PARAGRAPH line
    wins. outcome: "wrong" (a paragraph 1..count), "clean" (NONE) or "unparseable"."""
    text = text or ""
    found = WRONG_PARAGRAPH_LINE.findall(text)
    reasons = REASON_LINE.findall(text)
    reason = reasons[-1] if reasons else ""
    if not found:
        return "unparseable", None, f"judge reply had no WRONG PARAGRAPH line: {' '.join(text.split())[-200:]!r}"
    if found[-1].upper() == "NONE":
        return "clean", None, reason or "no error"
    number = int(found[-1])
    if not 1 <= number <= count:
        return "unparseable", None, f"judge named paragraph {number} of {count}"
    return "wrong", number, reason or f"paragraph {number}"


def verifier_name(model: str) -> str:
    """The verifier name a judge model's verdicts are stored under."""
    return f"judge:{model}"


def select_candidates(store: Store, config: JudgeConfig) -> pl.DataFrame:
    """Samples to judge: sample_id, content_hash, question, gold_answer, content, and `rejudged`:
    the sample has a verdict of this judge for earlier content (or an unparseable one)."""
    verdicts = list(JUDGED_VERDICTS) + (["incorrect"] if config.include_incorrect else [])
    marks = ", ".join("?" for _ in verdicts)
    sql = f"""
        SELECT s.sample_id, s.content_hash, p.question, p.gold_answer, s.content,
               EXISTS (SELECT 1 FROM verdicts j WHERE j.sample_id = s.sample_id AND j.verifier = ?) AS rejudged
        FROM verdict_current v
        JOIN samples s USING (sample_id)
        JOIN problems p ON p.problem_id = s.problem_id
        WHERE v.verdict IN ({marks})
          AND p.gold_answer IS NOT NULL
          AND list_contains(?, p.domain)
          AND coalesce(trim(s.content), '') <> ''
          AND s.sample_id NOT IN (
              SELECT sample_id FROM judge_current WHERE verifier = ? AND verdict IN ('correct', 'incorrect'))
        ORDER BY s.sample_id
    """
    if config.limit is not None:
        sql += f" LIMIT {int(config.limit)}"
    # Programs and queries are judged by running them, never by a reader (VOTING_DOMAINS: math, choice).
    domains = sorted(VOTING_DOMAINS)
    return store.query(sql, [verifier_name(config.model), *verdicts, domains, verifier_name(config.model)])


async def ask_all(
    config: JudgeConfig,
    rows: pl.DataFrame,
    prompt_of: Callable[[dict], str],
    on_reply: Callable[[dict, Any], Any],
    batches: Batches,
    summary: JudgeResult,
    price,
    api_key: str,
) -> None:
    """Send `prompt_of(row)` for every row with `config.concurrency` requests in flight, and hand
    `on_reply(row, reply)` (the item to store) to `batches` as replies arrive; the costs add up in
    `summary`, and a request that fails after its retries (or is cut at max_tokens) counts as failed."""
    policy = RetryPolicy(max_retries=config.max_retries, base_s=config.backoff_s)
    pool = EndpointPool(endpoint_urls(config.base_urls), api_key, config.timeout_s, config.concurrency, policy)
    params = {"temperature": config.temperature, "max_tokens": config.max_tokens}
    work = iter(rows.iter_rows(named=True))
    rejected: list[EndpointRejected] = []

    async def worker() -> None:
        for row in work:
            if rejected:
                return
            try:
                outcome = await complete(
                    pool,
                    model=config.model,
                    messages=[{"role": "user", "content": prompt_of(row)}],
                    params=params,
                    policy=policy,
                    price=price,
                )
            except EndpointRejected as error:
                rejected.append(error)
                return
            if outcome.cost_usd is not None and summary.cost_usd is not None:
                summary.cost_usd += outcome.cost_usd
            if outcome.reply is None or outcome.reply.finish_reason == "length":
                summary.counts["failed"] += 1
                continue
            batches.add(on_reply(row, outcome.reply))

    flusher = asyncio.create_task(batches.run())
    workers = [asyncio.create_task(worker()) for _ in range(min(config.concurrency, max(1, rows.height)))]
    try:
        await asyncio.gather(*workers)
    finally:
        for task in [*workers, flusher]:
            task.cancel()
        await asyncio.gather(*workers, flusher, return_exceptions=True)
        batches.flush()
        await pool.close()
    if rejected:
        raise rejected[0]


def _answer_judgement(summary: JudgeResult, verifier: str) -> Callable[[dict, Any], dict]:
    """The verdicts row of one judge reply (the plain judge)."""

    def on_reply(row: dict, reply: Any) -> dict:
        verdict, answer, reason = parse_judgement(reply.content)
        summary.counts[verdict] += 1
        return {
            "sample_id": row["sample_id"],
            "verifier": verifier,
            "answer": answer,
            "answer_source": "judge",
            "verdict": verdict,
            "reason": reason,
            "elapsed_ms": reply.latency_s * 1000,
            "run_id": summary.run_id,
            "content_hash": row["content_hash"],
        }

    return on_reply


def select_step_candidates(store: Store, config: JudgeConfig) -> list[str]:
    """Ids of the samples the step critic reads (see the module docstring), in id order."""
    verdicts = ["correct"] + (["incorrect"] if config.include_incorrect else [])
    where = (
        "list_contains(?, v.verdict) AND (coalesce(trim(s.reasoning), '') <> '' OR coalesce(trim(s.content), '') <> '')"
        # Only prose traces have steps to critique; a program's or a query's tests judge it.
        " AND list_contains(?, coalesce(p.domain, 'math'))"
    )
    rows = store.execute(
        "SELECT s.sample_id FROM verdict_current v JOIN samples s USING (sample_id) "
        "LEFT JOIN problems p ON p.problem_id = s.problem_id "
        f"WHERE {where} AND NOT EXISTS (SELECT 1 FROM step_check_samples c WHERE c.sample_id = s.sample_id "
        "AND c.checker = ? AND c.content_hash = s.content_hash) ORDER BY s.sample_id"
        + (f" LIMIT {int(config.limit)}" if config.limit is not None else ""),
        [verdicts, list(STEP_DOMAINS), verifier_name(config.model)],
    ).fetchall()
    return [row[0] for row in rows]


def _step_judgement(summary: JudgeResult) -> Callable[[dict, Any], CheckedSample]:
    """The step checks of one critic reply."""

    def on_reply(row: dict, reply: Any) -> CheckedSample:
        text = row["text"]
        spans = paragraphs(text)
        outcome, number, reason = parse_steps_judgement(reply.content, len(spans))
        summary.counts[outcome] += 1
        if outcome == "wrong":
            start, end = spans[number - 1]
            claims = [StepCheck(start, end, text[start:end], "wrong", False, f"paragraph {number}: {reason}")]
        elif outcome == "unparseable":
            claims = [StepCheck(0, 0, "", "unchecked", False, reason)]
        else:
            claims = []
        return CheckedSample(row["sample_id"], row["content_hash"], claims, reply.latency_s * 1000)

    return on_reply


def _run_steps(store: Store, config: JudgeConfig, price, api_key: str) -> JudgeResult:
    candidates = select_step_candidates(store, config)
    checker = verifier_name(config.model)
    stored_config = {**asdict(config), "base_urls": [public_url(u) for u in config.base_urls]}
    with store.run("judge", stored_config) as record:
        summary = JudgeResult(
            run_id=record.run_id,
            status="ok",
            candidates=len(candidates),
            counts={"wrong": 0, "clean": 0, "unparseable": 0, "failed": 0},
            cost_usd=None if price is None else 0.0,
            awaiting_verify=store.scalar("SELECT count(*) FROM verdict_pending"),
        )
        record.counts_of = lambda: _counts(summary)
        stderr.print(f"checking the steps of {len(candidates)} samples with {config.model}")
        started = time.monotonic()
        batches = Batches(lambda items: replace_checks(store, checker, items, summary.run_id))
        try:
            for first in range(0, len(candidates), STEP_CHUNK):
                rows = store.query(
                    "SELECT s.sample_id, s.content_hash, s.reasoning, s.content, p.question FROM samples s "
                    "LEFT JOIN problems p ON p.problem_id = s.problem_id "
                    "WHERE list_contains(?, s.sample_id) ORDER BY s.sample_id",
                    [candidates[first : first + STEP_CHUNK]],
                ).with_columns(
                    text=pl.struct("reasoning", "content").map_elements(
                        lambda r: full_response(r["reasoning"], r["content"]), return_dtype=pl.String
                    )
                )
                asyncio.run(
                    ask_all(
                        config,
                        rows.drop("reasoning", "content"),
                        lambda row: steps_prompt(row["question"], row["text"]),
                        _step_judgement(summary),
                        batches,
                        summary,
                        price,
                        api_key,
                    )
                )
        except asyncio.CancelledError:
            raise KeyboardInterrupt from None
        summary.elapsed_s = time.monotonic() - started
        summary.status = record.status = "incomplete" if summary.counts["failed"] else "ok"
        if summary.counts["failed"]:
            record.error = f"{summary.counts['failed']} samples not checked; rerun to retry them"
    return summary


def run(store: Store, config: JudgeConfig) -> JudgeResult:
    """Grade the unsettled samples with the judge model (with `steps`: check the steps of the
    correct ones); see the module docstring."""
    if config.concurrency <= 0 or config.max_tokens <= 0 or config.timeout_s <= 0:
        raise BadInput("--concurrency, --max-tokens and --timeout must be positive", field="--concurrency")
    if config.limit is not None and config.limit < 0:
        raise BadInput("must be zero or more", field="--limit")
    price = resolve_price(
        config.model, table_file=config.price_file, price_in=config.price_in, price_out=config.price_out
    )
    api_key = os.environ.get(config.api_key_env) or "not-set"
    if config.steps:
        return _run_steps(store, config, price, api_key)
    candidates = select_candidates(store, config)
    stored_config = {**asdict(config), "base_urls": [public_url(u) for u in config.base_urls]}
    with store.run("judge", stored_config) as record:
        run_id = record.run_id
        summary = JudgeResult(
            run_id=run_id,
            status="ok",
            candidates=candidates.height,
            cost_usd=None if price is None else 0.0,
            rejudged=int(candidates["rejudged"].sum()) if candidates.height else 0,
            awaiting_verify=store.scalar("SELECT count(*) FROM verdict_pending"),
        )
        record.counts_of = lambda: _counts(summary)
        stderr.print(f"judging {candidates.height} samples with {config.model}")
        started = time.monotonic()
        try:
            if candidates.height:
                asyncio.run(
                    ask_all(
                        config,
                        candidates,
                        lambda row: judge_prompt(row["question"], row["gold_answer"], row["content"]),
                        _answer_judgement(summary, verifier_name(config.model)),
                        WriteThrough(store, "verdicts", VERDICT_SCHEMA),
                        summary,
                        price,
                        api_key,
                    )
                )
        except asyncio.CancelledError:
            raise KeyboardInterrupt from None
        summary.elapsed_s = time.monotonic() - started
        summary.status = record.status = "incomplete" if summary.counts["failed"] else "ok"
        if summary.counts["failed"]:  # work left undone: a rerun retries these samples
            record.error = f"{summary.counts['failed']} samples not judged; rerun to retry them"
    return summary


def _counts(summary: JudgeResult) -> dict:
    return {
        **summary.counts,
        "candidates": summary.candidates,
        "rejudged": summary.rejudged,
        "awaiting_verify": summary.awaiting_verify,
        "cost_usd": summary.cost_usd,
    }


def print_summary(summary: JudgeResult) -> None:
    """One line on stderr: samples judged, verdict counts and cost."""
    cost = "unknown" if summary.cost_usd is None else f"${summary.cost_usd:,.4f}"
    counts = ", ".join(f"{k} {v}" for k, v in summary.counts.items())
    again = f" ({summary.rejudged} judged before, for earlier content or without a verdict)" if summary.rejudged else ""
    stderr.print(f"judge {summary.run_id}: {summary.candidates} samples{again}; {counts}; cost {cost}")
    if summary.awaiting_verify:
        stderr.print(
            f"{summary.awaiting_verify} samples left out: their SymPy verdicts belong to earlier content "
            "(a trace, gold answer or question changed); run `curate verify`, then `curate judge` again",
            highlight=False,
        )
