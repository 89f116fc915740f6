"""Packing figure for `train sft`: share of computed tokens that are real (not padding).

Trace lengths drawn like real R1 traces (lognormal, median 2,500 tokens, clipped to
200..16,384), several seeds. Compares, side by side:
  * plain batches of 2 padded to the longest (the HF default collator, no grouping): the baseline
  * train.pack best-fit-decreasing into fixed rows of 8,192 and 16,384 tokens (an example longer
    than the row gets a row of its own, computed at its own length)
CPU only, a few seconds. (The speed figure is bench/gpu_train.py; bench/gpu_train.sh runs it on a GPU.)
Run: python bench/training.py [--n 20000] [--seeds 5]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from train.pack import real_token_share_packed, real_token_share_padded  # noqa: E402


def trace_lengths(n: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    return [int(min(16384, max(200, rng.lognormvariate(math.log(2500), 0.8)))) for _ in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description="Share of real tokens: packing vs padded batches.")
    parser.add_argument("--n", type=int, default=20000, help="traces per draw")
    parser.add_argument("--seeds", type=int, default=5, help="independent draws")
    args = parser.parse_args()
    rows = {"padded batch 2 (baseline)": [], "packed BFD, 8,192-token rows": [], "packed BFD, 16,384-token rows": []}
    pack_seconds = []
    for seed in range(args.seeds):
        lengths = trace_lengths(args.n, seed)
        rows["padded batch 2 (baseline)"].append(real_token_share_padded(lengths, 2))
        tic = time.perf_counter()
        rows["packed BFD, 8,192-token rows"].append(real_token_share_packed(lengths, 8192))
        pack_seconds.append(time.perf_counter() - tic)
        rows["packed BFD, 16,384-token rows"].append(real_token_share_packed(lengths, 16384))
    print(
        f"{args.n:,} R1-like traces x {args.seeds} draws (median {statistics.median(trace_lengths(args.n, 0)):,.0f} tokens)"
    )
    print(f"{'layout':<32} {'real tokens (mean)':>19} {'min':>7} {'max':>7}")
    for name, values in rows.items():
        print(f"{name:<32} {statistics.fmean(values):>19.1%} {min(values):>7.1%} {max(values):>7.1%}")
    print(f"packing {args.n:,} traces into 8,192-token rows takes {statistics.fmean(pack_seconds):.2f} s")


if __name__ == "__main__":
    main()
