"""Wrong steps in the review app: the claims a current step check flags (wrong, not taken back)
are marked in the trace, listed in the side panel, and a key jumps from one to the next."""

from __future__ import annotations

from curate.review.keys import KEY_TABLE
from curate.review.trace_view import TraceView
from db import open_store
from tests.curate.curation_store import add_step_checks
from tests.curate.review.builder import build_store
from tests.curate.review.conftest import make_app, press, settle

EARLY = "2^{6} stays under 10^{6}"  # step 6 of the shown sample
LATE = "2^{100} stays under 10^{6}"  # step 100
TAKEN_BACK = "2^{10} stays under 10^{6}"
FINE = "2^{3} stays under 10^{6}"


def flagged_store(tmp_path):
    db = build_store(tmp_path / "steps.duckdb", 1, 2, paragraphs=120)
    with open_store(db) as store:
        add_step_checks(
            store,
            "s00000-1",
            [(FINE, "ok", False), (EARLY, "wrong", False), (TAKEN_BACK, "wrong", True), (LATE, "wrong", False)],
        )
    return db


def marked(trace: TraceView) -> list[str]:
    return [trace.text[a:b] for a, b in zip(*trace._marks["step"])]


async def test_flagged_claims_are_marked_listed_and_the_key_jumps_between_them(tmp_path, config):
    app = make_app(flagged_store(tmp_path), config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.current_id == "s00000-1"
        trace = app.screen.query_one("#trace", TraceView)
        assert marked(trace) == [EARLY, LATE]  # the retracted and the ok claim are not marked
        details = str(app.screen.query_one("#details").render())
        assert "Steps   2 wrong" in details and "✗ 2^{6} stays under 10^{6}" in details
        assert "steps/1: wrong claim" in details and TAKEN_BACK not in details
        starts = trace._marks["step"][0]
        await press(pilot, "e")
        assert trace.scroll_y <= trace.row_of(starts[0]) < trace.scroll_y + trace.size.height
        await press(pilot, "e")
        late_row = trace.row_of(starts[1])
        assert trace.scroll_y > 0 and trace.scroll_y <= late_row < trace.scroll_y + trace.size.height
        await press(pilot, "e")  # wraps around to the first
        assert trace.scroll_y <= trace.row_of(starts[0]) < trace.scroll_y + trace.size.height
        await press(pilot, "E")
        assert trace.scroll_y <= late_row < trace.scroll_y + trace.size.height


async def test_marks_follow_the_unicode_view_and_a_trace_without_flags_says_so(tmp_path, config):
    app = make_app(flagged_store(tmp_path), config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "m")
        trace = app.screen.query_one("#trace", TraceView)
        assert marked(trace) == ["2⁶ stays under 10⁶", "2¹⁰⁰ stays under 10⁶"]
        await press(pilot, "j")
        assert app.current_id == "s00000-0" and trace._marks["step"] == ([], [])
        await press(pilot, "e")
        assert "no step check flags a wrong step" in " ".join(str(n.message) for n in app._notifications)


async def test_a_check_of_earlier_content_is_not_shown(tmp_path, config):
    db = flagged_store(tmp_path)
    with open_store(db) as store:
        store.execute("UPDATE samples SET reasoning = reasoning || ' More.' WHERE sample_id = 's00000-1'")
        store.rehash_samples("s.sample_id = 's00000-1'")
    app = make_app(db, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.screen.query_one("#trace", TraceView)._marks["step"] == ([], [])
        assert "Steps" not in str(app.screen.query_one("#details").render())


def test_the_jump_keys_are_in_the_key_table():
    names = {entry.name: entry for entry in KEY_TABLE}
    assert names["next_step"].keys == ("e",) and names["next_step"].action == "app.jump_step(1)"
    assert names["previous_step"].keys == ("E",)
