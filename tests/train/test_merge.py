"""`train merge`: the adapter folded into the base gives a plain transformers model, same outputs."""

from __future__ import annotations

import pytest
import torch
from typer.testing import CliRunner

from train.cli import app, main
from train.sft import load_config, train_sft


def test_merged_model_loads_with_transformers_and_matches_base_plus_adapter(
    tmp_path, tiny_student, export_file, db_path
):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    config = load_config(None, max_steps=3, tokens_per_batch=256, seq_len=256, learning_rate=1e-2, lora_rank=4)
    train_sft(export_file, str(tiny_student), tmp_path / "run", config, db=db_path, progress=False)
    adapter, merged_dir = tmp_path / "run" / "adapter", tmp_path / "merged"
    result = CliRunner().invoke(
        app, ["merge", "--adapter", str(adapter), "--out", str(merged_dir)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {p.name for p in merged_dir.iterdir()}
    ids = torch.randint(0, 300, (1, 12), generator=torch.Generator().manual_seed(0))
    merged = AutoModelForCausalLM.from_pretrained(merged_dir).eval()
    base = AutoModelForCausalLM.from_pretrained(tiny_student)
    with torch.no_grad():
        plain = base(input_ids=ids).logits
        expected = PeftModel.from_pretrained(base, adapter).eval()(input_ids=ids).logits
        got = merged(input_ids=ids).logits
    assert torch.allclose(got, expected, atol=1e-4)
    assert not torch.allclose(got, plain, atol=1e-4)  # the adapter did change the model


def test_merge_of_a_folder_without_adapter_exits_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["merge", "--adapter", str(tmp_path), "--out", str(tmp_path / "m")])
    assert exited.value.code == 2 and "adapter_config.json" in capsys.readouterr().err
