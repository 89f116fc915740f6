"""The store refuses what it cannot keep safe: a --db that is someone's data file, a schema newer
than the code; a lock message says whether the holder reads or writes, `--wait` waits with a
countdown; a run row whose process died reads 'interrupted'."""

from __future__ import annotations

import json
import shutil
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curate.cli import app
from db import BadInput, StoreLocked, open_store

runner = CliRunner()
PROBLEMS = '{"id": 1, "problem": "What is 1+1?", "answer": "2"}\n{"id": 2, "problem": "What is 2+2?", "answer": "4"}\n'


@pytest.mark.parametrize(
    "name, body",
    [
        ("problems.jsonl", PROBLEMS),
        ("problems.csv", "id,problem,answer\n1,What is 1+1?,2\n"),
        ("empty.duckdb", ""),
    ],
)
def test_existing_file_that_is_not_a_store_is_refused_with_exit_2(tmp_path: Path, monkeypatch, name: str, body: str):
    (tmp_path / "in.jsonl").write_text(PROBLEMS)
    target = tmp_path / name
    target.write_text(body)
    result = runner.invoke(app, ["ingest", str(tmp_path / "in.jsonl"), "--db", str(target)])
    assert result.exit_code == 2, result.output
    assert "not a DuckDB store" in result.output and "added" not in result.output
    assert target.read_text() == body  # untouched
    monkeypatch.setenv("CURATE_DB", str(target))  # the same through the environment
    result = runner.invoke(app, ["ingest", str(tmp_path / "in.jsonl")])
    assert result.exit_code == 2 and "not a DuckDB store" in result.output


def test_parquet_file_as_store_is_refused(tmp_path: Path):
    import polars as pl

    target = tmp_path / "data.parquet"
    pl.DataFrame({"a": [1]}).write_parquet(target)
    with pytest.raises(BadInput, match="not a DuckDB store"):
        open_store(target)
    with pytest.raises(BadInput, match="not a DuckDB store"):
        open_store(target, read_only=True)


def test_store_written_by_newer_code_is_refused_naming_both_versions(db_path: Path):
    with open_store(db_path) as store:
        known = store.schema_version()
        store.execute("INSERT INTO schema_version (version, name) VALUES (?, '999_future.sql')", [known + 100])
        before = store.scalar("SELECT count(*) FROM runs")
    with pytest.raises(BadInput) as error:  # SchemaTooNew, a BadInput: exit 2
        open_store(db_path)
    assert str(known + 100) in str(error.value) and str(known) in str(error.value)
    assert "pip install -U trace-distill" in str(error.value)
    (db_path.parent / "p.jsonl").write_text(PROBLEMS)
    result = runner.invoke(app, ["ingest", str(db_path.parent / "p.jsonl"), "--db", str(db_path)])
    assert result.exit_code == 2 and "newer" in result.output
    with open_store(db_path, read_only=True) as store:  # nothing was written
        assert store.scalar("SELECT count(*) FROM runs") == before
        assert store.scalar("SELECT count(*) FROM problems") == 0


HOLD = textwrap.dedent("""
    import sys, time
    from db import open_store
    store = open_store(sys.argv[1], read_only=sys.argv[2] == "read")
    print("holding", flush=True)
    time.sleep(float(sys.argv[3]))
    store.close()
""")


def hold(db_path: Path, mode: str, seconds: float) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(db_path), mode, str(seconds)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert process.stdout.readline().strip() == "holding"
    return process


@pytest.mark.parametrize("mode, said", [("read", "open read-only by"), ("write", "open for writing by")])
def test_lock_message_says_whether_the_holder_reads_or_writes(db_path: Path, mode: str, said: str):
    holder = hold(db_path, mode, 30)
    try:
        with pytest.raises(StoreLocked) as error:
            open_store(db_path, wait_s=0)
        assert said in str(error.value) and f"process {holder.pid}" in str(error.value)
    finally:
        holder.kill()
        holder.wait()


def test_wait_option_waits_for_the_holder_with_a_countdown(db_path: Path, monkeypatch):
    monkeypatch.setenv("CURATE_WAIT", "0")  # restored after the test; --wait sets it
    holder = hold(db_path, "write", 2)
    try:
        refused = runner.invoke(app, ["sql", "SELECT count(*) AS n FROM problems", "--db", str(db_path)])
        assert refused.exit_code == 1 and "open for writing by" in refused.output
        waited = runner.invoke(app, ["sql", "SELECT count(*) AS n FROM problems", "--db", str(db_path), "--wait", "20"])
        assert waited.exit_code == 0, waited.output
        assert "waiting for the store:" in waited.output and " s left" in waited.output
    finally:
        holder.kill()
        holder.wait()


def test_run_row_of_a_dead_process_reads_interrupted(db_path: Path):
    from db.store import mark_dead_runs

    script = textwrap.dedent("""
        import os, sys
        from db import open_store
        store = open_store(sys.argv[1])
        with store.run("ingest", {}) as record:
            print(record.run_id, flush=True)
            os.kill(os.getpid(), 9)
    """)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", script, str(db_path)], capture_output=True, text=True, env=env)
    assert done.returncode == -signal.SIGKILL
    run_id = done.stdout.strip()
    with open_store(db_path, read_only=True) as store:
        assert store.scalar("SELECT status FROM runs WHERE run_id = ?", [run_id]) == "running"
    with open_store(db_path) as store:  # the next writer finds the process gone
        row = store.execute("SELECT status, error FROM runs WHERE run_id = ?", [run_id]).fetchall()[0]
        assert row[0] == "interrupted" and "process ended" in row[1]
        with store.run("score", {}) as mine:  # a live process's running row is left alone
            assert mark_dead_runs(store) == 0
            assert store.scalar("SELECT status FROM runs WHERE run_id = ?", [mine.run_id]) == "running"


def test_credentials_in_config_never_reach_runs(db_path: Path):
    with open_store(db_path) as store:
        with pytest.raises(RuntimeError):
            with store.run(
                "generate",
                {
                    "base_urls": ["http://me:sk-SECRET1@host:9/v1"],
                    "api_key": "sk-SECRET2",
                    "api_key_env": "OPENAI_API_KEY",
                    "tokenizer": "Qwen/Qwen2.5",
                },
            ):
                raise RuntimeError("connect to http://me:sk-SECRET1@host:9/v1 failed")
        row = store.execute("SELECT config, error FROM runs WHERE kind = 'generate'").fetchall()[0]
    assert "SECRET" not in row[0] + row[1] and "http://host:9/v1" in row[1]
    config = json.loads(row[0])
    assert config["base_urls"] == ["http://host:9/v1"] and config["api_key_env"] == "OPENAI_API_KEY"
    assert config["tokenizer"] == "Qwen/Qwen2.5"


# ---- curate sql sees the store and nothing else ------------------------------------------------


@pytest.mark.parametrize(
    "query, made",
    [
        ("COPY (SELECT 1 AS x) TO '{dir}/out.csv'", "out.csv"),
        ("SELECT * FROM read_text('/etc/hostname')", None),
        ("ATTACH '{dir}/other.duckdb' AS other", "other.duckdb"),
        ("EXPORT DATABASE '{dir}/dump'", "dump"),
        ("SET enable_external_access = true", None),
    ],
)
def test_sql_cannot_reach_other_files_by_default(db_path: Path, tmp_path: Path, query: str, made: str | None):
    result = runner.invoke(app, ["sql", query.format(dir=tmp_path), "--db", str(db_path)])
    assert result.exit_code == 2, result.output
    if made:
        assert not (tmp_path / made).exists()


def test_sql_allow_files_reaches_other_files_on_purpose(db_path: Path, tmp_path: Path):
    (tmp_path / "extra.csv").write_text("x\n1\n2\n")
    refused = runner.invoke(app, ["sql", f"SELECT sum(x) AS s FROM '{tmp_path}/extra.csv'", "--db", str(db_path)])
    assert refused.exit_code == 2 and "--allow-files" in refused.output
    allowed = runner.invoke(
        app,
        [
            "sql",
            f"SELECT sum(x) AS s FROM '{tmp_path}/extra.csv'",
            "--db",
            str(db_path),
            "--allow-files",
            "--format",
            "csv",
        ],
    )
    assert allowed.exit_code == 0 and allowed.stdout.splitlines() == ["s", "3"]


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root to run as another user")
def test_a_read_only_store_is_refused_up_front_with_exit_2_and_read_commands_still_work(tmp_path: Path):
    # Before: exit 1 with DuckDB's raw "Permission denied" from every writing command.
    folder = Path(tempfile.mkdtemp(dir="/tmp"))  # pytest's tmp_path is private to root
    try:
        db = folder / "s.duckdb"
        with open_store(db) as store:
            store.execute(
                "INSERT INTO problems (problem_id, source, question, question_hash) VALUES ('p', 's', 'q', 'h')"
            )
        db.chmod(0o444)
        folder.chmod(0o555)
        as_nobody = [
            "setpriv",
            "--reuid",
            "65534",
            "--regid",
            "65534",
            "--clear-groups",
            sys.executable,
            "-m",
            "curate",
        ]
        before = db.read_bytes()
        for command in (["verify"], ["score"], ["ingest", "/dev/null"]):
            done = subprocess.run([*as_nobody, *command, "--db", str(db)], capture_output=True, text=True)
            assert done.returncode == 2, (command, done.stderr)
            assert str(db) in done.stderr and "not writable" in done.stderr
        read = subprocess.run(
            [*as_nobody, "sql", "SELECT count(*) FROM problems", "--db", str(db)], capture_output=True, text=True
        )
        assert read.returncode == 0, read.stderr
        assert db.read_bytes() == before
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)
