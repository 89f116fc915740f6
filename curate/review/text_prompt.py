"""TextPrompt: a one-line text dialog (note, corrected answer, trace search).

Enter returns the text, Escape returns None. The text is taken as typed: no markup. With a
`check`, Enter first asks it about the text: an error shows in the dialog, which stays open
with the text as typed (nothing is returned, so nothing is saved).

The field has focus as soon as the dialog is mounted (set directly, not by a queued call), and
the app opens a dialog by awaiting its mount: keys typed in a burst right after the key that
opened it reach the field, in order, instead of the dialog before it has a focused field.
"""

from __future__ import annotations

from typing import Callable

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
    TextPrompt #prompt-error { display: none; color: $text-error; text-style: bold; }
    """

    def __init__(
        self,
        table: tuple[KeyAction, ...],
        title: str,
        hint: str,
        value: str = "",
        placeholder: str = "",
        check: Callable[[str], str | None] | None = None,
    ):
        super().__init__()
        install_keys(self, table, "dialog")
        self._title, self._hint, self._value, self._placeholder = title, hint, value, placeholder
        self._check = check  # check(text): None when the text may be returned, else the error to show

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = Content(self._title)
            yield Input(value=self._value, placeholder=self._placeholder, id="prompt-input")
            yield Static("", id="prompt-error")
            yield Static(Content(self._hint), classes="hint")

    def on_mount(self) -> None:
        field = self.query_one(Input)
        field.cursor_blink = False  # a steady cursor: no timer ticking while the dialog waits
        self.set_focus(field)  # now: Widget.focus() would queue it behind keys already typed

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        error = self._check(event.value) if self._check is not None else None
        if error is None:
            self.dismiss(event.value)
            return
        shown = self.query_one("#prompt-error", Static)
        shown.update(Content(error))
        shown.display = True

    def action_cancel(self) -> None:
        self.dismiss(None)
