"""The conventions of terminal tools and labelling tools: command palette, footer per screen,
queue tabs with counts, compare with a word diff and decisions on the focused side, bulk
accept with one undo, the theme saved in the config; and the smaller fixes of issue 14 (a
staged note is not lost silently on quit, problem ids sort numerically, the sample list
shows the model when a problem has several)."""

from __future__ import annotations

from textual.command import CommandPalette

from db import open_store
from curate.review.commands import KeyTableCommands
from curate.review.compare_screen import CompareScreen
from curate.review.config import load_config
from curate.review.keys import for_scope
from curate.review.main_screen import MainScreen
from curate.review.trace_view import TraceView
from tests.curate.review.builder import build_store
from tests.curate.review.conftest import make_app, press, settle
from tests.curate.review.test_app import events


async def test_the_command_palette_lists_every_action_of_the_screen_and_runs_one(review_db, config):
    app = make_app(review_db, config)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        listed = [text for text, _ in KeyTableCommands(app.screen_stack[-2])._entries()]
        for entry in (*for_scope(app.keys, "app"), *for_scope(app.keys, "main")):
            assert any(text.startswith(entry.description) for text in listed), entry.name
        await pilot.press(*"Reject")
        await pilot.pause(0.5)
        await press(pilot, "enter")
        assert isinstance(app.screen, MainScreen)
    assert [e["decision"] for e in events(review_db)] == ["reject"]


async def test_footer_changes_with_the_screen_and_tabs_count_each_queue(review_db, config):
    with open_store(review_db) as store:
        store.execute("INSERT INTO review_events (sample_id, reviewer, decision) VALUES ('s00001-0', 'bob', 'flag')")
    app = make_app(review_db, config)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        tabs = str(app.screen.query_one("#tabs").render())
        assert tabs == "[1 pending 1/9 · 0%]  2 all 9  3 flagged 1  4 disagreements 3"
        await press(pilot, "a")  # the accepted sample leaves the pending queue
        assert str(app.screen.query_one("#tabs").render()).startswith("[1 pending 1/8 · 11%]")
        main_keys = {k.action for k in app.screen.query("FooterKey")}
        await press(pilot, "v")
        compare_keys = {k.action for k in app.screen.query("FooterKey")}
        assert "app.move(1)" in main_keys and "app.move(1)" not in compare_keys
        assert "screen.dismiss" in compare_keys and "app.decide('accept')" in compare_keys


async def test_compare_has_a_header_a_word_diff_and_decides_on_the_focused_side(review_db, config):
    app = make_app(review_db, config)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "v")
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        header = str(screen.query_one("#problem-text").render())
        assert "demo:00000" in header and "gold: 3" in header
        for _ in range(100):
            await pilot.pause(0.05)
            if "added" in screen.query_one("#right-trace", TraceView)._marks:
                break
        left, right = screen.query_one("#left-trace", TraceView), screen.query_one("#right-trace", TraceView)
        removed = [left.text[a:b] for a, b in zip(*left._marks["removed"])]
        added = [right.text[a:b] for a, b in zip(*right._marks["added"])]
        # Sample #1 says "2^{1+...}" and "Wait, ..." where #0 says "2^{0...}" and "So the answer follows."
        assert "$\\boxed{3}$." in removed and "$\\boxed{4}$." in added
        assert "Wait," in removed and "So" in added
        await press(pilot, "l", "r")  # reject the right sample (#0); the cursor does not move
        assert isinstance(app.screen, CompareScreen) and app.current_id == "s00000-1"
        await press(pilot, "h", "a")  # accept the left one
        assert "reject" in str(screen.query_one("#right-summary").render())
    assert [(e["sample_id"], e["decision"]) for e in events(review_db)] == [
        ("s00000-0", "reject"),
        ("s00000-1", "accept"),
    ]


async def test_bulk_accept_takes_every_correct_undecided_sample_of_the_problem_and_one_undo_reverts_it(
    review_db, config
):
    with open_store(review_db) as store:  # already decided by alice: left alone
        store.execute("INSERT INTO review_events (sample_id, reviewer, decision) VALUES ('s00000-2', 'alice', 'flag')")
    app = make_app(review_db, config)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "A")
        assert app.current_id == "s00001-1"  # s00000-1, accepted, left the pending queue: the cursor is on the next
        after = events(review_db)
        assert [(e["sample_id"], e["decision"]) for e in after[1:]] == [("s00000-1", "accept")]  # s00000-0 is incorrect
        await press(pilot, "u")
    with open_store(review_db, read_only=True) as store:
        assert store.query("SELECT sample_id, decision FROM review_current").rows() == [("s00000-2", "flag")]


async def test_one_undo_reverts_a_whole_bulk_accept(tmp_path, config):
    db = build_store(tmp_path / "five.duckdb", 1, 5)  # samples 1, 2, 4 are correct
    app = make_app(db, config)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "A")
        assert sorted(e["sample_id"] for e in events(db)) == ["s00000-1", "s00000-2", "s00000-4"]
        assert app.progress.decided == 3
        await press(pilot, "u")
        assert app.progress.decided == 0
    rows = events(db)
    assert [e["decision"] for e in rows].count("revert") == 3


async def test_the_theme_choice_is_saved_in_the_config(review_db, config):
    app = make_app(review_db, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "ctrl+t")
        chosen = app.theme
    assert load_config(config.path).theme == chosen


async def test_a_staged_note_is_not_lost_silently_on_quit(review_db, config):
    app = make_app(review_db, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "n")
        await pilot.press(*"remember")
        await press(pilot, "enter", "q")
        assert app.is_running
        assert any("remember" not in n.message and "note(s) not yet saved" in n.message for n in app._notifications)
        await press(pilot, "q")  # the second quit quits
        await pilot.pause(0.3)
    assert app.return_code == 0


async def test_problem_ids_sort_numerically_and_the_sample_list_shows_models(tmp_path, config):
    db = build_store(tmp_path / "numbers.duckdb", 12, 2, problem_id="aime:{}", models=("r1", "qwq"), select=False)
    app = make_app(db, config, queue="all")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        problems = list(dict.fromkeys(app.queue.problem_ids))
        assert problems == [f"aime:{i}" for i in range(12)]
        labels = [str(option.prompt) for option in app.screen.query_one("#siblings")._options]
        assert sorted(label.strip("▶ ")[:6] for label in labels) == ["#0 r1 ", "#1 qwq"]


async def test_the_footer_shows_the_decision_move_answer_and_help_keys_whole_at_80_columns(review_db, config):
    app = make_app(review_db, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for screen_keys in ("main", "compare"):
            if screen_keys == "compare":
                await press(pilot, "v")
            keys = list(app.screen.query("FooterKey"))
            palette = next(k for k in keys if k.has_class("-command-palette"))
            shown = {k.action for k in keys if k is not palette and k.region.right <= palette.region.x}
            wanted = {f"app.decide('{d}')" for d in ("accept", "reject", "flag", "skip")}
            wanted |= {"app.undo", "app.jump_answer", "app.help"}
            wanted |= {"app.move(1)", "app.move(-1)"} if screen_keys == "main" else {"screen.dismiss"}
            assert wanted <= shown, (screen_keys, wanted - shown)
