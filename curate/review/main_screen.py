"""MainScreen: one sample under review: queue tabs, problem, (for code and SQL samples) the
program and its test report, trace, answer and scores, the problem's other samples, progress,
and the keys. It only lays things out; the app owns state and actions."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer

from curate.review.bindings import install_keys
from curate.review.details_panel import DetailsPanel
from curate.review.keys import KeyAction
from curate.review.problem_panel import ProblemPanel
from curate.review.program_panel import ProgramPanel
from curate.review.queries import SampleDetail
from curate.review.queue_tabs import QueueTabs
from curate.review.sibling_list import SiblingList
from curate.review.status_bar import StatusBar
from curate.review.trace_text import answer_marks, step_marks, trace_sections
from curate.review.trace_view import TraceView


class MainScreen(Screen[None]):
    def __init__(self, table: tuple[KeyAction, ...]):
        super().__init__()
        install_keys(self, table, "main")
        self.shown_id: str | None = None  # the sample whose trace is on screen
        self._shown: SampleDetail | None = None
        self._unicode = False

    def compose(self) -> ComposeResult:
        yield QueueTabs(id="tabs")
        yield ProblemPanel()
        yield ProgramPanel(id="program")  # code and SQL samples only
        with Horizontal(id="body"):
            yield TraceView(id="trace")
            with Vertical(id="side"):
                yield DetailsPanel(id="details")
                yield SiblingList(id="siblings")
        yield StatusBar(id="status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.trace.focus()
        self.trace.border_title = "Trace"
        self.watch(self.trace, "match_status", self._show_match_status)

    def _show_match_status(self, status: str) -> None:
        self.trace.border_subtitle = Content(status)

    @property
    def trace(self) -> TraceView:
        return self.query_one("#trace", TraceView)

    def show_empty(self, message: str) -> None:
        self.shown_id = None
        self._shown = None
        self.query_one(ProblemPanel).show_message("no sample")
        self.trace.set_sections([("empty queue", message)])
        self.trace.border_title = "Trace"
        self.query_one(DetailsPanel).update("")
        self.query_one(ProgramPanel).show(None)
        self.query_one(SiblingList).clear_options()
        self.query_one(SiblingList).border_title = ""

    def show_loading(self, row: dict | None) -> None:
        """The cursor's sample is on its way (None: a held key is moving the cursor, whose place
        the queue tabs show); the one shown stays (and decisions apply to it)."""
        title = f"#{row['sample_index']} {row['model']} · loading…" if row is not None else "moving…"
        if self.shown_id is not None:
            title += f" (shown: {self.shown_id})"
        self.trace.border_title = Content(title)

    def show_detail(
        self,
        detail: SampleDetail,
        reviewer: str,
        staged_note: str | None,
        selected: bool,
        *,
        unicode: bool = False,
        unsaved: str | None = None,
    ) -> None:
        """Show a sample; the same sample again (fresh decisions) keeps the trace's scroll and search."""
        sample = detail.sample
        self.query_one(ProgramPanel).show(detail, new_sample=detail.sample_id != self.shown_id)
        if detail.sample_id != self.shown_id or unicode != self._unicode:
            self.shown_id = detail.sample_id
            self._unicode = unicode
            self.query_one(ProblemPanel).show(sample, unicode)
            self._set_trace(detail)
        self._shown = detail
        # Titles are Content, not markup: model names and ids may hold brackets.
        self.trace.border_title = Content(
            f"#{sample['sample_index']} {sample['model']}"
            + (" · selected" if selected else "")
            + (" · Unicode" if unicode else "")
        )
        self.query_one(DetailsPanel).show(detail, reviewer, staged_note, unsaved)
        self.query_one(SiblingList).show(detail.siblings, detail.sample_id, loading=not detail.siblings_read)

    def _set_trace(self, detail: SampleDetail) -> None:
        trace = self.trace
        trace.set_sections(trace_sections(detail, self._unicode))
        marks = answer_marks(trace.text, trace.bodies, (detail.verdict or {}).get("answer"), self._unicode)
        trace.set_marks({**marks, "step": step_marks(detail, trace.bodies, self._unicode)})

    def show_unicode(self, unicode: bool) -> None:
        """Show the sample's LaTeX raw or as Unicode, the trace kept at the line it was on."""
        if self._shown is not None and unicode != self._unicode:
            self._unicode = unicode
            self.query_one(ProblemPanel).show(self._shown.sample, unicode)
            line = self.trace.top_line()
            self._set_trace(self._shown)
            self.trace.scroll_to_line(line)
        self._unicode = unicode

    def jump_answer(self) -> bool:
        return self.trace.jump_to_mark("answer")

    def jump_step(self, delta: int) -> tuple[int, int]:
        """Scroll to the next / previous wrong step: (its number, how many), (0, 0) when none."""
        return self.trace.step_mark("step", delta)
