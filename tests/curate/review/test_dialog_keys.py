"""Issue 29 item 5: a dialog keeps every key of a burst in order, and the fix-answer dialog
parses the corrected answer before it saves it.

A burst is keys handed to the app the way the terminal driver hands over one read of fast
typing or a paste: all queued at once, none waiting for the one before to be handled (which is
what `pilot.press` does).
"""

from __future__ import annotations

from textual import events as textual_events
from textual.app import _character_to_key

from curate.review.filter_screen import FilterScreen
from curate.review.main_screen import MainScreen
from curate.review.text_prompt import TextPrompt
from tests.curate.review.conftest import make_app, press, settle
from tests.curate.review.test_app import events


def burst(pilot, *keys: str) -> None:
    """Queue every key at once through the driver, as one terminal read does."""
    app = pilot.app
    for key in keys:
        name = key if len(key) > 1 or key.isalnum() else _character_to_key(key)
        event = textual_events.Key(name, key if len(key) == 1 else None)
        event.set_sender(app)
        app._driver.send_message(event)


async def until(pilot, done, timeout_s: float = 10.0) -> None:
    """Let the app handle what is queued until `done()` holds (a final state: keys lost or out
    of order never reach it, and the assertion after says what was reached instead)."""
    for _ in range(int(timeout_s / 0.02)):
        if done():
            break
        await pilot.pause(0.02)
    await settle(pilot)


def field_value(app, selector: str) -> str | None:
    found = app.screen.query(selector)
    return found.first().value if found else None


async def test_keys_typed_in_a_burst_right_after_c_reach_the_answer_in_order(review_db, config):
    app = make_app(review_db, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        # The dialog opens prefilled and selected: the first key typed replaces the extracted answer.
        burst(pilot, "c", *"\\frac{3}{4}")
        await until(pilot, lambda: len(field_value(app, "#prompt-input") or "") >= len("\\frac{3}{4}"))
        assert isinstance(app.screen, TextPrompt)
        assert app.screen.query_one("#prompt-input").value == "\\frac{3}{4}"
        await press(pilot, "enter")
        assert isinstance(app.screen, MainScreen)
    assert [(e["sample_id"], e["decision"], e["corrected_answer"]) for e in events(review_db)] == [
        ("s00000-1", "accept", "\\frac{3}{4}")
    ]


async def test_a_whole_burst_with_enter_saves_the_answer_typed(review_db, config):
    app = make_app(review_db, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for decided in range(1, 4):  # the report: three times out of three
            burst(pilot, "c", *"\\frac{3}{4}", "enter")
            await until(pilot, lambda n=decided: isinstance(app.screen, MainScreen) and app.progress.decided == n)
            assert isinstance(app.screen, MainScreen)
    assert [(e["sample_id"], e["corrected_answer"]) for e in events(review_db)] == [
        ("s00000-1", "\\frac{3}{4}"),
        ("s00001-1", "\\frac{3}{4}"),
        ("s00002-1", "\\frac{3}{4}"),
    ]


async def test_a_burst_in_the_note_and_filter_dialogs_keeps_every_key(review_db, config):
    app = make_app(review_db, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        burst(pilot, "n", *"raced a fraction", "enter")
        await until(pilot, lambda: bool(app.staged_notes))
        assert app.staged_notes == {"s00000-1": "raced a fraction"}
        burst(pilot, "w", *"sample_index = 1")
        await until(pilot, lambda: len(field_value(app, "#filter-where") or "") >= len("sample_index = 1"))
        assert isinstance(app.screen, FilterScreen)
        assert app.screen.query_one("#filter-where").value == "sample_index = 1"


async def test_an_unbalanced_corrected_answer_shows_an_error_and_is_not_saved(review_db, config):
    app = make_app(review_db, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "c")
        app.screen.query_one("#prompt-input").value = ""
        await pilot.press(*"\\frac{3}{4")
        await press(pilot, "enter")
        assert isinstance(app.screen, TextPrompt)  # the dialog stays open, the typed text with it
        assert app.screen.query_one("#prompt-input").value == "\\frac{3}{4"
        assert "unbalanced braces" in str(app.screen.query_one("#prompt-error").render())
        await pilot.press("}")
        await press(pilot, "enter")
        assert isinstance(app.screen, MainScreen)
    assert [(e["decision"], e["corrected_answer"]) for e in events(review_db)] == [("accept", "\\frac{3}{4}")]


async def test_an_unparseable_corrected_answer_is_not_saved_and_escape_leaves_the_store_as_it_was(review_db, config):
    app = make_app(review_db, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "c")
        app.screen.query_one("#prompt-input").value = ""
        await pilot.press(*"2)")
        await press(pilot, "enter")
        assert isinstance(app.screen, TextPrompt)
        assert "not saved" in str(app.screen.query_one("#prompt-error").render())
        await press(pilot, "escape")
        assert isinstance(app.screen, MainScreen) and app.current_id == "s00000-1"
    assert events(review_db) == []


async def test_a_word_answer_is_accepted_as_written(review_db, config):
    app = make_app(review_db, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "c")
        app.screen.query_one("#prompt-input").value = ""
        await pilot.press(*"no solution")
        await press(pilot, "enter")
        assert isinstance(app.screen, MainScreen)
    assert [e["corrected_answer"] for e in events(review_db)] == ["no solution"]
