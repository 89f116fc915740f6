"""`evaluate run` sends its requests through the one OpenAI-compatible client (curate.chat_client):
the same retries as `curate generate` against the bundled fault-injecting server."""

from __future__ import annotations

import json
from pathlib import Path

from curate.testing.openai_server import OpenAIServer
from db import open_store


def _problems(tmp_path: Path) -> Path:
    path = tmp_path / "sums.jsonl"
    rows = [
        {"id": str(i), "question": f"What is {i} + {i}? [[answer: {2 * i}]]", "answer": str(2 * i)} for i in range(1, 4)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_rate_limit_disconnect_and_malformed_body_are_retried_like_generate(tmp_path: Path, db_path: Path, evaluate):
    """Before the shared client, a body that was not JSON left the problem's samples missing (exit 1)."""
    with OpenAIServer(retry_after_s=0.05) as server:
        for fault in ("malformed", "rate_limit", "disconnect"):
            server.inject(fault)
        code, out, err = evaluate(
            "run",
            "--name",
            "faults",
            "--base-url",
            server.base_url,
            "--model",
            "deepseek-reasoner",
            "--problems",
            str(_problems(tmp_path)),
            "--samples",
            "2",
            "--concurrency",
            "1",
            "--max-tokens",
            "4096",
            "--backoff",
            "0.05",
            "--db",
            str(db_path),
        )
        served = dict(server.faults_served)
    assert code == 0, err
    assert served == {"malformed": 1, "rate_limit": 1, "disconnect": 1}
    with open_store(db_path, read_only=True) as store:
        frame = store.query("SELECT count(*) AS n, count(*) FILTER (WHERE correct) AS right FROM eval_samples")
    assert frame.row(0) == (6, 6)  # every problem answered with n=2 choices per request
    assert "faults" in out


def test_a_wrong_key_is_bad_input_as_in_generate(tmp_path: Path, db_path: Path, evaluate, monkeypatch):
    """The server echoes the key it refused; before the shared client it reached stderr and runs.error."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-9f8e7d")
    with OpenAIServer(api_key="sk-right") as server:
        code, _out, err = evaluate(
            "run",
            "--name",
            "key",
            "--base-url",
            server.base_url,
            "--model",
            "deepseek-reasoner",
            "--problems",
            str(_problems(tmp_path)),
            "--db",
            str(db_path),
        )
    assert code == 2
    assert "HTTP 401" in err and "9f8e7d" not in err
    with open_store(db_path, read_only=True) as store:
        run = store.query("SELECT status, error FROM runs WHERE kind = 'eval'").row(0, named=True)
    assert run["status"] == "failed" and "HTTP 401" in run["error"] and "9f8e7d" not in run["error"]


def test_ctrl_c_marks_the_eval_run_interrupted_not_failed(tmp_path: Path, db_path: Path):
    """Before: a Ctrl-C left the eval run 'failed', as if the endpoint or the code had broken."""
    import signal
    import subprocess
    import sys
    import time

    with OpenAIServer(latency_s=0.05) as server:
        process = subprocess.Popen(
            [sys.executable, "-m", "eval", "run", "--name", "stopped", "--base-url", server.base_url]
            + ["--model", "deepseek-reasoner", "--problems", str(_problems(tmp_path)), "--samples", "40"]
            + ["--concurrency", "1", "--n-per-request", "1", "--db", str(db_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while server.completed < 3:
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        server.latency_s = 30.0  # the next request stays in flight
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    with open_store(db_path, read_only=True) as store:
        assert store.scalar("SELECT status FROM eval_runs WHERE eval_run_id = 'stopped'") == "interrupted"
        assert store.scalar("SELECT status FROM runs WHERE kind = 'eval'") == "interrupted"
        assert store.scalar("SELECT count(*) FROM eval_samples") >= 3  # what finished is kept
