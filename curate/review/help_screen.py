"""HelpScreen: every key of the key table, grouped by where it works, as the app binds it."""

from __future__ import annotations

import textwrap

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.keys import format_key
from textual.screen import ModalScreen
from textual.widgets import Static

from curate.review.bindings import install_keys
from curate.review.keys import DIALOG_SUBMIT_KEY, TEXTUAL_KEYS, KeyAction, for_scope

SCOPE_TITLES = {
    "app": "Main and compare views",
    "main": "Reviewing a sample",
    "compare": "Compare view",
    "help": "This help",
    "dialog": "Dialogs (note, corrected answer, search, filter)",
}


def key_label(keys: tuple[str, ...]) -> str:
    return " ".join(format_key(key) for key in keys)


def help_rows(table: tuple[KeyAction, ...]) -> list[tuple[str, str, str]]:
    """(scope title, keys, description) for every entry of the table, plus Textual's own keys
    the app keeps and Enter in dialogs."""
    rows = []
    for scope, title in SCOPE_TITLES.items():
        for entry in for_scope(table, scope):
            rows.append((title, key_label(entry.keys), entry.description))
        for key_scope, keys, description in TEXTUAL_KEYS:
            if key_scope == scope:
                rows.append((title, key_label(keys), description))
        if scope == "dialog":
            rows.append((title, format_key(DIALOG_SUBMIT_KEY), "Save / apply the dialog"))
    return rows


def help_text(table: tuple[KeyAction, ...], width: int) -> Content:
    """The help as text `width` cells wide: keys in a column, each description wrapped beside
    them (a line that does not fit goes on under the description, not under the keys)."""
    rows = help_rows(table)
    keys_width = max(len(keys) for _, keys, _ in rows) + 2
    text_width = max(20, width - keys_width)
    parts: list = []
    previous = None
    for title, keys, description in rows:
        if title != previous:
            parts += ["\n" if previous else "", (title, "bold underline $text-accent"), "\n"]
            previous = title
        lines = textwrap.wrap(description, text_width) or [""]
        parts += [(keys.ljust(keys_width), "bold"), lines[0], "\n"]
        for line in lines[1:]:
            parts += [" " * keys_width, line, "\n"]
    return Content.assemble(*parts).rstrip()


class HelpText(Static):
    """The help, laid out again for its width whenever that changes."""

    def __init__(self, table: tuple[KeyAction, ...], *, id: str | None = None):
        super().__init__(id=id)
        self._table = table
        self._width = -1

    def on_resize(self) -> None:
        if self.size.width != self._width:
            self._width = self.size.width
            self.update(help_text(self._table, self._width))


class HelpScreen(ModalScreen[None]):
    """Every key, in a box that fits the terminal (80x24 and up) and scrolls with the help's keys."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 100%; max-width: 90; height: 100%; max-height: 40;
        border: round $accent; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, table: tuple[KeyAction, ...]):
        super().__init__()
        install_keys(self, table, "help")
        self._table = table

    def compose(self) -> ComposeResult:
        by_name = {entry.name: entry for entry in self._table}
        scroll = " ".join(format_key(by_name[name].keys[0]) for name in ("help_line_down", "help_page_down"))
        close = key_label(by_name["help_close"].keys)
        with VerticalScroll(id="help-body") as body:
            body.border_title = Content("Keys (remap them in the config file's [keys] table)")
            body.border_subtitle = Content(f"{scroll} scroll · {close} closes")
            yield HelpText(self._table, id="help-text")

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()

    def action_scroll_help(self, how: str) -> None:
        getattr(self.query_one("#help-body", VerticalScroll), f"scroll_{how}")(animate=False)
