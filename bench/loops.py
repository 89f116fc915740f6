"""Figure: how many real traces `looks_cut_off_by_looping` flags (precision), and its time on
hostile 100k-character inputs (curate/verify/loops.py, issue 26 item 13).

    python bench/loops.py [--data ../shared/data] [--show 300]

Real texts (../shared/data, SOURCES.md there): the 800 sampled CoT responses of
Qwen2.5-Math's math_cot_100.jsonl, and the human-written solutions of MATH-500, GSM8K,
OlympiadBench, Minerva and AIME 2024, HumanEval prompt + canonical solution, MBPP code. None of
them loops to its end, so every flag is a false positive; each flagged text's end is printed for
inspection. Then hostile inputs of about 100k characters (periodic, tails that recur everywhere,
runs of one letter, a loop broken just before the end, a Fibonacci word): best of 3 seconds each.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curate.verify.loops import looks_cut_off_by_looping  # noqa: E402


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def real_sets(data: Path) -> dict[str, list[str]]:
    math = data / "Qwen2.5-Math"
    return {
        "math_cot_100 sampled responses": [
            c for r in _rows(math / "eval_rm_maj_example/math_cot_100.jsonl") for c in r["code"]
        ],
        "MATH-500 solutions": [r["solution"] for r in _rows(data / "simpleRL-reason/math500/test.jsonl")],
        "GSM8K test answers": [r["answer"] for r in _rows(data / "grade-school-math/test.jsonl")],
        "OlympiadBench solutions": [s for r in _rows(math / "olympiadbench/test.jsonl") for s in r["solution"]],
        "Minerva solutions": [r["solution"] for r in _rows(math / "minerva_math/test.jsonl")],
        "AIME 2024 solutions": [r["solution"] for r in _rows(math / "aime24/test.jsonl")],
        "HumanEval prompt + solution": [
            r["prompt"] + r["canonical_solution"] for r in _rows(data / "code/humaneval.jsonl")
        ],
        "MBPP code": [r["code"] for r in _rows(data / "code/mbpp.jsonl")],
    }


def looped_copies(texts: list[str]) -> tuple[list[str], list[str]]:
    """Each text made to loop as a stuck model does: its last paragraph (with the boxed answer)
    repeated 3 to 12 times, the last copy cut part-way; and each text cut part-way without a loop
    (truncated, not looping: the detector must leave those alone)."""
    pick = random.Random(1)
    loops, cuts = [], []
    for text in texts:
        paragraphs = [p for p in text.split("\n\n") if p.strip()]
        block = paragraphs[-1] + "\n\n"
        copies = max(pick.randint(3, 12), -(-300 // len(block)) + 1)
        loops.append(text + block * copies + block[: pick.randrange(len(block))])
        cuts.append(text[: pick.randrange(len(text) // 2, len(text))])
    return loops, cuts


def hostile() -> dict[str, str]:
    pick = random.Random(0)
    fibonacci_a, fibonacci_b = "a", "b"
    while len(fibonacci_b) < 100_000:
        fibonacci_a, fibonacci_b = fibonacci_b, fibonacci_b + fibonacci_a
    return {
        "one letter x 100k": "a" * 100_000,
        "random a/b": "".join(pick.choice("ab") for _ in range(100_000)),
        "tail recurs every 65 chars": "".join("T" * 64 + pick.choice("xyz") for _ in range(1500)) + "T" * 64,
        "runs of one letter, random lengths": "".join("a" * pick.randint(64, 300) + "b" for _ in range(600)) + "a" * 64,
        "loop broken before the end": "abc" * 33_333 + "d" + "abc" * 10,
        "Fibonacci word, reversed": fibonacci_b[:100_000][::-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        default=str(Path(__file__).resolve().parents[2] / "shared" / "data"),
        help="the shared data folder (SOURCES.md there)",
    )
    parser.add_argument("--show", type=int, default=300, help="characters of each flagged text's end to print")
    args = parser.parse_args()
    print("| texts | count | characters | flagged | seconds |")
    print("| --- | ---: | ---: | ---: | ---: |")
    flagged_texts = []
    for name, texts in real_sets(Path(args.data)).items():
        started = time.perf_counter()
        flagged = [(text, why) for text in texts if (why := looks_cut_off_by_looping(text))]
        seconds = time.perf_counter() - started
        print(f"| {name} | {len(texts):,} | {sum(map(len, texts)):,} | {len(flagged)} | {seconds:.3f} |")
        flagged_texts += [(name, text, why) for text, why in flagged]
    loops, cuts = looped_copies(real_sets(Path(args.data))["math_cot_100 sampled responses"])
    print(
        f"| math_cot_100, each looping its last paragraph to a cut (recall) | {len(loops):,} | "
        f"{sum(map(len, loops)):,} | {sum(looks_cut_off_by_looping(t) is not None for t in loops)} | |"
    )
    print(
        f"| math_cot_100, each cut part-way without a loop | {len(cuts):,} | "
        f"{sum(map(len, cuts)):,} | {sum(looks_cut_off_by_looping(t) is not None for t in cuts)} | |"
    )
    for name, text, why in flagged_texts:
        print(f"\nflagged ({name}): {why}\n  ...{text[-args.show :]!r}")
    print("\n| hostile input | characters | flagged | best of 3, ms |")
    print("| --- | ---: | --- | ---: |")
    for name, text in hostile().items():
        times = []
        for _ in range(3):
            started = time.perf_counter()
            why = looks_cut_off_by_looping(text)
            times.append(time.perf_counter() - started)
        print(f"| {name} | {len(text):,} | {'yes' if why else 'no'} | {min(times) * 1000:.1f} |")


if __name__ == "__main__":
    main()
