"""Source files: one home for reading problem and trace files and the rules for their fields.

Used by `curate ingest` (problems), `curate import-samples` (traces), `curate decontam`
(benchmark files) and `evaluate run --problems FILE` (through ingest).

- Formats: JSONL, a JSON array (or one object), CSV with a header, Parquet; `check_readable`
  resolves `auto` from the suffix, else the first bytes, and refuses empty, binary, compressed
  or non-UTF-8 files with `BadInput` naming the file (and line when known).
- Readers: `read_records(path, fmt)` yields (line, record) pairs, line being the 1-based line
  (JSONL, CSV) or record number (JSON, Parquet); malformed input raises `BadInput` naming
  file and line before anything is written.
- Field names: the candidates of the public sets' conventions, most specific first
  (`ID_FIELDS`, `QUESTION_FIELDS`, `ANSWER_FIELDS`, ...); `first_present` picks one. The fields
  that mark a code (HumanEval, MBPP), SQL (Spider) or multiple-choice file are here too.
- A problem's source question: `SOURCE_QUESTION_SQL` (decontam and import-samples compare by it).
- Normalisation and identity: `normalise_question` (lowercase, whitespace collapsed),
  `question_hash`, `make_problem_id` ("{source}:{id}", or "{source}:q" + hash of the question),
  `default_source` ("folder/stem"), `gold_value` / `gold_text` (gold answers as text: GSM8K's
  "####" tail, integral floats without ".0", lists joined with ", "), `id_text`.

Caveat: JSON arrays, CSV and Parquet are read into memory whole (problem sets are small);
large trace files go through DuckDB in `curate.import_samples`, which uses only the format
checks and field lists from here.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from pathlib import Path
from typing import Any, Iterator

import polars as pl

from db.errors import BadInput

FORMATS = ("auto", "jsonl", "json", "csv", "parquet")

# Field-name candidates, most specific first; the first one a file has is used.
ID_FIELDS = ("problem_id", "unique_id", "id", "idx", "source_id", "qid")
QUESTION_FIELDS = ("problem", "question", "prompt", "query", "input")
ANSWER_FIELDS = ("gold_answer", "gold", "gt", "answer", "final_answer", "ground_truth", "expected_answer")
# The question as a problem's source asked it, in SQL over `problems` (ingest keeps the source's record in
# meta): a stored code or SQL question adds instructions and a schema (curate.prompts), which would hide
# the source's own text (HumanEval's prompt, MBPP's text, Spider's question) from a file that holds it.
# A choice question keeps its options: many sets share a stem ("Which of the following is true?").
SOURCE_QUESTION_SQL = (
    "coalesce(CASE domain WHEN 'code' THEN coalesce(meta->>'prompt', meta->>'text') "
    "WHEN 'sql' THEN meta->>'question' END, question)"
)
SOLUTION_FIELD = "solution"
CONTEXT_FIELD = "context"
SECTION_FIELDS = ("section",)
YEAR_FIELDS = ("year",)
DIFFICULTY_FIELDS = ("difficulty", "level")

# The fields that mark a file of another domain than math, in its set's own names (curate ingest).
HUMANEVAL_FIELDS = ("prompt", "test", "entry_point")  # gold: prompt + canonical_solution
HUMANEVAL_SOLUTION_FIELD = "canonical_solution"
MBPP_FIELDS = ("text", "test_list")  # gold: code
MBPP_SOLUTION_FIELD = "code"
TASK_ID_FIELD = "task_id"  # HumanEval's and MBPP's id
SPIDER_FIELDS = ("db_id", "question", "query")  # gold: query
SPIDER_MARK_FIELDS = ("db_id", "query")  # a question field alone says nothing; these two say Spider
OPTION_FIELDS = ("options", "choices")  # a list of options: a multiple-choice problem
ANSWER_INDEX_FIELD = "answer_index"  # MMLU-Pro / GPQA: the gold option's 0-based index beside its letter

SNIFF_BYTES = 8192  # bytes looked at to tell text from binary
GSM8K_MARK = "####"


# ---- normalisation and identity ------------------------------------------------------------


def short_hash(text: str, length: int = 16) -> str:
    """The first `length` hex digits of the text's SHA-256."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def normalise_question(question: str) -> str:
    """Lowercase, whitespace runs collapsed to one space, ends trimmed."""
    return " ".join(question.lower().split())


def question_hash(question: str) -> str:
    """The hash of the normalised question: the same question matches across sources."""
    return short_hash(normalise_question(question))


def make_problem_id(source: str, source_id: str | None, question: str) -> str:
    """ "{source}:{source_id}", or "{source}:q" + a short hash of the normalised question without an id."""
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
    """An id as text (integral floats lose ".0"); None when empty."""
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
        raise BadInput(
            "binary content in a text format; is this the right file?",
            file=str(path),
            line=head[: head.find(b"\x00")].count(b"\n") + 1 if b"\x00" in head else None,
        )
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # a multibyte character cut by the sniff window is fine
            raise BadInput(
                "not UTF-8 text (binary file?)", file=str(path), line=head[: error.start].count(b"\n") + 1
            ) from error
    if fmt == "json" and head.lstrip().startswith(b"{"):
        fmt = "jsonl"
    return fmt


def _format_from_name(path: Path) -> str | None:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        raise BadInput("compressed files are not read; decompress it first", file=str(path), field="--format")
    last = suffixes[-1] if suffixes else ""
    return {
        ".jsonl": "jsonl",
        ".ndjson": "jsonl",
        ".json": "json",
        ".csv": "csv",
        ".parquet": "parquet",
        ".pq": "parquet",
    }.get(last)


def _format_from_content(path: Path, head: bytes) -> str:
    if head.startswith(b"PAR1"):
        return "parquet"
    first = head.lstrip()[:1]
    if first == b"{":
        return "jsonl"
    if first == b"[":
        return "json"
    raise BadInput(
        f"cannot tell the format of {path.name!r}; pass --format jsonl|json|csv|parquet",
        file=str(path),
        field="--format",
    )


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


# Python's JSON reader recurses once per nesting level and stops near a thousand.
TOO_DEEP = "a JSON value nested too deeply to read (about 1,000 levels); no record needs that"


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
    except RecursionError:
        raise BadInput(TOO_DEEP, file=str(path), line=number) from None
    if not isinstance(record, dict):
        raise BadInput(f"expected a JSON object, got {type(record).__name__}", file=str(path), line=number)
    return record


def _read_json_array(path: Path) -> Iterator[tuple[int, dict]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise BadInput(f"not UTF-8 text at byte {error.start}", file=str(path)) from error
    except json.JSONDecodeError as error:
        raise BadInput(
            f"malformed JSON: {error.msg} (column {error.colno})", file=str(path), line=error.lineno
        ) from error
    except RecursionError:
        raise BadInput(TOO_DEEP, file=str(path)) from None
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


# ---- field names -----------------------------------------------------------------------------


def first_present(keys: set[str], candidates: tuple[str, ...]) -> str | None:
    """The first candidate field name among `keys` (candidates are ordered most specific first)."""
    return next((name for name in candidates if name in keys), None)
