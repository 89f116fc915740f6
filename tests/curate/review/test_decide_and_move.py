"""Issue 14's bugs: a decision names the sample on screen; navigation coalesces (stale fetches
are dropped); Tab works in the filter dialog; empty queues keep their name and panels.

Slow fetches come from a real store read through `ReviewData`, held at a gate until the test
opens it (a big store on a slow disk, made deterministic), so the key presses outrun the fetches.
"""

from __future__ import annotations

import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass, field

from db import open_store
from textual.events import Key
from curate.review import app as app_module
from curate.review.data import DetailCache, ReviewData
from curate.review.filter_screen import FilterScreen
from curate.review.config import ReviewConfig
from tests.curate.review.builder import build_store
from tests.curate.review.conftest import make_app, press, settle
from tests.curate.review.test_app import events


@dataclass(frozen=True)
class SlowData(ReviewData):
    """The real store reads; a detail fetch waits for `gate` first. Records the ids fetched."""

    gate: threading.Event = field(default_factory=threading.Event)
    fetched: list = field(default_factory=list)

    def details(self, sample_ids):
        self.fetched.append(list(sample_ids))
        assert self.gate.wait(timeout=30), "the test never opened the gate"
        return super().details(sample_ids)


def slow(app) -> SlowData:
    """Fetches wait at a closed gate from now on; nothing is prefetched or cached."""
    app.data = SlowData(app.data.path, app.data.reviewer, app.data.wait_s)
    app.prefetch_radius = 0
    app.cache = DetailCache()
    return app.data


async def test_a_decision_while_the_next_problem_loads_names_the_sample_on_screen(review_db, config):
    app = make_app(review_db, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        data = slow(app)
        assert app.screen.shown_id == "s00000-1"
        await pilot.press("J")  # next problem: its sample is still loading
        on_screen = app.screen.shown_id
        assert app.current_id == "s00001-1" and on_screen == "s00000-1"
        await pilot.press("a")
        data.gate.set()
        await settle(pilot)
        assert app.current_id == "s00001-1"  # the cursor stays where J sent it
    assert [(e["sample_id"], e["decision"]) for e in events(review_db)] == [(on_screen, "accept")]


async def test_holding_j_and_J_with_slow_fetches_then_deciding_names_the_sample_on_screen(review_db, config):
    app = make_app(review_db, config, queue="all")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        data = slow(app)
        await pilot.press(*"jjjjj", "J", "j", "J", "k")  # held keys, each fetch slower than the keys
        on_screen = app.screen.shown_id
        target = app.current_id
        assert on_screen == "s00000-1" != target  # the case under test: the target is still loading
        await pilot.press("r")
        data.gate.set()
        await settle(pilot)
        assert app.screen.shown_id == target == app.current_id  # settled on the target
        # Stale fetches were dropped: only the one in flight when the keys began, then the target.
        assert data.fetched == [[app.queue.sample_ids[1]], [target]]
    assert [(e["sample_id"], e["decision"]) for e in events(review_db)] == [(on_screen, "reject")]


async def test_forty_held_keys_fetch_only_the_target(tmp_path, config):
    db = build_store(tmp_path / "long.duckdb", 20, 3)
    app = make_app(db, config, queue="all")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        data = slow(app)
        await pilot.press(*"j" * 40)
        data.gate.set()
        await settle(pilot)
        assert app.index == 40 and app.screen.shown_id == app.current_id
        assert data.fetched == [[app.queue.sample_ids[1]], [app.current_id]]


async def test_tab_and_shift_tab_move_between_the_filter_dialogs_fields(review_db, tmp_path):
    config = ReviewConfig(path=tmp_path / "review.toml", filters={"wrong": "verdict = 'incorrect'"})
    app = make_app(review_db, config)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "w")
        assert isinstance(app.screen, FilterScreen) and app.focused.id == "filter-where"
        await press(pilot, "tab")
        assert app.focused.id == "filter-name"
        await pilot.press(*"mine")
        await press(pilot, "tab")
        assert app.focused.id == "filter-saved"
        await press(pilot, "shift+tab", "shift+tab")
        assert app.focused.id == "filter-where"
        await press(pilot, "tab", "tab", "enter")  # the saved filter, chosen by keyboard alone
        assert app.queue.where == "verdict = 'incorrect'" and len(app.queue) == 3


async def test_an_empty_queue_keeps_its_name_and_reload_keeps_the_queue(tmp_path, config):
    db = build_store(tmp_path / "nojudge.duckdb", 2, 2)  # no judge, no decisions: no disagreements
    app = make_app(db, config)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "4")
        assert app.queue.kind == "disagreements" and len(app.queue) == 0
        problem = str(app.screen.query_one("#problem-text").render())
        assert "loading" not in problem and "no sample" in problem
        tabs = str(app.screen.query_one("#tabs").render())
        assert "[4 disagreements 0/0" in tabs and "[1 pending" not in tabs
        assert "Nothing to review in the disagreements queue" in app.screen.trace.text
        await press(pilot, "ctrl+r")
        assert app.queue.kind == "disagreements"  # reload keeps the (empty) queue
        await press(pilot, "a")
        assert any("the queue is empty" in n.message for n in app._notifications)
    with open_store(db, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM review_events") == 0


async def test_a_stale_fetch_that_is_a_neighbour_of_the_target_does_not_run_before_it(tmp_path, config):
    """A key pressed after a pause fetches its sample at once; keys held after it move on. That
    fetch is stale: the target's own fetch runs next, not it (it is only a neighbour now)."""
    db = build_store(tmp_path / "long.duckdb", 4, 3)
    app = make_app(db, config, queue="all")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        data = slow(app)
        app.prefetch_radius = 2
        ids = app.queue.sample_ids
        await pilot.press("j")  # sample 1's fetch waits at the gate
        await pilot.pause(3 * app_module.HELD_S)
        await pilot.press("j")  # a press after a pause: sample 2's fetch is queued behind it
        await pilot.press("j", "j")  # held: the cursor stops on sample 4
        await pilot.pause(3 * app_module.HELD_S)  # the hold settles: sample 4's fetch is queued
        data.gate.set()
        await settle(pilot)
        assert app.screen.shown_id == ids[4] == app.current_id
        assert data.fetched[:2] == [[ids[1]], [ids[4]]]  # then the prefetch of its neighbours


async def test_a_fetch_that_returns_while_a_key_is_held_starts_none_for_the_passed_over_sample(
    tmp_path, config, monkeypatch
):
    """The hold's end fetches the target; a fetch coming back mid-hold must not start one for the
    sample the cursor is passing (by the time it returns the cursor has moved on, and so on)."""
    monkeypatch.setattr(app_module, "HELD_S", 2.0)  # the hold outlasts the fetch coming back
    db = build_store(tmp_path / "long.duckdb", 4, 3)
    app = make_app(db, config, queue="all")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        data = slow(app)
        ids = app.queue.sample_ids
        await pilot.press("j", "j", "j")  # sample 1's fetch waits at the gate; the key is held
        data.gate.set()
        for _ in range(100):  # until sample 1's fetch is back
            await pilot.pause(0.01)
            if ids[1] in app.cache:
                break
        await pilot.pause(0.05)
        assert data.fetched == [[ids[1]]]  # nothing for sample 3 while the key is still held
        await settle(pilot)
        assert app.screen.shown_id == ids[3] == app.current_id
        assert data.fetched == [[ids[1]], [ids[3]]]


async def test_a_held_key_reads_ahead_and_draws_only_where_it_stops(tmp_path, config, monkeypatch):
    """While j is held the store thread fetches the samples the key reaches next, so the target
    is cached by the time the key stops; nothing passed over is drawn."""
    monkeypatch.setattr(app_module, "HELD_S", 2.0)  # the hold outlasts the reading ahead
    db = build_store(tmp_path / "long.duckdb", 10, 3)
    app = make_app(db, config, queue="all")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        ids = app.queue.sample_ids
        await pilot.press(*"j" * 8)
        for _ in range(150):  # the reading ahead comes back while the key still counts as held
            await pilot.pause(0.01)
            if not app.in_flight:
                break
        assert app._settle_timer is not None
        assert app.screen.shown_id == ids[1]  # the first press (not held yet) drew at once, then nothing
        assert all(i in app.cache for i in ids[8:12])  # the target and beyond
        await settle(pilot)
        assert app.screen.shown_id == ids[8] == app.current_id


async def test_a_repeat_handled_late_still_counts_as_held(review_db, config, monkeypatch):
    """A held key is told by when its repeats came in: a repeat that waited while the app was
    busy (a frame, another process) must not count as a new single press and draw its sample."""
    monkeypatch.setattr(app_module, "HELD_S", 1.0)
    app = make_app(review_db, config, queue="all")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        ids = app.queue.sample_ids
        came_in = time.monotonic()
        first = Key("j", "j")
        first.time = came_in
        app.post_message(first)
        await settle(pilot)
        assert app.screen.shown_id == ids[1]  # a single press draws at once
        await pilot.pause(1.5)  # the app was busy: the repeat, in since came_in + 0.03 s, is handled now
        repeat = Key("j", "j")
        repeat.time = came_in + 0.03
        app.post_message(repeat)
        await pilot.pause(0.1)
        assert app.current_id == ids[2] and app.screen.shown_id == ids[1]  # held: drawn once it stops
        await settle(pilot)
        assert app.screen.shown_id == ids[2]


@dataclass(frozen=True)
class SlowCounts(ReviewData):
    """The real store; the first queue count is a long real query (a big store's count made long)."""

    started: threading.Event = field(default_factory=threading.Event)

    def queue_counts(self, where, stop=None):
        if not self.started.is_set():
            self.started.set()
            with self._read() as store, stop.running(store) if stop is not None else nullcontext():
                store.scalar("SELECT sum(hash(i)) FROM range(2000000000) t(i)")  # seconds of work
        return super().queue_counts(where, stop)


async def test_moving_on_after_a_decision_does_not_wait_for_the_queue_count(review_db, config):
    app = make_app(review_db, config, queue="all")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.data = SlowCounts(app.data.path, app.data.reviewer, app.data.wait_s)
        app.prefetch_radius = 0
        app.cache = DetailCache()
        await pilot.press("a")  # decided: the next sample is fetched, then the queues are counted
        for _ in range(300):
            await pilot.pause(0.01)
            if app.data.started.is_set():  # the long count is running
                break
        await pilot.press("j")  # this sample's fetch must not wait for it
        for _ in range(100):
            await pilot.pause(0.01)
            if app.screen.shown_id == app.current_id:
                break
        assert app.screen.shown_id == app.current_id == app.queue.sample_ids[2]
        await settle(pilot)
        assert app.counts is not None and app.counts["all"] == 9  # counted again once the fetches were done
