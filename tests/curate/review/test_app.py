"""The review app driven by key presses (and clicks) against real DuckDB files."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from db import open_store
from curate.review.compare_screen import CompareScreen
from curate.review.config import ReviewConfig, load_config
from curate.review.data import ReviewData
from curate.review.filter_screen import FilterScreen
from curate.review.help_screen import HelpScreen
from curate.review.main_screen import MainScreen
from curate.review.sibling_list import SiblingList
from curate.review.text_prompt import TextPrompt
from curate.review.trace_view import TraceView
from tests.curate.review.conftest import make_app, press, settle


def events(db) -> list[dict]:
    with open_store(db, read_only=True) as store:
        return store.query(
            "SELECT event_id, sample_id, reviewer, decision, note, corrected_answer, reverts_event_id "
            "FROM review_events ORDER BY event_id"
        ).to_dicts()


def trace_of(app) -> TraceView:
    return app.screen.query_one("#trace", TraceView)


async def test_the_first_screen_resumes_at_the_first_selected_undecided_sample(review_db, config):
    with open_store(review_db) as store:
        store.execute(
            "INSERT INTO review_events (sample_id, reviewer, decision) VALUES ('s00000-1', 'alice', 'accept')"
        )
    app = make_app(review_db, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        assert app.current_id == "s00001-1" and app.screen.shown_id == "s00001-1"
        assert "\\sum_{k=1}^{3} k^2" in trace_of(app).text


@pytest.mark.parametrize("key,decision", [("a", "accept"), ("r", "reject"), ("f", "flag"), ("s", "skip")])
async def test_each_decision_key_appends_one_event_and_moves_on(review_db, config, key, decision):
    app = make_app(review_db, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, key)
        assert app.current_id == "s00001-1"
        assert app.progress.mine == {decision: 1}
    assert events(review_db) == [
        {
            "event_id": 1,
            "sample_id": "s00000-1",
            "reviewer": "alice",
            "decision": decision,
            "note": None,
            "corrected_answer": None,
            "reverts_event_id": None,
        }
    ]


async def test_undo_appends_reverts_newest_first_and_returns_to_the_sample(review_db, config):
    app = make_app(review_db, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "a", "r", "u")
        assert app.current_id == "s00001-1"
        await press(pilot, "u")
        assert app.current_id == "s00000-1"
        await press(pilot, "u")  # nothing left: no event written
    rows = events(review_db)
    assert [(e["decision"], e["sample_id"], e["reverts_event_id"]) for e in rows] == [
        ("accept", "s00000-1", None),
        ("reject", "s00001-1", None),
        ("revert", "s00001-1", 2),
        ("revert", "s00000-1", 1),
    ]
    with open_store(review_db, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM review_current") == 0


async def test_a_note_is_saved_with_the_next_decision_and_typing_q_in_it_does_not_quit(review_db, config):
    app = make_app(review_db, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "n")
        assert isinstance(app.screen, TextPrompt)
        await pilot.press(*"quite $x_1$ off")
        await press(pilot, "enter")
        assert isinstance(app.screen, MainScreen) and app.staged_notes == {"s00000-1": "quite $x_1$ off"}
        await press(pilot, "n", "x", "escape")  # cancelled: the staged note stays as it was
        assert app.staged_notes == {"s00000-1": "quite $x_1$ off"}
        await press(pilot, "f")
        assert app.staged_notes == {}
    assert [(e["decision"], e["note"]) for e in events(review_db)] == [("flag", "quite $x_1$ off")]


async def test_corrected_answer_accepts_with_the_fix(review_db, config):
    app = make_app(review_db, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "c")
        prompt = app.screen.query_one("#prompt-input")
        assert prompt.value == "3"  # prefilled with the extracted answer
        prompt.value = ""
        await pilot.press(*"\\frac{6}{2}")
        await press(pilot, "enter")
        assert app.current_id == "s00001-1"
    assert [(e["decision"], e["corrected_answer"]) for e in events(review_db)] == [("accept", "\\frac{6}{2}")]


async def test_moving_by_sample_and_by_problem(review_db, config):
    app = make_app(review_db, config, queue="all")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        order = list(app.queue.sample_ids)
        assert order[:4] == ["s00000-1", "s00001-1", "s00002-1", "s00000-0"]
        await press(pilot, "j", "down")
        assert app.index == 2 and app.screen.shown_id == order[2]
        await press(pilot, "k", "up", "up")
        assert app.index == 0
        await press(pilot, "J")  # s00000-1 -> s00001-1 (next problem in queue order)
        assert app.current_id == "s00001-1"
        await press(pilot, "shift+down", "shift+down")
        assert app.current_id == "s00000-0"
        await press(pilot, "K")
        assert app.current_id == "s00002-1"
        await press(pilot, "shift+up")
        assert app.current_id == "s00001-1"


async def test_search_keys_find_and_step_through_matches(review_db, config):
    app = make_app(review_db, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "/")
        assert isinstance(app.screen, TextPrompt)
        await pilot.press(*"x_1")
        await press(pilot, "enter")
        trace = trace_of(app)
        assert trace.match_status == "/x_1: 1 of 3"
        await press(pilot, ".", ".")
        assert trace.match_status == "/x_1: 3 of 3"
        await press(pilot, ",")
        assert trace.match_status == "/x_1: 2 of 3"


async def test_scroll_keys_move_a_long_trace(tmp_path, config):
    from tests.curate.review.builder import build_store

    db = build_store(tmp_path / "long.duckdb", 1, 2, paragraphs=200)
    app = make_app(db, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        trace = trace_of(app)
        page = trace.scrollable_content_region.height
        await press(pilot, "pagedown")
        assert trace.scroll_y == page
        await press(pilot, "space", "b")
        assert trace.scroll_y == page
        await press(pilot, "pageup", "ctrl+e", "ctrl+e", "ctrl+y")
        assert trace.scroll_y == 1
        await press(pilot, "end")
        assert trace.scroll_y == trace.max_scroll_y > page
        await press(pilot, "home", "G")
        assert trace.scroll_y == trace.max_scroll_y
        await press(pilot, "g")
        assert trace.scroll_y == 0


async def test_compare_shows_two_samples_and_cycles_the_right_one(review_db, config):
    app = make_app(review_db, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "v")
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        assert screen.left.sample_id == "s00000-1" and screen.right_id == "s00000-0"
        assert "\\boxed{4}" in screen.query_one("#right-trace", TraceView).text
        await press(pilot, "]")
        assert screen.right_id == "s00000-2"
        await press(pilot, "[", "[")
        assert screen.right_id == "s00000-2"
        await press(pilot, "pagedown", "space", "pageup", "b")
        await press(pilot, "escape")
        assert isinstance(app.screen, MainScreen)
        await press(pilot, "v", "v")  # v closes it too
        assert isinstance(app.screen, MainScreen)


async def test_queue_keys_switch_queues_and_reload_keeps_the_sample(review_db, config):
    with open_store(review_db) as store:
        store.execute("INSERT INTO review_events (sample_id, reviewer, decision) VALUES ('s00001-0', 'bob', 'flag')")
    app = make_app(review_db, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "3")
        assert app.queue.kind == "flagged" and app.queue.sample_ids == ["s00001-0"]
        await press(pilot, "4")
        assert app.queue.kind == "disagreements" and set(app.queue.sample_ids) == {"s00000-0", "s00001-0", "s00002-0"}
        await press(pilot, "2")
        assert app.queue.kind == "all" and len(app.queue) == 9 and app.current_id == "s00001-0"
        await press(pilot, "1")
        assert app.queue.kind == "pending"
        await press(pilot, "j")
        current = app.current_id
        with open_store(review_db) as store:  # another reviewer decides meanwhile
            store.execute(
                "INSERT INTO review_events (sample_id, reviewer, decision) VALUES ('s00002-2', 'bob', 'reject')"
            )
        await press(pilot, "ctrl+r")
        assert app.current_id == current and app.progress.others == {"bob": 2}


async def test_filter_dialog_applies_saves_and_reuses_filters(review_db, tmp_path):
    config = ReviewConfig(path=tmp_path / "cfg" / "review.toml", filters={"wrong": "verdict = 'incorrect'"})
    app = make_app(review_db, config)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "w")
        assert isinstance(app.screen, FilterScreen)
        await pilot.press(*"sample_index = 2")
        app.screen.query_one("#filter-name").value = "third"
        await press(pilot, "enter")
        assert app.queue.where == "sample_index = 2" and len(app.queue) == 3
        assert load_config(config.path).filters == {"wrong": "verdict = 'incorrect'", "third": "sample_index = 2"}
        await press(pilot, "w")
        await pilot.click("#filter-saved", offset=(2, 0))  # the first saved filter
        await settle(pilot)
        assert app.queue.where == "verdict = 'incorrect'" and len(app.queue) == 3
        await press(pilot, "w", "ctrl+u", "enter")  # empty clears the filter
        assert app.queue.where is None and len(app.queue) == 9


async def test_a_bad_filter_shows_its_error_in_the_dialog_and_keeps_the_typed_text(review_db, config):
    app = make_app(review_db, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "w")
        await pilot.press(*"nonsense >")
        await press(pilot, "enter")
        assert isinstance(app.screen, FilterScreen)  # still open, with the error and the text
        assert "Parser Error" in str(app.screen.query_one("#filter-error").render())
        assert app.screen.query_one("#filter-where").value == "nonsense >"
        assert len(app.queue) == 9 and app.queue.where is None
        await pilot.press("ctrl+u", *"sample_index = 2")
        await press(pilot, "enter")
        assert isinstance(app.screen, MainScreen)
        assert app.queue.where == "sample_index = 2" and len(app.queue) == 3


async def test_help_opens_and_closes(review_db, config):
    app = make_app(review_db, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "?")
        assert isinstance(app.screen, HelpScreen)
        await press(pilot, "escape")
        assert isinstance(app.screen, MainScreen)
        await press(pilot, "?", "?")
        assert isinstance(app.screen, MainScreen)


async def test_theme_key_switches_light_and_dark(review_db, config):
    app = make_app(review_db, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        dark = app.current_theme.dark
        await press(pilot, "ctrl+t")
        assert app.current_theme.dark is not dark
        await press(pilot, "ctrl+t")
        assert app.current_theme.dark is dark


async def test_quit_waits_for_the_queued_decision(review_db, config):
    app = make_app(review_db, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("a", "q")  # no wait between them
        await pilot.pause(0.5)
        await settle(pilot)
    assert app.return_code == 0
    assert [e["decision"] for e in events(review_db)] == ["accept"]


async def test_remapped_keys_replace_the_defaults(review_db, tmp_path):
    path = tmp_path / "review.toml"
    path.write_text('[keys]\naccept = "y"\nquit = "ctrl+q"\n', encoding="utf-8")
    app = make_app(review_db, load_config(path))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "a", "q")  # no longer bound
        assert events(review_db) == [] and app.is_running
        await press(pilot, "y")
        assert [e["decision"] for e in events(review_db)] == ["accept"]


async def test_mouse_only_review_clicks_the_footer_and_the_sibling_list(review_db, config):
    app = make_app(review_db, config)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        footer_keys = [k for k in app.screen.query("FooterKey") if k.action == "app.decide('reject')"]
        await pilot.click(footer_keys[0])
        await settle(pilot)
        assert [e["decision"] for e in events(review_db)] == ["reject"]
        assert app.current_id == "s00001-1"
        await pilot.click("#siblings", offset=(2, 1))  # the first sibling: sample #0
        await settle(pilot)
        assert isinstance(app.screen, CompareScreen) and app.screen.right_id == "s00001-0"


async def test_missing_verdicts_and_scores_show_as_dashes(bare_db, config):
    app = make_app(bare_db, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        details = str(app.screen.query_one("#details").render())
        assert "Verdict —" in details and "Agree   —" in details


async def test_an_empty_queue_says_so_and_decisions_do_nothing(review_db, config):
    app = make_app(review_db, config, queue="flagged")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert len(app.queue) == 0 and "Nothing to review" in trace_of(app).text
        await press(pilot, "a", "j", "v", "n", "c")
        assert isinstance(app.screen, MainScreen)
    assert events(review_db) == []


READER = textwrap.dedent("""
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    print(con.execute("SELECT count(*) FROM review_events").fetchone()[0])
""")


async def test_another_process_can_read_the_store_while_the_app_is_open(review_db, config):
    app = make_app(review_db, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "a")
        result = subprocess.run(
            [sys.executable, "-c", READER, str(review_db)], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "1"


HOLDER = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])
    print("holding", flush=True)
    sys.stdin.readline()
""")


async def test_a_decision_the_locked_store_refuses_stays_on_screen_and_is_retried_until_saved(review_db):
    app = make_app(review_db, ReviewConfig(path=review_db.parent / "none.toml", wait_s=0.3))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(review_db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        try:
            assert holder.stdout.readline().strip() == "holding"
            await press(pilot, "n")
            await pilot.press(*"keep me")
            await press(pilot, "enter", "a")
            messages = [n.message for n in app._notifications]
            assert any("accept on s00000-1 is NOT saved yet" in m and "one writer at a time" in m for m in messages)
            # Not saved: the cursor is back on the sample, which says so, and the status bar counts it.
            assert app.current_id == "s00000-1" and app.screen.shown_id == "s00000-1"
            assert "NOT SAVED" in str(app.screen.query_one("#details").render())
            assert "1 NOT SAVED" in str(app.screen.query_one("#status").render())
            assert list(app.unsaved) == ["s00000-1"] and app.unsaved["s00000-1"].note == "keep me"
            await press(pilot, "q")  # quitting now would lose it: the first quit only warns
            assert app.is_running
        finally:
            holder.stdin.close()
            holder.wait(timeout=30)
        for _ in range(100):  # the retry timer saves it once the other process is gone
            await pilot.pause(0.1)
            if not app.unsaved and not app.busy:
                break
        assert app.unsaved == {}
        assert "NOT SAVED" not in str(app.screen.query_one("#status").render())
    assert [(e["sample_id"], e["decision"], e["note"]) for e in events(review_db)] == [
        ("s00000-1", "accept", "keep me")
    ]


async def test_the_first_screen_comes_from_the_queue_head_and_the_whole_queue_replaces_it(review_db, config):
    app = make_app(review_db, config, queue="all")
    app.queue_page = 3
    pages = []

    class CountingData(ReviewData):
        def load_queue(self, *args):
            loaded = super().load_queue(*args)
            pages.append(len(loaded.queue))
            return loaded

    app.data = CountingData(app.data.path, app.data.reviewer, app.data.wait_s)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert pages == [3]  # the first screen waited for three samples, not nine
        assert app.queue.complete and len(app.queue) == 9
        assert app.index == 0 and app.screen.shown_id == app.queue.sample_ids[0]
        siblings = app.screen.query_one(SiblingList)
        assert siblings.option_count == 3 and "loading" not in str(siblings.border_title)  # read after the first screen
        await press(pilot, "j", "j", "j", "j")
        assert app.current_id == app.screen.shown_id == app.queue.sample_ids[4]  # past the first page


async def test_the_queue_tab_says_when_only_the_first_page_is_listed():
    from textual.app import App

    from curate.review.queue_tabs import QueueTabs

    class Tabs(App):
        def compose(self):
            yield QueueTabs()

    app = Tabs()
    async with app.run_test(size=(80, 3)):
        tabs = app.query_one(QueueTabs)
        tabs.show(kind="all", position=0, length=1000, counts=None, progress=None, complete=False)
        assert "[2 all 1/1000+]" in str(tabs.render())
        tabs.show(kind="all", position=0, length=9, counts=None, progress=None)
        assert "[2 all 1/9]" in str(tabs.render())


async def test_the_sibling_list_says_when_the_siblings_are_still_being_read():
    from textual.app import App

    class Siblings(App):
        def compose(self):
            yield SiblingList()

    app = Siblings()
    async with app.run_test(size=(80, 10)):
        siblings = app.query_one(SiblingList)
        siblings.show([], "s1", loading=True)
        assert "loading" in str(siblings.border_title) and siblings.option_count == 0
        siblings.show([{"sample_id": "s1", "sample_index": 0, "model": "m", "verdict": "correct", "answer": "2"}], "s1")
        assert str(siblings.border_title) == "Samples of this problem (1)"
