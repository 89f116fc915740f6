"""The help screen lists every binding the app binds, from the same key table."""

from __future__ import annotations

from textual.keys import format_key

from curate.review.compare_screen import CompareScreen
from curate.review.config import load_config
from curate.review.filter_screen import FilterScreen
from curate.review.help_screen import HelpScreen, help_rows
from curate.review.keys import KEY_TABLE, TEXTUAL_KEYS
from curate.review.main_screen import MainScreen
from curate.review.text_prompt import TextPrompt
from tests.curate.review.conftest import make_app, press, settle


def bound(node) -> set[tuple[str, str]]:
    """(key as displayed, description) of every binding on a node; Textual's own bindings (an
    action the key table does not name) as (key, "textual")."""
    ours = {entry.action for entry in KEY_TABLE}
    return {
        (format_key(key), binding.tooltip if binding.action in ours else "textual") for key, binding in node._bindings
    }


def listed(table) -> set[tuple[str, str]]:
    rows = {(key, description) for _, keys, description in help_rows(table) for key in keys.split(" ")}
    textual = {(format_key(key), "textual") for _, keys, _ in TEXTUAL_KEYS for key in keys}
    return rows | textual


async def _every_binding(app, pilot) -> set[tuple[str, str]]:
    found = bound(app) | bound(app.screen)
    assert isinstance(app.screen, MainScreen)
    for keys, screen_type in (("?", HelpScreen), ("v", CompareScreen), ("n", TextPrompt), ("w", FilterScreen)):
        await press(pilot, keys)
        assert isinstance(app.screen, screen_type)
        found |= bound(app.screen)
        await press(pilot, "escape")
    return found


async def test_help_lists_every_binding_of_every_screen(review_db, config):
    app = make_app(review_db, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        found = await _every_binding(app, pilot)
        help_listed = listed(app.keys)
        assert found - help_listed == set()
        table_rows = {row for row in help_listed if row[1] != "textual"}
        textual_rows = {(format_key(key), description) for _, keys, description in TEXTUAL_KEYS for key in keys}
        # Enter belongs to the dialogs' Input; Textual's own keys are checked by key above.
        assert table_rows - found - textual_rows == {("⏎", "Save / apply the dialog")}
        await press(pilot, "?")
        text = str(app.screen.query_one("#help-text").render())
        words = " ".join(text.split())  # a long description wraps
        for _, keys, description in help_rows(app.keys):
            assert f"{keys}" in text and description in words


async def test_help_shows_remapped_keys(review_db, tmp_path):
    path = tmp_path / "review.toml"
    path.write_text('[keys]\naccept = ["y", "ctrl+a"]\n', encoding="utf-8")
    app = make_app(review_db, load_config(path))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        found = await _every_binding(app, pilot)
        assert ("y", "Accept") in found and ("a", "Accept") not in found
        assert found - listed(app.keys) == set()
        await press(pilot, "?")
        assert "y ctrl+a" in str(app.screen.query_one("#help-text").render())
