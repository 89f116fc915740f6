"""The memory plan (train.plan) and the checks `train sft` makes before any model loads: a missing
store is refused, a plan that does not fit the card is refused naming what to lower, and the
flash kernel's signature is checked with sdpa as the fallback."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from curate.pipeline import TRAIN_KEYS
from db import open_store
from db.errors import BadInput
from tests.train.conftest import make_tokenizer
from train.cli import app
from train.model import FLASH_FORWARD_ARGS, signature_problem, varlen_kernel_problem
from train.sft import SFTConfig, choose_attention, memory_plan, resolve_speed, what_to_lower

REPO = Path(__file__).resolve().parents[2]
H100_GIB = 79.6  # torch.cuda.get_device_properties(...).total_memory of an 80 GB H100, in GiB
QWEN7B = dict(
    vocab_size=152064,
    hidden_size=3584,
    intermediate_size=18944,
    num_hidden_layers=28,
    num_attention_heads=28,
    num_key_value_heads=4,
    max_position_embeddings=32768,
    tie_word_embeddings=False,
)


def qwen7b():
    from transformers import Qwen2Config

    return Qwen2Config(**QWEN7B)


def gpu_speed(config: SFTConfig):
    """The settings `train sft` resolves on a CUDA card (bf16, varlen, compiled), without one."""
    from dataclasses import replace

    return replace(resolve_speed(config, torch.device("cpu")), precision="bf16", attention="varlen", compiled=True)


@pytest.mark.parametrize(
    ("compiled", "rows", "measured_gib"),
    [(True, 8192, 55.1), (True, 16384, 89.4), (False, 8192, 66.3), (False, 16384, 111.8)],
)
def test_plan_matches_the_peaks_measured_on_an_h200(compiled, rows, measured_gib):
    # docs/BENCHMARKS.md, Training: bench/gpu_train.py used a 4,096-token loss chunk.
    from dataclasses import replace

    config = SFTConfig(tokens_per_batch=rows, loss_chunk_tokens=4096)
    speed = replace(gpu_speed(config), compiled=compiled)
    assert memory_plan(config, speed, qwen7b(), rows).peak_gib == pytest.approx(measured_gib, rel=0.02)


def test_case_study_config_fits_an_80gb_card_and_16k_rows_would_not():
    table = tomllib.loads((REPO / "examples" / "case_study.toml").read_text())["train"]
    config = SFTConfig(**{k: v for k, v in table.items() if k not in TRAIN_KEYS})
    plan = memory_plan(config, gpu_speed(config), qwen7b(), config.seq_len)
    assert plan.peak_gib < 0.95 * H100_GIB
    wide = SFTConfig(**{**{k: v for k, v in table.items() if k not in TRAIN_KEYS}, "tokens_per_batch": 16384})
    assert memory_plan(wide, gpu_speed(wide), qwen7b(), 16384).peak_gib > H100_GIB
    advice = what_to_lower(wide, gpu_speed(wide), qwen7b(), 16384, H100_GIB)
    tokens = int(advice.split("--tokens-per-batch to ")[1].split()[0])
    assert 8192 <= tokens < 16384 and tokens % 1024 == 0


@pytest.fixture
def qwen7b_folder(tmp_path: Path) -> Path:
    """A 7B-shaped config with the tiny tokenizer and no weights: the plan refuses before any load."""
    folder = tmp_path / "qwen7b-shape"
    make_tokenizer().save_pretrained(folder)
    qwen7b().save_pretrained(folder)
    return folder


def test_train_sft_refuses_a_plan_over_the_card_naming_the_row_size(tmp_path, qwen7b_folder, export_file, db_path):
    args = ["sft", "--data", str(export_file), "--model", str(qwen7b_folder), "--out", str(tmp_path / "out")]
    gpu_like = ["--precision", "bf16", "--compile", "on", "--memory-gb", str(H100_GIB), "--no-progress"]
    result = CliRunner().invoke(app, [*args, *gpu_like, "--tokens-per-batch", "16384"])
    assert result.exit_code == 2, result.output
    assert "--tokens-per-batch to " in result.stderr and "79.6 GiB" in result.stderr
    assert not (tmp_path / "out").exists()
    with open_store(db_path, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM runs") == 0


def test_train_sft_without_an_existing_db_refuses_and_creates_none(tmp_path, tiny_student, export_file, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CURATE_DB", raising=False)
    result = CliRunner().invoke(
        app, ["sft", "--data", str(export_file), "--model", str(tiny_student), "--out", "out", "--no-progress"]
    )
    assert result.exit_code == 2, result.output
    assert "traces.duckdb" in result.stderr and "no such store" in result.stderr
    assert not (tmp_path / "traces.duckdb").exists() and not (tmp_path / "out").exists()


def test_flash_kernel_signature_of_this_torch_fits_and_a_changed_one_is_named():
    assert varlen_kernel_problem() is None
    problem = signature_problem(torch.ops.aten.add.Tensor._schema, FLASH_FORWARD_ARGS, 5)
    assert problem.startswith("aten::add takes (self, other)")


def test_auto_attention_falls_back_to_sdpa_when_the_kernel_changed_and_varlen_is_refused():
    assert choose_attention("auto", "cuda", None) == ("varlen", None)
    attention, note = choose_attention("auto", "cuda", "torch 9.9: aten::_flash_attention_forward takes (q)")
    assert attention == "sdpa" and "not varlen" in note and "torch 9.9" in note
    with pytest.raises(BadInput, match="use --attention sdpa"):
        choose_attention("varlen", "cuda", "changed")
    assert choose_attention("auto", "cpu", None) == ("sdpa", None)
    assert choose_attention("flash_attention_2", "cuda", None) == ("flash_attention_2", None)


def test_train_runs_records_the_speed_settings_and_what_was_measured(tmp_path, tiny_student, export_file, db_path):
    result = CliRunner().invoke(
        app,
        [
            "sft",
            "--data",
            str(export_file),
            "--model",
            str(tiny_student),
            "--out",
            str(tmp_path / "out"),
            "--max-steps",
            "3",
            "--tokens-per-batch",
            "128",
            "--seq-len",
            "256",
            "--lora-rank",
            "4",
            "--loss-chunk-tokens",
            "64",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "speed: first step after" in result.stderr
    with open_store(db_path, read_only=True) as store:
        row = store.query("SELECT * FROM train_runs").row(0, named=True)
    assert (row["device"], row["world_size"], row["precision"], row["attention"], row["compiled"]) == (
        "cpu",
        1,
        "fp32",
        "sdpa",
        False,
    )
    assert (row["grad_ckpt"], row["tokens_per_batch"], row["loss_chunk_tokens"]) == ("auto", 128, 64)
    assert row["fused_kernels"] is False
    assert row["first_step_s"] > 0 and row["tokens_per_s"] > 0 and row["compiled_graphs"] == 0
    assert row["planned_peak_gib"] is None and row["peak_memory_gib"] is None  # no card, no plan
    assert json.loads(row["config"])["loss_chunk_tokens"] == 64


def test_fused_kernels_fall_back_off_the_gpu_and_on_refuses_where_they_cannot_run():
    from train.sft import choose_fused_kernels

    assert choose_fused_kernels("auto", "cuda", installed=True) is True
    assert choose_fused_kernels("auto", "cuda", installed=False) is False
    assert choose_fused_kernels("auto", "cpu", installed=True) is False
    assert choose_fused_kernels("off", "cuda", installed=True) is False
    with pytest.raises(BadInput, match="need a CUDA device"):
        choose_fused_kernels("on", "cpu", installed=True)
    with pytest.raises(BadInput, match=r"trace-distill\[gpu\]"):
        choose_fused_kernels("on", "cuda", installed=False)


def test_train_sft_fused_kernels_on_without_cuda_exits_2_before_loading(tmp_path, tiny_student, export_file, db_path):
    result = CliRunner().invoke(
        app,
        ["sft", "--data", str(export_file), "--model", str(tiny_student), "--out", str(tmp_path / "o")]
        + ["--fused-kernels", "on", "--no-progress"],
    )
    assert result.exit_code == 2 and "--fused-kernels" in result.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.slow  # inductor compiles each row shape on the CPU: about a minute on 2 cores
def test_compiled_run_counts_its_dynamo_graphs(tmp_path, tiny_student, export_file, db_path):
    result = CliRunner().invoke(
        app,
        ["sft", "--data", str(export_file), "--model", str(tiny_student), "--out", str(tmp_path / "out")]
        + ["--max-steps", "3", "--tokens-per-batch", "128", "--seq-len", "256", "--lora-rank", "4", "--compile", "on"],
    )
    assert result.exit_code == 0, result.output
    with open_store(db_path, read_only=True) as store:
        compiled, graphs = store.query("SELECT compiled, compiled_graphs FROM train_runs").row(0)
    assert compiled is True and graphs >= 1
    assert f"{graphs} graphs compiled" in result.stderr
