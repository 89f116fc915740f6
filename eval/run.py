"""`evaluate run`: sample a model on a problem set, verify every sample, store it.

Contract
- Inputs: problems with a gold answer, by split (`--problems test [--source S]`: rows of the
  `problems` table) or by file (`--problems FILE`: ingested into `problems` first with
  `curate.ingest`, then exactly that file's problems are evaluated); first `--limit N` by
  problem_id; a Spider-style FILE needs `--databases DIR`, as `curate ingest` does. Any domain
  (problems.domain: math, code, sql, choice): code problems need no gold answer but tests in
  their meta (HumanEval's `test`/`entry_point`, MBPP's `test_list`);
  problems without what their checker needs are left out, and said so. A model behind any
  OpenAI-compatible endpoint (`--base-url URL --model NAME`: vLLM, DeepSeek's API, ...) or a
  local transformers model (`--model PATH_OR_ID|tiny` [`--adapter DIR`], through
  `curate.local_generation.LocalGenerator`).
- Prompt: `render_prompt(question, template_for(domain, load_templates(--prompt-template)))`,
  the question in its domain's template (curate/prompts.py, as generation and export use it),
  sent as one user turn. The length study (`--length-levels N`, `--word-budgets`) adds one
  sentence asking for at most B words (`LENGTH_INSTRUCTION`), one level per budget.
- Verification: each sample by its problem's domain checker (`curate.verify.domains.make_checker`,
  one per domain for the whole invocation): math by the project verifier exactly as `curate
  verify` does (`--strict-form` also requires the competition's simplified answer form), code by
  running the program with its tests in the sandbox (curate/verify/code.py), sql and choice by
  their checkers. Before anything is generated, every domain among the problems gets its checker:
  exit 2 naming the domain when its checker module is missing, or naming the problem for an
  unknown domain; for code the sandbox is started and checks one known-right program, and where
  it cannot isolate programs (`SandboxUnavailable`) the run exits 2 unless `--unsafe-local`
  (programs then run with the user's network and files). These checks and the file's ingest
  share one transaction, so a refusal leaves the store as it was.
- Outputs: one `eval_runs` row per (seed, length level) and one `eval_samples` row per
  (problem, sample index) with the checker's verdict and its reason ("3/7 tests passed: ..."),
  the answer (for code, the program), the answer's key for majority voting (the verifier's
  canonical answer for math, the option for choice, NULL for code and SQL), words and tokens of
  the response, and the content hash of the problem it was checked against (its gold answer,
  question and a non-math problem's meta: db.store.problem_hash_sql). A `runs` row (kind
  "eval") records the invocation. Command: `evaluate run --name
  RUN ...`. The result per run holds pass@1 ± SE, pass@k for k = 1..n and maj@k (math and choice
  only), overall and per domain when the run mixes domains (`eval.metrics.accuracy`).
- Run names: one seed and no length study: the run is RUN. Several seeds: one run per seed,
  RUN/seed-S. Length study: RUN/len-L (RUN/seed-S/len-L with several seeds). All share
  `run_group` = RUN and the `--label` (base / student / teacher, ...) the report groups by.
- Resume: samples are committed as they are verified (every batch); rerunning the same command
  generates only the (problem, sample index) pairs a run lacks, so raising `--samples` or
  `--limit` adds to a run. Stored samples whose problem changed since they were checked (`curate
  ingest --update`: another gold answer, question or tests) are verified again, not regenerated (the
  response did not change), and counted (`rechecked`). A run whose output-changing settings (model, adapter, endpoint,
  problems, temperature, top-p, max tokens, template, seed, level, strict form) differ from the
  stored ones is refused (exit 2) instead of mixing samples.
- Seeds: the local backend samples chunk by chunk with a seed derived from (seed, first sample
  of the chunk); the endpoint backend sends `seed` derived from (seed, problem, first sample
  index) with each request (vLLM honours it; DeepSeek's API ignores it).
- Endpoint requests: one request per problem asks for all its missing samples (`n`); a server
  that returns fewer choices is asked again for the rest (`--n-per-request 1` sends one sample
  per request). Requests go through `curate.chat_client`, the client `curate generate` uses:
  429 (honouring Retry-After), 5xx, timeouts, connection errors and malformed bodies are
  retried with exponential backoff (`--max-retries`, `--backoff`); an empty answer (no
  reasoning, no content, not cut by length) is asked again up to `--max-retries` times, then
  stored as is. 401/403/404 stop the run (exit 2): every request would fail the same way;
  another 4xx fails that problem's request at once. Samples still failing after the retries
  are left missing and counted; rerun to fill them in.

Caveats: the checkers (and for code the sandbox) are opened for every selected problem's domain
even when a rerun has nothing left to generate, so a code run is not resumed, or re-summarised,
on a machine without isolation unless `--unsafe-local` is given. Finished samples are committed
as they arrive so a crash or Ctrl-C keeps them; the eval run stays in status "running" (or
"failed", or "interrupted" after a Ctrl-C) until a rerun completes it. With `n` > 1 an API
reports one usage total, so `completion_tokens` is NULL for those samples; `length_tokens`
(the response counted with Qwen2.5's tokenizer, `curate.tokens`) is filled for every sample and
is what the report uses.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import polars as pl

from curate.prompts import load_templates, render_prompt, template_for
from curate.traces import full_response, split_think
from db import BadInput, is_interrupt
from db.console import note, stderr
from db.redact import redact_config
from db.store import Store, problem_hash_sql
from eval.metrics import VOTING_DOMAINS, Accuracy, Estimate, word_count

DEFAULT_WORD_BUDGETS = (400, 250, 150, 100, 60, 30)
LENGTH_INSTRUCTION = "Keep your whole response, reasoning included, under {words} words."
FILE_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")

EVAL_SAMPLE_SCHEMA: dict[str, pl.DataType] = {
    "eval_run_id": pl.String,
    "problem_id": pl.String,
    "sample_index": pl.Int32,
    "prompt": pl.String,
    "reasoning": pl.String,
    "content": pl.String,
    "finish_reason": pl.String,
    "completion_tokens": pl.Int32,
    "prompt_tokens": pl.Int32,
    "words": pl.Int32,
    "length_tokens": pl.Int32,
    "answer": pl.String,
    "answer_source": pl.String,
    "answer_key": pl.String,
    "verdict": pl.String,
    "reason": pl.String,
    "form_ok": pl.Boolean,
    "correct": pl.Boolean,
    "latency_s": pl.Float64,
    "content_hash": pl.String,
}


@dataclass(frozen=True)
class EvalConfig:
    """Everything `evaluate run` takes; see the module docstring for what each setting does."""

    name: str
    model: str
    problems: str
    base_url: str | None = None
    adapter: str | None = None
    label: str | None = None
    source: str | None = None
    databases: str | None = None  # with --problems FILE of SQL problems: DIR/DB_ID/DB_ID.sqlite, as curate ingest
    samples: int = 1
    seeds: tuple[int, ...] = (0,)
    temperature: float = 0.6
    top_p: float = 0.95
    max_tokens: int = 32768
    prompt_template: str | tuple[str, ...] | None = None  # FILE and DOMAIN=FILE specs (curate.prompts.load_templates)
    strict_form: bool = False
    limit: int | None = None
    length_levels: int = 0
    word_budgets: tuple[int, ...] = DEFAULT_WORD_BUDGETS
    # endpoint backend
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = 16
    n_per_request: int = 0  # 0: all of a problem's missing samples in one request
    max_retries: int = 5
    backoff_s: float = 1.0  # first retry delay; doubles per retry, jittered (curate.chat_client.RetryPolicy)
    request_timeout_s: float = 3600.0
    # local backend
    batch_size: int = 16
    device: str | None = None
    local_engine: str = "batched"  # batched (padded chunks) / continuous (transformers' generate_batch)
    # verifier
    verify_workers: int | None = None
    verify_timeout_s: float = 5.0
    unsafe_local: bool = False  # code: run programs without isolation where the sandbox cannot isolate
    progress: bool = True

    @property
    def backend(self) -> str:
        """'openai' with a base URL, else 'local'."""
        return "openai" if self.base_url else "local"


@dataclass(frozen=True)
class SubRun:
    """One eval_runs row of an invocation: a seed, and a length level when studying length."""

    eval_run_id: str
    seed: int
    length_level: int | None
    word_budget: int | None


@dataclass(frozen=True)
class Job:
    """The missing samples of one problem in one run."""

    problem_id: str
    prompt: str
    sample_indices: tuple[int, ...]


@dataclass(frozen=True)
class Generated:
    """One finished sample as a backend returns it, before verification."""

    problem_id: str
    sample_index: int
    prompt: str
    reasoning: str | None
    content: str | None
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_s: float


@dataclass
class EvalRunResult:
    """What one eval run (a seed, a length level) holds after this invocation."""

    eval_run_id: str
    seed: int
    length_level: int | None
    word_budget: int | None
    problems: int = 0
    samples: int = 0
    generated: int = 0
    rechecked: int = 0  # stored samples verified again: their problem changed since they were checked
    missing: int = 0
    pass_at_1: Estimate | None = None
    maj_at_k: float | None = None  # None for code and SQL (no canonical answer to vote on)
    mean_words: float | None = None
    mean_tokens: float | None = None
    errors: list[str] = field(default_factory=list)
    accuracy: Accuracy | None = None  # pass@1, pass@k for k = 1..n, maj@k of the whole run
    domains: list[str] = field(default_factory=list)
    by_domain: dict[str, Accuracy] = field(default_factory=dict)  # only when the run mixes domains


@dataclass
class EvalResult:
    """What `evaluate run` prints: one EvalRunResult per eval run of the invocation."""

    run_id: str
    runs: list[EvalRunResult]

    @property
    def missing(self) -> int:
        return sum(result.missing for result in self.runs)


class Backend(Protocol):
    """Where samples come from: an OpenAI-compatible endpoint or a local model."""

    name: str

    def generate(
        self, jobs: list[Job], *, seed: int, config: EvalConfig, sink: Callable[[list[Generated]], None]
    ) -> list[str]:
        """Generate every job's samples, passing finished ones to `sink`; returns error texts."""


def derived_seed(*parts: object) -> int:
    """A 31-bit seed from the parts, stable across processes and Python versions."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()
    return int(digest[:8], 16) & 0x7FFFFFFF


# ---- plan ----------------------------------------------------------------------------------


def validate(config: EvalConfig) -> None:
    """Refuse (BadInput naming the flag) settings that cannot run, before any model loads."""
    if not config.name or config.name.strip() != config.name:
        raise BadInput("give the run a name without surrounding spaces", field="--name")
    if config.samples < 1:
        raise BadInput("need at least one sample per problem", field="--samples")
    if not config.seeds or len(set(config.seeds)) != len(config.seeds):
        raise BadInput("seeds must be distinct integers, e.g. 0,1,2", field="--seeds")
    if config.temperature < 0 or not 0 < config.top_p <= 1:
        raise BadInput("temperature must be >= 0 and top-p in (0, 1]", field="--temperature/--top-p")
    if config.max_tokens < 1:
        raise BadInput("max tokens must be positive", field="--max-tokens")
    if config.limit is not None and config.limit < 1:
        raise BadInput("limit must be positive", field="--limit")
    if config.length_levels < 0 or config.length_levels > len(config.word_budgets):
        raise BadInput(
            f"--length-levels {config.length_levels} needs that many word budgets (have {len(config.word_budgets)})",
            field="--length-levels",
        )
    if any(b < 1 for b in config.word_budgets):
        raise BadInput("word budgets must be positive", field="--word-budgets")
    if config.adapter and config.base_url:
        raise BadInput("--adapter applies to a local model; an endpoint serves its own weights", field="--adapter")
    if config.concurrency < 1 or config.batch_size < 1 or config.n_per_request < 0:
        raise BadInput("concurrency, batch size must be positive, n-per-request >= 0", field="--concurrency")
    if config.backend == "local":
        from curate.local_generation import ENGINES  # imports torch, which the local backend needs anyway

        if config.local_engine not in ENGINES:
            raise BadInput(f"one of {', '.join(ENGINES)}", field="--local-engine")


def sub_runs(config: EvalConfig) -> list[SubRun]:
    """The eval runs of an invocation, named as the module docstring says."""
    runs = []
    for seed in config.seeds:
        base = config.name if len(config.seeds) == 1 else f"{config.name}/seed-{seed}"
        if config.length_levels:
            for level in range(1, config.length_levels + 1):
                runs.append(SubRun(f"{base}/len-{level}", seed, level, config.word_budgets[level - 1]))
        else:
            runs.append(SubRun(base, seed, None, None))
    return runs


def length_prompt(prompt: str, word_budget: int | None) -> str:
    """The prompt with the length study's word-budget sentence appended (unchanged without a budget)."""
    return prompt if word_budget is None else f"{prompt}\n\n{LENGTH_INSTRUCTION.format(words=word_budget)}"


def _looks_like_file(spec: str) -> bool:
    return Path(spec).suffix.lower() in FILE_SUFFIXES or os.sep in spec


# content_hash: what a check of an answer reads of the problem, stored on each eval sample (migration 023).
PROBLEM_COLUMNS = (
    "problem_id, question, gold_answer, coalesce(domain, 'math') AS domain, CAST(meta AS VARCHAR) AS meta, "
    f"{problem_hash_sql('problems')} AS content_hash"
)
# Code problems are judged by the tests in their meta; every other domain compares with the gold answer.
JUDGED_BY_TESTS = ("code",)


def load_problems(store: Store, config: EvalConfig) -> pl.DataFrame:
    """problem_id, question, gold_answer, domain, meta of the problems to evaluate, ordered by problem_id."""
    if Path(config.problems).is_file():
        ids = ingest_problem_file(store, Path(config.problems), config.source, config.databases)
        frame = store.query(f"SELECT {PROBLEM_COLUMNS} FROM problems WHERE list_contains(?, problem_id)", [ids])
    elif _looks_like_file(config.problems):
        raise BadInput("no such problems file", file=config.problems, field="--problems")
    elif config.databases is not None:
        raise BadInput(
            "--databases is read with a problems FILE; stored problems keep the databases they were ingested with",
            field="--databases",
        )
    else:
        where, args = ["split = ?"], [config.problems]
        if config.source:
            where.append("source = ?")
            args.append(config.source)
        frame = store.query(f"SELECT {PROBLEM_COLUMNS} FROM problems WHERE {' AND '.join(where)}", args)
        if frame.height == 0:
            raise BadInput(
                f"no problems in split {config.problems!r}"
                + (f" from source {config.source!r}" if config.source else "")
                + "; ingest them with `curate ingest FILE --split ...` or pass a FILE",
                field="--problems",
            )
    without_gold = frame.filter(
        ~pl.col("domain").is_in(JUDGED_BY_TESTS)
        & (pl.col("gold_answer").is_null() | (pl.col("gold_answer").str.strip_chars() == ""))
    )
    if without_gold.height:
        stderr.print(f"{without_gold.height} problem(s) without a gold answer are left out")
    without_tests = untestable_code(frame)
    if without_tests:
        stderr.print(f"{len(without_tests)} code problem(s) without tests are left out (e.g. {without_tests[0]})")
    frame = frame.join(without_gold.select("problem_id"), on="problem_id", how="anti")
    frame = frame.filter(~pl.col("problem_id").is_in(without_tests)).sort("problem_id")
    if frame.height == 0:
        raise BadInput("none of the selected problems has a gold answer (or, for code, tests)", field="--problems")
    return frame.head(config.limit) if config.limit is not None else frame


def untestable_code(problems: pl.DataFrame) -> list[str]:
    """problem_ids of code problems whose meta gives the code checker no tests to run (its own rule,
    curate.verify.code.tests_for): every answer would be an error, so they are not evaluated."""
    code = problems.filter(pl.col("domain") == "code")
    if code.height == 0:
        return []
    from curate.verify.code import tests_for

    missing = []
    for problem_id, meta in code.select("problem_id", "meta").iter_rows():
        try:
            tests_for(json.loads(meta) if meta else {})
        except (ValueError, SyntaxError, KeyError, TypeError):  # ProblemError is a ValueError
            missing.append(problem_id)
    return missing


def tasks_of(problems: pl.DataFrame) -> dict:
    """problem_id -> curate.verify.domains.Task, what a domain checker reads of a problem."""
    from curate.verify.domains import Task

    return {
        row["problem_id"]: Task(
            row["problem_id"],
            question=row["question"],
            gold_answer=row["gold_answer"],
            meta=json.loads(row["meta"]) if row["meta"] else {},
            domain=row["domain"],
        )
        for row in problems.iter_rows(named=True)
    }


def ingest_problem_file(store: Store, path: Path, source: str | None, databases: str | None = None) -> list[str]:
    """Add a problems file's new problems to the store (as `curate ingest` reads it, a Spider file
    with its `databases` folder); returns its problem_ids.

    Problems already stored keep their stored gold answer (`curate ingest --update` replaces it).
    """
    from curate.ingest import IngestConfig, parse_problems

    folder = Path(databases) if databases is not None else None
    _source, frame, _duplicates = parse_problems(path, IngestConfig(path, source=source, databases=folder))
    store.insert_frame("problems", frame, on_conflict="ignore")
    return frame["problem_id"].to_list()


def fingerprint_fields(config: EvalConfig, sub: SubRun, template: str) -> dict:
    """The settings that change a run's samples or verdicts (a resumed run must match them)."""
    from curate.chat_client import public_url

    return {
        "model": config.model,
        "adapter": config.adapter,
        "backend": config.backend,
        "base_url": public_url(config.base_url) if config.base_url else None,
        "problems": config.problems,
        "source": config.source,
        "temperature": config.temperature,
        "top_p": config.top_p,
        "max_tokens": config.max_tokens,
        "template": template,
        "seed": sub.seed,
        "length_level": sub.length_level,
        "word_budget": sub.word_budget,
        "strict_form": config.strict_form,
    }


def _fingerprint(fields: dict) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


def problem_set_identity(store: Store, problem_ids: list[str]) -> str:
    """The evaluated problems' identity for reports: their source(s) and split(s), e.g. "math500/test"
    (not the --problems path as typed, which differs between folders for the same file)."""
    pairs = store.query(
        "SELECT DISTINCT coalesce(source, '-') AS source, coalesce(split, '-') AS split FROM problems "
        "WHERE list_contains(?, problem_id) ORDER BY ALL",
        [problem_ids],
    ).rows()
    return ", ".join(f"{source}/{split}" for source, split in pairs) or "-"


def ensure_run_row(
    store: Store, config: EvalConfig, sub: SubRun, template: str, run_id: str, problem_set: str | None = None
) -> None:
    """Create the eval_runs row, or check a stored one was made with the same settings."""
    fields = fingerprint_fields(config, sub, template)
    digest = _fingerprint(fields)
    stored = store.query("SELECT fingerprint, config, samples FROM eval_runs WHERE eval_run_id = ?", [sub.eval_run_id])
    if stored.height:
        if stored["fingerprint"][0] != digest:
            before = json.loads(stored["config"][0] or "{}").get("fingerprint_fields", {})
            changed = sorted(k for k in fields if before.get(k) != fields[k]) or ["settings"]
            raise BadInput(
                f"run {sub.eval_run_id!r} exists with other {', '.join(changed)}; "
                f"resume it with the same settings or choose another --name",
                field="--name",
            )
        store.execute(
            "UPDATE eval_runs SET samples = greatest(samples, ?), status = 'running', label = coalesce(?, label) "
            "WHERE eval_run_id = ?",
            [config.samples, config.label, sub.eval_run_id],
        )
        return
    public = redact_config({k: v for k, v in asdict(config).items() if k not in ("progress",)})
    public["fingerprint_fields"] = fields
    public["problem_set"] = problem_set
    store.insert_rows(
        "eval_runs",
        [
            {
                "eval_run_id": sub.eval_run_id,
                "model": config.model,
                "adapter": config.adapter,
                "backend": config.backend,
                "base_url": fields["base_url"],
                "problems": config.problems,
                "samples": config.samples,
                "seed": sub.seed,
                "length_level": sub.length_level,
                "word_budget": sub.word_budget,
                "config": json.dumps(public, default=str),
                "run_group": config.name,
                "label": config.label,
                "fingerprint": digest,
                "run_id": run_id,
            }
        ],
    )


def templates_used(templates: dict[str, str], problems: pl.DataFrame) -> str:
    """The run's template as its fingerprint records it: the math template alone for math problems (as
    before domains existed, so earlier runs resume), else each domain's template by name."""
    domains = sorted(problems["domain"].unique().to_list())
    if domains == ["math"]:
        return templates["math"]
    return json.dumps({domain: template_for(domain, templates) for domain in domains}, sort_keys=True)


def plan_jobs(store: Store, sub: SubRun, problems: pl.DataFrame, samples: int, templates: dict[str, str]) -> list[Job]:
    """One job per problem listing the sample indices the run still lacks (this is what makes a rerun resume);
    each question in its domain's template."""
    done = store.query("SELECT problem_id, sample_index FROM eval_samples WHERE eval_run_id = ?", [sub.eval_run_id])
    have: dict[str, set[int]] = {}
    for problem_id, index in done.iter_rows():
        have.setdefault(problem_id, set()).add(index)
    jobs = []
    for problem_id, question, domain in problems.select("problem_id", "question", "domain").iter_rows():
        missing = tuple(i for i in range(samples) if i not in have.get(problem_id, ()))
        if missing:
            prompt = render_prompt(question, template_for(domain, templates))
            jobs.append(Job(problem_id, length_prompt(prompt, sub.word_budget), missing))
    return jobs


# ---- verification and writes ---------------------------------------------------------------

# One program every working sandbox passes: checked before anything is generated for code problems.
SANDBOX_PROBE_META = {"test_list": ["assert sandbox_probe() == 1"]}
SANDBOX_PROBE_RESPONSE = "```python\ndef sandbox_probe():\n    return 1\n```"


def open_checkers(config: EvalConfig, problems: pl.DataFrame) -> dict:
    """domain -> its checker (curate.verify.domains.make_checker) for every domain among `problems`.

    Refused (BadInput) before any sample is generated: a domain without a checker here (a
    missing checker module), and code problems where the sandbox cannot isolate programs and
    `--unsafe-local` was not given; the code checker's sandbox is started and tried on one
    program, so a sandbox that cannot run programs is found now, not after generation.
    """
    from curate.verify.domains import DOMAINS, CheckerOptions, make_checker

    options = CheckerOptions(strict_form=config.strict_form, unsafe_local=config.unsafe_local)
    checkers: dict = {}
    try:
        for domain in sorted(problems["domain"].unique().to_list()):
            if domain not in DOMAINS:
                example = problems.filter(pl.col("domain") == domain)["problem_id"][0]
                raise BadInput(
                    f"problem {example} has domain {domain!r}; known domains: {', '.join(DOMAINS)}", field="domain"
                )
            try:
                checkers[domain] = make_checker(domain, options)
            except ImportError as error:
                raise BadInput(
                    f"the problems include {domain} problems, and the {domain} checker cannot be loaded here "
                    f"({error}); leave them out with --source or install a version that has it",
                    field="--problems",
                ) from None
            if domain == "code":
                probe_sandbox(checkers[domain], config)
    except BaseException:
        close_checkers(checkers)
        raise
    return checkers


def probe_sandbox(checker, config: EvalConfig) -> None:
    """Start the code checker's sandbox and check one right program (BadInput when it cannot)."""
    from curate.verify.domains import Task
    from curate.verify.sandbox import SandboxUnavailable

    probe = Task("sandbox-probe", meta=SANDBOX_PROBE_META, domain="code")
    try:
        [verdict] = checker.check_many(
            [(probe, SANDBOX_PROBE_RESPONSE, "stop")], workers=1, timeout=config.verify_timeout_s
        )
    except SandboxUnavailable as error:
        raise BadInput(
            f"the problems include code problems, whose programs run only in the sandbox: {error}",
            field="--unsafe-local",
        ) from None
    if verdict.verdict != "correct":
        raise BadInput(
            f"the sandbox fails a program that passes its test ({verdict.verdict}: {verdict.reason}); "
            "code problems cannot be checked here",
            field="--problems",
        )


def close_checkers(checkers: dict) -> None:
    for checker in checkers.values():
        checker.close()


def answer_key(domain: str, answer: str | None) -> str | None:
    """The key samples vote with for maj@k: the verifier's canonical answer for math, the option for
    choice; None for code and SQL, whose answers have no canonical form."""
    if answer is None or domain not in VOTING_DOMAINS:
        return None
    if domain == "math":
        from curate.verify import canonical_key

        return _answer_key(canonical_key, answer)
    return answer.strip()


class SampleWriter:
    """Verifies finished samples with their problems' domain checkers and commits them, one
    transaction per batch."""

    def __init__(self, store: Store, eval_run_id: str, tasks: dict, checkers: dict, config: EvalConfig, hashes: dict):
        from curate.tokens import token_counter

        self.store, self.eval_run_id, self.config = store, eval_run_id, config
        self.tasks, self.checkers = tasks, checkers  # problem_id -> Task; domain -> its checker
        self.hashes = hashes  # problem_id -> problem_hash_sql of the problem the tasks were read from
        self.tokens = _shared_token_counter(token_counter)
        self.written = 0

    def verdicts(self, batch: list[Generated], responses: list[str]) -> list:
        """Each sample's verdict from its problem's domain checker, in batch order."""
        by_domain: dict[str, list[int]] = {}
        for i, g in enumerate(batch):
            by_domain.setdefault(self.tasks[g.problem_id].domain, []).append(i)
        out: list = [None] * len(batch)
        for domain, indices in by_domain.items():
            # math keeps the verifier's own default (every core); the sandbox needs a number
            workers = self.config.verify_workers if domain == "math" else self.config.verify_workers or os.cpu_count()
            checked = self.checkers[domain].check_many(
                [(self.tasks[batch[i].problem_id], responses[i], batch[i].finish_reason) for i in indices],
                workers=workers,
                timeout=self.config.verify_timeout_s,
            )
            for i, verdict in zip(indices, checked):
                out[i] = verdict
        return out

    def __call__(self, batch: list[Generated]) -> None:
        if batch:
            with self.store.transaction():
                self.written += self.store.insert_frame("eval_samples", self.frame(batch), on_conflict="ignore")

    def recheck(self, stored: pl.DataFrame) -> int:
        """Verify stored samples again against their problems as they are now (the response is
        unchanged, so nothing is generated) and overwrite their verdicts; returns how many."""
        batch = [
            Generated(
                row["problem_id"],
                row["sample_index"],
                row["prompt"],
                row["reasoning"],
                row["content"],
                row["finish_reason"],
                row["prompt_tokens"],
                row["completion_tokens"],
                row["latency_s"],
            )
            for row in stored.iter_rows(named=True)
        ]
        if not batch:
            return 0
        with self.store.transaction():
            return self.store.insert_frame("eval_samples", self.frame(batch), on_conflict="replace")

    def frame(self, batch: list[Generated]) -> pl.DataFrame:
        """The eval_samples rows of finished samples, each verified."""
        responses = [full_response(g.reasoning, g.content) for g in batch]
        verdicts = self.verdicts(batch, responses)
        texts = ["\n".join(t for t in (g.reasoning, g.content) if t) for g in batch]
        lengths = self.tokens.count(texts)
        rows = []
        for g, v, text, length in zip(batch, verdicts, texts, lengths):
            correct = v.verdict == "correct" and (not self.config.strict_form or v.form_ok is not False)
            rows.append(
                {
                    "eval_run_id": self.eval_run_id,
                    "problem_id": g.problem_id,
                    "sample_index": g.sample_index,
                    "prompt": g.prompt,
                    "reasoning": g.reasoning,
                    "content": g.content,
                    "finish_reason": g.finish_reason,
                    "completion_tokens": g.completion_tokens,
                    "prompt_tokens": g.prompt_tokens,
                    "words": word_count(text),
                    "length_tokens": length,
                    "answer": v.answer,
                    "answer_source": v.answer_source,
                    "answer_key": answer_key(self.tasks[g.problem_id].domain, v.answer),
                    "verdict": v.verdict,
                    "reason": v.reason,
                    "form_ok": v.form_ok,
                    "correct": correct,
                    "latency_s": g.latency_s,
                    "content_hash": self.hashes[g.problem_id],
                }
            )
        return pl.DataFrame(rows, schema=EVAL_SAMPLE_SCHEMA)


_COUNTERS: dict[str, object] = {}


def _shared_token_counter(factory: Callable):
    # Loading the BPE ranks takes a moment; one counter serves every run of the process.
    if "qwen" not in _COUNTERS:
        _COUNTERS["qwen"] = factory()
    return _COUNTERS["qwen"]


def _answer_key(canonical_key: Callable[[str], str | None], answer: str | None) -> str | None:
    """The answer's equivalence key for majority voting; the stripped text when it has none."""
    if answer is None:
        return None
    try:
        key = canonical_key(answer)
    except Exception:  # a key the verifier cannot compute must not lose the sample
        key = None
    return key if key is not None else answer.strip()


# ---- backends ------------------------------------------------------------------------------


class LocalBackend:
    """In-process transformers generation (`curate.local_generation`)."""

    name = "local"

    def __init__(self, config: EvalConfig):
        from curate.local_generation import LocalGenerator

        self.generator = LocalGenerator(
            config.model,
            adapter=config.adapter,
            device=config.device,
            batch_size=config.batch_size,
            engine=config.local_engine,
        )

    def generate(
        self, jobs: list[Job], *, seed: int, config: EvalConfig, sink: Callable[[list[Generated]], None]
    ) -> list[str]:
        flat = [(job, index) for job in jobs for index in job.sample_indices]
        for start in range(0, len(flat), config.batch_size):
            chunk = flat[start : start + config.batch_size]
            completions = self.generator.generate(
                [[{"role": "user", "content": job.prompt}] for job, _ in chunk],
                max_new_tokens=config.max_tokens,
                temperature=config.temperature,
                top_p=config.top_p,
                seed=derived_seed(seed, chunk[0][0].problem_id, chunk[0][1]),
            )
            batch = []
            for (job, index), done in zip(chunk, completions):
                reasoning, content, _closed = split_think(done.text)
                batch.append(
                    Generated(
                        job.problem_id,
                        index,
                        job.prompt,
                        reasoning,
                        content,
                        done.finish_reason,
                        done.prompt_tokens,
                        done.completion_tokens,
                        done.latency_s,
                    )
                )
            sink(batch)
        return []


class OpenAIBackend:
    """Any OpenAI-compatible chat endpoint through `curate.chat_client` (one request per problem, `n` choices)."""

    name = "openai"
    FLUSH_INTERVAL_S = 0.5

    def __init__(self, config: EvalConfig):
        self.api_key = os.environ.get(config.api_key_env) or "EMPTY"  # local servers take any key

    def generate(
        self, jobs: list[Job], *, seed: int, config: EvalConfig, sink: Callable[[list[Generated]], None]
    ) -> list[str]:
        return asyncio.run(self._generate(jobs, seed, config, sink))

    async def _generate(
        self, jobs: list[Job], seed: int, config: EvalConfig, sink: Callable[[list[Generated]], None]
    ) -> list[str]:
        from curate.chat_client import EndpointPool, RetryPolicy, complete
        from curate.write_through import Batches

        policy = RetryPolicy(max_retries=config.max_retries, base_s=config.backoff_s)
        pool = EndpointPool([config.base_url], self.api_key, config.request_timeout_s, config.concurrency, policy)
        gate = asyncio.Semaphore(config.concurrency)
        batches = Batches(sink)
        errors: list[str] = []

        async def one_problem(job: Job) -> None:
            remaining = list(job.sample_indices)
            empty_retries = 0
            while remaining:
                ask = len(remaining) if config.n_per_request == 0 else min(config.n_per_request, len(remaining))
                params = {
                    "n": ask,
                    "temperature": config.temperature,
                    "top_p": config.top_p,
                    "max_tokens": config.max_tokens,
                    "seed": derived_seed(seed, job.problem_id, remaining[0]),
                }
                async with gate:
                    outcome = await complete(
                        pool,
                        model=config.model,
                        messages=[{"role": "user", "content": job.prompt}],
                        params=params,
                        policy=policy,
                        retry_empty=False,
                    )
                if outcome.reply is None:
                    errors.append(f"{job.problem_id}: {outcome.error}")
                    return
                replies = outcome.replies
                kept = [r for r in replies if not _empty(r)]
                if len(kept) < len(replies) and empty_retries < config.max_retries:
                    empty_retries += 1
                    await asyncio.sleep(policy.backoff(empty_retries))
                else:
                    kept = replies  # out of retries: empty answers are the model's answers
                for reply, index in zip(kept, remaining):
                    batches.add(
                        Generated(
                            job.problem_id,
                            index,
                            job.prompt,
                            reply.reasoning,
                            reply.content,
                            reply.finish_reason,
                            reply.prompt_tokens,
                            reply.completion_tokens,
                            reply.latency_s,
                        )
                    )
                remaining = remaining[len(kept) :]

        flusher = asyncio.create_task(batches.run(self.FLUSH_INTERVAL_S))
        try:
            async with asyncio.TaskGroup() as group:
                for job in jobs:
                    group.create_task(one_problem(job))
        except BaseExceptionGroup as group_error:
            first = group_error.exceptions[0]
            raise first from None
        finally:
            flusher.cancel()
            await asyncio.gather(flusher, return_exceptions=True)
            await asyncio.to_thread(batches.flush)
            await pool.close()
        return errors


def _empty(reply) -> bool:
    """No reasoning and no content, and not cut by the length limit: worth asking again."""
    return reply.finish_reason != "length" and not (reply.content or "").strip() and not (reply.reasoning or "").strip()


def make_backend(config: EvalConfig) -> Backend:
    """The endpoint backend when `base_url` is set, else local transformers generation."""
    return OpenAIBackend(config) if config.base_url else LocalBackend(config)


# ---- the command ---------------------------------------------------------------------------


def stale_samples(store: Store, eval_run_id: str, problem_ids: list[str]) -> pl.DataFrame:
    """The run's stored samples of these problems whose gold answer, question or tests changed
    since they were checked (eval.report.SAMPLE_STALE)."""
    from eval.report import SAMPLE_STALE

    return store.query(
        "SELECT s.* FROM eval_samples s LEFT JOIN problems p USING (problem_id) "
        f"WHERE s.eval_run_id = ? AND list_contains(?, s.problem_id) AND {SAMPLE_STALE} "
        "ORDER BY s.problem_id, s.sample_index",
        [eval_run_id, problem_ids],
    )


def summarize(store: Store, result: EvalRunResult) -> EvalRunResult:
    """Fill a EvalRunResult's metrics from the stored samples of its run (per domain when it mixes them)."""
    from eval.report import SAMPLE_DOMAIN, SAMPLE_STALE, domain_accuracies, frame_accuracy

    frame = store.query(
        "SELECT s.problem_id, s.sample_index, s.correct, s.answer_key, s.words, s.length_tokens, "
        f"{SAMPLE_DOMAIN} AS domain FROM eval_samples s LEFT JOIN problems p USING (problem_id) "
        f"WHERE s.eval_run_id = ? AND NOT {SAMPLE_STALE} ORDER BY s.problem_id, s.sample_index",
        [result.eval_run_id],
    )
    if frame.height == 0:
        return result
    result.accuracy = frame_accuracy(frame)
    result.problems, result.samples = result.accuracy.problems, result.accuracy.samples
    result.pass_at_1, result.maj_at_k = result.accuracy.pass_at_1, result.accuracy.maj_at_k
    result.domains = sorted(frame["domain"].unique().to_list())
    result.by_domain = domain_accuracies(frame)
    result.mean_words = frame["words"].mean()
    result.mean_tokens = frame["length_tokens"].mean()
    return result


def run(store: Store, config: EvalConfig, backend: Backend | None = None) -> EvalResult:
    """Run (or resume) every eval run of `config`; a run with samples missing leaves the invocation incomplete.

    Problems are loaded (a file ingested) and every domain's checker opened in one transaction,
    so a refused domain or sandbox leaves the store as it was and nothing is generated.
    """
    validate(config)
    templates = load_templates(config.prompt_template)
    with store.transaction():
        problems = load_problems(store, config)
        checkers = open_checkers(config, problems)
    try:
        return _run(store, config, backend, templates, problems, checkers)
    finally:
        close_checkers(checkers)


def _run(
    store: Store,
    config: EvalConfig,
    backend: Backend | None,
    templates: dict[str, str],
    problems: pl.DataFrame,
    checkers: dict,
) -> EvalResult:
    tasks = tasks_of(problems)
    hashes = dict(problems.select("problem_id", "content_hash").iter_rows())
    runs = sub_runs(config)
    with store.run("eval", {k: v for k, v in asdict(config).items() if k != "progress"}) as record:
        run_id = record.run_id
        problem_set = problem_set_identity(store, problems["problem_id"].to_list())
        plans = []
        for sub in runs:
            with store.transaction():
                ensure_run_row(store, config, sub, templates_used(templates, problems), run_id, problem_set)
            plans.append((sub, plan_jobs(store, sub, problems, config.samples, templates)))
        todo = sum(len(j.sample_indices) for _, jobs in plans for j in jobs)
        if todo and backend is None:
            if config.progress:
                note(f"loading {config.model} ({config.backend} backend)")
            backend = make_backend(config)
        results = []
        try:
            for sub, jobs in plans:
                result = EvalRunResult(sub.eval_run_id, sub.seed, sub.length_level, sub.word_budget)
                writer = SampleWriter(store, sub.eval_run_id, tasks, checkers, config, hashes)
                result.rechecked = writer.recheck(stale_samples(store, sub.eval_run_id, list(tasks)))
                if result.rechecked and config.progress:
                    note(f"{sub.eval_run_id}: {result.rechecked} sample(s) checked again: their problem changed since")
                wanted = sum(len(j.sample_indices) for j in jobs)
                if jobs:
                    if config.progress:
                        note(f"{sub.eval_run_id}: {wanted} sample(s) to generate on {len(jobs)} problem(s)")
                    result.errors = backend.generate(jobs, seed=sub.seed, config=config, sink=writer)
                result.generated = writer.written
                result.missing = wanted - writer.written
                store.execute(
                    "UPDATE eval_runs SET status = ?, finished_at = current_timestamp WHERE eval_run_id = ?",
                    ["ok" if result.missing == 0 else "incomplete", sub.eval_run_id],
                )
                results.append(summarize(store, result))
                for error in result.errors[:5]:
                    stderr.print(f"[yellow]{sub.eval_run_id}: {error}[/]")
        except BaseException as error:
            status = "interrupted" if is_interrupt(error) else "failed"
            for sub, _ in plans:
                store.execute(
                    "UPDATE eval_runs SET status = ? WHERE eval_run_id = ? AND status = 'running'",
                    [status, sub.eval_run_id],
                )
            raise
        result = EvalResult(run_id, results)
        record.counts = {
            "runs": len(results),
            "generated": sum(r.generated for r in results),
            "rechecked": sum(r.rechecked for r in results),
            "missing": result.missing,
        }
        record.status = "incomplete" if result.missing else "ok"
    return result
