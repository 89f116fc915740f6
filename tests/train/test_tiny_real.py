"""The bundled real model (SmolLM2-135M-Instruct, GGUF): its chat template keeps the think block and
labels the end-of-turn token; `train sft --model tiny` trains and `train merge` gives a loadable model."""

from __future__ import annotations

import pytest
import torch
from typer.testing import CliRunner

from tests.train.conftest import trace, write_export
from train.cli import app
from train.data import render
from train.loss import IGNORE_INDEX
from train.model import load_tokenizer, resolve_model


@pytest.mark.slow
def test_smollm2_sft_then_merge_on_a_short_export(tmp_path, tiny_model_gguf, db_path):
    from transformers import AutoModelForCausalLM

    tokenizer = load_tokenizer(*resolve_model(str(tiny_model_gguf)))
    example = render(tokenizer, trace(2, 3))
    trained = tokenizer.decode([t for t, label in zip(example.input_ids, example.labels) if label != IGNORE_INDEX])
    assert trained.startswith("<think>") and trained.endswith(tokenizer.eos_token)

    export = write_export(tmp_path / "export.jsonl", n_train=12, n_val=4)
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "sft",
            "--data",
            str(export),
            "--model",
            "tiny",
            "--out",
            str(tmp_path / "run"),
            "--db",
            str(db_path),
            "--max-steps",
            "4",
            "--tokens-per-batch",
            "512",
            "--seq-len",
            "512",
            "--lr",
            "2e-4",
            "--eval-every",
            "2",
            "--no-progress",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app,
        ["merge", "--adapter", str(tmp_path / "run" / "adapter"), "--out", str(tmp_path / "merged")],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "merged")
    with torch.no_grad():
        logits = merged(input_ids=torch.tensor([example.input_ids[:16]])).logits
    assert torch.isfinite(logits).all()
