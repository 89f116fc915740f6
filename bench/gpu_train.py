"""LoRA SFT throughput of `train sft` on a Qwen2.5-7B-shaped model, one run per setting.

A thin caller of train.sft.train_sft: each variant is one `train_sft` run with an SFTConfig
(the same function and settings `train sft` uses), on one export of R1-like trace lengths
(lognormal, median 2,500 tokens, clipped to 200..16,384: the same draw as gpu_anchor.py) and a
model folder with random weights (bench/gpu_check.py builds both). What it prints comes from the
run's train_runs row: time to the first step (compile included), real tokens/s of the steps after
it, peak GPU memory, the memory plan, dynamo graphs compiled, and the final train loss.

Variants: varlen (PyTorch's bundled FlashAttention-2, variable-length), varlen+compile (the
`train sft` GPU default), sdpa (explicit block-causal mask), flex (flex_attention), each with
`--grad-ckpt auto`; `+ckpt` after a name turns checkpointing on for every row. The plain
transformers+peft recipe is bench/ext/gpu_anchor.py's, run beside it by gpu_train.sh.
`--tiny` runs a 2-layer model on the CPU (lengths / 16) to check the script.

Run: python bench/gpu_train.py [--tiny] [--rows 8192] [--steps 8] [--variants varlen,varlen+compile,sdpa]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

VARIANTS = {"varlen": "varlen", "sdpa": "sdpa", "flex": "flex_attention", "eager": "eager"}


def variant_config(variant: str, base):
    """The SFTConfig of a variant name such as varlen+compile or sdpa+ckpt."""
    name, *options = variant.split("+")
    if name not in VARIANTS or any(o not in ("compile", "ckpt") for o in options):
        raise SystemExit(f"unknown variant {variant!r}: {', '.join(VARIANTS)} with +compile / +ckpt")
    return replace(
        base,
        attention=VARIANTS[name],
        compile="on" if "compile" in options else "off",
        grad_ckpt="on" if "ckpt" in options else "auto",
    )


def write_export(folder: Path, lengths: list[int]) -> Path:
    """A train.jsonl export of synthetic R1-style conversations of about `lengths` words."""
    import random

    from bench.gpu_check import FILLER

    rng = random.Random(0)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "train.jsonl").open("w") as handle:
        for index, length in enumerate(lengths):
            thinking = " ".join(rng.choice(FILLER) for _ in range(length))
            messages = [
                {"role": "user", "content": f"What is {index} + 1?"},
                {"role": "assistant", "content": f"<think>\n{thinking}\n</think>\n\n\\boxed{{{index + 1}}}"},
            ]
            handle.write(json.dumps({"sample_id": f"s{index}", "messages": messages, "split": "train"}) + "\n")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="2-layer model on the CPU, lengths / 16: checks the script")
    parser.add_argument("--rows", type=int, default=8192, help="--tokens-per-batch (packed row capacity)")
    parser.add_argument("--steps", type=int, default=8, help="optimizer steps per variant (the first is timed apart)")
    parser.add_argument("--loss-chunk-tokens", type=int, default=2048, help="--loss-chunk-tokens")
    parser.add_argument("--variants", default="varlen+compile,varlen,sdpa", help="comma list, e.g. varlen+compile")
    parser.add_argument("--dir", type=Path, help="work folder (model, export, runs); default a temporary one")
    parser.add_argument("--json", type=Path, help="write the result rows here")
    args = parser.parse_args()
    if args.tiny:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # the tiny check runs on the CPU, also on a GPU machine

    import torch

    from bench.gpu_check import build_model, trace_lengths
    from db import open_store
    from train.sft import SFTConfig, train_sft

    work = args.dir or Path(tempfile.mkdtemp(prefix="gpu-train-"))
    scale = 16 if args.tiny else 1
    rows = args.rows // scale
    model = build_model("tiny" if args.tiny else "qwen7b", work / "model")
    export = write_export(work / "export", trace_lengths(600, seed=1, scale=scale))
    db = work / "bench.duckdb"
    open_store(db).close()
    base = SFTConfig(
        tokens_per_batch=rows,
        seq_len=16384 // scale,
        max_steps=args.steps,
        loss_chunk_tokens=args.loss_chunk_tokens,
        learning_rate=1e-5,
        warmup_ratio=0.0,
        eval_every=10**6,
        save_every=10**6,
    )
    results = []
    for variant in [v for v in args.variants.split(",") if v]:
        config = variant_config(variant, base)
        try:
            (result,) = train_sft(export, str(model), work / variant, config, db=db, resume=False, progress=False)
            with open_store(db, read_only=True) as store:
                row = store.query(
                    "SELECT first_step_s, tokens_per_s, peak_memory_gib, planned_peak_gib, compiled_graphs, "
                    "final_train_loss, attention, compiled, device FROM train_runs WHERE out_dir = ? "
                    "ORDER BY started_at DESC LIMIT 1",
                    [str(work / variant)],
                ).row(0, named=True)
            row = {"variant": variant, "rows": rows, **row}
        except Exception as error:  # one failing variant (an OOM, a missing kernel) must not hide the others
            row = {"variant": variant, "error": f"{type(error).__name__}: {str(error)[:300]}"}
        results.append(row)
        print(json.dumps(row, default=str), flush=True)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    print(f"\n{'variant':<22} {'rows':>6} {'first step s':>12} {'real tok/s':>11} {'peak GiB':>9} {'plan GiB':>9}")
    for r in results:
        if "error" in r:
            print(f"{r['variant']:<22} failed: {r['error'][:120]}")
            continue

        def fmt(value, spec: str) -> str:
            return "-" if value is None else format(value, spec)

        print(
            f"{r['variant']:<22} {r['rows']:>6} {fmt(r['first_step_s'], '.1f'):>12} {fmt(r['tokens_per_s'], ',.0f'):>11}"
            f" {fmt(r['peak_memory_gib'], '.1f'):>9} {fmt(r['planned_peak_gib'], '.1f'):>9}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
