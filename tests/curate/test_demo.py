"""`curate demo`: the whole pipeline offline with the tiny real model (slow: a few minutes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from curate.demo import demo_config
from curate.pipeline import STAGES
from db import open_store


def test_demo_config_names_every_stage_but_judge_and_decontam(tmp_path: Path, tiny_model_gguf: Path):
    config = demo_config(tmp_path)
    assert set(config.stages) == set(STAGES) - {"judge", "decontam"}
    assert config.db == tmp_path / "traces.duckdb"


@pytest.mark.slow
def test_demo_runs_every_stage_and_a_rerun_skips_them(tmp_path: Path, tiny_model_gguf: Path):
    folder = tmp_path / "demo"
    command = [sys.executable, "-m", "curate", "demo", "--dir", str(folder)]
    first = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    assert first.returncode == 0, first.stderr[-4000:]
    assert "where everything went" in first.stdout and "mechanics" in first.stdout

    with open_store(folder / "traces.duckdb", read_only=True) as store:
        models = dict(store.execute("SELECT model, count(*) FROM samples GROUP BY model").fetchall())
        unverified = store.scalar("SELECT count(*) FROM samples WHERE sample_id NOT IN (SELECT sample_id FROM verdicts)")
        selected = store.scalar("SELECT count(*) FROM selections WHERE selection_id = 'demo-shortest-correct'")
        train = store.execute("SELECT status, best_val_loss FROM train_runs").fetchall()
        evals = dict(store.execute("SELECT eval_run_id, count(*) FROM eval_samples GROUP BY ALL").fetchall())
        stages = store.execute("SELECT json_extract_string(config, '$.stage') FROM runs "
                               "WHERE kind = 'pipeline-stage' AND status = 'ok'").fetchall()
    assert models["SmolLM2-135M-Instruct-Q4_1"] == 32 and models["hand-written-demo-teacher"] == 22
    assert unverified == 0
    assert selected >= 16
    assert len(train) == 1 and train[0][1] is not None
    assert evals == {"demo-base": 10, "demo-student": 10}
    assert len(stages) == 10
    assert (folder / "adapter" / "adapter" / "adapter_config.json").exists()
    assert (folder / "export" / "train.jsonl").exists()
    assert "Evaluation report" in (folder / "report" / "report.md").read_text(encoding="utf-8")

    again = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-4000:]
    assert again.stderr.count("skipped") == 10
