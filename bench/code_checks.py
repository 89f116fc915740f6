"""Code checks per second: the sandbox's warm fork servers vs a fresh interpreter per check.

All 164 HumanEval canonical solutions (shared/data/code/humaneval.jsonl), each as a fenced full
function, checked with the same program and tests three ways, side by side:
  - fork server: `CodeChecker.check_many` (curate/verify/code.py) with --workers servers,
    started before the clock (one warm-up check each);
  - fresh interpreter: `python -I` started per check, running the same program and tests (no
    isolation at all, so this baseline is cheaper than any sandboxed fresh start);
  - fresh interpreter in fresh namespaces: the same under `unshare --net --mount --pid --fork`
    per check (what a sandbox without a warm server pays), when unshare works here.
Every way must pass all 164, or the script exits 1.

    python bench/code_checks.py [--data /work/shared/data/code/humaneval.jsonl] [--workers 2] [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from curate.verify.code import CodeChecker, program_for, tests_for  # noqa: E402
from curate.verify.sandbox import Sandbox  # noqa: E402

DATA = Path("/work/shared/data/code/humaneval.jsonl")

# The fresh-interpreter baseline's driver: program, then tests, then count the passes.
DRIVER = """
import json, sys
job = json.load(sys.stdin)
namespace = {"__name__": "__main__"}
exec(compile(job["program"], "<answer>", "exec"), namespace)
exec(compile(job["tests"], "<tests>", "exec"), namespace)
passed = []
namespace["run_tests"](lambda index, error=None: passed.append(error is None))
print(sum(passed), len(passed))
"""


@dataclass(frozen=True)
class Task:
    problem_id: str
    meta: dict


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def fork_server(rows: list[dict], workers: int, rounds: int) -> tuple[float, int]:
    checker = CodeChecker()

    def items(round_number: int) -> list[tuple]:
        # A comment per round makes every program new, so no check is answered by the per-call dedup.
        return [
            (Task(r["task_id"], r), f"```python\n{r['prompt']}{r['canonical_solution']}# {round_number}\n```", "stop")
            for r in rows
        ]

    checker.check_many(items(-1)[:workers], workers=workers, timeout=10)  # start the servers
    started = time.perf_counter()
    correct = 0
    for round_number in range(rounds):
        verdicts = checker.check_many(items(round_number), workers=workers, timeout=10)
        correct += sum(v.verdict == "correct" for v in verdicts)
    elapsed = time.perf_counter() - started
    checker.close()
    return len(rows) * rounds / elapsed, correct


def fresh_interpreter(rows: list[dict], workers: int, rounds: int, prefix: list[str]) -> tuple[float, int]:
    jobs = []
    for r in rows:
        tests, texts, kind = tests_for(r)
        program = program_for(r["prompt"] + r["canonical_solution"], r, kind)
        jobs.append((json.dumps({"program": program, "tests": tests}), len(texts)))

    def one(job: tuple[str, int]) -> bool:
        payload, count = job
        done = subprocess.run(
            [*prefix, sys.executable, "-I", "-c", DRIVER],
            input=payload,
            capture_output=True,
            text=True,
            timeout=30,
            env={"PATH": "/usr/bin:/bin"},
        )
        return done.stdout.split() == [str(count), str(count)]

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        correct = sum(pool.map(one, jobs * rounds))
    return len(jobs) * rounds / (time.perf_counter() - started), correct


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA, help="HumanEval's jsonl")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    rows = load(args.data)
    total = len(rows) * args.rounds
    with open("/proc/loadavg") as loadavg:
        print(f"load average before: {loadavg.read().split()[:3]}")
    started = time.perf_counter()
    with Sandbox(1) as sandbox:
        print(f"one fork server starts in {time.perf_counter() - started:.2f} s ({sandbox.isolation})")
    results = []
    for workers in sorted({1, args.workers}):
        results.append((f"fork server, {workers} worker(s)", *fork_server(rows, workers, args.rounds)))
        results.append((f"fresh `python -I`, {workers} at a time", *fresh_interpreter(rows, workers, args.rounds, [])))
    unshare = shutil.which("unshare")
    if unshare:
        prefix = [unshare, "--net", "--mount", "--pid", "--fork"]
        results.append(
            (
                f"fresh `python -I` in fresh namespaces, {args.workers} at a time",
                *fresh_interpreter(rows, args.workers, args.rounds, prefix),
            )
        )
    print(f"\n| way | checks/s | correct of {total} |\n| --- | ---: | ---: |")
    for name, rate, correct in results:
        print(f"| {name} | {rate:.1f} | {correct} |")
    with open("/proc/loadavg") as loadavg:
        print(f"\nload average after: {loadavg.read().split()[:3]}")
    return 0 if all(correct == total for _name, _rate, correct in results) else 1


if __name__ == "__main__":
    sys.exit(main())
