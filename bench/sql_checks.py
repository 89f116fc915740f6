"""SQL checks per second: the warm read-only workers vs a fresh interpreter per check; and how
many gold queries and changed answers the checker judges as it should.

All 261 Spider dev gold queries (shared/data/sql/spider_dev_public.json, databases under
shared/data/sql/database), each answered by itself (plus a comment, so the answer runs apart
from the gold), checked two ways, side by side:
  - warm workers: `SQLChecker.check_many` (curate/verify/sql.py) with --workers forked workers,
    started before the clock (one warm-up check);
  - fresh interpreter: `python -I` started per check, running the same two queries with the same
    code (`run_query`, `compare_results`) and --workers checks at a time.
Then each gold query is changed by the PERTURBATIONS below (where it has the piece a
perturbation changes), and the changed answers are checked: a change that still gives the gold's
rows is counted, with one example per kind.

    python bench/sql_checks.py [--data /work/shared/data/sql] [--workers 2] [--rounds 1] [--examples 2]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from curate.verify.domains import CheckerOptions, Task  # noqa: E402
from curate.verify.sql import SQLChecker  # noqa: E402

DATA = Path("/work/shared/data/sql")

# The fresh-interpreter baseline's driver: the checker's own run and compare, in a new process.
DRIVER = """
import json, sys
sys.path.insert(0, sys.argv[1])
from curate.verify.sql import compare_results, orders_result, run_query
job = json.load(sys.stdin)
gold = run_query(job["database"], "sqlite", job["gold"], 10.0, cap_memory=True)
answer = run_query(job["database"], "sqlite", job["answer"], 10.0, cap_memory=True)
same = gold.status == answer.status == "ok" and compare_results(gold, answer, orders_result(job["gold"]))[0]
print("correct" if same else "incorrect")
"""


def _first(pattern: str, replace, flags=re.IGNORECASE):
    """A perturbation that changes the first match of `pattern` (None where there is none)."""

    def perturb(query: str) -> str | None:
        changed, count = re.subn(pattern, replace, query, count=1, flags=flags)
        return changed if count else None

    return perturb


def _flip_order(query: str) -> str | None:
    """DESC becomes ASC, ASC becomes DESC, an ORDER BY without either gets DESC."""
    if re.search(r"\bDESC\b", query, re.IGNORECASE):
        return re.sub(r"\bDESC\b", "ASC", query, count=1, flags=re.IGNORECASE)
    if re.search(r"\bASC\b", query, re.IGNORECASE):
        return re.sub(r"\bASC\b", "DESC", query, count=1, flags=re.IGNORECASE)
    match = re.search(r"\bORDER\s+BY\s+(.+?)(\s+LIMIT\b|$)", query, re.IGNORECASE | re.DOTALL)
    if not match:
        return None
    return query[: match.end(1)] + " DESC" + query[match.end(1) :]


PERTURBATIONS = {
    "LIMIT n -> n+1": _first(r"\bLIMIT\s+(\d+)", lambda m: f"LIMIT {int(m.group(1)) + 1}"),
    "ORDER BY direction flipped": _flip_order,
    "> -> >= (or the reverse)": _first(
        r"(?<![<>!])(>=|<=|>|<)(?!=)", lambda m: {">": ">=", "<": "<=", ">=": ">", "<=": "<"}[m.group(1)]
    ),
    "WHERE x = v -> x != v": _first(r"(\bWHERE\s+[\w.]+\s*)=", r"\1!="),
    "compared number +1": _first(r"((?:>=|<=|=|>|<)\s*)(\d+)\b", lambda m: f"{m.group(1)}{int(m.group(2)) + 1}"),
    "DISTINCT dropped": _first(r"\bDISTINCT\s+", ""),
    "max <-> min": _first(r"\b(max|min)\s*\(", lambda m: "min(" if m.group(1).lower() == "max" else "max("),
    "avg -> sum": _first(r"\bavg\s*\(", "sum("),
    "AND -> OR": _first(r"\bAND\b", "OR"),
    "INTERSECT/EXCEPT -> UNION": _first(r"\b(INTERSECT|EXCEPT)\b", "UNION"),
}


def load(data: Path) -> list[dict]:
    return json.loads((data / "spider_dev_public.json").read_text())


def task_of(row: dict, number: int) -> Task:
    return Task(
        f"spider/{number}", row["question"], row["query"], {"database": f"{row['db_id']}/{row['db_id']}.sqlite"}
    )


def answered(row: dict, round_number: int) -> str:
    return f"```sql\n{row['query']}\n-- answer {round_number}\n```"


def warm_workers(rows: list[dict], data: Path, workers: int, rounds: int) -> tuple[float, int]:
    checker = SQLChecker(CheckerOptions(database_root=str(data / "database")))
    checker.check_many([(task_of(rows[0], 0), answered(rows[0], -1), "stop")], workers=workers)  # start the workers
    started = time.perf_counter()
    correct = 0
    for round_number in range(rounds):
        items = [(task_of(row, i), answered(row, round_number), "stop") for i, row in enumerate(rows)]
        correct += sum(v.verdict == "correct" for v in checker.check_many(items, workers=workers, timeout=10))
    elapsed = time.perf_counter() - started
    checker.close()
    return len(rows) * rounds / elapsed, correct


def fresh_interpreter(rows: list[dict], data: Path, workers: int, rounds: int) -> tuple[float, int]:
    def one(job: tuple[dict, int]) -> bool:
        row, round_number = job
        database = data / "database" / row["db_id"] / f"{row['db_id']}.sqlite"
        payload = {
            "database": str(database),
            "gold": row["query"],
            "answer": f"{row['query']}\n-- answer {round_number}",
        }
        done = subprocess.run(
            [sys.executable, "-I", "-c", DRIVER, str(ROOT)],
            input=json.dumps(payload),
            capture_output=True,
            text=True,
            timeout=60,
            env={"PATH": "/usr/bin:/bin"},
        )
        return done.stdout.strip() == "correct"

    jobs = [(row, round_number) for round_number in range(rounds) for row in rows]
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        correct = sum(pool.map(one, jobs))
    return len(jobs) / (time.perf_counter() - started), correct


def perturbed(rows: list[dict], data: Path, workers: int, examples: int) -> dict[str, Counter]:
    """Verdicts of the changed answers per perturbation; prints examples that keep the gold's rows."""
    checker = SQLChecker(CheckerOptions(database_root=str(data / "database")))
    items, kinds = [], []
    for i, row in enumerate(rows):
        for kind, perturb in PERTURBATIONS.items():
            changed = perturb(row["query"])
            if changed is not None and changed != row["query"]:
                items.append((task_of(row, i), f"```sql\n{changed}\n```", "stop"))
                kinds.append(kind)
    verdicts = checker.check_many(items, workers=workers, timeout=10)
    checker.close()
    counts: dict[str, Counter] = defaultdict(Counter)
    shown: dict[str, set] = defaultdict(set)  # Spider repeats some gold queries: show each example once
    for kind, item, verdict in zip(kinds, items, verdicts):
        counts[kind][verdict.verdict] += 1
        if verdict.verdict == "correct" and len(shown[kind]) < examples and verdict.answer not in shown[kind]:
            shown[kind].add(verdict.answer)
            print(f"same rows ({kind}): {item[0].gold_answer!r} -> {verdict.answer!r}: {verdict.reason}")
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA, help="shared/data/sql")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--examples", type=int, default=2, help="examples shown per perturbation that keeps the rows")
    args = parser.parse_args()
    rows = load(args.data)
    total = len(rows) * args.rounds
    with open("/proc/loadavg") as loadavg:
        print(f"load average before: {loadavg.read().split()[:3]}")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-I", "-c", "pass"], check=True)
    bare = time.perf_counter() - started
    started = time.perf_counter()
    subprocess.run([sys.executable, "-I", "-c", DRIVER.split("job =")[0], str(ROOT)], check=True)
    print(
        f"`python -I` starts in {bare:.2f} s; with curate.verify.sql imported in {time.perf_counter() - started:.2f} s"
    )
    results = [
        (f"warm workers ({args.workers})", *warm_workers(rows, args.data, args.workers, args.rounds)),
        (
            f"fresh `python -I` per check, {args.workers} at a time",
            *fresh_interpreter(rows, args.data, args.workers, args.rounds),
        ),
    ]
    print(f"\n| way | checks/s | correct of {total} |\n| --- | ---: | ---: |")
    for name, rate, correct in results:
        print(f"| {name} | {rate:.1f} | {correct} |")
    print()
    counts = perturbed(rows, args.data, args.workers, args.examples)
    print(
        "\n| perturbation | changed answers | incorrect | same rows (correct) | other |\n| --- | ---: | ---: | ---: | ---: |"
    )
    for kind in PERTURBATIONS:
        count = counts.get(kind, Counter())
        other = sum(count.values()) - count["incorrect"] - count["correct"]
        print(f"| {kind} | {sum(count.values())} | {count['incorrect']} | {count['correct']} | {other} |")
    overall = sum(counts.values(), Counter())
    print(
        f"| all | {sum(overall.values())} | {overall['incorrect']} | {overall['correct']} | "
        f"{sum(overall.values()) - overall['incorrect'] - overall['correct']} ({dict(overall)}) |"
    )
    with open("/proc/loadavg") as loadavg:
        print(f"\nload average after: {loadavg.read().split()[:3]}")
    return 0 if all(correct == total for _name, _rate, correct in results) else 1


if __name__ == "__main__":
    sys.exit(main())
