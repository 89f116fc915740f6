"""Data parallelism: `torchrun --nproc_per_node 2` on CPU (gloo) trains like one process with
twice the gradient accumulation: same rows per step, same token-weighted loss."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

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


def train_command(tmp_path: Path, name: str, export: Path, model: Path, *extra: str, processes: int = 1) -> list[str]:
    launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(processes), "--standalone"]
    return [
        *(launcher if processes > 1 else [sys.executable]),
        "-m",
        "train",
        "sft",
        "--data",
        str(export),
        "--model",
        str(model),
        "--out",
        str(tmp_path / name),
        "--db",
        str(tmp_path / f"{name}.duckdb"),
        *COMMON,
        *extra,
    ]


@pytest.mark.slow
def test_fsdp_shards_the_layers_and_trains_like_one_process_then_resumes(tmp_path, tiny_student, export_file):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    for name in ("one", "fsdp"):
        open_store(tmp_path / f"{name}.duckdb").close()

    def run(command: list[str]) -> subprocess.CompletedProcess:
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        return done

    run(train_command(tmp_path, "one", export_file, tiny_student, "--grad-accum", "4"))
    # Two micro-batches per rank and step: the first accumulates without a gradient sync.
    fsdp = train_command(
        tmp_path, "fsdp", export_file, tiny_student, "--grad-accum", "2", "--parallel", "fsdp", processes=2
    )
    run(fsdp)
    expected, got = train_losses(tmp_path / "one.duckdb"), train_losses(tmp_path / "fsdp.duckdb")
    assert len(got) == 4 and got == pytest.approx(expected, rel=1e-4)
    with open_store(tmp_path / "fsdp.duckdb", read_only=True) as store:
        assert store.query("SELECT status, world_size, parallel FROM train_runs").rows() == [("ok", 2, "fsdp")]
    # The adapters hold whole tensors, equal to the one-process run's.
    from safetensors.torch import load_file

    one = load_file(tmp_path / "one" / "adapter" / "adapter_model.safetensors")
    sharded = load_file(tmp_path / "fsdp" / "adapter" / "adapter_model.safetensors")
    assert one.keys() == sharded.keys()
    for key in one:
        assert sharded[key].shape == one[key].shape
        assert torch.allclose(sharded[key], one[key], rtol=1e-3, atol=1e-6), key
    # A rerun loads the whole checkpoint back into the shards (nothing left to train).
    rerun = run(fsdp)
    assert "resuming" in rerun.stderr and "from step 4 of 4" in rerun.stderr
