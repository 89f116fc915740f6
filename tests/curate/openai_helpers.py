"""Helpers shared by the generation and judge tests: problems in a store, the test server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from db import open_store


def add_problems(db_path: Path, count: int, *, split: str = "train", source: str = "toy", question=None) -> list[str]:
    """`count` problems whose prompts carry an `[[answer: N]]` marker; returns their ids."""
    rows = []
    for i in range(count):
        text = question(i) if question else f"What is {i} plus one? [[answer: {i + 1}]]"
        rows.append(
            {
                "problem_id": f"{source}:{i:04d}",
                "source": source,
                "source_id": str(i),
                "question": text,
                "gold_answer": str(i + 1),
                "split": split,
                "question_hash": f"{source}-{i}",
            }
        )
    with open_store(db_path) as store:
        store.insert_rows("problems", rows)
    return [row["problem_id"] for row in rows]


def free_port() -> int:
    """A port nothing listens on (bound, then released): a dead endpoint."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_generate(db_path: Path, base_url: str, model: str, *options: str) -> subprocess.Popen:
    """`curate generate` as a user types it, in its own process against `base_url`; output piped."""
    env = {**os.environ, "CURATE_DB": str(db_path), "OPENAI_API_KEY": "sk-local"}
    command = [sys.executable, "-m", "curate", "generate", "--model", model, "--base-url", base_url, *options]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
