"""The store: one DuckDB file that every stage reads and writes.

Contract
- `open_store(path)` opens or creates the file (path, else `$CURATE_DB`, else ./traces.duckdb)
  and applies the numbered migrations in `db/migrations/NNN_name.sql` that `schema_version`
  does not list yet, each in its own transaction.
- Bulk writes go through `Store.insert_frame` (a Polars or Arrow frame registered with DuckDB,
  one INSERT ... SELECT), never row by row. Commands wrap their writes in `Store.transaction()`
  so a failed command leaves the store as it was.
- DuckDB allows one writing process at a time. Opening a store another process holds raises
  `StoreLocked` naming that process; stages that run long keep write transactions short.

Caveat: DuckDB checks PRIMARY KEY constraints per row; `on_conflict="ignore"` uses
INSERT OR IGNORE so re-running a stage adds nothing.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any, Iterator, Literal

import duckdb
import polars as pl

from db.errors import BadInput, StoreLocked

DEFAULT_DB = "traces.duckdb"
_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
_LOCK_PID = re.compile(r"PID (\d+)")


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


def _lock_message(path: Path, error: Exception) -> str:
    text = str(error)
    pid = _LOCK_PID.search(text)
    holder = f"process {pid.group(1)}" if pid else "another process"
    if pid:
        try:
            cmdline = Path(f"/proc/{pid.group(1)}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
            holder += f" ({cmdline[:120]})"
        except OSError:
            pass
    return (
        f"{path}: the store is open for writing by {holder}. DuckDB allows one writer at a time: "
        f"wait for that command to finish (or stop it), then run this one again. "
        f"Read-only queries work meanwhile only if the writer is closed."
    )


class Store:
    """An open store. Use `open_store()`; close it (or use it as a context manager) when done."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path, read_only: bool):
        self.con = con
        self.path = path
        self.read_only = read_only
        self._depth = 0

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        self.con.close()

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
        columns = ", ".join(f'"{c}"' for c in arrow.column_names)
        verb = {"error": "INSERT", "ignore": "INSERT OR IGNORE", "replace": "INSERT OR REPLACE"}[on_conflict]
        view = f"_frame_{uuid.uuid4().hex}"
        self.con.register(view, arrow)
        try:
            # DuckDB answers an INSERT with one row holding the count of rows written.
            written = self.con.execute(f'{verb} INTO "{table}" ({columns}) SELECT {columns} FROM "{view}"').fetchone()
            return int(written[0]) if written else 0
        finally:
            self.con.unregister(view)

    def insert_rows(self, table: str, rows: list[dict], on_conflict: Literal["error", "ignore", "replace"] = "error") -> int:
        """Convenience for small writes (a run row, a few events): goes through a frame too."""
        if not rows:
            return 0
        return self.insert_frame(table, pl.DataFrame(rows, infer_schema_length=None), on_conflict)

    # -- runs ------------------------------------------------------------------------------
    def start_run(self, kind: str, config: dict | None = None) -> str:
        """Record a stage invocation; returns its run_id."""
        run_id = f"{kind}-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
        self.execute(
            "INSERT INTO runs (run_id, kind, config, versions) VALUES (?, ?, ?, ?)",
            [run_id, kind, json.dumps(config or {}, default=str), json.dumps(package_versions())],
        )
        return run_id

    def finish_run(self, run_id: str, status: str = "ok", counts: dict | None = None, error: str | None = None) -> None:
        self.execute(
            "UPDATE runs SET finished_at = current_timestamp, status = ?, counts = ?, error = ? WHERE run_id = ?",
            [status, json.dumps(counts or {}, default=str), error, run_id],
        )


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


def _connect(path: Path, read_only: bool, retries: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + retries
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as error:
            if "lock" not in str(error).lower():
                raise
            if time.monotonic() >= deadline:
                raise StoreLocked(_lock_message(path, error)) from error
            time.sleep(0.05)


def open_store(path: str | os.PathLike | None = None, *, read_only: bool = False, wait_s: float = 0.0) -> Store:
    """Open (creating and migrating when needed) the store at `path`.

    `wait_s` retries a locked file that long before raising `StoreLocked`; short-transaction
    users (the review app) pass a few seconds.
    """
    db_path = resolve_db_path(path)
    if read_only and not db_path.exists():
        raise BadInput("no such store; create one with `curate ingest FILE`", file=str(db_path), field="--db")
    if not read_only and db_path.parent and not db_path.parent.exists():
        db_path.parent.mkdir(parents=True, exist_ok=True)
    con = _connect(db_path, read_only, wait_s)
    store = Store(con, db_path, read_only)
    if not read_only:
        migrate(store)
    return store


def migrate(store: Store) -> list[int]:
    """Apply pending migrations in order, each in one transaction; returns the versions applied."""
    store.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
        " applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)"
    )
    done = {row[0] for row in store.execute("SELECT version FROM schema_version").fetchall()}
    applied = []
    for version, name, sql in migrations():
        if version in done:
            continue
        with store.transaction():
            store.con.execute(sql)
            store.execute("INSERT INTO schema_version (version, name) VALUES (?, ?)", [version, name])
        applied.append(version)
    return applied
