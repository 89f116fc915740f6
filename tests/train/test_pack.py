"""Packing: best-fit-decreasing rows, and packed documents that cannot see each other."""

from __future__ import annotations

import math
import random

import pytest
import torch

from tests.train.conftest import make_model
from train.data import Example
from train.loss import IGNORE_INDEX
from train.model import PackedLoss, set_attention
from train.pack import block_causal_mask, pack_bfd, pack_rows, real_token_share_packed, real_token_share_padded


def r1_lengths(n: int, seed: int = 0) -> list[int]:
    rng = random.Random(seed)
    return [int(min(16384, max(200, rng.lognormvariate(math.log(2500), 0.8)))) for _ in range(n)]


def test_bfd_places_every_example_once_within_capacity():
    lengths = r1_lengths(500)
    rows = pack_bfd(lengths, 8192)
    assert sorted(i for row in rows for i in row) == list(range(500))
    assert all(sum(lengths[i] for i in row) <= 8192 or len(row) == 1 for row in rows)
    assert all(len(row) == 1 for row in rows if sum(lengths[i] for i in row) > 8192)


def test_r1_like_lengths_pack_to_at_least_97_percent_real_tokens():
    lengths = r1_lengths(2000)
    assert real_token_share_packed(lengths, 16384) >= 0.97
    assert real_token_share_padded(lengths, 2) < 0.8


def test_rows_restart_positions_and_never_train_across_a_document_start():
    examples = [Example([5, 6, 7], [IGNORE_INDEX, 6, 7]), Example([8, 9], [8, 9])]
    (row,) = pack_rows(examples, capacity=8, pad_id=0, pad_to_multiple=8)
    assert row.input_ids.tolist() == [[5, 6, 7, 8, 9, 0, 0, 0]]
    assert row.position_ids.tolist() == [[0, 1, 2, 0, 1, 0, 1, 2]]
    assert row.labels.tolist() == [[IGNORE_INDEX, 6, 7, IGNORE_INDEX, 9] + [IGNORE_INDEX] * 3]
    assert row.doc_lens == (3, 2, 3) and row.real_tokens == 5 and row.label_tokens == 3


def _logits(model, ids, positions, mask):
    with torch.no_grad():
        return model(input_ids=ids, position_ids=positions, attention_mask=mask).logits[0]


@pytest.fixture(scope="module")
def qwen2():
    return make_model(vocab_size=64, seed=1).eval()


def test_changing_one_packed_example_leaves_the_others_logits_unchanged(qwen2):
    generator = torch.Generator().manual_seed(0)
    first, second = torch.randint(0, 64, (7,), generator=generator), torch.randint(0, 64, (9,), generator=generator)
    other = torch.randint(0, 64, (9,), generator=generator)
    positions = torch.cat([torch.arange(7), torch.arange(9)])[None]
    mask = block_causal_mask((7, 9))
    before = _logits(qwen2, torch.cat([first, second])[None], positions, mask)
    after = _logits(qwen2, torch.cat([first, other])[None], positions, mask)
    alone = _logits(qwen2, second[None], torch.arange(9)[None], None)
    assert torch.allclose(before[:7], after[:7], atol=1e-6)
    assert torch.allclose(before[7:], alone, atol=1e-5)
    # The second document's logits do depend on its own tokens, so the check above can fail.
    assert not torch.allclose(before[7:], after[7:], atol=1e-3)


def test_all_ones_mask_would_leak_across_documents(qwen2):
    generator = torch.Generator().manual_seed(1)
    first, changed, second = (torch.randint(0, 64, (n,), generator=generator) for n in (6, 6, 5))
    ones = torch.ones(1, 11, dtype=torch.long)
    leak_a = _logits(qwen2, torch.cat([first, second])[None], None, ones)
    leak_b = _logits(qwen2, torch.cat([changed, second])[None], None, ones)
    assert not torch.allclose(leak_a[6:], leak_b[6:], atol=1e-3)


def test_position_ids_alone_isolate_documents_like_the_explicit_mask(qwen2):
    # flex_attention and flash_attention_2 rely on transformers reading documents off position_ids.
    ids = torch.randint(0, 64, (1, 12), generator=torch.Generator().manual_seed(2))
    positions = torch.cat([torch.arange(5), torch.arange(7)])[None]
    assert torch.allclose(
        _logits(qwen2, ids, positions, None), _logits(qwen2, ids, positions, block_causal_mask((5, 7))), atol=1e-5
    )


@pytest.mark.parametrize("attention", ["sdpa", "eager", "varlen"])
def test_packed_row_loss_is_the_sum_of_each_example_alone(qwen2, attention):
    set_attention(qwen2, attention)
    try:
        examples = [
            Example([1, 2, 3, 4, 5], [IGNORE_INDEX, IGNORE_INDEX, 3, 4, 5]),
            Example([9, 8, 7, 6], [IGNORE_INDEX, 8, 7, 6]),
        ]
        loss = PackedLoss(qwen2, attention, chunk_tokens=2)
        (row,) = pack_rows(examples, capacity=16, pad_id=0, pad_to_multiple=4)
        packed, n = loss(row.input_ids, row.labels, row.position_ids, row.doc_lens)
        alone = [
            loss(*(lambda r: (r.input_ids, r.labels, r.position_ids, r.doc_lens))(pack_rows([e], 16)[0]))
            for e in examples
        ]
        assert n.item() == 6 == sum(a[1].item() for a in alone)
        assert torch.allclose(packed, sum(a[0] for a in alone), atol=1e-4)
    finally:
        set_attention(qwen2, "sdpa")
