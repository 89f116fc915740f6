"""SVG snapshots of the main screens at 80x24 and 120x40 (update: pytest --snapshot-update).

The store is built deterministically and the app shows no timestamps, so a snapshot changes
only when the layout or the text shown does.
"""

from __future__ import annotations

import pytest

from curate.review.config import ReviewConfig
from tests.curate.review.conftest import make_app, press, settle

SIZES = {"80x24": (80, 24), "120x40": (120, 40)}


def _before(*keys: str):
    async def run_before(pilot) -> None:
        await settle(pilot)
        await press(pilot, *keys)

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_main_view(snap_compare, review_db, config, size):
    assert snap_compare(make_app(review_db, config), terminal_size=SIZES[size], run_before=_before())


@pytest.mark.parametrize("size", SIZES)
def test_help_screen(snap_compare, review_db, config, size):
    assert snap_compare(make_app(review_db, config), terminal_size=SIZES[size], run_before=_before("?"))


@pytest.mark.parametrize("size", SIZES)
def test_compare_view(snap_compare, review_db, config, size):
    assert snap_compare(make_app(review_db, config), terminal_size=SIZES[size], run_before=_before("v"))


@pytest.mark.parametrize("size", SIZES)
def test_note_input(snap_compare, review_db, config, size):
    assert snap_compare(make_app(review_db, config), terminal_size=SIZES[size], run_before=_before("n", *"off by one"))


def test_main_view_light_theme_after_a_decision_with_search(snap_compare, review_db, tmp_path):
    config = ReviewConfig(path=tmp_path / "review.toml", theme="textual-light")
    keys = ("a", "k", "/", *"x_1", "enter")  # the all queue keeps the decided sample (pending drops it)
    app = make_app(review_db, config, queue="all")
    assert snap_compare(app, terminal_size=(80, 24), run_before=_before(*keys))


def test_main_view_before_verify_and_score(snap_compare, bare_db, config):
    assert snap_compare(make_app(bare_db, config), terminal_size=(80, 24), run_before=_before())


async def _wait_for_diff(pilot) -> None:
    from curate.review.trace_view import TraceView

    for _ in range(200):
        await pilot.pause(0.05)
        if "added" in pilot.app.screen.query_one("#right-trace", TraceView)._marks:
            return


def _compare_with_diff():
    async def run_before(pilot) -> None:
        await settle(pilot)
        await press(pilot, "v")
        await _wait_for_diff(pilot)
        await press(pilot, "l")

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_compare_view_with_diff_focused_right(snap_compare, review_db, config, size):
    assert snap_compare(make_app(review_db, config), terminal_size=SIZES[size], run_before=_compare_with_diff())


@pytest.mark.parametrize("size", SIZES)
def test_main_view_as_unicode(snap_compare, review_db, config, size):
    assert snap_compare(make_app(review_db, config), terminal_size=SIZES[size], run_before=_before("m"))


@pytest.mark.parametrize("size", SIZES)
def test_filter_dialog_with_an_error(snap_compare, review_db, config, size):
    keys = ("w", *"verdict = ", "enter")
    assert snap_compare(make_app(review_db, config), terminal_size=SIZES[size], run_before=_before(*keys))


@pytest.mark.parametrize("size", SIZES)
def test_empty_queue(snap_compare, review_db, config, size):
    assert snap_compare(make_app(review_db, config, queue="flagged"), terminal_size=SIZES[size], run_before=_before())


def test_main_view_with_a_wrong_step_marked_and_listed(snap_compare, tmp_path, config, monkeypatch):
    from tests.curate.review.test_wrong_steps import flagged_store

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    app = make_app(flagged_store(tmp_path), config)
    assert snap_compare(app, terminal_size=(120, 40), run_before=_before("e"))


@pytest.mark.parametrize("size", SIZES)
def test_code_sample_with_its_program_and_test_report(snap_compare, tmp_path, config, monkeypatch, size):
    from tests.curate.review.builder import build_code_and_sql_store

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    app = make_app(build_code_and_sql_store(tmp_path / "code.duckdb"), config, queue="all")
    assert snap_compare(app, terminal_size=SIZES[size], run_before=_before())


def test_sql_sample_with_its_query_and_verdict_reason(snap_compare, tmp_path, config, monkeypatch):
    from tests.curate.review.builder import build_code_and_sql_store

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    app = make_app(build_code_and_sql_store(tmp_path / "code.duckdb"), config, queue="all")
    assert snap_compare(app, terminal_size=(80, 24), run_before=_before("j", "j"))
