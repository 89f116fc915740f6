"""LoRA SFT throughput of train.sft's GPU path on a Qwen2.5-7B-shaped model (random weights, bf16).

What it measures, per attention variant, on R1-like trace lengths (lognormal, median 2,500
tokens, clipped to 200..16,384; the same draw as gpu_anchor.py): real (non-padding) tokens per
second of optimizer steps on packed rows (train.pack best-fit-decreasing, one row per step,
documents isolated), LoRA r=16 alpha=32 on all linear projections, the chunked cross-entropy of
train.loss, AdamW; no gradient checkpointing except rows holding one example longer than the
row capacity ("auto", as `train sft` does). Also the peak GPU memory, and the loss of the first
row under each variant against the sdpa+explicit-mask reference (a correctness check).

Variants, timed in the order given: varlen (PyTorch's bundled FlashAttention-2 kernel,
variable-length), sdpa (explicit block-causal 4D mask), flex (flex_attention, document mask from
position_ids), varlen+compile (each decoder layer compiled), and baseline: the plain
transformers+peft recipe of gpu_anchor.py in the same process (batch 2 padded to the longest,
full logits, gradient checkpointing, peft's float32 adapter casts). `--tiny` runs a 2-layer model
on the CPU (lengths / 16) to check the script.

Needs only torch, transformers and peft (plus this repository's train/ package, which imports
nothing of the store here). Prints a table; `--json PATH` writes the rows.
Run: python bench/gpu_train.py [--tiny] [--rows 8192] [--steps 8] [--variants varlen,sdpa,baseline,flex]
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from train.model import PackedLoss, attach_lora, enable_checkpointing, set_attention, set_row_checkpointing  # noqa: E402
from train.pack import pack_rows, real_token_share_packed  # noqa: E402

VARIANTS = {"varlen": "varlen", "sdpa": "sdpa", "flex": "flex_attention", "varlen+compile": "varlen"}
BASELINE = "baseline"


class Doc:
    """A random-token document trained on every position (like the anchor)."""

    def __init__(self, ids: list[int]):
        self.input_ids = ids
        self.labels = ids

    def __len__(self) -> int:
        return len(self.input_ids)


def trace_lengths(n: int, seed: int = 0) -> list[int]:
    """R1-like trace lengths in tokens: lognormal, median ~2500, clipped to [200, 16384]."""
    rng = random.Random(seed)
    return [int(min(16384, max(200, rng.lognormvariate(math.log(2500), 0.8)))) for _ in range(n)]


def model_config(tiny: bool):
    from transformers import Qwen2Config

    if tiny:
        return Qwen2Config(
            vocab_size=151936,
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=32768,
        )
    return Qwen2Config(
        vocab_size=152064,
        hidden_size=3584,
        intermediate_size=18944,
        num_hidden_layers=28,
        num_attention_heads=28,
        num_key_value_heads=4,
        max_position_embeddings=32768,
        rope_theta=1e6,
        tie_word_embeddings=False,
    )


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def peak_gb(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else None


def measure_packed(peft_model, variant: str, rows, capacity: int, warmup: int, device: torch.device) -> dict:
    attention = VARIANTS[variant]
    set_attention(peft_model, attention)
    peft_model.zero_grad(set_to_none=True)
    loss_model = PackedLoss(peft_model, attention, chunk_tokens=4096)
    compiled = variant.endswith("+compile")
    layers = peft_model.get_base_model().model.layers
    if compiled:
        for layer in layers:
            layer.compile()
    optimizer = torch.optim.AdamW(
        [p for p in peft_model.parameters() if p.requires_grad], lr=1e-5, fused=device.type == "cuda"
    )
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times, tokens, first_loss = [], [], None
    try:
        for index, row in enumerate(rows):
            set_row_checkpointing(peft_model, len(row) > capacity)
            ids, labels, positions = (t.to(device) for t in (row.input_ids, row.labels, row.position_ids))
            sync(device)
            tic = time.perf_counter()
            loss_sum, n = loss_model(ids, labels, positions, row.doc_lens)
            (loss_sum / n).backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            sync(device)
            if index == 0:
                first_loss = (loss_sum / n).item()
            if index >= warmup:
                times.append(time.perf_counter() - tic)
                tokens.append(row.real_tokens)
    finally:
        if compiled:
            for layer in layers:
                layer._compiled_call_impl = None  # back to eager for any later variant
    return {
        "variant": variant,
        "tokens_per_s": sum(tokens) / sum(times),
        "peak_gb": peak_gb(device),
        "steps": len(times),
        "first_row_loss": first_loss,
    }


def measure_padded_baseline(
    peft_model, lengths: list[int], vocab: int, steps: int, warmup: int, device: torch.device
) -> dict:
    """gpu_anchor.py's plain recipe: batch 2 padded to the longest, full logits, checkpointing."""
    set_attention(peft_model, "sdpa")
    set_row_checkpointing(peft_model, True)
    peft_model.zero_grad(set_to_none=True)
    for module in peft_model.modules():  # peft's own float32 casts, as in the plain recipe
        if hasattr(module, "cast_input_dtype_enabled"):
            module.cast_input_dtype_enabled = True
    optimizer = torch.optim.AdamW([p for p in peft_model.parameters() if p.requires_grad], lr=1e-5)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times, tokens = [], []
    for step in range(warmup + steps):
        pair = lengths[2 * step : 2 * step + 2]
        ids = torch.randint(0, vocab, (2, max(pair)), device=device)
        mask = torch.zeros_like(ids)
        for r, length in enumerate(pair):
            mask[r, :length] = 1
        sync(device)
        tic = time.perf_counter()
        out = peft_model(input_ids=ids, attention_mask=mask, labels=ids.masked_fill(mask == 0, -100))
        out.loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        sync(device)
        if step >= warmup:
            times.append(time.perf_counter() - tic)
            tokens.append(sum(pair))
    return {
        "variant": "baseline: padded batch 2, full logits, ckpt",
        "tokens_per_s": sum(tokens) / sum(times),
        "peak_gb": peak_gb(device),
        "steps": len(times),
        "first_row_loss": None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="2-layer model on the CPU, lengths / 16: checks the script")
    parser.add_argument("--rows", type=int, default=8192, help="packed row capacity in tokens (tokens per batch)")
    parser.add_argument("--steps", type=int, default=8, help="timed steps per variant")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    parser.add_argument(
        "--variants", default="varlen,sdpa,baseline,flex", help=f"comma list of {', '.join([*VARIANTS, BASELINE])}"
    )
    parser.add_argument("--json", type=Path, help="write the result rows here")
    args = parser.parse_args()

    device = torch.device("cuda" if torch.cuda.is_available() and not args.tiny else "cpu")
    scale = 16 if args.tiny else 1
    capacity = args.rows // scale
    lengths = [max(8, n // scale) for n in trace_lengths(4000, seed=1)]
    rng = random.Random(0)
    cfg = model_config(args.tiny)
    docs = [Doc([rng.randrange(cfg.vocab_size) for _ in range(n)]) for n in lengths[:600]]
    rows = pack_rows(docs, capacity)
    random.Random(2).shuffle(rows)
    rows = rows[: args.warmup + args.steps]
    share = real_token_share_packed(lengths, capacity)
    print(
        json.dumps(
            {
                "what": "packing",
                "row_capacity": capacity,
                "real_token_share": round(share, 4),
                "rows_timed": len(rows) - args.warmup,
                "longest_row": max(len(r) for r in rows),
            }
        ),
        flush=True,
    )

    from transformers import AutoModelForCausalLM

    tic = time.perf_counter()
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16, attn_implementation="sdpa")
    model.config.use_cache = False
    peft_model = attach_lora(model, rank=16, alpha=32, dropout=0.0)
    enable_checkpointing(peft_model)
    peft_model.train()
    sync(device)
    print(
        json.dumps(
            {
                "what": "init",
                "seconds": round(time.perf_counter() - tic, 1),
                "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
                "torch": torch.__version__,
            }
        ),
        flush=True,
    )

    results = []
    for variant in [v for v in args.variants.split(",") if v]:
        try:
            if variant == BASELINE:
                result = measure_padded_baseline(peft_model, lengths, cfg.vocab_size, args.steps, args.warmup, device)
            else:
                result = measure_packed(peft_model, variant, rows, capacity, args.warmup, device)
        except Exception as error:  # one failing variant (e.g. OOM, a missing kernel) must not hide the others
            result = {"variant": variant, "error": f"{type(error).__name__}: {str(error)[:300]}"}
        results.append(result)
        print(json.dumps(result), flush=True)
        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()

    reference = next((r.get("first_row_loss") for r in results if r["variant"] == "sdpa" and "error" not in r), None)
    print(f"\n{'variant':<46} {'real tok/s':>11} {'peak GB':>8} {'loss vs sdpa':>13}")
    for r in results:
        if "error" in r:
            print(f"{r['variant']:<46} failed: {r['error'][:120]}")
            continue
        diff = "-" if reference is None or r["first_row_loss"] is None else f"{r['first_row_loss'] - reference:+.4f}"
        peak = "-" if r["peak_gb"] is None else f"{r['peak_gb']:.1f}"
        print(f"{r['variant']:<46} {r['tokens_per_s']:>11,.0f} {peak:>8} {diff:>13}")
    print(f"packing: {share:.1%} of computed tokens are real (rows of {capacity} tokens)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
