"""Import speed: `curate import-samples` against DuckDB's own read_json of the same file.

Generates N synthetic R1-like samples as JSONL (reasoning 2-30 KB in a `<think>` block, then a
short boxed answer; most rows carry one completion in `response`, some carry a list of 8 in
`responses`; about 3% leave the think block open and 2% are empty), then, in one run and each
in its own process:

- native: `CREATE TABLE bare AS SELECT * FROM read_json(FILE)` into a fresh DuckDB file;
- curate: `python -m curate import-samples FILE --model bench-r1 --db FRESH.duckdb`, which
  also resolves problems, splits think blocks, hashes ids and writes `samples` in one
  transaction.

Prints wall time, file rows/s, samples/s, MB/s and peak RSS of each, and the ratio
(goal: curate at least 50% of the native rate, memory bounded).

    python bench/ingest.py --n 20000          # about a minute on 2 cores
    python bench/ingest.py                    # N = 200,000 (about 3 GB of JSONL)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS_ASCII = (
    "the",
    "of",
    "so",
    "then",
    "we",
    "let",
    "since",
    "therefore",
    "wait",
    "check",
    "compute",
    "x",
    "y",
    "n",
    "k",
    "=",
    "+",
    "-",
    "\\frac{1}{2}",
    "\\sqrt{3}",
    "(a+b)^2",
    "mod",
    "sum",
    "prime",
    "Hmm,",
    "Alternatively,",
    "integer",
    "value",
    "case",
    "triangle",
    "area",
    "is",
    "not",
    "equal",
)
WORDS_UNICODE = ("≤", "≥", "π", "√", "→", "×")
LIST_SHARE = 0.3  # share of samples that arrive as a list of 8 per problem
LIST_SIZE = 8
ROW_SAMPLES_PER_PROBLEM = 4
UNCLOSED_SHARE = 0.03
EMPTY_SHARE = 0.02


def text_pool(rng: random.Random, size: int) -> str:
    """A pool of pseudo-words (a few non-ASCII) that traces are sliced from; varied enough not to compress away."""
    vocabulary = list(WORDS_ASCII) + [
        "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 9))) for _ in range(4000)
    ]
    words = rng.choices(vocabulary, k=size // 6)
    for at in range(0, len(words), 400):
        words[at] = rng.choice(WORDS_UNICODE)
    for at in range(0, len(words), 90):
        words[at] += "\n\n"
    return " ".join(words)


def completion(rng: random.Random, pool: str, answer: int) -> str:
    roll = rng.random()
    if roll < EMPTY_SHARE:
        return ""
    length = rng.randint(2_000, 30_000)
    start = rng.randrange(0, len(pool) - length)
    reasoning = pool[start : start + length]
    if roll < EMPTY_SHARE + UNCLOSED_SHARE:
        return f"<think>\n{reasoning}"
    return f"<think>\n{reasoning}\n</think>\n\nThe answer is $\\boxed{{{answer}}}$."


def generate(path: Path, n: int, seed: int = 0) -> tuple[int, int]:
    """Write about `n` samples; returns (file rows, samples)."""
    rng = random.Random(seed)
    pool = text_pool(rng, 8_000_000)
    rows = samples = problem = 0
    with path.open("w", encoding="utf-8") as out:
        while samples < n:
            problem += 1
            start = rng.randrange(0, len(pool) - 600)
            base = {
                "problem_id": f"p{problem:07d}",
                "question": f"Problem {problem}. " + pool[start : start + rng.randint(150, 600)],
                "answer": str(problem % 997),
            }
            if rng.random() < LIST_SHARE / (LIST_SHARE + (1 - LIST_SHARE) * LIST_SIZE / ROW_SAMPLES_PER_PROBLEM):
                count = min(LIST_SIZE, n - samples)
                out.write(
                    json.dumps(
                        {**base, "responses": [completion(rng, pool, problem % 997) for _ in range(count)]},
                        ensure_ascii=False,
                    )
                    + "\n"
                )
                rows += 1
            else:
                count = min(ROW_SAMPLES_PER_PROBLEM, n - samples)
                for _ in range(count):
                    out.write(
                        json.dumps({**base, "response": completion(rng, pool, problem % 997)}, ensure_ascii=False)
                        + "\n"
                    )
                rows += count
            samples += count
    return rows, samples


def timed(command: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MiB, stdout+stderr) of a child process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = process.stdout.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{command[:4]} failed ({process.returncode}):\n{output}")
    return seconds, usage.ru_maxrss / 1024, output


NATIVE = """
import sys, duckdb
con = duckdb.connect(sys.argv[2])
con.execute("CREATE TABLE bare AS SELECT * FROM read_json(?)", [sys.argv[1]])
print(con.execute("SELECT count(*) FROM bare").fetchone()[0])
con.close()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200_000, help="samples to generate")
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary one, removed after)")
    parser.add_argument("--keep", action="store_true", help="reuse an existing generated file of the same N")
    args = parser.parse_args()

    work = args.dir or Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    work.mkdir(parents=True, exist_ok=True)
    data = work / f"r1_synthetic_{args.n}.jsonl"
    meta = data.with_suffix(".counts")
    if args.keep and data.exists() and meta.exists():
        rows, samples = map(int, meta.read_text().split())
    else:
        start = time.perf_counter()
        rows, samples = generate(data, args.n)
        meta.write_text(f"{rows} {samples}")
        print(
            f"generated {samples} samples in {rows} rows ({data.stat().st_size / 2**20:.0f} MiB) "
            f"in {time.perf_counter() - start:.0f} s",
            file=sys.stderr,
        )
    megabytes = data.stat().st_size / 2**20

    results = {}
    for name in ("native", "curate"):
        store = work / f"{name}.duckdb"
        for leftover in (store, Path(str(store) + ".wal")):
            leftover.unlink(missing_ok=True)
        if name == "native":
            command = [sys.executable, "-c", NATIVE, str(data), str(store)]
        else:
            command = [
                sys.executable,
                "-m",
                "curate",
                "import-samples",
                str(data),
                "--model",
                "bench-r1",
                "--db",
                str(store),
            ]
        seconds, rss, output = timed(command)
        results[name] = (seconds, rss)
        print(output.strip(), file=sys.stderr)
        store.unlink(missing_ok=True)

    print(f"\n{samples} samples, {rows} rows, {megabytes:.0f} MiB of JSONL\n")
    print(f"{'':8} {'seconds':>8} {'rows/s':>9} {'samples/s':>10} {'MB/s':>7} {'peak RSS MiB':>13}")
    for name, (seconds, rss) in results.items():
        print(
            f"{name:8} {seconds:8.1f} {rows / seconds:9.0f} {samples / seconds:10.0f} {megabytes / seconds:7.1f} {rss:13.0f}"
        )
    ratio = results["native"][0] / results["curate"][0]
    print(f"\ncurate import-samples runs at {ratio:.0%} of DuckDB's native read_json rate (goal: at least 50%)")
    if args.dir is None:
        data.unlink()
        meta.unlink()
        work.rmdir()


if __name__ == "__main__":
    main()
