"""Teacher sampling: several completions per problem from an OpenAI-compatible endpoint (or a
local transformers model), written to the store as they arrive.

Contract
- Inputs: `problems` (filtered by `--split`, `--source`, first `--limit` by problem_id).
  Outputs: one `samples` row per (problem, model, params, sample_index), a `runs` row per
  invocation. Command: `curate generate --model NAME [--base-url URL]... [--samples N] ...`.
- Prompt: `render_prompt(question, template_for(domain, templates))`, the template of the
  problem's domain (problems.domain; curate/prompts.py: math asks for a boxed answer, code and
  sql for the block the question names, choice for a boxed letter; `--prompt-template FILE`
  replaces every domain's, `DOMAIN=FILE` one domain's), sent as one user turn; the exact text
  is stored with each sample.
- Identity: `params_hash` hashes every parameter that changes the output (model, temperature,
  top_p, max_tokens, the prompt template text of the problem's domain), so a run over several
  domains writes one params_hash per domain (runs.config `params_hashes`), and a math problem's
  is the one it had before templates were chosen by domain; `sample_id` hashes (problem_id,
  model, params_hash, sample_index). The endpoint, concurrency, budget, rate limits and timeouts are not part of it:
  moving to another server or changing concurrency resumes the same samples.
- Shards: `--shard K/N` keeps only the (problem, sample) pairs `in_shard` gives share K (a hash
  of problem_id and sample_index), so N machines with their own endpoints and stores cover
  every pair once; `curate merge` (curate/merge.py) brings their stores together.
- Statuses: ok; truncated (finish `length`, kept, never retried automatically); empty (no final
  content after the retries); error (the request failed after its retries, or with a 4xx; the
  error text is stored). Rerunning the same command generates only the samples that are missing
  or in status error; ok, truncated and empty are final.
- Write-through: a writer task commits finished samples in one `insert_frame` about every 0.5 s,
  so Ctrl-C keeps everything finished (the run is marked interrupted) and `kill -9` loses at most
  the requests in flight. Between those commits the store file is closed (`Store.release`), so
  `curate sql`, `curate stats` and the review app can read it while generate runs (other writers
  still wait: db/writer_lock.py); a reader that keeps it open only delays the next commit.
- Cost: `curate.pricing` prices; a live projection (spent + remaining x mean cost per sample);
  `--budget-usd` stops sending when spend plus the projected cost of the requests in flight
  would pass the budget (those in flight finish, so spend can pass it by their estimation error).
- `--backend local --model tiny|PATH` generates in-process with `curate.local_generation`
  (batched transformers; cost 0, endpoint "local").

Caveats: each sample is its own request (n = 1), so retries and resume work per sample. The
budget counts this invocation's spend only. While it runs, DuckDB's block cache is held to
WRITE_MEMORY_LIMIT (the previous limit is restored after), so memory stays flat on long runs.
A run killed with `kill -9` reads 'interrupted' once the next command opens the store (its
pid is gone). Keys are read from the environment variable named by `--api-key-env` and never
stored: runs.config records the variable's name, not its value. Run statuses: ok, budget
(stopped by --budget-usd), interrupted, failed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import time
from collections import Counter
from dataclasses import asdict, dataclass, field

import polars as pl
from rich.markup import escape

from curate.chat_client import (
    EndpointConfig,
    EndpointPool,
    EndpointRejected,
    Outcome,
    RateLimiter,
    RetryPolicy,
    complete,
    endpoint_urls,
    public_url,
)
from curate.pricing import Price, resolve_price
from curate.prompts import load_templates, render_prompt, template_for
from curate.traces import split_think
from curate.write_through import WriteThrough
from db import BadInput, is_interrupt
from db.errors import note_sigterm
from db.console import progress_bar, stderr
from db.store import Store

TINY_MODEL_NAME = "SmolLM2-135M-Instruct-Q4_1"
FINAL_STATUSES = ("ok", "truncated", "empty")
DISPLAY_INTERVAL_S = 0.25
# DuckDB caches written blocks up to its memory limit (80% of RAM by default), so a long run's
# memory would grow with the data; while writing through, the cache is held to this size.
WRITE_MEMORY_LIMIT = "64MB"

SAMPLE_SCHEMA: dict[str, pl.DataType] = {
    "sample_id": pl.String,
    "problem_id": pl.String,
    "model": pl.String,
    "params_hash": pl.String,
    "sample_index": pl.Int32,
    "params": pl.String,
    "prompt": pl.String,
    "reasoning": pl.String,
    "content": pl.String,
    "finish_reason": pl.String,
    "status": pl.String,
    "error": pl.String,
    "prompt_tokens": pl.Int32,
    "completion_tokens": pl.Int32,
    "reasoning_tokens": pl.Int32,
    "latency_s": pl.Float64,
    "cost_usd": pl.Float64,
    "endpoint": pl.String,
    "run_id": pl.String,
}


@dataclass(frozen=True)
class GenerateConfig(EndpointConfig):
    """`curate generate` options: the endpoint options of `EndpointConfig` and these."""

    backend: str = "openai"  # openai | local
    samples: int = 4
    max_tokens: int = 32768
    temperature: float = 0.6
    top_p: float = 0.95
    split: str | None = None
    source: str | None = None
    limit: int | None = None
    budget_usd: float | None = None
    rpm: float | None = None
    tpm: float | None = None
    # A FILE for every domain, or FILE and DOMAIN=FILE specs (curate.prompts.load_templates); None: the defaults.
    prompt_template: str | tuple[str, ...] | None = None
    batch_size: int = 16  # local backend
    local_engine: str = "batched"  # local backend: batched / continuous (curate.local_generation)
    progress: bool = True
    shard: str | None = None  # "K/N": only the (problem, sample) pairs of share K of N (see in_shard)


@dataclass
class GenerateResult:
    """The run's outcome, filled in while it runs; `print_summary` shows it."""

    run_id: str
    status: str  # ok / interrupted / budget / incomplete (some samples failed) / failed
    planned: int = 0
    already_done: int = 0
    counts: dict[str, int] = field(default_factory=lambda: {s: 0 for s in ("ok", "truncated", "empty", "error")})
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = 0.0
    retries: int = 0
    elapsed_s: float = 0.0
    stop_reason: str | None = None
    error_causes: Counter = field(default_factory=Counter)  # last error text of each failed sample -> count

    @property
    def written(self) -> int:
        return sum(self.counts.values())

    def failure_lines(self, limit: int = 3) -> list[str]:
        """The commonest causes of failed samples, a line each ("2 x HTTP 401: ..."), then how many more."""
        common = self.error_causes.most_common()
        lines = [f"{count} x {cause}" for cause, count in common[:limit]]
        if len(common) > limit:
            lines.append(f"... and {len(common) - limit} other causes ({sum(n for _, n in common[limit:])} samples)")
        return lines


# -- identity --------------------------------------------------------------------------------


def generation_params(config: GenerateConfig, template: str) -> dict:
    """Every parameter that changes the output of a problem whose domain has `template`; hashed into params_hash."""
    return {
        "model": model_name(config),
        "temperature": config.temperature,
        "top_p": config.top_p,
        "max_tokens": config.max_tokens,
        "prompt_template": template,
    }


@dataclass(frozen=True)
class DomainParams:
    """A domain's template and the params_hash and stored `params` JSON of its problems' samples."""

    template: str
    digest: str
    params_json: str


def domain_params(config: GenerateConfig, templates: dict[str, str]) -> dict[str, DomainParams]:
    """domain -> its DomainParams; samples store the template's sha256, not its text."""
    result = {}
    for domain, template in templates.items():
        params = generation_params(config, template)
        stored = {k: v for k, v in params.items() if k != "prompt_template"}
        stored["prompt_template_sha256"] = hashlib.sha256(template.encode()).hexdigest()[:16]
        result[domain] = DomainParams(template, params_hash(params), json.dumps(stored, sort_keys=True))
    return result


def params_hash(params: dict) -> str:
    """16 hex digits of SHA-256 over the sorted-key JSON of the output-changing parameters."""
    return hashlib.sha256(json.dumps(params, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def sample_id(problem_id: str, model: str, params_digest: str, sample_index: int) -> str:
    """The sample's stable id: a hash of (problem_id, model, params_hash, sample_index)."""
    key = "\x1f".join((problem_id, model, params_digest, str(sample_index)))
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """ "K/N" (1 <= K <= N) -> (K, N); None stays None."""
    if text is None:
        return None
    parts = text.split("/")
    if len(parts) != 2 or not all(part.strip().isdigit() for part in parts):
        raise BadInput(f"expected K/N such as 2/3, got {text!r}", field="--shard")
    k, n = int(parts[0]), int(parts[1])
    if not 1 <= k <= n:
        raise BadInput(f"K must be between 1 and N, got {text!r}", field="--shard")
    return k, n


def in_shard(problem_id: str, sample_index: int, shard: tuple[int, int] | None) -> bool:
    """Whether a (problem, sample) pair is share K's of N: a hash of the pair, so every machine
    agrees whatever its problem order, endpoints or settings; the N shares cover every pair once."""
    if shard is None:
        return True
    k, n = shard
    key = f"{problem_id}\x1f{sample_index}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") % n == k - 1


def model_name(config: GenerateConfig) -> str:
    """The model name stored with samples ('tiny' on the local backend is the bundled SmolLM2 file)."""
    return TINY_MODEL_NAME if config.backend == "local" and config.model == "tiny" else config.model


# -- planning --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What a run must generate: the questions, the pending samples and how many were already done."""

    questions: dict[str, str]  # problem_id -> question
    domains: dict[str, str]  # problem_id -> domain
    pending: list[tuple[str, int, str]]  # (problem_id, sample_index, sample_id)
    already_done: int


def plan_samples(store: Store, config: GenerateConfig, by_domain: dict[str, DomainParams]) -> Plan:
    """The samples this run must produce (of its shard): missing ones and earlier errors."""
    where, args = [], []
    if config.split:
        where.append("split = ?")
        args.append(config.split)
    if config.source:
        where.append("source = ?")
        args.append(config.source)
    sql = "SELECT problem_id, question, domain FROM problems" + (" WHERE " + " AND ".join(where) if where else "")
    sql += " ORDER BY problem_id" + (f" LIMIT {int(config.limit)}" if config.limit is not None else "")
    problems = store.query(sql, args or None)
    domains = dict(zip(problems["problem_id"].to_list(), problems["domain"].to_list()))
    for domain in sorted(set(domains.values()) - set(by_domain)):
        template_for(domain, by_domain)  # names the domain no template is known for
    model = model_name(config)
    final = set(
        store.query(
            "SELECT sample_id FROM samples WHERE model = ? AND params_hash = ANY(?) "
            "AND status IN ('ok', 'truncated', 'empty')",
            [model, sorted({by_domain[domain].digest for domain in domains.values()})],
        )["sample_id"].to_list()
    )
    pending, done = [], 0
    shard = parse_shard(config.shard)
    for problem_id, domain in domains.items():
        digest = by_domain[domain].digest
        for index in range(config.samples):
            if not in_shard(problem_id, index, shard):
                continue
            sid = sample_id(problem_id, model, digest, index)
            if sid in final:
                done += 1
            else:
                pending.append((problem_id, index, sid))
    questions = dict(zip(problems["problem_id"].to_list(), problems["question"].to_list()))
    return Plan(questions, domains, pending, done)


def prompt_of(plan: Plan, by_domain: dict[str, DomainParams], problem_id: str) -> str:
    """The prompt sent (and stored) for a problem: its question in its domain's template."""
    return render_prompt(plan.questions[problem_id], by_domain[plan.domains[problem_id]].template)


# -- progress --------------------------------------------------------------------------------


class Display:
    """A rich progress line on stderr, redrawn at most 4 times a second."""

    def __init__(self, enabled: bool, total: int, summary: GenerateResult, model: str):
        self.summary, self.total, self.started = summary, total, time.monotonic()
        self.in_flight = 0
        self.projected: float | None = None
        self._progress = None
        if enabled:
            self._progress = progress_bar("{task.fields[detail]}", auto_refresh=False)
            self._task = self._progress.add_task(escape(model), total=total, detail="")
            self._progress.start()

    def detail(self) -> str:
        """The text after the bar: tokens/s, requests in flight, cost and projection, failures and retries."""
        s = self.summary
        elapsed = max(1e-9, time.monotonic() - self.started)
        parts = [f"{s.completion_tokens / elapsed:,.0f} tok/s", f"in flight {self.in_flight}"]
        if s.cost_usd is not None:
            parts.append(
                f"${s.cost_usd:,.4f}" + (f" (projected ${self.projected:,.2f})" if self.projected is not None else "")
            )
        problems = {k: v for k, v in s.counts.items() if k != "ok" and v}
        if problems or s.retries:
            parts.append(
                " ".join(f"{k} {v}" for k, v in problems.items()) + (f" retries {s.retries}" if s.retries else "")
            )
        return " | ".join(parts)

    def refresh(self) -> None:
        """Redraw the line now."""
        if self._progress is not None:
            self._progress.update(self._task, completed=self.summary.written, detail=self.detail())
            self._progress.refresh()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(DISPLAY_INTERVAL_S)
            self.refresh()

    def stop(self) -> None:
        """Draw the final state and release the terminal."""
        if self._progress is not None:
            self.refresh()
            self._progress.stop()


# -- the run ---------------------------------------------------------------------------------


@dataclass
class Budget:
    """Spend so far and the projection `--budget-usd` is checked against before each request."""

    limit_usd: float | None
    price: Price | None
    max_tokens: int
    spent: float = 0.0
    in_flight: int = 0
    finished: int = 0

    def mean_cost(self, prompt_chars: int) -> float:
        """Mean cost per sample so far; before the first answer, the worst case (a full max_tokens reply)."""
        if self.finished:
            return self.spent / self.finished
        # Before the first answer: the worst case, a full max_tokens completion.
        return self.price.cost(prompt_chars // 4, self.max_tokens) if self.price else 0.0

    def allows_another(self, prompt_chars: int) -> bool:
        """Whether one more request keeps spend plus the projected cost of those in flight within the budget."""
        if self.limit_usd is None:
            return True
        return self.spent + (self.in_flight + 1) * self.mean_cost(prompt_chars) <= self.limit_usd


def _row(
    model: str,
    identity: DomainParams,
    run_id: str,
    problem_id: str,
    index: int,
    sid: str,
    prompt: str,
    outcome: Outcome,
) -> dict:
    reply = outcome.reply
    row = {
        "sample_id": sid,
        "problem_id": problem_id,
        "model": model,
        "params_hash": identity.digest,
        "sample_index": index,
        "params": identity.params_json,
        "prompt": prompt,
        "run_id": run_id,
        "cost_usd": outcome.cost_usd,
        "endpoint": outcome.endpoint,
    }
    if reply is None:
        row.update(status="error", error=outcome.error)
        return row
    status = "truncated" if reply.finish_reason == "length" else ("empty" if reply.empty else "ok")
    row.update(
        reasoning=reply.reasoning,
        content=reply.content,
        finish_reason=reply.finish_reason,
        status=status,
        prompt_tokens=reply.prompt_tokens,
        completion_tokens=reply.completion_tokens,
        reasoning_tokens=reply.reasoning_tokens,
        latency_s=reply.latency_s,
    )
    return row


def error_cause(error: str | None) -> str:
    """A failed sample's cause without the attempt count: "connection error: ConnectError ...", "HTTP 401: ..."."""
    text = (error or "unknown error").rsplit("; last: ", 1)[-1]
    return text if len(text) <= 160 else text[:157] + "..."


def _count(summary: GenerateResult, row: dict) -> None:
    summary.counts[row["status"]] += 1
    if row["status"] == "error":
        summary.error_causes[error_cause(row.get("error"))] += 1
    summary.prompt_tokens += row.get("prompt_tokens") or 0
    summary.completion_tokens += row.get("completion_tokens") or 0


async def _run_api(
    store: Store,
    config: GenerateConfig,
    plan: Plan,
    by_domain: dict[str, DomainParams],
    price: Price | None,
    summary: GenerateResult,
    api_key: str,
) -> None:
    model = model_name(config)
    policy = RetryPolicy(max_retries=config.max_retries, base_s=config.backoff_s)
    pool = EndpointPool(endpoint_urls(config.base_urls), api_key, config.timeout_s, config.concurrency, policy)
    limiter = (
        RateLimiter(config.rpm, config.tpm, expected_completion_tokens=min(config.max_tokens, 4000))
        if (config.rpm or config.tpm)
        else None
    )
    writer = WriteThrough(store, "samples", SAMPLE_SCHEMA, release_between=True)
    store.release()  # readers may watch the store while the requests run
    display = Display(config.progress, len(plan.pending), summary, model)
    budget = Budget(config.budget_usd, price, config.max_tokens)
    request_params = {"temperature": config.temperature, "top_p": config.top_p, "max_tokens": config.max_tokens}
    work = iter(plan.pending)
    rejected: list[EndpointRejected] = []

    def on_retry(_error: str | None) -> None:
        summary.retries += 1

    async def worker() -> None:
        for problem_id, index, sid in work:
            if rejected:
                return
            prompt = prompt_of(plan, by_domain, problem_id)
            if not budget.allows_another(len(prompt)):
                summary.stop_reason = f"budget ${config.budget_usd:g} reached"
                return
            budget.in_flight += 1
            display.in_flight += 1
            try:
                outcome = await complete(
                    pool,
                    model=config.model,
                    messages=[{"role": "user", "content": prompt}],
                    params=request_params,
                    policy=policy,
                    limiter=limiter,
                    price=price,
                    on_retry=on_retry,
                )
            except EndpointRejected as error:
                rejected.append(error)
                return
            finally:
                budget.in_flight -= 1
                display.in_flight -= 1
            identity = by_domain[plan.domains[problem_id]]
            row = _row(model, identity, summary.run_id, problem_id, index, sid, prompt, outcome)
            writer.add(row)
            _count(summary, row)
            if outcome.cost_usd is not None:
                budget.spent += outcome.cost_usd
                budget.finished += 1
                summary.cost_usd = budget.spent
                display.projected = (
                    budget.spent + (len(plan.pending) - summary.written) * budget.spent / budget.finished
                )

    loop = asyncio.get_running_loop()
    main_task = asyncio.current_task()
    try:
        # SIGTERM stops like Ctrl-C: finished samples are written, the run is marked interrupted.
        loop.add_signal_handler(signal.SIGTERM, lambda: (note_sigterm(), main_task.cancel()))
    except (NotImplementedError, RuntimeError, ValueError):
        pass
    background = [asyncio.create_task(writer.run()), asyncio.create_task(display.run())]
    workers = [asyncio.create_task(worker()) for _ in range(min(config.concurrency, max(1, len(plan.pending))))]
    try:
        await asyncio.gather(*workers)
    finally:
        for task in workers + background:
            task.cancel()
        await asyncio.gather(*workers, *background, return_exceptions=True)
        writer.flush()
        display.stop()
        await pool.close()
        try:
            loop.remove_signal_handler(signal.SIGTERM)
        except (NotImplementedError, RuntimeError, ValueError):
            pass
    if rejected:
        raise rejected[0]


def _run_local(
    store: Store,
    config: GenerateConfig,
    plan: Plan,
    by_domain: dict[str, DomainParams],
    summary: GenerateResult,
) -> None:
    from curate.chat_client import ChatReply
    from curate.local_generation import LocalGenerator

    generator = (
        LocalGenerator.tiny(batch_size=config.batch_size, engine=config.local_engine)
        if config.model == "tiny"
        else LocalGenerator(config.model, batch_size=config.batch_size, engine=config.local_engine)
    )
    model = model_name(config)
    writer = WriteThrough(store, "samples", SAMPLE_SCHEMA, release_between=True)
    store.release()  # readers may watch the store while the model generates
    display = Display(config.progress, len(plan.pending), summary, model)
    try:
        for start in range(0, len(plan.pending), config.batch_size):
            chunk = plan.pending[start : start + config.batch_size]
            prompts = [prompt_of(plan, by_domain, problem_id) for problem_id, _, _ in chunk]
            # A seed fixed by the chunk's samples: rerunning the same chunk samples the same text.
            seed = int(chunk[0][2][:8], 16)
            completions = generator.generate(
                [[{"role": "user", "content": p}] for p in prompts],
                max_new_tokens=config.max_tokens,
                temperature=config.temperature,
                top_p=config.top_p,
                seed=seed,
            )
            for (problem_id, index, sid), prompt, done in zip(chunk, prompts, completions):
                reasoning, content, _closed = split_think(done.text)
                reply = ChatReply(
                    reasoning,
                    content,
                    done.finish_reason,
                    done.prompt_tokens,
                    done.completion_tokens,
                    None,
                    done.latency_s,
                    "local",
                )
                row = _row(
                    model,
                    by_domain[plan.domains[problem_id]],
                    summary.run_id,
                    problem_id,
                    index,
                    sid,
                    prompt,
                    Outcome(reply, None, 1, 0.0, "local"),
                )
                writer.add(row)
                _count(summary, row)
            writer.flush()
            display.refresh()
    finally:
        writer.flush()
        display.stop()


def _validate(config: GenerateConfig, price: Price | None) -> None:
    positive = {
        "--samples": config.samples,
        "--concurrency": config.concurrency,
        "--max-tokens": config.max_tokens,
        "--timeout": config.timeout_s,
        "--batch-size": config.batch_size,
    }
    for flag, value in positive.items():
        if value is None or value <= 0:
            raise BadInput(f"must be positive, got {value}", field=flag)
    parse_shard(config.shard)
    if config.backend not in ("openai", "local"):
        raise BadInput(f"unknown backend {config.backend!r}; use openai or local", field="--backend")
    if config.backend == "local":
        from curate.local_generation import ENGINES  # imports torch, which the local backend needs anyway

        if config.local_engine not in ENGINES:
            raise BadInput(f"one of {', '.join(ENGINES)}", field="--local-engine")
    if config.limit is not None and config.limit < 0:
        raise BadInput("must be zero or more", field="--limit")
    if config.max_retries < 0:
        raise BadInput("must be zero or more", field="--max-retries")
    if not 0 <= config.temperature <= 2:
        raise BadInput("must be between 0 and 2", field="--temperature")
    if not 0 < config.top_p <= 1:
        raise BadInput("must be in (0, 1]", field="--top-p")
    for flag, value in (("--rpm", config.rpm), ("--tpm", config.tpm), ("--budget-usd", config.budget_usd)):
        if value is not None and value <= 0:
            raise BadInput("must be positive", field=flag)
    if config.budget_usd is not None and price is None:
        raise BadInput(
            f"no price known for model {config.model!r}, so a budget cannot be kept; "
            "give --price-in and --price-out (USD per million tokens)",
            field="--budget-usd",
        )


def public_config(config: GenerateConfig) -> dict:
    """The run's configuration as stored in runs.config: endpoints without credentials, no key."""
    data = asdict(config)
    data["base_urls"] = [public_url(u) for u in config.base_urls]
    return data


def run(store: Store, config: GenerateConfig) -> GenerateResult:
    """Run teacher sampling; see the module docstring. Returns the run's summary."""
    templates = load_templates(config.prompt_template)
    price = (
        Price(0.0, 0.0)
        if config.backend == "local"
        else resolve_price(
            config.model, table_file=config.price_file, price_in=config.price_in, price_out=config.price_out
        )
    )
    _validate(config, price)
    api_key = ""
    if config.backend == "openai":
        # Local OpenAI-compatible servers (vLLM, SGLang) accept any key; the client needs one.
        api_key = os.environ.get(config.api_key_env) or "not-set"
    by_domain = domain_params(config, templates)
    plan = plan_samples(store, config, by_domain)
    digests = {domain: by_domain[domain].digest for domain in sorted(set(plan.domains.values()))}
    with store.run("generate", {**public_config(config), "params_hashes": digests}) as record:
        run_id = record.run_id
        summary = GenerateResult(
            run_id=run_id,
            status="ok",
            planned=len(plan.pending),
            already_done=plan.already_done,
            cost_usd=None if price is None else 0.0,
        )
        record.counts_of = lambda: _counts(summary)
        if plan.already_done:
            stderr.print(f"resuming: {plan.already_done} samples already stored, {len(plan.pending)} to generate")
        started = time.monotonic()
        memory_limit = store.query("SELECT current_setting('memory_limit') AS limit_").item()
        store.execute(f"SET memory_limit = '{WRITE_MEMORY_LIMIT}'")
        try:
            if plan.pending and config.backend == "local":
                _run_local(store, config, plan, by_domain, summary)
            elif plan.pending:
                asyncio.run(_run_api(store, config, plan, by_domain, price, summary, api_key))
        except BaseException as error:
            summary.elapsed_s = time.monotonic() - started
            if not is_interrupt(error):
                summary.status = "failed"
                raise
            summary.status = "interrupted"
            raise KeyboardInterrupt from None
        finally:
            store.execute(f"SET memory_limit = '{memory_limit}'")
        summary.elapsed_s = time.monotonic() - started
        summary.status = "budget" if summary.stop_reason else "incomplete" if summary.counts["error"] else "ok"
        record.status = summary.status
        if summary.counts["error"]:  # work left undone is not ok: a rerun retries these samples
            causes = "; ".join(summary.failure_lines())
            record.error = f"{summary.counts['error']} samples failed ({causes}); rerun to retry them"
    return summary


def _counts(summary: GenerateResult) -> dict:
    return {
        **summary.counts,
        "planned": summary.planned,
        "already_done": summary.already_done,
        "prompt_tokens": summary.prompt_tokens,
        "completion_tokens": summary.completion_tokens,
        "cost_usd": summary.cost_usd,
        "retries": summary.retries,
        "elapsed_s": round(summary.elapsed_s, 3),
        "stop_reason": summary.stop_reason,
    }


def print_summary(summary: GenerateResult) -> None:
    """The end-of-run summary on stderr."""
    from rich.table import Table

    rate = summary.written / summary.elapsed_s if summary.elapsed_s else 0.0
    table = Table(title=f"generate {summary.run_id}: {summary.status}", show_header=False, box=None, padding=(0, 2))
    table.add_column(justify="left")
    table.add_column(justify="right")
    for name, value in (
        ("planned", f"{summary.planned:,}"),
        *((status, f"{summary.counts[status]:,}") for status in ("ok", "truncated", "empty", "error")),
        ("retries", f"{summary.retries:,}"),
        ("tokens in / out", f"{summary.prompt_tokens:,} / {summary.completion_tokens:,}"),
        ("samples/s", f"{rate:,.1f}"),
        ("cost USD", "unknown (no price for this model)" if summary.cost_usd is None else f"{summary.cost_usd:,.4f}"),
    ):
        table.add_row(name, value)
    stderr.print(table)
    if summary.already_done:
        stderr.print(f"{summary.already_done} samples were already stored and were not generated again")
    if summary.stop_reason:
        stderr.print(f"[yellow]stopped:[/] {summary.stop_reason}; rerun with a higher --budget-usd to continue")
    if summary.counts["error"]:
        stderr.print(
            f"[yellow]{summary.counts['error']} samples failed;[/] rerun the same command to retry them. Causes:"
        )
        for line in summary.failure_lines():
            stderr.print(f"  {escape(line)}")
