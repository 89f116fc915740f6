"""`curate verify` on a real store file, typed the way a user types it."""

from __future__ import annotations

import json

import polars as pl
from typer.testing import CliRunner

from curate.cli import app
from curate.stages import run_stage
from curate.verify import VERIFIER_VERSION
from curate.verify_stage import VerifyConfig
from db import open_store

runner = CliRunner()


def verify_store(db_path, **options) -> dict[str, int]:
    return run_stage("verify", db_path, VerifyConfig(workers=1, progress=False, **options)).counts


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


def _verdicts(db_path, verifier=VERIFIER_VERSION) -> dict[str, dict]:
    with open_store(db_path, read_only=True) as store:
        frame = store.query("SELECT * FROM verdicts WHERE verifier = ? ORDER BY sample_id", [verifier])
    return {row["sample_id"]: row for row in frame.iter_rows(named=True)}


def test_verify_command_stores_a_verdict_per_sample_and_skips_missing_gold(db_path):
    _fill(db_path)
    result = runner.invoke(app, ["verify", "--db", str(db_path), "--workers", "1"])
    assert result.exit_code == 0, result.output
    rows = _verdicts(db_path)
    assert {k: v["verdict"] for k, v in rows.items()} == {
        "a": "correct",
        "b": "no_answer",
        "c": "correct",
        "d": "incorrect",
    }
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
    rows = _verdicts(db_path, VERIFIER_VERSION + "+strict-form")
    assert rows["c"]["verdict"] == "incorrect" and "not simplified" in rows["c"]["reason"]
    assert rows["a"]["verdict"] == "correct" and "d" not in rows
    assert _verdicts(db_path) == {}


def test_bad_flags_exit_2(db_path):
    _fill(db_path)
    from curate.cli import main

    for argv in (
        ["verify", "--db", str(db_path), "--timeout", "0"],
        ["verify", "--db", str(db_path), "--model", "nope"],
    ):
        try:
            main(argv)
        except SystemExit as exit_:
            assert exit_.code == 2
        else:
            raise AssertionError("expected exit 2")


def _current(db_path) -> dict[str, dict]:
    with open_store(db_path, read_only=True) as store:
        frame = store.query("SELECT * FROM verdict_current ORDER BY sample_id")
    return {row["sample_id"]: row for row in frame.iter_rows(named=True)}


def test_a_regenerated_sample_is_pending_again_and_its_old_verdict_leaves_verdict_current(db_path):
    _fill(db_path)
    assert verify_store(db_path)["verified"] == 4
    assert _current(db_path)["b"]["verdict"] == "no_answer"
    with open_store(db_path) as store:  # the cut-off sample is generated again, this time complete
        row = store.query("SELECT * EXCLUDE (content_hash) FROM samples WHERE sample_id = 'b'")
        # the write `curate generate` makes (WriteThrough: insert_frame, replace)
        store.insert_frame(
            "samples", row.with_columns(content=pl.lit("\\boxed{2}"), finish_reason=pl.lit("stop")), "replace"
        )
    assert "b" not in _current(db_path)  # the stored verdict belongs to the old text
    counts = verify_store(db_path)
    assert counts["verified"] == 1 and counts["correct"] == 1
    assert _current(db_path)["b"]["verdict"] == "correct"
    assert verify_store(db_path)["verified"] == 0


def test_a_changed_gold_makes_the_problem_s_samples_pending(db_path):
    _fill(db_path)
    verify_store(db_path)
    with open_store(db_path) as store:  # the write `curate ingest` makes for a changed problem
        row = store.query("SELECT * FROM problems WHERE problem_id = 'p1'")
        store.insert_frame("problems", row.with_columns(gold_answer=pl.lit("3")), "replace")
    assert sorted(_current(db_path)) == ["c", "d"]
    assert verify_store(db_path)["verified"] == 2


def test_a_changed_question_makes_the_problem_s_samples_pending(db_path):
    _fill(db_path)
    verify_store(db_path)
    with open_store(db_path) as store:
        store.insert_frame(
            "problems", pl.DataFrame({"problem_id": ["p2"], "question": ["half, as a decimal?"]}), "replace"
        )
    assert sorted(_current(db_path)) == ["a", "b"]
    assert verify_store(db_path)["verified"] == 2


def test_a_sample_changed_by_plain_sql_is_pending_after_rehash_samples(db_path):
    _fill(db_path)
    verify_store(db_path)
    with open_store(db_path) as store:
        store.execute("UPDATE samples SET content = '\\boxed{3}' WHERE sample_id = 'a'")
        assert store.rehash_samples("s.sample_id = 'a'") == 1
    assert "a" not in _current(db_path)
    assert verify_store(db_path)["verified"] == 1


def test_older_version_verdicts_are_kept_until_reverify_older_and_marked_in_verdict_current(db_path):
    _fill(db_path)
    with open_store(db_path) as store:  # verdicts stored by the previous verifier, before hashes existed
        store.insert_rows(
            "verdicts",
            [
                {"sample_id": s, "verifier": v, "verdict": "correct", "answer": "2"}
                for s, v in (("a", "sympy/1"), ("b", "sympy/2"))
            ],
        )
    counts = verify_store(db_path)
    assert counts["verified"] == 2 and counts["older_version"] == 2  # c, d verified; a, b kept
    current = _current(db_path)
    assert current["b"]["verifier"] == "sympy/2" and current["b"]["older_version"] is True
    assert (
        current["c"]["verifier_version"] == int(VERIFIER_VERSION.split("/")[1])
        and current["c"]["older_version"] is False
    )
    result = runner.invoke(app, ["verify", "--db", str(db_path), "--workers", "1"])
    assert result.exit_code == 0 and "--reverify-older" in result.output
    result = runner.invoke(app, ["verify", "--db", str(db_path), "--workers", "1", "--reverify-older"])
    assert result.exit_code == 0, result.output
    current = _current(db_path)
    assert current["b"]["verifier"] == VERIFIER_VERSION and current["b"]["verdict"] == "no_answer"
    assert not any(row["older_version"] for row in current.values())
    assert len(_verdicts(db_path, "sympy/1")) == 1 and len(_verdicts(db_path, "sympy/2")) == 1  # old rows stay


def test_verify_passes_finish_reason_and_question(db_path):
    _fill(db_path)
    with open_store(db_path) as store:
        store.execute("UPDATE samples SET finish_reason = 'length' WHERE sample_id = 'a'")
        store.execute(
            "UPDATE problems SET question = 'Give 22/7 to the nearest tenth.', gold_answer = '\\frac{22}{7}' "
            "WHERE problem_id = 'p2'"
        )
        store.execute("UPDATE samples SET content = '\\boxed{3.1}' WHERE sample_id = 'd'")
    verify_store(db_path)
    rows = _verdicts(db_path)
    assert rows["a"]["verdict"] == "no_answer" and "length" in rows["a"]["reason"]
    assert rows["d"]["verdict"] == "correct" and "rounded" in rows["d"]["reason"]


def test_the_verify_package_does_not_import_db():
    import subprocess
    import sys

    code = "import sys, curate.verify, curate.verify.checker; print('db' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_verify_reads_the_traces_under_the_streaming_memory_limit(db_path, monkeypatch):
    """DuckDB caches what it reads up to 80% of RAM by default: 3.9 GB at 1,000,000 samples."""
    from db.store import Store

    _fill(db_path)
    seen = []
    original = Store.insert_frame

    def insert_frame(self, table, frame, **options):
        seen.append(self.scalar("SELECT current_setting('memory_limit')"))
        return original(self, table, frame, **options)

    monkeypatch.setattr(Store, "insert_frame", insert_frame)
    verify_store(db_path)
    assert seen and set(seen) == {"953.6 MiB"}  # 1GB as DuckDB reports it
