"""Cost of the review app's check, after each saved decision, that the queue still lists the
sample (`curate.review.queries.still_listed`: the queue's own SQL limited to one sample id).

Store: N samples (default 100,000: N/4 problems x 4 samples, short traces, verdicts, scores, a
selection; tests/curate/review/builder.py), built in a temporary directory. Timed, read-only,
median of --repeat runs each: the check for the pending queue without a filter (the light
query), with a filter (the full query: verdicts, judge, scores, decisions joined), and for the
flagged queue. Baseline: the queue counts (`queries.queue_counts`), the full pass the app
already runs in the background after every decision.

Run: `python bench/review_still_listed.py [--samples 100000] [--repeat 5]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for tests.curate.review.builder

from db import open_store  # noqa: E402
from curate.review import queries  # noqa: E402
from tests.curate.review.builder import build_store  # noqa: E402

CASES = (("pending", None), ("pending", "verdict = 'correct'"), ("flagged", None))


def timed(work, repeat: int) -> tuple[float, float]:
    """Median wall and CPU milliseconds of `repeat` runs."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        db = build_store(Path(directory) / "bench.duckdb", args.samples // 4, 4, paragraphs=1)
        sample_id = "s00007-1"
        print(f"{args.samples:,} samples; median of {args.repeat}")
        with open_store(db, read_only=True) as store:
            for kind, where in CASES:
                wall, cpu = timed(lambda: queries.still_listed(store, "alice", kind, where, [sample_id]), args.repeat)
                print(f"still_listed {kind} {where or '(no filter)'}: {wall:.1f} ms wall, {cpu:.1f} ms CPU")
            wall, cpu = timed(lambda: queries.queue_counts(store, "alice", None), args.repeat)
            print(f"baseline queue_counts (no filter): {wall:.1f} ms wall, {cpu:.1f} ms CPU")


if __name__ == "__main__":
    main()
