"""verdict_current before and after migration 022 (verdicts ranked per checker family).

Builds a bare DuckDB file (outside the repository) with N synthetic samples, each with a
sympy/4 and a sympy/3 verdict, plus N/10 code samples with code/1 and code/0 verdicts, all
with their content hash, then times the same two reads under migration 017's view (the one 022
replaces; 016's with the stored hash) and under 022's: the whole view (a count and the
older_version count) and the view for 7 sample ids (what review asks). Best of --reps, wall and
CPU (this process, so DuckDB's threads count), the two views alternating.

    python bench/verdict_current.py [--n 200000] [--reps 5] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import duckdb

MIGRATIONS = Path(__file__).resolve().parents[1] / "db" / "migrations"


def view_of(name: str) -> str:
    text = (MIGRATIONS / name).read_text()
    return text[text.index("CREATE OR REPLACE VIEW verdict_current") :]


def build(con: duckdb.DuckDBPyConnection, n: int) -> None:
    con.execute("DROP VIEW IF EXISTS verdict_current; DROP TABLE IF EXISTS verdicts; DROP TABLE IF EXISTS samples")
    code = n // 10
    con.execute(
        "CREATE TABLE samples AS SELECT 's' || i AS sample_id, md5(i::VARCHAR) AS content_hash "
        f"FROM range({n + code}) t(i)"
    )
    con.execute(
        "CREATE TABLE verdicts AS SELECT 's' || i AS sample_id, v AS verifier, 'correct' AS verdict, "
        "now()::TIMESTAMP AS created_at, md5(i::VARCHAR) AS content_hash "
        f"FROM range({n}) t(i), (VALUES ('sympy/4'), ('sympy/3')) x(v) "
        "UNION ALL SELECT 's' || i, v, 'correct', now()::TIMESTAMP, md5(i::VARCHAR) "
        f"FROM range({n}, {n + code}) t(i), (VALUES ('code/1'), ('code/0')) x(v)"
    )


def best(con, query: str, params: list, reps: int) -> tuple[float, float, list]:
    wall, cpu, rows = float("inf"), float("inf"), []
    for _ in range(reps):
        begun, begun_cpu = time.perf_counter(), time.process_time()
        rows = con.execute(query, params).fetchall()
        wall = min(wall, time.perf_counter() - begun)
        cpu = min(cpu, time.process_time() - begun_cpu)
    return wall * 1000, cpu * 1000, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200_000, help="math samples (code: a tenth of it)")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=Path("/tmp"))
    args = parser.parse_args()
    path = args.dir / f"verdict_current_{args.n}.duckdb"
    con = duckdb.connect(str(path))
    build(con, args.n)
    ids = [f"s{i}" for i in range(0, args.n + args.n // 10, max(1, (args.n + args.n // 10) // 7))][:7]
    reads = {
        "whole view": ("SELECT count(*), count(*) FILTER (WHERE older_version) FROM verdict_current", []),
        "7 sample ids": ("SELECT count(*) FROM verdict_current WHERE list_contains(?, sample_id)", [ids]),
    }
    views = {"017": view_of("017_sample_content_hash.sql"), "022": view_of("022_verdict_current_by_domain.sql")}
    found: dict[tuple[str, str], tuple[float, float]] = {}
    for _ in range(2):  # alternate, so neither view gets the quieter minute alone
        for name, view in views.items():
            con.execute(view)
            for read, (query, params) in reads.items():
                wall, cpu, rows = best(con, query, params, args.reps)
                old = found.get((name, read), (float("inf"), float("inf")))
                found[(name, read)] = (min(old[0], wall), min(old[1], cpu))
                print(f"{name} {read}: {rows}")
    con.close()
    path.unlink(missing_ok=True)
    print(f"\n{args.n:,} math + {args.n // 10:,} code samples, 2 verdicts each\n")
    print("| read | 017 wall ms | 017 CPU ms | 022 wall ms | 022 CPU ms |\n| --- | ---: | ---: | ---: | ---: |")
    for read in reads:
        (w17, c17), (w22, c22) = found[("017", read)], found[("022", read)]
        print(f"| {read} | {w17:,.0f} | {c17:,.0f} | {w22:,.0f} | {c22:,.0f} |")


if __name__ == "__main__":
    main()
