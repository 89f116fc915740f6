"""QueueTabs: the four queues as tabs with their keys and sample counts; the open one shows
where the cursor is and how much of the store this reviewer has decided.

    [1 pending 312/800 · 61%]  2 all 800  3 flagged 12  4 disagreements 40

Under a filter the line starts with a marker (the counts are then the filter's), so a narrow
terminal, where the status bar's filter text may not fit, still shows that one is on:

    FILTERED  [1 pending 3/12 · 61%]  2 all 40  3 flagged 1  4 disagreements 2
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from curate.review.queries import QUEUES, Progress


class QueueTabs(Static):
    DEFAULT_CSS = """
    QueueTabs { height: 1; background: $panel; padding: 0 1; }
    """
    _last: Content | None = None

    def show(
        self,
        *,
        kind: str,
        position: int,
        length: int | None,
        counts: dict[str, int] | None,
        progress: Progress | None,
        complete: bool = True,
        filtered: bool = False,
    ) -> None:
        """`length` None: the queue is loading; `complete` False: only its first `length` samples
        are listed yet; `filtered`: a filter is on."""
        parts: list = [("FILTERED", "bold reverse $text-warning"), "  "] if filtered else []
        tabs = len(parts)
        for number, queue in enumerate(QUEUES, start=1):
            if len(parts) > tabs:
                parts.append("  ")
            if queue == kind:
                more = "" if complete else "+"
                where = f"{position + 1 if length else 0}/{length}{more}" if length is not None else "loading…"
                done = (
                    f" · {progress.decided / progress.total_samples:.0%}" if progress and progress.total_samples else ""
                )
                parts.append((f"[{number} {queue} {where}{done}]", "bold reverse $accent"))
            else:
                count = f" {counts[queue]:,}" if counts is not None else ""
                parts.append((f"{number} {queue}{count}", "$text-muted"))
        content = Content.assemble(*parts)
        if content != self._last:  # redraw only a change (a held key moves the position many times a second)
            self._last = content
            self.update(content, layout=False)  # one line, full width: its size never changes
