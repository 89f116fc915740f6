"""Errors every stage raises and every CLI maps to an exit code.

`BadInput` means the user gave something we cannot use (exit 2, message names file, line and
field); `StoreLocked` means another process holds the DuckDB write lock (exit 1); `DiskFull`
means a write found no space (exit 1, never the input's fault): `disk_full` is the one rule that
recognises it, however it surfaced (an OSError, DuckDB's IO error, or either under another);
`is_interrupt` is the one rule for what counts as Ctrl-C / SIGTERM (run 'interrupted'; exit 130
for Ctrl-C, 143 for SIGTERM: `note_sigterm` records which, `terminated` reads it).
"""

from __future__ import annotations

import asyncio
import errno
import os
import re
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


class DiskFull(Exception):
    """A write failed for want of space (exit 1): the message says so and names the path written."""

    def __init__(self, path: str | None, detail: str):
        self.path, self.detail = path, detail
        where = f" while writing {path}" if path else ""
        super().__init__(f"the disk is full{where} ({detail}): free space or use another disk, then rerun the command")


_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
# How libraries that do not set errno say it: DuckDB ('Could not write file "PATH": No space left
# on device', newer versions adding "errno":"28"), polars ("(os error 28)"), pyarrow ("[errno 28]").
_NO_SPACE_TEXT = re.compile(
    "|".join(re.escape(os.strerror(code)) for code in _NO_SPACE)
    + "|"
    + rf"(?:errno|os error)\W{{0,3}}(?:{'|'.join(str(code) for code in _NO_SPACE)})\b",
    re.IGNORECASE,
)
_WRITTEN_PATH = re.compile(r'(?:write|writing|create|open|extend|truncate|sync)[a-z ]*file \\?"(.+?)\\?"')


def disk_full(error: BaseException) -> DiskFull | None:
    """The `DiskFull` that `error` means, or None: an OSError with errno ENOSPC or EDQUOT, or an
    OSError or DuckDB error whose message reports one, itself or as the cause or context of
    `error` (so a write failure another layer wrapped, e.g. as "could not read the file", is still
    found). An exit or interrupt (not an Exception) is never a full disk, whatever it was raised under."""
    if not isinstance(error, Exception):
        return None
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, DiskFull):
            return error
        if isinstance(error, OSError) and error.errno in _NO_SPACE:
            return DiskFull(None if error.filename is None else str(error.filename), os.strerror(error.errno))
        if isinstance(error, (OSError, duckdb.Error)) and _NO_SPACE_TEXT.search(str(error)):
            text = str(error)
            written = _WRITTEN_PATH.search(text)
            quota = os.strerror(errno.EDQUOT) in text
            return DiskFull(written.group(1) if written else None, os.strerror(errno.EDQUOT if quota else errno.ENOSPC))
        error = error.__cause__ or error.__context__
    return None


@contextmanager
def writing(path: str | os.PathLike) -> Iterator[None]:
    """Name `path` in the DiskFull of a write inside that ran out of space, where the error itself
    does not name the file (a Python file write, polars, pyarrow)."""
    try:
        yield
    except Exception as error:
        full = disk_full(error)
        if full is None:
            raise
        raise (full if full.path else DiskFull(str(path), full.detail)) from error


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
