"""Offline training fixtures: a tiny ChatML tokenizer and a tiny random Qwen2 model, built here.

Nothing is downloaded: the tokenizer is a byte-level BPE trained on a few sentences, the model a
Qwen2Config with two layers. `tiny_student` saves both to one folder, usable as `--model DIR`.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest
import torch

# The dev machine's 2 cores are shared: one intra-op thread avoids spin-wait thrashing (10x here),
# for this process and the `train` subprocesses the tests start.
os.environ["OMP_NUM_THREADS"] = "1"
torch.set_num_threads(1)

CHATML = (
    "{%- for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}"
)
# Like DeepSeek-R1-Distill's: earlier assistant turns lose their thinking.
STRIPS_THINKING = (
    "{%- for message in messages %}"
    "{%- set content = message['content'] %}"
    "{%- if message['role'] == 'assistant' and '</think>' in content %}{%- set content = content.split('</think>')[-1] | trim %}{%- endif %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + content + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}"
)

WORDS = (
    "the sum of two and three is five so the answer is boxed think about numbers add subtract "
    "multiply divide square root of nine equals three what is seven times six forty two"
).split()


def make_tokenizer(template: str = CHATML):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    corpus = [
        " ".join(WORDS[i:] + WORDS[:i]) + " <think>\n</think>\n\n\\boxed{5} 0123456789" for i in range(len(WORDS))
    ]
    core.train_from_iterator(corpus, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, eos_token="<|im_end|>", pad_token="<|endoftext|>", bos_token=None, unk_token=None
    )
    tokenizer.chat_template = template
    return tokenizer


def make_model(vocab_size: int, seed: int = 0, layers: int = 2, init: float = 0.2):
    import torch
    from transformers import AutoModelForCausalLM, Qwen2Config

    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        tie_word_embeddings=False,
        use_cache=False,
        initializer_range=init,
    )
    return AutoModelForCausalLM.from_config(config, attn_implementation="sdpa")


@pytest.fixture(scope="session")
def tokenizer():
    return make_tokenizer()


@pytest.fixture(scope="session")
def tiny_student(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a tiny random Qwen2 model and its tokenizer (transformers format)."""
    folder = tmp_path_factory.mktemp("tiny-qwen2")
    tokenizer = make_tokenizer()
    make_model(len(tokenizer)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def trace(a: int, b: int, filler: int = 3) -> list[dict]:
    """A short R1-style conversation: a question, a think block, a boxed final answer."""
    thinking = " ".join(["think about numbers add"] * filler)
    return [
        {"role": "user", "content": f"what is {a} add {b}"},
        {
            "role": "assistant",
            "content": f"<think>\n{thinking} the sum of {a} and {b} is {a + b}\n</think>\n\n"
            f"so the answer is \\boxed{{{a + b}}}",
        },
    ]


def write_export(path: Path, n_train: int = 24, n_val: int = 6, seed: int = 0, filler: int = 3) -> Path:
    """An export JSONL (messages + split) of short traces, like `curate export` writes."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as handle:
        for index in range(n_train + n_val):
            row = {
                "sample_id": f"s{index}",
                "messages": trace(rng.randint(0, 9), rng.randint(0, 9), filler),
                "split": "train" if index < n_train else "val",
            }
            handle.write(json.dumps(row) + "\n")
    return path


@pytest.fixture
def export_file(tmp_path: Path) -> Path:
    return write_export(tmp_path / "export.jsonl")
