"""What closing the store between commits (Store.release, curate generate) costs per commit.

    python bench/store_release.py [--samples 100000] [--commits 40]

Builds a store with N R1-length samples (6,000 characters each), then times commits of 8
samples (one generate flush at ~16 samples/s) two ways in one run: the connection held (the
old behaviour) and released after each commit (reopen, insert, close with checkpoint).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import polars as pl

from db import open_store

TEXT = "Let me compute step by step. " * 200


def rows(start: int, count: int) -> pl.DataFrame:
    ids = [f"s{i:09d}" for i in range(start, start + count)]
    return pl.DataFrame(
        {
            "sample_id": ids,
            "problem_id": [f"p{i % 5000}" for i in range(start, start + count)],
            "model": ["m"] * count,
            "params_hash": ["h"] * count,
            "sample_index": list(range(start, start + count)),
            "content": [TEXT + i for i in ids],
            "status": ["ok"] * count,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--commits", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "s.duckdb"
        with open_store(db) as store:
            store.insert_frame(
                "problems",
                pl.DataFrame(
                    {
                        "problem_id": [f"p{i}" for i in range(5000)],
                        "source": ["bench"] * 5000,
                        "question": [f"q{i}" for i in range(5000)],
                        "question_hash": [f"h{i}" for i in range(5000)],
                    }
                ),
            )
            for start in range(0, args.samples, 20_000):
                store.insert_frame("samples", rows(start, min(20_000, args.samples - start)))
        size_mb = db.stat().st_size / 2**20
        next_id = args.samples
        results = {}
        for mode in ("held", "released"):
            with open_store(db) as store:
                began = time.perf_counter()
                for _ in range(args.commits):
                    with store.transaction():
                        store.insert_frame("samples", rows(next_id, 8))
                    next_id += 8
                    if mode == "released":
                        store.release()
                results[mode] = (time.perf_counter() - began) / args.commits * 1000
        print(f"store: {args.samples:,} samples, {size_mb:,.0f} MiB")
        for mode, ms in results.items():
            print(f"{mode:>9}: {ms:7.1f} ms per commit of 8 samples")


if __name__ == "__main__":
    main()
