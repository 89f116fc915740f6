"""The review app's database access: every operation opens the store, does its work, closes it.

The app never holds the DuckDB file while idle, so `curate sql`, `curate stats` and
`duckdb -readonly` work beside an open review. Reads open the file read-only; a write opens it
for writing, appends in one short transaction and closes. A file another process holds is
retried for `wait_s` seconds (`open_store(..., wait_s=...)`), then `StoreLocked` reaches the
caller (the app shows it as a notification; nothing is half-written: each write is one
transaction). `Queue` is the loaded queue (light columns only) with the navigation the app
needs; `JobRunner` runs these operations one at a time, in order, on one background thread.
Nothing here imports Textual.
"""

from __future__ import annotations

import itertools
import queue as queue_module
import threading
from collections import OrderedDict
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import duckdb
import polars as pl

from db import open_store
from db.store import migrations
from curate.review import queries
from curate.review.queries import Progress, Reverted, SampleDetail


@dataclass(frozen=True)
class ReviewData:
    """Short store operations for one reviewer."""

    path: Path
    reviewer: str
    wait_s: float = 3.0

    def _read(self):
        return open_store(self.path, read_only=True, wait_s=self.wait_s)

    def _write(self):
        return open_store(self.path, wait_s=self.wait_s)

    def load_queue(
        self, kind: str, where: str | None, keep: str | None = None, page: int | None = None
    ) -> "LoadedQueue":
        """The queue, where to start (the `keep` sample if listed, else where this reviewer
        stopped), and that sample's details without its siblings (`siblings_read` False), in
        one open: the caller shows it at once and reads the full details, then the neighbours'
        (at a million samples each detail read costs 0.1-0.3 s).

        With `page` (and no `keep`), only the queue's first `page` samples are read when where
        this reviewer stopped is among them; the queue is then marked incomplete and the caller
        reads the whole of it with `whole_queue` (a million-sample queue takes seconds to list
        and sort, its first page a tenth of that)."""
        with self._read() as store:
            queue = None
            if page is not None and keep is None:
                head = queries.load_queue(store, self.reviewer, kind, where, page + 1)  # one more tells if more follow
                first = Queue(kind, where, head.head(page), complete=head.height <= page)
                if first.complete or first.untouched():
                    queue = first
            if queue is None:
                queue = Queue(kind, where, queries.load_queue(store, self.reviewer, kind, where))
            progress = queries.progress(store, self.reviewer)
            start = queue.index_of(keep) if keep else None
            start = start if start is not None else queue.resume_index()
            details = queries.sample_details(store, [queue.sample_ids[start]], siblings=False) if len(queue) else []
        return LoadedQueue(queue, progress, start, details)

    def whole_queue(self, kind: str, where: str | None, stop: "Stoppable | None" = None) -> "Queue":
        """Every sample of the queue (after `load_queue` read its first page); `stop` lets the
        app end it early (then `Stopped`)."""
        with self._read() as store, stop.running(store) if stop is not None else nullcontext():
            return Queue(kind, where, queries.load_queue(store, self.reviewer, kind, where))

    def check(self, kind: str, where: str | None) -> None:
        """Bad input (exit 2) for a missing store or a queue/filter that cannot run. A store
        older than this code's migrations is migrated first (the app only reads between writes)."""
        with self._read() as store:
            # By version set, not the highest: a migration numbered below the store's newest can be new to it.
            applied = {row[0] for row in store.execute("SELECT version FROM schema_version").fetchall()}
            behind = bool({version for version, _, _ in migrations()} - applied)
            if not behind:
                queries.check_filter(store, self.reviewer, kind, where)
                return
        with self._write():
            pass
        with self._read() as store:
            queries.check_filter(store, self.reviewer, kind, where)

    def queue_counts(self, where: str | None, stop: "Stoppable | None" = None) -> dict[str, int]:
        """Samples per queue (a full pass over the store: ~0.5 s at 100,000 samples); `stop`
        lets the app end it early (then `Stopped`)."""
        with self._read() as store, stop.running(store) if stop is not None else nullcontext():
            return queries.queue_counts(store, self.reviewer, where)

    def still_listed(
        self, kind: str, where: str | None, sample_ids: list[str], stop: "Stoppable | None" = None
    ) -> set[str]:
        """Which of these samples the queue lists now (under a filter ~0.9 s at 1M samples, so
        `stop` lets the app end it early for a fetch: then `Stopped`)."""
        with self._read() as store, stop.running(store) if stop is not None else nullcontext():
            return queries.still_listed(store, self.reviewer, kind, where, sample_ids)

    def details(self, sample_ids: list[str]) -> list[SampleDetail]:
        with self._read() as store:
            return queries.sample_details(store, sample_ids)

    def decide(
        self, sample_id: str, decision: str, note: str | None = None, corrected_answer: str | None = None
    ) -> "Saved":
        with self._write() as store:
            event_id = queries.record_decision(store, sample_id, self.reviewer, decision, note, corrected_answer)
            return Saved(sample_id, decision, event_id, queries.progress(store, self.reviewer))

    def bulk_accept(self, problem_id: str) -> "BulkSaved":
        with self._write() as store:
            accepted = queries.bulk_accept(store, problem_id, self.reviewer)
            return BulkSaved(problem_id, accepted, queries.progress(store, self.reviewer))

    def undo(self) -> "Undone":
        with self._write() as store:
            reverted = queries.undo_latest(store, self.reviewer)
            return Undone(reverted, queries.progress(store, self.reviewer))


class Stopped(Exception):
    """A read the app stopped (see `Stoppable`)."""


class Stoppable:
    """A long read another thread may stop: `stop()` interrupts the query running inside
    `running(store)`, which then raises `Stopped`; outside `running` a stop does nothing."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._store = None

    @contextmanager
    def running(self, store) -> Iterator[None]:
        with self._lock:
            self._store = store
        try:
            yield
        except duckdb.InterruptException as error:
            raise Stopped("stopped for a more urgent read") from error
        finally:
            with self._lock:
                self._store = None

    def stop(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.con.interrupt()


def review_stats(path: Path | str | None) -> tuple[pl.DataFrame, queries.Agreement]:
    """Decision counts per reviewer and reviewer agreement, read-only (for `--stats`)."""
    with open_store(path, read_only=True) as store:
        return queries.decision_counts(store), queries.agreement(store)


@dataclass(frozen=True)
class LoadedQueue:
    queue: "Queue"
    progress: Progress
    start: int
    details: list[SampleDetail]


@dataclass(frozen=True)
class Saved:
    sample_id: str
    decision: str
    event_id: int
    progress: Progress


@dataclass(frozen=True)
class BulkSaved:
    problem_id: str
    accepted: list[str]
    progress: Progress


@dataclass(frozen=True)
class Undone:
    reverted: Reverted | None
    progress: Progress


class Queue:
    """The loaded queue: light columns of every sample in review order (as loaded: a decision
    made during the session shows in the sample's details, not here, until a reload; a sample
    the decision takes out of the queue is dropped from it), or of its first samples
    (`complete` False: more follow)."""

    def __init__(self, kind: str, where: str | None, frame: pl.DataFrame, complete: bool = True):
        self.kind = kind
        self.where = where
        self.frame = frame
        self.complete = complete
        self.sample_ids: list[str] = frame["sample_id"].to_list()
        self.problem_ids: list[str] = frame["problem_id"].to_list()

    def __len__(self) -> int:
        return len(self.sample_ids)

    def index_of(self, sample_id: str | None) -> int | None:
        """The sample's position in the queue, None when it is not listed."""
        try:
            return self.sample_ids.index(sample_id)
        except ValueError:
            return None

    def row(self, index: int) -> dict[str, Any]:
        return self.frame.row(index, named=True)

    def resume_index(self) -> int:
        return queries.resume_index(self.frame)

    def untouched(self) -> bool:
        """Whether a sample this reviewer has not decided or skipped is listed."""
        return self.frame["my_decision"].null_count() > 0

    def drop(self, sample_id: str, index: int) -> int:
        """Take a sample out of the queue; returns where the cursor at `index` goes: on the same
        sample, or, if it was the one dropped, on the one after it (the one before at the end)."""
        position = self.index_of(sample_id)
        if position is None:
            return index
        del self.sample_ids[position]
        del self.problem_ids[position]
        self.frame = pl.concat([self.frame.head(position), self.frame.slice(position + 1)])
        if position < index:
            index -= 1
        return max(0, min(index, len(self) - 1))

    def place(self, sample_id: str | None, index: int) -> int:
        """Where the cursor goes in this queue: on `sample_id` if listed, else `index` kept inside."""
        found = self.index_of(sample_id)
        return found if found is not None else self.step(index, 0)

    def step(self, index: int, delta: int) -> int:
        """The index `delta` samples away, kept inside the queue."""
        return max(0, min(len(self) - 1, index + delta))

    def step_problem(self, index: int, delta: int) -> int:
        """The first sample of the next (delta=1) or previous (delta=-1) problem in queue order."""
        if not self.sample_ids:
            return 0
        current = self.problem_ids[index]
        i = index
        if delta > 0:
            while i < len(self) - 1 and self.problem_ids[i] == current:
                i += 1
            return i if self.problem_ids[i] != current else index
        # Back to the start of this problem's run, then to the start of the run before it.
        while i > 0 and self.problem_ids[i - 1] == current:
            i -= 1
        if i == 0:
            return index if i == index else 0
        previous = self.problem_ids[i - 1]
        i -= 1
        while i > 0 and self.problem_ids[i - 1] == previous:
            i -= 1
        return i

    def neighbours(self, index: int, radius: int) -> list[str]:
        """Sample ids around `index`, nearest first, for prefetching."""
        found = []
        for distance in range(1, radius + 1):
            for i in (index + distance, index - distance):
                if 0 <= i < len(self):
                    found.append(self.sample_ids[i])
        return found


class DetailCache:
    """Recently shown and prefetched sample details (LRU); the app uses it from its own thread only."""

    def __init__(self, capacity: int = 64):
        self.capacity = capacity
        self._items: OrderedDict[str, SampleDetail] = OrderedDict()

    def get(self, sample_id: str) -> SampleDetail | None:
        item = self._items.get(sample_id)
        if item is not None:
            self._items.move_to_end(sample_id)
        return item

    def put(self, detail: SampleDetail) -> None:
        self._items[detail.sample_id] = detail
        self._items.move_to_end(detail.sample_id)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def __contains__(self, sample_id: str) -> bool:
        return sample_id in self._items

    def drop_problem(self, problem_id: str) -> None:
        """Forget a problem's samples (a decision changed what their sibling lists show)."""
        for sample_id in [k for k, v in self._items.items() if v.problem_id == problem_id]:
            del self._items[sample_id]


# Job priorities: writes and the sample on screen before prefetches, the queue counts last.
URGENT, PREFETCH, BACKGROUND = 0, 1, 2


@dataclass(order=True)
class Job:
    priority: int
    seq: int
    work: Callable[[], Any] = field(compare=False)
    done: Callable[[Any], None] = field(compare=False)  # called on the runner thread with the result
    failed: Callable[[Exception], None] = field(compare=False)
    is_write: bool = field(default=False, compare=False)


class JobRunner:
    """Runs store operations one at a time on a background thread: urgent jobs in the order they
    were submitted, prefetches when nothing urgent waits. One thread means the app never opens
    two connections to the file at once, and an undo always follows the decision it undoes."""

    def __init__(self) -> None:
        self._jobs: queue_module.PriorityQueue[Job] = queue_module.PriorityQueue()
        self._seq = itertools.count()

    def submit(self, work, done, failed, *, priority: int = URGENT, is_write: bool = False) -> None:
        self._jobs.put(Job(priority, next(self._seq), work, done, failed, is_write))

    def run(self, is_cancelled: Callable[[], bool], poll_s: float = 0.05) -> None:
        """Process jobs until cancelled; on cancel, finish the queued writes and drop the reads."""
        while not is_cancelled():
            try:
                job = self._jobs.get(timeout=poll_s)
            except queue_module.Empty:
                continue
            self._run_one(job)
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue_module.Empty:
                return
            if job.is_write:
                self._run_one(job)

    def _run_one(self, job: Job) -> None:
        try:
            result = job.work()
        except Exception as error:  # reported to the reviewer by the app; the runner goes on
            job.failed(error)
        else:
            job.done(result)
