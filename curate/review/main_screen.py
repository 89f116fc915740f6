"""MainScreen: one sample under review: problem, trace, answer and scores, the problem's other
samples, progress, and the keys. It only lays things out; the app owns state and actions."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer

from curate.review.bindings import install_keys
from curate.review.compare_screen import trace_sections
from curate.review.details_panel import DetailsPanel
from curate.review.keys import KeyAction
from curate.review.problem_panel import ProblemPanel
from curate.review.queries import SampleDetail
from curate.review.sibling_list import SiblingList
from curate.review.status_bar import StatusBar
from curate.review.trace_view import TraceView


class MainScreen(Screen[None]):
    def __init__(self, table: tuple[KeyAction, ...]):
        super().__init__()
        install_keys(self, table, "main")
        self.shown_id: str | None = None  # the sample whose trace is on screen

    def compose(self) -> ComposeResult:
        yield ProblemPanel()
        with Horizontal(id="body"):
            yield TraceView(id="trace")
            with Vertical(id="side"):
                yield DetailsPanel(id="details")
                yield SiblingList(id="siblings")
        yield StatusBar(id="status")
        yield Footer(compact=True, show_command_palette=False)

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
        self.query_one(ProblemPanel).show(None)
        self.trace.set_sections([(message, "")])
        self.trace.border_title = "Trace"
        self.query_one(DetailsPanel).update("")
        self.query_one(SiblingList).clear_options()

    def show_loading(self, row: dict) -> None:
        self.trace.border_title = Content(f"#{row['sample_index']} {row['model']} · loading…")

    def show_detail(self, detail: SampleDetail, reviewer: str, staged_note: str | None, selected: bool) -> None:
        """Show a sample; the same sample again (fresh decisions) keeps the trace's scroll and search."""
        sample = detail.sample
        if detail.sample_id != self.shown_id:
            self.shown_id = detail.sample_id
            self.query_one(ProblemPanel).show(sample)
            self.trace.set_sections(trace_sections(detail))
        # Titles are Content, not markup: model names and ids may hold brackets.
        self.trace.border_title = Content(f"#{sample['sample_index']} {sample['model']}" + (" · selected" if selected else ""))
        self.query_one(DetailsPanel).show(detail, reviewer, staged_note)
        self.query_one(SiblingList).show(detail.siblings, detail.sample_id)
