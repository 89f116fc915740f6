"""Fault injection: every writing command is killed (SIGKILL to the command's process) at random
points, and after every kill the store must open, hold no duplicate, keep everything committed
before the kill, show no run as still 'running', and leave no process of the command behind; a
final rerun must complete and give what an uninterrupted run gives.

Commands: ingest, import-samples, generate and judge (against the bundled OpenAI-compatible
server over real HTTP), verify, score, select, decontam, export, train (a tiny random model) and
evaluate run. Kills per command: $FAULT_KILLS (default 10); kill times are drawn with a fixed
seed ($FAULT_SEED, default 13) uniformly over the command's measured uninterrupted run time.
Slow (minutes): `pytest -m slow tests/test_fault_injection.py`; `FAULT_KILLS=2` for a quick look.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

from curate.testing.openai_server import OpenAIServer
from db import open_store

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data" / "public"
MATH_COT = DATA / "Qwen2.5-Math" / "eval_rm_maj_example" / "math_cot_100.jsonl"
MATH500 = DATA / "simpleRL-reason" / "math500" / "test.jsonl"
KILLS = int(os.environ.get("FAULT_KILLS", "10"))
SEED = int(os.environ.get("FAULT_SEED", "13"))
JUDGE = "judge-model"
TEACHER = "deepseek-reasoner"

# Rows that must never appear twice, and whose set must only grow: (table, key columns).
KEYS = {
    "problems": "problem_id",
    "samples": "problem_id, model, params_hash, sample_index",
    "verdicts": "sample_id, verifier",
    "scores": "sample_id",
    "selections": "selection_id, sample_id",
    "contamination": "problem_id, benchmark, matched_item",
    "exports": "export_id",
    "train_metrics": "train_run_id, step, split",
    "eval_samples": "eval_run_id, problem_id, sample_index",
}


def env() -> dict[str, str]:
    values = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "OMP_NUM_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    values.pop("CURATE_DB", None)
    values.pop("CURATE_WAIT", None)
    return values


def run(argv: list[str], cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", *argv], cwd=cwd, env=env(), capture_output=True, text=True, timeout=timeout
    )


def columns(store, table: str) -> set[str]:
    return {
        row[0]
        for row in store.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND database_name = current_database()",
            [table],
        ).fetchall()
    }


def snapshot(db: Path) -> dict[str, set[tuple]]:
    """Key sets of every KEYS table; asserts no key appears twice and no run is left 'running'.

    Opening for writing is what the next command does: it marks runs of dead processes interrupted.
    """
    found = {}
    with open_store(db) as store:
        for table, keys in KEYS.items():
            wanted = [k.strip() for k in keys.split(",")]
            present = [k for k in wanted if k in columns(store, table)]
            if not present:
                continue
            rows = store.execute(f"SELECT {', '.join(present)} FROM {table}").fetchall()
            assert len(rows) == len(set(rows)), f"duplicate {table} rows by ({', '.join(present)})"
            found[table] = set(rows)
        running = store.execute("SELECT run_id, kind FROM runs WHERE status = 'running'").fetchall()
        assert not running, f"runs still 'running' after their process died: {running}"
    return found


def session_alive(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group `pgid`: what a killed command left running."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":  # fields: state, ppid, pgrp, ...
            alive.append(int(stat.parent.name))
    return alive


@dataclass
class Case:
    name: str
    argv: Callable[[Path], list[str]]  # folder -> command line (python -m ...)
    prepare: Callable[[Path], None]  # builds the folder's starting state (store, files)
    files: Callable[[Path], dict[str, str]] = lambda folder: {}  # outputs beyond the store: name -> sha256
    notes: list[str] = field(default_factory=list)


def sha_files(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.glob("*"))
        if p.is_file() and p.name != "README.md"
    }  # the card names the export time


def kill_loop(case: Case, tmp: Path) -> list[str]:
    """Reference run, then KILLS killed runs and one final rerun in another folder; returns findings."""
    reference = tmp / "reference"
    reference.mkdir()
    case.prepare(reference)
    started = time.monotonic()
    done = run(case.argv(reference), reference)
    duration = time.monotonic() - started
    assert done.returncode == 0, f"{case.name} reference run failed:\n{done.stderr[-3000:]}"
    expected = snapshot(reference / "traces.duckdb")
    expected_files = case.files(reference)

    work = tmp / "work"
    work.mkdir()
    case.prepare(work)
    store = work / "traces.duckdb"
    before = snapshot(store)
    rng = random.Random(f"{SEED}:{case.name}")
    findings = []
    for attempt in range(KILLS):
        delay = rng.uniform(0.0, duration)
        process = subprocess.Popen(
            [sys.executable, "-m", *case.argv(work)],
            cwd=work,
            env=env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            process.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
        process.wait()
        process.stderr.close()
        deadline = time.monotonic() + 10
        while session_alive(process.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = session_alive(process.pid)
        if left:
            findings.append(
                f"{case.name}: kill {attempt} at {delay:.1f}s of {duration:.1f}s: {len(left)} processes "
                f"of the killed command still alive 10 s later"
            )
            os.killpg(process.pid, signal.SIGKILL)
            time.sleep(0.5)
        after = snapshot(store)
        for table, rows in before.items():
            lost = rows - after.get(table, set())
            assert not lost, f"kill {attempt} at {delay:.1f}s: {len(lost)} committed {table} rows lost"
        before = after
    final = run(case.argv(work), work)
    assert final.returncode == 0, f"{case.name} rerun after kills failed:\n{final.stderr[-3000:]}"
    got = snapshot(store)
    for table, rows in expected.items():
        if table == "train_metrics":  # train_run_id names the output folder, which differs here
            rows, got[table] = {r[1:] for r in rows}, {r[1:] for r in got.get(table, set())}
        assert got.get(table, set()) == rows, f"{case.name}: {table} after kills + rerun differs from a clean run"
    assert case.files(work) == expected_files, f"{case.name}: output files differ from a clean run"
    return findings


# ---- starting states ------------------------------------------------------------------------------


def copy_from(base: Path) -> Callable[[Path], None]:
    def prepare(folder: Path) -> None:
        shutil.copy(base, folder / "traces.duckdb")

    return prepare


@pytest.fixture(scope="module")
def bases(tmp_path_factory) -> dict[str, Path]:
    """Stores at each point of the curation chain, built once: empty, imported, verified, scored, selected."""
    if not MATH_COT.exists():
        pytest.skip("public data not present")
    root = tmp_path_factory.mktemp("bases")
    head = root / "traces15.jsonl"
    head.write_text("".join(MATH_COT.read_text(encoding="utf-8").splitlines(keepends=True)[:15]), encoding="utf-8")
    stores = {}
    chain = [
        ("empty", None),
        ("imported", ["curate", "import-samples", str(head), "--model", "qwen-math", "--source", "cot"]),
        ("verified", ["curate", "verify", "--workers", "1"]),
        ("scored", ["curate", "score"]),
        ("selected", ["curate", "select", "--policy", "keep-k-correct", "--k", "2"]),
    ]
    previous = None
    for name, argv in chain:
        path = root / f"{name}.duckdb"
        if previous is None:
            open_store(path).close()
        else:
            shutil.copy(previous, path)
            done = run([*argv, "--db", str(path)], root)
            assert done.returncode == 0, done.stderr
        stores[name] = previous = path
    return stores


@pytest.fixture(scope="module")
def teacher():
    with OpenAIServer(latency_s=0.02) as server:
        yield server


@pytest.fixture(scope="module")
def judge_server():
    def grade(prompt: str, answer: str) -> str:
        verdict = "CORRECT" if int(hashlib.sha256(prompt.encode()).hexdigest(), 16) % 2 else "INCORRECT"
        return f"ANSWER: {answer}\nVERDICT: {verdict}"

    with OpenAIServer(content=grade, models=(JUDGE,), latency_s=0.05) as server:
        yield server


def cases(bases: dict[str, Path], teacher: OpenAIServer, judge_server: OpenAIServer, tmp: Path) -> dict[str, Case]:
    def db(folder: Path) -> list[str]:
        return ["--db", str(folder / "traces.duckdb")]

    def eval_problems(folder: Path) -> None:
        open_store(folder / "traces.duckdb").close()
        rows = [json.loads(line) for line in MATH500.read_text(encoding="utf-8").splitlines()[:12]]
        (tmp / "evalset").mkdir(exist_ok=True)  # one file for both folders: its path names the problems' source
        (tmp / "evalset" / "problems.jsonl").write_text(
            "".join(
                json.dumps({"id": str(i), "problem": r["problem"], "answer": r["answer"]}) + "\n"
                for i, r in enumerate(rows)
            )
        )

    def train_prepare(folder: Path) -> None:
        from tests.train.conftest import make_model, make_tokenizer, write_export

        open_store(folder / "traces.duckdb").close()
        student = tmp / "student"
        if not student.exists():
            tokenizer = make_tokenizer()
            make_model(len(tokenizer)).save_pretrained(student)
            tokenizer.save_pretrained(student)
        write_export(folder / "export.jsonl")

    return {
        "ingest": Case(
            "ingest",
            lambda f: ["curate", "ingest", str(MATH500), "--source", "math500", *db(f)],
            copy_from(bases["empty"]),
        ),
        "import-samples": Case(
            "import-samples",
            lambda f: ["curate", "import-samples", str(MATH_COT), "--model", "qwen-math", "--source", "cot", *db(f)],
            copy_from(bases["empty"]),
        ),
        "generate": Case(
            "generate",
            lambda f: [
                "curate",
                "generate",
                "--model",
                TEACHER,
                "--base-url",
                teacher.base_url,
                "--samples",
                "8",
                "--concurrency",
                "4",
                "--max-tokens",
                "4000",
                "--no-progress",
                *db(f),
            ],
            copy_from(bases["imported"]),
        ),
        "judge": Case(
            "judge",
            lambda f: [
                "curate",
                "judge",
                "--model",
                JUDGE,
                "--base-url",
                judge_server.base_url,
                "--include-incorrect",
                "--concurrency",
                "2",
                *db(f),
            ],
            copy_from(bases["verified"]),
        ),
        "verify": Case(
            "verify", lambda f: ["curate", "verify", "--workers", "2", *db(f)], copy_from(bases["imported"])
        ),
        "score": Case("score", lambda f: ["curate", "score", *db(f)], copy_from(bases["verified"])),
        "select": Case(
            "select",
            lambda f: ["curate", "select", "--policy", "keep-k-correct", "--k", "3", *db(f)],
            copy_from(bases["scored"]),
        ),
        "decontam": Case(
            "decontam",
            lambda f: ["curate", "decontam", "--against", str(MATH500), *db(f)],
            copy_from(bases["imported"]),
        ),
        "export": Case(
            "export",
            lambda f: ["curate", "export", "--out", str(f / "out"), *db(f)],
            copy_from(bases["selected"]),
            files=lambda f: sha_files(f / "out"),
        ),
        "train": Case(
            "train",
            lambda f: [
                "train",
                "sft",
                "--data",
                str(f / "export.jsonl"),
                "--model",
                str(tmp / "student"),
                "--out",
                str(f / "run"),
                "--max-steps",
                "12",
                "--save-every",
                "3",
                "--eval-every",
                "1000",
                "--tokens-per-batch",
                "256",
                "--seq-len",
                "256",
                "--lora-rank",
                "8",
                "--no-progress",
                *db(f),
            ],
            train_prepare,
        ),
        "evaluate run": Case(
            "evaluate run",
            lambda f: [
                "eval",
                "run",
                "--name",
                "fi",
                "--base-url",
                teacher.base_url,
                "--model",
                TEACHER,
                "--problems",
                str(tmp / "evalset" / "problems.jsonl"),
                "--samples",
                "4",
                "--max-tokens",
                "4000",
                *db(f),
            ],
            eval_problems,
        ),
    }


COMMANDS = [
    "ingest",
    "import-samples",
    "generate",
    "judge",
    "verify",
    "score",
    "select",
    "decontam",
    "export",
    "train",
    "evaluate run",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_killed_command_leaves_a_sound_store_and_a_rerun_completes(command, bases, teacher, judge_server, tmp_path):
    case = cases(bases, teacher, judge_server, tmp_path)[command]
    findings = kill_loop(case, tmp_path)
    assert not findings, "\n".join(findings)


def test_the_left_behind_check_sees_an_orphaned_child():
    """The check can fail: a command whose child outlives it is caught."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, time; subprocess.Popen(['sleep', '30']); print('ok', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert process.stdout.readline().strip() == "ok"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    left = session_alive(process.pid)
    try:
        assert len(left) == 1
    finally:
        os.killpg(process.pid, signal.SIGKILL)
