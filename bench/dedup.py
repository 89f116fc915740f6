"""Dedup's near-pair search side by side: all-pairs cdist, the length window, MinHash LSH.

Questions come from a store (the training candidates' normalised questions, exact duplicates
folded first, as `curate dedup` passes them) or, with --public DIR, from the public problem sets
under DIR plus seeded near copies (a word replaced or dropped, words swapped, numbers changed,
typos, a prefix or suffix added). For each --n, on the first n questions and each --fuzzy:
- all-pairs: rapidfuzz `process.cdist` over every pair (2 workers), only up to --truth-max;
- window: `window_pairs`, every pair of compatible lengths (what `curate dedup` did before
  MinHash; it finds every pair too, so it is the baseline where all-pairs is not run);
- minhash: `near_pairs` with the LSH path forced (what `curate dedup` runs at >= EXACT_BELOW).
Each runs in a child process stopped after --timeout seconds. Printed: wall and CPU seconds,
pairs, and MinHash's recall against all pairs (or the window). Every MinHash pair is confirmed
by rapidfuzz, so its precision is 100% by construction; the script checks it. Above --truth-max,
recall is also measured on the pairs of --sample random questions, each compared with all n.

    python bench/dedup.py --db /work/scale/n100000/scale.duckdb --n 3000,12495 --fuzzy 95,90,80
    python bench/dedup.py --public /work/shared/data --fuzzy 95,90,80,70,60
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from rapidfuzz import fuzz, process  # noqa: E402

from curate.decontam import CANDIDATES_SQL, near_pairs, normalise, window_pairs  # noqa: E402
from db import open_store  # noqa: E402

PUBLIC = [
    ("simpleRL-reason/math500/test.jsonl", "problem"),
    ("grade-school-math/test.jsonl", "question"),
    ("Qwen2.5-Math/olympiadbench/test.jsonl", "question"),
    ("Qwen2.5-Math/minerva_math/test.jsonl", "problem"),
    ("Qwen2.5-Math/amc23/test.jsonl", "problem"),
    ("Qwen2.5-Math/aime24/test.jsonl", "problem"),
    ("QwQ/aime25.jsonl", "prompt"),
]


def store_questions(db: Path) -> list[str]:
    with open_store(db, read_only=True) as store:
        rows = store.query(CANDIDATES_SQL)
    first_of_hash = {}
    for question, key in zip(rows["question"].to_list(), rows["question_hash"].to_list()):
        first_of_hash.setdefault(key, normalise(question))
    return list(first_of_hash.values())


def near_copy(rng: random.Random, text: str, vocabulary: list[str]) -> str:
    """One seeded edit of the kinds collections repeat a problem with."""
    words = text.split(" ")
    kind = rng.choice(["word", "typos", "numbers", "drop", "prefix", "swap", "word+typos"])
    if kind.startswith("word"):
        words[rng.randrange(len(words))] = rng.choice(vocabulary)
    if kind == "drop" and len(words) > 3:
        del words[rng.randrange(len(words))]
    if kind == "swap" and len(words) > 3:
        at = rng.randrange(len(words) - 1)
        words[at], words[at + 1] = words[at + 1], words[at]
    text = " ".join(words)
    if kind.endswith("typos"):
        for _ in range(rng.randint(1, 6)):
            at = rng.randint(0, len(text))
            text = text[:at] + rng.choice(["x", "", "e ", "1"]) + text[at + 1 :]
    if kind == "numbers":
        text = re.sub(r"\d+", lambda m: str(int(m.group()) + rng.randint(1, 9)), text)
    if kind == "prefix":
        text = rng.choice(["Solve the following problem. ", "Question: ", ""]) + text
        text += rng.choice([" Show your work.", " Give the exact answer.", ""])
    return text


def public_questions(root: Path, copies: int, seed: int) -> list[str]:
    questions = [json.loads(line)[field] for name, field in PUBLIC for line in (root / name).open()]
    rng = random.Random(seed)
    vocabulary = [word for question in questions for word in question.split()]
    questions += [near_copy(rng, q, vocabulary) for q in rng.sample(questions, copies)]
    return list(dict.fromkeys(normalise(q) for q in questions))


def all_pairs(texts: list[str], fuzzy: float) -> list[tuple[int, int]]:
    found = []
    for start in range(0, len(texts), 1000):
        scores = process.cdist(
            texts[start : start + 1000], texts, scorer=fuzz.ratio, score_cutoff=fuzzy, workers=2, dtype=np.float32
        )
        found += [(start + int(a), int(b)) for a, b in zip(*np.nonzero(scores)) if start + a != b]
    return found


def sampled_recall(texts: list[str], fuzzy: float, found: set[tuple[int, int]], k: int, seed: int) -> str:
    """Recall on the pairs of k random questions: each compared with all n by cdist."""
    sample = sorted(random.Random(seed).sample(range(len(texts)), min(k, len(texts))))
    scores = process.cdist([texts[i] for i in sample], texts, scorer=fuzz.ratio, score_cutoff=fuzzy, workers=2)
    truth = {(min(sample[a], b), max(sample[a], b)) for a, b in zip(*np.nonzero(scores)) if sample[a] != b}
    hits = len(truth & found)
    return f"recall on the pairs of {len(sample)} random questions (cdist against all): {hits}/{len(truth)}"


METHODS = {
    "all-pairs": all_pairs,
    "window": lambda texts, fuzzy: window_pairs(texts, fuzzy, len(texts)),
    "minhash": lambda texts, fuzzy: near_pairs(texts, fuzzy, exact_below=0),
}


def child(method: str, texts: list[str], fuzzy: float, pipe) -> None:
    started, cpu = time.perf_counter(), time.process_time()
    pairs = {(min(a, b), max(a, b)) for a, b in METHODS[method](texts, fuzzy)}
    pipe.send((pairs, time.perf_counter() - started, time.process_time() - cpu))


def timed(method: str, texts: list[str], fuzzy: float, timeout: float):
    """(pairs, wall s, cpu s) of one method in a forked child, or None after `timeout` seconds."""
    receive, send = multiprocessing.Pipe(duplex=False)
    worker = multiprocessing.get_context("fork").Process(target=child, args=(method, texts, fuzzy, send))
    worker.start()
    result = receive.recv() if receive.poll(timeout) else None
    if result is None:
        worker.terminate()
    worker.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="a store: its training candidates' questions")
    parser.add_argument("--public", type=Path, help="shared/data: public problem sets plus seeded near copies")
    parser.add_argument("--copies", type=int, default=900, help="near copies added to the public questions")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n", default="", help="comma-separated sizes (first n questions); default all")
    parser.add_argument("--fuzzy", default="95", help="comma-separated thresholds")
    parser.add_argument("--truth-max", type=int, default=12_500, help="largest n all pairs is run for")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds before a method is stopped")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated, of: " + ", ".join(METHODS))
    parser.add_argument("--sample", type=int, default=500, help="above --truth-max: recall on K random questions")
    args = parser.parse_args()
    texts = public_questions(args.public, args.copies, args.seed) if args.public else store_questions(args.db)
    sizes = [int(n) for n in args.n.split(",")] if args.n else [len(texts)]
    print(f"{len(texts):,} distinct questions; uptime: {os.popen('uptime').read().strip()}", flush=True)
    for n in sizes:
        subset = texts[:n]
        for fuzzy in [float(f) for f in args.fuzzy.split(",")]:
            results = {}
            for method in args.methods.split(","):
                if method == "all-pairs" and n > args.truth_max:
                    continue
                results[method] = timed(method, subset, fuzzy, args.timeout)
                line = f"n {n:,} fuzzy {fuzzy:g} {method}: "
                if results[method] is None:
                    print(line + f"stopped after {args.timeout:.0f} s", flush=True)
                    continue
                pairs, wall, cpu = results[method]
                print(line + f"{wall:.1f} s (cpu {cpu:.1f} s), {len(pairs):,} pairs", flush=True)
            truth_name = next((m for m in ("all-pairs", "window") if results.get(m)), None)
            found = results["minhash"][0] if results.get("minhash") else None
            if found is not None:
                below = sum(fuzz.ratio(subset[a], subset[b]) < fuzzy for a, b in found)
                summary = f"n {n:,} fuzzy {fuzzy:g}: minhash pairs below the threshold: {below}"
                if truth_name:
                    truth = results[truth_name][0]
                    recall = len(found & truth) / len(truth) if truth else 1.0
                    summary += f"; recall vs {truth_name} {len(found & truth):,}/{len(truth):,} = {recall:.4f}"
                    if truth_name == "all-pairs" and results.get("window"):
                        summary += f"; window equals all pairs: {results['window'][0] == truth}"
                if truth_name != "all-pairs" and args.sample:
                    summary += "; " + sampled_recall(subset, fuzzy, found, args.sample, args.seed)
                print(summary + f"; uptime: {os.popen('uptime').read().strip()}", flush=True)


if __name__ == "__main__":
    main()
