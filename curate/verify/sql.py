"""The SQL domain: a response's query, run read-only next to the gold query, results compared.

Contract: `SQLChecker(options=CheckerOptions())` with `domain = "sql"` and `version =
SQL_VERSION`; `check_many([(task, response, finish_reason), ...], workers=, timeout=) ->
[Verdict, ...]` in order; `close()` stops its workers. The gold query is `task.gold_answer`; the
database is `task.meta["database"]`, absolute or relative to `options.database_root` (the
current directory when that is None), a SQLite or DuckDB file (told apart by its header).
`schema_text(path)` gives the CREATE statements of a database's tables and views, for prompts
(`curate ingest --domain sql` puts it in the question). `extract_query(response,
finish_reason)` finds the answer's query.

The query is the final answer's (text after the last `</think>`) last fenced block tagged sql
(or sqlite, duckdb, postgresql, mysql), else its last untagged block, else the whole final text
when it starts with SELECT or WITH; a response cut off at the token limit has no answer.

Both queries run in forked worker processes (curate/verify/workers.py's pool, kept warm between
calls), one query per task, under these limits:
- read only: SQLite is opened as `file:PATH?mode=ro` with `PRAGMA query_only=ON`, temp storage
  in memory, and an authorizer that allows only reads, SELECT, functions (not
  `load_extension`) and recursive CTEs, so writes, ATTACH (and `VACUUM INTO`), DETACH, PRAGMA,
  CREATE/DROP (temp ones too) and transactions are refused; DuckDB is opened `read_only` with
  `enable_external_access=false` (no file, network or extension access) and its configuration
  locked. Only a single SELECT or WITH statement runs; anything else is refused before it
  reaches the engine, and a refusal is verdict `incorrect`, reason "refused: ...";
- time: SQLite stops itself at `timeout` seconds (a progress handler); a worker still busy a
  grace second later (DuckDB, or C code that never returns) is killed and replaced;
- memory: each query's address space is capped at MEMORY_LIMIT_BYTES over what its worker maps
  when it starts (DuckDB gets DUCKDB_RESERVE_BYTES more, address space its allocator and threads
  reserve without using; its own `memory_limit` bounds what it uses), under a hard cap of
  WORKER_MEMORY_BYTES over what the worker inherited, which SQL cannot raise; SQLite values longer than VALUE_BYTES_LIMIT fail ("string or blob too big"); a result over
  ROW_LIMIT rows or RESULT_BYTES_LIMIT bytes is not read to the end.

Results are compared the way execution-accuracy evaluations do: the number of columns must
match (their names do not matter, their order does); rows are compared as multisets, or as
ordered lists when the gold query has a top-level ORDER BY; numbers are equal by value (3 ==
3.0) and floats within a relative tolerance of FLOAT_TOLERANCE. docs/DOMAINS_SQL.md says where
this is stricter or looser than Spider's test-suite evaluation.

Verdicts: correct; incorrect (other rows, "3 rows, gold has 4"; a refused statement; a result
over a limit; a runtime failure); unparseable (the query does not compile: a syntax error, an
unknown table or column, with the engine's message); no_answer; timeout; error (no database,
or the gold query fails). Each distinct (database, query) runs once per call, gold queries
included, so identical answers and a gold shared by many samples cost one run.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Sequence

from curate.traces import fenced_blocks
from curate.verify.checker import Verdict, ms_since
from curate.verify.domains import CheckerOptions
from curate.verify.workers import mapped_bytes
from curate.verify.loops import final_answer

# sql/2: a response without a finish reason that loops to its end is no_answer (curate/verify/loops.py).
SQL_VERSION = "sql/2"
MEMORY_LIMIT_BYTES = 512 * 1024**2
DUCKDB_RESERVE_BYTES = 1024**3
WORKER_MEMORY_BYTES = 2 * 1024**3
ROW_LIMIT = 100_000
RESULT_BYTES_LIMIT = 32 * 1024**2
VALUE_BYTES_LIMIT = 8 * 1024**2
FLOAT_TOLERANCE = 1e-6
KILL_GRACE_S = 1.0
_SQL_TAGS = {"sql", "sqlite", "sqlite3", "duckdb", "postgresql", "postgres", "mysql"}
_SQLITE_HEADER = b"SQLite format 3\x00"
_DUCKDB_MAGIC = b"DUCK"  # at byte 8 of a DuckDB file
_READ_KEYWORDS = {"SELECT", "WITH"}
# First words of statements that are not queries (SQLite's and DuckDB's): refused, not unparseable.
_OTHER_STATEMENTS = set(
    "INSERT UPDATE DELETE REPLACE UPSERT MERGE TRUNCATE DROP CREATE ALTER ATTACH DETACH PRAGMA VACUUM REINDEX "
    "ANALYZE BEGIN COMMIT END ROLLBACK SAVEPOINT RELEASE EXPLAIN SET RESET COPY INSTALL LOAD EXPORT IMPORT CALL "
    "USE CHECKPOINT FORCE GRANT REVOKE PIVOT UNPIVOT SUMMARIZE DESCRIBE SHOW FROM TABLE VALUES PREPARE EXECUTE "
    "DEALLOCATE COMMENT".split()
)
_SHOWN_CHARS = 120
_PROGRESS_STEPS = 1000  # SQLite VM steps between deadline checks
# Lexical pieces of SQL that can hide a keyword or a parenthesis: strings, quoted names, comments.
_LEXEME = re.compile(
    r"'(?:[^']|'')*'?|\"(?:[^\"]|\"\")*\"?|`[^`]*`?|\[[^\]]*\]?|--[^\n]*|/\*.*?(?:\*/|\Z)|[()]|\w+",
    re.DOTALL,
)
# SQLite's authorizer actions (sqlite3.SQLITE_*): the only ones a read-only query needs.
_ALLOWED_ACTIONS = {"READ", "SELECT", "FUNCTION", "RECURSIVE"}
_ACTIONS = (
    "CREATE_INDEX CREATE_TABLE CREATE_TEMP_INDEX CREATE_TEMP_TABLE CREATE_TEMP_TRIGGER CREATE_TEMP_VIEW "
    "CREATE_TRIGGER CREATE_VIEW DELETE DROP_INDEX DROP_TABLE DROP_TEMP_INDEX DROP_TEMP_TABLE DROP_TEMP_TRIGGER "
    "DROP_TEMP_VIEW DROP_TRIGGER DROP_VIEW INSERT PRAGMA READ SELECT TRANSACTION UPDATE ATTACH DETACH ALTER_TABLE "
    "REINDEX ANALYZE CREATE_VTABLE DROP_VTABLE FUNCTION SAVEPOINT RECURSIVE"
).split()


# -- the answer -------------------------------------------------------------------------------
def extract_query(response: str | None, finish_reason: str | None = None) -> tuple[str | None, str | None, str]:
    """(query, source, reason): source is sql_block | code_block | whole_answer (module doc)."""
    text, why = final_answer(response, finish_reason)
    if text is None:
        return None, None, why
    blocks = fenced_blocks(text)
    tagged = [block for block in blocks if block.tag in _SQL_TAGS]
    chosen = (tagged or [block for block in blocks if block.tag == ""] or [None])[-1]
    if chosen is not None:
        if not chosen.closed:
            return None, None, "the last code block never closes: the answer was cut off"
        if not chosen.body.strip():
            return None, None, "the last code block is empty"
        source = "sql_block" if tagged else "code_block"
        return chosen.body.strip(), source, f"last {'sql' if tagged else 'untagged'} code block after the reasoning"
    if blocks:
        return None, None, f"no SQL code block (only {', '.join(sorted({b.tag for b in blocks}))})"
    if first_keyword(text) in _READ_KEYWORDS:
        return text.strip(), "whole_answer", "the whole final answer (no code block)"
    return None, None, "no SQL code block, and the final answer is not a SELECT or WITH query"


def _lexemes(query: str):
    """Words and parentheses of `query` at their depth, outside strings, quoted names and comments."""
    depth = 0
    for match in _LEXEME.finditer(query):
        piece = match.group(0)
        if piece == "(":
            depth += 1
        elif piece == ")":
            depth -= 1
        elif piece[0] not in "'\"`[-/":
            yield piece.upper(), depth


def first_keyword(query: str) -> str | None:
    """The query's first word in upper case (after comments and opening parentheses), or None."""
    return next((word for word, _ in _lexemes(query)), None)


def orders_result(query: str) -> bool:
    """Whether the query orders its result: an ORDER BY outside every parenthesis."""
    previous = None
    for word, depth in _lexemes(query):
        if depth == 0 and previous == "ORDER" and word == "BY":
            return True
        previous = word if depth == 0 else None
    return False


# -- databases --------------------------------------------------------------------------------
def database_kind(path: str | Path) -> str:
    """ "sqlite" or "duckdb" from the file's header (ValueError for any other file)."""
    with open(path, "rb") as file:
        header = file.read(16)
    if header == _SQLITE_HEADER:
        return "sqlite"
    if header[8:12] == _DUCKDB_MAGIC:
        return "duckdb"
    raise ValueError(f"{path} is neither a SQLite nor a DuckDB database")


def _action_names() -> dict[int, str]:
    import sqlite3

    return {getattr(sqlite3, f"SQLITE_{name}"): name for name in _ACTIONS if hasattr(sqlite3, f"SQLITE_{name}")}


def open_sqlite(path: str | Path, denied: list[str] | None = None):
    """A read-only SQLite connection (module doc); each refused action is added to `denied`."""
    import sqlite3

    connection = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True)
    connection.execute("PRAGMA query_only = ON")
    connection.execute("PRAGMA temp_store = MEMORY")  # sorts and temp b-trees count against the memory cap
    connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, VALUE_BYTES_LIMIT)
    connection.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    names = _action_names()
    allowed = {code for code, name in names.items() if name in _ALLOWED_ACTIONS}

    def authorize(action: int, first: str | None, second: str | None, database: str | None, trigger: str | None):
        if action in allowed and not (names[action] == "FUNCTION" and (second or "").lower() == "load_extension"):
            return sqlite3.SQLITE_OK
        if denied is not None:
            target = second if names.get(action) == "FUNCTION" else first
            denied.append(" ".join(str(part) for part in (names.get(action, action), target) if part))
        return sqlite3.SQLITE_DENY

    connection.set_authorizer(authorize)
    return connection


def open_duckdb(path: str | Path):
    """A read-only DuckDB connection without file, network or extension access, settings locked."""
    import duckdb

    config = {"enable_external_access": False, "threads": 1, "memory_limit": f"{MEMORY_LIMIT_BYTES // 2 // 2**20}MB"}
    connection = duckdb.connect(str(path), read_only=True, config=config)
    connection.execute("SET lock_configuration = true")
    return connection


def schema_text(path: str | Path) -> str:
    """The CREATE statements of the database's tables and views (SQLite: in the order they were
    made; DuckDB: by catalog id), one per paragraph: what a prompt shows of a database. Opens it
    read-only; ValueError for a file that is neither SQLite nor DuckDB."""
    if database_kind(path) == "duckdb":
        connection = open_duckdb(path)
        query = (
            "SELECT sql FROM (SELECT sql, table_oid AS oid FROM duckdb_tables() WHERE NOT internal"
            " UNION ALL SELECT sql, view_oid FROM duckdb_views() WHERE NOT internal) ORDER BY oid"
        )
    else:
        connection = open_sqlite(path)
        query = (
            "SELECT sql FROM sqlite_master WHERE type IN ('table', 'view') AND sql IS NOT NULL"
            " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid"
        )
    try:
        statements = [row[0].strip().rstrip(";") + ";" for row in connection.execute(query).fetchall()]
    finally:
        connection.close()
    return "\n\n".join(statements)


# -- running a query (inside a worker) --------------------------------------------------------
@dataclass(frozen=True)
class QueryRun:
    """One query's run: status ok | refused | invalid | failed | timeout | too_large | error."""

    status: str
    detail: str = ""
    columns: int = 0
    rows: list[tuple] = field(default_factory=list)


def _plain(value):
    """A result value as a plain, hashable Python value (DuckDB's decimals, dates, lists)."""
    if value is None or isinstance(value, (int, float, str, bytes)):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    return str(value)


def _size(value) -> int:
    return len(value) if isinstance(value, (str, bytes)) else 8


def _fetch(cursor, columns: int) -> QueryRun:
    """The rows, read one at a time so that no limit is passed by more than a row."""
    rows: list[tuple] = []
    size = 0
    while (row := cursor.fetchone()) is not None:
        plain = tuple(_plain(value) for value in row)
        size += sum(_size(value) for value in plain)
        rows.append(plain)
        if len(rows) > ROW_LIMIT:
            return QueryRun("too_large", f"more than {ROW_LIMIT:,} rows (the row limit)")
        if size > RESULT_BYTES_LIMIT:
            return QueryRun("too_large", f"a result over {RESULT_BYTES_LIMIT // 2**20} MiB (the result size limit)")
    return QueryRun("ok", "", columns, rows)


def _gate(query: str) -> QueryRun | None:
    """The run of a query stopped before it reaches the engine (a statement that is not a query:
    refused; no statement at all: invalid), or None. Other first words are the engine's to reject."""
    word = first_keyword(query)
    if word in _OTHER_STATEMENTS:
        return QueryRun("refused", f"only a single SELECT or WITH query runs; this one starts with {word}")
    if word is None:
        return QueryRun("invalid", "no SQL statement")
    return None


def _message(error: BaseException) -> str:
    """An engine's error message on one line (DuckDB's span several, with a caret under the spot)."""
    return " ".join(str(error).split()) or type(error).__name__


def _run_sqlite(path: str, query: str, timeout: float) -> QueryRun:
    import sqlite3

    denied: list[str] = []
    connection = open_sqlite(path, denied)
    deadline = time.monotonic() + timeout
    connection.set_progress_handler(lambda: int(time.monotonic() > deadline), _PROGRESS_STEPS)
    try:
        cursor = connection.execute(query)
        return _fetch(cursor, len(cursor.description or ()))
    except sqlite3.ProgrammingError as error:
        if "one statement" in str(error):
            return QueryRun("refused", "more than one statement")
        return QueryRun("failed", f"SQLite: {_message(error)}")
    except (sqlite3.DatabaseError, MemoryError) as error:
        message = _message(error)
        if denied:
            return QueryRun("refused", f"not authorized: {', '.join(dict.fromkeys(denied))}")
        if message == "interrupted":
            return QueryRun("timeout", f"stopped at the {timeout:g} s time limit")
        if isinstance(error, MemoryError) or "out of memory" in message:
            return QueryRun("too_large", f"out of memory (the {MEMORY_LIMIT_BYTES // 2**20} MiB limit)")
        if "too big" in message:
            return QueryRun("too_large", f"SQLite: {message} (values are limited to {VALUE_BYTES_LIMIT // 2**20} MiB)")
        return QueryRun("invalid", f"SQLite: {message}")
    finally:
        connection.close()


def _run_duckdb(path: str, query: str) -> QueryRun:
    import duckdb

    connection = open_duckdb(path)
    try:
        # The connection's own parser: duckdb.extract_statements would start a default database without limits.
        statements = connection.extract_statements(query)
        if len(statements) != 1:
            return QueryRun("refused", "more than one statement")
        if statements[0].type != duckdb.StatementType.SELECT:
            return QueryRun(
                "refused", f"only a single SELECT or WITH query runs; this one is {statements[0].type.name}"
            )
        cursor = connection.execute(query)
        return _fetch(cursor, len(cursor.description or ()))
    except (duckdb.ParserException, duckdb.BinderException, duckdb.CatalogException) as error:
        return QueryRun("invalid", f"DuckDB: {_message(error)}")
    except duckdb.PermissionException as error:
        return QueryRun("refused", f"DuckDB: {_message(error)}")
    except duckdb.OutOfMemoryException:
        return QueryRun("too_large", f"out of memory (DuckDB's {MEMORY_LIMIT_BYTES // 2 // 2**20} MiB limit)")
    except MemoryError:
        return QueryRun("too_large", f"out of memory (the {MEMORY_LIMIT_BYTES // 2**20} MiB limit)")
    except duckdb.Error as error:
        return QueryRun("failed", f"DuckDB: {_message(error)}")
    finally:
        connection.close()


def _cap_memory(extra: int) -> None:
    """Lower this process's soft address-space limit to `extra` bytes over what it maps now; the
    hard limit stays, so a later query may have its own cap."""
    try:
        import resource

        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        wanted = mapped_bytes() + extra
        resource.setrlimit(resource.RLIMIT_AS, (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard), hard))
    except (ImportError, ValueError, OSError):
        pass  # not on Linux: the time and size limits still hold


def run_query(path: str, kind: str, query: str, timeout: float, cap_memory: bool = False) -> QueryRun:
    """Run one query read-only under the module's limits; never raises. `cap_memory` lowers this
    process's address-space limit for the query (module doc): for workers, never the caller's process."""
    stopped = _gate(query)
    if stopped is not None:
        return stopped
    if cap_memory:
        _cap_memory(MEMORY_LIMIT_BYTES + (DUCKDB_RESERVE_BYTES if kind == "duckdb" else 0))
    try:
        return _run_duckdb(path, query) if kind == "duckdb" else _run_sqlite(path, query, timeout)
    except MemoryError:
        return QueryRun("too_large", f"out of memory (the {MEMORY_LIMIT_BYTES // 2**20} MiB limit)")
    except Exception as error:  # opening the database failed: it is the problem's fault, not the answer's
        return QueryRun("error", f"cannot run on {path}: {type(error).__name__}: {error}")


# -- comparing results ------------------------------------------------------------------------
def _same_value(a, b) -> bool:
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers):
        if isinstance(a, int) and isinstance(b, int):
            return a == b
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=FLOAT_TOLERANCE, abs_tol=FLOAT_TOLERANCE * 1e-3)
    return type(a) is type(b) and a == b


def _same_row(a: tuple, b: tuple) -> bool:
    return all(_same_value(x, y) for x, y in zip(a, b))


def _order_key(row: tuple) -> tuple:
    """A total order on rows of mixed types: NULL, NaN, numbers, text, bytes."""
    key = []
    for value in row:
        if value is None:
            key.append((0, 0))
        elif isinstance(value, float) and math.isnan(value):
            key.append((1, 0))
        elif isinstance(value, (int, float)):
            key.append((2, value))
        elif isinstance(value, str):
            key.append((3, value))
        else:
            key.append((4, value))
    return tuple(key)


def _shown(row: tuple) -> str:
    text = repr(row)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."


def compare_results(gold: QueryRun, answer: QueryRun, ordered: bool) -> tuple[bool, str]:
    """(same, reason) for two successful runs under the module's rule."""
    if answer.columns != gold.columns:
        return False, f"{answer.columns} columns, gold has {gold.columns}"
    if len(answer.rows) != len(gold.rows):
        return False, f"{len(answer.rows)} rows, gold has {len(gold.rows)}"
    count = f"{len(gold.rows)} row{'s' if len(gold.rows) != 1 else ''}"
    sorted_gold = sorted(gold.rows, key=_order_key)
    sorted_answer = sorted(answer.rows, key=_order_key)
    unordered = next((i for i, (a, g) in enumerate(zip(sorted_answer, sorted_gold)) if not _same_row(a, g)), None)
    if ordered:
        at = next((i for i, (a, g) in enumerate(zip(answer.rows, gold.rows)) if not _same_row(a, g)), None)
        if at is None:
            return True, f"same {count} in the same order"
        if unordered is None:
            return False, f"same rows in another order (the gold query orders its result): row {at + 1} differs"
        return False, f"row {at + 1} differs: {_shown(answer.rows[at])}, gold has {_shown(gold.rows[at])}"
    if unordered is None:
        return True, f"same {count}"
    return (
        False,
        f"the rows differ: {_shown(sorted_answer[unordered])} where the gold result has {_shown(sorted_gold[unordered])}",
    )


# -- verdicts ---------------------------------------------------------------------------------
def _answer_verdict(run: QueryRun | None, elapsed_ms: float, timeout: float) -> tuple[str, str] | None:
    """(status, reason) for an answer's run that did not give rows to compare, else None."""
    if run is None:
        if elapsed_ms >= timeout * 1000:
            return "timeout", f"ran past the {timeout:g} s time limit: its worker was killed"
        return "incorrect", "its worker died (a crash, or the memory limit)"
    if run.status == "ok":
        return None
    status = {"refused": "incorrect", "invalid": "unparseable", "timeout": "timeout", "error": "error"}
    prefix = {"refused": "refused: ", "failed": "the query failed: ", "too_large": "over a limit: "}
    return status.get(run.status, "incorrect"), prefix.get(run.status, "") + run.detail


def _gold_problem(run: QueryRun | None) -> str | None:
    if run is None:
        return "the gold query ran past the time limit or its worker died"
    if run.status != "ok":
        return f"the gold query did not run ({run.status}): {run.detail}"
    return None


class SQLChecker:
    """Verdicts for SQL problems: answer and gold run read-only in workers, results compared."""

    domain = "sql"
    version = SQL_VERSION

    def __init__(self, options: CheckerOptions = CheckerOptions()):
        self.database_root = options.database_root
        self._pool = None

    def database_path(self, meta: dict) -> Path | None:
        """The task's database file (meta "database", under `database_root` when relative)."""
        name = (meta or {}).get("database")
        if not name:
            return None
        path = Path(name)
        if not path.is_absolute() and self.database_root is not None:
            path = Path(self.database_root) / path
        return path.resolve()

    def _pool_for(self, workers: int, timeout: float):
        from curate.verify.workers import WorkerPool

        if self._pool is None:
            self._pool = WorkerPool(workers, timeout, run_query, memory_limit=WORKER_MEMORY_BYTES, warm_up=False)
        self._pool.size = max(self._pool.size, workers)
        self._pool.timeout = timeout + KILL_GRACE_S
        return self._pool

    def check_many(self, items: Sequence[tuple], *, workers: int = 1, timeout: float = 10.0) -> list[Verdict]:
        out: list[Verdict | None] = [None] * len(items)
        pending: list[tuple[int, str, str, tuple, tuple, float]] = []  # (item, answer, source, gold, answer key, ms)
        jobs: dict[tuple[str, str], tuple[str, str, str, float]] = {}  # (path, query) -> run_query arguments
        kinds: dict[Path, str | Exception] = {}
        for i, (task, response, finish_reason) in enumerate(items):
            begun = time.perf_counter()
            answer, source, why = extract_query(response, finish_reason)
            if answer is None:
                out[i] = Verdict("no_answer", None, None, why, None, None, ms_since(begun))
                continue
            path = self.database_path(task.meta)
            problem = self._database_problem(path, kinds)
            if problem is None and not (task.gold_answer or "").strip():
                problem = "the problem has no gold query"
            if problem is not None:
                out[i] = Verdict("error", answer, source, problem, None, None, ms_since(begun))
                continue
            gold_key, answer_key = (str(path), task.gold_answer), (str(path), answer)
            for key in (gold_key, answer_key):
                jobs.setdefault(key, (key[0], kinds[path], key[1], timeout, True))
            pending.append((i, answer, source, gold_key, answer_key, ms_since(begun)))
        keys = list(jobs)
        runs = dict(zip(keys, self._pool_for(workers, timeout).run([jobs[key] for key in keys]))) if keys else {}
        for i, answer, source, gold_key, answer_key, prepare_ms in pending:
            (gold, _), (run, elapsed_ms) = runs[gold_key], runs[answer_key]
            problem = _gold_problem(gold)
            if problem is not None:
                status, reason = "error", problem
            else:
                status, reason = _answer_verdict(run, elapsed_ms, timeout) or (None, "")
                if status is None:
                    same, reason = compare_results(gold, run, orders_result(gold_key[1]))
                    status = "correct" if same else "incorrect"
            out[i] = Verdict(status, answer, source, reason, None, None, prepare_ms + elapsed_ms)
        return out  # type: ignore[return-value]

    @staticmethod
    def _database_problem(path: Path | None, kinds: dict) -> str | None:
        if path is None:
            return "the problem names no database (meta field 'database')"
        if path not in kinds:
            try:
                kinds[path] = database_kind(path)
            except (OSError, ValueError) as error:
                kinds[path] = error
        if isinstance(kinds[path], Exception):
            error = kinds[path]
            return f"database not found: {path}" if isinstance(error, FileNotFoundError) else f"database: {error}"
        return None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
