"""The `curate` command: a thin Typer layer over the stage functions.

Each command opens the store, calls one stage function, prints data on stdout and progress on
stderr. Stage logic lives in the stage modules; nothing here is needed to use them from Python.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from db.console import DbOption, ExitCodeGroup, PromptTemplateOption, run_app

app = typer.Typer(
    cls=ExitCodeGroup,  # bad input exits 2 however the app is invoked (CliRunner included)
    name="curate",
    help="Curate teacher reasoning traces: ingest, generate, verify, score, select, review, export.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

WaitOption = typer.Option(
    None,
    "--wait",
    help="Seconds to wait, with a countdown, for another process to release the store.",
    show_default=False,
)
# curate.prompts.load_templates reads the values (no import here, so --help stays fast).


@app.callback()
def _options(wait: Optional[float] = WaitOption) -> None:
    """Curate teacher reasoning traces: ingest, generate, verify, score, select, review, export."""
    _set_wait(wait)


def _set_wait(wait: float | None) -> None:
    # open_store reads $CURATE_WAIT, so every command (and the stages it calls) waits alike.
    if wait is not None:
        if wait < 0:
            from db import BadInput

            raise BadInput("must be zero or more seconds", field="--wait")
        os.environ["CURATE_WAIT"] = str(wait)


# ---- foundation: ingest, import-samples, sql, stats ------------------------------------------


@app.command()
def ingest(
    file: Path = typer.Argument(..., help="Problems file: JSONL, JSON array, CSV or Parquet.", show_default=False),
    db: Optional[Path] = DbOption,
    source: Optional[str] = typer.Option(None, "--source", help="Source name (default: folder/stem of FILE)."),
    split: Optional[str] = typer.Option(None, "--split", help="train, val or test."),
    format: str = typer.Option("auto", "--format", help="auto, jsonl, json, csv or parquet."),
    question_field: Optional[str] = typer.Option(None, "--question-field", help="Field holding the question."),
    answer_field: Optional[str] = typer.Option(None, "--answer-field", help="Field holding the gold answer."),
    id_field: Optional[str] = typer.Option(None, "--id-field", help="Field holding the problem's id in its source."),
    section_field: Optional[str] = typer.Option(None, "--section-field", help="Field holding a section name."),
    year_field: Optional[str] = typer.Option(None, "--year-field", help="Field holding the year."),
    update: bool = typer.Option(
        False, "--update", help="Overwrite stored problems whose gold answer (or tests, database, options) changed."
    ),
    no_gold: bool = typer.Option(
        False, "--no-gold", help="Accept problems without a gold answer (consensus curation)."
    ),
    on_duplicate: str = typer.Option(
        "error",
        "--on-duplicate",
        help="A repeated id whose question or gold differs: error (exit 2) or first (keep the first).",
    ),
    domain: str = typer.Option(
        "auto", "--domain", help="auto (from the fields), math, code (HumanEval, MBPP), sql (Spider) or choice."
    ),
    databases: Optional[Path] = typer.Option(
        None,
        "--databases",
        help="SQL problems: the folder holding DB_ID/DB_ID.sqlite (or .duckdb).",
        show_default=False,
    ),
) -> None:
    """Load problems with gold answers; fields and domain are detected for the common public sets."""
    from curate.ingest import IngestConfig, report_ingest
    from curate.stages import run_stage
    from db.console import stdout

    config = IngestConfig(
        path=file,
        source=source,
        split=split,
        format=format,
        question_field=question_field,
        answer_field=answer_field,
        id_field=id_field,
        section_field=section_field,
        year_field=year_field,
        update=update,
        allow_no_gold=no_gold,
        on_duplicate=on_duplicate,
        domain=domain,
        databases=databases,
    )
    result = run_stage("ingest", db, config)
    report_ingest(result, update)
    stdout.print(
        f"{result.source}: {result.rows} rows"
        + (f" of {result.domain} problems" if result.domain != "math" else "")
        + f"; added {result.added}, unchanged {result.unchanged}, "
        f"changed {result.changed}"
        + (f" (updated {result.updated})" if update else "")
        + (f", duplicates skipped {result.duplicates}" if result.duplicates else ""),
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


@app.command("import-samples")
def import_samples_command(
    file: Path = typer.Argument(..., help="Traces file: JSONL, JSON array, CSV or Parquet.", show_default=False),
    model: str = typer.Option(..., "--model", help="Name of the model that wrote the traces."),
    db: Optional[Path] = DbOption,
    source: Optional[str] = typer.Option(
        None, "--source", help="Source for problems the store lacks (default: folder/stem of FILE)."
    ),
    id_field: Optional[str] = typer.Option(None, "--id-field", help="Field holding the problem id."),
    question_field: Optional[str] = typer.Option(None, "--question-field", help="Field holding the question."),
    answer_field: Optional[str] = typer.Option(
        None, "--answer-field", help="Field holding the gold answer (for new problems)."
    ),
    samples_field: Optional[str] = typer.Option(
        None, "--samples-field", help="Field holding one completion or a list of them."
    ),
    params_tag: Optional[str] = typer.Option(
        None, "--params-tag", help="Identity of the sampling settings (default: the file name)."
    ),
    format: str = typer.Option("auto", "--format", help="auto, jsonl, json, csv or parquet."),
    memory_limit: Optional[str] = typer.Option(
        None, "--memory-limit", help="DuckDB's memory for this import (default 1536MB; staged rows are on disk)."
    ),
    skip_missing: bool = typer.Option(
        False,
        "--skip-missing",
        help="Skip rows without a completion (counted in the summary) instead of refusing the file.",
    ),
) -> None:
    """Import pre-generated traces, one per row or a list per problem."""
    from curate.import_samples import ImportConfig, summary_line
    from curate.stages import run_stage
    from db.console import stdout

    config = ImportConfig(
        path=file,
        model=model,
        source=source,
        id_field=id_field,
        question_field=question_field,
        answer_field=answer_field,
        samples_field=samples_field,
        params_tag=params_tag,
        format=format,
        memory_limit=memory_limit,
        skip_missing=skip_missing,
    )
    result = run_stage("import-samples", db, config)
    stdout.print(summary_line(result), highlight=False, markup=False, soft_wrap=True)


@app.command()
def sql(
    query: str = typer.Argument(..., help="SQL to run against the store."),
    db: Optional[Path] = DbOption,
    format: str = typer.Option("table", "--format", "-f", help="table, csv or json."),
    max_rows: int = typer.Option(200, "--max-rows", help="Rows shown in table format (csv/json print all)."),
    allow_files: bool = typer.Option(
        False, "--allow-files", help="Let the SQL read and write other files (COPY, read_csv, ATTACH); off by default."
    ),
    wait: Optional[float] = WaitOption,
) -> None:
    """Run SQL against the store (read-only, confined to the store) and print the result."""
    from curate.query import run_sql

    _set_wait(wait)
    run_sql(db, query, format=format, max_rows=max_rows, allow_files=allow_files)


@app.command()
def stats(db: Optional[Path] = DbOption, wait: Optional[float] = WaitOption) -> None:
    """Counts: problems per source and split, problems and samples per domain, samples per model and status, verdicts."""
    from curate.query import print_stats

    _set_wait(wait)
    print_stats(db)


# ---- generate and judge (curate/generate.py, curate/judge.py) --------------------------------


@app.command()
def generate(
    model: str = typer.Option(
        ..., "--model", help="Model name at the endpoint; with --backend local a path or 'tiny'."
    ),
    base_url: Optional[list[str]] = typer.Option(
        None, "--base-url", help="OpenAI-compatible endpoint; repeat to spread requests (default: $OPENAI_BASE_URL)."
    ),
    api_key_env: str = typer.Option(
        "OPENAI_API_KEY", "--api-key-env", help="Environment variable holding the API key."
    ),
    backend: str = typer.Option(
        "openai", "--backend", help="openai (HTTP endpoint) or local (transformers in-process)."
    ),
    samples: int = typer.Option(4, "--samples", "-n", help="Samples per problem."),
    concurrency: int = typer.Option(16, "--concurrency", "-c", help="Requests in flight."),
    max_tokens: int = typer.Option(32768, "--max-tokens", help="Completion token limit (reasoning included)."),
    temperature: float = typer.Option(0.6, "--temperature"),
    top_p: float = typer.Option(0.95, "--top-p"),
    split: Optional[str] = typer.Option(None, "--split", help="Only problems of this split."),
    source: Optional[str] = typer.Option(None, "--source", help="Only problems of this source."),
    limit: Optional[int] = typer.Option(None, "--limit", help="First K problems (by problem_id)."),
    budget_usd: Optional[float] = typer.Option(
        None, "--budget-usd", help="Stop sending once this run's spend would pass it."
    ),
    rpm: Optional[float] = typer.Option(None, "--rpm", help="Requests per minute limit."),
    tpm: Optional[float] = typer.Option(None, "--tpm", help="Tokens per minute limit."),
    prompt_template: Optional[list[str]] = PromptTemplateOption,
    price_in: Optional[float] = typer.Option(None, "--price-in", help="USD per million prompt tokens."),
    price_out: Optional[float] = typer.Option(None, "--price-out", help="USD per million completion tokens."),
    price_file: Optional[Path] = typer.Option(
        None, "--price-file", help="TOML prices: a models.NAME table per model with input and output (USD per M)."
    ),
    timeout: float = typer.Option(3600.0, "--timeout", help="Seconds one request may take."),
    max_retries: int = typer.Option(6, "--max-retries", help="Retries per sample (429, 5xx, timeouts, empty answers)."),
    backoff: float = typer.Option(1.0, "--backoff", help="First retry delay in seconds; doubles per retry, jittered."),
    batch_size: int = typer.Option(16, "--batch-size", help="Local backend: prompts per generate call."),
    local_engine: str = typer.Option(
        "batched", "--local-engine", help="Local backend: batched (padded chunks) or continuous (continuous batching)."
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Live progress line on stderr."),
    shard: Optional[str] = typer.Option(
        None,
        "--shard",
        help="K/N: only share K of N of the (problem, sample) pairs; N machines, N stores, then `curate merge`.",
    ),
    db: Optional[Path] = DbOption,
) -> None:
    """Sample teacher completions for the problems; resumable per sample (rerun to continue)."""
    from curate.generate import GenerateConfig, print_summary
    from curate.stages import run_stage

    config = GenerateConfig(
        model=model,
        base_urls=tuple(base_url or ()),
        api_key_env=api_key_env,
        backend=backend,
        samples=samples,
        concurrency=concurrency,
        max_tokens=max_tokens,
        temperature=temperature,
        top_p=top_p,
        split=split,
        source=source,
        limit=limit,
        budget_usd=budget_usd,
        rpm=rpm,
        tpm=tpm,
        prompt_template=tuple(prompt_template) if prompt_template else None,
        price_in=price_in,
        price_out=price_out,
        price_file=str(price_file) if price_file else None,
        timeout_s=timeout,
        max_retries=max_retries,
        backoff_s=backoff,
        batch_size=batch_size,
        local_engine=local_engine,
        progress=progress,
        shard=shard,
    )
    summary = run_stage("generate", db, config)
    print_summary(summary)
    if summary.status == "incomplete":
        raise typer.Exit(1)  # samples failed: not done, a rerun retries them


@app.command()
def judge(
    model: str = typer.Option(..., "--model", help="Judge model name at the endpoint."),
    base_url: Optional[list[str]] = typer.Option(None, "--base-url", help="OpenAI-compatible endpoint; repeatable."),
    api_key_env: str = typer.Option(
        "OPENAI_API_KEY", "--api-key-env", help="Environment variable holding the API key."
    ),
    include_incorrect: bool = typer.Option(
        False, "--include-incorrect", help="Also judge samples SymPy called incorrect."
    ),
    limit: Optional[int] = typer.Option(None, "--limit", help="Judge at most K samples."),
    steps: bool = typer.Option(
        False, "--steps", help="Step critic: name the earliest wrong paragraph of each correct trace (step_checks)."
    ),
    concurrency: int = typer.Option(16, "--concurrency", "-c"),
    max_tokens: int = typer.Option(8192, "--max-tokens"),
    temperature: float = typer.Option(0.0, "--temperature"),
    timeout: float = typer.Option(3600.0, "--timeout"),
    max_retries: int = typer.Option(6, "--max-retries"),
    backoff: float = typer.Option(1.0, "--backoff"),
    price_in: Optional[float] = typer.Option(None, "--price-in", help="USD per million prompt tokens."),
    price_out: Optional[float] = typer.Option(None, "--price-out", help="USD per million completion tokens."),
    price_file: Optional[Path] = typer.Option(None, "--price-file", help="TOML prices, as for generate."),
    db: Optional[Path] = DbOption,
) -> None:
    """Grade samples the SymPy verifier left unparseable (optionally incorrect) with a judge model; --steps: check the steps of correct ones."""
    from curate.judge import JudgeConfig, print_summary
    from curate.stages import run_stage

    config = JudgeConfig(
        model=model,
        base_urls=tuple(base_url or ()),
        api_key_env=api_key_env,
        include_incorrect=include_incorrect,
        limit=limit,
        steps=steps,
        concurrency=concurrency,
        max_tokens=max_tokens,
        temperature=temperature,
        timeout_s=timeout,
        max_retries=max_retries,
        backoff_s=backoff,
        price_in=price_in,
        price_out=price_out,
        price_file=str(price_file) if price_file else None,
    )
    summary = run_stage("judge", db, config)
    print_summary(summary)
    if summary.status == "incomplete":
        raise typer.Exit(1)  # samples not judged: a rerun retries them


# ---- end of generate and judge --------------------------------------------------------------


@app.command()
def merge(
    out: Path = typer.Argument(..., help="Store to merge into (created when missing).", show_default=False),
    inputs: list[Path] = typer.Argument(
        ..., help="Stores to merge from (read only), e.g. one per --shard machine.", show_default=False
    ),
    memory_limit: str = typer.Option("2GB", "--memory-limit", help="DuckDB's memory for the merge."),
) -> None:
    """Merge stores written on several machines (samples, verdicts, reviews, runs) into OUT, exactly once."""
    from curate.merge import MergeConfig, summary_lines
    from curate.stages import run_stage
    from db.console import stdout

    result = run_stage("merge", out, MergeConfig(inputs=tuple(str(p) for p in inputs), memory_limit=memory_limit))
    for line in summary_lines(result):
        stdout.print(line, highlight=False, markup=False, soft_wrap=True)


# ---- verify (curate/verify_stage.py) ------------------------------------------------------------


@app.command()
def verify(
    db: Optional[Path] = DbOption,
    workers: Optional[int] = typer.Option(
        None, "--workers", "-w", help="Worker processes: SymPy, sandbox (default: all cores)."
    ),
    timeout: float = typer.Option(
        5.0,
        "--timeout",
        help="Seconds per check (a comparison, a program's tests) before it is stopped (verdict timeout).",
    ),
    strict_form: bool = typer.Option(
        False,
        "--strict-form",
        help="Count a correct but unsimplified answer as incorrect (verifier sympy/5+strict-form).",
    ),
    unsafe_local: bool = typer.Option(
        False,
        "--unsafe-local",
        help="Code problems: run the programs without isolation where the sandbox has none (untrusted code "
        "with your user's rights; docs/SANDBOX.md).",
    ),
    model: Optional[str] = typer.Option(None, "--model", help="Only samples of this model."),
    reverify: bool = typer.Option(False, "--reverify", help="Recompute verdicts that exist for this verifier version."),
    reverify_older: bool = typer.Option(
        False, "--reverify-older", help="Also verify samples whose verdict came from an older verifier version."
    ),
    limit: Optional[int] = typer.Option(None, "--limit", help="At most this many samples (for a quick look)."),
    steps: bool = typer.Option(
        False, "--steps", help="Also check every sample's steps (table step_checks, checker steps/N)."
    ),
) -> None:
    """Verify every sample's answer with its problem's domain checker: math against the gold answer,
    code by running its tests in the sandbox (resumable)."""
    from rich.table import Table

    from curate.stages import run_stage
    from curate.verify_stage import VerifyConfig, summary_rows
    from db.console import stdout

    config = VerifyConfig(
        workers=workers,
        timeout=timeout,
        strict_form=strict_form,
        unsafe_local=unsafe_local,
        limit=limit,
        model=model,
        reverify=reverify,
        reverify_older=reverify_older,
        steps=steps,
    )
    counts = run_stage("verify", db, config).counts
    table = Table(header_style="bold")
    table.add_column("verdicts")
    table.add_column("samples", justify="right")
    for name, value in summary_rows(counts):
        table.add_row(name, str(value))
    stdout.print(table)
    if counts.get("older_version"):
        stdout.print(
            f"{counts['older_version']} samples keep a verdict of an older verifier version "
            "(verdict_current marks them older_version); `curate verify --reverify-older` re-verifies them."
        )


# ---- end of verify ------------------------------------------------------------------------------


# ---- score, select, dedup, decontam, export (curate/score.py, select.py, decontam.py, export.py) --


@app.command()
def score(
    tokenizer: Optional[str] = typer.Option(
        None, "--tokenizer", help="Student tokenizer: HF tokenizer dir, .gguf file or cached name (default: Qwen BPE)."
    ),
    ngram: int = typer.Option(10, "--ngram", help="Words per n-gram for the repetition ratio."),
    timeout: float = typer.Option(5.0, "--timeout", help="Seconds per answer-equivalence check."),
    db: Optional[Path] = DbOption,
) -> None:
    """Score every sample (length, think block, boxed answers, repetition, language mix) and problem (answer clusters, pass rate, difficulty)."""
    from curate.query import frame_table
    from curate.score import ScoreConfig, pending_note, run as run_score, summary_frame
    from db import stage_store
    from db.console import stderr, stdout

    with stage_store(db, create=False) as store:
        result = run_score(store, ScoreConfig(tokenizer=tokenizer, ngram=ngram, equivalence_timeout=timeout))
        stdout.print(frame_table(summary_frame(store), title="scores"))
    if note := pending_note(result):
        stderr.print(note, highlight=False, soft_wrap=True)


@app.command()
def select(
    policy: Optional[str] = typer.Option(
        None, "--policy", help="shortest-correct, keep-k-correct, consensus or difficulty-weighted."
    ),
    k: Optional[int] = typer.Option(None, "--k", help="Samples per problem (policy default: 1, 4, 1, 2)."),
    config: Optional[Path] = typer.Option(None, "--config", help="TOML file with select parameters (flags win)."),
    name: Optional[str] = typer.Option(None, "--name", help="Selection id (default: policy + parameter hash)."),
    base_eval: Optional[str] = typer.Option(
        None, "--base-eval", help="difficulty-weighted: eval run of the base student."
    ),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="consensus: minimum agreement (default 0.5)."),
    min_difficulty: Optional[float] = typer.Option(None, "--min-difficulty", help="difficulty-weighted: default 0.5."),
    seed: Optional[int] = typer.Option(None, "--seed", help="keep-k-correct: order seed (default 0)."),
    max_repetition: Optional[float] = typer.Option(None, "--max-repetition", help="Default 0.4."),
    max_language_mix: Optional[float] = typer.Option(None, "--max-language-mix", help="Default 0.05."),
    max_boxed: Optional[int] = typer.Option(None, "--max-boxed", help="Distinct boxed answers allowed (default 1)."),
    min_tokens: Optional[int] = typer.Option(None, "--min-tokens"),
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens"),
    length_fence: Optional[float] = typer.Option(
        None, "--length-fence", help="Tukey fence factor on log length (default 3)."
    ),
    allow_truncated: Optional[bool] = typer.Option(None, "--allow-truncated/--no-allow-truncated", show_default=False),
    require_think_closed: Optional[bool] = typer.Option(
        None, "--require-think-closed/--allow-unclosed-think", show_default=False
    ),
    drop_wrong_steps: Optional[bool] = typer.Option(
        None,
        "--drop-wrong-steps/--keep-wrong-steps",
        help="Drop a correct trace with a wrong step when its problem has a clean one; rank flagged last (default on).",
        show_default=False,
    ),
    db: Optional[Path] = DbOption,
) -> None:
    """Filter the scored samples and keep the best per problem by a policy; recorded as a selection."""
    from curate.query import frame_table
    from curate.select import load_config, pending_note
    from curate.stages import run_stage
    from db.console import stderr, stdout
    import polars as pl

    overrides = dict(
        policy=policy,
        k=k,
        base_eval=base_eval,
        threshold=threshold,
        min_difficulty=min_difficulty,
        seed=seed,
        max_repetition=max_repetition,
        max_language_mix=max_language_mix,
        max_boxed=max_boxed,
        min_tokens=min_tokens,
        max_tokens=max_tokens,
        length_fence=length_fence,
        allow_truncated=allow_truncated,
        require_think_closed=require_think_closed,
        drop_wrong_steps=drop_wrong_steps,
        name=name,
    )
    result = run_stage("select", db, load_config(config, overrides))
    rows = result.not_selected()
    not_selected = pl.DataFrame(
        {"step": [r[0] for r in rows], "reason": [r[1] for r in rows], "samples": [r[2] for r in rows]},
        schema={"step": pl.String, "reason": pl.String, "samples": pl.Int64},
    )
    title = f"not selected: {sum(r[2] for r in rows)} of {result.pool} scored samples"
    stdout.print(frame_table(not_selected, title=title))
    stdout.print(
        f"selection {result.selection_id}: {result.n_samples} samples of {result.n_problems} problems "
        f"(policy {result.policy}, k={result.params['k']})",
        highlight=False,
        soft_wrap=True,
    )
    if note := pending_note(result):
        stderr.print(note, highlight=False, soft_wrap=True)


@app.command()
def dedup(
    fuzzy: float = typer.Option(95.0, "--fuzzy", help="rapidfuzz ratio (0-100) at which two questions are duplicates."),
    db: Optional[Path] = DbOption,
) -> None:
    """Mark duplicate training problems (same normalised question, or near-identical text)."""
    from curate.decontam import DedupConfig
    from curate.query import frame_table
    from curate.stages import run_stage
    from db.console import stdout

    result = run_stage("dedup", db, DedupConfig(fuzzy=fuzzy))
    stdout.print(
        frame_table(result.duplicates, title=f"{result.duplicates.height} duplicates among {result.checked} problems")
    )


@app.command()
def decontam(
    against: Optional[list[Path]] = typer.Option(None, "--against", help="Benchmark JSONL/JSON file; repeatable."),
    against_split: Optional[str] = typer.Option(
        None, "--against-split", help="Also match the store's problems of this split."
    ),
    ngram: int = typer.Option(8, "--ngram", help="Words per n-gram."),
    min_share: float = typer.Option(
        0.2, "--min-share", help="Share of a problem's n-grams found in one item to match."
    ),
    fuzzy: float = typer.Option(95.0, "--fuzzy", help="rapidfuzz ratio (0-100) that counts as a match."),
    db: Optional[Path] = DbOption,
) -> None:
    """Find training problems that overlap evaluation sets; export leaves them out."""
    from curate.decontam import DecontamConfig, report_table, run as run_decontam
    from db import stage_store
    from db.console import stdout

    config = DecontamConfig(
        against=tuple(against or ()), against_split=against_split, ngram=ngram, min_share=min_share, fuzzy=fuzzy
    )
    with stage_store(db, create=False) as store:
        result = run_decontam(store, config)
        stdout.print(report_table(result, store, width=stdout.width))


@app.command()
def export(
    out: Path = typer.Option(..., "--out", help="Directory for train/val files and the dataset card."),
    format: str = typer.Option("jsonl", "--format", help="jsonl or parquet."),
    selection: Optional[str] = typer.Option(None, "--selection", help="Selection id (default: the newest)."),
    style: str = typer.Option("think", "--style", help="think (reasoning + solution) or solution (solution only)."),
    val_fraction: float = typer.Option(0.1, "--val-fraction", help="Share of problems in val."),
    seed: int = typer.Option(0, "--seed", help="Seed of the train/val split."),
    tokenizer: Optional[str] = typer.Option(
        None, "--tokenizer", help="Student tokenizer (HF dir or .gguf): render and check every example's chat template."
    ),
    reviewed_only: bool = typer.Option(False, "--reviewed-only", help="Only samples a reviewer accepted."),
    include_contaminated: bool = typer.Option(False, "--include-contaminated", help="Keep problems decontam matched."),
    prompt_template: Optional[list[str]] = PromptTemplateOption,
    overwrite: bool = typer.Option(
        False,
        "--overwrite",
        help="Write into a folder that holds files an export did not write (they may be replaced).",
    ),
    db: Optional[Path] = DbOption,
) -> None:
    """Write the selection as a chat-format SFT dataset (train/val by problem) with a dataset card."""
    from curate.export import ExportConfig
    from curate.stages import run_stage
    from db.console import stdout

    config = ExportConfig(
        out=str(out),
        format=format,
        selection=selection,
        style=style,
        val_fraction=val_fraction,
        seed=seed,
        tokenizer=tokenizer,
        reviewed_only=reviewed_only,
        include_contaminated=include_contaminated,
        prompt_template=tuple(prompt_template) if prompt_template else None,
        overwrite=overwrite,
    )
    result = run_stage("export", db, config)
    for name, sha in result.files.items():
        stdout.print(f"{result.out / name}  sha256 {sha}", highlight=False, soft_wrap=True)
    left_out = ", ".join(f"{n} {why}" for why, n in result.excluded.items()) or "none"
    stdout.print(
        f"{result.export_id}: {result.n_train} train, {result.n_val} val examples; left out: {left_out}",
        highlight=False,
        soft_wrap=True,
    )


# ---- end of score, select, dedup, decontam, export ------------------------------------------------


# ---- review (curate/review/; the app, and so Textual, is imported only when the UI starts) ----------


@app.command()
def review(
    db: Optional[Path] = DbOption,
    reviewer: Optional[str] = typer.Option(
        None, "--reviewer", help="Your name on decisions (default: config file, then $USER)."
    ),
    filter: Optional[str] = typer.Option(
        None, "--filter", help="SQL WHERE over the queue's columns, e.g. \"verdict = 'incorrect'\"."
    ),
    queue: str = typer.Option(
        "pending", "--queue", help="pending (not decided by you; selected first), all, flagged, disagreements."
    ),
    config: Optional[Path] = typer.Option(
        None, "--config", help="Config file (default: ~/.config/trace-distill/review.toml)."
    ),
    show_stats: bool = typer.Option(
        False, "--stats", help="Print decisions per reviewer and reviewer agreement; no UI."
    ),
) -> None:
    """Review traces in a terminal app: one key per decision (a/r/f/s), u undo, ? lists every key."""
    if show_stats:
        from curate.review.stats import print_review_stats

        print_review_stats(db)
        return
    from curate.review.app import run_review

    run_review(db, reviewer, queue, filter, config)


# ---- end of review ----------------------------------------------------------------------------------

# ---- run and demo (curate/pipeline.py, curate/demo.py) ---------------------------------------------


@app.command("run")
def run_command(
    config: Path = typer.Argument(..., help="Pipeline config (TOML): one table per stage, see docs/GUIDE.md."),
    dir: Optional[Path] = typer.Option(None, "--dir", help="Output folder (overrides the config's pipeline.dir)."),
    from_stage: Optional[str] = typer.Option(None, "--from", help="Rerun from this stage on, even if done before."),
    brief: bool = typer.Option(
        False, "--brief", help="One line per stage with its counts, instead of each stage's progress bars and tables."
    ),
) -> None:
    """Run the stages a config names, in order; a rerun skips stages done with the same config."""
    from curate.pipeline import load_config, print_summary, run_pipeline

    pipeline_config = load_config(config, run_dir=dir)
    print_summary(run_pipeline(pipeline_config, from_stage=from_stage, brief=brief), pipeline_config, table=not brief)


@app.command()
def demo(
    dir: Path = typer.Option(Path("curate-demo"), "--dir", help="Folder for the demo's store and outputs."),
    fresh: bool = typer.Option(False, "--fresh", help="Delete DIR first instead of resuming in it."),
    ablation: bool = typer.Option(
        False, "--ablation", help="Also train on the answers only (the unfiltered control always runs)."
    ),
    threads: Optional[int] = typer.Option(
        None, "--threads", min=1, help="PyTorch CPU threads (default: the cores idle when the demo starts)."
    ),
) -> None:
    """Distillation in miniature, offline: a scripted teacher, curation, LoRA on a 135M model, a measured lift."""
    from curate.demo import run_demo

    run_demo(dir, fresh=fresh, ablation=ablation, threads=threads)


# ---- end of run and demo --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    run_app(app, argv)


if __name__ == "__main__":
    main()
