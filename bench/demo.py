"""Wall time of `curate demo` (issue 16: under 10 minutes on 2 CPU cores; `--ablation` under 20).

Runs the command as a user types it, in a fresh folder, once per condition, and prints one
Markdown row per run: the condition, the load average before it started, total wall time, the
wall time of each pipeline stage (from the store's `runs` table) and the result (pass@1 of base
and student, McNemar p). Conditions:
  * quiet: nothing else started by this script;
  * burner: one extra CPU-bound process (a Python busy loop) runs for the whole demo, the
    "second CPU-bound process" of the issue.
Other jobs on the machine are not controlled: compare the load column.

    python bench/demo.py                      # quiet, then with a burner
    python bench/demo.py --conditions quiet --ablation
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from db import open_store  # noqa: E402
from eval.report import compare_runs  # noqa: E402

BURNER = "while True: pass"


def stage_seconds(db: Path) -> dict[str, float]:
    with open_store(db, read_only=True) as store:
        rows = store.execute(
            "SELECT json_extract_string(config, '$.stage'), epoch(finished_at) - epoch(started_at) FROM runs "
            "WHERE kind = 'pipeline-stage' AND status = 'ok' ORDER BY started_at"
        ).fetchall()
    return {name: seconds for name, seconds in rows}


def run_once(condition: str, ablation: bool, keep: Path | None, threads: int | None) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="bench-demo-")) if keep is None else keep / condition
    burner = subprocess.Popen([sys.executable, "-c", BURNER]) if condition == "burner" else None
    load = os.getloadavg()[0]
    command = [sys.executable, "-m", "curate", "demo", "--fresh", "--dir", str(folder / "demo")]
    command += ["--ablation"] if ablation else []
    command += ["--threads", str(threads)] if threads else []
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    finally:
        if burner is not None:
            burner.kill()
            burner.wait()
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"curate demo failed ({done.returncode}):\n{done.stderr[-3000:]}")
    db = folder / "demo" / "traces.duckdb"
    comparison = compare_runs(db, "student", "base")
    return {
        "condition": condition + (" --ablation" if ablation else ""),
        "load": load,
        "wall": wall,
        "stages": stage_seconds(db),
        "base": comparison.pass_at_1_b,
        "student": comparison.pass_at_1_a,
        "p": comparison.mcnemar.p_value,
        "output_lines": len(done.stdout.splitlines()) + len(done.stderr.splitlines()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conditions", default="quiet,burner", help="comma-separated: quiet, burner")
    parser.add_argument("--ablation", action="store_true", help="time `curate demo --ablation` instead")
    parser.add_argument("--threads", type=int, help="pass --threads N to curate demo (default: its own rule)")
    parser.add_argument("--keep", type=Path, help="keep each run's folder under this one (default: a temp folder)")
    args = parser.parse_args()
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} {os.cpu_count()} CPUs; uptime: {os.popen('uptime').read().strip()}")
    print("| condition | load before | wall s | stages (s) | base | student | McNemar p | output lines |")
    print("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |")
    for condition in args.conditions.split(","):
        row = run_once(condition.strip(), args.ablation, args.keep, args.threads)
        stages = ", ".join(f"{name} {seconds:.0f}" for name, seconds in row["stages"].items() if seconds >= 1)
        print(
            f"| {row['condition']} | {row['load']:.1f} | {row['wall']:.0f} | {stages} | "
            f"{100 * row['base']:.1f}% | {100 * row['student']:.1f}% | {row['p']:.2g} | {row['output_lines']} |",
            flush=True,
        )
        print(json.dumps(row), file=sys.stderr)


if __name__ == "__main__":
    main()
