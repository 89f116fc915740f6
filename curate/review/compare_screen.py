"""CompareScreen: two samples of one problem side by side, under a header with the problem and
its gold answer (left: the sample under review, right: another sample of its problem, cycled
with the compare keys). Words only one side has are marked (a word-level diff, computed off
the UI thread). Decision keys apply to the focused side (h / l or Tab switch sides)."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Static

from curate.review.bindings import install_keys
from curate.review.details_panel import DECISION_STYLE, MISSING, VERDICT_STYLE
from curate.review.keys import KeyAction
from curate.review.problem_panel import ProblemPanel
from curate.review.queries import SampleDetail
from curate.review.trace_text import answer_marks, trace_sections, word_diff
from curate.review.trace_view import TraceView


def sample_summary(detail: SampleDetail, focused: bool = False) -> Content:
    verdict = detail.verdict or {}
    scores = detail.scores or {}
    sample = detail.sample
    decision = next((s.get("decision") for s in detail.siblings if s["sample_id"] == detail.sample_id), None)
    return Content.assemble(
        ("▶ " if focused else "  ", "bold $text-accent"),
        (f"#{sample['sample_index']} ", "bold"),
        (sample["model"], "$text-muted"),
        ("  " + decision if decision else "", DECISION_STYLE.get(decision, "")),
        "\n",
        ("answer ", "bold"),
        verdict.get("answer") if verdict.get("answer") is not None else MISSING,
        "  ",
        (verdict.get("verdict") or MISSING, VERDICT_STYLE.get(verdict.get("verdict"), "")),
        "  ",
        f"{scores['length_tokens']} tok" if scores.get("length_tokens") is not None else f"{MISSING} tok",
    )


class CompareScreen(Screen[None]):
    DEFAULT_CSS = """
    CompareScreen > Horizontal { height: 1fr; }
    CompareScreen Vertical.pane { width: 1fr; }
    CompareScreen Vertical.pane > Static { height: 2; background: $boost; padding: 0 1; }
    CompareScreen #compare-right { border-left: vkey $primary; }
    """

    def __init__(self, table: tuple[KeyAction, ...], left: SampleDetail, right_id: str, unicode: bool = False):
        super().__init__()
        install_keys(self, table, "compare")
        self.left = left
        self.right: SampleDetail | None = None
        self.sibling_ids = [s["sample_id"] for s in left.siblings if s["sample_id"] != left.sample_id]
        self.right_index = self.sibling_ids.index(right_id) if right_id in self.sibling_ids else 0
        self._unicode = unicode

    def compose(self) -> ComposeResult:
        yield ProblemPanel()
        with Horizontal():
            with Vertical(classes="pane", id="compare-left"):
                yield Static(sample_summary(self.left), id="left-summary")
                yield TraceView(id="left-trace")
            with Vertical(classes="pane", id="compare-right"):
                yield Static(Content("loading…"), id="right-summary")
                yield TraceView(id="right-trace")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(ProblemPanel).show(self.left.sample, self._unicode)
        self._set_trace("#left-trace", self.left)
        self.query_one("#left-trace", TraceView).focus()
        self._request_right()

    # -- which sample a decision goes to -------------------------------------------------------
    @property
    def right_id(self) -> str | None:
        return self.sibling_ids[self.right_index] if self.sibling_ids else None

    @property
    def focused_sample_id(self) -> str | None:
        """The focused side's sample; None while the focused right side is still loading."""
        if self.focused is not None and self.focused.id == "right-trace":
            return self.right.sample_id if self.right is not None and self.right.sample_id == self.right_id else None
        return self.left.sample_id

    def on_descendant_focus(self) -> None:
        self._show_summaries()

    def action_focus_side(self, side: str) -> None:
        self.query_one(f"#{side}-trace", TraceView).focus()

    def refresh_samples(self) -> None:
        """A decision was saved: fetch both sides again (their decisions changed)."""
        self.app.with_detail(self.left.sample_id, self._show_left)
        self._request_right()

    # -- showing -------------------------------------------------------------------------------
    def _set_trace(self, selector: str, detail: SampleDetail) -> None:
        trace = self.query_one(selector, TraceView)
        trace.set_sections(trace_sections(detail, self._unicode))
        trace.set_marks(answer_marks(trace.text, trace.bodies, (detail.verdict or {}).get("answer"), self._unicode))

    def _show_summaries(self) -> None:
        focused = self.focused.id if self.focused is not None else "left-trace"
        self.query_one("#left-summary", Static).update(sample_summary(self.left, focused == "left-trace"))
        if self.right is not None and self.right.sample_id == self.right_id:
            self.query_one("#right-summary", Static).update(sample_summary(self.right, focused == "right-trace"))

    def _show_left(self, detail: SampleDetail) -> None:
        self.left = detail
        self._show_summaries()

    def _request_right(self) -> None:
        if self.right_id is None:
            self.query_one("#right-summary", Static).update(Content("this problem has no other sample"))
            return
        self.app.with_detail(self.right_id, self.show_right)

    def show_right(self, detail: SampleDetail) -> None:
        if detail.sample_id != self.right_id:
            return  # the reviewer cycled on before this one arrived
        new = self.right is None or self.right.sample_id != detail.sample_id
        self.right = detail
        self._show_summaries()
        if new:
            self._show_traces()

    def _show_traces(self) -> None:
        self._set_trace("#left-trace", self.left)
        self._set_trace("#right-trace", self.right)
        self._diff(
            self.query_one("#left-trace", TraceView).text,
            self.query_one("#right-trace", TraceView).text,
            self.right.sample_id,
        )

    @work(thread=True, exclusive=True, group="diff")
    def _diff(self, left: str, right: str, right_id: str) -> None:
        removed, added = word_diff(left, right)
        self.app.call_from_thread(self._show_diff, removed, added, right_id)

    def _show_diff(self, removed: list, added: list, right_id: str) -> None:
        if right_id != self.right_id:
            return
        self.query_one("#left-trace", TraceView).add_marks("removed", removed)
        self.query_one("#right-trace", TraceView).add_marks("added", added)

    def show_unicode(self, unicode: bool) -> None:
        """Both traces raw or as Unicode, each kept at the line it was on."""
        if unicode != self._unicode:
            self._unicode = unicode
            self.query_one(ProblemPanel).show(self.left.sample, unicode)
            lines = [(trace, trace.top_line()) for trace in self.query(TraceView)]
            if self.right is not None and self.right.sample_id == self.right_id:
                self._show_traces()
            else:
                self._set_trace("#left-trace", self.left)
            for trace, line in lines:
                trace.scroll_to_line(line)

    def jump_answer(self) -> bool:
        found = False
        for trace in self.query(TraceView):
            found = trace.jump_to_mark("answer") or found
        return found

    # -- keys ----------------------------------------------------------------------------------
    def action_cycle(self, delta: int) -> None:
        if self.sibling_ids:
            self.right_index = (self.right_index + delta) % len(self.sibling_ids)
            self.query_one("#right-summary", Static).update(Content("loading…"))
            self._request_right()

    def action_scroll_both(self, how: str) -> None:
        for trace in self.query(TraceView):
            getattr(trace, f"scroll_{how}")(animate=False)
