"""The write-through writer: results collected as they arrive and handed on in one batch per flush.

Used by `curate generate` (samples), `curate judge` (verdicts) and `evaluate run` (samples,
verified per batch) so that Ctrl-C keeps everything finished and `kill -9` loses at most what
arrived since the last flush (about 0.5 s).
- `Batches(sink)`: `add(item)` on the event loop; `run()` hands the items gathered so far to
  `sink(items)` every `interval_s` in a worker thread; `flush()` does it once, in the caller's
  thread (call it at the end). A lock keeps a flush and the next one apart.
- `WriteThrough(store, table, schema, on_conflict)`: `Batches` whose sink commits the rows (dicts
  keyed by the schema's column names; missing keys are NULL) with one
  `Store.insert_frame(table, frame, on_conflict)` in one transaction; with `release_between`
  the store file is closed after each flush (`Store.release`) so readers can open it.
A flush whose sink fails keeps its items for the next one.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import polars as pl

from db.store import Store

FLUSH_INTERVAL_S = 0.5


class Batches:
    """Items gathered as they arrive, handed to `sink` in one list per flush."""

    def __init__(self, sink: Callable[[list[Any]], object]):
        self.sink = sink
        self._items: list[Any] = []
        self._buffer_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self.flushed = 0

    def add(self, item: Any) -> None:
        """Gather one item for the next flush."""
        with self._buffer_lock:
            self._items.append(item)

    @property
    def pending(self) -> int:
        """Items gathered and not yet handed on."""
        return len(self._items)

    def flush(self) -> int:
        """Hand the gathered items to the sink (nothing when there are none); returns how many."""
        with self._write_lock:
            with self._buffer_lock:
                items, self._items = self._items, []
            if not items:
                return 0
            try:
                self.sink(items)
            except BaseException:
                with self._buffer_lock:  # not written: keep them for the next flush
                    self._items[:0] = items
                raise
            self.flushed += len(items)
            return len(items)

    async def run(self, interval_s: float = FLUSH_INTERVAL_S) -> None:
        """Flush every `interval_s` in a worker thread (DuckDB releases the GIL while it writes) until cancelled."""
        while True:
            await asyncio.sleep(interval_s)
            if self.pending:
                await asyncio.to_thread(self.flush)


class WriteThrough(Batches):
    """Rows committed to one table, one insert_frame in one transaction per flush."""

    def __init__(
        self,
        store: Store,
        table: str,
        schema: dict[str, pl.DataType],
        on_conflict: str = "replace",
        release_between: bool = False,
    ):
        super().__init__(self._commit)
        self.store, self.table, self.schema, self.on_conflict = store, table, schema, on_conflict
        self.release_between = release_between

    def _commit(self, rows: list[dict]) -> None:
        frame = pl.DataFrame({name: [row.get(name) for row in rows] for name in self.schema}, schema=self.schema)
        with self.store.transaction():
            self.store.insert_frame(self.table, frame, on_conflict=self.on_conflict)
        if self.release_between:
            self.store.release()  # readers may open the file until the next flush
