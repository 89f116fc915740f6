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
Formats, readers, field-name candidates, normalisation and gold formatting live in
`curate.sources` (shared with `curate.import_samples` and `curate.decontam`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from curate.sources import (
    ANSWER_FIELDS,
    CONTEXT_FIELD,
    DIFFICULTY_FIELDS,
    ID_FIELDS,
    QUESTION_FIELDS,
    SECTION_FIELDS,
    SOLUTION_FIELD,
    YEAR_FIELDS,
    check_readable,
    default_source,
    first_present,
    gold_text,
    gold_value,
    id_text,
    make_problem_id,
    normalise_question,
    question_hash,
    read_records,
)
from curate.traces import last_boxed
from db import BadInput, Store
from db.console import stderr

SPLITS = ("train", "val", "test")
SNIFF_ROWS = 200  # rows whose keys decide the field mapping

PROBLEM_SCHEMA = {
    "problem_id": pl.String,
    "source": pl.String,
    "source_id": pl.String,
    "question": pl.String,
    "gold_answer": pl.String,
    "split": pl.String,
    "section": pl.String,
    "year": pl.Int32,
    "difficulty": pl.String,
    "meta": pl.String,
    "question_hash": pl.String,
    "run_id": pl.String,
}


# ---- field mapping ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldMap:
    """Which field of a record holds what; None = not present."""

    question: str
    answer: str | None
    answer_from_solution: bool  # no answer field: the last \\boxed{} of `solution` is the gold
    id: str | None
    section: str | None
    year: str | None
    context: str | None
    difficulty: str | None


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
        raise BadInput(
            f"no question field (looked for {', '.join(QUESTION_FIELDS)}; found {found}); pass --question-field",
            file=str(path),
            line=first_line,
            field="question",
        )
    answer = answer_field or first_present(keys, ANSWER_FIELDS)
    from_solution = answer is None and SOLUTION_FIELD in keys
    if answer is None and not from_solution and require_answer:
        raise BadInput(
            f"no answer field (looked for {', '.join(ANSWER_FIELDS)} or a boxed {SOLUTION_FIELD}; "
            f"found {found}); pass --answer-field",
            file=str(path),
            line=first_line,
            field="answer",
        )
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
    """The record's question text (the context prefixed when present); BadInput naming line and field when missing."""
    value = record.get(fields.question)
    if not isinstance(value, str) or not value.strip():
        what = (
            "missing"
            if value is None
            else ("empty" if isinstance(value, str) else f"a {type(value).__name__}, not text")
        )
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
            raise BadInput(
                "no answer field and no \\boxed{} answer in the solution",
                file=str(path),
                line=line,
                field=SOLUTION_FIELD,
            )
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
    on_duplicate: str = "error"  # a repeated id with another question or gold: "error" (exit 2) or "first" (keep it)


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
        path,
        records,
        question_field=options.question_field,
        answer_field=options.answer_field,
        id_field=options.id_field,
        section_field=options.section_field,
        year_field=options.year_field,
        require_answer=not options.allow_no_gold,
    )
    source = options.source or default_source(path)
    if ":" in source:
        raise BadInput("a source name cannot contain ':' (it separates source and id)", field="--source")
    used = {fields.question, fields.answer if not fields.answer_from_solution else None, fields.id, fields.context}
    if options.on_duplicate not in ON_DUPLICATE:
        raise BadInput(
            f"unknown value {options.on_duplicate!r}; use one of {', '.join(ON_DUPLICATE)}", field="--on-duplicate"
        )
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
            differs = [
                what
                for what, a, b in (
                    ("question", normalise_question(first_question), normalise_question(question)),
                    ("gold answer", first_gold, gold),
                )
                if a != b
            ]
            if differs and options.on_duplicate == "error":
                same = (
                    f"id {record.get(fields.id)!r} is the same problem as line {first_line}'s (both read as "
                    f"{source_id!r})"
                    if source_id is not None
                    else f"the question repeats line {first_line}'s"
                )
                raise BadInput(
                    f"{same} but with a different {' and '.join(differs)}; fix the file, or pass "
                    f"--on-duplicate first to keep line {first_line}'s row",
                    file=str(path),
                    line=line,
                    field=fields.id or fields.question,
                )
            duplicates += 1
            continue
        seen[problem_id] = (line, question, gold)
        section = record.get(fields.section) if fields.section else None
        difficulty = record.get(fields.difficulty) if fields.difficulty else None
        meta = {key: value for key, value in record.items() if key not in used}
        if fields.answer and not fields.answer_from_solution and gold_text(record.get(fields.answer)) != gold:
            meta[fields.answer] = record[fields.answer]  # a worked solution (GSM8K) is worth keeping
        rows.append(
            {
                "problem_id": problem_id,
                "source": source,
                "source_id": source_id,
                "question": question,
                "gold_answer": gold,
                "split": options.split,
                "section": None if section is None else str(section),
                "year": _year_of(path, line, record, fields.year),
                "difficulty": None if difficulty is None else str(difficulty),
                "meta": json.dumps(meta, ensure_ascii=False, default=str) if meta else None,
                "question_hash": question_hash(question),
            }
        )
    schema = {name: dtype for name, dtype in PROBLEM_SCHEMA.items() if name != "run_id"}
    return source, pl.DataFrame(rows, schema=schema), duplicates


def run(store: Store, options: IngestConfig) -> IngestResult:
    """Read `options.path` and add its problems to the store in one transaction; see the module docstring."""
    path = Path(options.path)
    if options.split is not None and options.split not in SPLITS:
        raise BadInput(f"unknown split {options.split!r}; use one of {', '.join(SPLITS)}", field="--split")
    source, frame, duplicates = parse_problems(path, options)
    config = {
        "file": str(path.resolve()),
        "source": source,
        "split": options.split,
        "format": options.format,
        "update": options.update,
    }
    with store.transaction(), store.run("ingest", config) as record:
        run_id = record.run_id
        frame = frame.with_columns(pl.lit(run_id, pl.String).alias("run_id"))
        stored = _stored_versions(store, frame)
        joined = frame.join(stored, on="problem_id", how="left")
        is_new = pl.col("stored_question").is_null()
        differs = (pl.col("gold_answer").ne_missing(pl.col("stored_gold"))) | (
            pl.col("question") != pl.col("stored_question")
        )
        new = joined.filter(is_new).select(frame.columns)
        changed = joined.filter(~is_new & differs)
        added = store.insert_frame("problems", new)
        updated = (
            store.insert_frame("problems", changed.select(frame.columns), on_conflict="replace")
            if options.update
            else 0
        )
        changes = [
            {
                "problem_id": row["problem_id"],
                "stored_gold": row["stored_gold"],
                "file_gold": row["gold_answer"],
                "question_changed": row["question"] != row["stored_question"],
            }
            for row in changed.iter_rows(named=True)
        ]
        result = IngestResult(
            source=source,
            rows=frame.height + duplicates,
            added=added,
            unchanged=frame.height - new.height - changed.height,
            changed=changed.height,
            updated=updated,
            duplicates=duplicates,
            run_id=run_id,
            changes=changes,
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
    stderr.print(
        f"{len(result.changes)} problem(s) differ from the stored version, {verb}:", highlight=False, soft_wrap=True
    )
    for change in result.changes[:50]:
        what = f"gold {change['stored_gold']!r} -> {change['file_gold']!r}"
        if change["question_changed"]:
            what += " (question text changed too)"
        stderr.print(f"  {change['problem_id']}: {what}", highlight=False, markup=False, soft_wrap=True)
    if len(result.changes) > 50:
        stderr.print(f"  ... and {len(result.changes) - 50} more", highlight=False)
