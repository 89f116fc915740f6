"""The judge: the second agent of the dual-agent setup, a model that grades the samples the SymPy
verifier could not settle.

Contract
- Inputs: `verdict_current` (the newest SymPy verdict per sample) joined with `samples` and
  `problems`. It picks samples whose verdict is `unparseable` or `timeout` (with
  `--include-incorrect` also `incorrect`), whose problem has a gold answer and whose final
  content is not empty, and that have no correct/incorrect verdict from this judge yet.
- Outputs: one `verdicts` row per judged sample with verifier "judge:MODEL", answer_source
  "judge", verdict correct / incorrect (unparseable when the reply has no verdict line), the
  judge's extracted answer and its verdict line as the reason. The SymPy verdict stays beside it,
  so both are visible (`verdict_current` ignores judge rows). A `runs` row per invocation.
- Command: `curate judge --model NAME [--base-url URL]... [--include-incorrect] [--limit K]`.
- Requests go through `curate.chat_client` (same endpoints, retries and rate rules as
  `curate generate`); rows are written through as they arrive, so a rerun judges only the rest.

Caveats: the judge sees the problem, the gold answer and the sample's final content (the text
after the thinking), not the reasoning, to keep prompts short and the judgement about the
stated answer. Samples whose request fails after retries get no row and are retried on rerun.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from dataclasses import asdict, dataclass, field

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
from curate.write_through import WriteThrough
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
}


@dataclass(frozen=True)
class JudgeConfig(EndpointConfig):
    """`curate judge` options: the endpoint options of `EndpointConfig` and these."""

    include_incorrect: bool = False
    limit: int | None = None
    max_tokens: int = 8192
    temperature: float = 0.0


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


def verifier_name(model: str) -> str:
    """The verifier name a judge model's verdicts are stored under."""
    return f"judge:{model}"


def select_candidates(store: Store, config: JudgeConfig) -> pl.DataFrame:
    """Samples to judge: sample_id, question, gold_answer, content."""
    verdicts = list(JUDGED_VERDICTS) + (["incorrect"] if config.include_incorrect else [])
    marks = ", ".join("?" for _ in verdicts)
    sql = f"""
        SELECT s.sample_id, p.question, p.gold_answer, s.content
        FROM verdict_current v
        JOIN samples s USING (sample_id)
        JOIN problems p ON p.problem_id = s.problem_id
        WHERE v.verdict IN ({marks})
          AND p.gold_answer IS NOT NULL
          AND coalesce(trim(s.content), '') <> ''
          AND s.sample_id NOT IN (
              SELECT sample_id FROM verdicts WHERE verifier = ? AND verdict IN ('correct', 'incorrect'))
        ORDER BY s.sample_id
    """
    if config.limit is not None:
        sql += f" LIMIT {int(config.limit)}"
    return store.query(sql, [*verdicts, verifier_name(config.model)])


async def _judge_all(
    store: Store, config: JudgeConfig, candidates: pl.DataFrame, summary: JudgeResult, price, api_key: str
) -> None:
    policy = RetryPolicy(max_retries=config.max_retries, base_s=config.backoff_s)
    pool = EndpointPool(endpoint_urls(config.base_urls), api_key, config.timeout_s, config.concurrency, policy)
    writer = WriteThrough(store, "verdicts", VERDICT_SCHEMA)
    params = {"temperature": config.temperature, "max_tokens": config.max_tokens}
    verifier = verifier_name(config.model)
    work = iter(candidates.iter_rows(named=True))
    rejected: list[EndpointRejected] = []

    async def worker() -> None:
        for row in work:
            if rejected:
                return
            prompt = judge_prompt(row["question"], row["gold_answer"], row["content"])
            try:
                outcome = await complete(
                    pool,
                    model=config.model,
                    messages=[{"role": "user", "content": prompt}],
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
            verdict, answer, reason = parse_judgement(outcome.reply.content)
            summary.counts[verdict] += 1
            writer.add(
                {
                    "sample_id": row["sample_id"],
                    "verifier": verifier,
                    "answer": answer,
                    "answer_source": "judge",
                    "verdict": verdict,
                    "reason": reason,
                    "elapsed_ms": outcome.reply.latency_s * 1000,
                    "run_id": summary.run_id,
                }
            )

    flusher = asyncio.create_task(writer.run())
    workers = [asyncio.create_task(worker()) for _ in range(min(config.concurrency, max(1, candidates.height)))]
    try:
        await asyncio.gather(*workers)
    finally:
        for task in [*workers, flusher]:
            task.cancel()
        await asyncio.gather(*workers, flusher, return_exceptions=True)
        writer.flush()
        await pool.close()
    if rejected:
        raise rejected[0]


def run(store: Store, config: JudgeConfig) -> JudgeResult:
    """Grade the unsettled samples with the judge model; see the module docstring."""
    if config.concurrency <= 0 or config.max_tokens <= 0 or config.timeout_s <= 0:
        raise BadInput("--concurrency, --max-tokens and --timeout must be positive", field="--concurrency")
    if config.limit is not None and config.limit < 0:
        raise BadInput("must be zero or more", field="--limit")
    price = resolve_price(
        config.model, table_file=config.price_file, price_in=config.price_in, price_out=config.price_out
    )
    api_key = os.environ.get(config.api_key_env) or "not-set"
    candidates = select_candidates(store, config)
    stored_config = {**asdict(config), "base_urls": [public_url(u) for u in config.base_urls]}
    with store.run("judge", stored_config) as record:
        run_id = record.run_id
        summary = JudgeResult(
            run_id=run_id, status="ok", candidates=candidates.height, cost_usd=None if price is None else 0.0
        )
        record.counts_of = lambda: _counts(summary)
        stderr.print(f"judging {candidates.height} samples with {config.model}")
        started = time.monotonic()
        try:
            if candidates.height:
                asyncio.run(_judge_all(store, config, candidates, summary, price, api_key))
        except asyncio.CancelledError:
            raise KeyboardInterrupt from None
        summary.elapsed_s = time.monotonic() - started
        summary.status = record.status = "incomplete" if summary.counts["failed"] else "ok"
        if summary.counts["failed"]:  # work left undone: a rerun retries these samples
            record.error = f"{summary.counts['failed']} samples not judged; rerun to retry them"
    return summary


def _counts(summary: JudgeResult) -> dict:
    return {**summary.counts, "candidates": summary.candidates, "cost_usd": summary.cost_usd}


def print_summary(summary: JudgeResult) -> None:
    """One line on stderr: samples judged, verdict counts and cost."""
    cost = "unknown" if summary.cost_usd is None else f"${summary.cost_usd:,.4f}"
    counts = ", ".join(f"{k} {v}" for k, v in summary.counts.items())
    stderr.print(f"judge {summary.run_id}: {summary.candidates} samples; {counts}; cost {cost}")
