"""ReviewApp: the `curate review` terminal app (Textual).

State (the loaded queue, the cursor, fetched samples, notes not yet saved) lives here; the
screens lay it out. Every store operation is a job for one background thread worker (see
`data.JobRunner`) that opens the store, works, closes it and posts a message back; the UI
thread never touches DuckDB, so a slow disk or a locked file never freezes the screen. A
decision moves on to the next sample at once; the footer's progress changes when the write is
saved. A write that cannot get the store (another process holds it past `wait_s`) leaves the
store as it was: the decision is kept as unsaved, the cursor goes back to its sample, and it
is retried every few seconds until it is saved (the status bar counts what waits).

A decision always names the sample whose trace is on screen (while the sample under the cursor
is still loading, that is the one shown before it); a fetch the cursor has moved away from is
dropped before it opens the store. While a key is held (repeats less than HELD_S apart, by the
time they came in) nothing is drawn and the store thread reads ahead the samples the key reaches
next, so the screen settles on the target HELD_S after the last key, usually without a fetch.
The queue counts run only when no fetch waits, and a fetch stops them.

A sample a saved decision takes out of the queue under its filter (the pending queue once
decided, the flagged queue once accepted, a filter on `decision` or `my_decision`) leaves the
list then: the store is asked, in the background (a fetch stops the question, which is asked
again after it), whether the queue still lists it (one rule, the queue's own SQL). The cursor stays on the sample it is on; if that is the one leaving (the
last of the queue, or a sample decided in the compare view), it goes to the next one (at the
end, the one before). Undo brings a sample that left back: the queue is read again with the
cursor on it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any, Callable

from textual import events
from textual.app import App
from textual.message import Message
from textual.worker import get_current_worker

from db.errors import BadInput, StoreLocked
from db.store import resolve_db_path
from curate.verify import parse_error
from curate.review.bindings import install_keys
from curate.review.commands import KeyTableCommands
from curate.review.compare_screen import CompareScreen
from curate.review.config import ReviewConfig, ReviewSettings, load_config, resolve_reviewer, save_filter, write_config
from curate.review.data import (
    BACKGROUND,
    PREFETCH,
    URGENT,
    BulkSaved,
    DetailCache,
    JobRunner,
    LoadedQueue,
    Queue,
    ReviewData,
    Saved,
    Stoppable,
    Stopped,
    Undone,
)
from curate.review.filter_screen import FilterScreen
from curate.review.help_screen import HelpScreen
from curate.review.main_screen import MainScreen
from curate.review.queries import Progress, SampleDetail
from curate.review.sibling_list import SiblingList
from curate.review.queue_tabs import QueueTabs
from curate.review.status_bar import StatusBar
from curate.review.text_prompt import TextPrompt

PREFETCH_RADIUS = 2
READ_AHEAD = 16  # while a key is held: samples fetched ahead of the cursor, in the direction it moves
RETRY_S = 2.0  # how often an unsaved decision is retried
HELD_S = 0.05  # moves whose keys came in closer together than this are a held key: the screen follows once they stop
QUEUE_PAGE = 1000  # samples listed before the first screen; the rest of the queue is read after it


@dataclass(frozen=True)
class Unsaved:
    """A decision the store refused (held by another writer), kept until a retry saves it."""

    sample_id: str
    decision: str
    note: str | None
    corrected_answer: str | None


class JobDone(Message):
    def __init__(self, handler: Callable[[Any], None], result: Any, is_write: bool):
        super().__init__()
        self.handler, self.result, self.is_write = handler, result, is_write


class JobFailed(Message):
    def __init__(self, handler: Callable[[Exception], None], error: Exception, is_write: bool):
        super().__init__()
        self.handler, self.error, self.is_write = handler, error, is_write


class ReviewApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "curate review"
    COMMANDS = App.COMMANDS | {KeyTableCommands}

    def __init__(self, settings: ReviewSettings, config: ReviewConfig):
        super().__init__()
        self.settings = settings
        self.config = config
        self.keys = config.key_table()
        install_keys(self, self.keys, "app")
        self.data = ReviewData(settings.db_path, settings.reviewer, config.wait_s)
        self.runner = JobRunner()
        self.cache = DetailCache()
        self.queue: Queue | None = None
        self.index = 0
        self.progress: Progress | None = None
        self.staged_notes: dict[str, str] = {}
        self.unsaved: dict[str, Unsaved] = {}  # sample id -> its decision not yet saved, oldest first
        self.counts: dict[str, int] | None = None  # samples per queue, under the filter
        self.unicode = False  # LaTeX shown as Unicode (the `m` key); raw by default
        self._retry_timer = None
        self._retrying = False
        self._counting = False
        self._background = Stoppable()  # the running queue count or queue read: a fetch stops it (it runs again after)
        self._quit_armed = False
        self._quitting = False  # the exit job is queued: no more background reads
        self._wanted: frozenset[str] = frozenset()  # the cursor's sample and its neighbours: prefetches worth doing
        self._cursor_id: str | None = None  # the cursor's sample at its last move: the urgent fetch worth doing
        self._last_move = float("-inf")
        self._input_time = float("-inf")  # when the latest key or mouse press came in (Textual's event time stamp)
        self._settle_timer = None  # while a key is held: shows the cursor's sample once it stops
        self._step: Callable[[int], int] = lambda index: index  # the held key's move, for reading ahead
        self.prefetch_radius = PREFETCH_RADIUS  # samples fetched ahead on each side of the cursor
        self.queue_page = QUEUE_PAGE
        self.in_flight = 0  # jobs submitted whose message has not been handled yet
        self.writes_in_flight = 0
        self._requested: set[str] = set()
        self._waiting: dict[str, list[Callable[[SampleDetail], None]]] = {}
        self._main = MainScreen(self.keys)
        if config.theme:
            self.theme = config.theme

    # -- lifecycle -----------------------------------------------------------------------------
    def on_mount(self) -> None:
        self.push_screen(self._main)
        self.run_worker(self._run_jobs, thread=True, name="store", group="store", exit_on_error=False)
        self._load_queue(self.settings.queue, self.settings.where, keep=None)
        self.theme_changed_signal.subscribe(self, self._save_theme)

    def _save_theme(self, theme) -> None:
        if theme.name == self.config.theme:
            return
        try:
            self.config = replace(self.config, theme=theme.name)
            write_config(self.config)
        except OSError as error:  # an unwritable config: the theme still changes, the reviewer is told
            self._report_failure(error)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown)):
            # A held key is told by when its repeats came in, not by when they are handled: a busy
            # moment (a frame, another process) must not split a hold into single moves.
            self._input_time = event.time
        await super().on_event(event)

    def _run_jobs(self) -> None:
        worker = get_current_worker()
        self.runner.run(lambda: worker.is_cancelled)

    @property
    def busy(self) -> bool:
        """True while a store job or its message is outstanding, or a held key's screen is still
        to settle (tests and the bench wait on it)."""
        return self.in_flight > 0 or self._settle_timer is not None

    @property
    def current_id(self) -> str | None:
        return self.queue.sample_ids[self.index] if self.queue and len(self.queue) else None

    def submit(
        self,
        work: Callable[[], Any],
        on_done: Callable[[Any], None],
        on_failed: Callable[[Exception], None] | None = None,
        *,
        priority: int = URGENT,
        is_write: bool = False,
    ) -> None:
        """Queue a store job; its result (or error) comes back as a message to the UI thread."""
        self.in_flight += 1
        self.writes_in_flight += is_write
        failed = on_failed or self._report_failure

        def done(result: Any) -> None:
            self.post_message(JobDone(on_done, result, is_write))

        def fail(error: Exception) -> None:
            self.post_message(JobFailed(failed, error, is_write))

        self.runner.submit(work, done, fail, priority=priority, is_write=is_write)
        self._refresh_status()

    def on_job_done(self, message: JobDone) -> None:
        self._job_finished(message.is_write)
        message.handler(message.result)

    def on_job_failed(self, message: JobFailed) -> None:
        self._job_finished(message.is_write)
        message.handler(message.error)

    def _job_finished(self, is_write: bool) -> None:
        self.in_flight -= 1
        self.writes_in_flight -= is_write
        self._refresh_status()

    def _report_failure(self, error: Exception) -> None:
        self.notify(str(error), title="Store", severity="error", timeout=10)

    # -- the queue -----------------------------------------------------------------------------
    def _load_queue(self, kind: str, where: str | None, keep: str | None) -> None:
        def loaded(result: LoadedQueue) -> None:
            if self.queue is None or self.queue.where != result.queue.where:
                self.counts = None
            self.queue = result.queue
            self.progress = result.progress
            self.index = result.start
            self.show_current()  # not cached: fetches the full details
            for first in result.details:  # shown until they come; never cached, as it lacks the siblings
                if first.sample_id == self.current_id and self.cache.get(first.sample_id) is None:
                    self._show_detail(first)
            if not result.queue.complete:
                self._read_whole_queue(result.queue)
            self._count_queues()

        def failed(error: Exception) -> None:
            self._report_failure(error)
            self._refresh_status()

        page = self.queue_page if keep is None else None
        self.submit(lambda: self.data.load_queue(kind, where, keep, page), loaded, failed)

    def _read_whole_queue(self, first_page: Queue) -> None:
        """Read the whole queue in the background after its first page is on screen (a fetch
        stops the read, which then runs again), and put it in the page's place with the cursor
        on the same sample; a queue loaded since (another queue, a reload) makes it moot."""

        def read() -> Queue:
            return self.data.whole_queue(first_page.kind, first_page.where, self._background)

        def loaded(whole: Queue) -> None:
            if self.queue is not first_page:
                return
            shown = self.current_id
            self.queue = whole
            self.index = whole.place(shown, self.index)
            if self.current_id != shown:
                self.show_current()
            else:
                self._refresh_status()

        def failed(error: Exception) -> None:
            if isinstance(error, Stopped):
                if self.queue is first_page:
                    self._read_whole_queue(first_page)
            else:
                self._report_failure(error)

        self.submit(read, loaded, failed, priority=BACKGROUND)

    def _count_queues(self) -> None:
        """Count the samples of every queue in the background, when no fetch waits: a full pass
        over the store (~0.5 s at 100,000 samples) that a fetch stops and that then runs again,
        so moving on after a decision never waits for it."""
        if self.queue is None or self._counting:
            return
        self._counting = True
        where = self.queue.where

        def counted(counts: dict[str, int]) -> None:
            self._counting = False
            if self.queue is not None and self.queue.where == where:
                self.counts = counts
                self._refresh_status()

        def failed(error: Exception) -> None:
            self._counting = False
            if isinstance(error, Stopped):
                self._count_queues()
            else:
                self._report_failure(error)

        self.submit(lambda: self.data.queue_counts(where, self._background), counted, failed, priority=BACKGROUND)

    def show_current(self) -> None:
        """Show the sample under the cursor: from the cache, else fetch it; prefetch its neighbours."""
        self._refresh_status()
        if self.queue is None:
            return
        if not len(self.queue):
            self._wanted = frozenset()
            self._cursor_id = None
            self._main.show_empty(
                f"Nothing to review in the {self.queue.kind} queue"
                + (" under this filter" if self.queue.where else "")
                + " (1-4 switch queues, w filters, q quits)"
            )
            return
        sample_id = self.current_id
        self._cursor_id = sample_id
        self._wanted = frozenset([sample_id, *self.queue.neighbours(self.index, self.prefetch_radius)])
        detail = self.cache.get(sample_id)
        if detail is not None:
            self._show_detail(detail)
            # Prefetch once this frame is painted, so the background fetch does not compete with it.
            self.call_after_refresh(self._prefetch_neighbours)
        else:
            self._main.show_loading(self.queue.row(self.index))
            self._fetch([sample_id], URGENT)  # its neighbours are prefetched once it is shown

    def _prefetch_neighbours(self) -> None:
        if self.queue is not None and len(self.queue):
            missing = [i for i in self.queue.neighbours(self.index, self.prefetch_radius) if i not in self.cache]
            self._fetch(missing, PREFETCH)

    def _show_detail(self, detail: SampleDetail) -> None:
        selected = bool(self.queue.row(self.index)["selected"]) if self.queue is not None and len(self.queue) else False
        unsaved = self.unsaved.get(detail.sample_id)
        self._main.show_detail(
            detail,
            self.settings.reviewer,
            self.staged_notes.get(detail.sample_id),
            selected,
            unicode=self.unicode,
            unsaved=unsaved.decision if unsaved else None,
        )

    def _fetch(self, sample_ids: list[str], priority: int, keep: bool = False) -> None:
        """Fetch details in the background. Unless `keep`, a sample the cursor has moved away
        from by the time the job starts is not fetched: an urgent fetch is for the cursor's
        sample only (a stale one must not run before the target's, even when the target has
        made it a neighbour), a prefetch for the cursor's neighbours (see `_wanted`)."""
        wanted = [i for i in sample_ids if i not in self._requested]
        if not wanted:
            return
        self._requested.update(wanted)
        self._background.stop()

        def work() -> list[SampleDetail]:
            # On the store thread: `_wanted` and `_cursor_id` are replaced whole on the UI thread.
            if keep:
                still = wanted
            elif priority == URGENT:
                still = [i for i in wanted if i == self._cursor_id]
            else:
                still = [i for i in wanted if i in self._wanted]
            return self.data.details(still) if still else []

        def loaded(details: list[SampleDetail]) -> None:
            self._requested.difference_update(wanted)
            for detail in details:
                self.cache.put(detail)
                if detail.sample_id == self.current_id and self._settle_timer is None:  # a held key draws on settle
                    self._show_detail(detail)
                    self.call_after_refresh(self._prefetch_neighbours)
                for callback in self._waiting.pop(detail.sample_id, []):
                    callback(detail)
            self._catch_up()

        def failed(error: Exception) -> None:
            self._requested.difference_update(wanted)
            self._report_failure(error)

        self.submit(work, loaded, failed, priority=priority)

    def _catch_up(self) -> None:
        """After a fetch: if the cursor's sample is neither cached nor on its way (its fetch was
        dropped as stale while the cursor moved), fetch it now. While a key is held, read ahead
        instead: a fetch of the sample the cursor is passing would be stale by the time it
        returned, and keep the store busy when the target's is due."""
        if self._settle_timer is not None:
            self._read_ahead()
            return
        sample_id = self.current_id
        if sample_id is not None and sample_id not in self.cache and sample_id not in self._requested:
            self._fetch([sample_id], URGENT)

    def with_detail(self, sample_id: str, callback: Callable[[SampleDetail], None]) -> None:
        """Call `callback` with the sample's detail now if cached, else when it arrives."""
        detail = self.cache.get(sample_id)
        if detail is not None:
            callback(detail)
            return
        self._waiting.setdefault(sample_id, []).append(callback)
        self._fetch([sample_id], URGENT, keep=True)

    def _refresh_status(self) -> None:
        if not self._main.is_mounted:
            return
        loaded = self.queue is not None  # an empty queue is still the queue (bug: it read as "none")
        self._main.query_one(StatusBar).show(
            where=self.queue.where if loaded else self.settings.where,
            progress=self.progress,
            busy=self.writes_in_flight > 0,
            unsaved=len(self.unsaved),
        )
        self._main.query_one(QueueTabs).show(
            kind=self.queue.kind if loaded else self.settings.queue,
            position=self.index,
            length=len(self.queue) if loaded else None,
            complete=self.queue.complete if loaded else True,
            counts=self.counts,
            progress=self.progress,
            filtered=bool(self.queue.where if loaded else self.settings.where),
        )

    # -- decisions -----------------------------------------------------------------------------
    def decision_target(self) -> str | None:
        """The sample a decision key applies to: the one whose trace is on screen (in compare,
        the focused side's), never one still loading."""
        if isinstance(self.screen, CompareScreen):
            return self.screen.focused_sample_id
        return self._main.shown_id

    def action_decide(self, decision: str, corrected_answer: str | None = None) -> None:
        sample_id = self.decision_target()
        if sample_id is None:
            message = (
                "the queue is empty" if self.queue is not None and not len(self.queue) else "no sample on screen yet"
            )
            self.notify(f"nothing to decide: {message}", severity="warning")
            return
        on_main = not isinstance(self.screen, CompareScreen)
        self._decide(Unsaved(sample_id, decision, self.staged_notes.pop(sample_id, None), corrected_answer))
        if not on_main:
            return
        # Move on only from the sample under the cursor; if the cursor already moved on (its
        # sample still loading), it stays where the reviewer sent it.
        if sample_id == self.current_id:
            if self.index < len(self.queue) - 1:
                self.index += 1
                self.show_current()
            else:
                self.notify("that was the last sample of this queue", timeout=4)
                self._refresh_status()
        elif self.current_id in self.cache:
            self.show_current()

    def _decide(self, pending: Unsaved, retry: bool = False) -> None:
        """Write one decision; a store held by another writer keeps it unsaved (see the module docstring)."""
        sample_id = pending.sample_id
        if not retry and (old := self.unsaved.pop(sample_id, None)) is not None:
            # A new decision on a sample replaces its unsaved one (keeping that one's note).
            pending = replace(pending, note=pending.note if pending.note is not None else old.note)
        problem_id = self._problem_of(sample_id)

        def saved(result: Saved) -> None:
            self.progress = result.progress
            if retry:
                self._retrying = False
                if self.unsaved.get(sample_id) == pending:
                    del self.unsaved[sample_id]
                self.notify(f"{pending.decision} on {sample_id} is saved now", timeout=4)
                self._retry_next()
            self._refresh_problem(problem_id)
            self._drop_unlisted([sample_id])
            self._count_queues()

        def failed(error: Exception) -> None:
            if retry:
                self._retrying = False
            if not isinstance(error, StoreLocked):
                if retry:
                    self.unsaved.pop(sample_id, None)
                if pending.note is not None:
                    self.staged_notes.setdefault(sample_id, pending.note)
                self.notify(
                    f"{pending.decision} on {sample_id} was NOT saved: {error}",
                    title="Not saved",
                    severity="error",
                    timeout=15,
                )
                return
            first = sample_id not in self.unsaved
            self.unsaved.setdefault(sample_id, pending)
            if first and not retry:
                self.notify(
                    f"{pending.decision} on {sample_id} is NOT saved yet: {error} "
                    f"It is retried every {RETRY_S:g} s until it is.",
                    title="Not saved",
                    severity="error",
                    timeout=15,
                )
                self._go_back_to(sample_id)
            if self._retry_timer is None:
                self._retry_timer = self.set_interval(RETRY_S, self._retry_next)
            self._refresh_status()

        self.submit(
            lambda: self.data.decide(sample_id, pending.decision, pending.note, pending.corrected_answer),
            saved,
            failed,
            is_write=True,
        )

    def _drop_unlisted(self, sample_ids: list[str]) -> None:
        """Take the decided samples the queue no longer lists out of it (see the module docstring)."""
        queue = self.queue
        if self._quitting or queue is None or not any(queue.index_of(i) is not None for i in sample_ids):
            return  # quitting: the next start reads the queue afresh

        def checked(listed: set[str]) -> None:
            if self.queue is not queue:
                return  # another queue or a reload replaced it: read after the decision
            shown = self.current_id
            gone = [i for i in sample_ids if i not in listed and queue.index_of(i) is not None]
            for sample_id in gone:
                self.index = queue.drop(sample_id, self.index)
            if not gone:
                return
            if self.current_id != shown:
                self.show_current()
            else:
                self._refresh_status()

        def failed(error: Exception) -> None:
            if isinstance(error, Stopped):  # a fetch came first: ask again after it
                self._drop_unlisted(sample_ids)
            else:
                self._report_failure(error)

        self.submit(
            lambda: self.data.still_listed(queue.kind, queue.where, sample_ids, self._background),
            checked,
            failed,
            priority=BACKGROUND,
        )

    def _go_back_to(self, sample_id: str) -> None:
        """Put the cursor back on a sample whose decision did not save (it must not look decided)."""
        if isinstance(self.screen, CompareScreen) or self.queue is None:
            return
        position = self.queue.index_of(sample_id)
        if position is not None:
            self.index = position
            self.show_current()

    def _retry_next(self) -> None:
        """Retry the oldest unsaved decision (one at a time, so they land in the order made)."""
        if not self.unsaved:
            if self._retry_timer is not None:
                self._retry_timer.stop()
                self._retry_timer = None
            self._refresh_status()
            return
        if self._retrying:
            return
        self._retrying = True
        self._decide(next(iter(self.unsaved.values())), retry=True)

    def action_bulk_accept(self) -> None:
        sample_id = self.decision_target()
        problem_id = self._problem_of(sample_id) if sample_id else None
        if problem_id is None:
            self.notify("nothing to accept: no sample on screen", severity="warning")
            return

        def saved(result: BulkSaved) -> None:
            self.progress = result.progress
            if result.accepted:
                self.notify(
                    f"accepted {len(result.accepted)} correct sample(s) of {problem_id} (u undoes them together)",
                    timeout=5,
                )
            else:
                self.notify(f"no correct sample of {problem_id} left undecided by you", timeout=4)
            self._refresh_problem(problem_id)
            self._drop_unlisted(result.accepted)
            self._count_queues()

        self.submit(lambda: self.data.bulk_accept(problem_id), saved, is_write=True)

    def action_undo(self) -> None:
        def undone(result: Undone) -> None:
            self.progress = result.progress
            if result.reverted is None:
                self.notify("nothing to undo", timeout=3)
                self._refresh_status()
                return
            sample_id = result.reverted.sample_id
            problem_id = self._problem_of(sample_id)
            position = self.queue.index_of(sample_id) if self.queue is not None else None
            if position is not None and not isinstance(self.screen, CompareScreen):
                self.index = position
            if problem_id is not None:
                self.cache.drop_problem(problem_id)
            if position is None and self.queue is not None:  # it had left the queue: read it again, on it
                self._load_queue(self.queue.kind, self.queue.where, keep=sample_id)
            else:
                self.show_current()
            self._count_queues()
            taken = len(result.reverted.samples)
            what = f"{result.reverted.decision} on {sample_id}" if taken <= 1 else f"the bulk accept of {taken} samples"
            self.notify(f"undid {what}", timeout=3)

        self.submit(self.data.undo, undone, is_write=True)

    def _problem_of(self, sample_id: str) -> str | None:
        detail = self.cache.get(sample_id)
        if detail is not None:
            return detail.problem_id
        position = self.queue.index_of(sample_id) if self.queue is not None else None
        return self.queue.problem_ids[position] if position is not None else None

    def _refresh_problem(self, problem_id: str | None) -> None:
        """A decision changed what this problem's samples show: forget them, refetch those near the cursor."""
        if problem_id is None or self.queue is None or not len(self.queue):
            return
        self.cache.drop_problem(problem_id)
        shown = self._main.shown_id
        if shown is not None and shown != self.current_id and shown not in self.cache:
            self._fetch([shown], URGENT, keep=True)  # the sample on screen, decided while the cursor's loads
        if self.current_id not in self.cache:
            self._fetch([self.current_id], URGENT)
        self._prefetch_neighbours()
        if isinstance(self.screen, CompareScreen):
            self.screen.refresh_samples()

    async def action_note(self) -> None:
        sample_id = self.decision_target()
        if sample_id is None:
            return

        def noted(text: str | None) -> None:
            if text is None:
                return
            if text.strip():
                self.staged_notes[sample_id] = text
            else:
                self.staged_notes.pop(sample_id, None)
            if sample_id == self._main.shown_id and (detail := self.cache.get(sample_id)) is not None:
                self._show_detail(detail)

        await self.push_screen(
            TextPrompt(
                self.keys,
                f"Note on {sample_id}",
                "Enter keeps it; it is saved with your next decision on this sample (a r f s c). Escape cancels.",
                value=self.staged_notes.get(sample_id, ""),
            ),
            noted,
        )

    async def action_correct(self) -> None:
        sample_id = self.decision_target()
        if sample_id is None:
            return
        detail = self.cache.get(sample_id)
        extracted = ((detail.verdict or {}).get("answer") if detail else None) or ""
        math = detail is None or (detail.sample.get("domain") or "math") == "math"

        def corrected(text: str | None) -> None:
            if text is not None and text.strip():  # the dialog is modal: the same sample is on screen
                self.action_decide("accept", text.strip())

        await self.push_screen(
            TextPrompt(
                self.keys,
                f"Corrected answer for {sample_id}",
                "Enter accepts the sample with this answer. Escape cancels.",
                value=extracted,
                check=corrected_answer_error if math else None,
            ),
            corrected,
        )

    # -- moving --------------------------------------------------------------------------------
    def action_move(self, delta: int) -> None:
        if self.queue is not None and len(self.queue):
            self._move_to(lambda index: self.queue.step(index, delta))

    def action_move_problem(self, delta: int) -> None:
        if self.queue is not None and len(self.queue):
            self._move_to(lambda index: self.queue.step_problem(index, delta))

    def _move_to(self, step: Callable[[int], int]) -> None:
        """Move the cursor one `step`. A single move shows its sample at once; moves whose keys
        came in less than HELD_S apart (a held key) only update the position and read ahead (one
        batch at a time, the samples the key reaches next), and the sample is shown HELD_S after
        the last one: nothing is drawn for the samples passed over, and the target is usually
        fetched by the time the key stops."""
        held = self._input_time - self._last_move < HELD_S
        self._last_move = self._input_time
        self.index = step(self.index)
        if not held and self._settle_timer is None:
            self.show_current()
            return
        self._step = step
        self._cursor_id = self.current_id  # queued fetches for passed-over samples are dropped
        self._wanted = frozenset(self._ahead())
        self._refresh_status()
        if self._settle_timer is None:  # the hold starts: one title for all of it, not a redraw per key
            self._main.show_loading(None)
        else:
            self._settle_timer.stop()
        timer = self._settle_timer = self.set_timer(HELD_S, lambda: self._settle(timer))
        self._read_ahead()

    def _settle(self, timer) -> None:
        if timer is not self._settle_timer:
            return  # a timer stopped after it fired (its event was already queued): a later key restarted it
        self._settle_timer = None
        self.show_current()

    def _ahead(self) -> list[str]:
        """The cursor's sample and the READ_AHEAD the held key reaches next (none without prefetch)."""
        ids, index = [self.current_id], self.index
        for _ in range(READ_AHEAD if self.prefetch_radius else 0):
            following = self._step(index)
            if following == index:
                break
            index = following
            ids.append(self.queue.sample_ids[index])
        return ids

    def _read_ahead(self) -> None:
        """While a key is held and no fetch is out: fetch what the key reaches next (see `_ahead`)."""
        if self._requested or self.queue is None or not self.prefetch_radius:
            return
        self._fetch([i for i in self._ahead() if i not in self.cache], PREFETCH)

    def _queue_where(self) -> str | None:
        return self.queue.where if self.queue is not None else self.settings.where

    def action_queue(self, kind: str) -> None:
        self._load_queue(kind, self._queue_where(), keep=self.current_id)

    def action_reload(self) -> None:
        kind = self.queue.kind if self.queue is not None else self.settings.queue
        self.cache = DetailCache()
        self._load_queue(kind, self._queue_where(), keep=self.current_id)

    def check_filter(self, where: str, reply: Callable[[str | None], None]) -> None:
        """Check a filter in the background; `reply` gets None, or the error to show in the dialog."""
        kind = self.queue.kind if self.queue is not None else self.settings.queue

        def failed(error: Exception) -> None:
            # The dialog lists the columns already: the error's own first part is enough.
            reply(error.detail.split(" (columns:")[0] if isinstance(error, BadInput) else str(error))

        self.submit(lambda: self.data.check(kind, where or None), lambda _: reply(None), failed)

    async def action_filter(self) -> None:
        def chosen(result: tuple[str, str] | None) -> None:
            if result is None:
                return
            where, name = result
            if name:
                try:
                    self.config = save_filter(self.config, name, where)
                    self.notify(f"saved filter {name!r} to {self.config.path}", timeout=4)
                except Exception as error:  # a bad name or an unwritable file: say so, keep going
                    self._report_failure(error)
            kind = self.queue.kind if self.queue is not None else self.settings.queue
            self._load_queue(kind, where or None, keep=self.current_id)

        await self.push_screen(
            FilterScreen(self.keys, self._queue_where(), self.config.filters, self.check_filter), chosen
        )

    # -- the trace -----------------------------------------------------------------------------
    async def action_search(self) -> None:
        trace = self._main.trace

        def searched(text: str | None) -> None:
            if text is not None:
                trace.search(text)

        await self.push_screen(
            TextPrompt(
                self.keys,
                "Search the trace",
                "Enter searches (case-insensitive; . and , step through matches). Empty clears.",
                value=trace._query,
            ),
            searched,
        )

    def action_search_step(self, delta: int) -> None:
        self._main.trace.step_match(delta)

    def action_scroll_trace(self, how: str) -> None:
        getattr(self._main.trace, f"scroll_{how}")(animate=False)

    def action_jump_answer(self) -> None:
        if not self.screen.jump_answer():
            self.notify("no final answer found in this trace", timeout=3)

    def action_jump_step(self, delta: int) -> None:
        number, count = self._main.jump_step(delta)
        if count:
            self.notify(f"wrong step {number} of {count}", timeout=2)
        else:
            self.notify("no step check flags a wrong step in this trace", timeout=3)

    def action_toggle_unicode(self) -> None:
        self.unicode = not self.unicode
        for screen in self.screen_stack:
            if isinstance(screen, (MainScreen, CompareScreen)):
                screen.show_unicode(self.unicode)
        self.notify("LaTeX shown as Unicode" if self.unicode else "LaTeX shown raw", timeout=2)

    # -- other screens -------------------------------------------------------------------------
    def action_compare(self, right_id: str | None = None) -> None:
        shown = self._main.shown_id
        detail = self.cache.get(shown) if shown else None
        if detail is None:
            self.notify("the sample is still loading", timeout=3)
            return
        others = [s["sample_id"] for s in detail.siblings if s["sample_id"] != detail.sample_id]
        if not others:
            self.notify("this problem has no other sample to compare with", timeout=4)
            return
        self.push_screen(CompareScreen(self.keys, detail, right_id if right_id in others else others[0], self.unicode))

    def on_sibling_list_compare_requested(self, message: SiblingList.CompareRequested) -> None:
        if message.sample_id != self._main.shown_id:
            self.action_compare(message.sample_id)

    def get_system_commands(self, screen):
        """Textual's palette commands, less its Quit: it quits at once, past the unsaved-work
        check, and the key table lists the quit that has it (so Quit shows once)."""
        return [command for command in super().get_system_commands(screen) if command.callback != self.action_quit]

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.keys))

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"

    def action_quit_review(self) -> None:
        """Quit once every decision already queued is written (the exit job runs after them). A
        staged note or an unsaved decision would be lost: the first quit says so, a second quits."""
        losing = []
        if self.staged_notes:
            losing.append(
                f"{len(self.staged_notes)} note(s) not yet saved with a decision ({', '.join(self.staged_notes)})"
            )
        if self.unsaved:
            losing.append(f"{len(self.unsaved)} decision(s) the store has not taken yet ({', '.join(self.unsaved)})")
        if losing and not self._quit_armed:
            self._quit_armed = True
            self.notify(
                "Quitting now loses " + " and ".join(losing) + ". Press quit again to quit anyway.",
                title="Not saved",
                severity="warning",
                timeout=10,
            )
            return
        self._quitting = True
        self.submit(lambda: None, lambda _: self.exit())


def corrected_answer_error(text: str) -> str | None:
    """Why a corrected math answer is not saved (it does not parse), or None when it may be."""
    problem = parse_error(text.strip()) if text.strip() else None
    return None if problem is None else f"not saved: the answer does not parse ({problem}); fix it or press Escape"


def run_review(
    db: str | os.PathLike | None = None,
    reviewer: str | None = None,
    queue: str = "pending",
    where: str | None = None,
    config_path: str | os.PathLike | None = None,
) -> None:
    """`curate review`: check the store, queue and filter (bad input exits before the UI), then run the app."""
    config = load_config(config_path)
    settings = ReviewSettings(resolve_db_path(db), resolve_reviewer(reviewer, config), queue, where or None)
    ReviewData(settings.db_path, settings.reviewer, config.wait_s).check(settings.queue, settings.where)
    ReviewApp(settings, config).run()
