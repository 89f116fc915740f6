"""Errors every stage raises and every CLI maps to an exit code.

`BadInput` means the user gave something we cannot use (exit 2, message names file, line and
field); `StoreLocked` means another process holds the DuckDB write lock (exit 1);
`is_interrupt` is the one rule for what counts as Ctrl-C / SIGTERM (exit 130, run 'interrupted').
"""

from __future__ import annotations

import asyncio

import duckdb


class BadInput(Exception):
    """Bad user input; the message names the file, line and field when they are known."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None, field: str | None = None):
        self.file, self.line, self.field = file, line, field
        where = []
        if file is not None:
            where.append(str(file) + (f":{line}" if line is not None else ""))
        elif line is not None:
            where.append(f"line {line}")
        if field is not None:
            where.append(f"field '{field}'")
        self.detail = message
        super().__init__((", ".join(where) + ": " if where else "") + message)


class StoreLocked(Exception):
    """Another process holds the store's write lock."""


def is_interrupt(error: BaseException) -> bool:
    """Whether `error` is the user stopping the command (Ctrl-C, or SIGTERM where it is turned
    into KeyboardInterrupt), however it surfaced.

    Why not only KeyboardInterrupt: a signal that arrives while DuckDB executes a query stops the
    query, and DuckDB raises its own error instead: RuntimeError("Query interrupted") for SIGINT
    (DuckDB 2.0), InterruptException for `con.interrupt()`. asyncio turns it into CancelledError.
    """
    if isinstance(error, (KeyboardInterrupt, asyncio.CancelledError, duckdb.InterruptException)):
        return True
    return type(error) is RuntimeError and str(error).startswith("Query interrupted")


class SchemaTooNew(BadInput):
    """The store was written by a newer version of the code (exit 2: upgrade, then rerun)."""
