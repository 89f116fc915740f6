"""TraceView: a read-only, searchable, virtualized view of a trace's text.

The text is shown exactly as given: no Markdown, no markup (the app converts LaTeX to Unicode
only when the reviewer turns that on), so `\\boxed{\\dfrac34}`, `x_1`, `*` and backslashes
reach the screen as written. Marks (boxed answers, the final answer, diff words) are drawn
over text offsets the caller computes on `text`. Only three
display substitutions are made: a tab becomes four spaces, `\\r\\n` and a lone `\\r` end a
line, and any other control character shows as U+FFFD. Lines are wrapped to the view's width
once per text and width (at the last space that fits, else mid-word); only the rows on screen
are rendered, so a 100 KB trace opens and scrolls like a short one.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right

from rich.cells import cell_len, get_character_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from curate.review.trace_text import display_text


def wrap_line(line: str, width: int) -> list[tuple[int, int]]:
    """(start, end) offsets of the rows one logical line wraps into at `width` cells."""
    if width <= 0:
        return [(0, len(line))]
    if line.isascii():
        if len(line) <= width:
            return [(0, len(line))]
        rows = []
        start = 0
        while len(line) - start > width:
            cut = line.rfind(" ", start, start + width)
            end = cut + 1 if cut > start else start + width
            rows.append((start, end))
            start = end
        rows.append((start, len(line)))
        return rows
    if cell_len(line) <= width:
        return [(0, len(line))]
    rows = []
    start = 0
    cells = 0
    last_space = -1
    for i, char in enumerate(line):
        size = get_character_cell_size(char)
        if cells + size > width and i > start:
            end = last_space + 1 if last_space >= start else i
            rows.append((start, end))
            start = end
            cells = cell_len(line[start:i])
            last_space = -1
        cells += size
        if char == " ":
            last_space = i
    rows.append((start, len(line)))
    return rows


class TraceView(ScrollView, can_focus=True, inherit_bindings=False):
    """Sections of raw text (a heading line, then the body), wrapped, with search highlights.

    It binds no keys of its own (the screens bind the key table), so arrows move between samples.
    """

    # Marks, lowest priority first: a later kind's style is drawn over an earlier one's.
    MARK_KINDS = ("added", "removed", "boxed", "answer", "step")
    COMPONENT_CLASSES = {
        "trace-view--heading",
        "trace-view--match",
        "trace-view--current-match",
        *(f"trace-view--{kind}" for kind in MARK_KINDS),
    }

    DEFAULT_CSS = """
    TraceView {
        scrollbar-gutter: stable;
        scrollbar-size-vertical: 1;
        overflow-x: hidden;
        & > .trace-view--heading { color: $text-accent; text-style: bold; background: $boost; }
        & > .trace-view--match { background: $warning 40%; }
        & > .trace-view--current-match { background: $warning; color: $text; text-style: bold; }
        & > .trace-view--added { background: $success 25%; }
        & > .trace-view--removed { background: $error 25%; }
        & > .trace-view--boxed { color: $text-success; text-style: bold; }
        & > .trace-view--answer { background: $success 35%; color: $text; text-style: bold; }
        & > .trace-view--step { background: $error 45%; color: $text; text-style: bold underline; }
    }
    """

    match_status: reactive[str] = reactive("")

    def __init__(self, *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self._text = ""
        self._headings: list[tuple[int, int]] = []  # (start, end) offsets of heading lines
        self.bodies: list[tuple[int, int]] = []  # (start, end) offsets of each section's body
        self._marks: dict[str, tuple[list[int], list[int]]] = {}  # kind -> sorted starts, ends
        self._mark_visited: dict[str, int] = {}  # kind -> index of the span step_mark went to last
        self._row_starts: list[int] = []
        self._row_ends: list[int] = []
        self._wrapped_width = -1
        self._query = ""
        self._match_starts: list[int] = []
        self._match_ends: list[int] = []
        self._current = -1

    # -- content -------------------------------------------------------------------------------
    @property
    def text(self) -> str:
        """The displayed text (headings included)."""
        return self._text

    @property
    def row_count(self) -> int:
        return len(self._row_starts)

    def set_sections(self, sections: list[tuple[str, str | None]]) -> None:
        """Show (heading, body) sections; a None body shows the heading line alone. Keeps the
        search query; clears the marks."""
        parts: list[str] = []
        headings = []
        bodies = []
        offset = 0
        for heading, body in sections:
            line = f"── {heading} ──"
            headings.append((offset, offset + len(line)))
            shown = display_text(body) if body is not None else None
            chunk = line + ("\n" + shown if shown is not None else "") + "\n\n"
            body_start = offset + len(line) + 1
            bodies.append(
                (body_start, body_start + len(shown)) if shown is not None else (body_start - 1, body_start - 1)
            )
            parts.append(chunk)
            offset += len(chunk)
        self._text = "".join(parts).rstrip("\n")
        self._headings = headings
        self.bodies = bodies
        self._marks = {}
        self._wrapped_width = -1
        self._rewrap()
        self._find_matches(keep_position=False)
        self.scroll_to(0, 0, animate=False)
        self.refresh()

    def set_marks(self, marks: dict[str, list[tuple[int, int]]]) -> None:
        """Mark text spans by kind (one of MARK_KINDS); spans of one kind must not overlap."""
        self._marks = {
            kind: ([a for a, _ in sorted(spans)], [b for _, b in sorted(spans)]) for kind, spans in marks.items()
        }
        self._mark_visited = {}
        self.refresh()

    def add_marks(self, kind: str, spans: list[tuple[int, int]]) -> None:
        """Set one kind's spans, keeping the other kinds."""
        self._marks[kind] = ([a for a, _ in sorted(spans)], [b for _, b in sorted(spans)])
        self.refresh()

    def jump_to_mark(self, kind: str) -> bool:
        """Scroll to the first span of a mark kind; False when there is none."""
        starts = self._marks.get(kind, ([], []))[0]
        if starts:
            self.scroll_to_offset(starts[0])
        return bool(starts)

    def step_mark(self, kind: str, delta: int) -> tuple[int, int]:
        """Scroll to the next (1) or previous (-1) span of a mark kind from the last one visited,
        wrapping around; returns (its 1-based number, how many), (0, 0) when there is none."""
        starts = self._marks.get(kind, ([], []))[0]
        if not starts:
            return 0, 0
        current = self._mark_visited.get(kind)
        index = (0 if delta > 0 else len(starts) - 1) if current is None else (current + delta) % len(starts)
        self._mark_visited[kind] = index
        self.scroll_to_offset(starts[index])
        return index + 1, len(starts)

    def scroll_to_offset(self, offset: int) -> None:
        """Bring the row holding text offset `offset` into view, a third of the way down."""
        row = self.row_of(offset)
        height = self.scrollable_content_region.height
        if not (self.scroll_y <= row < self.scroll_y + height):
            self.scroll_to(y=max(0, row - height // 3), animate=False)

    def top_line(self) -> int:
        """The number of the text line (headings count) at the top of the view. Raw and Unicode
        text keep every line break, so `scroll_to_line` finds it again in the other form."""
        if not self._row_starts:
            return 0
        top = self._row_starts[min(int(self.scroll_y), len(self._row_starts) - 1)]
        return self._text.count("\n", 0, top)

    def scroll_to_line(self, line: int) -> None:
        """Scroll so that text line `line` (see `top_line`) is at the top."""
        offset = 0
        for _ in range(line):
            found = self._text.find("\n", offset)
            if found == -1:
                break
            offset = found + 1
        self.scroll_to(y=self.row_of(offset), animate=False)

    def _rewrap(self) -> None:
        width = self.scrollable_content_region.width
        if width <= 0 or width == self._wrapped_width:
            return
        starts: list[int] = []
        ends: list[int] = []
        offset = 0
        for line in self._text.split("\n"):
            for start, end in wrap_line(line, width):
                starts.append(offset + start)
                ends.append(offset + end)
            offset += len(line) + 1
        self._row_starts, self._row_ends = starts, ends
        self._wrapped_width = width
        self.virtual_size = Size(width, len(starts))

    def on_resize(self) -> None:
        self._rewrap()
        self.refresh()

    # -- search --------------------------------------------------------------------------------
    def search(self, query: str) -> int:
        """Highlight every case-insensitive match of `query`; move to the first one from the top
        row shown. Returns the number of matches (0 clears the search)."""
        self._query = query
        return self._find_matches(keep_position=True)

    def _find_matches(self, keep_position: bool) -> int:
        self._match_starts, self._match_ends, self._current = [], [], -1
        if self._query:
            for match in re.finditer(re.escape(self._query), self._text, re.IGNORECASE):
                self._match_starts.append(match.start())
                self._match_ends.append(match.end())
        if self._match_starts:
            top = (
                self._row_starts[min(int(self.scroll_y), len(self._row_starts) - 1)]
                if keep_position and self._row_starts
                else 0
            )
            first = bisect_left(self._match_starts, top)
            self._go_to_match(first if first < len(self._match_starts) else 0)
        self._update_status()
        self.refresh()
        return len(self._match_starts)

    def step_match(self, delta: int) -> None:
        """Move to the next (1) or previous (-1) match, wrapping around."""
        if self._match_starts:
            self._go_to_match((self._current + delta) % len(self._match_starts))
            self._update_status()
            self.refresh()

    def _go_to_match(self, index: int) -> None:
        self._current = index
        self.scroll_to_offset(self._match_starts[index])

    def row_of(self, offset: int) -> int:
        """The wrapped row that holds text offset `offset`."""
        return max(0, bisect_right(self._row_starts, offset) - 1)

    def _update_status(self) -> None:
        if not self._query:
            self.match_status = ""
        elif not self._match_starts:
            self.match_status = f"/{self._query}: no match"
        else:
            self.match_status = f"/{self._query}: {self._current + 1} of {len(self._match_starts)}"

    # -- rendering -----------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        row = int(self.scroll_y) + y
        base = self.rich_style
        if row >= len(self._row_starts):
            return Strip.blank(width, base)
        start, end = self._row_starts[row], self._row_ends[row]
        style = base
        heading = bisect_right(self._headings, (start, len(self._text) + 1)) - 1
        if heading >= 0 and self._headings[heading][0] <= start < self._headings[heading][1]:
            style = base + self.get_component_rich_style("trace-view--heading")
        segments = self._segments(start, end, style)
        return Strip(segments).extend_cell_length(width, style).crop(0, width)

    def _segments(self, start: int, end: int, style: Style) -> list[Segment]:
        """The row's text cut where its marks and search matches start and end, each part styled."""
        layers = [(f"trace-view--{kind}", *self._marks[kind]) for kind in self.MARK_KINDS if kind in self._marks]
        layers.append(("trace-view--match", self._match_starts, self._match_ends))
        styles: list[Style] | None = None
        for component, starts, ends in layers:
            i = bisect_right(ends, start)
            while i < len(starts) and starts[i] < end:
                if ends[i] > start:
                    if styles is None:
                        styles = [style] * (end - start)
                    name = (
                        "trace-view--current-match"
                        if component == "trace-view--match" and i == self._current
                        else component
                    )
                    layer = style + self.get_component_rich_style(name)
                    for k in range(max(starts[i], start) - start, min(ends[i], end) - start):
                        styles[k] = layer
                i += 1
        if styles is None:
            return [Segment(self._text[start:end], style)]
        segments = []
        run = 0
        for k in range(1, end - start + 1):
            if k == end - start or styles[k] is not styles[run]:
                segments.append(Segment(self._text[start + run : start + k], styles[run]))
                run = k
        return segments
