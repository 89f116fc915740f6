"""The store: one DuckDB file that every stage reads and writes.

Contract
- `open_store(path)` opens or creates the file (path, else `$CURATE_DB`, else ./traces.duckdb)
  and applies the numbered migrations in `db/migrations/NNN_name.sql` that `schema_version`
  does not list yet, each in its own transaction.
- Bulk writes go through `Store.insert_frame` (a Polars or Arrow frame registered with DuckDB,
  one INSERT ... SELECT), never row by row. Every sample row carries `content_hash`
  (CONTENT_HASH_SQL: what a verdict of it is computed from, its problem's gold and question
  included): `insert_frame` sets it for the samples it writes and for the samples of problems
  it adds or changes; a writer that changes samples or problems with its own SQL sets it too
  (import-samples does) or calls `Store.rehash_samples`. Commands wrap their writes in `Store.transaction()`
  so a failed command leaves the store as it was.
- Every command records itself in `runs` with `Store.run(kind, config)` (or `recorded_run` when
  it must not hold the store while it works): config and library versions at the start; at the
  end ok, the status the stage set when it left work undone (e.g. "incomplete"), failed, or
  interrupted (Ctrl-C, SIGTERM), with its counts. `stage_store(path)` opens the store for one
  command and removes a store it created when the command is refused on bad input (or stops on a
  locked input store); commands
  that only work on stored data (and every read-only open) refuse a missing store instead
  (`refuse_missing_store`: BadInput naming the path and what creates a store).
- A stage that reads every trace runs under `Store.memory_limit()` (STREAMING_MEMORY_LIMIT):
  DuckDB's own default lets its cache of what it read grow to 80% of RAM.
- DuckDB allows one writing process at a time. Opening a store another process holds raises
  `StoreLocked` naming that process and whether it reads or writes, after waiting `wait_s`
  (default $CURATE_WAIT, with a countdown); stages that run long keep write transactions short.
  A long writer may `Store.release()` the file between its batches (curate generate does):
  readers open it meanwhile, other writers still wait (db/writer_lock.py).
- Refused before anything is written (BadInput, exit 2): an existing file without DuckDB's
  header (a JSONL/CSV/Parquet given as --db), and a store with migrations this code lacks
  (`SchemaTooNew`, naming both versions).
- `runs` rows record pid and host; opening for writing marks 'running' rows of dead processes
  of this host 'interrupted', and a read-only open shows them so (a temporary `runs` view).
  Run configs and errors pass through `db.redact` first.

Caveat: DuckDB checks PRIMARY KEY constraints per row; `on_conflict="ignore"` uses
INSERT OR IGNORE so re-running a stage adds nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import re
import socket
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterator, Literal

import duckdb
import polars as pl

from db.errors import BadInput, SchemaTooNew, StoreLocked, is_interrupt, sigterm_interrupts
from db.redact import redact_config, redact_text
from db.writer_lock import WriterLock, held_by_another

DEFAULT_DB = "traces.duckdb"
# DuckDB keeps the blocks it reads cached up to 80% of RAM by default, so a stage that streams
# every trace grew with the store (3.9 GB for verify at 1,000,000 samples); such stages cap it.
STREAMING_MEMORY_LIMIT = "1GB"
# A released writer waits this long for readers to let go before its next write fails (StoreLocked).
RELEASED_REOPEN_WAIT_S = 3600.0
MEMORY_SIZE = re.compile(r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.IGNORECASE)


def _problem_parts(p: str | None) -> str:
    """The problem's share of a content hash (gold, question, a non-math problem's meta), as
    concat_ws arguments over problem alias `p` (None: a sample without a problem)."""
    gold, question = (f"{p}.gold_answer", f"{p}.question") if p else ("NULL", "NULL")
    # A non-math problem's tests, database or options live in meta; concat_ws skips the NULL a math
    # problem gives here, so math hashes are those stored before domains existed (migration 019).
    meta = f"CASE WHEN {p}.domain IS DISTINCT FROM 'math' THEN CAST({p}.meta AS VARCHAR) END" if p else "NULL"
    return f"coalesce({gold}, chr(0)), coalesce({question}, chr(0)), {meta}"


def content_hash_sql(s: str = "s", p: str | None = "p") -> str:
    """CONTENT_HASH_SQL over sample alias `s` and problem alias `p` (None: a sample without a problem)."""
    return (
        f"md5(concat_ws(chr(31), coalesce({s}.reasoning, chr(0)), coalesce({s}.content, chr(0)), "
        f"coalesce({s}.finish_reason, chr(0)), {_problem_parts(p)}))"
    )


def problem_hash_sql(p: str = "p") -> str:
    """The hash of what a check of an answer reads of problem alias `p`: its gold answer, question
    and (non-math) meta, by CONTENT_HASH_SQL's rule. `evaluate run` stores it on each eval sample
    (eval_samples.content_hash, migration 023): the response itself is stored with the sample."""
    return f"md5(concat_ws(chr(31), {_problem_parts(p)}))"


# What a verdict is computed from (s: samples, p: problems). Stored on each sample row
# (samples.content_hash) and on each verdict; verdict_current (db/migrations/017) keeps a
# verdict only while the two agree, and migration 017's backfill repeats this expression.
CONTENT_HASH_SQL = content_hash_sql()
_SAMPLE_HASHED = ("reasoning", "content", "finish_reason")  # the sample columns CONTENT_HASH_SQL reads
_PROBLEM_HASHED = ("gold_answer", "question", "meta", "domain")
_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
_LOCK_PID = re.compile(r"PID (\d+)")
# A DuckDB file starts with an 8-byte checksum followed by the magic bytes "DUCK".
_DUCKDB_MAGIC = b"DUCK"
_HEADER_END = 12


def resolve_db_path(path: str | os.PathLike | None = None) -> Path:
    """The store path: the argument, else $CURATE_DB, else ./traces.duckdb."""
    return Path(path or os.environ.get("CURATE_DB") or DEFAULT_DB)


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every bundled migration, in order."""
    found = []
    for entry in resources.files("db.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def _lock_holder_mode(path: Path, pid: str | None, text: str) -> str | None:
    """'reader' or 'writer': the holder's lock type from /proc/locks (Linux), else DuckDB's hint."""
    try:
        inode = path.stat().st_ino
        for line in Path("/proc/locks").read_text().splitlines():
            fields = line.split()
            # "1: POSIX  ADVISORY  READ 11762 fe:00:2148017 0 EOF"
            if len(fields) >= 6 and fields[5].endswith(f":{inode}") and (pid is None or fields[4] == pid):
                return {"READ": "reader", "WRITE": "writer"}.get(fields[3])
    except (OSError, ValueError):
        pass
    # DuckDB offers a read-only open only when the holder itself reads.
    return "reader" if "read-only mode" in text else None


def _lock_message(path: Path, error: Exception) -> str:
    text = str(error)
    pid = _LOCK_PID.search(text)
    holder = f"process {pid.group(1)}" if pid else "another process"
    if pid:
        try:
            cmdline = Path(f"/proc/{pid.group(1)}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
            holder += f" ({redact_text(cmdline)[:300]})"
        except OSError:
            pass
    mode = _lock_holder_mode(path, pid.group(1) if pid else None, text)
    if mode == "reader":
        return (
            f"{path}: the store is open read-only by {holder}. DuckDB lets nobody write while a reader has it "
            f"open: wait for that command to finish (or pass --wait SECONDS), then run this one again."
        )
    what = "open for writing by" if mode == "writer" else "held by"
    return (
        f"{path}: the store is {what} {holder}. DuckDB allows one writer at a time and no reader while it "
        f"writes: wait for that command to finish (or pass --wait SECONDS), then run this one again."
    )


@dataclass
class RunRecord:
    """A run being recorded by `Store.run`: the stage fills in `counts`, and sets `status` when it
    leaves work undone (failed samples, a spent budget) so the run is not marked ok.

    `counts_of`, when set, is called at the end instead of reading `counts`, so a stage that is
    interrupted or fails midway still records how far it got.
    """

    run_id: str
    counts: dict = field(default_factory=dict)
    status: str = "ok"
    error: str | None = None
    counts_of: Callable[[], dict] | None = None

    def final_counts(self) -> dict:
        return self.counts_of() if self.counts_of is not None else self.counts


class Store:
    """An open store. Use `open_store()`; close it (or use it as a context manager) when done."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path, read_only: bool):
        self._con: duckdb.DuckDBPyConnection | None = con
        self.path = path
        self.read_only = read_only
        self._depth = 0
        self._writer_lock: WriterLock | None = None

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The connection; after `release()` the next use reopens the file, waiting for readers."""
        if self._con is None:
            self._con = _connect(self.path, self.read_only, RELEASED_REOPEN_WAIT_S, countdown=False)
        return self._con

    def release(self) -> None:
        """Close the file until the next query, so readers can open it while this writer works
        between batches; other writers stay out (db/writer_lock.py). Session settings (SET ...)
        do not survive a release."""
        if self.read_only or self._depth or self._con is None:
            return
        if self._writer_lock is None:
            self._writer_lock = WriterLock.take(self.path)
            if self._writer_lock is None:
                return  # another writer holds it (cannot happen while we hold DuckDB's lock): stay open
        self._con.close()
        self._con = None

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
        if self._writer_lock is not None:
            self._writer_lock.release()
            self._writer_lock = None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- queries ---------------------------------------------------------------------------
    def execute(self, sql: str, params: Any = None) -> duckdb.DuckDBPyConnection:
        return self.con.execute(sql, params) if params is not None else self.con.execute(sql)

    def query(self, sql: str, params: Any = None) -> pl.DataFrame:
        """Run a query and return a Polars frame."""
        return pl.from_arrow(self.con.sql(sql, params=params).to_arrow_table())

    def scalar(self, sql: str, params: Any = None) -> Any:
        # fetchall, not fetchone: DuckDB 2 refuses a later con.sql() while a result is half read.
        rows = self.execute(sql, params).fetchall()
        return rows[0][0] if rows else None

    def schema_version(self) -> int:
        return self.scalar("SELECT coalesce(max(version), 0) FROM schema_version")

    @contextmanager
    def memory_limit(self, size: str = STREAMING_MEMORY_LIMIT) -> Iterator["Store"]:
        """DuckDB's memory_limit is `size` inside (a size such as 2GB or 512MB, else bad input)
        and DuckDB's default again after. What does not fit spills to the store's .tmp folder."""
        if not MEMORY_SIZE.match(size):
            raise BadInput(f"expected a size such as 2GB or 512MB, got {size!r}", field="--memory-limit")
        self.execute(f"SET memory_limit = '{size}'")
        try:
            yield self
        finally:
            self.execute("RESET memory_limit")

    # -- writes ----------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator["Store"]:
        """One transaction; nested uses join the outer one. Rolls back on any exception."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self.con.execute("BEGIN TRANSACTION")
        self._depth = 1
        try:
            yield self
        except BaseException:
            self._depth = 0
            self.con.execute("ROLLBACK")
            raise
        self._depth = 0
        self.con.execute("COMMIT")

    def insert_frame(
        self,
        table: str,
        frame: pl.DataFrame | Any,
        on_conflict: Literal["error", "ignore", "replace"] = "error",
    ) -> int:
        """Insert a Polars (or Arrow) frame's columns into `table` by name; returns rows written.

        Columns the frame lacks take the table's defaults. "ignore" skips rows whose key exists;
        "replace" overwrites them.
        """
        if isinstance(frame, pl.DataFrame):
            if frame.height == 0:
                return 0
            arrow = frame.to_arrow()
        else:
            arrow = frame
            if arrow.num_rows == 0:
                return 0
        names = [c for c in arrow.column_names if not (table == "samples" and c == "content_hash")]
        columns = ", ".join(f'"{c}"' for c in names)
        verb = {"error": "INSERT", "ignore": "INSERT OR IGNORE", "replace": "INSERT OR REPLACE"}[on_conflict]
        view = f"_frame_{uuid.uuid4().hex}"
        self.con.register(view, arrow)
        try:
            if table == "samples":
                missing = [c for c in _SAMPLE_HASHED if c not in names]
                if missing and on_conflict == "replace":
                    # INSERT OR REPLACE keeps a stored row's unlisted columns: the hash would miss them.
                    raise ValueError(f"replacing samples needs the columns {missing} (their content_hash)")
                source = ", ".join(["*", *(f"NULL::VARCHAR AS {c}" for c in missing)])
                sql = (
                    f"{verb} INTO samples ({columns}, content_hash) SELECT {', '.join(f's.{c}' for c in names)}, "
                    f'{CONTENT_HASH_SQL} FROM (SELECT {source} FROM "{view}") s '
                    "LEFT JOIN problems p ON p.problem_id = s.problem_id"
                )
            else:
                sql = f'{verb} INTO "{table}" ({columns}) SELECT {columns} FROM "{view}"'
            if table != "problems":
                # DuckDB answers an INSERT with one row holding the count of rows written.
                written = self.con.execute(sql).fetchone()
                return int(written[0]) if written else 0
            with self.transaction():  # the problems and their samples' hashes change together
                changed = self._changed_problems(view, names, on_conflict)
                written = self.con.execute(sql).fetchone()
                if changed:
                    self.rehash_samples("s.problem_id IN (SELECT unnest(?))", [changed])
            return int(written[0]) if written else 0
        finally:
            self.con.unregister(view)

    def _changed_problems(self, view: str, names: list[str], on_conflict: str) -> list[str]:
        """Ids of the frame's problems that are new, or (unless ignored) whose gold or question differ."""
        differs = [f"p.{c} IS DISTINCT FROM f.{c}" for c in _PROBLEM_HASHED if c in names]
        condition = "p.problem_id IS NULL"
        if differs and on_conflict != "ignore":
            condition += " OR " + " OR ".join(differs)
        rows = self.con.execute(
            f'SELECT DISTINCT f.problem_id FROM "{view}" f LEFT JOIN problems p ON p.problem_id = f.problem_id '
            f"WHERE {condition}"
        ).fetchall()
        return [row[0] for row in rows]

    def rehash_samples(self, where: str = "TRUE", params: list | None = None) -> int:
        """Recompute `content_hash` of the samples matching `where` (SQL over `s`, the samples);
        returns how many. For writers that change samples or problems with their own SQL."""
        ids = [
            row[0]
            for row in self.con.execute(f"SELECT s.sample_id FROM samples s WHERE {where}", params or []).fetchall()
        ]
        if ids:
            # Joined with problems only (the small side): a self-join of samples held every text.
            self.con.execute(
                f"UPDATE samples SET content_hash = {content_hash_sql('samples', 'p')} FROM problems p "
                "WHERE p.problem_id = samples.problem_id AND samples.sample_id IN (SELECT unnest(?))",
                [ids],
            )
            self.con.execute(
                f"UPDATE samples SET content_hash = {content_hash_sql('samples', None)} "
                "WHERE samples.sample_id IN (SELECT unnest(?)) "
                "AND NOT EXISTS (SELECT 1 FROM problems p WHERE p.problem_id = samples.problem_id)",
                [ids],
            )
        return len(ids)

    def insert_rows(
        self, table: str, rows: list[dict], on_conflict: Literal["error", "ignore", "replace"] = "error"
    ) -> int:
        """Convenience for small writes (a run row, a few events): goes through a frame too."""
        if not rows:
            return 0
        return self.insert_frame(table, pl.DataFrame(rows, infer_schema_length=None), on_conflict)

    # -- runs ------------------------------------------------------------------------------
    @contextmanager
    def run(self, kind: str, config: Any = None) -> Iterator[RunRecord]:
        """Record one stage invocation in `runs` and mark how it ended.

        `config` (a dataclass or a mapping) is stored as JSON with the library versions. The run
        ends "interrupted" on Ctrl-C or SIGTERM (turned into KeyboardInterrupt while the run is
        open; a query DuckDB stopped for them is re-raised as KeyboardInterrupt), "failed" on any
        other exception (re-raised), else with the status the stage set on the yielded
        `RunRecord` ("ok" unless it left work undone).
        """
        record = RunRecord(self._start_run(kind, _config_dict(config)))

        def finish(status: str, error: str | None, raised: bool) -> None:
            # A run that raised inside an enclosing transaction rolls back with the stage's writes.
            if not (raised and self._depth):
                self._finish_run(record.run_id, status, record.final_counts(), error)

        with _ending(record, finish):
            yield record

    def record_interrupted(self, kind: str, config: Any = None) -> str:
        """A run row for a command stopped before its own run was committed (it rolled back with
        the command's writes), so `runs` still shows that it was started and stopped."""
        return self._start_run(kind, _config_dict(config), ended="interrupted before anything was committed")

    def _start_run(self, kind: str, config: dict | None = None, ended: str | None = None) -> str:
        """Record a stage invocation (`ended`: already over, interrupted with that error); returns its run_id."""
        run_id = f"{kind}-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
        self.execute(
            "INSERT INTO runs (run_id, kind, config, versions, pid, host, status, finished_at, error) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, CASE WHEN ? THEN current_timestamp END, ?)",
            [
                run_id,
                kind,
                json.dumps(redact_config(config or {}), default=str),
                json.dumps(package_versions()),
                os.getpid(),
                socket.gethostname(),
                "running" if ended is None else "interrupted",
                ended is not None,
                ended,
            ],
        )
        return run_id

    def _finish_run(
        self, run_id: str, status: str = "ok", counts: dict | None = None, error: str | None = None
    ) -> None:
        self.execute(
            "UPDATE runs SET finished_at = current_timestamp, status = ?, counts = ?, error = ? WHERE run_id = ?",
            [status, json.dumps(counts or {}, default=str), redact_text(error), run_id],
        )


@contextmanager
def recorded_run(
    path: str | os.PathLike | None, kind: str, config: Any = None, *, wait_s: float | None = None
) -> Iterator[RunRecord]:
    """`Store.run` for work that must not hold the store while it runs (training for hours, the
    pipeline around stages that open the store themselves): the store at `path` is opened only
    to record the start and the end."""
    with open_store(path, wait_s=wait_s) as store:
        record = RunRecord(store._start_run(kind, _config_dict(config)))

    def finish(status: str, error: str | None, raised: bool) -> None:
        with open_store(path, wait_s=wait_s) as store:
            store._finish_run(record.run_id, status, record.final_counts(), error)

    with _ending(record, finish):
        yield record


@contextmanager
def _ending(record: RunRecord, finish: Callable[[str, str | None, bool], None]) -> Iterator[None]:
    """How a recorded run ended: interrupted (`is_interrupt`: Ctrl-C, SIGTERM, a query DuckDB
    stopped for them; re-raised as KeyboardInterrupt, so every caller sees one kind), failed (any
    other exception, re-raised), else the status the stage set."""
    try:
        with sigterm_interrupts():
            yield
    except BaseException as error:
        if not is_interrupt(error):
            finish("failed", f"{type(error).__name__}: {error}", True)
            raise
        finish("interrupted", "interrupted by the user", True)
        if isinstance(error, (KeyboardInterrupt, asyncio.CancelledError)):
            raise
        raise KeyboardInterrupt(str(error)) from error
    finish(record.status, record.error, False)


def _config_dict(config: Any) -> dict:
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return dataclasses.asdict(config)
    return dict(config or {})


def process_alive(pid: int) -> bool:
    """Whether process `pid` of this host still runs (a zombie does not)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    try:  # a zombie (killed, not yet reaped by its parent) is dead too
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


DEAD_RUN_ERROR = "process ended without finishing the run (killed?)"


def dead_runs(store: Store) -> list[str]:
    """run_ids of 'running' runs of this host whose process is gone (a kill -9 cannot finish its row).

    Rows of other hosts (a store on a shared disk) are left alone: their liveness cannot be checked here.
    """
    if not store.scalar(
        "SELECT count(*) FROM duckdb_columns() WHERE table_name = 'runs' AND column_name = 'pid' "
        "AND database_name = current_database()"
    ):
        return []  # a store migrated only part way (tests step through the migrations)
    rows = store.execute(
        "SELECT run_id, pid FROM runs WHERE status = 'running' AND pid IS NOT NULL AND host = ?",
        [socket.gethostname()],
    ).fetchall()
    return [run_id for run_id, pid in rows if not process_alive(pid)]


def mark_dead_runs(store: Store) -> int:
    """Mark the dead runs (`dead_runs`) 'interrupted'; returns how many. The next writer does this."""
    dead = dead_runs(store)
    for run_id in dead:
        store.execute(
            "UPDATE runs SET status = 'interrupted', error = ? WHERE run_id = ? AND status = 'running'",
            [DEAD_RUN_ERROR, run_id],
        )
    return len(dead)


def show_dead_runs_interrupted(store: Store) -> int:
    """For a reader, which cannot write: a temporary `runs` view over the table that shows the dead
    runs as the next writer will mark them ('interrupted'), so `curate stats`, `curate sql` and the
    review app never show a killed command as still running. Returns how many it shows so."""
    dead = dead_runs(store)
    if dead:
        table = f'"{store.scalar("SELECT current_database()")}".main.runs'
        # A view cannot take parameters: the run ids (our own format) and the error go in as literals.
        ids = "[" + ", ".join("'" + run_id.replace("'", "''") + "'" for run_id in dead) + "]"
        store.execute(
            f"CREATE OR REPLACE TEMP VIEW runs AS SELECT * REPLACE ("
            f"CASE WHEN list_contains({ids}, run_id) THEN 'interrupted' ELSE status END AS status, "
            f"CASE WHEN list_contains({ids}, run_id) THEN '{DEAD_RUN_ERROR}' ELSE error END AS error) FROM {table}"
        )
    return len(dead)


def package_versions() -> dict[str, str]:
    """Versions of the libraries whose behaviour changes results, for the runs table."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("trace-distill", "duckdb", "polars", "sympy", "openai", "transformers", "torch", "peft"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def _connect(path: Path, read_only: bool, wait_s: float, countdown: bool) -> duckdb.DuckDBPyConnection:
    def connect() -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(str(path), read_only=read_only)
        holder = None if read_only else held_by_another(path)
        if holder is not None:  # a writer between its batches (Store.release): wait as for DuckDB's lock
            con.close()
            raise duckdb.IOException(
                f"Could not set lock on file: the store is being written by PID {holder} between its batches"
            )
        return con

    return retry_locked(connect, path, wait_s, countdown)


def retry_locked(action: Callable[[], Any], path: Path, wait_s: float | None = None, countdown: bool | None = None):
    """`action()`, retried while DuckDB reports `path` locked, for `wait_s` seconds (None: $CURATE_WAIT,
    with a countdown on stderr); then StoreLocked naming the holder."""
    if countdown is None:
        countdown = wait_s is None
    if wait_s is None:
        wait_s = wait_from_env()
    deadline = time.monotonic() + wait_s
    shown = None
    while True:
        try:
            result = action()
            if shown is not None:
                print(file=sys.stderr)  # end the countdown line
            return result
        except duckdb.IOException as error:
            if "lock" not in str(error).lower():
                raise
            left = deadline - time.monotonic()
            if left <= 0:
                if shown is not None:
                    print(file=sys.stderr)
                raise StoreLocked(_lock_message(path, error)) from error
            if countdown and shown != int(left):
                if shown is None:
                    print(_lock_message(path, error).split(". DuckDB")[0] + ".", file=sys.stderr)
                shown = int(left)
                print(f"\rwaiting for the store: {shown + 1} s left ", end="", file=sys.stderr, flush=True)
            time.sleep(0.05 if wait_s < 5 else 0.25)


def _refuse_unwritable(db_path: Path) -> None:
    """BadInput (exit 2) before DuckDB's raw "Permission denied": a command that writes needs the
    store file and its folder (DuckDB writes a .wal file beside it) writable."""
    import tempfile

    try:
        if db_path.exists():
            with open(db_path, "r+b"):
                pass
        with tempfile.TemporaryFile(dir=db_path.parent):
            pass
    except OSError as error:
        what = "the store file" if db_path.exists() and not os.access(db_path, os.W_OK) else "its folder"
        raise BadInput(
            f"this command writes to the store, but {what} is not writable ({error.strerror}); "
            f"read-only commands (`curate sql`, `curate stats`) still work",
            file=str(db_path),
            field="--db",
        ) from None


def _refuse_foreign_file(db_path: Path) -> None:
    """An existing file that is not a DuckDB database is somebody's data: never open it as a store.

    (DuckDB 2 opens e.g. a .jsonl or .csv path as an in-memory database, so writes vanish.)
    """
    if not db_path.exists():
        return
    if db_path.is_dir():
        raise BadInput(
            "is a folder, not a store file; pass a file path such as traces.duckdb", file=str(db_path), field="--db"
        )
    with open(db_path, "rb") as handle:
        head = handle.read(_HEADER_END)
    if head[_HEADER_END - len(_DUCKDB_MAGIC) :] != _DUCKDB_MAGIC:
        what = "an empty file" if not head else "a file"
        raise BadInput(
            f"{what} that is not a DuckDB store; refusing to use it as one (pass --db "
            f"with a new or existing .duckdb path, or set CURATE_DB to one)",
            file=str(db_path),
            field="--db",
        )


def open_store(path: str | os.PathLike | None = None, *, read_only: bool = False, wait_s: float | None = None) -> Store:
    """Open (creating and migrating when needed) the store at `path`.

    `wait_s` retries a locked file that long before raising `StoreLocked`; short-transaction
    users (the review app) pass a few seconds. Left None, it is $CURATE_WAIT (set by the CLIs'
    `--wait SECONDS`) and the wait shows a countdown on stderr.
    Refuses (BadInput) an existing file that is not a DuckDB store, and a store whose schema is
    newer than this code (SchemaTooNew) before writing anything.
    """
    db_path = resolve_db_path(path)
    if read_only:
        refuse_missing_store(path)
    _refuse_foreign_file(db_path)
    if not read_only and db_path.parent and not db_path.parent.exists():
        db_path.parent.mkdir(parents=True, exist_ok=True)
    if not read_only:
        _refuse_unwritable(db_path)
    countdown = wait_s is None
    if wait_s is None:
        wait_s = wait_from_env()
    con = _connect(db_path, read_only, wait_s, countdown)
    store = Store(con, db_path, read_only)
    try:
        if not read_only:
            migrate(store)
            mark_dead_runs(store)
        else:
            show_dead_runs_interrupted(store)
    except BaseException:
        store.close()
        raise
    return store


def refuse_missing_store(path: str | os.PathLike | None = None) -> None:
    """BadInput (exit 2) naming the path when no store exists there, with what creates one.

    Commands that read a store never create one: a mistyped --db (or a README command run
    before `curate demo`) would otherwise run on a new, empty store and report nothing done.
    """
    db_path = resolve_db_path(path)
    if db_path.exists():
        return
    field = "CURATE_DB" if path is None and os.environ.get("CURATE_DB") else "--db"
    nearby = sorted(p.name for p in db_path.parent.glob("*.duckdb"))[:5] if db_path.parent.is_dir() else []
    found = f"; stores in {db_path.parent}/: {', '.join(nearby)}" if nearby else ""
    raise BadInput(
        f"no such store: the file does not exist{found}. `curate ingest FILE --db {db_path}` creates it from "
        f"a problems file (`curate import-samples FILE --model NAME --db {db_path}` from traces); "
        f"`curate demo` writes its store to curate-demo/{DEFAULT_DB}",
        file=str(db_path),
        field=field,
    )


@contextmanager
def stage_store(path: str | os.PathLike | None = None, *, create: bool = True) -> Iterator[Store]:
    """The store opened for one command. A store this call created is deleted again when the
    command stops on bad input, so a refused command leaves no empty store behind. With
    `create=False` (commands that only work on stored data) a missing store is refused."""
    if not create:
        refuse_missing_store(path)
    db_path = resolve_db_path(path)
    created = not db_path.exists()
    store = open_store(db_path)
    try:
        yield store
    except (BadInput, StoreLocked):  # refused, or an input held by another process: nothing was done
        store.close()
        if created:
            db_path.unlink(missing_ok=True)
            db_path.with_name(db_path.name + ".wal").unlink(missing_ok=True)
        raise
    finally:
        store.close()


def wait_from_env() -> float:
    """Seconds to wait for a locked store: $CURATE_WAIT (what `--wait SECONDS` sets), else 0."""
    raw = os.environ.get("CURATE_WAIT") or "0"
    try:
        return max(0.0, float(raw))
    except ValueError:
        raise BadInput(f"CURATE_WAIT must be a number of seconds, not {raw!r}", field="CURATE_WAIT") from None


def migrate(store: Store) -> list[int]:
    """Apply pending migrations in order, each in one transaction; returns the versions applied."""
    store.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
        " applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)"
    )
    done = {row[0] for row in store.execute("SELECT version FROM schema_version").fetchall()}
    bundled = migrations()
    unknown = sorted(done - {version for version, _, _ in bundled})
    if unknown:
        raise SchemaTooNew(
            f"{store.path}: the store's schema is version {max(done)} (migrations {unknown} are unknown here) but "
            f"this code knows versions up to {bundled[-1][0] if bundled else 0}; a newer trace-distill wrote it. "
            f"Upgrade this installation (pip install -U trace-distill, or pull the newer source) before using "
            f"this store; nothing was written."
        )
    applied = []
    for version, name, sql in bundled:
        if version in done:
            continue
        with store.transaction():
            store.con.execute(sql)
            store.execute("INSERT INTO schema_version (version, name) VALUES (?, ?)", [version, name])
        applied.append(version)
    return applied
