"""Speed figures of `evaluate run`'s two backends, each beside its baseline in one run.

1. Local backend: `LocalGenerator.generate` (sorted, left-padded batches with the KV cache)
   against a naive loop that calls `model.generate` on one prompt at a time, on the same loaded
   model, prompts and settings (sampling, temperature 0.6, top-p 0.95). Figure: generated tokens
   per second. Goal: at least 3x on CPU with the tiny model.
2. Endpoint backend: `OpenAIBackend.generate` (the `openai` async client, `n` samples per
   request) against a bare httpx loop posting the same requests with the same concurrency, both
   to the project's instant test server (`python -m curate.testing.openai_server`) in its own
   process. Figure: client overhead per sample = (backend wall time - bare loop wall time) /
   samples. Goal: under 2 ms. Samples go to a sink that only keeps them: verification and store
   writes are not client overhead (the full `eval.run.run` per-sample time is printed beside it).

Run: `python bench/eval.py [--prompts 32] [--max-new-tokens 64] [--batch-size 16] [--problems 200]
[--samples 4] [--device cpu|cuda] [--rounds 2] [--skip-local] [--skip-endpoint]`. Prints a table per figure.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# This file is named eval.py: keep its folder off the path so `import eval` finds the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

QUESTIONS = [
    "What is 17 + 25?",
    "Compute 12 times 13.",
    "What is the square root of 144?",
    "A rectangle has sides 3 and 7. What is its area?",
    "Simplify 18/24.",
    "What is 2 to the power 10?",
    "How many minutes are there in 3 hours?",
    "What is the sum of the first 10 positive integers?",
    "Solve for x: 3x + 5 = 20.",
    "What is 15% of 80?",
    "What is the greatest common divisor of 36 and 60?",
    "A triangle has angles 50 and 60 degrees. What is the third angle?",
    "How many prime numbers are less than 20?",
    "What is 1001 divided by 7?",
    "If a car travels 60 miles in 1.5 hours, what is its average speed?",
    "What is the least common multiple of 4, 6 and 10?",
]


def chats(n: int) -> list[list[dict]]:
    return [
        [{"role": "user", "content": QUESTIONS[i % len(QUESTIONS)] + " Put the answer in \\boxed{}."}] for i in range(n)
    ]


def naive_loop(generator, messages: list[list[dict]], max_new_tokens: int) -> int:
    """The baseline: `model.generate` on one prompt at a time; returns the tokens generated."""
    import torch

    tokenizer, model = generator.tokenizer, generator.model
    tokens = 0
    torch.manual_seed(0)
    with torch.inference_mode():
        for chat in messages:
            ids = tokenizer(generator.render(chat), add_special_tokens=False, return_tensors="pt").to(generator.device)
            out = model.generate(
                **ids,
                max_new_tokens=max_new_tokens,
                do_sample=True,
                temperature=0.6,
                top_p=0.95,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=generator.eos_token_ids,
            )
            new = out[0, ids["input_ids"].shape[1] :].tolist()
            stop = next((i for i, t in enumerate(new) if t in generator.eos_token_ids), None)
            tokens += len(new) if stop is None else stop + 1
    return tokens


def bench_local(prompts: int, max_new_tokens: int, batch_size: int, device: str, rounds: int) -> None:
    from curate.local_generation import LocalGenerator

    generator = LocalGenerator.tiny(batch_size=batch_size, device=device)
    messages = chats(prompts)
    settings = dict(max_new_tokens=max_new_tokens, temperature=0.6, top_p=0.95)

    # Warm-up so neither side pays first-call costs.
    generator.generate(messages[:2], seed=0, **settings)
    # Rounds alternate the two methods and keep each one's best, so load from other work on a
    # shared machine hits both alike.
    batched_s = naive_s = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        batched = generator.generate(messages, seed=0, **settings)
        batched_s = min(batched_s, time.perf_counter() - started)
        batched_tokens = sum(c.completion_tokens for c in batched)
        started = time.perf_counter()
        naive_tokens = naive_loop(generator, messages, max_new_tokens)
        naive_s = min(naive_s, time.perf_counter() - started)

    batched_rate, naive_rate = batched_tokens / batched_s, naive_tokens / naive_s
    print(
        f"\nLocal backend: SmolLM2-135M (GGUF Q4_1 dequantized, {generator.dtype}), {device}, {prompts} prompts, "
        f"max_new_tokens {max_new_tokens}, batch size {batch_size}, best of {rounds} alternating rounds"
    )
    print(f"{'method':<34}{'tokens':>8}{'seconds':>10}{'tokens/s':>10}")
    print(f"{'naive generate, one prompt a time':<34}{naive_tokens:>8}{naive_s:>10.1f}{naive_rate:>10.1f}")
    print(f"{'LocalGenerator (batched)':<34}{batched_tokens:>8}{batched_s:>10.1f}{batched_rate:>10.1f}")
    print(f"speed-up: {batched_rate / naive_rate:.1f}x (goal: 3x)")


def start_server() -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "curate.testing.openai_server", "--reasoning-chars", "200"],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline().strip()
    if not line.startswith("ready "):
        process.kill()
        raise RuntimeError(f"test server did not start: {line!r}")
    return process, line.split(" ", 1)[1]


async def bare_loop(url: str, jobs, samples: int, n: int, concurrency: int) -> int:
    """The baseline: plain httpx posts and json parsing, same requests and concurrency."""
    import httpx2

    gate = asyncio.Semaphore(concurrency)
    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    received = 0
    async with httpx2.AsyncClient(base_url=url, limits=limits, timeout=60) as client:

        async def one(job) -> None:
            nonlocal received
            for _ in range(samples // n):
                async with gate:
                    response = await client.post(
                        "/chat/completions",
                        json={
                            "model": "bench",
                            "messages": [{"role": "user", "content": job.prompt}],
                            "n": n,
                            "temperature": 0.6,
                            "top_p": 0.95,
                            "max_tokens": 4096,
                            "seed": 0,
                        },
                    )
                    received += len(response.json()["choices"])

        await asyncio.gather(*(one(job) for job in jobs))
    return received


def bench_endpoint(problems: int, samples: int, concurrency: int) -> None:
    from eval.run import EvalConfig, Job, OpenAIBackend

    process, url = start_server()
    try:
        print(
            f"\nEndpoint backend: {problems} problems x {samples} samples, concurrency {concurrency}, "
            f"instant local server in its own process"
        )
        print(f"{'samples/request':<16}{'bare httpx s':>13}{'backend s':>11}{'overhead ms/sample':>20}")
        for n in (1, samples):
            jobs = [
                Job(f"p{i}", f"{QUESTIONS[i % len(QUESTIONS)]} (problem {i})", tuple(range(samples)))
                for i in range(problems)
            ]
            config = EvalConfig(
                name="bench",
                model="bench",
                base_url=url,
                problems="-",
                samples=samples,
                n_per_request=n,
                concurrency=concurrency,
                max_tokens=4096,
                progress=False,
            )
            kept: list = []
            backend = OpenAIBackend(config)
            asyncio.run(bare_loop(url, jobs[:8], samples, n, concurrency))  # warm-up
            best_bare, best_backend = float("inf"), float("inf")
            for _ in range(3):  # best of three: the machine is shared
                started = time.perf_counter()
                got = asyncio.run(bare_loop(url, jobs, samples, n, concurrency))
                best_bare = min(best_bare, time.perf_counter() - started)
                kept.clear()
                started = time.perf_counter()
                backend.generate(jobs, seed=0, config=config, sink=kept.extend)
                best_backend = min(best_backend, time.perf_counter() - started)
            total = problems * samples
            assert got == total and len(kept) == total, (got, len(kept), total)
            overhead_ms = 1000 * (best_backend - best_bare) / total
            print(f"{n:<16}{best_bare:>13.3f}{best_backend:>11.3f}{overhead_ms:>20.3f}")
        print("goal: under 2 ms per sample")
        full_run(url, samples)
    finally:
        process.terminate()
        process.wait(10)


def full_run(url: str, samples: int) -> None:
    """The whole `evaluate run` per sample (HTTP, verification, store writes), for context."""
    import json

    from db import open_store
    from eval.run import EvalConfig, run as run_eval

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "problems.jsonl"
        path.write_text(
            "".join(
                json.dumps({"id": i, "question": f"{q} (problem {i}) [[answer: {i}]]", "answer": str(i)}) + "\n"
                for i, q in enumerate(QUESTIONS * 4)
            )
        )
        config = EvalConfig(
            name="bench",
            model="bench",
            base_url=url,
            problems=str(path),
            samples=samples,
            max_tokens=4096,
            progress=False,
        )
        started = time.perf_counter()
        with open_store(Path(folder) / "bench.duckdb") as store:
            [result] = run_eval(store, config).runs
        seconds = time.perf_counter() - started
        print(
            f"full `evaluate run` (verify + store included): {result.samples} samples in {seconds:.2f} s, "
            f"{1000 * seconds / result.samples:.1f} ms/sample, pass@1 {result.pass_at_1.mean:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--problems", type=int, default=200)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (local backend)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per method (local backend)")
    parser.add_argument("--skip-local", action="store_true")
    parser.add_argument("--skip-endpoint", action="store_true")
    args = parser.parse_args()
    if not args.skip_endpoint:
        bench_endpoint(args.problems, args.samples, args.concurrency)
    if not args.skip_local:
        bench_local(args.prompts, args.max_new_tokens, args.batch_size, args.device, args.rounds)


if __name__ == "__main__":
    main()
