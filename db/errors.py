"""Errors every stage raises and every CLI maps to an exit code.

`BadInput` means the user gave something we cannot use (exit 2, message names file, line and
field); `StoreLocked` means another process holds the DuckDB write lock (exit 1).
"""

from __future__ import annotations


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


class SchemaTooNew(BadInput):
    """The store was written by a newer version of the code (exit 2: upgrade, then rerun)."""
