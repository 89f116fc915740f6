"""The GPU check: the whole train-and-evaluate path, run as a user types it, on a fresh machine.

Builds, offline, a model folder from a config with random weights (Qwen2.5-7B shape in bf16 on a
GPU, a 2-layer config of the same vocabulary with --cpu) and the bundled SmolLM2 tokenizer, and a
problems file with R1-length synthetic traces (lognormal, median 2,500 tokens; / 16 with --cpu).
Then runs the commands: curate ingest, import-samples, verify, score, select, export; train sft
for a fixed number of steps; train merge; evaluate run --backend local (no --base-url) on a
handful of test problems. Prints, per command, wall seconds and peak memory (GPU: nvidia-smi's
used memory sampled every 0.5 s; CPU: the command's peak RSS), for train sft its time to the
first step and real tokens/s after it (train_runs), for evaluate the generated tokens/s; then
one summary line. Exit status: non-zero when any command failed.

Run: bash bench/gpu_check.sh (installs what it needs, then this) or python bench/gpu_check.py
[--cpu] [--dir DIR] [--steps N] [--json PATH]. The fixture builders are also what
bench/gpu_train.py trains on.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SETTINGS = ("attention", "precision", "compiled", "fused_kernels")
FILLER = "so we add the two numbers then check the sum again and compare it with the question".split()


def model_config(shape: str, vocab_size: int = 152064):
    """Qwen2.5-7B's shape, or a 2-layer one with the same vocabulary (the loss's memory driver)."""
    from transformers import Qwen2Config

    if shape == "tiny":
        return Qwen2Config(
            vocab_size=vocab_size,
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=32768,
            tie_word_embeddings=False,
        )
    return Qwen2Config(
        vocab_size=vocab_size,
        hidden_size=3584,
        intermediate_size=18944,
        num_hidden_layers=28,
        num_attention_heads=28,
        num_key_value_heads=4,
        max_position_embeddings=32768,
        rope_theta=1e6,
        tie_word_embeddings=False,
    )


def build_model(shape: str, out: Path, seed: int = 0) -> Path:
    """A model folder: random weights of `shape` (bf16 on CUDA, fp32 on CPU) and SmolLM2's tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM

    from train.model import load_tokenizer, resolve_model

    if (out / "config.json").exists():
        return out
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    load_tokenizer(*resolve_model("tiny")).save_pretrained(tmp)
    torch.manual_seed(seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(model_config(shape), dtype=dtype)
    model.save_pretrained(tmp)
    del model
    tmp.rename(out)
    return out


def trace_lengths(n: int, median: int = 2500, seed: int = 0, scale: int = 1) -> list[int]:
    """R1-like trace lengths in tokens: lognormal around `median`, clipped to 200..16,384, / scale."""
    rng = random.Random(seed)
    return [max(8, int(min(16384, max(200, rng.lognormvariate(math.log(median), 0.8)))) // scale) for _ in range(n)]


def write_traces(folder: Path, train: int, test: int, scale: int = 1, seed: int = 0) -> tuple[Path, Path, Path]:
    """train.jsonl and test.jsonl (problems) and traces.jsonl (one correct R1-style trace per train problem)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    paths = folder / "train.jsonl", folder / "test.jsonl", folder / "traces.jsonl"
    with paths[0].open("w") as train_file, paths[1].open("w") as test_file, paths[2].open("w") as traces:
        for index, length in enumerate(trace_lengths(train + test, seed=seed, scale=scale)):
            a, b = rng.randint(10, 999), rng.randint(10, 999)
            row = {"id": f"q{index}", "question": f"What is {a} + {b}?", "answer": str(a + b)}
            (train_file if index < train else test_file).write(json.dumps(row) + "\n")
            if index < train:
                thinking = " ".join(rng.choice(FILLER) for _ in range(length))
                response = f"<think>\n{thinking}\n{a} + {b} = {a + b}\n</think>\n\nThe answer is \\boxed{{{a + b}}}."
                traces.write(json.dumps({"id": f"q{index}", "question": row["question"], "response": response}) + "\n")
    return paths


class PeakGpuMemory:
    """The most GPU memory in use (MiB, all processes) while the block runs, from nvidia-smi."""

    def __init__(self):
        self.peak_mib: float | None = None
        self._stop = threading.Event()

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                used = subprocess.run(
                    ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                    capture_output=True,
                    text=True,
                    timeout=5,
                ).stdout.split()
                self.peak_mib = max(self.peak_mib or 0.0, float(used[0]))
            except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
                return
            self._stop.wait(0.5)

    def __enter__(self):
        if shutil.which("nvidia-smi"):
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()


def run_command(name: str, argv: list[str], log: Path, env: dict) -> dict:
    """Run one command as typed; its wall seconds, peak memory and exit status."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    tic = time.perf_counter()
    with PeakGpuMemory() as gpu, log.open("w") as handle:
        handle.write("$ " + " ".join(argv) + "\n")
        handle.flush()
        code = subprocess.run(argv, stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=REPO).returncode
    seconds = time.perf_counter() - tic
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = {
        "command": name,
        "exit": code,
        "seconds": round(seconds, 1),
        # RUSAGE_CHILDREN keeps the largest child so far: a smaller later command shows as '-'.
        "peak_rss_gib": round(rss / 2**20, 2) if rss > before else None,
        "peak_gpu_gib": round(gpu.peak_mib / 1024, 1) if gpu.peak_mib else None,
    }
    if code != 0:
        result["log_tail"] = log.read_text()[-1500:]
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpu", action="store_true", help="tiny config on the CPU, lengths / 16")
    parser.add_argument("--dir", type=Path, help="work folder (default: a new one under /tmp)")
    parser.add_argument("--steps", type=int, help="train sft steps (default 10 on GPU, 6 with --cpu)")
    parser.add_argument("--json", type=Path, help="write the result rows here")
    args = parser.parse_args()

    import torch

    if not args.cpu and not torch.cuda.is_available():
        print("no CUDA device: use --cpu", file=sys.stderr)
        return 2
    work = args.dir or Path(f"/tmp/gpu-check-{os.getpid()}")
    work.mkdir(parents=True, exist_ok=True)
    for old in work.iterdir():  # a rerun starts over; only the (slow to build) model folder stays
        if old.name != "model":
            shutil.rmtree(old) if old.is_dir() else old.unlink()
    scale, steps = (16, args.steps or 6) if args.cpu else (1, args.steps or 10)
    rows, gen_tokens = ("1024", "32") if args.cpu else ("8192", "256")
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    if args.cpu:
        env["CUDA_VISIBLE_DEVICES"] = ""
    db = str(work / "check.duckdb")

    tic = time.perf_counter()
    model = build_model("tiny" if args.cpu else "qwen7b", work / "model")
    train_problems, test_problems, traces = write_traces(work, train=96, test=4, scale=scale)
    results = [{"command": "build model + traces", "exit": 0, "seconds": round(time.perf_counter() - tic, 1)}]
    print(json.dumps(results[0]), flush=True)

    def cli(tool: str, *rest: str) -> list[str]:
        return [str(bin_dir / tool), *rest]

    export = work / "export"
    commands = [
        (
            "curate ingest",
            cli("curate", "ingest", str(train_problems), "--source", "check", "--split", "train") + ["--db", db],
        ),
        (
            "curate ingest test",
            cli("curate", "ingest", str(test_problems), "--source", "check", "--split", "test") + ["--db", db],
        ),
        (
            "curate import-samples",
            cli("curate", "import-samples", str(traces), "--model", "synthetic-r1", "--source", "check", "--db", db),
        ),
        ("curate verify", cli("curate", "verify", "--db", db)),
        ("curate score", cli("curate", "score", "--tokenizer", str(model), "--db", db)),
        ("curate select", cli("curate", "select", "--policy", "shortest-correct", "--name", "check", "--db", db)),
        (
            "curate export",
            cli("curate", "export", "--out", str(export), "--selection", "check", "--val-fraction", "0.1")
            + ["--tokenizer", str(model), "--db", db],
        ),
        (
            "train sft",
            cli("train", "sft", "--data", str(export), "--model", str(model), "--out", str(work / "student"))
            + ["--db", db, "--max-steps", str(steps), "--eval-every", str(steps), "--tokens-per-batch", rows]
            + ["--no-progress"],
        ),
        (
            "train merge",
            cli("train", "merge", "--adapter", str(work / "student" / "adapter"), "--out", str(work / "merged")),
        ),
        (
            "evaluate run",
            cli("evaluate", "run", "--name", "check", "--model", str(work / "merged"), "--problems", "test")
            + ["--source", "check", "--max-tokens", gen_tokens, "--temperature", "0", "--db", db],
        ),
    ]
    for name, argv in commands:
        result = run_command(name, argv, work / f"{name.replace(' ', '_')}.log", env)
        if name == "train sft" and result["exit"] != 0 and _fused_kernels_installed():
            # Liger's kernels were never measured here: say so and measure the unfused path instead.
            results.append({**result, "command": "train sft (fused kernels)"})
            print(json.dumps(results[-1]), flush=True)
            shutil.rmtree(work / "student", ignore_errors=True)
            result = run_command(name, argv + ["--fused-kernels", "off"], work / "train_sft_unfused.log", env)
        results.append(result)
        if result["exit"] == 0:
            result.update(_measured(name, db))
            if result.get("generated_tokens"):
                # Over the command's wall time, model load included.
                result["tokens_per_s"] = round(result["generated_tokens"] / result["seconds"], 1)
        print(json.dumps(result), flush=True)
        if result["exit"] != 0:
            break

    ok = all(r["exit"] == 0 for r in results if r["command"] != "train sft (fused kernels)")
    ok = ok and commands[-1][0] in {r["command"] for r in results}
    by_name = {r["command"]: r for r in results}
    train = by_name.get("train sft", {})
    evaluate = by_name.get("evaluate run", {})
    device = torch.cuda.get_device_name() if not args.cpu else "cpu"
    total = sum(r["seconds"] for r in results)
    print(
        f"gpu_check {'ok' if ok else 'FAILED'} on {device} (torch {torch.__version__}): {total:.0f} s in all; "
        f"train sft {train.get('tokens_per_s') or '-'} real tok/s after a first step of "
        f"{train.get('first_step_s') or '-'} s, peak {train.get('peak_memory_gib') or train.get('peak_rss_gib') or '-'}"
        f" GiB (plan {train.get('planned_peak_gib') or '-'}); evaluate {evaluate.get('tokens_per_s') or '-'} tok/s",
        flush=True,
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0 if ok else 1


def _fused_kernels_installed() -> bool:
    from train.model import fused_kernels_installed

    return fused_kernels_installed()


def _measured(name: str, db: str) -> dict:
    """What the store recorded of a command: train sft's speed, evaluate's generated tokens."""
    if name not in ("train sft", "evaluate run"):
        return {}
    from db import open_store

    with open_store(db, read_only=True) as store:
        if name == "evaluate run":
            return {"generated_tokens": store.scalar("SELECT sum(completion_tokens) FROM eval_samples")}
        row = store.query(
            "SELECT first_step_s, tokens_per_s, peak_memory_gib, planned_peak_gib, compiled_graphs, attention, "
            "precision, compiled, fused_kernels FROM train_runs ORDER BY started_at DESC LIMIT 1"
        ).row(0, named=True)
    measured = {k: (round(v, 1) if isinstance(v, float) else v) for k, v in row.items() if k not in SETTINGS}
    on_off = {True: "on", False: "off", None: "-"}
    settings = f"{row['attention']}, {row['precision']}, compile {on_off[row['compiled']]}"
    return {**measured, "settings": f"{settings}, fused kernels {on_off[row['fused_kernels']]}"}


if __name__ == "__main__":
    sys.exit(main())
