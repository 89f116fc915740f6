"""What the step-check tables cost at scale (migration 020, curate/step_checks.py).

    python bench/step_store.py [--samples 100000] [--claims 20] [--dir DIR]

Builds a store with N samples (~600-character texts) and `claims` step checks each (one in
twelve samples with a wrong claim), then times, in one process:
1. writing one verify --steps batch (500 samples, their claims replaced: delete + insert);
2. the whole `step_flags` view (what select, export and stats read once per run), with the
   process's peak RSS before and after;
3. one sample's flagged claims as the review app reads them (a list_contains filter through
   step_check_summary), median of 20.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from curate.step_checks import CheckedSample, replace_checks
from db import open_store

WRONG_EVERY = 12


@dataclass(frozen=True)
class Claim:
    start: int
    end: int
    claim: str
    status: str
    retracted: bool
    reason: str


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(path: Path, samples: int, claims: int) -> None:
    with open_store(path) as store, store.transaction():
        store.execute(
            "INSERT INTO problems (problem_id, source, question, gold_answer, split, question_hash) "
            "SELECT 'p' || i, 'bench', 'Question ' || i, '1', 'train', 'h' || i FROM range(?) t(i)",
            [samples // 10],
        )
        store.execute(
            "INSERT INTO samples (sample_id, problem_id, model, params_hash, sample_index, reasoning, content, status) "
            "SELECT 's' || lpad(i::VARCHAR, 9, '0'), 'p' || (i // 10), 'm', 'h', i % 10, "
            "repeat('We add 2 + 2 = 4 and go on. ', 20), '\\boxed{1}', 'ok' FROM range(?) t(i)",
            [samples],
        )
        store.rehash_samples()
        store.execute(
            "INSERT INTO step_check_samples (sample_id, checker, content_hash, claims) "
            "SELECT sample_id, 'steps/1', content_hash, ? FROM samples",
            [claims],
        )
        store.execute(
            "INSERT INTO step_checks (sample_id, checker, claim_index, claim_start, claim_end, claim, status, "
            "retracted, reason, content_hash) "
            "SELECT s.sample_id, 'steps/1', k, 7 + 28 * k, 16 + 28 * k, '2 + 2 = 4', "
            "CASE WHEN k = 3 AND s.sample_index % ? = 0 THEN 'wrong' ELSE 'ok' END, FALSE, 'bench', s.content_hash "
            "FROM samples s, range(?) c(k)",
            [WRONG_EVERY, claims],
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--claims", type=int, default=20)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    directory = args.dir or Path(tempfile.mkdtemp(prefix="step-store-"))
    path = directory / f"steps-{args.samples}.duckdb"
    if not path.exists():
        started = time.perf_counter()
        build(path, args.samples, args.claims)
        print(f"built {args.samples} samples x {args.claims} claims in {time.perf_counter() - started:.1f} s")
    with open_store(path) as store:
        ids = store.execute("SELECT sample_id, content_hash FROM samples ORDER BY sample_id LIMIT 500").fetchall()
        batch = [
            CheckedSample(
                s, h, [Claim(7 + 28 * k, 16 + 28 * k, "2 + 2 = 4", "ok", False, "bench") for k in range(args.claims)]
            )
            for s, h in ids
        ]
        started = time.perf_counter()
        replace_checks(store, "steps/1", batch, None)
        print(
            f"1. one verify --steps batch (500 samples, {500 * args.claims} claims replaced): "
            f"{1000 * (time.perf_counter() - started):.0f} ms"
        )
        before = peak_mb()
        with store.memory_limit():
            started = time.perf_counter()
            flags = store.query("SELECT * FROM step_flags")
            elapsed = time.perf_counter() - started
        flagged = int((flags["wrong_unretracted"] > 0).sum())
        print(
            f"2. step_flags over {flags.height} samples ({flagged} flagged): {elapsed:.2f} s; "
            f"peak RSS {before:.0f} -> {peak_mb():.0f} MB"
        )
        times = []
        for i in range(20):
            sample = f"s{i * WRONG_EVERY * 37:09d}"
            started = time.perf_counter()
            store.query(
                "SELECT k.claim_start, k.claim_end, k.claim, k.reason FROM step_checks k "
                "JOIN step_check_summary c ON c.sample_id = k.sample_id AND c.checker = k.checker "
                "AND c.content_hash = k.content_hash WHERE list_contains($ids, k.sample_id) "
                "AND list_contains($ids, c.sample_id) AND NOT c.older_version AND k.status = 'wrong' AND NOT k.retracted",
                {"ids": [sample]},
            )
            times.append(time.perf_counter() - started)
        print(f"3. one sample's flagged claims (review): median {1000 * statistics.median(times):.1f} ms")


if __name__ == "__main__":
    main()
