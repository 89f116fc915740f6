"""Progress inside a one-line-per-stage run: bars and notes while a stage works, nothing left after."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

import db.console
from db.console import note, progress_bar, transient_progress


def _console(monkeypatch: pytest.MonkeyPatch, terminal: bool) -> io.StringIO:
    out = io.StringIO()
    monkeypatch.setattr(db.console, "stderr", Console(file=out, force_terminal=terminal, width=80))
    return out


def _work() -> None:
    with progress_bar() as bar:
        task = bar.add_task("train", total=3)
        note("loading the model")
        for _ in range(3):
            bar.advance(task)


def test_off_a_terminal_a_transient_run_prints_nothing_of_its_bars_and_notes(monkeypatch):
    out = _console(monkeypatch, terminal=False)
    with transient_progress("train"):
        _work()
    assert out.getvalue() == ""


def test_on_a_terminal_the_bar_and_the_notes_show_while_the_stage_works(monkeypatch):
    out = _console(monkeypatch, terminal=True)
    with transient_progress("train"):
        _work()
        assert db.console._spinner is not None
    drawn = out.getvalue()
    assert "train" in drawn and "loading the model" in drawn
    assert db.console._spinner is None and not db.console._transient


def test_outside_a_transient_run_notes_are_lines_and_bars_stay(monkeypatch):
    out = _console(monkeypatch, terminal=False)
    _work()
    assert "loading the model" in out.getvalue() and "3/3" in out.getvalue()
