"""Memory-lean cross-entropy over a large vocabulary, computed from hidden states in chunks.

Contract
- `linear_cross_entropy(hidden, weight, targets, chunk_tokens)` returns the SUM of token
  cross-entropies of `hidden @ weight.T` against `targets` (a float32 scalar), for hidden states
  (N, H) of the positions that carry a label. The full (N, vocab) logits tensor is never built:
  each chunk of `chunk_tokens` rows makes its logits, its loss and its gradient, then frees them.
- The gradient with respect to `hidden` (and `weight`, when it requires grad) is computed in the
  forward pass, chunk by chunk, and kept (N x H, the size of the hidden states); backward only
  scales it. So the vocabulary projection runs once forward and once for the gradient, with no
  recompute, and the peak extra memory is one chunk of float32 logits.
- Tables touched: none. Used by train.sft (the training loss) and bench/gpu_train.py.

Caveat: the kept gradient assumes the loss is used linearly (a scalar multiple of the sum), which
holds for the token-weighted mean the trainer takes.
"""

from __future__ import annotations

import torch

IGNORE_INDEX = -100


class _LinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx, hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor, chunk_tokens: int
    ) -> torch.Tensor:
        need_hidden, need_weight = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        total = torch.zeros((), dtype=torch.float32, device=hidden.device)
        grad_hidden = torch.empty_like(hidden) if need_hidden else None
        grad_weight = torch.zeros_like(weight, dtype=torch.float32) if need_weight else None
        for start in range(0, hidden.shape[0], chunk_tokens):
            h = hidden[start : start + chunk_tokens]
            t = targets[start : start + chunk_tokens]
            logits = (h @ weight.t()).float()
            lse = torch.logsumexp(logits, dim=-1)
            total += (lse - logits.gather(1, t[:, None]).squeeze(1)).sum()
            if need_hidden or need_weight:
                # softmax - one_hot, in place over the chunk's logits: d(sum CE)/d(logits).
                probs = logits.sub_(lse[:, None]).exp_()
                probs[torch.arange(t.shape[0], device=t.device), t] -= 1.0
                probs = probs.to(hidden.dtype)
                if need_hidden:
                    grad_hidden[start : start + chunk_tokens] = probs @ weight
                if need_weight:
                    grad_weight += (probs.t() @ h).float()
            del logits
        ctx.save_for_backward(*(g for g in (grad_hidden, grad_weight) if g is not None))
        ctx.has = (need_hidden, need_weight)
        ctx.weight_dtype = weight.dtype
        return total

    @staticmethod
    def backward(ctx, grad_total: torch.Tensor):
        saved = list(ctx.saved_tensors)
        need_hidden, need_weight = ctx.has
        grad_hidden = grad_weight = None
        if need_hidden:
            kept = saved.pop(0)
            grad_hidden = kept * grad_total.to(kept.dtype)
        if need_weight:
            kept = saved.pop(0)
            grad_weight = (kept * grad_total).to(ctx.weight_dtype)
        return grad_hidden, grad_weight, None, None


def linear_cross_entropy(
    hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor, chunk_tokens: int = 2048
) -> torch.Tensor:
    """Sum of cross-entropies of `hidden @ weight.T` (N, V) against `targets` (N,), chunked."""
    if hidden.shape[0] == 0:
        return hidden.sum() * 0.0 + weight.sum() * 0.0
    return _LinearCrossEntropy.apply(hidden, weight, targets, chunk_tokens)


def shifted_label_positions(hidden: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Hidden states at the positions that predict a labelled next token, and those next tokens.

    `labels` is aligned with the inputs (IGNORE_INDEX where no loss); position i predicts i + 1.
    """
    targets = labels[:, 1:]
    keep = targets != IGNORE_INDEX
    return hidden[:, :-1][keep], targets[keep]
