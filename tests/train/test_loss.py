"""The chunked cross-entropy matches the plain one, in value and gradient."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from train.loss import linear_cross_entropy


@pytest.mark.parametrize("chunk", [3, 64])
def test_chunked_loss_and_gradients_equal_full_logits_cross_entropy(chunk):
    generator = torch.Generator().manual_seed(0)
    hidden = torch.randn(10, 8, generator=generator, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(50, 8, generator=generator, dtype=torch.float64, requires_grad=True)
    targets = torch.randint(0, 50, (10,), generator=generator)
    expected = F.cross_entropy(hidden @ weight.t(), targets, reduction="sum")
    expected_grads = torch.autograd.grad(expected * 0.5, (hidden, weight))
    got = linear_cross_entropy(hidden, weight, targets, chunk)
    got_grads = torch.autograd.grad(got * 0.5, (hidden, weight))
    assert torch.allclose(got.double(), expected, atol=1e-5)
    for g, e in zip(got_grads, expected_grads):
        assert torch.allclose(g, e, atol=1e-5)


def test_frozen_output_layer_gets_no_gradient_and_empty_input_gives_zero():
    hidden = torch.randn(4, 8, requires_grad=True)
    weight = torch.randn(20, 8)
    loss = linear_cross_entropy(hidden, weight, torch.tensor([1, 2, 3, 4]), 2)
    loss.backward()
    assert hidden.grad is not None and weight.grad is None
    empty = linear_cross_entropy(hidden[:0], weight, torch.tensor([], dtype=torch.long), 2)
    assert empty.item() == 0.0
