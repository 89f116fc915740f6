"""Generation throughput: `curate generate` (with its database writes) beside a bare loop of
`openai` async calls, on the same local server, at the same concurrency.

The server (curate.testing.openai_server) runs in its own process and answers instantly with
R1-shaped completions of realistic size (10,000 characters of reasoning). Each measurement runs
in a fresh child process, so peak memory (ru_maxrss) is per measurement:

- bare: N `chat.completions.create` calls through one AsyncOpenAI client, C workers, results
  dropped.
- curate: `curate.generate.run()` on a fresh store holding N/4 problems x 4 samples, the
  same client settings, every sample written to DuckDB; timed from the call to its return
  (planning, requests, write-through and the final flush all included).

Goal: curate >= 80% of the bare rate at concurrency 64 and 256; peak memory flat from 1k to 20k
samples.

    python bench/generate.py               # 20,000 samples at 64 and 256, memory at 1k and 20k
    python bench/generate.py --n 4000      # quicker
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES_PER_PROBLEM = 4


def child_bare(url: str, n: int, concurrency: int) -> dict:
    import openai

    try:
        import httpx2 as httpx
    except ImportError:
        import httpx

    async def run() -> float:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        timeout = httpx.Timeout(3600, connect=10)
        client = openai.AsyncOpenAI(
            api_key="bench",
            base_url=url,
            max_retries=0,
            timeout=timeout,
            http_client=openai.DefaultAsyncHttpxClient(limits=limits, timeout=timeout),
        )
        work = iter(range(n))

        async def worker() -> None:
            for i in work:
                await client.chat.completions.create(
                    model="deepseek-reasoner",
                    max_tokens=32768,
                    temperature=0.6,
                    top_p=0.95,
                    messages=[{"role": "user", "content": f"Problem {i // SAMPLES_PER_PROBLEM}: what is {i} + 1?"}],
                )

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        await client.close()
        return elapsed

    elapsed = asyncio.run(run())
    return {"elapsed_s": elapsed, "samples": n}


def child_curate(url: str, n: int, concurrency: int) -> dict:
    from curate.generate import GenerateConfig, run as generate
    from db import open_store

    problems = n // SAMPLES_PER_PROBLEM
    path = Path(tempfile.mkdtemp(prefix="bench-generate-")) / "bench.duckdb"
    with open_store(path) as store:
        import polars as pl

        store.insert_frame(
            "problems",
            pl.DataFrame(
                {
                    "problem_id": [f"bench:{i:06d}" for i in range(problems)],
                    "source": ["bench"] * problems,
                    "question": [f"Problem {i}: what is {i} + 1?" for i in range(problems)],
                    "question_hash": [str(i) for i in range(problems)],
                }
            ),
        )
        config = GenerateConfig(
            model="deepseek-reasoner",
            base_urls=(url,),
            samples=SAMPLES_PER_PROBLEM,
            concurrency=concurrency,
            progress=True,
        )
        started = time.perf_counter()
        summary = generate(store, config)
        elapsed = time.perf_counter() - started
        stored = store.query("SELECT count(*) AS n FROM samples WHERE status = 'ok'").item()
    size_mb = path.stat().st_size / 1e6
    shutil.rmtree(path.parent)
    return {"elapsed_s": elapsed, "samples": stored, "ok": summary.counts["ok"], "db_mb": size_mb}


def measure(kind: str, url: str, n: int, concurrency: int) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--url", url, "--n", str(n), "--concurrency", str(concurrency)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "120"},
    )
    if done.returncode != 0:
        raise SystemExit(f"{kind} child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="samples per throughput measurement")
    parser.add_argument("--small-n", type=int, default=1_000, help="the small run of the memory comparison")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--reasoning-chars", type=int, default=10_000)
    parser.add_argument("--child", choices=("bare", "curate"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        result = (child_bare if args.child == "bare" else child_curate)(args.url, args.n, args.concurrency[0])
        result["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return

    server = subprocess.Popen(
        [sys.executable, "-m", "curate.testing.openai_server", "--reasoning-chars", str(args.reasoning_chars)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        ready = server.stdout.readline().strip()
        if not ready.startswith("ready "):
            raise SystemExit(f"server did not start: {ready!r}")
        url = ready.split(" ", 1)[1]
        rows = []
        for concurrency in args.concurrency:
            bare = measure("bare", url, args.n, concurrency)
            ours = measure("curate", url, args.n, concurrency)
            rows.append((concurrency, args.n, bare, ours))
        small = measure("curate", url, args.small_n, args.concurrency[0])
    finally:
        server.terminate()
        server.wait()

    print(
        f"server: {args.reasoning_chars:,} characters of reasoning per completion, instant answers; "
        f"{os.cpu_count()} CPUs"
    )
    print(
        f"{'concurrency':>11} {'samples':>8} {'bare/s':>8} {'curate/s':>9} {'ratio':>6} "
        f"{'bare RSS MB':>11} {'curate RSS MB':>13} {'db MB':>7}"
    )
    for concurrency, n, bare, ours in rows:
        bare_rate = bare["samples"] / bare["elapsed_s"]
        our_rate = ours["samples"] / ours["elapsed_s"]
        print(
            f"{concurrency:>11} {n:>8,} {bare_rate:>8.0f} {our_rate:>9.0f} {our_rate / bare_rate:>6.0%} "
            f"{bare['max_rss_mb']:>11.0f} {ours['max_rss_mb']:>13.0f} {ours['db_mb']:>7.0f}"
        )
    large = rows[0][3]
    print(
        f"peak RSS of curate generate at concurrency {args.concurrency[0]}: {args.small_n:,} samples "
        f"{small['max_rss_mb']:.0f} MB, {args.n:,} samples {large['max_rss_mb']:.0f} MB"
    )


if __name__ == "__main__":
    main()
