"""`train sft` end to end on CPU: loss goes down, the store holds the curves, early stopping,
seeds, resume after a kill, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from db import open_store
from tests.train.conftest import write_export
from train.cli import app, main
from train.sft import SFTConfig, load_config, lr_factor, train_sft

REPO = Path(__file__).resolve().parents[2]
FAST = ["--tokens-per-batch", "256", "--seq-len", "256", "--lora-rank", "8", "--no-progress"]


def run_cli(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def metrics(db_path: Path, split: str) -> list[tuple[int, float]]:
    with open_store(db_path, read_only=True) as store:
        return store.query("SELECT step, loss FROM train_metrics WHERE split = ? ORDER BY step", [split]).rows()


def test_export_of_three_dozen_traces_lowers_training_loss(tmp_path, tiny_student, db_path):
    export = write_export(tmp_path / "export.jsonl", n_train=30, n_val=6)
    result = run_cli(
        "sft",
        "--data",
        str(export),
        "--model",
        str(tiny_student),
        "--out",
        str(tmp_path / "out"),
        "--db",
        str(db_path),
        "--max-steps",
        "40",
        "--lr",
        "3e-3",
        "--eval-every",
        "20",
        *FAST,
    )
    assert result.exit_code == 0, result.output
    train = [loss for _, loss in metrics(db_path, "train")]
    assert len(train) == 40
    assert sum(train[-5:]) / 5 < sum(train[:5]) / 5 - 0.2
    with open_store(db_path, read_only=True) as store:
        run = store.query("SELECT status, seed, last_step, best_step, tokens_seen, counts FROM train_runs").row(
            0, named=True
        )
        assert store.scalar("SELECT count(*) FROM runs WHERE kind = 'train' AND status = 'ok'") == 1
    assert (run["status"], run["last_step"], run["best_step"]) == ("ok", 40, 40)
    assert json.loads(run["counts"])["train_kept"] == 30 and run["tokens_seen"] > 0
    assert (tmp_path / "out" / "adapter" / "adapter_model.safetensors").exists()


def test_rising_val_loss_stops_early_and_keeps_the_best_adapter(tmp_path, tiny_student, db_path):
    # The val split answers in a way the training split never does, so fitting train raises val loss.
    export = write_export(tmp_path / "export.jsonl", n_train=12, n_val=0)
    with export.open("a", encoding="utf-8") as handle:
        for a in range(6):
            handle.write(
                json.dumps(
                    {
                        "split": "val",
                        "messages": [
                            {"role": "user", "content": f"what is {a} add 1"},
                            {
                                "role": "assistant",
                                "content": "square root of nine equals three times six forty two divide",
                            },
                        ],
                    }
                )
                + "\n"
            )
    out = tmp_path / "out"
    config = load_config(
        None,
        max_steps=40,
        tokens_per_batch=128,
        seq_len=256,
        learning_rate=3e-3,
        warmup_ratio=0,
        eval_every=2,
        patience=2,
        lora_rank=8,
    )
    (result,) = train_sft(export, str(tiny_student), out, config, db=db_path, progress=False)
    val = metrics(db_path, "val")
    assert result.status == "early_stopped" and result.steps < 40
    assert result.best_val_loss == min(loss for _, loss in val)
    assert result.best_step == min(val, key=lambda v: v[1])[0] < result.steps
    assert (out / "adapter" / "adapter_model.safetensors").read_bytes() == (
        out / "best" / "adapter_model.safetensors"
    ).read_bytes()
    with open_store(db_path, read_only=True) as store:
        assert store.scalar("SELECT status FROM train_runs") == "early_stopped"


def test_runs_trains_each_seed_and_reports_mean_and_spread(tmp_path, tiny_student, db_path, export_file):
    result = run_cli(
        "sft",
        "--data",
        str(export_file),
        "--model",
        str(tiny_student),
        "--out",
        str(tmp_path / "out"),
        "--db",
        str(db_path),
        "--max-steps",
        "3",
        "--runs",
        "2",
        "--seed",
        "7",
        *FAST,
    )
    assert result.exit_code == 0, result.output
    assert "mean ± std over 2 seeds" in result.stdout
    with open_store(db_path, read_only=True) as store:
        assert store.query("SELECT seed FROM train_runs ORDER BY seed")["seed"].to_list() == [7, 8]
    assert (tmp_path / "out" / "seed-8" / "adapter").is_dir()


def test_export_row_without_messages_exits_2_naming_the_line(tmp_path, tiny_student, db_path):
    export = tmp_path / "bad.jsonl"
    export.write_text('{"split": "train", "text": "no messages"}\n')
    result = CliRunner().invoke(
        app,
        [
            "sft",
            "--data",
            str(export),
            "--model",
            str(tiny_student),
            "--out",
            str(tmp_path / "out"),
            "--db",
            str(db_path),
        ],
    )
    assert result.exit_code == 2
    assert "bad.jsonl:1" in result.stderr


def test_cli_maps_bad_config_to_exit_2(tmp_path, tiny_student, export_file, capsys):
    config = tmp_path / "train.toml"
    config.write_text("[sft]\nlearning-rate = 1e-4\nlearnin_rate = 2\n")
    with pytest.raises(SystemExit) as exited:
        main(
            [
                "sft",
                "--data",
                str(export_file),
                "--model",
                str(tiny_student),
                "--out",
                str(tmp_path / "o"),
                "--config",
                str(config),
            ]
        )
    assert exited.value.code == 2
    assert "learnin_rate" in capsys.readouterr().err


def test_toml_settings_apply_and_flags_win(tmp_path):
    config = tmp_path / "train.toml"
    config.write_text('[sft]\nlora-rank = 4\nlearning_rate = 5e-4\ntarget_modules = ["q_proj", "v_proj"]\n')
    settings = load_config(config, learning_rate=1e-3)
    assert (settings.lora_rank, settings.learning_rate, settings.target_modules) == (4, 1e-3, ("q_proj", "v_proj"))
    assert SFTConfig().target_modules == ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def test_schedule_warms_up_linearly_then_decays_by_cosine():
    factors = [lr_factor(s, total=20, warmup=4, min_ratio=0.1) for s in range(20)]
    assert factors[:4] == [0.25, 0.5, 0.75, 1.0]
    assert all(a >= b for a, b in zip(factors[3:], factors[4:]))
    assert factors[-1] > 0.1 and lr_factor(20, 20, 4, 0.1) == pytest.approx(0.1)


@pytest.mark.slow  # two subprocess starts: ~20 s on a quiet 2-core machine
def test_killed_run_resumes_from_its_checkpoint_step(tmp_path, tiny_student, export_file):
    db_path = tmp_path / "resume.duckdb"
    open_store(db_path).close()
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "train",
        "sft",
        "--data",
        str(export_file),
        "--model",
        str(tiny_student),
        "--out",
        str(out),
        "--db",
        str(db_path),
        "--max-steps",
        "60",
        "--save-every",
        "5",
        "--eval-every",
        "1000",
        *FAST,
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = out / "checkpoint" / "state.pt"
    deadline = time.monotonic() + 240
    while not state.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert state.exists(), "no checkpoint before the kill"
    saved_step = torch.load(state, weights_only=False)["state"]["step"]
    assert 0 < saved_step < 60

    rerun = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    resumed_at = int(rerun.stderr.split("from step ")[1].split()[0])
    assert resumed_at >= saved_step and resumed_at % 5 == 0
    steps = [step for step, _ in metrics(db_path, "train")]
    assert steps == list(range(1, 61))
    with open_store(db_path, read_only=True) as store:
        assert store.query("SELECT status, last_step FROM train_runs").rows() == [("ok", 60)]


def test_curate_run_trains_as_train_sft_does_and_records_both_runs(tmp_path, tiny_student, export_file):
    from curate.pipeline import parse_config, run_pipeline

    config = parse_config(
        {
            "train": {
                "model": str(tiny_student),
                "data": str(export_file),
                "max_steps": 2,
                "tokens_per_batch": 256,
                "seq_len": 256,
                "lora_rank": 8,
            }
        },
        source="test",
        run_dir=tmp_path,
    )
    [result] = run_pipeline(config)
    assert result.outputs["adapters"] == [str(tmp_path / "adapter" / "adapter")]
    with open_store(config.db, read_only=True) as store:
        runs = dict(store.execute("SELECT kind, status FROM runs").fetchall())
        counts = json.loads(store.scalar("SELECT counts FROM runs WHERE kind = 'train'"))
    assert runs == {"pipeline-stage": "ok", "train": "ok"} and counts["runs"] == 1


def test_logged_lr_is_the_rate_used_at_that_step(tmp_path, tiny_student, db_path):
    # Step 1 of a 4-step warmup runs at lr/4; the rate logged for it used to be the next step's (lr/2).
    export = write_export(tmp_path / "export.jsonl", n_train=8, n_val=0)
    config = load_config(
        None,
        max_steps=6,
        tokens_per_batch=128,
        seq_len=256,
        learning_rate=1e-3,
        warmup_ratio=0.7,
        min_lr_ratio=0.1,
        eval_every=100,
        lora_rank=4,
    )
    train_sft(export, str(tiny_student), tmp_path / "out", config, db=db_path, progress=False)
    with open_store(db_path, read_only=True) as store:
        logged = store.query("SELECT step, lr FROM train_metrics WHERE split = 'train' ORDER BY step").rows()
    expected = [(step, 1e-3 * lr_factor(step - 1, total=6, warmup=4, min_ratio=0.1)) for step in range(1, 7)]
    assert [step for step, _ in logged] == [step for step, _ in expected]
    assert [lr for _, lr in logged] == pytest.approx([lr for _, lr in expected])
    assert logged[0][1] == pytest.approx(1e-3 / 4)
