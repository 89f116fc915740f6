"""TextPrompt: a one-line text dialog (note, corrected answer, trace search).

Enter returns the text, Escape returns None. The text is taken as typed: no markup.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from curate.review.bindings import install_keys
from curate.review.keys import KeyAction


class TextPrompt(ModalScreen[str | None]):
    DEFAULT_CSS = """
    TextPrompt { align: center bottom; }
    TextPrompt > Vertical {
        width: 100%; max-width: 100; height: auto;
        border: round $accent; background: $surface; padding: 0 1;
    }
    TextPrompt Static.hint { color: $text-muted; }
    """

    def __init__(self, table: tuple[KeyAction, ...], title: str, hint: str, value: str = "", placeholder: str = ""):
        super().__init__()
        install_keys(self, table, "dialog")
        self._title, self._hint, self._value, self._placeholder = title, hint, value, placeholder

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = Content(self._title)
            yield Input(value=self._value, placeholder=self._placeholder, id="prompt-input")
            yield Static(Content(self._hint), classes="hint")

    def on_mount(self) -> None:
        self.query_one(Input).cursor_blink = False  # a steady cursor: no timer ticking while the dialog waits
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
