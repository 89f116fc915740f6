"""Errors every stage raises and every CLI maps to an exit code.

`BadInput` means the user gave something we cannot use (exit 2, message names file, line and
field); `StoreLocked` means another process holds the DuckDB write lock (exit 1);
`is_interrupt` is the one rule for what counts as Ctrl-C / SIGTERM (run 'interrupted'; exit 130
for Ctrl-C, 143 for SIGTERM: `note_sigterm` records which, `terminated` reads it).
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from contextlib import contextmanager
from typing import Any, Iterator

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


_sigterm_received = False


def note_sigterm() -> None:
    """Record that this process was sent SIGTERM (its interrupt then exits 143, not 130)."""
    global _sigterm_received
    _sigterm_received = True


def terminated() -> bool:
    """Whether this process was sent SIGTERM."""
    return _sigterm_received


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt in this process (main thread only), so the run is marked
    interrupted and open transactions roll back; the previous handler is restored afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    owner = os.getpid()

    def interrupt(signum: int, frame: Any) -> None:
        if os.getpid() != owner:  # a forked worker inherited this handler: die as SIGTERM means
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        note_sigterm()
        raise KeyboardInterrupt("SIGTERM")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


class SchemaTooNew(BadInput):
    """The store was written by a newer version of the code (exit 2: upgrade, then rerun)."""
