"""Every stage at scale: wall time, samples/s and peak RSS per stage, beside DuckDB's read_json.

Builds (once, seeded, outside the repository) a JSONL file of N synthetic R1-like samples of
realistic length: 8 samples per problem; reasoning length log-normal with a median of 8 KB and
a tail to 100 KB (cut there); 30% of problems carry their samples as a list in `responses`, the
rest one sample per row in `response`; 3% of samples leave the think block open, 2% are empty;
70% box the gold answer. 200 problems repeat a MATH-500 question verbatim (decontam must find
them) and 1% of problems repeat another problem's question with one word changed (dedup).

Then, each in its own child process (so its peak RSS is its own), on one fresh store:
native read_json (`CREATE TABLE bare AS SELECT * FROM read_json(FILE)`, baseline), then
`curate import-samples`, `verify`, `score`, `select`, `dedup`, `decontam --against MATH-500`,
`export`, `stats`, review's first screen (bench/review.py's probe) and `evaluate report` (over
one eval run written from the teacher samples by SQL: one eval sample per sample).

    python bench/scale.py --n 100000 --dir /work/scale
    python bench/scale.py --n 1000000 --dir /work/scale --only import-samples,verify
    python bench/scale.py --n 100000 --dir /work/scale --only score --code /tmp/main --store /tmp/copy.duckdb

Prints a Markdown table (stage, seconds, CPU seconds of the stage's processes, samples/s, peak
RSS MiB, exit status) and appends
each row as it finishes to DIR/scale-N.log, so a long run can be watched. Goals (issue 17, at
1M): import >= 50% of native's rate at <= 3 GiB; every other stage <= 4 GiB; score + select
>= 1,000 samples/s; review's first screen < 1 s.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MATH500 = ROOT / "tests" / "data" / "public" / "simpleRL-reason" / "math500" / "test.jsonl"
PER_PROBLEM = 8
LIST_SHARE = 0.3
UNCLOSED_SHARE = 0.03
EMPTY_SHARE = 0.02
CORRECT_SHARE = 0.7
MEDIAN_CHARS = 8_000
SIGMA = 0.75  # log-normal spread: p99 near 45 KB, p99.9 near 80 KB
MAX_CHARS = 100_000
CONTAMINATED = 200  # problems that repeat a MATH-500 question
NEAR_DUP_SHARE = 0.01
WORDS = (
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
    "≤",
    "π",
)
STAGES = (
    "native",
    "import-samples",
    "verify",
    "score",
    "select",
    "dedup",
    "decontam",
    "export",
    "stats",
    "review",
    "evaluate-report",
)


def text_pool(rng: random.Random, size: int) -> str:
    vocabulary = list(WORDS) + [
        "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 9))) for _ in range(4000)
    ]
    words = rng.choices(vocabulary, k=size // 6)
    for at in range(0, len(words), 90):
        words[at] += "\n\n"
    return " ".join(words)


def trace_length(rng: random.Random) -> int:
    return max(200, min(MAX_CHARS, int(MEDIAN_CHARS * math.exp(rng.gauss(0.0, SIGMA)))))


def completion(rng: random.Random, pool: str, gold: int) -> str:
    roll = rng.random()
    if roll < EMPTY_SHARE:
        return ""
    length = trace_length(rng)
    start = rng.randrange(0, len(pool) - length)
    reasoning = pool[start : start + length]
    if roll < EMPTY_SHARE + UNCLOSED_SHARE:
        return f"<think>\n{reasoning}"
    answer = gold if rng.random() < CORRECT_SHARE else rng.randint(0, 999)
    return f"<think>\n{reasoning}\n</think>\n\nSo the answer is $\\boxed{{{answer}}}$."


def generate(path: Path, n: int, seed: int = 0) -> tuple[int, int]:
    """Write `n` samples (rounded up to whole problems); returns (rows, samples)."""
    rng = random.Random(seed)
    pool = text_pool(rng, 8_000_000)
    math500 = [json.loads(line)["problem"] for line in MATH500.read_text().splitlines()][:CONTAMINATED]
    n_problems = -(-n // PER_PROBLEM)
    contaminated = set(rng.sample(range(n_problems), min(CONTAMINATED, n_problems)))
    questions: list[str] = []
    rows = samples = 0
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8") as out:
        for problem in range(n_problems):
            if problem in contaminated:
                question = math500.pop()
            elif questions and rng.random() < NEAR_DUP_SHARE:
                words = rng.choice(questions).split(" ")
                words[-1] = "quickly."
                question = " ".join(words)
            else:
                start = rng.randrange(0, len(pool) - 600)
                question = f"Problem {problem}: find n such that " + pool[start : start + rng.randint(150, 600)]
            questions.append(question)
            gold = problem % 997
            base = {"problem_id": f"p{problem:07d}", "question": question, "answer": str(gold)}
            count = min(PER_PROBLEM, n - samples)
            if rng.random() < LIST_SHARE:
                out.write(
                    json.dumps(
                        {**base, "responses": [completion(rng, pool, gold) for _ in range(count)]}, ensure_ascii=False
                    )
                    + "\n"
                )
                rows += 1
            else:
                for _ in range(count):
                    out.write(json.dumps({**base, "response": completion(rng, pool, gold)}, ensure_ascii=False) + "\n")
                rows += count
            samples += count
    partial.rename(path)
    return rows, samples


def timed(command: list[str], env: dict | None = None) -> tuple[float, float, float, int, str]:
    """(wall seconds, CPU seconds (user + system), peak RSS MiB, exit status, output) of a child
    process; on a shared machine its CPU seconds vary far less than its wall time."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    output = process.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(process.pid, 0)
    cpu = usage.ru_utime + usage.ru_stime
    return time.perf_counter() - start, cpu, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), output


NATIVE = """
import sys, duckdb
con = duckdb.connect(sys.argv[2])
if sys.argv[3]:
    con.execute(f"SET memory_limit = '{sys.argv[3]}'")
con.execute("CREATE TABLE bare AS SELECT * FROM read_json(?)", [sys.argv[1]])
print(con.execute("SELECT count(*) FROM bare").fetchone()[0], "rows")
"""

REVIEW = """
import asyncio, sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
import review as bench_review
result = asyncio.run(bench_review.first_screen_and_steps(Path(sys.argv[1]), 0, prefetch=True))
print(f"first screen {result['first'] * 1000:.0f} ms (cpu {result['first_cpu'] * 1000:.0f} ms; siblings too at {result['full'] * 1000:.0f} ms)")
"""

EVAL_RUN = """
import sys
from db import open_store
with open_store(sys.argv[1]) as store, store.transaction():
    store.execute("DELETE FROM eval_samples WHERE eval_run_id = 'scale-teacher'")
    store.execute("DELETE FROM eval_runs WHERE eval_run_id = 'scale-teacher'")
    store.execute("INSERT INTO eval_runs (eval_run_id, model, backend, problems, samples, seed, status, label) "
                  "VALUES ('scale-teacher', 'scale-r1', 'openai', 'train', 8, 0, 'ok', 'teacher')")
    store.execute("INSERT INTO eval_samples (eval_run_id, problem_id, sample_index, verdict, correct, words, length_tokens, answer_key) "
                  "SELECT 'scale-teacher', s.problem_id, s.sample_index, v.verdict, v.verdict = 'correct', sc.length_words, "
                  "sc.length_tokens, sc.answer_key FROM samples s LEFT JOIN verdict_current v USING (sample_id) "
                  "LEFT JOIN scores sc USING (sample_id)")
"""


def stage_command(stage: str, data: Path, store: Path, work: Path, native_limit: str) -> list[list[str]]:
    python = sys.executable
    curate = [python, "-m", "curate"]
    if stage == "native":
        return [[python, "-c", NATIVE, str(data), str(work / "native.duckdb"), native_limit]]
    if stage == "import-samples":
        return [curate + ["import-samples", str(data), "--model", "scale-r1", "--db", str(store)]]
    if stage == "verify":
        return [curate + ["verify", "--db", str(store)]]
    if stage == "score":
        return [curate + ["score", "--db", str(store)]]
    if stage == "select":
        return [curate + ["select", "--policy", "shortest-correct", "--db", str(store)]]
    if stage == "dedup":
        return [curate + ["dedup", "--db", str(store)]]
    if stage == "decontam":
        return [curate + ["decontam", "--against", str(MATH500), "--db", str(store)]]
    if stage == "export":
        return [curate + ["export", "--out", str(work / "export"), "--db", str(store)]]
    if stage == "stats":
        return [curate + ["stats", "--db", str(store)]]
    if stage == "review":
        return [[python, "-c", REVIEW, str(store), str(ROOT / "bench")]]
    if stage == "evaluate-report":
        return [
            [python, "-c", EVAL_RUN, str(store)],
            [python, "-m", "eval", "report", "--db", str(store), "--out", str(work / "report")],
        ]
    raise ValueError(stage)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="samples")
    parser.add_argument("--dir", type=Path, required=True, help="work folder outside the repository (kept)")
    parser.add_argument("--only", default=None, help="comma-separated stages (default: all, in order)")
    parser.add_argument(
        "--code",
        type=Path,
        default=ROOT,
        help="checkout whose curate runs the stages (default: this one), e.g. an older commit as the baseline",
    )
    parser.add_argument(
        "--store", type=Path, default=None, help="store to run the stages on (default: DIR/nN/scale.duckdb)"
    )
    parser.add_argument(
        "--native-memory-limit",
        default="4GB",
        help="DuckDB memory_limit of the native baseline (its default is 80%% of RAM)",
    )
    args = parser.parse_args()

    work = args.dir / f"n{args.n}"
    work.mkdir(parents=True, exist_ok=True)
    data = args.dir / f"scale_{args.n}.jsonl"
    counts = data.with_suffix(".counts")
    if not (data.exists() and counts.exists()):
        started = time.perf_counter()
        rows, samples = generate(data, args.n)
        counts.write_text(f"{rows} {samples}")
        print(
            f"generated {samples} samples in {rows} rows ({data.stat().st_size / 2**20:,.0f} MiB) "
            f"in {time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
    rows, samples = map(int, counts.read_text().split())
    megabytes = data.stat().st_size / 2**20
    store = args.store or work / "scale.duckdb"
    stages = args.only.split(",") if args.only else list(STAGES)
    if "import-samples" in stages:
        for leftover in (store, Path(f"{store}.wal")):
            leftover.unlink(missing_ok=True)
    shutil.rmtree(work / "export", ignore_errors=True)
    log = args.dir / f"scale-{args.n}.log"
    env = {**os.environ, "PYTHONPATH": str(args.code.resolve()) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    with log.open("a") as out:
        out.write(
            f"\n# {time.strftime('%Y-%m-%d %H:%M:%S')} N={samples} rows={rows} file={megabytes:,.0f} MiB; "
            f"code {args.code}, store {store}; "
            f"uptime: {os.popen('uptime').read().strip()}\n"
        )
    results = []
    for stage in stages:
        (work / "native.duckdb").unlink(missing_ok=True)
        seconds = cpu = rss = 0.0
        status, tail = 0, ""
        for command in stage_command(stage, data, store, work, args.native_memory_limit):
            part_s, part_cpu, part_rss, status, output = timed(command, env)
            seconds, cpu, rss = seconds + part_s, cpu + part_cpu, max(rss, part_rss)
            tail = output.strip().splitlines()[-1] if output.strip() else ""
            if status != 0:
                tail = output.strip()[-2000:]
                break
        (work / "native.duckdb").unlink(missing_ok=True)
        results.append((stage, seconds, cpu, rss, status))
        line = (
            f"| {stage} | {seconds:,.1f} | {cpu:,.1f} | {samples / seconds:,.0f} | {rss:,.0f} | {status} | "
            f"load {os.getloadavg()[0]:.1f} |"
        )
        print(line, file=sys.stderr)
        with log.open("a") as out:
            out.write(line + "\n" + "".join(f"    {t}\n" for t in tail.splitlines()[-5:]))
    print(f"\n{samples:,} samples, {rows:,} rows, {megabytes:,.0f} MiB of JSONL\n")
    print("| stage | seconds | CPU s | samples/s | peak RSS MiB | exit |\n| --- | ---: | ---: | ---: | ---: | ---: |")
    for stage, seconds, cpu, rss, status in results:
        print(f"| {stage} | {seconds:,.1f} | {cpu:,.1f} | {samples / seconds:,.0f} | {rss:,.0f} | {status} |")
    times = dict((stage, seconds) for stage, seconds, _, _, _ in results)
    if "native" in times and "import-samples" in times:
        print(f"\nimport-samples at {times['native'] / times['import-samples']:.0%} of native read_json's rate")
    if "score" in times and "select" in times:
        print(f"score + select: {samples / (times['score'] + times['select']):,.0f} samples/s")


if __name__ == "__main__":
    main()
