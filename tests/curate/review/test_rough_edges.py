"""Issue 29 item 9: a decided sample leaves a queue it no longer belongs to; a filter shows at
80 columns; `m` keeps the trace where it was; the help fits 80x24 and scrolls; the command
palette lists Quit once."""

from __future__ import annotations

from textual.command import CommandPalette
from textual.widgets import OptionList

from curate.review.help_screen import SCOPE_TITLES, HelpScreen, help_rows
from curate.review.main_screen import MainScreen
from tests.curate.review.builder import build_store
from tests.curate.review.conftest import make_app, press, settle
from tests.curate.review.test_app import events, trace_of


async def test_a_decided_sample_leaves_the_pending_queue_and_undo_brings_it_back(review_db, config):
    app = make_app(review_db, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert len(app.queue) == 9
        await press(pilot, "a")
        assert app.queue.index_of("s00000-1") is None and len(app.queue) == 8
        assert app.current_id == "s00001-1" == app.screen.shown_id
        await press(pilot, "k")  # nothing before it now
        assert app.current_id == "s00001-1"
        await press(pilot, "s")  # a skipped sample is still pending: it stays
        assert app.queue.index_of("s00001-1") is not None and app.current_id == "s00002-1"
        await press(pilot, "u", "u")
        assert app.current_id == "s00000-1" == app.screen.shown_id and len(app.queue) == 9


async def test_the_last_sample_of_a_filtered_queue_leaves_it_once_decided(review_db, config):
    app = make_app(review_db, config, where="sample_index = 1")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "j", "j")
        assert app.current_id == "s00002-1"
        await press(pilot, "r")  # the last one: there is no next sample to move on to
        assert app.queue.sample_ids == ["s00000-1", "s00001-1"]
        assert app.current_id == "s00001-1" == app.screen.shown_id
        await press(pilot, "a", "a")
        assert len(app.queue) == 0 and app.screen.shown_id is None
        assert "Nothing to review in the pending queue under this filter" in trace_of(app).text
    assert [e["decision"] for e in events(review_db)] == ["reject", "accept", "accept"]


async def test_a_sample_accepted_in_the_flagged_queue_leaves_it_but_one_flagged_again_stays(review_db, config):
    app = make_app(review_db, config, queue="all")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "f", "f", "3")
        assert app.queue.kind == "flagged" and app.queue.sample_ids == ["s00000-1", "s00001-1"]
        await press(pilot, "f")
        assert len(app.queue) == 2
        await press(pilot, "a")
        assert app.queue.sample_ids == ["s00000-1"] and app.current_id == "s00000-1"


async def test_a_filter_shows_in_the_queue_tabs_at_80_columns(review_db, config):
    where = "verdict = 'correct' AND agreement > 0.5 AND length_tokens < 100000"
    app = make_app(review_db, config, where=where)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        tabs = app.screen.query_one("#tabs")
        assert str(tabs.render()).startswith("FILTERED  [1 pending 1/6")
        await press(pilot, "w", "ctrl+u", "enter")  # the filter cleared: the marker goes
        assert app.queue.where is None
        assert str(tabs.render()).startswith("[1 pending 1/9")


def line_at_top(trace) -> int:
    """The number of the text line whose row is at the top of the trace view."""
    top = next(offset for offset in range(len(trace.text)) if trace.row_of(offset) == int(trace.scroll_y))
    return trace.text.count("\n", 0, top)


async def test_m_keeps_the_trace_at_the_line_it_was_on(tmp_path, config, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    db = build_store(tmp_path / "long.duckdb", 2, 2, paragraphs=30)
    app = make_app(db, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        trace = trace_of(app)
        await press(pilot, *["ctrl+e"] * 12)
        line = line_at_top(trace)
        assert trace.scroll_y > 0 and line > 0
        await press(pilot, "m")
        assert "∑" in trace.text  # shown as Unicode now
        assert trace.scroll_y > 0 and line_at_top(trace) == line
        assert app.current_id == "s00000-1" == app.screen.shown_id
        await press(pilot, "m")
        assert line_at_top(trace) == line


async def test_the_help_fits_80x24_wraps_under_its_description_and_scrolls(review_db, config):
    app = make_app(review_db, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "?")
        assert isinstance(app.screen, HelpScreen)
        body = app.screen.query_one("#help-body")
        text = app.screen.query_one("#help-text")
        assert body.region.width <= 80 and body.region.height <= 24
        lines = str(text.render()).split("\n")
        width = text.size.width
        assert all(len(line) <= width for line in lines)
        keys_width = lines[1].index("Help: every key")
        titles = set(SCOPE_TITLES.values())
        labels = {keys for _, keys, _ in help_rows(app.keys)}
        # Every line is a title, a key row, or a wrapped description going on under itself.
        for line in lines:
            assert (
                not line or line in titles or line[:keys_width].strip() in labels or line.startswith(" " * keys_width)
            )
        assert any(line.startswith(" " * keys_width) and line.strip() for line in lines)  # one did wrap
        assert body.max_scroll_y > 0
        await press(pilot, "space")
        assert body.scroll_y > 0
        await press(pilot, "G")
        assert body.scroll_y == body.max_scroll_y
        await press(pilot, "g", "j")
        assert body.scroll_y == 1
        await press(pilot, "q")
        assert isinstance(app.screen, MainScreen)


async def test_the_command_palette_lists_quit_once(review_db, config):
    app = make_app(review_db, config)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"quit")
        results = app.screen.query_one(OptionList)
        for _ in range(100):
            await pilot.pause(0.05)
            prompts = [str(option.prompt) for option in results.options]
            if any("quit" in prompt.lower() for prompt in prompts):
                break
        await pilot.pause(0.3)  # every provider has answered
        quits = [p for p in (str(option.prompt) for option in results.options) if "quit" in p.lower()]
        assert len(quits) == 1 and quits[0].startswith("Save pending decisions and quit")
