"""The `evaluate` command: a thin Typer layer over eval.run and eval.report."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from db import BadInput
from db.console import DbOption, ExitCodeGroup, PromptTemplateOption, run_app, stderr, stdout

app = typer.Typer(
    cls=ExitCodeGroup,
    name="evaluate",
    help="Evaluate base, student and teacher models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Evaluate base, student and teacher models."""


def _int_list(text: str | None, flag: str) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise BadInput(f"expected comma-separated integers, got {text!r}", field=flag) from None
    if not values:
        raise BadInput("expected at least one integer", field=flag)
    return values


@app.command()
def run(
    name: str = typer.Option(..., "--name", help="Run name; seeds and length levels become NAME/seed-S, NAME/len-L."),
    model: str = typer.Option(
        ..., "--model", help="Local: HF dir, hub id, .gguf file or 'tiny'. Endpoint: served model name."
    ),
    problems: str = typer.Option(
        ..., "--problems", help="A split of the problems table (test, val, ...) or a problems FILE."
    ),
    base_url: Optional[str] = typer.Option(
        None, "--base-url", help="OpenAI-compatible endpoint (vLLM, DeepSeek); omit for local generation."
    ),
    adapter: Optional[Path] = typer.Option(None, "--adapter", help="A peft LoRA directory applied to a local model."),
    label: Optional[str] = typer.Option(None, "--label", help="Report row for this run: base, student, teacher, ..."),
    source: Optional[str] = typer.Option(
        None, "--source", help="Only problems of this source (with a split); a FILE's source name."
    ),
    databases: Optional[Path] = typer.Option(
        None,
        "--databases",
        help="With a Spider-style problems FILE: the folder of DB_ID/DB_ID.sqlite (as curate ingest).",
    ),
    samples: int = typer.Option(1, "--samples", "-k", help="Samples per problem."),
    seeds: str = typer.Option("0", "--seeds", help="Comma-separated seeds; one eval run per seed."),
    temperature: float = typer.Option(0.6, "--temperature"),
    top_p: float = typer.Option(0.95, "--top-p"),
    max_tokens: int = typer.Option(32768, "--max-tokens", help="Most new tokens per sample."),
    prompt_template: Optional[list[str]] = PromptTemplateOption,
    strict_form: bool = typer.Option(False, "--strict-form", help="Also require the simplified answer form."),
    limit: Optional[int] = typer.Option(None, "--limit", help="First N problems by problem_id."),
    length_levels: Optional[int] = typer.Option(
        None, "--length-levels", help="Length study: this many levels (default: one per word budget)."
    ),
    word_budgets: Optional[str] = typer.Option(
        None, "--word-budgets", help="Length study word budgets per level [400,250,150,100,60,30]."
    ),
    concurrency: int = typer.Option(16, "--concurrency", help="Requests in flight (endpoint)."),
    n_per_request: int = typer.Option(
        0, "--n-per-request", help="Samples per request (endpoint); 0 = all of a problem's."
    ),
    max_retries: int = typer.Option(5, "--max-retries", help="Retries of a failed or empty request (endpoint)."),
    backoff: float = typer.Option(
        1.0, "--backoff", help="First retry delay in seconds; doubles per retry, jittered (endpoint)."
    ),
    request_timeout: float = typer.Option(3600.0, "--request-timeout", help="Seconds per request (endpoint)."),
    api_key_env: str = typer.Option(
        "OPENAI_API_KEY", "--api-key-env", help="Environment variable holding the API key."
    ),
    batch_size: int = typer.Option(16, "--batch-size", help="Prompts per generate call (local)."),
    local_engine: str = typer.Option(
        "batched",
        "--local-engine",
        help="batched (padded chunks of --batch-size) or continuous (transformers' continuous batching; "
        "hand it many prompts with a large --batch-size).",
    ),
    device: Optional[str] = typer.Option(
        None, "--device", help="cpu, cuda, cuda:1 (local; default cuda when present)."
    ),
    verify_workers: Optional[int] = typer.Option(None, "--verify-workers", help="Verifier worker processes."),
    unsafe_local: bool = typer.Option(
        False,
        "--unsafe-local",
        help="Code problems: run the programs without isolation where the sandbox cannot isolate them "
        "(network and files are yours; only on a machine you can lose).",
    ),
    db: Optional[Path] = DbOption,
) -> None:
    """Sample a model on a problem set, verify each sample with its domain's checker and store it (resumable)."""
    from db import stage_store
    from eval.run import DEFAULT_WORD_BUDGETS, EvalConfig, run as run_eval

    budgets = _int_list(word_budgets, "--word-budgets")
    levels = length_levels if length_levels is not None else (len(budgets) if budgets else 0)
    config = EvalConfig(
        name=name,
        model=model,
        problems=problems,
        base_url=base_url,
        adapter=str(adapter) if adapter else None,
        label=label,
        source=source,
        databases=str(databases) if databases else None,
        samples=samples,
        seeds=_int_list(seeds, "--seeds"),
        temperature=temperature,
        top_p=top_p,
        max_tokens=max_tokens,
        prompt_template=tuple(prompt_template) if prompt_template else None,
        strict_form=strict_form,
        limit=limit,
        length_levels=levels,
        word_budgets=budgets or DEFAULT_WORD_BUDGETS,
        api_key_env=api_key_env,
        concurrency=concurrency,
        n_per_request=n_per_request,
        max_retries=max_retries,
        backoff_s=backoff,
        request_timeout_s=request_timeout,
        batch_size=batch_size,
        device=device,
        local_engine=local_engine,
        verify_workers=verify_workers,
        unsafe_local=unsafe_local,
    )
    with stage_store(db) as store:
        results = run_eval(store, config).runs
    stdout.print(results_table(results), markup=False, highlight=False, soft_wrap=True)
    missing = sum(r.missing for r in results)
    if missing:
        stderr.print(f"{missing} sample(s) failed after their retries; rerun the same command to fill them in")
        raise typer.Exit(1)


def results_table(results) -> str:
    """One row per eval run (its domain, or "mixed" followed by a row per domain); maj@k "-" for code and SQL."""
    from eval.report import markdown_table, percent

    def cells(accuracy) -> list[str]:
        return [
            str(accuracy.problems),
            str(accuracy.samples),
            str(accuracy.per_problem),
            f"{percent(accuracy.pass_at_1.mean)} ± {percent(accuracy.pass_at_1.spread)}",
            percent(accuracy.pass_at_n),
            percent(accuracy.maj_at_k),
        ]

    rows = []
    for r in results:
        if r.accuracy is None:
            rows.append([r.eval_run_id, "-", "0", "0", "-", "-", "-", "-", "-", "-", str(r.generated), str(r.missing)])
            continue
        domain = r.domains[0] if len(r.domains) == 1 else "mixed"
        words = "-" if r.mean_words is None else f"{r.mean_words:.1f}"
        tokens = "-" if r.mean_tokens is None else f"{r.mean_tokens:.1f}"
        rows.append([r.eval_run_id, domain, *cells(r.accuracy), words, tokens, str(r.generated), str(r.missing)])
        for name, accuracy in r.by_domain.items():
            rows.append([r.eval_run_id, name, *cells(accuracy), "-", "-", "-", "-"])
    header = ["run", "domain", "problems", "samples", "k", "pass@1 % ± SE", "pass@k %", "maj@k %"]
    return markdown_table([*header, "words", "tokens", "new", "missing"], rows)


@app.command()
def report(
    runs: Optional[List[str]] = typer.Argument(None, help="Eval runs, run groups or labels (default: all)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write report.md and PNG plots to this folder."),
    db: Optional[Path] = DbOption,
) -> None:
    """Markdown tables (stdout) and plots of eval runs: accuracy by label, per run, per section, length study."""
    from eval.report import build_report

    result = build_report(db, runs or None, out)
    stdout.print(result.markdown, markup=False, highlight=False, soft_wrap=True)


@app.command()
def compare(
    a: str = typer.Argument(..., help="Eval run, run group or label A."),
    b: str = typer.Argument(..., help="Eval run, run group or label B."),
    resamples: int = typer.Option(10_000, "--resamples", help="Bootstrap resamples."),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
    db: Optional[Path] = DbOption,
) -> None:
    """Paired difference A - B on shared problems: bootstrap interval and McNemar's test."""
    from eval.report import compare_runs

    stdout.print(
        compare_runs(db, a, b, resamples=resamples, seed=seed).markdown(), markup=False, highlight=False, soft_wrap=True
    )


def main(argv: list[str] | None = None) -> None:
    """The `evaluate` script: runs the app with the shared exit codes."""
    run_app(app, argv)


if __name__ == "__main__":
    main()
