"""FilterScreen: type a SQL WHERE over the queue's columns, or pick a saved filter; optionally
save the typed filter under a name in the config file. Tab / Shift+Tab move between the fields
and the saved-filter list.

A filter is checked against the store (through the app's `check`, off the UI thread) before
the dialog closes: an error shows inside the dialog and the typed text stays. Dismisses with
(where, name): where "" clears the filter, name "" saves nothing; None on cancel.
"""

from __future__ import annotations

from typing import Callable

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
    FilterScreen #filter-error { color: $text-error; text-style: bold; }
    """

    def __init__(
        self,
        table: tuple[KeyAction, ...],
        current: str | None,
        saved: dict[str, str],
        check: Callable[[str, Callable[[str | None], None]], None],
    ):
        super().__init__()
        install_keys(self, table, "dialog")
        self._current = current or ""
        self._saved = saved
        self._check = check  # check(where, reply): reply(None) when it runs, reply(error) when not

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = Content("Filter the queue (SQL WHERE)")
            yield Input(
                value=self._current, placeholder="verdict = 'incorrect' AND length_tokens > 4000", id="filter-where"
            )
            yield Static("", id="filter-error")
            yield Input(placeholder="name to save it under (optional)", id="filter-name")
            yield Static(
                Content("Enter applies (empty clears) · Escape cancels · columns: " + ", ".join(FILTER_COLUMNS)),
                classes="hint",
            )
            if self._saved:
                yield Static(Content.styled("Saved filters (click or arrows + Enter to apply)", "bold"))
                yield OptionList(
                    *[
                        Option(Content.assemble((name, "bold"), "  ", where), id=name)
                        for name, where in self._saved.items()
                    ],
                    id="filter-saved",
                )

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.cursor_blink = False  # a steady cursor: no timer ticking while the dialog waits
        self.set_focus(self.query_one("#filter-where", Input))  # now, not queued behind keys typed (see TextPrompt)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        where = self.query_one("#filter-where", Input).value.strip()
        name = self.query_one("#filter-name", Input).value.strip()
        self._apply(where, name)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._apply(self._saved[event.option.id], "")

    def _apply(self, where: str, name: str) -> None:
        def reply(error: str | None) -> None:
            if error is None:
                self.dismiss((where, name))
            else:
                self.query_one("#filter-error", Static).update(Content(error))

        self.query_one("#filter-error", Static).update(Content("checking…"))
        self._check(where, reply)

    def action_cancel(self) -> None:
        self.dismiss(None)
