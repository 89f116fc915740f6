"""The one error-to-exit-code map: every CLI applies it the same way, and docs/GUIDE.md shows it."""

from __future__ import annotations

import errno
import re
from pathlib import Path

import duckdb
import pytest
import typer
from typer.testing import CliRunner

from db import BadInput, StoreLocked
from db.console import EXIT_CODES, SIGTERM_EXIT, ExitCodeGroup

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "GUIDE.md"
runner = CliRunner()


def _readme_table() -> dict[int, str]:
    text = GUIDE.read_text(encoding="utf-8")
    section = text.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    return {int(code): when for code, when in re.findall(r"^\| (\d+) \| (.+) \|$", section, re.M)}


def test_guide_exit_code_table_is_the_code_table():
    table = _readme_table()
    assert set(table) == {0, SIGTERM_EXIT} | {code for _, code, _ in EXIT_CODES}
    assert "SIGTERM" in table[SIGTERM_EXIT]
    for kind, code, _ in EXIT_CODES:
        name = "duckdb.Error" if kind is duckdb.Error else kind.__name__
        assert f"`{name}`" in table[code], (name, code)


def _app(error: BaseException) -> typer.Typer:
    app = typer.Typer(cls=ExitCodeGroup, add_completion=False)

    @app.command()
    def fail() -> None:
        raise error

    @app.command()
    def other() -> None:
        """A second command, so `fail` is a subcommand as in the real CLIs."""

    return app


def _wrapped(error: BaseException) -> BaseException:
    """`error` raised from a full disk, as a layer that misread the failure would raise it."""
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device", "/d/x")
        except OSError as cause:
            raise error from cause
    except BaseException as raised:
        return raised


@pytest.mark.parametrize(
    "error, code, text",
    [
        (BadInput("bad value", file="f.jsonl", line=3, field="answer"), 2, "f.jsonl:3, field 'answer': bad value"),
        (StoreLocked("held by process 7"), 1, "held by process 7"),
        (RuntimeError("boom"), 1, "RuntimeError: boom"),
        (KeyboardInterrupt(), 130, "interrupted"),
        # Ctrl-C while DuckDB runs a query surfaces as DuckDB's error: still an interrupt.
        (RuntimeError("Query interrupted"), 130, "interrupted; finished work is kept"),
        (duckdb.InterruptException("INTERRUPT Error: Interrupted!"), 130, "interrupted; finished work is kept"),
        # A full disk is exit 1 and says so, however it surfaced (issue 26 item 11).
        (
            OSError(errno.ENOSPC, "No space left on device", "/d/out.jsonl"),
            1,
            "the disk is full while writing /d/out.jsonl",
        ),
        (OSError(errno.EDQUOT, "Disk quota exceeded"), 1, "the disk is full (Disk quota exceeded)"),
        (
            duckdb.IOException('IO Error: Could not write file "/d/s.wal": No space left on device'),
            1,
            "writing /d/s.wal",
        ),
        (_wrapped(BadInput("could not read the file", file="in.jsonl")), 1, "the disk is full while writing /d/x"),
    ],
)
def test_each_error_gets_its_code_and_one_line(error, code, text, monkeypatch):
    monkeypatch.delenv("CURATE_DEBUG", raising=False)
    result = runner.invoke(_app(error), ["fail"])
    assert result.exit_code == code
    assert text in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("module", ["curate.cli", "train.cli", "eval.cli"])
def test_every_cli_uses_the_one_map(module):
    import importlib

    app = importlib.import_module(module).app
    assert app.info.cls is ExitCodeGroup
    result = runner.invoke(app, ["--no-such-flag"])
    assert result.exit_code == 2  # click's own usage errors keep code 2
