"""`curate verify` on a real store file, typed the way a user types it."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from curate.cli import app
from curate.stages import run_stage
from curate.verify.stage import VerifyConfig
from db import open_store

runner = CliRunner()


def _fill(db_path) -> None:
    problems = [
        {"problem_id": "p1", "source": "t", "question": "1+1?", "gold_answer": "2", "question_hash": "h1"},
        {"problem_id": "p2", "source": "t", "question": "half?", "gold_answer": "\\frac{1}{2}", "question_hash": "h2"},
        {"problem_id": "p3", "source": "t", "question": "no gold", "gold_answer": None, "question_hash": "h3"},
    ]
    samples = [
        # R1 style: reasoning and content stored apart; the verifier reads them joined.
        {"sample_id": "a", "problem_id": "p1", "model": "r1", "reasoning": "maybe \\boxed{3}", "content": "\\boxed{2}"},
        {"sample_id": "b", "problem_id": "p1", "model": "r1", "reasoning": "so far 2", "content": None},
        {"sample_id": "c", "problem_id": "p2", "model": "r1", "reasoning": None, "content": "Answer: $\\frac{2}{4}$"},
        {"sample_id": "d", "problem_id": "p2", "model": "small", "reasoning": None, "content": "\\boxed{x+1}"},
        {"sample_id": "e", "problem_id": "p3", "model": "r1", "reasoning": None, "content": "\\boxed{5}"},
    ]
    for sample in samples:
        sample.update(params_hash="ph", sample_index=0, status="ok")
    with open_store(db_path) as store:
        store.insert_rows("problems", problems)
        store.insert_rows("samples", samples)


def _verdicts(db_path, verifier="sympy/1") -> dict[str, dict]:
    with open_store(db_path, read_only=True) as store:
        frame = store.query("SELECT * FROM verdicts WHERE verifier = ? ORDER BY sample_id", [verifier])
    return {row["sample_id"]: row for row in frame.iter_rows(named=True)}


def test_verify_command_stores_a_verdict_per_sample_and_skips_missing_gold(db_path):
    _fill(db_path)
    result = runner.invoke(app, ["verify", "--db", str(db_path), "--workers", "1"])
    assert result.exit_code == 0, result.output
    rows = _verdicts(db_path)
    assert {k: v["verdict"] for k, v in rows.items()} == {
        "a": "correct", "b": "no_answer", "c": "correct", "d": "incorrect"}
    assert rows["a"]["answer_source"] == "boxed" and rows["c"]["answer_source"] == "answer_label"
    assert rows["c"]["form_ok"] is False and "lowest terms" in rows["c"]["form_reason"]
    assert rows["b"]["form_ok"] is None and "cut off" in rows["b"]["reason"]
    with open_store(db_path, read_only=True) as store:
        run = store.query("SELECT * FROM runs WHERE kind = 'verify'").row(0, named=True)
    counts = json.loads(run["counts"])
    assert run["status"] == "ok" and counts["skipped_no_gold"] == 1 and counts["verified"] == 4
    assert all(row["run_id"] == run["run_id"] for row in rows.values())


def test_verify_resumes_and_reverify_recomputes(db_path):
    _fill(db_path)
    assert run_stage("verify", db_path, VerifyConfig(workers=1, limit=2, progress=False)).counts["verified"] == 2
    assert run_stage("verify", db_path, VerifyConfig(workers=1, progress=False)).counts["verified"] == 2
    assert run_stage("verify", db_path, VerifyConfig(workers=1, progress=False)).counts["verified"] == 0
    assert run_stage("verify", db_path, VerifyConfig(workers=1, reverify=True, progress=False)).counts["verified"] == 4
    assert len(_verdicts(db_path)) == 4


def test_strict_form_writes_its_own_verifier_rows(db_path):
    _fill(db_path)
    result = runner.invoke(app, ["verify", "--db", str(db_path), "--workers", "1", "--strict-form", "--model", "r1"])
    assert result.exit_code == 0, result.output
    rows = _verdicts(db_path, "sympy/1+strict-form")
    assert rows["c"]["verdict"] == "incorrect" and "not simplified" in rows["c"]["reason"]
    assert rows["a"]["verdict"] == "correct" and "d" not in rows
    assert _verdicts(db_path) == {}


def test_bad_flags_exit_2(db_path):
    _fill(db_path)
    from curate.cli import main

    for argv in (["verify", "--db", str(db_path), "--timeout", "0"], ["verify", "--db", str(db_path), "--model", "nope"]):
        try:
            main(argv)
        except SystemExit as exit_:
            assert exit_.code == 2
        else:
            raise AssertionError("expected exit 2")
