"""StatusBar: the filter, everyone's progress, and writes in flight or waiting, above the keys."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from curate.review.queries import Progress


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """
    _last: Content | None = None

    def show(self, *, where: str | None, progress: Progress | None, busy: bool = False, unsaved: int = 0) -> None:
        parts: list = []
        if unsaved:
            parts += [(f"⚠ {unsaved} NOT SAVED (store busy, retrying)", "bold reverse $text-error"), "  "]
        if where:
            parts += [("filter ", "bold $text-warning"), where if len(where) <= 24 else where[:23] + "…", "  "]
        if progress is not None:
            mine = progress.mine
            parts += [
                (f"{progress.reviewer}: ", "bold"),
                f"{progress.decided}/{progress.total_samples}",
                f" ✓{mine.get('accept', 0)} ✗{mine.get('reject', 0)} ⚑{mine.get('flag', 0)} ↷{mine.get('skip', 0)}",
            ]
            for other, decided in sorted(progress.others.items()):
                parts += ["  ", f"{other}: {decided}"]
        if busy:
            parts += ["  ", ("saving…", "italic $text-muted")]
        content = Content.assemble(*parts)
        if content != self._last:  # a held key refreshes the status on every move: redraw only a change
            self._last = content
            self.update(content, layout=False)  # one line, full width: its size never changes
