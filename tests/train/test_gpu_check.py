"""bench/gpu_check.sh --cpu: the device check's every command, as typed, on a tiny config."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # about 100 s on a shared 2-core machine
def test_gpu_check_cpu_mode_runs_every_command_and_reports_training_speed(tmp_path):
    env = {**os.environ, "OUT": str(tmp_path), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        ["bash", "bench/gpu_check.sh", "--cpu"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "gpu_check ok on cpu" in done.stdout
    results = {r["command"]: r for r in json.loads((tmp_path / "gpu_check.json").read_text())}
    assert all(r["exit"] == 0 for r in results.values())
    assert {"curate export", "train sft", "train merge", "evaluate run"} <= results.keys()
    train = results["train sft"]
    assert (
        train["tokens_per_s"] > 0
        and train["first_step_s"] > 0
        and train["settings"] == "sdpa, fp32, compile off, fused kernels off"
    )
    assert results["evaluate run"]["generated_tokens"] > 0
