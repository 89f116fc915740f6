"""Write a selection as a chat-format SFT dataset with a dataset card.

Inputs: one selection (`--selection ID`, default the newest), its samples, problems, scores,
verdicts, `review_current`, `contamination`, `problem_duplicates`, the views `score_state` and
`verdict_pending`. Outputs, in the directory `--out`: `train.jsonl` and `val.jsonl` (or
`.parquet`), one example per row, and `README.md` (the dataset card); an `exports` row (with
`content_hash`: md5 over the exported samples' ids and content hashes) and a `runs` row of kind
"export". Command:
`curate export --out DIR [--format jsonl|parquet] [--selection ID] [--style think|solution]
[--val-fraction F] [--seed S] [--tokenizer PATH] [--reviewed-only] [--include-contaminated]
[--prompt-template FILE|DOMAIN=FILE]...`.

Each row: `messages` = [{role: user, content: render_prompt(question, template of the problem's
domain)}, {role: assistant,
content: "<think>\\n{reasoning}\\n</think>\\n\\n{solution}"}] (style `solution`: the final
solution only; a sample without separate reasoning has no think block in either style), the
shape TRL's SFTTrainer and `datasets.load_dataset("json", ...)` read; then problem_id,
sample_id, source, split (train/val), gold_answer, answer, corrected_answer, review, model,
length_tokens (assistant turn; with `--tokenizer`, counted by it, and total_tokens for the whole
rendered conversation), selection_id.

Prompt: each domain's template (problems.domain; curate/prompts.py `load_templates`, the
rule `curate generate` and evaluation use), named per domain in the card and in the exports
row's config (`prompt_templates`).

Never stale: when a selected trace changed since `curate select` ran (its `selections`
content hash is not the sample's now: regenerated, or its gold or question changed), its scores
are pending (`score_state`) or its verdicts all belong to earlier content (`verdict_pending`),
the export is refused (BadInput, exit 2, nothing written) with the count and the stages to
rerun (`curate verify`, `curate score`, `curate select`), so an answer that a changed gold made
wrong is never shipped with its old verdict.

Rules: a sample a reviewer rejected is never exported; `--reviewed-only` keeps only accepted
ones; a reviewer's corrected answer is kept in `corrected_answer`; problems with contamination
rows, and problems of the `test` split (evaluation problems that teacher samples were imported
for), are left out unless `--include-contaminated`; duplicate problems (`curate dedup`) are left
out. Train/val is split by problem: problems are ordered by sha256(seed:problem_id) and the
first round(F * problems) go to val (at least one when F > 0 and there are two problems), so
the split is deterministic and no problem is in both.

Memory: the rules, the split and the card read the selection without its traces; the traces
are read TEXT_BATCH rows at a time (by rowid) while the files are written into a staging folder
beside `--out`, moved in only when all of them are written and checked.

With `--tokenizer` (a HF tokenizer directory or .gguf file), every example is rendered through
its chat template and the export fails (BadInput, exit 2, nothing written) when the rendering
loses the reasoning, the `</think>`, the final solution or the end-of-turn token the template
puts after an assistant turn. The stock DeepSeek-R1-Distill template drops everything up to
`</think>` from assistant turns; this check is what catches it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import polars as pl

from curate.prompts import DOMAIN_TEMPLATES, load_templates, render_prompt, template_for
from curate.traces import THINK_CLOSE, join_think
from db.errors import BadInput, writing
from db.store import Store, process_alive

FORMATS = ("jsonl", "parquet")
STYLES = ("think", "solution")
_PROBE_USER, _PROBE_ASSISTANT = "PROBE-QUESTION-7f3a", "PROBE-ANSWER-7f3a"
MANIFEST = ".curate-export.json"  # names the files an export wrote, so a rerun may replace them
STAGING_PREFIX = ".export-"  # + pid: staging folders beside --out; a killed export's are removed later
STAGING_MARKER = ".curate-export-staging"  # inside a staging folder: its pid; proves the folder is ours

# The selection's rows without their traces (the rules and the split need none of the text);
# the traces are read TEXT_BATCH at a time by rowid while the files are written, so an export
# of 125,000 traces holds a batch of them, not every one several times (8.3 GB at 1M samples).
ROWS_SQL = """
SELECT se.selection_id, se.sample_id, se.problem_id, se.rank, p.source, p.domain, p.question, p.gold_answer,
       p.split AS problem_split, s.model, s.rowid AS row_id, sc.length_tokens, s.content_hash,
       se.content_hash IS NOT NULL AND se.content_hash IS DISTINCT FROM s.content_hash AS selection_stale,
       coalesce(st.state IN ('sample_changed', 'problem_changed'), FALSE) AS score_stale,
       vp.sample_id IS NOT NULL AS verdict_stale,
       s.content IS NULL OR trim(s.content) = '' AS no_final_solution,
       coalesce(v.answer, sc.answer) AS answer,
       r.decision AS review, r.corrected_answer,
       EXISTS (SELECT 1 FROM contamination c WHERE c.problem_id = se.problem_id) AS contaminated,
       EXISTS (SELECT 1 FROM problem_duplicates d WHERE d.problem_id = se.problem_id) AS duplicate
FROM selections se
JOIN samples s ON s.sample_id = se.sample_id
JOIN problems p ON p.problem_id = se.problem_id
LEFT JOIN scores sc ON sc.sample_id = se.sample_id
LEFT JOIN score_state st ON st.sample_id = se.sample_id
LEFT JOIN verdict_pending vp ON vp.sample_id = se.sample_id
LEFT JOIN verdict_current v ON v.sample_id = se.sample_id
LEFT JOIN review_current r ON r.sample_id = se.sample_id
WHERE se.selection_id = ?
ORDER BY se.problem_id, se.rank, se.sample_id
"""
TEXT_SQL = "SELECT rowid AS row_id, reasoning, content FROM samples WHERE rowid = ANY($rows)"
TEXT_BATCH = 1000
# Columns of each example, in file order (total_tokens only with --tokenizer).
EXAMPLE_COLUMNS = (
    "messages",
    "problem_id",
    "sample_id",
    "source",
    "split",
    "gold_answer",
    "answer",
    "corrected_answer",
    "review",
    "model",
    "length_tokens",
    "selection_id",
)
MESSAGES_TYPE = pl.List(pl.Struct({"role": pl.String, "content": pl.String}))


@dataclass(frozen=True)
class ExportConfig:
    """`curate export` options."""

    out: str
    format: str = "jsonl"
    selection: str | None = None  # None: the newest selection
    style: str = "think"
    val_fraction: float = 0.1
    seed: int = 0
    tokenizer: str | None = None
    reviewed_only: bool = False
    include_contaminated: bool = False
    # A FILE for every domain, or FILE and DOMAIN=FILE specs (curate.prompts.load_templates); None: the defaults.
    prompt_template: str | tuple[str, ...] | None = None
    overwrite: bool = False  # write into a folder holding files that are not ours


@dataclass
class ExportResult:
    """What `curate export` prints: the files with their sha256, the split sizes, what was left out and why."""

    export_id: str
    out: Path
    files: dict[str, str]  # file name -> sha256
    n_train: int
    n_val: int
    excluded: dict[str, int] = field(default_factory=dict)


def run(store: Store, config: ExportConfig) -> ExportResult:
    """Build, check and write the export; nothing is written when a check fails."""
    _validate(config)
    out = Path(config.out)
    if out.suffix in (".jsonl", ".parquet", ".json"):
        raise BadInput("--out names a directory; train and val files are written inside it", field="--out")
    if out.exists() and not out.is_dir():
        raise BadInput("exists and is not a directory", file=str(out), field="--out")
    _check_out_folder(out, config.overwrite, store)
    templates = load_templates(config.prompt_template)
    selection = _resolve_selection(store, config.selection)
    rows = store.query(ROWS_SQL, [selection["selection_id"]])
    refuse_stale(rows, selection)
    kept, excluded = _apply_rules(rows, config)
    if kept.height == 0:
        raise BadInput(
            f"nothing to export from selection {selection['selection_id']!r} (left out: {_describe(excluded)})",
            field="--selection",
        )
    kept = assign_split(kept, config.val_fraction, config.seed)
    templates = {domain: template_for(domain, templates) for domain in sorted(set(kept["domain"].to_list()))}
    checker = TemplateCheck.load(config.tokenizer) if config.tokenizer is not None else None
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_dead_staging(out.parent)
    staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=out.parent))
    (staging / STAGING_MARKER).write_text(f"{os.getpid()}\n", encoding="utf-8")
    try:
        with store.memory_limit():
            files, examples = _write_examples(staging, kept, config, store, templates, checker)
        card = dataset_card(examples, config, store, selection, excluded, templates, files)
        with writing(staging / "README.md"):
            (staging / "README.md").write_text(card, encoding="utf-8")
        with store.run("export", {**asdict(config), "selection_id": selection["selection_id"]}) as record:
            _move_in(staging, out, files, config.overwrite)
            return _record(store, record, out, files, examples, kept, config, selection, excluded, templates)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _record(
    store: Store,
    record,
    out: Path,
    files: dict[str, str],
    examples: pl.DataFrame,
    kept: pl.DataFrame,
    config: ExportConfig,
    selection: dict,
    excluded: dict[str, int],
    templates: dict[str, str],
) -> ExportResult:
    """The exports row of the files now in `out`, and the result."""
    manifest = "".join(f"{sha}  {name}\n" for name, sha in sorted(files.items()) if name != "README.md")
    digest = hashlib.sha256(manifest.encode()).hexdigest()
    export_id = f"export-{digest[:12]}"
    n_train = int((examples["split"] == "train").sum())
    n_val = examples.height - n_train
    with store.transaction():
        store.insert_rows(
            "exports",
            [
                {
                    "export_id": export_id,
                    "path": str(out.resolve()),
                    "format": config.format,
                    "selection_id": selection["selection_id"],
                    "style": config.style,
                    "n_train": n_train,
                    "n_val": n_val,
                    "sha256": digest,
                    "content_hash": derived_hash(kept),
                    "config": json.dumps(
                        {**asdict(config), "files": files, "excluded": excluded, "prompt_templates": templates}
                    ),
                    "run_id": record.run_id,
                }
            ],
            on_conflict="replace",
        )
    record.counts = {"train": n_train, "val": n_val, "excluded": excluded}
    return ExportResult(export_id, out, files, n_train, n_val, excluded)


def derived_hash(kept: pl.DataFrame) -> str:
    """exports.content_hash: md5 over the exported samples' (sample_id, content_hash), by sample_id."""
    pairs = sorted(zip(kept["sample_id"].to_list(), kept["content_hash"].to_list()))
    return hashlib.md5(
        "".join(f"{sample_id}\x1f{content_hash}\n" for sample_id, content_hash in pairs).encode()
    ).hexdigest()


STALE_PARTS = {  # ROWS_SQL's staleness column -> what changed since which stage
    "selection_stale": "selection made before the trace, gold answer or question changed",
    "score_stale": "scores (clusters, agreement) computed before it or another trace of its problem changed",
    "verdict_stale": "verdicts of earlier content only",
}


def refuse_stale(rows: pl.DataFrame, selection: dict) -> None:
    """BadInput (exit 2, nothing written) when a selected trace's selection, score or verdict no
    longer belongs to its current content (db/migrations/018): the stages to rerun are named."""
    stale = rows.filter(pl.any_horizontal(*STALE_PARTS))
    if stale.height == 0:
        return
    parts = "; ".join(
        f"{int(stale[column].sum())} {what}" for column, what in STALE_PARTS.items() if stale[column].any()
    )
    problems = stale["problem_id"].unique(maintain_order=True)
    shown = ", ".join(problems.head(3).to_list()) + (f" and {problems.len() - 3} more" if problems.len() > 3 else "")
    raise BadInput(
        f"{stale.height} selected trace(s) of selection {selection['selection_id']!r} changed since `curate select` "
        f"ran ({parts}; problems {shown}): rerun `curate verify`, `curate score` and `curate select`, then export again",
        field="--selection",
    )


def _validate(config: ExportConfig) -> None:
    if config.format not in FORMATS:
        raise BadInput(f"unknown format {config.format!r}; use one of {', '.join(FORMATS)}", field="--format")
    if config.style not in STYLES:
        raise BadInput(f"unknown style {config.style!r}; use one of {', '.join(STYLES)}", field="--style")
    if not 0.0 <= config.val_fraction < 1.0:
        raise BadInput("--val-fraction must lie in [0, 1)", field="--val-fraction")


def _resolve_selection(store: Store, selection_id: str | None) -> dict:
    if selection_id is None:
        frame = store.query("SELECT * FROM selection_sets ORDER BY created_at DESC, selection_id LIMIT 1")
        if frame.height == 0:
            raise BadInput("no selection yet: run `curate select --policy NAME` first", field="--selection")
    else:
        frame = store.query("SELECT * FROM selection_sets WHERE selection_id = ?", [selection_id])
        if frame.height == 0:
            known = store.query("SELECT selection_id FROM selection_sets ORDER BY created_at DESC")[
                "selection_id"
            ].to_list()
            raise BadInput(f"no selection {selection_id!r}; known: {', '.join(known) or 'none'}", field="--selection")
    return frame.row(0, named=True)


def _apply_rules(rows: pl.DataFrame, config: ExportConfig) -> tuple[pl.DataFrame, dict[str, int]]:
    """Rows that may be exported, and how many each rule left out (first failing rule counts)."""
    rules: list[tuple[str, pl.Expr]] = [
        ("rejected_by_review", pl.col("review") == "reject"),
        ("not_accepted", (pl.col("review") != "accept").fill_null(True) if config.reviewed_only else pl.lit(False)),
        ("contaminated", pl.col("contaminated") if not config.include_contaminated else pl.lit(False)),
        ("test_split_problem", pl.col("problem_split") == "test" if not config.include_contaminated else pl.lit(False)),
        ("duplicate_problem", pl.col("duplicate")),
        ("no_final_solution", pl.col("no_final_solution")),
    ]
    reason = pl.lit(None, dtype=pl.String)
    for label, failed in reversed(rules):
        reason = pl.when(failed.fill_null(False)).then(pl.lit(label)).otherwise(reason)
    judged = rows.with_columns(reason=reason)
    excluded = {label: int((judged["reason"] == label).sum()) for label, _ in rules}
    return judged.filter(pl.col("reason").is_null()).drop("reason"), {k: v for k, v in excluded.items() if v}


def _describe(excluded: dict[str, int]) -> str:
    return ", ".join(f"{count} {label}" for label, count in excluded.items()) or "the selection is empty"


def _build_examples(batch: pl.DataFrame, config: ExportConfig, templates: dict[str, str]) -> pl.DataFrame:
    """The examples of a batch of kept rows with their traces, columns in EXAMPLE_COLUMNS order."""
    assistants = [
        join_think(reasoning, content) if config.style == "think" else content.strip()
        for reasoning, content in zip(batch["reasoning"].to_list(), batch["content"].to_list())
    ]
    users = [
        render_prompt(question, templates[domain])
        for question, domain in zip(batch["question"].to_list(), batch["domain"].to_list())
    ]
    messages = [
        [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
        for user, assistant in zip(users, assistants)
    ]
    return batch.with_columns(
        pl.Series("messages", messages, dtype=MESSAGES_TYPE), pl.col("length_tokens").cast(pl.Int64)
    ).select(EXAMPLE_COLUMNS)


def assign_split(examples: pl.DataFrame, val_fraction: float, seed: int) -> pl.DataFrame:
    """Add `split`: whole problems go to val, chosen by their sha256(seed:problem_id) order."""
    problems = sorted(
        set(examples["problem_id"].to_list()), key=lambda pid: hashlib.sha256(f"{seed}:{pid}".encode()).hexdigest()
    )
    n_val = round(val_fraction * len(problems))
    if val_fraction > 0 and len(problems) >= 2:
        n_val = min(max(n_val, 1), len(problems) - 1)
    val = set(problems[:n_val])
    return examples.with_columns(
        split=pl.when(pl.col("problem_id").is_in(list(val))).then(pl.lit("val")).otherwise(pl.lit("train"))
    )


# ---- the chat-template check ---------------------------------------------------------------------


def end_of_turn(tokenizer: Any) -> str:
    """The special token the chat template writes right after an assistant turn."""
    probe = [{"role": "user", "content": _PROBE_USER}, {"role": "assistant", "content": _PROBE_ASSISTANT}]
    text = _render(tokenizer, probe)
    at = text.rfind(_PROBE_ASSISTANT)
    if at == -1:
        raise BadInput("the chat template drops the assistant turn", field="--tokenizer")
    after = text[at + len(_PROBE_ASSISTANT) :].lstrip()
    specials = sorted(set(tokenizer.all_special_tokens) | set(tokenizer.get_added_vocab()), key=len, reverse=True)
    for token in specials:
        if token and after.startswith(token):
            return token
    raise BadInput(
        "the chat template writes no end-of-turn token after an assistant turn "
        f"(it writes {after[:40]!r}): the student would never learn to stop",
        field="--tokenizer",
    )


@dataclass(frozen=True)
class TemplateCheck:
    """Renders examples through a tokenizer's chat template and fails loudly on any loss."""

    spec: str
    tokenizer: Any
    eot: str  # the end-of-turn token the template writes after an assistant turn
    eot_id: int

    @classmethod
    def load(cls, spec: str) -> "TemplateCheck":
        from curate.tokens import load_hf_tokenizer

        tokenizer = load_hf_tokenizer(spec)
        if not getattr(tokenizer, "chat_template", None):
            raise BadInput("the tokenizer has no chat template", file=str(spec), field="--tokenizer")
        eot = end_of_turn(tokenizer)
        return cls(spec, tokenizer, eot, tokenizer.convert_tokens_to_ids(eot))

    def check(self, examples: pl.DataFrame) -> pl.DataFrame:
        """The examples with length_tokens (assistant turn) and total_tokens (whole conversation)
        counted by this tokenizer; BadInput naming the first sample whose rendering loses part of it."""
        rendered_texts, assistant_texts = [], []
        for row in examples.select("sample_id", "messages").iter_rows(named=True):
            assistant = row["messages"][1]["content"]
            text = _render(self.tokenizer, row["messages"])
            problem = _lost(text, assistant, self.eot)
            if problem:
                raise BadInput(
                    f"sample {row['sample_id']}: rendering through the chat template {problem}; "
                    "fix the template (or use another tokenizer) before training on this export",
                    file=str(self.spec),
                    field="chat_template",
                )
            rendered_texts.append(text)
            assistant_texts.append(assistant)
        totals = self.tokenizer(rendered_texts, add_special_tokens=False)["input_ids"]
        for sample_id, ids in zip(examples["sample_id"].to_list(), totals):
            if self.eot_id not in ids[-4:]:
                raise BadInput(
                    f"sample {sample_id}: the end-of-turn token {self.eot!r} is not a single token at the end "
                    "of the tokenized conversation",
                    file=str(self.spec),
                    field="chat_template",
                )
        lengths = self.tokenizer(assistant_texts, add_special_tokens=False)["input_ids"]
        return examples.with_columns(
            pl.Series("length_tokens", [len(ids) for ids in lengths], dtype=pl.Int64),
            pl.Series("total_tokens", [len(ids) for ids in totals], dtype=pl.Int64),
        )


def _render(tokenizer: Any, messages: list[dict]) -> str:
    try:
        return tokenizer.apply_chat_template(messages, tokenize=False)
    except Exception as error:  # jinja errors of a user-supplied template are bad input
        raise BadInput(f"the chat template fails to render: {error}", field="--tokenizer") from error


def _lost(rendered: str, assistant: str, eot: str) -> str | None:
    """What the rendering lost of one assistant turn, or None."""
    if THINK_CLOSE in assistant:
        reasoning, _, solution = assistant.partition(THINK_CLOSE)
        reasoning = reasoning.replace("<think>", "", 1).strip()
        if reasoning and reasoning not in rendered:
            return "loses the reasoning (the think block)"
        if THINK_CLOSE not in rendered:
            return f"loses {THINK_CLOSE}"
    else:
        solution = assistant
    solution = solution.strip()
    at = rendered.rfind(solution)
    if solution and at == -1:
        return "loses the final solution"
    if not rendered[at + len(solution) :].lstrip().startswith(eot):
        return f"loses the end-of-turn token {eot!r} after the assistant turn"
    return None


# ---- files and the card --------------------------------------------------------------------------


def _write_examples(
    staging: Path,
    kept: pl.DataFrame,
    config: ExportConfig,
    store: Store,
    templates: dict[str, str],
    checker: TemplateCheck | None,
) -> tuple[dict[str, str], pl.DataFrame]:
    """Write the split files into `staging`, reading the traces TEXT_BATCH rows at a time; the
    files (name -> sha256) and every example without its messages (plus `has_think`), for the card."""
    writers: dict[str, Any] = {}
    light = []
    try:
        for start in range(0, kept.height, TEXT_BATCH):
            batch = kept.slice(start, TEXT_BATCH)
            texts = store.query(TEXT_SQL, {"rows": batch["row_id"].to_list()})
            examples = _build_examples(
                batch.join(texts, on="row_id", how="left", maintain_order="left"), config, templates
            )
            if checker is not None:
                examples = checker.check(examples)
            for (split,), part in examples.group_by("split", maintain_order=True):
                if split not in writers:
                    writers[split] = _SplitWriter(staging / f"{split}.{config.format}", config.format)
                writers[split].write(part)
            light.append(
                examples.with_columns(
                    has_think=pl.col("messages")
                    .list.get(1)
                    .struct.field("content")
                    .str.contains(THINK_CLOSE, literal=True)
                ).drop("messages")
            )
    finally:
        for writer in writers.values():
            writer.close()
    files = {writers[split].path.name: _sha256(writers[split].path) for split in ("train", "val") if split in writers}
    return files, pl.concat(light)


class _SplitWriter:
    """One split's file, written a batch at a time (JSONL lines, or Parquet row groups)."""

    def __init__(self, path: Path, fmt: str):
        self.path = path
        self.format = fmt
        self._file = path.open("wb") if fmt == "jsonl" else None
        self._parquet = None

    def write(self, part: pl.DataFrame) -> None:
        with writing(self.path):
            if self.format == "jsonl":
                part.write_ndjson(self._file)
                return
            table = part.to_arrow()
            if self._parquet is None:
                import pyarrow.parquet as pq

                self._parquet = pq.ParquetWriter(self.path, table.schema, compression="zstd")
            self._parquet.write_table(table.cast(self._parquet.schema))

    def close(self) -> None:
        with writing(self.path):
            if self._file is not None:
                self._file.close()
            if self._parquet is not None:
                self._parquet.close()


def _move_in(staging: Path, out: Path, files: dict[str, str], overwrite: bool) -> None:
    """Move the staged files and card into `out`. Files of the same names are replaced; the
    other files an earlier export's manifest names are removed, except with `overwrite` (the
    folder holds files that are not ours, so nothing there is removed)."""
    out.mkdir(parents=True, exist_ok=True)
    # The manifest names every file that may be ours before any moves in, so a kill midway
    # leaves a folder the next export still recognises as its own.
    earlier = _manifest_files(out)
    _write_manifest(out, sorted(set(earlier) | set(files) | {"README.md"}))
    for stale in set() if overwrite else set(earlier) - set(files) - {"README.md"}:
        if Path(stale).name == stale:  # a plain name in this folder, never a path out of it
            (out / stale).unlink(missing_ok=True)
    for name in [*files, "README.md"]:
        shutil.move(str(staging / name), out / name)
    kept = [name for name in earlier if (out / name).exists()]  # an earlier export's, left by --overwrite
    _write_manifest(out, sorted(set(kept) | set(files) | {"README.md"}))


def _manifest_files(out: Path) -> list[str]:
    """Names of the files an earlier export wrote into `out` (empty without a manifest)."""
    try:
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        return [str(name) for name in data.get("files", [])]
    except (OSError, ValueError, AttributeError):
        return []


def _write_manifest(out: Path, names: list[str]) -> None:
    text = json.dumps({"written_by": "curate export", "files": names}, indent=1) + "\n"
    partial = out / f"{MANIFEST}.tmp"
    partial.write_text(text, encoding="utf-8")
    partial.replace(out / MANIFEST)


def _check_out_folder(out: Path, overwrite: bool, store: Store) -> None:
    """Refuse (exit 2) a folder holding files an export did not write, unless `overwrite`.

    Ours: the folder's manifest, else (folders exported before manifests existed) the files the
    store's `exports` rows record for this path.
    """
    if not out.is_dir() or overwrite:
        return
    ours = set(_manifest_files(out)) | {MANIFEST, f"{MANIFEST}.tmp"}
    for (config,) in store.execute("SELECT config FROM exports WHERE path = ?", [str(out.resolve())]).fetchall():
        ours |= set(json.loads(config or "{}").get("files", {})) | {"README.md"}
    foreign = sorted(entry.name for entry in out.iterdir() if entry.name not in ours)
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise BadInput(
            f"the folder holds files an export did not write ({shown}); export into an empty or "
            f"earlier export folder, or pass --overwrite to write train/val files and README.md there",
            file=str(out),
            field="--out",
        )


def remove_dead_staging(parent: Path) -> list[Path]:
    """Remove `.export-PID-*` staging folders in `parent` left by exports that were killed: only
    folders holding our marker with the same pid, and only when that process is gone (a user's
    folder of the same name is never touched)."""
    removed = []
    for entry in parent.glob(f"{STAGING_PREFIX}*"):
        pid = entry.name[len(STAGING_PREFIX) :].split("-", 1)[0]
        try:
            marked = (entry / STAGING_MARKER).read_text(encoding="utf-8").strip()
        except OSError:
            continue  # no marker: not a staging folder of ours
        if entry.is_dir() and pid.isdigit() and marked == pid and not process_alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def length_histogram(lengths: list[int], bins: int = 10, width: int = 40) -> str:
    """A text histogram of token lengths (equal-width bins)."""
    if not lengths:
        return "(no lengths)"
    low, high = min(lengths), max(lengths)
    step = max(1, -(-(high - low + 1) // bins))
    counts = [0] * bins
    for value in lengths:
        counts[min((value - low) // step, bins - 1)] += 1
    peak = max(counts)
    lines = []
    for i, count in enumerate(counts):
        start = low + i * step
        if start > high:
            break
        bar = "#" * max(1 if count else 0, round(width * count / peak))
        lines.append(f"{start:>7}-{start + step - 1:<7} {count:>6} {bar}")
    return "\n".join(lines)


def step_check_line(store: Store, selection: dict, examples: pl.DataFrame) -> str:
    """The card's sentence on step checks: traces the selection dropped for a wrong step (its
    select run's counts), and exported traces that still have one (no clean trace of their problem)."""
    counts = store.scalar("SELECT counts FROM runs WHERE run_id = ?", [selection.get("run_id")])
    dropped = (json.loads(counts) if counts else {}).get("dropped", {}).get("wrong_step", 0)
    flagged = examples.join(
        store.query("SELECT sample_id FROM step_flags WHERE wrong_unretracted > 0"), on="sample_id", how="semi"
    ).height
    checked = examples.join(store.query("SELECT sample_id FROM step_flags"), on="sample_id", how="semi").height
    return (
        f"Step checks: {dropped} correct traces dropped for an unretracted wrong step (a clean correct trace of "
        f"the same problem was kept instead); {checked} of {examples.height} exported traces were step-checked, "
        f"{flagged} of them with a wrong step (their problem had no clean correct trace)."
    )


def dataset_card(
    examples: pl.DataFrame,
    config: ExportConfig,
    store: Store,
    selection: dict,
    excluded: dict[str, int],
    templates: dict[str, str],
    files: dict[str, str],
) -> str:
    """The README.md beside the export."""
    by_split = examples.group_by("split").agg(examples=pl.len(), problems=pl.col("problem_id").n_unique())
    split_counts = {row["split"]: row for row in by_split.iter_rows(named=True)}
    sources = (
        examples.group_by("source").agg(problems=pl.col("problem_id").n_unique(), examples=pl.len()).sort("source")
    )
    models = examples.group_by("model").agg(examples=pl.len()).sort("model")
    lengths = [v for v in examples["length_tokens"].to_list() if v is not None]
    with_think = int(examples["has_think"].sum())
    benchmarks = store.query(
        "SELECT benchmark, count(DISTINCT problem_id) AS problems, count(*) AS matches FROM contamination GROUP BY 1 ORDER BY 1"
    )
    contaminated_kept = examples.join(
        store.query("SELECT DISTINCT problem_id FROM contamination"), on="problem_id", how="semi"
    )["problem_id"].n_unique()
    lines = [
        f"# SFT export of selection `{selection['selection_id']}`",
        "",
        f"Written {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} by `curate export` from `{store.path}`.",
        "",
        "## Format",
        "",
        "One example per row: `messages` (user turn = the evaluation prompt, assistant turn = "
        + (
            "`<think>` reasoning `</think>` then the final solution"
            if config.style == "think"
            else "the final solution only"
        )
        + "), then problem_id, sample_id, source, split, gold_answer, answer, corrected_answer, review, model, "
        "length_tokens, selection_id. Train and val are split by problem (no problem is in both).",
        "",
        f"{with_think} of {examples.height} assistant turns have a think block (samples without separate "
        "reasoning, e.g. plain chain-of-thought, have none).",
        "",
        "```python",
        "from datasets import load_dataset",
        f'ds = load_dataset("{"json" if config.format == "jsonl" else "parquet"}", data_files={{'
        + ", ".join(f'"{name.split(".")[0]}": "{name}"' for name in files)
        + "})",
        "```",
        "",
        "## Selection",
        "",
        f"- policy: `{selection['policy']}`",
        f"- parameters: `{selection['params']}`",
        f"- export options: style `{config.style}`, val fraction {config.val_fraction}, seed {config.seed}, "
        f"reviewed only {config.reviewed_only}, include contaminated {config.include_contaminated}, "
        f"chat-template check {'with ' + repr(config.tokenizer) if config.tokenizer else 'not run (no --tokenizer)'}",
        "- prompt template of each domain (`{question}` is the problem's question):",
        *(
            f"  - {domain}{' (the default)' if template == DOMAIN_TEMPLATES.get(domain) else ''}: {template!r}"
            for domain, template in templates.items()
        ),
        "",
        "## Counts",
        "",
        "| split | examples | problems |",
        "| --- | --- | --- |",
    ]
    for split in ("train", "val"):
        row = split_counts.get(split, {"examples": 0, "problems": 0})
        lines.append(f"| {split} | {row['examples']} | {row['problems']} |")
    lines += [
        "",
        "Left out of the selection: " + (_describe(excluded) if excluded else "nothing") + ".",
        "",
        step_check_line(store, selection, examples),
        "",
        "## Sources",
        "",
        "| source | problems | examples |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {r['source']} | {r['problems']} | {r['examples']} |" for r in sources.iter_rows(named=True)]
    lines += ["", "| teacher model | examples |", "| --- | --- |"]
    lines += [f"| {r['model']} | {r['examples']} |" for r in models.iter_rows(named=True)]
    lines += ["", "## Length (tokens of the assistant turn)", ""]
    if lengths:
        ordered = sorted(lengths)
        lines.append(
            f"min {ordered[0]}, median {ordered[len(ordered) // 2]}, mean {sum(ordered) / len(ordered):.0f}, "
            f"max {ordered[-1]}"
        )
        lines += ["", "```", length_histogram(lengths), "```"]
    lines += ["", "## Decontamination", ""]
    if benchmarks.height:
        lines += ["| benchmark | matched problems | matches |", "| --- | --- | --- |"]
        lines += [f"| {r['benchmark']} | {r['problems']} | {r['matches']} |" for r in benchmarks.iter_rows(named=True)]
        lines += [
            "",
            f"Contaminated problems left out: {excluded.get('contaminated', 0)} examples; "
            f"contaminated problems in this export: {contaminated_kept}.",
        ]
    else:
        lines.append("No decontamination was run on this store (`curate decontam --against FILE`).")
    lines += ["", "## Checksums (sha256)", "", "```"]
    lines += [f"{sha}  {name}" for name, sha in sorted(files.items())]
    lines += ["```", ""]
    return "\n".join(lines)
