"""HelpScreen: every key of the key table, grouped by where it works, as the app binds it."""

from __future__ import annotations

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


class HelpScreen(ModalScreen[None]):
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
        width = max(len(keys) for _, keys, _ in help_rows(self._table)) + 2
        parts: list = []
        previous = None
        for title, keys, description in help_rows(self._table):
            if title != previous:
                parts += ["\n" if previous else "", (title, "bold underline $text-accent"), "\n"]
                previous = title
            parts += [(keys.ljust(width), "bold"), description, "\n"]
        with VerticalScroll(id="help-body") as body:
            body.border_title = Content("Keys (remap them in the config file's [keys] table)")
            body.border_subtitle = Content("Escape, ? or q closes")
            yield Static(Content.assemble(*parts).rstrip(), id="help-text")

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()
