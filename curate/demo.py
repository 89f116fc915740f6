"""`curate demo [--dir DIR]`: every stage of the pipeline, offline, on the bundled problems.

Contract
- Builds a pipeline config (`demo_config`) and runs it with `curate.pipeline.run_pipeline`:
  ingest the bundled O'Bryan-style set (curate/data/obryan_style.jsonl, train/test split per
  row); generate 2 samples on 16 train problems with the tiny real model (SmolLM2-135M-Instruct,
  GGUF, `--backend local`); import the hand-written teacher traces of
  curate/data/demo_traces.jsonl; verify; score; select (shortest correct); export (checked
  through the tiny model's chat template); LoRA-train the tiny model for 8 steps (rank 4);
  evaluate the base and the trained student on 10 test problems; write the report.
- Outputs in DIR (default ./curate-demo): traces.duckdb (the store: open it with
  `curate review --db DIR/traces.duckdb` or `curate sql --db ...`), export/, adapter/,
  report/report.md. Prints a summary table and where everything went.
- Rerunning resumes: stages done with the same config are skipped; `--fresh` starts over.

Caveats: this demonstrates the mechanics, not distillation quality. A 135M model rarely
answers these problems correctly, so the traces that select, export and train use are mostly
the hand-written ones, and the base/student accuracies on 10 problems say nothing about what
distillation achieves (that is what examples/case_study.toml is for, on a GPU). The judge stage
is left out: there is no judge model offline.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from rich.table import Table

from curate.pipeline import PipelineConfig, parse_config, print_summary, run_pipeline
from db import BadInput, open_store
from db.console import stderr, stdout

SOURCE = "obryan-style"
TRACES_MODEL = "hand-written-demo-teacher"
GENERATE_PROBLEMS = 16
EVAL_PROBLEMS = 10
MAX_TOKENS = 96
EVAL_MAX_TOKENS = 64
TRAIN_STEPS = 8

NOTICE = (
    "curate demo shows the pipeline's mechanics with a 135M model on 2 CPU cores; it says nothing "
    "about distillation quality. The tiny model rarely solves these problems, so the demo also "
    f"imports hand-written teacher-style traces (model '{TRACES_MODEL}', curate/data/demo_traces.jsonl) "
    "for selection, export and training to work with."
)


def demo_config(run_dir: Path) -> PipelineConfig:
    """The demo's pipeline config: every stage, sized for a few minutes on 2 CPU cores."""
    from curate.assets import tiny_model_gguf

    tiny_gguf = str(tiny_model_gguf())
    raw = {
        "problems": {"files": [{"path": "bundled:obryan_style.jsonl", "source": SOURCE, "split": "per-row"}]},
        "generate": {"backend": "local", "model": "tiny", "samples": 2, "split": "train", "source": SOURCE,
                     "limit": GENERATE_PROBLEMS, "max_tokens": MAX_TOKENS, "temperature": 0.6, "top_p": 0.95,
                     # one batch: on CPU a decoding step costs about the same for 1 or 32 rows
                     "batch_size": 2 * GENERATE_PROBLEMS},
        "import": {"files": [{"path": "bundled:demo_traces.jsonl", "model": TRACES_MODEL, "source": SOURCE}]},
        "verify": {},
        "score": {},
        "select": {"policy": "shortest-correct", "name": "demo-shortest-correct"},
        "export": {"out": "export", "val_fraction": 0.2, "tokenizer": tiny_gguf},
        "train": {"model": "tiny", "out": "adapter", "max_steps": TRAIN_STEPS, "lora_rank": 4, "lora_alpha": 8.0,
                  "learning_rate": 5e-4, "tokens_per_batch": 512, "seq_len": 512, "eval_every": 4,
                  "save_every": 4, "patience": 3},
        "eval": {"problems": "test", "source": SOURCE, "limit": EVAL_PROBLEMS, "samples": 1,
                 "max_tokens": EVAL_MAX_TOKENS, "temperature": 0.6, "top_p": 0.95, "model": "tiny",
                 "runs": [{"name": "demo-base", "label": "base"},
                          {"name": "demo-student", "label": "student", "adapter": "@train"}]},
        "report": {"out": "report"},
    }
    return parse_config(raw, source="curate demo", run_dir=run_dir)


def run_demo(run_dir: str | Path = "curate-demo", fresh: bool = False) -> PipelineConfig:
    run_dir = Path(run_dir)
    if fresh and run_dir.exists():
        if any(run_dir.iterdir()) and not (run_dir / "traces.duckdb").exists():
            raise BadInput("not a demo folder (no traces.duckdb); refusing to delete it", file=str(run_dir), field="--dir")
        shutil.rmtree(run_dir)
    config = demo_config(run_dir)
    stderr.print(f"[yellow]{NOTICE}[/]")
    results = run_pipeline(config)
    print_summary(results, config)
    print_demo_summary(config)
    return config


DEMO_QUERIES = {
    "samples and verdicts": (
        "SELECT s.model, s.status, coalesce(v.verdict, '-') AS verdict, count(*) AS samples "
        "FROM samples s LEFT JOIN verdict_current v USING (sample_id) GROUP BY ALL ORDER BY ALL"
    ),
    "selected for training": (
        "SELECT s.model, count(*) AS traces FROM selections x JOIN samples s USING (sample_id) "
        "WHERE x.selection_id = 'demo-shortest-correct' GROUP BY ALL ORDER BY ALL"
    ),
    "evaluation (10 test problems)": (
        "SELECT r.eval_run_id AS run, count(*) AS samples, "
        "round(100 * avg(CASE WHEN e.correct THEN 1 ELSE 0 END), 1) AS pass_at_1_pct "
        "FROM eval_runs r JOIN eval_samples e USING (eval_run_id) GROUP BY ALL ORDER BY run"
    ),
    "training": (
        "SELECT train_run_id, status, best_step, round(best_val_loss, 4) AS best_val_loss, "
        "round(final_train_loss, 4) AS final_train_loss FROM train_runs ORDER BY started_at"
    ),
}


def print_demo_summary(config: PipelineConfig) -> None:
    """What the demo produced, from the store, and where everything went."""
    from curate.query import frame_table

    with open_store(config.db, read_only=True) as store:
        for title, sql in DEMO_QUERIES.items():
            stdout.print(frame_table(store.query(sql), title=title))
        export_dir = store.scalar("SELECT path FROM exports ORDER BY created_at DESC LIMIT 1")
    places = Table(title="where everything went", show_header=False)
    places.add_column()
    places.add_column(overflow="fold")
    for name, path in (("store", config.db), ("export", export_dir),
                       ("adapter", config.run_dir / "adapter" / "adapter"),
                       ("report", config.run_dir / "report" / "report.md")):
        places.add_row(name, str(path))
    stdout.print(places)
    db = config.db
    stdout.print(f"next: curate review --db {db}\n"
                 f"      curate sql --db {db} \"SELECT * FROM problem_stats ORDER BY pass_rate\"\n"
                 f"      curate stats --db {db}", highlight=False)
    stdout.print(f"[yellow]{NOTICE}[/]")
