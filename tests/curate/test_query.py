"""`curate stats` as a user reads it: the tables stay readable in an 80-column terminal."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import db.console
from curate.cli import app
from curate.select import SelectConfig, run as select
from db import open_store
from tests.curate.curation_store import add_problem_scores, add_problems, add_samples, add_scores, trace

runner = CliRunner()


def test_stats_keeps_every_selection_id_whole_at_80_columns(db_path: Path, monkeypatch: pytest.MonkeyPatch):
    with open_store(db_path) as store:
        add_problems(store, [{"problem_id": "p1", "question": "One?", "gold_answer": "1"}])
        add_samples(store, [{"sample_id": "a", "problem_id": "p1", **trace("steps", "1")}])
        add_scores(store, [{"sample_id": "a", "problem_id": "p1", "length_tokens": 100}])
        add_problem_scores(store, [{"problem_id": "p1"}])
        ids = [
            select(store, SelectConfig(policy="difficulty-weighted", min_difficulty=0.0)).selection_id,
            select(store, SelectConfig(policy="shortest-correct", name="r1-teacher-shortest-correct-v2")).selection_id,
        ]
    monkeypatch.setattr(db.console.stdout, "width", 80)
    result = runner.invoke(app, ["stats", "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    for selection_id in ids:  # each id on one line, unbroken, so it can be copied into `curate export`
        assert any(selection_id in line for line in lines), (selection_id, result.stdout)
    assert "difficulty-weighted: 1 samples of 1 problems" in result.stdout
