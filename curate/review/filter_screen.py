"""FilterScreen: type a SQL WHERE over the queue's columns, or pick a saved filter; optionally
save the typed filter under a name in the config file.

Dismisses with (where, name): where "" clears the filter, name "" saves nothing; None on cancel.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from curate.review.bindings import install_keys
from curate.review.keys import KeyAction
from curate.review.queries import FILTER_COLUMNS


class FilterScreen(ModalScreen[tuple[str, str] | None]):
    DEFAULT_CSS = """
    FilterScreen { align: center middle; }
    FilterScreen > Vertical {
        width: 100%; max-width: 110; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    FilterScreen Static.hint { color: $text-muted; }
    FilterScreen OptionList { height: auto; max-height: 8; border: none; }
    """

    def __init__(self, table: tuple[KeyAction, ...], current: str | None, saved: dict[str, str]):
        super().__init__()
        install_keys(self, table, "dialog")
        self._current = current or ""
        self._saved = saved

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = Content("Filter the queue (SQL WHERE)")
            yield Input(value=self._current, placeholder="verdict = 'incorrect' AND length_tokens > 4000", id="filter-where")
            yield Input(placeholder="name to save it under (optional)", id="filter-name")
            yield Static(Content("Enter applies (empty clears) · Escape cancels · columns: " + ", ".join(FILTER_COLUMNS)), classes="hint")
            if self._saved:
                yield Static(Content.styled("Saved filters (click or arrows + Enter to apply)", "bold"))
                yield OptionList(
                    *[Option(Content.assemble((name, "bold"), "  ", where), id=name) for name, where in self._saved.items()],
                    id="filter-saved",
                )

    def on_mount(self) -> None:
        self.query_one("#filter-where", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        where = self.query_one("#filter-where", Input).value.strip()
        name = self.query_one("#filter-name", Input).value.strip()
        self.dismiss((where, name))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss((self._saved[event.option.id], ""))

    def action_cancel(self) -> None:
        self.dismiss(None)
