"""`curate verify --steps` (and `curate run` with `steps = true`): step checks for every sample, in
the store, pending again when a sample changes; plain `curate verify` writes none."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from curate.cli import app
from curate.stages import run_stage
from curate.traces import full_response
from curate.verify_stage import VerifyConfig
from db import open_store

runner = CliRunner()

# sample: (problem, reasoning, content); p1 has gold 21, p2 none.
SAMPLES = {
    "right": ("p1", "The digits are 4, 8, 2, 7.\n$4 + 8 = 12$, then $12 + 2 = 14$ and $14 + 7 = 21$.", "$\\boxed{21}$"),
    "slip": ("p1", "We have $3 \\times 17 = 52$, so the sum is $52 - 31 = 21$.", "$\\boxed{21}$"),
    "wrong-answer": ("p1", "Clearly $4 + 8 = 13$ and $13 + 2 + 7 = 22$.", "$\\boxed{22}$"),
    "no-gold": ("p2", "Here $2^{10} = 1000$ roughly.", "$\\boxed{1000}$"),
    "no-claims": ("p2", "I just know it.", "$\\boxed{7}$"),
}


def fill(db_path: Path) -> None:
    problems = [
        {
            "problem_id": "p1",
            "source": "t",
            "question": "Digit sum of 4827?",
            "gold_answer": "21",
            "question_hash": "1",
        },
        {"problem_id": "p2", "source": "t", "question": "Guess?", "gold_answer": None, "question_hash": "2"},
    ]
    samples = [
        {
            "sample_id": s,
            "problem_id": p,
            "model": "r1",
            "reasoning": r,
            "content": c,
            "params_hash": "ph",
            "sample_index": 0,
            "status": "ok",
        }
        for s, (p, r, c) in SAMPLES.items()
    ]
    with open_store(db_path) as store:
        store.insert_rows("problems", problems)
        store.insert_rows("samples", samples)


def checked(db_path: Path) -> dict[str, list[dict]]:
    with open_store(db_path, read_only=True) as store:
        marked = store.query("SELECT sample_id FROM step_check_samples WHERE checker = 'steps/1'")["sample_id"]
        rows = store.query("SELECT * FROM step_checks ORDER BY sample_id, claim_index").to_dicts()
    return {s: [r for r in rows if r["sample_id"] == s] for s in marked}


def wrong_claims(claims: list[dict]) -> list[str]:
    return [c["claim"] for c in claims if c["status"] == "wrong" and not c["retracted"]]


def test_verify_steps_checks_every_sample_and_prints_the_counts(db_path):
    fill(db_path)
    result = runner.invoke(app, ["verify", "--steps", "--workers", "1"])
    assert result.exit_code == 0, result.output
    found = checked(db_path)
    assert set(found) == set(SAMPLES)  # wrong answers and problems without gold too
    assert wrong_claims(found["right"]) == [] and len(found["right"]) >= 3
    assert any("52" in claim for claim in wrong_claims(found["slip"]))
    assert any("13" in claim for claim in wrong_claims(found["wrong-answer"]))
    assert found["no-claims"] == []
    for sample, claims in found.items():
        text = full_response(*SAMPLES[sample][1:])
        assert all(text[c["claim_start"] : c["claim_end"]] == c["claim"] for c in claims)
    with open_store(db_path, read_only=True) as store:
        run = store.query("SELECT counts FROM runs WHERE kind = 'verify'").row(0)[0]
        flagged = dict(store.execute("SELECT sample_id, wrong_unretracted FROM step_flags").fetchall())
    counts = json.loads(run)
    assert counts["steps_checked"] == 5 and counts["wrong_steps"] == sum(n > 0 for n in flagged.values()) >= 2
    assert "steps_checked" in result.output and "wrong_steps" in result.output


def test_plain_verify_writes_no_step_checks(db_path):
    fill(db_path)
    assert runner.invoke(app, ["verify", "--workers", "1"]).exit_code == 0
    assert checked(db_path) == {}


def test_a_rerun_checks_only_changed_samples_and_replaces_their_rows(db_path):
    fill(db_path)
    config = VerifyConfig(workers=1, progress=False, steps=True)
    run_stage("verify", db_path, config)
    assert run_stage("verify", db_path, config).counts["steps_checked"] == 0
    with open_store(db_path) as store:
        store.execute("UPDATE samples SET reasoning = 'We have $3 \\times 17 = 51$.' WHERE sample_id = 'slip'")
        store.rehash_samples("s.sample_id = 'slip'")
        assert store.scalar("SELECT count(*) FROM step_check_summary WHERE sample_id = 'slip'") == 0  # pending
    assert run_stage("verify", db_path, config).counts["steps_checked"] == 1
    found = checked(db_path)
    assert wrong_claims(found["slip"]) == [] and [c["claim_index"] for c in found["slip"]] == [0]
    again = run_stage("verify", db_path, VerifyConfig(workers=1, progress=False, steps=True, reverify=True))
    assert again.counts["steps_checked"] == 5

    def claims(found):  # the rows without their run and time
        return {s: [(c["claim_index"], c["claim"], c["status"]) for c in rows] for s, rows in found.items()}

    assert claims(checked(db_path)) == claims(found)  # replaced, not added


def test_curate_run_with_steps_in_the_verify_table(tmp_path: Path):
    from tests.curate.test_pipeline import CURATION_TOML, write_config

    config = write_config(
        tmp_path, CURATION_TOML.replace("[verify]\nworkers = 1", "[verify]\nworkers = 1\nsteps = true")
    )
    result = runner.invoke(app, ["run", str(config)])
    assert result.exit_code == 0, result.output
    with open_store(tmp_path / "run" / "traces.duckdb", read_only=True) as store:
        samples = store.scalar("SELECT count(*) FROM samples")
        assert store.scalar("SELECT count(*) FROM step_check_samples") == samples > 0


def test_step_checks_are_written_under_the_streaming_memory_limit(db_path, monkeypatch):
    from db.store import Store

    fill(db_path)
    seen = []
    original = Store.insert_frame

    def insert_frame(self, table, frame, **options):
        if table.startswith("step_check"):
            seen.append(self.scalar("SELECT current_setting('memory_limit')"))
        return original(self, table, frame, **options)

    monkeypatch.setattr(Store, "insert_frame", insert_frame)
    run_stage("verify", db_path, VerifyConfig(workers=1, progress=False, steps=True))
    assert seen and set(seen) == {"953.6 MiB"}  # 1GB as DuckDB reports it


def test_verify_steps_leaves_code_and_sql_traces_out_and_counts_them(db_path):
    # A slip in a code or SQL trace's prose is no claim about its answer; their lines are program text.
    fill(db_path)
    slip = "We have $3 \\times 17 = 52$ rows, so the loop runs $52 - 31 = 21$ times."
    with open_store(db_path) as store:
        store.insert_rows(
            "problems",
            [
                {"problem_id": "c1", "source": "t", "question": "Write f.", "question_hash": "c", "domain": "code"},
                {"problem_id": "q1", "source": "t", "question": "Count.", "question_hash": "q", "domain": "sql"},
            ],
        )
        store.insert_rows(
            "samples",
            [
                {
                    "sample_id": f"{problem_id}-slip",
                    "problem_id": problem_id,
                    "model": "r1",
                    "reasoning": slip,
                    "content": block,
                    "params_hash": "ph",
                    "sample_index": 0,
                    "status": "ok",
                }
                for problem_id, block in (("c1", "```python\nx = 3 * 17\n```"), ("q1", "```sql\nSELECT 3 * 17\n```"))
            ],
        )
    result = runner.invoke(app, ["verify", "--steps", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert set(checked(db_path)) == set(SAMPLES)  # the math samples only
    with open_store(db_path, read_only=True) as store:
        counts = json.loads(store.query("SELECT counts FROM runs WHERE kind = 'verify'").row(0)[0])
    assert counts["steps_checked"] == 5 and counts["steps_skipped_domain"] == 2
    assert "steps_skipped_domain" in result.output
    again = run_stage("verify", db_path, VerifyConfig(workers=1, progress=False, steps=True, reverify=True))
    assert again.counts["steps_checked"] == 5 and again.counts["steps_skipped_domain"] == 2
    assert set(checked(db_path)) == set(SAMPLES)
