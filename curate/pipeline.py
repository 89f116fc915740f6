"""`curate run CONFIG.toml`: the whole job, stage by stage, from one config file.

Contract
- Input: a TOML file with an optional `[pipeline]` table (`dir`, `db`) and one table per stage
  to run. Stages run in this order, and a stage without its table is skipped:
  problems, generate, import, verify, judge, score, decontam, select, export, train, eval, report.
  Unknown tables and keys are bad input (exit 2) naming the file and key, checked before any
  stage runs, so a typo never silently drops a setting.
- Each curate stage is called as the CLI calls it, `curate.stages.run_stage(command, db,
  config)`, never a subprocess; train, eval and report call `train.sft.train_sft`,
  `eval.run.run` and `eval.report.build_report`. A stage table's keys are the fields of
  that stage's config dataclass (IngestConfig, GenerateConfig, SelectConfig, SFTConfig,
  EvalConfig, ...), plus the few the pipeline adds (documented per stage in docs/GUIDE.md).
- Paths: inputs (problem files, traces, benchmark files) are relative to the working directory,
  or `bundled:NAME` for a file under `curate/data/`; outputs (the store, export, adapter,
  report) are relative to `[pipeline] dir` (default `.`). The store is `[pipeline] db`,
  default `DIR/traces.duckdb`.
- Resume: a finished stage is recorded in `runs` (kind "pipeline-stage") with a fingerprint of
  its table chained to the fingerprints of the stages before it. A rerun skips a recorded stage
  whose fingerprint is unchanged; changing a table reruns that stage and every stage after it;
  `from_stage` reruns from that stage on. A stage interrupted midway continues where it stopped,
  because the stages resume per item themselves (generation per sample, evaluation per sample,
  training from its checkpoint).
- Outputs of each stage (counts, export directory, adapter directory, eval run names, report
  path) are recorded with the stage, so later stages find them after a skip.

  Review decisions are inputs of select: a select stage's fingerprint includes a digest of
  `review_current`, so a rejected (or newly accepted, or corrected) trace reruns select and
  the stages after it (export, train, eval, report).
  The samples' content is an input of verify, judge, score and select: their fingerprints
  include a digest of every `samples.content_hash` (`content_state`), so a gold answer changed
  by `curate ingest --update` outside the pipeline, or a regenerated sample, reruns verify and
  every stage after it; the stages themselves then redo only what is pending.

Caveats: the fingerprint covers the config, not the files behind it: a problems file edited in
place is not noticed (rerun with `--from problems`). The store is opened only around each
stage's bookkeeping, never held while a stage runs, because several stages open it themselves
(some read-only, which DuckDB refuses while the same process holds a writer).
"""

from __future__ import annotations

import hashlib
import json
import time
from contextlib import nullcontext
from dataclasses import MISSING, asdict, dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any, Callable

from curate.stages import STAGES as COMMANDS, run_stage
from db import BadInput, open_store, stage_store
from db.config_file import read_toml
from rich.markup import escape
from db.store import recorded_run
from db.console import stderr, transient_progress

STAGE_RUN_KIND = "pipeline-stage"
BUNDLED_PREFIX = "bundled:"
TRAIN_ADAPTER = "@train"  # in an [[eval.runs]] entry: the adapter the train stage wrote
PER_ROW_SPLIT = "per-row"  # in a [[problems.files]] entry: each row's own `split` field


@dataclass(frozen=True)
class PipelineConfig:
    """A checked config: where things go and the stage tables, in run order."""

    source: str  # the config file (for messages)
    run_dir: Path
    db: Path
    stages: dict[str, dict[str, Any]]


@dataclass
class StageContext:
    """What a stage gets: the config and the outputs of the stages before it."""

    config: PipelineConfig
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    brief: bool = False  # one line per stage, no per-stage tables; bars only while a stage runs on a terminal

    @property
    def db(self) -> Path:
        return self.config.db

    def output_path(self, value: str | Path) -> Path:
        path = Path(value)
        return path if path.is_absolute() else self.config.run_dir / path

    def input_path(self, value: str | Path, key: str) -> Path:
        return resolve_input(value, self.config.source, key)


@dataclass(frozen=True)
class StageResult:
    name: str
    status: str  # ran / skipped
    seconds: float  # wall time
    cpu_seconds: float  # CPU time of this process, all threads (a fairer figure on a shared machine)
    outputs: dict[str, Any]


def resolve_input(value: str | Path, source: str, key: str) -> Path:
    """An input path: `bundled:NAME` under curate/data, else relative to the working directory."""
    text = str(value)
    if text.startswith(BUNDLED_PREFIX):
        path = Path(str(resources.files("curate") / "data" / text[len(BUNDLED_PREFIX) :]))
    else:
        path = Path(text)
    if not path.exists():
        raise BadInput(f"no such file: {path}", file=source, field=key)
    return path


def _keys(cls: type, *, drop: tuple[str, ...] = (), add: tuple[str, ...] = ()) -> frozenset[str]:
    return frozenset({f.name for f in fields(cls)} - set(drop) | set(add))


def _check_keys(table: dict, known: frozenset[str], where: str, source: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        section = where.strip("[]")
        raise BadInput(
            f"unknown key(s) {', '.join(unknown)} in {where}; known: {', '.join(sorted(known))}",
            file=source,
            field=f"{section}.{unknown[0]}",
        )


def _check_table(
    table: dict,
    source: str,
    where: str,
    config: type,
    *,
    drop: tuple[str, ...] = (),
    add: tuple[str, ...] = (),
    filled: tuple[str, ...] = (),
) -> None:
    """Refuse keys the stage's config class lacks, and its required fields (`filled`: the pipeline's)."""
    _check_keys(table, _keys(config, drop=drop, add=add), where, source)
    missing = [
        f.name
        for f in fields(config)
        if f.default is MISSING and f.default_factory is MISSING and f.name not in table and f.name not in filled
    ]
    if missing:
        each = "each " if where.startswith("[[") else ""
        raise BadInput(
            f"{each}{where} needs {', '.join(missing)}", file=source, field=f"{where.strip('[]')}.{missing[0]}"
        )


def _table_check(command: str, **options: tuple[str, ...]) -> Callable[[dict, str], None]:
    """The check of a stage whose table is one config of `command` (see curate/stages.py)."""

    def check(table: dict, source: str) -> None:
        _check_table(table, source, f"[{command}]", COMMANDS[command].config_class(), **options)

    return check


def _check_files(table: dict, source: str, section: str, command: str) -> None:
    """A stage of `[[SECTION.files]]` entries, each one config of `command` naming an input file."""
    _check_keys(table, frozenset({"files"}), f"[{section}]", source)
    for entry in _entries(table, "files", section, source):
        _check_table(entry, source, f"[[{section}.files]]", COMMANDS[command].config_class())
        resolve_input(entry["path"], source, f"{section}.files.path")


def _entries(table: dict, key: str, where: str, source: str) -> list[dict]:
    entries = table.get(key, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries) or not entries:
        raise BadInput(
            f"{where}.{key} must be a non-empty list of tables ([[{where}.{key}]])", file=source, field=f"{where}.{key}"
        )
    return entries


# ---- stages ------------------------------------------------------------------------------------
# Each stage: check(table, source) raises BadInput before anything runs; run(context, table)
# calls the stage module and returns JSON-able outputs.


def check_problems(table: dict, source: str) -> None:
    _check_files(table, source, "problems", "ingest")


def run_problems(context: StageContext, table: dict) -> dict:
    from curate.ingest import IngestConfig
    from curate.sources import default_source

    added = rows = 0
    sources = []
    for entry in table["files"]:
        path = context.input_path(entry["path"], "problems.files.path")
        options = {k: v for k, v in entry.items() if k != "path"}
        options.setdefault("source", default_source(path))
        parts = [(path, options)]
        if options.get("split") == PER_ROW_SPLIT:
            parts = [(part, {**options, "split": split}) for split, part in _split_rows(path, context).items()]
        for part, part_options in parts:
            result = run_stage("ingest", context.db, IngestConfig(path=part, **part_options))
            added, rows = added + result.added, rows + result.rows
        sources.append(options["source"])
    return {"rows": rows, "added": added, "sources": sources}


def _split_rows(path: Path, context: StageContext) -> dict[str, Path]:
    """A JSONL file cut into one file per value of its rows' `split` field (ingest takes one split per file)."""
    by_split: dict[str, list[str]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            split = json.loads(line).get("split")
        except (json.JSONDecodeError, AttributeError) as error:
            raise BadInput(f"not a JSON object: {error}", file=str(path), line=number) from error
        if split not in ("train", "val", "test"):
            raise BadInput(
                f'split must be train, val or test for split = "{PER_ROW_SPLIT}"',
                file=str(path),
                line=number,
                field="split",
            )
        by_split.setdefault(split, []).append(line)
    folder = context.output_path(".pipeline")
    folder.mkdir(parents=True, exist_ok=True)
    parts = {}
    for split, lines in by_split.items():
        part = folder / f"{path.stem}.{split}.jsonl"
        part.write_text("\n".join(lines) + "\n", encoding="utf-8")
        parts[split] = part
    return parts


def _with_base_urls(table: dict) -> dict:
    values = dict(table)
    if "base_url" in values:
        values["base_urls"] = (values.pop("base_url"),) + tuple(values.get("base_urls", ()))
    if "base_urls" in values:
        values["base_urls"] = tuple(values["base_urls"])
    return values


def run_generate(context: StageContext, table: dict) -> dict:
    from curate.generate import GenerateConfig, print_summary

    summary = run_stage("generate", context.db, GenerateConfig(**_with_base_urls(table), progress=True))
    if not context.brief:
        print_summary(summary)
    if summary.status != "ok":
        why = summary.stop_reason or f"{summary.counts['error']} sample(s) failed after retries"
        raise RuntimeError(f"generation stopped ({summary.status}: {why}); rerun to continue")
    return {"run_id": summary.run_id, **summary.counts, "cost_usd": summary.cost_usd}


def check_import(table: dict, source: str) -> None:
    _check_files(table, source, "import", "import-samples")


def run_import(context: StageContext, table: dict) -> dict:
    from curate.import_samples import ImportConfig, summary_line

    added = 0
    for entry in table["files"]:
        path = context.input_path(entry["path"], "import.files.path")
        result = run_stage("import-samples", context.db, ImportConfig(**{**entry, "path": path}))
        if not context.brief:
            stderr.print(summary_line(result))
        added += result.added
    return {"added": added}


def run_verify(context: StageContext, table: dict) -> dict:
    from curate.verify_stage import VerifyConfig

    return _jsonable(run_stage("verify", context.db, VerifyConfig(**table, progress=True)).counts)


def run_judge(context: StageContext, table: dict) -> dict:
    from curate.judge import JudgeConfig, print_summary

    summary = run_stage("judge", context.db, JudgeConfig(**_with_base_urls(table)))
    print_summary(summary)
    if summary.counts.get("failed"):
        raise RuntimeError(f"{summary.counts['failed']} judge request(s) failed after retries; rerun to judge them")
    return {"run_id": summary.run_id, **summary.counts, "cost_usd": summary.cost_usd}


def run_score(context: StageContext, table: dict) -> dict:
    from curate.score import ScoreConfig

    result = run_stage("score", context.db, ScoreConfig(**table))
    return {
        "run_id": result.run_id,
        "samples": result.n_samples,
        "problems": result.n_problems,
        "tokenizer": result.tokenizer,
    }


def check_decontam(table: dict, source: str) -> None:
    _table_check("decontam")(table, source)
    for path in table.get("against", []):
        resolve_input(path, source, "decontam.against")


def run_decontam(context: StageContext, table: dict) -> dict:
    from curate.decontam import DecontamConfig

    against = tuple(context.input_path(p, "decontam.against") for p in table.get("against", []))
    result = run_stage("decontam", context.db, DecontamConfig(**{**table, "against": against}))
    return {"run_id": result.run_id, "checked": result.checked, "contaminated": result.contaminated}


def run_select(context: StageContext, table: dict) -> dict:
    from curate.select import SelectConfig

    result = run_stage("select", context.db, SelectConfig(**table))
    return {
        "selection_id": result.selection_id,
        "samples": result.n_samples,
        "problems": result.n_problems,
        "pool": result.pool,
        "dropped": result.dropped,
        "passed_over": result.passed_over,
        "pending": result.pending,
    }


def run_export(context: StageContext, table: dict) -> dict:
    from curate.export import ExportConfig

    values = dict(table)
    values["out"] = str(context.output_path(values.get("out", "export")))
    values.setdefault("selection", context.outputs.get("select", {}).get("selection_id"))
    result = run_stage("export", context.db, ExportConfig(**values))
    return {
        "export_id": result.export_id,
        "out": str(result.out),
        "train": result.n_train,
        "val": result.n_val,
        "excluded": result.excluded,
    }


TRAIN_KEYS = ("model", "out", "data", "gguf_file", "runs")  # train_sft's own arguments; the rest are SFTConfig's


def _train_keys() -> frozenset[str]:
    from train.sft import SFTConfig

    return _keys(SFTConfig, add=TRAIN_KEYS)


def check_train(table: dict, source: str) -> None:
    _check_keys(table, _train_keys(), "[train]", source)
    if "model" not in table:
        raise BadInput("[train] needs model", file=source, field="train.model")


def run_train(context: StageContext, table: dict) -> dict:
    from train.sft import load_config, print_results, summarize, train_sft

    data = table.get("data") or context.outputs.get("export", {}).get("out")
    if data is None:
        raise BadInput(
            "[train] needs data (or an [export] stage before it)", file=context.config.source, field="train.data"
        )
    out = context.output_path(table.get("out", "adapter"))
    knobs = {k: v for k, v in table.items() if k not in TRAIN_KEYS}
    given = {k: table[k] for k in ("gguf_file", "runs") if k in table}
    results = train_sft(
        context.input_path(data, "train.data"),
        table["model"],
        out,
        load_config(None, **knobs),
        db=context.db,
        progress=True,
        **given,
    )
    if not context.brief:
        print_results(results)
    adapters = [str(result.out_dir / "adapter") for result in results]
    return {
        "out": str(out),
        "adapters": adapters,
        "model": table["model"],
        "train_run_ids": [r.train_run_id for r in results],
        **_jsonable(summarize(results)),
    }


def _eval_keys() -> frozenset[str]:
    from eval.run import EvalConfig

    return _keys(EvalConfig, drop=("progress",))


def check_eval(table: dict, source: str) -> None:
    known = _eval_keys()
    _check_keys(table, known - {"name"} | {"runs"}, "[eval]", source)
    for entry in _entries(table, "runs", "eval", source):
        _check_keys(entry, known, "[[eval.runs]]", source)
        merged = {**{k: v for k, v in table.items() if k != "runs"}, **entry}
        missing = [key for key in ("name", "model", "problems") if key not in merged]
        if missing:
            raise BadInput(
                f"each [[eval.runs]] needs {', '.join(missing)}", file=source, field=f"eval.runs.{missing[0]}"
            )


def run_eval_stage(context: StageContext, table: dict) -> dict:
    from eval.run import EvalConfig, run as run_eval

    defaults = {k: v for k, v in table.items() if k != "runs"}
    names, pass_at_1 = [], {}
    for entry in table["runs"]:
        values = {**defaults, **entry}
        if values.get("adapter") == TRAIN_ADAPTER:
            adapters = context.outputs.get("train", {}).get("adapters") or []
            if not adapters:
                raise BadInput(
                    f'adapter = "{TRAIN_ADAPTER}" needs a [train] stage',
                    file=context.config.source,
                    field="eval.runs.adapter",
                )
            values["adapter"] = adapters[0]
        elif values.get("adapter"):
            values["adapter"] = str(context.input_path(values["adapter"], "eval.runs.adapter"))
        problems = str(values["problems"])
        if problems.startswith(BUNDLED_PREFIX) or "/" in problems or problems.endswith((".jsonl", ".json")):
            values["problems"] = str(context.input_path(problems, "eval.runs.problems"))
        for key in ("seeds", "word_budgets"):
            if key in values:
                values[key] = tuple(values[key])
        with stage_store(context.db) as store:
            results = run_eval(store, EvalConfig(**values, progress=True)).runs
        missing = sum(result.missing for result in results)
        if missing:
            raise RuntimeError(
                f"eval run {values['name']}: {missing} sample(s) missing after retries; rerun to fill them in"
            )
        names.append(values["name"])
        for result in results:
            pass_at_1[result.eval_run_id] = None if result.pass_at_1 is None else result.pass_at_1.mean
    return {"runs": names, "pass_at_1": pass_at_1}


REPORT_KEYS = frozenset({"runs", "out"})


def check_report(table: dict, source: str) -> None:
    _check_keys(table, REPORT_KEYS, "[report]", source)


def run_report(context: StageContext, table: dict) -> dict:
    from eval.report import build_report

    names = table.get("runs") or context.outputs.get("eval", {}).get("runs")
    out = context.output_path(table.get("out", "report"))
    report = build_report(context.db, names, out)
    return {"out": str(out / "report.md"), "files": [str(f) for f in report.files]}


def _jsonable(value: Any) -> Any:
    """Stage results as JSON-able data (dataclasses, paths and numbers)."""
    if hasattr(value, "__dataclass_fields__"):
        value = asdict(value)
    return json.loads(json.dumps(value, default=str))


def review_state(db: Path) -> str | None:
    """A digest of the current review decisions: they are inputs of select (and so of every stage after it)."""
    if not db.exists():
        return None
    with open_store(db, read_only=True) as store:
        return store.scalar(
            "SELECT md5(coalesce(string_agg(concat_ws('|', sample_id, decision, coalesce(corrected_answer, '')),"
            " ',' ORDER BY sample_id), '')) FROM review_current"
        )


def content_state(db: Path) -> str | None:
    """A digest of every sample's content hash (its text, finish reason, gold and question): a
    changed gold (`curate ingest --update`) or a regenerated sample makes the stages that read
    them (verify, judge, score, select) and every stage after them pending."""
    if not db.exists():
        return None
    with open_store(db, read_only=True) as store:
        # An order-free sum of 64-bit hashes: it reads two short columns, never the traces.
        return store.scalar(
            "SELECT concat_ws(':', count(*), coalesce(sum(hash(sample_id, content_hash)), 0)) FROM samples"
        )


def select_inputs(db: Path) -> dict[str, str | None]:
    """What select reads from the store besides its table: the samples' content and the review decisions."""
    return {"content": content_state(db), "review": review_state(db)}


@dataclass(frozen=True)
class Stage:
    check: Callable[[dict, str], None]
    run: Callable[[StageContext, dict], dict]
    store_inputs: Callable[[Path], Any] | None = None  # state in the store the stage reads besides its table


STAGES: dict[str, Stage] = {
    "problems": Stage(check_problems, run_problems),
    "generate": Stage(_table_check("generate", drop=("progress",), add=("base_url",)), run_generate),
    "import": Stage(check_import, run_import),
    "verify": Stage(_table_check("verify", drop=("progress",)), run_verify, store_inputs=content_state),
    "judge": Stage(_table_check("judge", add=("base_url",)), run_judge, store_inputs=content_state),
    "score": Stage(_table_check("score"), run_score, store_inputs=content_state),
    "decontam": Stage(check_decontam, run_decontam),
    "select": Stage(_table_check("select"), run_select, store_inputs=select_inputs),
    "export": Stage(_table_check("export", filled=("out",)), run_export),
    "train": Stage(check_train, run_train),
    "eval": Stage(check_eval, run_eval_stage),
    "report": Stage(check_report, run_report),
}

# ---- config ------------------------------------------------------------------------------------

PIPELINE_KEYS = frozenset({"dir", "db"})


def load_config(path: str | Path, run_dir: str | Path | None = None) -> PipelineConfig:
    """Read and check a TOML config file; `run_dir` overrides its `[pipeline] dir`."""
    return parse_config(read_toml(path), source=str(path), run_dir=run_dir)


def parse_config(raw: dict[str, Any], source: str = "<config>", run_dir: str | Path | None = None) -> PipelineConfig:
    """Check a config mapping (the parsed TOML)."""
    pipeline = raw.get("pipeline", {})
    _check_keys(pipeline, PIPELINE_KEYS, "[pipeline]", source)
    directory = Path(run_dir if run_dir is not None else pipeline.get("dir", "."))
    db = Path(pipeline.get("db", "traces.duckdb"))
    db = db if db.is_absolute() else directory / db
    for name, table in raw.items():
        if name == "pipeline":
            continue
        if name not in STAGES:
            raise BadInput(
                f"unknown stage [{name}]; stages run in this order: {', '.join(STAGES)}", file=source, field=name
            )
        if not isinstance(table, dict):
            raise BadInput(f"[{name}] must be a table", file=source, field=name)
        STAGES[name].check(table, source)
    stages = {name: raw[name] for name in STAGES if name in raw}
    if not stages:
        raise BadInput(f"no stage tables; add some of: {', '.join(STAGES)}", file=source)
    return PipelineConfig(source=source, run_dir=directory, db=db, stages=stages)


def fingerprint(previous: str, name: str, table: dict[str, Any], store_inputs: Any = None) -> str:
    """A stage's identity: its table (and the store state it reads, if any) chained to the stages before it."""
    identity = {"previous": previous, "stage": name, "table": table}
    if store_inputs is not None:
        identity["store_inputs"] = store_inputs
    text = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def recorded_outputs(db: Path, name: str, stage_fingerprint: str) -> dict[str, Any] | None:
    """Outputs of the newest finished run of this stage with this fingerprint, else None."""
    with open_store(db) as store:
        row = store.execute(
            "SELECT counts FROM runs WHERE kind = ? AND status = 'ok'"
            " AND json_extract_string(config, '$.stage') = ? AND json_extract_string(config, '$.fingerprint') = ?"
            " ORDER BY finished_at DESC LIMIT 1",
            [STAGE_RUN_KIND, name, stage_fingerprint],
        ).fetchone()
    return None if row is None else json.loads(row[0] or "{}")


# ---- running -----------------------------------------------------------------------------------


def run_pipeline(config: PipelineConfig, *, from_stage: str | None = None, brief: bool = False) -> list[StageResult]:
    """Run the configured stages in order, skipping those already done with the same config.

    `brief`: one line per stage (its name, then its wall time and counts when it ends) instead of
    each stage's own tables; on a terminal the stage's bars show while it runs and are removed
    when it ends (db.console.transient_progress).
    """
    if from_stage is not None and from_stage not in config.stages:
        raise BadInput(f"not a stage of this config ({', '.join(config.stages)})", field="--from")
    config.run_dir.mkdir(parents=True, exist_ok=True)
    context = StageContext(config=config, brief=brief)
    results: list[StageResult] = []
    previous, forcing = "", False
    for name, table in config.stages.items():
        forcing = forcing or name == from_stage
        store_inputs = STAGES[name].store_inputs
        stage_fingerprint = fingerprint(previous, name, table, store_inputs(config.db) if store_inputs else None)
        previous = stage_fingerprint
        done = None if forcing else recorded_outputs(config.db, name, stage_fingerprint)
        if done is not None:
            context.outputs[name] = done
            results.append(StageResult(name, "skipped", 0.0, 0.0, done))
            stderr.print(f"[dim]== {name}: done earlier with this config, skipped[/]")
            continue
        # Brief on a terminal: the stage's bars and a spinner while it runs, its one line when it ends.
        live = brief and stderr.is_terminal
        if not live:
            stderr.print(f"[bold]== {name:<9}[/]" if brief else f"[bold]== {name}[/]", end=" " if brief else "\n")
        stage_config = {"stage": name, "fingerprint": stage_fingerprint, "table": table}
        with (
            recorded_run(config.db, STAGE_RUN_KIND, stage_config) as record,
            transient_progress(name) if brief else nullcontext(),
        ):
            started, started_cpu = time.perf_counter(), time.process_time()
            outputs = record.counts = _jsonable(STAGES[name].run(context, table))
            seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - started_cpu
        context.outputs[name] = outputs
        results.append(StageResult(name, "ran", seconds, cpu_seconds, outputs))
        if brief:
            line = f"{seconds:.0f} s  {brief_counts(name, outputs)}"
            stderr.print(f"[bold]== {name:<9}[/] {escape(line)}" if live else line, highlight=False, soft_wrap=True)
    return results


def brief_counts(name: str, outputs: dict[str, Any]) -> str:
    """A stage's main counts in a few words (the line `brief` mode prints when the stage ends)."""
    if name == "eval":
        shown = ", ".join(
            f"{run} pass@1 {'-' if value is None else f'{100 * value:.1f}%'}"
            for run, value in outputs.get("pass_at_1", {}).items()
        )
        return shown or "no runs"
    if name == "train":
        loss = outputs.get("final_train_loss_mean")
        val = outputs.get("best_val_loss_mean")
        return f"final train loss {_short(loss)}, best val loss {_short(val)}" if loss is not None else ""
    if name == "report":
        return str(outputs.get("out", ""))
    counts = [
        f"{_short(value)} {key.replace('_', ' ')}"
        for key, value in outputs.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value and key not in BRIEF_HIDDEN
    ]
    for key, value in outputs.items():
        if isinstance(value, dict) and value and all(isinstance(v, int) for v in value.values()):
            counts.append(
                f"{key.replace('_', ' ')} " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in value.items())
            )
    return ", ".join(counts)


BRIEF_HIDDEN = frozenset({"cost_usd", "pool", "rows"})  # counts the brief line leaves to the stage's table


def summary_rows(results: list[StageResult]) -> list[tuple[str, str, str, str, str]]:
    """(stage, status, wall seconds, CPU seconds, the stage's main outputs) for the end-of-run table."""
    rows = []
    for result in results:
        shown = {k: v for k, v in result.outputs.items() if not isinstance(v, (dict, list)) and v is not None}
        detail = ", ".join(f"{k}={_short(v)}" for k, v in shown.items() if k not in ("run_id",))
        rows.append((result.name, result.status, f"{result.seconds:.1f}", f"{result.cpu_seconds:.1f}", detail))
    return rows


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return text if len(text) <= 60 else "..." + text[-57:]


def print_summary(results: list[StageResult], config: PipelineConfig, *, table: bool = True) -> None:
    """The end-of-run table (`table=False`: only the totals line, after brief per-stage lines)."""
    from rich.table import Table

    from db.console import stdout

    if table:
        stages = Table(title=f"curate run: {config.source}", header_style="bold")
        for column in ("stage", "status", "wall s", "cpu s", "outputs"):
            stages.add_column(column, overflow="fold")
        for row in summary_rows(results):
            stages.add_row(*row)
        stdout.print(stages)
    total = sum(r.seconds for r in results)
    stdout.print(
        f"store: {config.db}   total {total:.0f} s wall, {sum(r.cpu_seconds for r in results):.0f} s CPU",
        highlight=False,
    )
