"""Issue 25 item 5 (review): a code sample shows its program highlighted as Python with the
checker's test report, an SQL sample its query highlighted as SQL with the verdict's reason;
math samples are shown as before (no program panel)."""

from __future__ import annotations

import pytest
from rich.syntax import Syntax

from curate.review.program_panel import ProgramPanel
from tests.curate.review.builder import PROGRAM, QUERY, build_code_and_sql_store
from tests.curate.review.conftest import make_app, press, settle


@pytest.fixture
def code_db(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return build_code_and_sql_store(tmp_path / "code.duckdb")


def highlighted(panel: ProgramPanel) -> tuple[str, str]:
    """(the language the program on screen is highlighted as, its text)."""
    syntax = panel.query_one("#program-code").content
    assert isinstance(syntax, Syntax)
    return syntax.lexer.aliases[0], syntax.code


def shown(app) -> tuple[ProgramPanel, str, str]:
    panel = app.screen.query_one(ProgramPanel)
    report = str(panel.query_one("#program-report").render())
    details = str(app.screen.query_one("#details").render())
    return panel, report, details


async def test_code_and_sql_samples_show_their_program_highlighted_with_the_report(code_db, config):
    app = make_app(code_db, config, queue="all")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.current_id == "c0"
        panel, report, details = shown(app)
        assert panel.region.height > 0 and panel.shown == ("python", PROGRAM)
        assert "incorrect (code/1): 1/3 tests passed: AssertionError at test 2: assert add(2, 3) == 5" in report
        assert "Answer  2-line program, above" in details
        assert "#0 ✗ def add(a, b): …" in str(app.screen.query_one("#siblings").get_option_at_index(0).prompt)
        assert highlighted(panel) == ("python", PROGRAM.rstrip("\n"))
        await press(pilot, "j")  # no program in the answer: the panel says so
        panel, report, details = shown(app)
        assert panel.region.height > 0 and panel.shown is None
        assert "no_answer (code/1): the whole final answer (no code block)" in report
        await press(pilot, "j")
        panel, report, details = shown(app)
        assert app.current_id == "q0" and panel.shown == ("sql", QUERY) and highlighted(panel) == ("sql", QUERY)
        assert "incorrect (sql/1): 3 rows, gold has 4" in report
        assert "Answer  1-line query, above" in details


async def test_a_math_sample_has_no_program_panel(review_db, config):
    app = make_app(review_db, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        panel = app.screen.query_one(ProgramPanel)
        assert panel.region.height == 0 and panel.shown is None
