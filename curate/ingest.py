"""`curate ingest`: load problems with gold answers into the store.

Inputs: one file of problems, JSONL, a JSON array, CSV or Parquet. Outputs: new rows in
`problems` and one `runs` row (kind "ingest"). Command:
`curate ingest FILE [--source S] [--split train|val|test] [--format ...] [--question-field F]
[--answer-field F] [--id-field F] [--section-field F] [--year-field F] [--update]
[--domain auto|math|code|sql|choice] [--databases DIR]`.

- Field names are detected from the public sets' conventions (first match wins):
  id `problem_id/unique_id/id/idx/...`, question `problem/question/prompt/...`, gold
  `gold_answer/gold/gt/answer/final_answer/...`; GSM8K answers keep the text after the last
  `####`; a file with no answer field but a `solution` takes the last `\\boxed{}` of it
  (Minerva); a list of answers is joined with ", " (OlympiadBench); a non-empty `context` is
  prefixed to the question. Every other field is kept in `meta` (JSON).
- `problem_id` is "{source}:{id}", or "{source}:q" + a short hash of the normalised question
  when the row has no id; `question_hash` hashes the normalised question (lowercase,
  whitespace collapsed), so the same question matches across sources.
- Domain (problems.domain, which picks the checker; curate/verify/domains.py): `--domain auto`
  reads it from the fields, and a forced domain needs its fields (BadInput naming the line and
  the missing one). The questions are written by curate/prompts.py.
  - code: HumanEval (`task_id`, `prompt`, `test`, `entry_point`, `canonical_solution`) asks to
    complete the prompt, gold prompt + canonical_solution; MBPP (`task_id`, `text`, `code`,
    `test_list`) asks the text with its first test, gold `code`. meta is the record as it is.
  - sql: Spider (`db_id`, `question`, `query`; auto-detected by db_id + query) needs
    `databases` (DIR/DB_ID/DB_ID.sqlite or .duckdb; a missing one is BadInput on field db_id):
    the question carries the database's CREATE statements, gold is the query, meta the record
    plus "database" (absolute path). Spider has no ids: the id hashes db_id and the question.
  - choice: an `options` or `choices` list (MMLU: `answer` an index; MMLU-Pro, GPQA: a letter,
    checked against `answer_index`), or with `--domain choice` lettered lines in the question:
    the question gets lines "A. ...", the gold is the letter, meta {"options": [...], ...record}.
  - math: everything above this list, unchanged.
- Ingesting a file again adds nothing. A problem whose gold answer (or question; for other
  domains than math also its meta or domain) differs from the stored one is listed on stderr
  and left alone unless `update=True`; an update makes its samples' verdicts pending.
- Bad input (malformed JSON, a missing field, an empty, binary or unknown-format file) raises
  `BadInput` naming file, line and field before the store is touched.

Caveat: the file is read into Python in full; problem sets are small (thousands of rows).
Teacher traces, which are large, go through `curate.import_samples`, which streams in DuckDB.
Formats, readers, field-name candidates, normalisation and gold formatting live in
`curate.sources` (shared with `curate.import_samples` and `curate.decontam`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from curate.prompts import (
    OPTION_LETTERS,
    choice_question,
    humaneval_question,
    lettered_options,
    mbpp_question,
    sql_question,
)
from curate.sources import (
    ANSWER_FIELDS,
    ANSWER_INDEX_FIELD,
    CONTEXT_FIELD,
    DIFFICULTY_FIELDS,
    HUMANEVAL_FIELDS,
    HUMANEVAL_SOLUTION_FIELD,
    ID_FIELDS,
    MBPP_FIELDS,
    MBPP_SOLUTION_FIELD,
    OPTION_FIELDS,
    QUESTION_FIELDS,
    SECTION_FIELDS,
    SOLUTION_FIELD,
    SPIDER_FIELDS,
    SPIDER_MARK_FIELDS,
    TASK_ID_FIELD,
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
from curate.verify.domains import DOMAINS
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
    "domain": pl.String,
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


# ---- domains: which problems a file holds, and how each record reads as one ------------------


@dataclass(frozen=True)
class ProblemRow:
    """One record read as a problem (before its id and duplicates are settled)."""

    question: str
    gold: str | None
    meta: dict
    identity: str  # the text whose hash is the id when the record has none (usually the question)
    section: object = None
    year: int | None = None
    difficulty: object = None


def detect_domain(records: list[tuple[int, dict]]) -> str:
    """The domain the first records' fields mark: Spider is sql, HumanEval and MBPP are code, an
    options list is choice, anything else math."""
    keys = _keys(records)
    if set(SPIDER_MARK_FIELDS) <= keys:
        return "sql"
    if set(HUMANEVAL_FIELDS) <= keys or set(MBPP_FIELDS) <= keys:
        return "code"
    if any(isinstance(record.get(name), list) for _, record in records[:SNIFF_ROWS] for name in OPTION_FIELDS):
        return "choice"
    return "math"


def _keys(records: list[tuple[int, dict]]) -> set[str]:
    keys: set[str] = set()
    for _, record in records[:SNIFF_ROWS]:
        keys.update(record)
    return keys


def _require_fields(path: Path, records: list[tuple[int, dict]], fields: tuple[str, ...], what: str) -> None:
    """BadInput naming the first line without one of `fields` (`what` says which records are read)."""
    for line, record in records:
        for name in fields:
            if record.get(name) is None:
                raise BadInput(f"{what}; this record has no {name!r}", file=str(path), line=line, field=name)


def _text_field(path: Path, line: int, record: dict, name: str) -> str:
    """The record's non-empty text in field `name`; BadInput naming the line and field otherwise."""
    value = record.get(name)
    if isinstance(value, str) and value.strip():
        return value
    what = (
        "missing" if value is None else ("empty" if isinstance(value, str) else f"a {type(value).__name__}, not text")
    )
    raise BadInput(f"the field is {what}", file=str(path), line=line, field=name)


def _plain_fields(keys: set[str], options: IngestConfig) -> tuple[str | None, str | None, str | None]:
    """(section, year, difficulty) fields of a code or SQL file: the flags, else the usual names."""
    return (
        options.section_field or first_present(keys, SECTION_FIELDS),
        options.year_field or first_present(keys, YEAR_FIELDS),
        first_present(keys, DIFFICULTY_FIELDS),
    )


class MathReader:
    """Math records (the default): fields detected by FieldMap, every other field kept in meta."""

    def __init__(self, path: Path, records: list[tuple[int, dict]], options: IngestConfig):
        self.path, self.require_gold = path, not options.allow_no_gold
        self.fields = detect_fields(
            path,
            records,
            question_field=options.question_field,
            answer_field=options.answer_field,
            id_field=options.id_field,
            section_field=options.section_field,
            year_field=options.year_field,
            require_answer=self.require_gold,
        )
        self.id_field, self.question_field = self.fields.id, self.fields.question

    def read(self, line: int, record: dict) -> ProblemRow:
        fields = self.fields
        question = question_of(self.path, line, record, fields)
        gold = gold_of(self.path, line, record, fields, require=self.require_gold)
        used = {fields.question, fields.answer if not fields.answer_from_solution else None, fields.id, fields.context}
        meta = {key: value for key, value in record.items() if key not in used}
        if fields.answer and not fields.answer_from_solution and gold_text(record.get(fields.answer)) != gold:
            meta[fields.answer] = record[fields.answer]  # a worked solution (GSM8K) is worth keeping
        return _plain_row(self.path, line, record, question, gold, meta, fields)


class CodeReader:
    """HumanEval (`prompt`, `test`, `entry_point`, `canonical_solution`) or MBPP (`text`, `test_list`,
    `code`) records: the question asks for the program, the gold is the reference solution, meta is
    the record as it is (the code checker reads its tests there)."""

    def __init__(self, path: Path, records: list[tuple[int, dict]], options: IngestConfig):
        _refuse_field_flags(options, "code")
        keys = _keys(records)
        self.path, self.require_gold = path, not options.allow_no_gold
        layouts = {"HumanEval": HUMANEVAL_FIELDS, "MBPP": MBPP_FIELDS}
        # The layout whose fields the file has (or has most of: its missing field is the one named).
        self.layout = max(layouts, key=lambda name: sum(field in keys for field in layouts[name]) / len(layouts[name]))
        expected = " or ".join(f"{name} ({', '.join(fields)})" for name, fields in layouts.items())
        _require_fields(path, records, layouts[self.layout], f"code problems are {expected} records")
        self.id_field = options.id_field or (TASK_ID_FIELD if TASK_ID_FIELD in keys else first_present(keys, ID_FIELDS))
        self.question_field = layouts[self.layout][0]
        self.section, self.year, self.difficulty = _plain_fields(keys, options)

    def read(self, line: int, record: dict) -> ProblemRow:
        if self.layout == "HumanEval":
            prompt = _text_field(self.path, line, record, "prompt")
            _text_field(self.path, line, record, "test")
            _text_field(self.path, line, record, "entry_point")
            question, solution_field = humaneval_question(prompt), HUMANEVAL_SOLUTION_FIELD
        else:
            tests = record.get("test_list")
            if not isinstance(tests, list) or not tests or not all(isinstance(t, str) and t.strip() for t in tests):
                raise BadInput(
                    "test_list must be a non-empty list of assert lines",
                    file=str(self.path),
                    line=line,
                    field="test_list",
                )
            question = mbpp_question(_text_field(self.path, line, record, "text"), tests[0])
            solution_field, prompt = MBPP_SOLUTION_FIELD, ""
        gold = None
        if record.get(solution_field) is not None or self.require_gold:
            gold = prompt + _text_field(self.path, line, record, solution_field)
        return _plain_row(self.path, line, record, question, gold, dict(record), self)


class SqlReader:
    """Spider records (`db_id`, `question`, `query`): the question is the question and the schema of
    DATABASES/DB_ID/DB_ID.sqlite (or .duckdb), the gold is the query, meta the record plus the
    database's absolute path (the SQL checker runs both queries there)."""

    SUFFIXES = (".sqlite", ".duckdb")

    def __init__(self, path: Path, records: list[tuple[int, dict]], options: IngestConfig):
        _refuse_field_flags(options, "sql")
        self.path, self.require_gold = path, not options.allow_no_gold
        needed = SPIDER_FIELDS if self.require_gold else SPIDER_FIELDS[:2]
        _require_fields(path, records, needed, f"SQL problems are Spider records ({', '.join(SPIDER_FIELDS)})")
        if options.databases is None:
            raise BadInput(
                "Spider-style records (db_id, question, query) are SQL problems: pass --databases DIR, "
                "the folder holding DIR/DB_ID/DB_ID.sqlite (or .duckdb)",
                file=str(path),
                field="--databases",
            )
        self.databases = Path(options.databases)
        if not self.databases.is_dir():
            raise BadInput("no such folder", file=str(self.databases), field="--databases")
        keys = _keys(records)
        self.id_field, self.question_field = options.id_field or first_present(keys, ID_FIELDS), "question"
        self.section, self.year, self.difficulty = _plain_fields(keys, options)
        self._schemas: dict[str, tuple[Path, str, str]] = {}

    def database(self, line: int, db_id: str) -> tuple[Path, str, str]:
        """(absolute path, schema, dialect) of the record's database; BadInput naming the line."""
        if db_id not in self._schemas:
            import sqlite3

            import duckdb

            from curate.verify.sql import database_kind, schema_text

            if Path(db_id).name != db_id or db_id in (".", ".."):
                raise BadInput(
                    f"a db_id is a folder name, not a path: {db_id!r}", file=str(self.path), line=line, field="db_id"
                )
            candidates = [self.databases / db_id / f"{db_id}{suffix}" for suffix in self.SUFFIXES]
            found = next((candidate for candidate in candidates if candidate.is_file()), None)
            if found is None:
                raise BadInput(
                    f"no database {db_id!r}: looked for {' and '.join(str(c) for c in candidates)}",
                    file=str(self.path),
                    line=line,
                    field="db_id",
                )
            try:
                dialect = {"sqlite": "SQLite", "duckdb": "DuckDB"}[database_kind(found)]
                self._schemas[db_id] = (found.resolve(), schema_text(found), dialect)
            except (ValueError, OSError, sqlite3.Error, duckdb.Error) as error:
                raise BadInput(str(error), file=str(self.path), line=line, field="db_id") from error
        return self._schemas[db_id]

    def read(self, line: int, record: dict) -> ProblemRow:
        db_id = _text_field(self.path, line, record, "db_id").strip()
        asked = _text_field(self.path, line, record, "question")
        database, schema, dialect = self.database(line, db_id)
        gold = None
        if record.get("query") is not None or self.require_gold:
            gold = _text_field(self.path, line, record, "query").strip()
        row = _plain_row(
            self.path,
            line,
            record,
            sql_question(asked, schema, dialect),
            gold,
            {**record, "database": str(database)},
            self,
        )
        return replace(row, identity=f"{db_id}: {asked}")  # the id does not change with the schema's wording


class ChoiceReader:
    """Multiple-choice records: an `options` or `choices` list (MMLU: `answer` an index; MMLU-Pro,
    GPQA: `answer` a letter beside `answer_index`), or a question that carries lettered lines. The
    question gets lettered option lines, the gold is the letter, meta holds the options."""

    def __init__(self, path: Path, records: list[tuple[int, dict]], options: IngestConfig):
        self.math = MathReader(path, records, options)
        self.path, self.require_gold = path, not options.allow_no_gold
        self.id_field, self.question_field = self.math.id_field, self.math.question_field
        self.option_field = first_present(_keys(records), OPTION_FIELDS)

    def read(self, line: int, record: dict) -> ProblemRow:
        row = self.math.read(line, record)  # question, section, year and difficulty as for math
        question = row.question
        raw = record.get(self.option_field) if self.option_field else None
        if raw is not None:
            options = self._options(line, raw)
            if lettered_options(question) != options:  # a question that lists its options already keeps them once
                question = choice_question(question, options)
        else:
            options = lettered_options(question)
            if not options:
                raise BadInput(
                    f'no options: give a list in {" or ".join(OPTION_FIELDS)}, or lettered lines ("A. ...") '
                    "in the question",
                    file=str(self.path),
                    line=line,
                    field=self.option_field or OPTION_FIELDS[0],
                )
        gold = self._letter(line, record, options)
        meta = {"options": options, **{key: value for key, value in record.items() if key != "options"}}
        return replace(row, question=question, gold=gold, meta=meta, identity=question)

    def _options(self, line: int, raw: object) -> list[str]:
        texts = [gold_text(item) for item in raw] if isinstance(raw, list) else None
        if not texts or len(texts) < 2 or len(texts) > len(OPTION_LETTERS) or not all(texts):
            raise BadInput(
                f"options must be a list of 2 to {len(OPTION_LETTERS)} non-empty options",
                file=str(self.path),
                line=line,
                field=self.option_field,
            )
        # AQuA-style options carry their own letters ("A)21"): the question letters them once.
        own = [re.match(rf"^\(?{letter}[.):]\s*(.*)$", text, re.DOTALL) for letter, text in zip(OPTION_LETTERS, texts)]
        return [match.group(1) for match in own] if all(own) and all(m.group(1) for m in own) else texts

    def _letter(self, line: int, record: dict, options: list[str]) -> str | None:
        """The gold option's letter, from a letter, a 0-based index or the option's text."""
        field = self.math.fields.answer
        raw = record.get(field) if field else None
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if self.require_gold:
                raise BadInput(
                    "the answer is missing or empty", file=str(self.path), line=line, field=field or "answer"
                )
            return None
        letters = OPTION_LETTERS[: len(options)]
        text = id_text(raw) if not isinstance(raw, bool) else None
        letter = None
        if isinstance(raw, (int, float)) and text is not None and text.isdigit():
            letter = letters[int(text)] if int(text) < len(letters) else None
        elif text is not None:
            bare = text.strip("().: ")
            by_text = letters[options.index(text)] if text in options else None
            by_index = letters[int(text)] if text.isdigit() and int(text) < len(letters) else None
            if by_text and by_index and by_text != by_index:
                raise BadInput(
                    f"the answer {raw!r} is both option {by_text}'s text and the index of option {by_index}; "
                    "write the letter",
                    file=str(self.path),
                    line=line,
                    field=field,
                )
            if len(bare) == 1 and bare.upper() in letters:
                letter = bare.upper()
            else:
                letter = by_text or by_index
        if letter is None:
            raise BadInput(
                f"the answer {raw!r} is not one of the option letters {letters[0]}-{letters[-1]}, a 0-based index or "
                "an option's text",
                file=str(self.path),
                line=line,
                field=field,
            )
        index = record.get(ANSWER_INDEX_FIELD)
        if index is not None and field != ANSWER_INDEX_FIELD and id_text(index) != str(letters.index(letter)):
            raise BadInput(
                f"answer {raw!r} is option {letter} but {ANSWER_INDEX_FIELD} is {index!r}",
                file=str(self.path),
                line=line,
                field=ANSWER_INDEX_FIELD,
            )
        return letter


def _plain_row(path: Path, line: int, record: dict, question: str, gold: str | None, meta: dict, reader) -> ProblemRow:
    """The row of a record whose identity is its question; `reader` names the section, year and
    difficulty fields (a reader, or the math layout's resolved fields)."""
    return ProblemRow(
        question=question,
        gold=gold,
        meta=meta,
        identity=question,
        section=record.get(reader.section) if reader.section else None,
        year=_year_of(path, line, record, reader.year),
        difficulty=record.get(reader.difficulty) if reader.difficulty else None,
    )


def _refuse_field_flags(options: IngestConfig, domain: str) -> None:
    for flag, value in (("--question-field", options.question_field), ("--answer-field", options.answer_field)):
        if value is not None:
            raise BadInput(
                f"{domain} records are read by their own field names; {flag} is for math and choice files",
                field=flag,
            )


READERS = {"math": MathReader, "code": CodeReader, "sql": SqlReader, "choice": ChoiceReader}


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
    domain: str = "auto"  # math, code, sql, choice, or auto: detected from the fields
    databases: Path | None = None  # sql: the folder holding DB_ID/DB_ID.sqlite (or .duckdb)


ON_DUPLICATE = ("error", "first")
DOMAIN_CHOICES = ("auto", *DOMAINS)


@dataclass(frozen=True)
class IngestResult:
    """What `curate ingest` prints: counts per outcome and the changed problems."""

    source: str
    domain: str
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
    if options.domain not in DOMAIN_CHOICES:
        raise BadInput(f"unknown domain {options.domain!r}; use one of {', '.join(DOMAIN_CHOICES)}", field="--domain")
    fmt = check_readable(path, options.format)
    records = list(read_records(path, fmt))
    if not records:
        raise BadInput("no records in the file", file=str(path))
    domain = detect_domain(records) if options.domain == "auto" else options.domain
    if options.databases is not None and domain != "sql":
        raise BadInput(
            f"--databases is read for SQL problems only; this file holds {domain} problems", field="--databases"
        )
    reader = READERS[domain](path, records, options)
    source = options.source or default_source(path)
    if ":" in source:
        raise BadInput("a source name cannot contain ':' (it separates source and id)", field="--source")
    if options.on_duplicate not in ON_DUPLICATE:
        raise BadInput(
            f"unknown value {options.on_duplicate!r}; use one of {', '.join(ON_DUPLICATE)}", field="--on-duplicate"
        )
    seen: dict[str, tuple[int, ProblemRow]] = {}  # problem_id -> (line, row) of its first row
    rows, duplicates = [], 0
    for line, record in records:
        row = reader.read(line, record)
        if reader.id_field and reader.id_field in record and id_text(record[reader.id_field]) is None:
            raise BadInput("the id is empty", file=str(path), line=line, field=reader.id_field)
        source_id = id_text(record.get(reader.id_field)) if reader.id_field else None
        problem_id = make_problem_id(source, source_id, row.identity)
        if problem_id in seen:
            first_line, first = seen[problem_id]
            # Case and spacing do not make another question (they do not change the question hash either).
            differs = [
                what
                for what, a, b in (
                    ("question", normalise_question(first.question), normalise_question(row.question)),
                    ("gold answer", first.gold, row.gold),
                    (
                        "tests, database or options",
                        first.meta if domain != "math" else None,
                        row.meta if domain != "math" else None,
                    ),
                )
                if a != b
            ]
            if differs and options.on_duplicate == "error":
                same = (
                    f"id {record.get(reader.id_field)!r} is the same problem as line {first_line}'s (both read as "
                    f"{source_id!r})"
                    if source_id is not None
                    else f"the question repeats line {first_line}'s"
                )
                raise BadInput(
                    f"{same} but with a different {' and '.join(differs)}; fix the file, or pass "
                    f"--on-duplicate first to keep line {first_line}'s row",
                    file=str(path),
                    line=line,
                    field=reader.id_field or reader.question_field,
                )
            duplicates += 1
            continue
        seen[problem_id] = (line, row)
        rows.append(
            {
                "problem_id": problem_id,
                "source": source,
                "source_id": source_id,
                "question": row.question,
                "gold_answer": row.gold,
                "split": options.split,
                "section": None if row.section is None else str(row.section),
                "year": row.year,
                "difficulty": None if row.difficulty is None else str(row.difficulty),
                "meta": json.dumps(row.meta, ensure_ascii=False, default=str) if row.meta else None,
                "question_hash": question_hash(row.question),
                "domain": domain,
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
    domain = frame["domain"][0]
    config = {
        "file": str(path.resolve()),
        "source": source,
        "split": options.split,
        "format": options.format,
        "update": options.update,
        "domain": domain,
    }
    if options.databases is not None:
        config["databases"] = str(Path(options.databases).resolve())
    with store.transaction(), store.run("ingest", config) as record:
        run_id = record.run_id
        frame = frame.with_columns(pl.lit(run_id, pl.String).alias("run_id"))
        stored = _stored_versions(store, frame)
        joined = frame.join(stored, on="problem_id", how="left")
        is_new = pl.col("stored_question").is_null()
        # A math problem's meta is not what its verdicts read; another domain's tests, database or options are.
        meta_changed = (pl.col("domain") != "math") & pl.col("meta").ne_missing(pl.col("stored_meta"))
        differs = (
            pl.col("gold_answer").ne_missing(pl.col("stored_gold"))
            | (pl.col("question") != pl.col("stored_question"))
            | (pl.col("domain") != pl.col("stored_domain"))
            | meta_changed
        )
        joined = joined.with_columns(meta_changed=meta_changed)
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
                "meta_changed": row["meta_changed"],
                "stored_domain": row["stored_domain"],
                "domain": row["domain"],
            }
            for row in changed.iter_rows(named=True)
        ]
        result = IngestResult(
            source=source,
            domain=domain,
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
    """Stored question, gold, meta and domain of the frame's problem ids that exist already."""
    store.con.register("_ingest_ids", frame.select("problem_id").to_arrow())
    try:
        return store.query(
            "SELECT p.problem_id, p.question AS stored_question, p.gold_answer AS stored_gold, "
            "CAST(p.meta AS VARCHAR) AS stored_meta, p.domain AS stored_domain FROM problems p JOIN _ingest_ids USING (problem_id)"
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
        stderr.print(f"  {change['problem_id']}: {_change_text(change)}", highlight=False, markup=False, soft_wrap=True)
    if len(result.changes) > 50:
        stderr.print(f"  ... and {len(result.changes) - 50} more", highlight=False)


def _change_text(change: dict) -> str:
    """What differs: a math problem's gold as before; another domain's changed parts by name."""
    if change["domain"] == "math" and change["stored_domain"] == "math":
        what = f"gold {change['stored_gold']!r} -> {change['file_gold']!r}"
        return what + (" (question text changed too)" if change["question_changed"] else "")
    parts = []
    if change["stored_domain"] != change["domain"]:
        parts.append(f"domain {change['stored_domain']} -> {change['domain']}")
    if change["stored_gold"] != change["file_gold"]:
        short = all(
            gold is None or (len(gold) <= 60 and "\n" not in gold)
            for gold in (change["stored_gold"], change["file_gold"])
        )
        parts.append(f"gold {change['stored_gold']!r} -> {change['file_gold']!r}" if short else "gold answer changed")
    if change["question_changed"]:
        parts.append("question text changed")
    if change["meta_changed"]:
        parts.append("tests, database or options changed (meta)")
    return "; ".join(parts)
