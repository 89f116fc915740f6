"""CompareScreen: two samples of one problem side by side (left: the sample under review,
right: another sample of its problem, cycled with the compare keys)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Static

from curate.review.bindings import install_keys
from curate.review.details_panel import MISSING, VERDICT_STYLE
from curate.review.keys import KeyAction
from curate.review.queries import SampleDetail
from curate.review.trace_view import TraceView


def trace_sections(detail: SampleDetail) -> list[tuple[str, str | None]]:
    sample = detail.sample
    return [
        (f"reasoning ({len(sample.get('reasoning') or ''):,} chars)", sample.get("reasoning")),
        (f"final content ({len(sample.get('content') or ''):,} chars)", sample.get("content")),
    ]


def sample_summary(detail: SampleDetail) -> Content:
    verdict = detail.verdict or {}
    scores = detail.scores or {}
    sample = detail.sample
    return Content.assemble(
        (f"#{sample['sample_index']} ", "bold"), (sample["model"], "$text-muted"), "\n",
        ("answer ", "bold"), verdict.get("answer") if verdict.get("answer") is not None else MISSING, "  ",
        (verdict.get("verdict") or MISSING, VERDICT_STYLE.get(verdict.get("verdict"), "")), "  ",
        f"{scores['length_tokens']} tok" if scores.get("length_tokens") is not None else f"{MISSING} tok",
    )


class CompareScreen(Screen[None]):
    DEFAULT_CSS = """
    CompareScreen > Horizontal { height: 1fr; }
    CompareScreen Vertical.pane { width: 1fr; }
    CompareScreen Vertical.pane > Static { height: 2; background: $boost; padding: 0 1; }
    CompareScreen #compare-right { border-left: vkey $primary; }
    """

    def __init__(self, table: tuple[KeyAction, ...], left: SampleDetail, right_id: str):
        super().__init__()
        install_keys(self, table, "compare")
        self.left = left
        self.sibling_ids = [s["sample_id"] for s in left.siblings if s["sample_id"] != left.sample_id]
        self.right_index = self.sibling_ids.index(right_id) if right_id in self.sibling_ids else 0

    def compose(self) -> ComposeResult:
        with Horizontal():
            with Vertical(classes="pane", id="compare-left"):
                yield Static(sample_summary(self.left), id="left-summary")
                yield TraceView(id="left-trace")
            with Vertical(classes="pane", id="compare-right"):
                yield Static(Content("loading…"), id="right-summary")
                yield TraceView(id="right-trace")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#left-trace", TraceView).set_sections(trace_sections(self.left))
        self.query_one("#left-trace", TraceView).focus()
        self._request_right()

    @property
    def right_id(self) -> str | None:
        return self.sibling_ids[self.right_index] if self.sibling_ids else None

    def _request_right(self) -> None:
        if self.right_id is None:
            self.query_one("#right-summary", Static).update(Content("this problem has no other sample"))
            return
        self.app.with_detail(self.right_id, self.show_right)

    def show_right(self, detail: SampleDetail) -> None:
        if detail.sample_id != self.right_id:
            return  # the reviewer cycled on before this one arrived
        self.query_one("#right-summary", Static).update(sample_summary(detail))
        self.query_one("#right-trace", TraceView).set_sections(trace_sections(detail))

    def action_cycle(self, delta: int) -> None:
        if self.sibling_ids:
            self.right_index = (self.right_index + delta) % len(self.sibling_ids)
            self.query_one("#right-summary", Static).update(Content("loading…"))
            self._request_right()

    def action_scroll_both(self, how: str) -> None:
        for trace in self.query(TraceView):
            getattr(trace, f"scroll_{how}")(animate=False)
