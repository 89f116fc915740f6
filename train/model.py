"""The student model for training: loading, LoRA, and the packed-row loss module.

Contract
- `resolve_model(model, gguf_file)`: "tiny" means the bundled SmolLM2-135M GGUF
  (curate.assets.tiny_model_gguf()); a path to a .gguf file is split into folder and file name;
  anything else is a local folder or a hub id (loaded offline when HF_HUB_OFFLINE is set).
- `load_tokenizer` / `load_model` load them with transformers (`dtype`, `attn_implementation`).
- `attach_lora(model, rank, alpha, dropout, targets)` wraps the model with peft LoRA adapters;
  only the adapters train.
- `PackedLoss(peft_model, attention, chunk_tokens)` is the module the trainer (and DDP) calls on
  one packed row: it runs the decoder to hidden states (documents kept apart: an explicit 4D
  block-causal mask for sdpa/eager, per-document position_ids for flex_attention, document
  boundaries (cu_seqlens) for flash_attention_2 and "varlen"), then the chunked cross-entropy of
  train.loss over the labelled positions.
- "varlen" is an attention registered with transformers here: on CUDA it calls the FlashAttention-2
  kernel that ships inside PyTorch (aten._flash_attention_forward/backward, variable-length form),
  so packed rows get flash speed with no flash-attn package; on CPU it runs causal sdpa per
  document (the reference the tests compare against).
  It returns (sum of token losses, number of labelled tokens); the full logits never exist.
- `set_row_checkpointing(model, on)` switches gradient checkpointing per row (after
  `enable_checkpointing`), so short rows run without recompute and long ones with it.
- Fused kernels (`pip install trace-distill[gpu]`, CUDA only): `apply_fused_kernels(model)` swaps
  in Liger-Kernel's RMSNorm, SwiGLU and RoPE; `PackedLoss(..., fused=True)` computes the loss with
  its fused linear cross-entropy instead of train.loss's chunked one.
- `varlen_kernel_problem()` checks at start-up that the private aten ops "varlen" calls still have
  the signature it calls them with (they are not a public API); `train sft` falls back to sdpa
  with block masks, and says so, when they do not.
- Tables touched: none. Imports nothing of the store.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from train.loss import linear_cross_entropy, shifted_label_positions
from train.pack import block_causal_mask

ALL_LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
ATTENTION = ("sdpa", "eager", "flex_attention", "flash_attention_2", "varlen")
BOUNDARY_ATTENTION = ("flash_attention_2", "varlen")  # take cu_seqlens

# The leading positional arguments and the number of results _TorchFlashVarlen relies on
# (measured with torch 2.11; the ops are private and may change between releases).
FLASH_FORWARD_ARGS = (
    "query", "key", "value", "cum_seq_q", "cum_seq_k", "max_q", "max_k", "dropout_p", "is_causal", "return_debug_mask",
)  # fmt: skip
FLASH_BACKWARD_ARGS = (
    "grad_out", "query", "key", "value", "out", "logsumexp", "cum_seq_q", "cum_seq_k", "max_q", "max_k",
    "dropout_p", "is_causal", "rng_state", "unused",
)  # fmt: skip


def signature_problem(schema, positional: Sequence[str], results: int) -> str | None:
    """What differs between an op schema and the call made of it (None when the call fits)."""
    names = [a.name for a in schema.arguments if not a.kwarg_only]
    keywords = {a.name for a in schema.arguments if a.kwarg_only}
    if tuple(names[: len(positional)]) != tuple(positional) or any(
        not a.has_default_value() for a in schema.arguments if a.name not in positional and a.name != "scale"
    ):
        return f"{schema.name} takes ({', '.join(names)}), not ({', '.join(positional)})"
    if "scale" not in keywords:
        return f"{schema.name} has no keyword 'scale'"
    if len(schema.returns) != results:
        return f"{schema.name} returns {len(schema.returns)} values, not {results}"
    return None


def varlen_kernel_problem() -> str | None:
    """Why "varlen" cannot call PyTorch's bundled flash kernel in this torch (None when it can)."""
    try:
        forward = torch.ops.aten._flash_attention_forward.default._schema
        backward = torch.ops.aten._flash_attention_backward.default._schema
    except (AttributeError, RuntimeError) as error:
        return f"torch {torch.__version__} has no aten._flash_attention_forward/backward ({error})"
    problem = signature_problem(forward, FLASH_FORWARD_ARGS, 5) or signature_problem(backward, FLASH_BACKWARD_ARGS, 3)
    return f"torch {torch.__version__}: {problem}" if problem else None


class _TorchFlashVarlen(torch.autograd.Function):
    """Causal attention over concatenated documents with PyTorch's bundled FlashAttention-2 kernel."""

    @staticmethod
    def forward(ctx, q, k, v, cu_seqlens, max_len: int, scale: float):
        out, lse, rng_state, unused, _ = torch.ops.aten._flash_attention_forward(
            q, k, v, cu_seqlens, cu_seqlens, max_len, max_len, 0.0, True, False, scale=scale
        )
        ctx.save_for_backward(q, k, v, out, lse, cu_seqlens, rng_state, unused)
        ctx.max_len, ctx.scale = max_len, scale
        return out

    @staticmethod
    def backward(ctx, grad_out):
        q, k, v, out, lse, cu_seqlens, rng_state, unused = ctx.saved_tensors
        dq, dk, dv = torch.ops.aten._flash_attention_backward(
            grad_out.contiguous(),
            q,
            k,
            v,
            out,
            lse,
            cu_seqlens,
            cu_seqlens,
            ctx.max_len,
            ctx.max_len,
            0.0,
            True,
            rng_state,
            unused,
            scale=ctx.scale,
        )
        return dq, dk, dv, None, None, None


def varlen_attention(
    module,
    query,
    key,
    value,
    attention_mask,
    scaling=None,
    dropout=0.0,
    cu_seq_lens_q=None,
    max_length_q=None,
    **kwargs,
):
    """transformers attention interface: (1, H, L, D) inputs of packed documents -> (1, L, H, D)."""
    if query.shape[0] != 1 or cu_seq_lens_q is None:
        raise ValueError("varlen attention takes one packed row and its cu_seq_lens_q")
    q, k, v = (t[0].transpose(0, 1).contiguous() for t in (query, key, value))  # (L, heads, D)
    scale = scaling if scaling is not None else query.shape[-1] ** -0.5
    if q.is_cuda:
        out = _TorchFlashVarlen.apply(q, k, v, cu_seq_lens_q.to(torch.int32), int(max_length_q), scale)
    else:
        bounds = cu_seq_lens_q.tolist()
        pieces = [
            torch.nn.functional.scaled_dot_product_attention(
                q[a:b].transpose(0, 1),
                k[a:b].transpose(0, 1),
                v[a:b].transpose(0, 1),
                is_causal=True,
                scale=scale,
                enable_gqa=True,
            ).transpose(0, 1)
            for a, b in zip(bounds[:-1], bounds[1:])
        ]
        out = torch.cat(pieces)
    return out[None], None


def _register_varlen() -> None:
    from transformers import AttentionInterface

    AttentionInterface.register("varlen", varlen_attention)


_register_varlen()


def fused_kernels_installed() -> bool:
    """Whether Liger-Kernel (the `gpu` extra) is importable."""
    import importlib.util

    return importlib.util.find_spec("liger_kernel") is not None


def apply_fused_kernels(model: nn.Module) -> None:
    """Liger-Kernel's RMSNorm, SwiGLU and RoPE in a loaded model (before LoRA wraps its layers)."""
    from liger_kernel.transformers.monkey_patch import MODEL_TYPE_TO_APPLY_LIGER_FN

    model_type = model.config.model_type
    if model_type not in MODEL_TYPE_TO_APPLY_LIGER_FN:
        raise ValueError(f"Liger-Kernel has no kernels for model type {model_type!r}; use --fused-kernels off")
    MODEL_TYPE_TO_APPLY_LIGER_FN[model_type](
        rope=True, rms_norm=True, swiglu=True, cross_entropy=False, fused_linear_cross_entropy=False, model=model
    )


def resolve_model(model: str, gguf_file: str | None = None) -> tuple[str, str | None]:
    """(folder or hub id, GGUF file name or None) for `--model` and `--gguf-file`."""
    if model == "tiny":
        from curate.assets import tiny_model_gguf

        path = tiny_model_gguf()
        return str(path.parent), path.name
    path = Path(model)
    if path.suffix == ".gguf" and path.is_file():
        return str(path.parent), path.name
    return model, gguf_file


def load_tokenizer(model: str, gguf_file: str | None = None):
    from transformers import AutoTokenizer

    kwargs = {"gguf_file": gguf_file} if gguf_file else {}
    return AutoTokenizer.from_pretrained(model, **kwargs)


def load_model(
    model: str,
    gguf_file: str | None = None,
    dtype: torch.dtype = torch.float32,
    attention: str = "sdpa",
    device: torch.device | None = None,
):
    """The model, its weights loaded straight onto `device` (no CPU copy of a 7B model first)."""
    from transformers import AutoModelForCausalLM

    kwargs: dict = {"gguf_file": gguf_file} if gguf_file else {}
    if device is not None and device.type != "cpu":
        kwargs["device_map"] = {"": device}
    loaded = AutoModelForCausalLM.from_pretrained(model, dtype=dtype, attn_implementation="sdpa", **kwargs)
    set_attention(loaded, attention)
    loaded.config.use_cache = False
    return loaded


def set_attention(model: nn.Module, attention: str) -> None:
    """Switch the attention implementation of a loaded model (sdpa, eager, flex_attention, ...)."""
    if attention not in ATTENTION:
        raise ValueError(f"unknown attention {attention!r}; one of {', '.join(ATTENTION)}")
    causal_lm = causal_lm_of(model)
    if hasattr(causal_lm, "set_attn_implementation"):
        causal_lm.set_attn_implementation(attention)
    else:  # older transformers: the config field is what the attention layers read
        causal_lm.config._attn_implementation = attention


def attach_lora(
    model: nn.Module, rank: int = 16, alpha: float = 32.0, dropout: float = 0.0, targets: Sequence[str] = ALL_LINEAR
):
    """The model wrapped with LoRA adapters on `targets`; base weights frozen."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=rank, lora_alpha=alpha, lora_dropout=dropout, target_modules=list(targets), task_type="CAUSAL_LM", bias="none"
    )
    return get_peft_model(model, config)


def causal_lm_of(model: nn.Module) -> nn.Module:
    """The transformers *ForCausalLM under a peft wrapper (or the model itself)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def enable_checkpointing(model: nn.Module) -> None:
    causal_lm = causal_lm_of(model)
    # Newer transformers 5.x renamed it; older 5.x releases only have the old name.
    if hasattr(causal_lm, "activation_checkpointing_enable"):
        causal_lm.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    else:
        causal_lm.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})


def set_row_checkpointing(model: nn.Module, on: bool) -> None:
    """Turn recompute on or off for the next forward (after `enable_checkpointing`)."""
    for module in causal_lm_of(model).modules():
        if hasattr(module, "_gradient_checkpointing_func"):
            module.gradient_checkpointing = on


class PackedLoss(nn.Module):
    """Sum of token cross-entropies of one packed row, documents isolated, logits never whole."""

    def __init__(self, model: nn.Module, attention: str = "sdpa", chunk_tokens: int = 2048, fused: bool = False):
        super().__init__()
        self.model = model
        self.attention = attention
        self.chunk_tokens = chunk_tokens
        self.fused = fused
        causal_lm = causal_lm_of(model)
        head = causal_lm.get_output_embeddings()
        if getattr(head, "bias", None) is not None:
            raise ValueError("output layers with a bias are not supported by the chunked loss")
        self._causal_lm = [causal_lm]  # a list keeps it out of the module tree (it is already under .model)
        # A bf16 base with float32 adapters: peft would cast every adapter input to float32 (a float32
        # copy of each projection's input, kept for backward). Autocast instead runs the adapter matmuls
        # in bf16 against the float32 master weights, so only the small adapter weights are cast.
        self.autocast_dtype = head.weight.dtype if head.weight.dtype in (torch.bfloat16, torch.float16) else None
        if self.autocast_dtype is not None:
            adapters = [m for m in model.modules() if hasattr(m, "lora_A")]
            if adapters and not all(hasattr(m, "cast_input_dtype_enabled") for m in adapters):
                import peft

                raise RuntimeError(
                    f"peft {peft.__version__} cannot turn off the float32 cast of adapter inputs "
                    "(cast_input_dtype_enabled); install peft>=0.15"
                )
            for module in adapters:
                module.cast_input_dtype_enabled = False

    def forward(
        self, input_ids: torch.Tensor, labels: torch.Tensor, position_ids: torch.Tensor, doc_lens: Sequence[int]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        causal_lm = self._causal_lm[0]
        mask = None
        if self.attention == "sdpa":
            mask = block_causal_mask(doc_lens, input_ids.device)
        elif self.attention == "eager":  # eager attention adds its mask to the scores
            allowed = block_causal_mask(doc_lens, input_ids.device)
            dtype = causal_lm.get_output_embeddings().weight.dtype
            mask = torch.zeros(allowed.shape, dtype=dtype, device=input_ids.device).masked_fill(
                ~allowed, torch.finfo(dtype).min
            )
        extra = {}
        if self.attention in BOUNDARY_ATTENTION:
            bounds = torch.tensor([0, *doc_lens], device=input_ids.device).cumsum(0).to(torch.int32)
            extra = {
                "cu_seq_lens_q": bounds,
                "cu_seq_lens_k": bounds,
                "max_length_q": max(doc_lens),
                "max_length_k": max(doc_lens),
            }
        autocast = (
            torch.autocast(input_ids.device.type, dtype=self.autocast_dtype)
            if self.autocast_dtype
            else contextlib.nullcontext()
        )
        with autocast:
            hidden = causal_lm.get_decoder()(
                input_ids=input_ids, position_ids=position_ids, attention_mask=mask, use_cache=False, **extra
            ).last_hidden_state
        states, targets = shifted_label_positions(hidden, labels)
        weight = causal_lm.get_output_embeddings().weight
        if self.fused:
            from liger_kernel.transformers.functional import liger_fused_linear_cross_entropy

            loss_sum = liger_fused_linear_cross_entropy(states, weight, targets, reduction="sum")
        else:
            loss_sum = linear_cross_entropy(states, weight, targets, self.chunk_tokens)
        return loss_sum, torch.tensor(targets.shape[0], device=input_ids.device)
