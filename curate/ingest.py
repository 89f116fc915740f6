"""`curate ingest`: load problems with gold answers into the store.

Inputs: one file of problems, JSONL, a JSON array, CSV or Parquet. Outputs: new rows in
`problems` and one `runs` row (kind "ingest"). Command:
`curate ingest FILE [--source S] [--split train|val|test] [--format ...] [--question-field F]
[--answer-field F] [--id-field F] [--section-field F] [--year-field F] [--update]`.

- Field names are detected from the public sets' conventions (first match wins):
  id `problem_id/unique_id/id/idx/...`, question `problem/question/prompt/...`, gold
  `gold_answer/gold/gt/answer/final_answer/...`; GSM8K answers keep the text after the last
  `####`; a file with no answer field but a `solution` takes the last `\\boxed{}` of it
  (Minerva); a list of answers is joined with ", " (OlympiadBench); a non-empty `context` is
  prefixed to the question. Every other field is kept in `meta` (JSON).
- `problem_id` is "{source}:{id}", or "{source}:q" + a short hash of the normalised question
  when the row has no id; `question_hash` hashes the normalised question (lowercase,
  whitespace collapsed), so the same question matches across sources.
- Ingesting a file again adds nothing. A problem whose gold answer (or question) differs from
  the stored one is listed on stderr and left alone unless `update=True`.
- Bad input (malformed JSON, a missing field, an empty, binary or unknown-format file) raises
  `BadInput` naming file, line and field before the store is touched.

Caveat: the file is read into Python in full; problem sets are small (thousands of rows).
Teacher traces, which are large, go through `curate.import_samples`, which streams in DuckDB.
The file-reading helpers here (format detection, field candidates, gold formatting) are shared
with `curate.import_samples`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import polars as pl

from curate.traces import last_boxed
from db import BadInput, Store
from db.console import stderr

FORMATS = ("auto", "jsonl", "json", "csv", "parquet")
SPLITS = ("train", "val", "test")

# Field-name candidates, most specific first; the first one a file has is used.
ID_FIELDS = ("problem_id", "unique_id", "id", "idx", "source_id", "qid")
QUESTION_FIELDS = ("problem", "question", "prompt", "query", "input")
ANSWER_FIELDS = ("gold_answer", "gold", "gt", "answer", "final_answer", "ground_truth", "expected_answer")
SOLUTION_FIELD = "solution"
CONTEXT_FIELD = "context"
SECTION_FIELDS = ("section",)
YEAR_FIELDS = ("year",)
DIFFICULTY_FIELDS = ("difficulty", "level")

SNIFF_ROWS = 200          # rows whose keys decide the field mapping
SNIFF_BYTES = 8192        # bytes looked at to tell text from binary
GSM8K_MARK = "####"

PROBLEM_SCHEMA = {
    "problem_id": pl.String, "source": pl.String, "source_id": pl.String, "question": pl.String,
    "gold_answer": pl.String, "split": pl.String, "section": pl.String, "year": pl.Int32,
    "difficulty": pl.String, "meta": pl.String, "question_hash": pl.String, "run_id": pl.String,
}


# ---- identity --------------------------------------------------------------------------------

def short_hash(text: str, length: int = 16) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def normalise_question(question: str) -> str:
    """Lowercase, whitespace runs collapsed to one space, ends trimmed."""
    return " ".join(question.lower().split())


def question_hash(question: str) -> str:
    return short_hash(normalise_question(question))


def make_problem_id(source: str, source_id: str | None, question: str) -> str:
    if source_id is not None and source_id != "":
        return f"{source}:{source_id}"
    return f"{source}:q{short_hash(normalise_question(question), 12)}"


def default_source(path: Path) -> str:
    """The source name for a file: its folder and stem ("math500/test"); ':' is reserved for ids."""
    path = Path(path).resolve()
    stem = path.name
    for suffix in (".gz", ".jsonl", ".ndjson", ".json", ".csv", ".parquet", ".pq"):
        stem = stem.removesuffix(suffix)
    name = f"{path.parent.name}/{stem}" if path.parent.name else stem
    return re.sub(r"[:\s]+", "_", name)


# ---- values ----------------------------------------------------------------------------------

def gold_text(value: Any) -> str | None:
    """A gold answer as text: integral floats lose ".0" (AMC 27.0), lists are joined with ", "."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, (list, tuple)):
        parts = [gold_text(item) for item in value]
        return ", ".join(part for part in parts if part) or None
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = str(value).strip()
    return text or None


def gold_value(raw: Any) -> str | None:
    """A gold answer field's value as gold text; GSM8K worked solutions give their final answer."""
    if isinstance(raw, str) and GSM8K_MARK in raw:
        return gsm8k_answer(raw) or None
    return gold_text(raw)


def gsm8k_answer(text: str) -> str:
    """The final answer of a GSM8K worked solution: the text after the last '####'."""
    return text.rsplit(GSM8K_MARK, 1)[1].strip()


def id_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


# ---- reading files ---------------------------------------------------------------------------

def check_readable(path: Path, fmt: str) -> str:
    """The resolved format of `path`, after the checks every reader shares; raises BadInput."""
    if fmt not in FORMATS:
        raise BadInput(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}", file=str(path), field="--format")
    if not path.exists():
        raise BadInput("no such file", file=str(path))
    if path.is_dir():
        raise BadInput("is a folder, not a file", file=str(path))
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if not head.strip():
        raise BadInput("the file is empty", file=str(path))
    is_parquet = head.startswith(b"PAR1")
    if fmt == "auto":
        fmt = _format_from_name(path) or _format_from_content(path, head)
    if fmt == "parquet":
        if not is_parquet:
            raise BadInput("not a Parquet file (no PAR1 header)", file=str(path), field="--format")
        return fmt
    if is_parquet or b"\x00" in head:
        raise BadInput("binary content in a text format; is this the right file?", file=str(path),
                       line=head[: head.find(b"\x00")].count(b"\n") + 1 if b"\x00" in head else None)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # a multibyte character cut by the sniff window is fine
            raise BadInput("not UTF-8 text (binary file?)", file=str(path),
                           line=head[: error.start].count(b"\n") + 1) from error
    if fmt == "json" and head.lstrip().startswith(b"{"):
        fmt = "jsonl"
    return fmt


def _format_from_name(path: Path) -> str | None:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        raise BadInput("compressed files are not read; decompress it first", file=str(path), field="--format")
    last = suffixes[-1] if suffixes else ""
    return {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv",
            ".parquet": "parquet", ".pq": "parquet"}.get(last)


def _format_from_content(path: Path, head: bytes) -> str:
    if head.startswith(b"PAR1"):
        return "parquet"
    first = head.lstrip()[:1]
    if first == b"{":
        return "jsonl"
    if first == b"[":
        return "json"
    raise BadInput(f"cannot tell the format of {path.name!r}; pass --format jsonl|json|csv|parquet",
                   file=str(path), field="--format")


def read_records(path: Path, fmt: str) -> Iterator[tuple[int, dict]]:
    """(line, record) pairs; `line` is the 1-based line (JSONL, CSV) or record number (JSON, Parquet)."""
    if fmt == "jsonl":
        yield from _read_jsonl(path)
    elif fmt == "json":
        yield from _read_json_array(path)
    elif fmt == "csv":
        yield from _read_csv(path)
    else:
        yield from _read_parquet(path)


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            record = parse_json_line(path, number, raw)
            if record is not None:
                yield number, record


def parse_json_line(path: Path, number: int, raw: bytes) -> dict | None:
    """One JSONL line as a dict (None for a blank line); BadInput naming the line otherwise."""
    if not raw.strip():
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadInput(f"not UTF-8 text at byte {error.start} of the line", file=str(path), line=number) from error
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        raise BadInput(f"malformed JSON: {error.msg} (column {error.colno})", file=str(path), line=number) from error
    if not isinstance(record, dict):
        raise BadInput(f"expected a JSON object, got {type(record).__name__}", file=str(path), line=number)
    return record


def _read_json_array(path: Path) -> Iterator[tuple[int, dict]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise BadInput(f"not UTF-8 text at byte {error.start}", file=str(path)) from error
    except json.JSONDecodeError as error:
        raise BadInput(f"malformed JSON: {error.msg} (column {error.colno})", file=str(path), line=error.lineno) from error
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise BadInput("expected a JSON array of objects", file=str(path))
    for number, record in enumerate(data, start=1):
        if not isinstance(record, dict):
            raise BadInput(f"record {number} is a {type(record).__name__}, not an object", file=str(path))
        yield number, record


def _read_csv(path: Path) -> Iterator[tuple[int, dict]]:
    text = path.read_text(encoding="utf-8-sig", errors="strict")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames:
        raise BadInput("no header row", file=str(path), line=1)
    width = len(reader.fieldnames)
    try:
        for row in reader:
            if None in row or len(row) != width or any(value is None for value in row.values()):
                raise BadInput(f"expected {width} columns as in the header", file=str(path), line=reader.line_num)
            yield reader.line_num, {key: (value if value != "" else None) for key, value in row.items()}
    except csv.Error as error:
        raise BadInput(f"malformed CSV: {error}", file=str(path), line=reader.line_num) from error


def _read_parquet(path: Path) -> Iterator[tuple[int, dict]]:
    try:
        frame = pl.read_parquet(path)
    except Exception as error:  # polars raises several types for a corrupt file
        raise BadInput(f"cannot read Parquet: {error}", file=str(path)) from error
    for number, record in enumerate(frame.iter_rows(named=True), start=1):
        yield number, record


# ---- field mapping ---------------------------------------------------------------------------

@dataclass(frozen=True)
class FieldMap:
    """Which field of a record holds what; None = not present."""

    question: str
    answer: str | None
    answer_from_solution: bool     # no answer field: the last \\boxed{} of `solution` is the gold
    id: str | None
    section: str | None
    year: str | None
    context: str | None
    difficulty: str | None


def first_present(keys: set[str], candidates: tuple[str, ...]) -> str | None:
    return next((name for name in candidates if name in keys), None)


def detect_fields(
    path: Path,
    records: list[tuple[int, dict]],
    *,
    question_field: str | None = None,
    answer_field: str | None = None,
    id_field: str | None = None,
    section_field: str | None = None,
    year_field: str | None = None,
    require_answer: bool = True,
) -> FieldMap:
    """The field mapping from the first records' keys; explicit names win over detection."""
    keys: set[str] = set()
    for _, record in records[:SNIFF_ROWS]:
        keys.update(record)
    first_line = records[0][0] if records else 1
    found = ", ".join(sorted(keys)) or "none"
    question = question_field or first_present(keys, QUESTION_FIELDS)
    if question is None:
        raise BadInput(f"no question field (looked for {', '.join(QUESTION_FIELDS)}; found {found}); "
                       "pass --question-field", file=str(path), line=first_line, field="question")
    answer = answer_field or first_present(keys, ANSWER_FIELDS)
    from_solution = answer is None and SOLUTION_FIELD in keys
    if answer is None and not from_solution and require_answer:
        raise BadInput(f"no answer field (looked for {', '.join(ANSWER_FIELDS)} or a boxed {SOLUTION_FIELD}; "
                       f"found {found}); pass --answer-field", file=str(path), line=first_line, field="answer")
    return FieldMap(
        question=question,
        answer=answer,
        answer_from_solution=from_solution,
        id=id_field or first_present(keys, ID_FIELDS),
        section=section_field or first_present(keys, SECTION_FIELDS),
        year=year_field or first_present(keys, YEAR_FIELDS),
        context=CONTEXT_FIELD if CONTEXT_FIELD in keys and CONTEXT_FIELD != question else None,
        difficulty=first_present(keys - {question}, DIFFICULTY_FIELDS),
    )


def question_of(path: Path, line: int, record: dict, fields: FieldMap) -> str:
    value = record.get(fields.question)
    if not isinstance(value, str) or not value.strip():
        what = "missing" if value is None else ("empty" if isinstance(value, str) else f"a {type(value).__name__}, not text")
        raise BadInput(f"the question is {what}", file=str(path), line=line, field=fields.question)
    context = record.get(fields.context) if fields.context else None
    if isinstance(context, str) and context.strip():
        return f"{context.strip()}\n\n{value}"
    return value


def gold_of(path: Path, line: int, record: dict, fields: FieldMap, require: bool) -> str | None:
    """The row's gold answer as text, following the GSM8K / Minerva / list conventions."""
    if fields.answer_from_solution:
        solution = record.get(SOLUTION_FIELD)
        gold = last_boxed(solution) if isinstance(solution, str) else None
        if gold is None and require:
            raise BadInput("no answer field and no \\boxed{} answer in the solution", file=str(path), line=line,
                           field=SOLUTION_FIELD)
        return gold
    if fields.answer is None:
        return None
    gold = gold_value(record.get(fields.answer))
    if gold is None and require:
        raise BadInput("the answer is missing or empty", file=str(path), line=line, field=fields.answer)
    return gold


def _year_of(path: Path, line: int, record: dict, field: str | None) -> int | None:
    if field is None or record.get(field) in (None, ""):
        return None
    value = record[field]
    try:
        year = int(float(value)) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        year = None
    if year is None:
        raise BadInput(f"a year must be a number, got {value!r}", file=str(path), line=line, field=field)
    return year


# ---- ingest ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class IngestConfig:
    """`curate ingest FILE` options: `path` is FILE, the other fields are the flags."""

    path: Path
    source: str | None = None
    split: str | None = None
    format: str = "auto"
    question_field: str | None = None
    answer_field: str | None = None
    id_field: str | None = None
    section_field: str | None = None
    year_field: str | None = None
    update: bool = False
    allow_no_gold: bool = False
    on_duplicate: str = "error"   # a repeated id with another question or gold: "error" (exit 2) or "first" (keep it)


ON_DUPLICATE = ("error", "first")


@dataclass(frozen=True)
class IngestResult:
    """What `curate ingest` prints: counts per outcome and the changed problems."""

    source: str
    rows: int
    added: int
    unchanged: int
    changed: int
    updated: int
    duplicates: int
    run_id: str
    changes: list[dict]


def parse_problems(path: Path, options: IngestConfig) -> tuple[str, pl.DataFrame, int]:
    """(source, frame of problems in PROBLEM_SCHEMA less run_id, duplicate rows dropped)."""
    fmt = check_readable(path, options.format)
    records = list(read_records(path, fmt))
    if not records:
        raise BadInput("no records in the file", file=str(path))
    fields = detect_fields(
        path, records, question_field=options.question_field, answer_field=options.answer_field,
        id_field=options.id_field, section_field=options.section_field, year_field=options.year_field,
        require_answer=not options.allow_no_gold,
    )
    source = options.source or default_source(path)
    if ":" in source:
        raise BadInput("a source name cannot contain ':' (it separates source and id)", field="--source")
    used = {fields.question, fields.answer if not fields.answer_from_solution else None, fields.id, fields.context}
    if options.on_duplicate not in ON_DUPLICATE:
        raise BadInput(f"unknown value {options.on_duplicate!r}; use one of {', '.join(ON_DUPLICATE)}",
                       field="--on-duplicate")
    seen: dict[str, tuple[int, str, str | None]] = {}  # problem_id -> (line, question, gold) of its first row
    rows, duplicates = [], 0
    for line, record in records:
        question = question_of(path, line, record, fields)
        gold = gold_of(path, line, record, fields, require=not options.allow_no_gold)
        if fields.id and fields.id in record and id_text(record[fields.id]) is None:
            raise BadInput("the id is empty", file=str(path), line=line, field=fields.id)
        source_id = id_text(record.get(fields.id)) if fields.id else None
        problem_id = make_problem_id(source, source_id, question)
        if problem_id in seen:
            first_line, first_question, first_gold = seen[problem_id]
            # Case and spacing do not make another question (they do not change the question hash either).
            differs = [what for what, a, b in (
                ("question", normalise_question(first_question), normalise_question(question)),
                ("gold answer", first_gold, gold)) if a != b]
            if differs and options.on_duplicate == "error":
                same = (f"id {record.get(fields.id)!r} is the same problem as line {first_line}'s (both read as "
                        f"{source_id!r})" if source_id is not None else f"the question repeats line {first_line}'s")
                raise BadInput(
                    f"{same} but with a different {' and '.join(differs)}; fix the file, or pass "
                    f"--on-duplicate first to keep line {first_line}'s row", file=str(path), line=line,
                    field=fields.id or fields.question)
            duplicates += 1
            continue
        seen[problem_id] = (line, question, gold)
        section = record.get(fields.section) if fields.section else None
        difficulty = record.get(fields.difficulty) if fields.difficulty else None
        meta = {key: value for key, value in record.items() if key not in used}
        if fields.answer and not fields.answer_from_solution and gold_text(record.get(fields.answer)) != gold:
            meta[fields.answer] = record[fields.answer]  # a worked solution (GSM8K) is worth keeping
        rows.append({
            "problem_id": problem_id, "source": source, "source_id": source_id, "question": question,
            "gold_answer": gold, "split": options.split,
            "section": None if section is None else str(section),
            "year": _year_of(path, line, record, fields.year),
            "difficulty": None if difficulty is None else str(difficulty),
            "meta": json.dumps(meta, ensure_ascii=False, default=str) if meta else None,
            "question_hash": question_hash(question),
        })
    schema = {name: dtype for name, dtype in PROBLEM_SCHEMA.items() if name != "run_id"}
    return source, pl.DataFrame(rows, schema=schema), duplicates


def run(store: Store, options: IngestConfig) -> IngestResult:
    """Read `options.path` and add its problems to the store in one transaction; see the module docstring."""
    path = Path(options.path)
    if options.split is not None and options.split not in SPLITS:
        raise BadInput(f"unknown split {options.split!r}; use one of {', '.join(SPLITS)}", field="--split")
    source, frame, duplicates = parse_problems(path, options)
    config = {"file": str(path.resolve()), "source": source, "split": options.split,
              "format": options.format, "update": options.update}
    with store.transaction(), store.run("ingest", config) as record:
        run_id = record.run_id
        frame = frame.with_columns(pl.lit(run_id, pl.String).alias("run_id"))
        stored = _stored_versions(store, frame)
        joined = frame.join(stored, on="problem_id", how="left")
        is_new = pl.col("stored_question").is_null()
        differs = (pl.col("gold_answer").ne_missing(pl.col("stored_gold"))) | (pl.col("question") != pl.col("stored_question"))
        new = joined.filter(is_new).select(frame.columns)
        changed = joined.filter(~is_new & differs)
        added = store.insert_frame("problems", new)
        updated = store.insert_frame("problems", changed.select(frame.columns), on_conflict="replace") if options.update else 0
        changes = [
            {"problem_id": row["problem_id"], "stored_gold": row["stored_gold"], "file_gold": row["gold_answer"],
             "question_changed": row["question"] != row["stored_question"]}
            for row in changed.iter_rows(named=True)
        ]
        result = IngestResult(
            source=source, rows=frame.height + duplicates, added=added,
            unchanged=frame.height - new.height - changed.height, changed=changed.height, updated=updated,
            duplicates=duplicates, run_id=run_id, changes=changes,
        )
        record.counts = {k: v for k, v in result.__dict__.items() if isinstance(v, int)}
    return result


def _stored_versions(store: Store, frame: pl.DataFrame) -> pl.DataFrame:
    """Stored question and gold of the frame's problem ids that exist already."""
    store.con.register("_ingest_ids", frame.select("problem_id").to_arrow())
    try:
        return store.query(
            "SELECT p.problem_id, p.question AS stored_question, p.gold_answer AS stored_gold "
            "FROM problems p JOIN _ingest_ids USING (problem_id)"
        )
    finally:
        store.con.unregister("_ingest_ids")


def report_ingest(result: IngestResult, update: bool) -> None:
    """Changed problems on stderr (what differs, and whether it was overwritten)."""
    if not result.changes:
        return
    verb = "overwritten (--update)" if update else "kept as stored; pass --update to overwrite"
    stderr.print(f"{len(result.changes)} problem(s) differ from the stored version, {verb}:", highlight=False, soft_wrap=True)
    for change in result.changes[:50]:
        what = f"gold {change['stored_gold']!r} -> {change['file_gold']!r}"
        if change["question_changed"]:
            what += " (question text changed too)"
        stderr.print(f"  {change['problem_id']}: {what}", highlight=False, markup=False, soft_wrap=True)
    if len(result.changes) > 50:
        stderr.print(f"  ... and {len(result.changes) - 50} more", highlight=False)
