"""Dedup's near-pair search beside rapidfuzz's all-pairs `cdist`, on a store's questions.

Reads the normalised questions of the training candidates (as `curate dedup` does, exact
duplicates folded first), then on the first --n of them times rapidfuzz `process.cdist` over all
pairs (score_cutoff = --fuzzy, 2 workers: the baseline) and `curate.decontam.near_pairs` (q-gram
prefix-filter candidates, then rapidfuzz on those), checks they find the same pairs, and times
near_pairs on all of them.

    python bench/dedup.py --db /work/scale/n100000/scale.duckdb --n 4000
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from rapidfuzz import fuzz, process  # noqa: E402

from curate.decontam import CANDIDATES_SQL, near_pairs, normalise  # noqa: E402
from db import open_store  # noqa: E402


def timed(work):
    started, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - started, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--n", type=int, default=4000, help="questions for the side-by-side run")
    parser.add_argument("--fuzzy", type=float, default=95.0)
    args = parser.parse_args()
    with open_store(args.db, read_only=True) as store:
        rows = store.query(CANDIDATES_SQL)
    first_of_hash = {}
    for question, key in zip(rows["question"].to_list(), rows["question_hash"].to_list()):
        first_of_hash.setdefault(key, normalise(question))
    texts = list(first_of_hash.values())
    subset = texts[: args.n]
    print(f"{len(texts):,} distinct questions; uptime: {os.popen('uptime').read().strip()}")
    scores, base_s, base_cpu = timed(
        lambda: process.cdist(subset, subset, scorer=fuzz.ratio, score_cutoff=args.fuzzy, workers=2, dtype=np.float32)
    )
    brute = {frozenset((int(a), int(b))) for a, b in zip(*np.nonzero(scores)) if a != b}
    found, ours_s, ours_cpu = timed(lambda: near_pairs(subset, args.fuzzy))
    found = {frozenset(pair) for pair in found if pair[0] != pair[1]}
    same = found == brute
    print(f"first {len(subset):,}: all-pairs cdist {base_s:.1f} s (cpu {base_cpu:.1f} s), {len(brute)} pairs")
    print(f"first {len(subset):,}: near_pairs {ours_s:.1f} s (cpu {ours_cpu:.1f} s), {len(found)} pairs, same: {same}")
    everything, all_s, all_cpu = timed(lambda: near_pairs(texts, args.fuzzy))
    distinct = {frozenset(pair) for pair in everything if pair[0] != pair[1]}
    print(f"all {len(texts):,}: near_pairs {all_s:.1f} s (cpu {all_cpu:.1f} s), {len(distinct)} pairs")
    print(f"uptime: {os.popen('uptime').read().strip()}")


if __name__ == "__main__":
    main()
