"""A released store (Store.release): readers get in between writes, other writers do not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from curate.write_through import Batches
from db import StoreLocked, open_store
from db.writer_lock import held_by_another, lock_path

HOLD = """
import sys, time
from db import open_store
store = open_store(sys.argv[1])
store.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
store.release()
print("released", flush=True)
sys.stdin.readline()
store.execute("INSERT INTO t VALUES (1)")
store.close()
"""


def test_a_released_store_admits_readers_and_refuses_writers_until_its_holder_closes(tmp_path: Path):
    db = tmp_path / "s.duckdb"
    open_store(db).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "released"
        with open_store(db, read_only=True, wait_s=5) as reader:
            assert reader.scalar("SELECT count(*) FROM t") == 0
        with pytest.raises(StoreLocked, match=f"process {holder.pid}"):
            open_store(db, wait_s=0.2)
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.wait(timeout=30) == 0
    finally:
        holder.kill()
    assert not lock_path(db).exists()
    with open_store(db, wait_s=1) as writer:
        assert writer.scalar("SELECT count(*) FROM t") == 1


def test_a_lock_file_left_by_a_killed_writer_is_free_and_removed(tmp_path: Path):
    db = tmp_path / "s.duckdb"
    open_store(db).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "released"
    holder.kill()
    holder.wait()
    assert lock_path(db).exists()
    assert held_by_another(db) is None and not lock_path(db).exists()
    with open_store(db, wait_s=1) as writer:
        assert writer.scalar("SELECT count(*) FROM t") == 0


def test_a_flush_that_fails_keeps_its_items_for_the_next():
    # Before, the items of a failed flush were dropped from the buffer.
    written: list = []
    fail = [True]

    def sink(items):
        if fail[0]:
            raise OSError("disk full")
        written.extend(items)

    batches = Batches(sink)
    batches.add(1)
    batches.add(2)
    with pytest.raises(OSError):
        batches.flush()
    batches.add(3)
    fail[0] = False
    assert batches.flush() == 3 and written == [1, 2, 3]


def test_the_store_is_locked_message_redacts_keys_in_the_holders_command_line(tmp_path: Path):
    # Before, the message printed the holder's whole command line, a key in its endpoint URL included.
    from typer.testing import CliRunner

    from curate.cli import app

    db = tmp_path / "s.duckdb"
    open_store(db).close()
    hold = "import sys; from db import open_store; s = open_store(sys.argv[1]); print('held', flush=True); input()"
    argv = [
        sys.executable,
        "-c",
        hold,
        str(db),
        "--base-url",
        "http://me:sk-SECRET1@host/v1",
        "--api-key",
        "sk-SECRET2",
    ]
    holder = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(StoreLocked) as locked:
            open_store(db, read_only=True, wait_s=0)
        result = CliRunner().invoke(app, ["sql", "SELECT 1", "--db", str(db)])
    finally:
        holder.kill()
    for text in (str(locked.value), result.output):
        assert f"process {holder.pid}" in text and "http://host/v1" in text
        assert "SECRET" not in text


def test_a_run_killed_with_kill_9_reads_interrupted_for_readers_before_any_writer_opens(tmp_path: Path):
    # Before, `curate stats`, `curate sql` on runs and the review app showed it 'running' until a writer came.
    from typer.testing import CliRunner

    from curate.cli import app

    db = tmp_path / "s.duckdb"
    script = "import sys, os; from db import open_store; s = open_store(sys.argv[1]); s._start_run('toy'); s.close(); os._exit(0)"
    subprocess.run([sys.executable, "-c", script, str(db)], check=True)  # its pid is gone: as after kill -9
    with open_store(db, read_only=True) as reader:
        assert reader.query("SELECT kind, status, error FROM runs").rows() == [
            ("toy", "interrupted", "process ended without finishing the run (killed?)")
        ]
    result = CliRunner().invoke(app, ["sql", "SELECT status FROM runs", "--db", str(db)])
    assert result.exit_code == 0 and "interrupted" in result.output and "running" not in result.output
    with open_store(db) as writer:  # the writer marks it for good
        assert writer.scalar("SELECT status FROM main.runs") == "interrupted"
