"""TraceView's text handling: faithful raw text, wrapping, search."""

from __future__ import annotations

from textual.app import App, ComposeResult

from curate.review.trace_view import TraceView, display_text, wrap_line

LATEX = "So $\\boxed{\\dfrac34}$, with x_1 * y_2 and **not bold** and [b]not markup[/b]."


def _rows(line: str, width: int) -> list[str]:
    return [line[s:e] for s, e in wrap_line(line, width)]


def test_wrapping_keeps_every_character_and_fits_the_width():
    line = "alpha beta gamma delta epsilon zeta eta theta " * 5 + "x" * 50
    rows = _rows(line, 17)
    assert "".join(rows) == line
    assert all(len(row) <= 17 for row in rows)
    assert rows[0] == "alpha beta gamma "  # breaks after the last space that fits


def test_wrapping_counts_wide_characters_as_two_cells():
    line = "数学" * 20 + " and more text"
    rows = _rows(line, 10)
    assert "".join(rows) == line
    assert rows[0] == "数学数学数"


def test_display_text_changes_only_tabs_line_ends_and_control_characters():
    assert display_text(LATEX) == LATEX
    assert display_text("a\tb\r\nc\rd\x00e") == "a    b\nc\nd\ufffde"


class _TraceApp(App):
    def compose(self) -> ComposeResult:
        yield TraceView(id="trace")


async def test_raw_latex_is_shown_as_written_and_search_finds_every_match():
    app = _TraceApp()
    async with app.run_test(size=(60, 10)) as pilot:
        trace = app.query_one(TraceView)
        body = "\n".join(f"line {i}: wait, {LATEX}" for i in range(200))
        trace.set_sections([("reasoning", body), ("final content", None)])
        await pilot.pause()
        assert LATEX[:20] in "".join(strip.text for strip in (trace.render_line(y) for y in range(3)))
        assert trace.search("WAIT") == 200
        assert trace.match_status == "/WAIT: 1 of 200"
        trace.step_match(-1)
        assert trace.match_status == "/WAIT: 200 of 200"
        await pilot.pause()
        assert trace.scroll_y > 0  # the last match was scrolled into view
        assert trace.text.endswith("── final content ──")  # a missing body: the heading line alone
        assert trace.search("") == 0 and trace.match_status == ""
