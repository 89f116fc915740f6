"""SiblingList: the problem's samples with their answers (and model, when the problem has
samples of several models); clicking one compares it side by side.

It never takes keyboard focus, so the review keys keep working; the keyboard reaches the same
comparison with the compare key.
"""

from __future__ import annotations

from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

VERDICT_MARK = {"correct": ("✓", "$text-success"), "incorrect": ("✗", "$text-error")}


def one_line(answer: str | None) -> str:
    """An answer on one line: a program or query (code and SQL samples) shows its first line."""
    if answer is None:
        return "—"
    lines = answer.strip().splitlines() or [""]
    return lines[0] + (" …" if len(lines) > 1 else "")


class SiblingList(OptionList, can_focus=False):
    DEFAULT_CSS = """
    SiblingList { height: 1fr; border: none; padding: 0; background: transparent; }
    """

    class CompareRequested(Message):
        def __init__(self, sample_id: str):
            super().__init__()
            self.sample_id = sample_id

    def show(self, siblings: list[dict], current_id: str | None, loading: bool = False) -> None:
        """The siblings with the current one marked; `loading`: they are still being read."""
        self.clear_options()
        options = []
        several_models = len({sibling["model"] for sibling in siblings}) > 1
        for sibling in siblings:
            mark, style = VERDICT_MARK.get(sibling.get("verdict"), ("·", "$text-muted"))
            here = sibling["sample_id"] == current_id
            options.append(
                Option(
                    Content.assemble(
                        ("▶ " if here else "  ", "bold $text-accent"),
                        (f"#{sibling['sample_index']} ", "bold" if here else ""),
                        (f"{sibling['model']} ", "$text-muted") if several_models else "",
                        (mark, style),
                        " ",
                        one_line(sibling.get("answer")),
                        (f" {sibling['decision']}" if sibling.get("decision") else "", "italic $text-muted"),
                    ),
                    id=sibling["sample_id"],
                )
            )
        self.add_options(options)
        self.border_title = Content(
            "Samples of this problem (loading…)" if loading else f"Samples of this problem ({len(siblings)})"
        )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.post_message(self.CompareRequested(event.option.id))
