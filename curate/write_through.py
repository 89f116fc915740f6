"""The write-through writer: rows collected as they arrive, committed to one table every flush.

Used by `curate generate` (samples) and `curate judge` (verdicts) so that Ctrl-C keeps everything
finished and `kill -9` loses at most what arrived since the last flush (about 0.5 s).
Inputs: row dicts keyed by the schema's column names (missing keys are NULL). Output: one
`Store.insert_frame(table, frame, on_conflict)` in one transaction per flush.
"""

from __future__ import annotations

import asyncio
import threading

import polars as pl

from db.store import Store

FLUSH_INTERVAL_S = 0.5


class WriteThrough:
    """Rows collected column-wise and committed in one insert_frame per flush.

    `add` is called on the event loop; `flush` runs in a worker thread (DuckDB releases the GIL
    while it writes) or, at the end, in the caller's thread; a lock keeps them apart.
    """

    def __init__(self, store: Store, table: str, schema: dict[str, pl.DataType], on_conflict: str = "replace"):
        self.store, self.table, self.schema, self.on_conflict = store, table, schema, on_conflict
        self._columns: dict[str, list] = {name: [] for name in schema}
        self._buffer_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self.committed = 0

    def add(self, row: dict) -> None:
        """Buffer one row (keys outside the schema are ignored; missing ones are NULL)."""
        with self._buffer_lock:
            for name, values in self._columns.items():
                values.append(row.get(name))

    @property
    def pending(self) -> int:
        """Rows buffered and not yet committed."""
        return len(next(iter(self._columns.values())))

    def flush(self) -> int:
        """Commit the buffered rows in one transaction; returns the rows the store wrote."""
        with self._write_lock:
            with self._buffer_lock:
                columns, self._columns = self._columns, {name: [] for name in self.schema}
            if not columns or not next(iter(columns.values())):
                return 0
            frame = pl.DataFrame(columns, schema=self.schema)
            with self.store.transaction():
                written = self.store.insert_frame(self.table, frame, on_conflict=self.on_conflict)
            self.committed += frame.height
            return written

    async def run(self, interval_s: float = FLUSH_INTERVAL_S) -> None:
        """Flush every `interval_s` until cancelled."""
        while True:
            await asyncio.sleep(interval_s)
            if self.pending:
                await asyncio.to_thread(self.flush)
