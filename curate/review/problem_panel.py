"""ProblemPanel: the problem statement and its gold answer above the trace: raw text, or with
LaTeX as Unicode when the reviewer turns that on."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from curate.review.latex_text import to_unicode

MISSING = "—"


class ProblemPanel(VerticalScroll, can_focus=False):
    DEFAULT_CSS = """
    ProblemPanel {
        height: auto;
        max-height: 6;
        background: $boost;
        padding: 0 1;
        scrollbar-size-vertical: 1;
    }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="problem-text")

    def show_message(self, message: str) -> None:
        self.query_one("#problem-text", Static).update(Content.styled(message, "$text-muted"))

    def show(self, sample: dict | None, unicode: bool = False) -> None:
        """Show a sample's problem (the samples row joined with its problem), or a placeholder."""
        text = self.query_one("#problem-text", Static)
        if sample is None:
            text.update(Content("loading…"))
            return
        where = " · ".join(
            str(part) for part in (sample.get("source"), sample.get("year"), sample.get("section")) if part
        )
        gold = sample.get("gold_answer")
        question = sample.get("question")
        if unicode:
            gold = to_unicode(gold) if gold is not None else None
            question = to_unicode(question) if question else question
        text.update(
            Content.assemble(
                ("Problem ", "bold"),
                (str(sample["problem_id"]), "bold $text-accent"),
                f"  {where}" if where else "",
                "   ",
                ("gold: ", "bold"),
                (gold if gold is not None else MISSING, "bold $text-success"),
                "\n",
                question or MISSING,
            )
        )
        self.scroll_home(animate=False)
