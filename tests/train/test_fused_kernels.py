"""Liger-Kernel's fused kernels (the gpu extra) give the loss and gradients of the unfused path."""

from __future__ import annotations

import pytest
import torch

from tests.train.conftest import make_model, make_tokenizer, trace
from train.data import render
from train.model import PackedLoss, apply_fused_kernels, attach_lora, fused_kernels_installed
from train.pack import pack_rows


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available() or not fused_kernels_installed(), reason="needs CUDA and liger")
def test_fused_kernels_match_the_unfused_loss_and_gradients_on_a_tiny_model():
    tokenizer = make_tokenizer()
    examples = [render(tokenizer, trace(a, a + 1)) for a in range(6)]
    (row, *_) = pack_rows(examples, 512, tokenizer.pad_token_id)
    device = torch.device("cuda")
    results = []
    for fused in (False, True):
        model = make_model(len(tokenizer)).to(device)
        if fused:
            apply_fused_kernels(model)
        peft_model = attach_lora(model, rank=4)
        torch.manual_seed(0)
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:
                torch.nn.init.normal_(param, std=0.02)  # non-zero adapters, the same in both runs
        loss_sum, n = PackedLoss(peft_model, "varlen", fused=fused)(
            row.input_ids.to(device), row.labels.to(device), row.position_ids.to(device), row.doc_lens
        )
        (loss_sum / n).backward()
        grads = [p.grad.float().cpu() for name, p in peft_model.named_parameters() if p.requires_grad]
        results.append(((loss_sum / n).item(), grads))
    (plain_loss, plain_grads), (fused_loss, fused_grads) = results
    assert fused_loss == pytest.approx(plain_loss, rel=1e-4)
    for a, b in zip(plain_grads, fused_grads):
        torch.testing.assert_close(b, a, rtol=1e-3, atol=1e-5)
