"""Data parallelism: `torchrun --nproc_per_node 2` on CPU (gloo) trains like one process with
twice the gradient accumulation: same rows per step, same token-weighted loss."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from db import open_store

REPO = Path(__file__).resolve().parents[2]
COMMON = [
    "--max-steps",
    "4",
    "--tokens-per-batch",
    "128",
    "--seq-len",
    "256",
    "--lora-rank",
    "4",
    "--lr",
    "1e-2",
    "--eval-every",
    "2",
    "--no-progress",
]


def train_losses(db_path: Path) -> list[float]:
    with open_store(db_path, read_only=True) as store:
        return store.query("SELECT loss FROM train_metrics WHERE split = 'train' ORDER BY step")["loss"].to_list()


@pytest.mark.slow
def test_two_gloo_processes_match_one_process_with_double_accumulation(tmp_path, tiny_student, export_file):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    one, two = tmp_path / "one.duckdb", tmp_path / "two.duckdb"
    open_store(one).close()
    open_store(two).close()
    single = subprocess.run(
        [
            sys.executable,
            "-m",
            "train",
            "sft",
            "--data",
            str(export_file),
            "--model",
            str(tiny_student),
            "--out",
            str(tmp_path / "one"),
            "--db",
            str(one),
            "--grad-accum",
            "2",
            *COMMON,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert single.returncode == 0, single.stderr
    ddp = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "--standalone",
            "-m",
            "train",
            "sft",
            "--data",
            str(export_file),
            "--model",
            str(tiny_student),
            "--out",
            str(tmp_path / "two"),
            "--db",
            str(two),
            "--grad-accum",
            "1",
            *COMMON,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert ddp.returncode == 0, ddp.stderr
    expected, got = train_losses(one), train_losses(two)
    assert len(got) == 4
    assert got == pytest.approx(expected, rel=1e-4)
    with open_store(two, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM train_runs WHERE status = 'ok'") == 1
