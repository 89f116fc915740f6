"""Merge a trained LoRA adapter into its base model and save a plain transformers model.

Contract
- `merge_adapter(adapter, out, dtype="auto")` loads the base model the adapter was trained on
  (named by the adapter's train_model.json, which `train sft` writes, else by peft's
  adapter_config.json), applies the adapter, folds it into the weights and writes `out` with
  config.json, generation_config.json, model*.safetensors and the tokenizer: loadable by
  `AutoModelForCausalLM.from_pretrained(out)` and servable by vLLM (`vllm serve out`).
- dtype "auto" keeps the base checkpoint's dtype (float32 for a GGUF base, which transformers
  dequantizes); "bf16" / "fp32" force one.
- Tables touched: none. Command: `train merge --adapter DIR --out DIR`.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from db.errors import BadInput
from train.model import load_tokenizer

DTYPES = {"bf16": torch.bfloat16, "fp32": torch.float32}


def base_of(adapter: Path) -> tuple[str, str | None]:
    """(base model folder or id, GGUF file name or None) the adapter was trained on."""
    meta_file = adapter / "train_model.json"
    if meta_file.exists():
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        return meta["model_path"], meta.get("gguf_file")
    config_file = adapter / "adapter_config.json"
    if not config_file.exists():
        raise BadInput("not an adapter folder (no adapter_config.json)", file=str(adapter), field="--adapter")
    return json.loads(config_file.read_text(encoding="utf-8"))["base_model_name_or_path"], None


def merge_adapter(adapter: str | Path, out: str | Path, dtype: str = "auto", base: str | None = None) -> Path:
    """Write the base model with the adapter folded in to `out`; returns `out`."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    adapter, out = Path(adapter), Path(out)
    if not adapter.is_dir():
        raise BadInput("no such adapter folder", file=str(adapter), field="--adapter")
    if dtype != "auto" and dtype not in DTYPES:
        raise BadInput("auto, bf16 or fp32", field="--dtype")
    model_path, gguf = (base, None) if base else base_of(adapter)
    kwargs = {"gguf_file": gguf} if gguf else {}
    loaded = AutoModelForCausalLM.from_pretrained(model_path, dtype=DTYPES.get(dtype, "auto"), **kwargs)
    merged = PeftModel.from_pretrained(loaded, adapter).merge_and_unload()
    if gguf:
        # transformers dequantizes GGUF weights on load but keeps a "gguf" quantizer that refuses to
        # save; the weights are plain tensors by now, so the model is saved as an ordinary one.
        merged.hf_quantizer = None
        merged.is_quantized = False
        if hasattr(merged.config, "quantization_config"):
            del merged.config.quantization_config
    out.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(out, safe_serialization=True)
    load_tokenizer(model_path, gguf).save_pretrained(out)
    return out
