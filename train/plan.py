"""The memory plan of a training run: its expected peak GPU memory, checked before the model loads.

Contract
- `plan_memory(model_config, settings, row_tokens, ckpt_row_tokens)` -> MemoryPlan: the
  expected peak (GiB) of one optimizer step of `train sft` from the model's shape (transformers
  config: hidden size, intermediate size, layers, vocabulary) and the speed settings (dtype,
  compile, loss chunk), for the longest row run without gradient checkpointing and the longest
  row run with it.
- `check_memory(plan, card_gib, settings)` raises BadInput (exit 2) before anything loads when
  the plan does not fit the card, naming what to lower and to what (the largest
  `--tokens-per-batch` that fits, or `--grad-ckpt on`).
- The figures are a linear fit of the peaks measured on one H200 (docs/BENCHMARKS.md, Training:
  Qwen2.5-7B shape, LoRA r=16 on all linear layers, 8k and 16k-token rows, with and without
  per-layer compile); tests/train/test_plan.py holds the plan to those four figures.
- Tables touched: none.
"""

from __future__ import annotations

from dataclasses import dataclass

from db.errors import BadInput

GIB = 2**30
HEADROOM = 0.95  # the share of the card a plan may fill (allocator fragmentation, other processes)
# Saved activation bytes per token per decoder layer per (hidden + intermediate) unit, in bf16: fitted
# to the measured peaks (eager: 66.3 / 111.8 GiB, per-layer compile: 55.1 / 89.4 GiB at 8k / 16k rows).
ACTIVATION_BYTES = {False: 9.45, True: 7.12}
CKPT_LAYER_BYTES = 2.0  # with recompute, a layer keeps only its bf16 input per token
WORKSPACE_GIB = 1.4  # CUDA context, cuBLAS workspaces and the allocator's slack (fitted)


@dataclass(frozen=True)
class MemoryPlan:
    weights_gib: float
    adapters_gib: float  # LoRA weights, gradients and AdamW moments (float32)
    activations_gib: float
    loss_gib: float  # one chunk of float32 logits and their gradient
    workspace_gib: float

    @property
    def peak_gib(self) -> float:
        return self.weights_gib + self.adapters_gib + self.activations_gib + self.loss_gib + self.workspace_gib

    def describe(self) -> str:
        return (
            f"{self.peak_gib:.1f} GiB (weights {self.weights_gib:.1f}, activations {self.activations_gib:.1f}, "
            f"loss chunk {self.loss_gib:.1f}, adapters {self.adapters_gib:.1f}, workspace {self.workspace_gib:.1f})"
        )


def model_shape(model_config) -> dict:
    """The numbers of a transformers config the plan needs (Qwen2/Llama-style decoders)."""
    hidden = model_config.hidden_size
    heads = model_config.num_attention_heads
    head_dim = getattr(model_config, "head_dim", None) or hidden // heads
    kv = getattr(model_config, "num_key_value_heads", None) or heads
    layers = model_config.num_hidden_layers
    inter = model_config.intermediate_size
    vocab = model_config.vocab_size
    per_layer = hidden * heads * head_dim * 2 + hidden * kv * head_dim * 2 + 3 * hidden * inter
    embeddings = vocab * hidden * (1 if getattr(model_config, "tie_word_embeddings", False) else 2)
    return {
        "hidden": hidden,
        "intermediate": inter,
        "layers": layers,
        "vocab": vocab,
        "params": layers * per_layer + embeddings,
        "kv_dim": kv * head_dim,
        "q_dim": heads * head_dim,
    }


def lora_params(shape: dict, rank: int, targets: tuple[str, ...]) -> int:
    """Trainable LoRA parameters: rank x (in + out) per targeted projection per layer."""
    h, i, q, kv = shape["hidden"], shape["intermediate"], shape["q_dim"], shape["kv_dim"]
    sizes = {
        "q_proj": h + q,
        "k_proj": h + kv,
        "v_proj": h + kv,
        "o_proj": q + h,
        "gate_proj": h + i,
        "up_proj": h + i,
        "down_proj": i + h,
    }
    return shape["layers"] * rank * sum(sizes.get(t, 0) for t in targets)


def plan_memory(
    model_config,
    *,
    bytes_per_value: int,
    compiled: bool,
    loss_chunk_tokens: int,
    lora_rank: int,
    targets: tuple[str, ...],
    row_tokens: int,
    ckpt_row_tokens: int = 0,
) -> MemoryPlan:
    """Expected peak of one step: `row_tokens` is the longest row run without recompute (0: none),
    `ckpt_row_tokens` the longest row run with it."""
    shape = model_shape(model_config)
    scale = bytes_per_value / 2  # the fit is in bf16
    width = shape["hidden"] + shape["intermediate"]
    full_layer = ACTIVATION_BYTES[compiled] * width * scale  # bytes per token per layer, everything saved
    ckpt_layer = CKPT_LAYER_BYTES * shape["hidden"] * scale
    plain = row_tokens * shape["layers"] * full_layer
    # With recompute every layer keeps its input and one layer at a time holds its full activations.
    recompute = ckpt_row_tokens * (shape["layers"] * ckpt_layer + full_layer)
    return MemoryPlan(
        weights_gib=shape["params"] * bytes_per_value / GIB,
        adapters_gib=lora_params(shape, lora_rank, targets) * 16 / GIB,
        activations_gib=max(plain, recompute) / GIB,
        loss_gib=min(loss_chunk_tokens, max(row_tokens, ckpt_row_tokens)) * shape["vocab"] * 8 / GIB,
        workspace_gib=WORKSPACE_GIB,
    )


def largest_fitting_row(fits, start: int, step: int = 1024) -> int | None:
    """The largest multiple of `step` below `start` for which `fits(tokens)` holds (None if none does)."""
    tokens = (start - 1) // step * step
    while tokens >= step:
        if fits(tokens):
            return tokens
        tokens -= step
    return None


def check_memory(plan: MemoryPlan, card_gib: float, suggest) -> None:
    """BadInput when `plan` does not fit `card_gib`; `suggest()` returns what to lower, in words."""
    if plan.peak_gib <= card_gib * HEADROOM:
        return
    raise BadInput(
        f"the plan needs about {plan.describe()}, more than {HEADROOM:.0%} of the card's {card_gib:.1f} GiB; "
        f"{suggest()} (--memory-gb 0 skips this check)",
        field="--tokens-per-batch",
    )
