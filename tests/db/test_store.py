"""The store: migrations give the same schema fresh or step by step, transactions roll back,
bulk inserts ignore or replace, another process's lock is reported clearly, `curate sql` /
`curate stats` work as a user types them, and `Store.run` records how a stage ended."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

import db.store
from curate.cli import app
from db import BadInput, StoreLocked, open_store, stage_store

runner = CliRunner()

SCHEMA_QUERIES = {
    "columns": "SELECT table_name, column_index, column_name, data_type, column_default, is_nullable "
    "FROM duckdb_columns() WHERE NOT internal AND database_name = current_database() ORDER BY ALL",
    "views": "SELECT view_name, sql FROM duckdb_views() WHERE NOT internal AND database_name = current_database() ORDER BY ALL",
    "constraints": "SELECT table_name, constraint_type, constraint_column_names FROM duckdb_constraints() "
    "WHERE database_name = current_database() ORDER BY ALL",
    "indexes": "SELECT table_name, index_name, sql FROM duckdb_indexes() WHERE database_name = current_database() ORDER BY ALL",
    "sequences": "SELECT sequence_name, start_value, increment_by FROM duckdb_sequences() "
    "WHERE database_name = current_database() ORDER BY ALL",
    "versions": "SELECT version, name FROM schema_version ORDER BY version",
}


def schema_of(path: Path) -> dict[str, list]:
    with open_store(path, read_only=True) as store:
        return {name: store.execute(sql).fetchall() for name, sql in SCHEMA_QUERIES.items()}


def test_fresh_schema_equals_schema_upgraded_one_migration_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    fresh = tmp_path / "fresh.duckdb"
    open_store(fresh).close()

    every = db.store.migrations()
    assert every[0][0] == 1 and len({version for version, _, _ in every}) == len(every)
    upgraded = tmp_path / "upgraded.duckdb"
    for count in range(1, len(every) + 1):
        monkeypatch.setattr(db.store, "migrations", lambda count=count: every[:count])
        with open_store(upgraded) as store:
            assert store.schema_version() == every[count - 1][0]
    monkeypatch.undo()
    with open_store(upgraded) as store:  # opening an up-to-date store applies nothing
        assert db.store.migrate(store) == []

    assert schema_of(upgraded) == schema_of(fresh)
    assert schema_of(fresh)["views"], "the views of 001 exist"


def problem_frame(gold: str = "2") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "problem_id": ["t:1", "t:2"],
            "source": ["t", "t"],
            "question": ["1+1?", "2+2?"],
            "gold_answer": [gold, "4"],
            "question_hash": ["h1", "h2"],
        }
    )


def test_transaction_rolls_back_everything_including_nested(db_path: Path):
    with open_store(db_path) as store:
        with pytest.raises(RuntimeError):
            with store.transaction():
                store.insert_frame("problems", problem_frame())
                with store.transaction(), store.run("test"):  # joins the outer one
                    pass
                raise RuntimeError("stage failed")
        assert store.scalar("SELECT count(*) FROM problems") == 0
        assert store.scalar("SELECT count(*) FROM runs") == 0
        with store.transaction():
            store.insert_frame("problems", problem_frame())
        assert store.scalar("SELECT count(*) FROM problems") == 2


def test_insert_frame_error_ignore_replace(db_path: Path):
    with open_store(db_path) as store:
        assert store.insert_frame("problems", problem_frame()) == 2
        with pytest.raises(duckdb.ConstraintException):
            store.insert_frame("problems", problem_frame())
        assert store.insert_frame("problems", problem_frame("5"), on_conflict="ignore") == 0
        assert store.scalar("SELECT gold_answer FROM problems WHERE problem_id = 't:1'") == "2"
        assert store.insert_frame("problems", problem_frame("5"), on_conflict="replace") == 2
        assert store.scalar("SELECT gold_answer FROM problems WHERE problem_id = 't:1'") == "5"
        assert store.scalar("SELECT count(*) FROM problems") == 2
        assert store.insert_frame("problems", problem_frame().head(0)) == 0
        assert store.insert_rows("runs", [{"run_id": "r1", "kind": "test"}]) == 1
        assert store.scalar("SELECT status FROM runs") == "running"  # a column the frame lacks takes its default


HOLDER = textwrap.dedent("""
    import sys, time
    from db import open_store
    store = open_store(sys.argv[1])
    print("holding", flush=True)
    time.sleep(60)
""")


def test_another_process_holding_the_store_gives_a_clear_error(db_path: Path, tmp_path: Path):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(db_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(StoreLocked) as caught:
            open_store(db_path)
        message = str(caught.value)
        assert str(db_path) in message and f"process {holder.pid}" in message and "one writer at a time" in message

        problems = tmp_path / "p.jsonl"
        problems.write_text(json.dumps({"question": "q?", "answer": "1"}) + "\n")
        result = runner.invoke(app, ["ingest", str(problems), "--db", str(db_path)])
        assert result.exit_code == 1, result.output
        assert f"process {holder.pid}" in result.stderr
    finally:
        holder.kill()
        holder.wait()
    with open_store(db_path) as store:  # free again once the holder is gone
        assert store.scalar("SELECT count(*) FROM problems") == 0


# ---- curate sql / curate stats ---------------------------------------------------------------


@pytest.fixture
def small_store(db_path: Path, tmp_path: Path) -> Path:
    problems = tmp_path / "set.jsonl"
    problems.write_text(
        "".join(json.dumps({"id": i, "problem": f"What is {i}+{i}?", "answer": str(2 * i)}) + "\n" for i in range(1, 4))
    )
    assert (
        runner.invoke(
            app, ["ingest", str(problems), "--db", str(db_path), "--source", "toy", "--split", "val"]
        ).exit_code
        == 0
    )
    return db_path


def test_sql_prints_csv_and_json(small_store: Path):
    query = "SELECT problem_id, gold_answer FROM problems ORDER BY problem_id"
    as_csv = runner.invoke(app, ["sql", query, "--db", str(small_store), "--format", "csv"])
    assert as_csv.exit_code == 0, as_csv.output
    assert as_csv.stdout.splitlines() == ["problem_id,gold_answer", "toy:1,2", "toy:2,4", "toy:3,6"]
    as_json = runner.invoke(app, ["sql", query, "--db", str(small_store), "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout)[2] == {"problem_id": "toy:3", "gold_answer": "6"}
    table = runner.invoke(app, ["sql", query, "--db", str(small_store)])
    assert table.exit_code == 0 and "toy:2" in table.stdout


@pytest.mark.parametrize(
    "args, words",
    [
        (["SELEC * FROM problems"], ["field 'query'", "syntax error"]),
        (["SELECT * FROM no_such_table"], ["field 'query'", "no_such_table"]),
        (["DELETE FROM problems"], ["field 'query'", "read-only"]),
        (["SELECT 1", "--format", "xml"], ["--format", "xml"]),
    ],
)
def test_sql_bad_input_exits_2(small_store: Path, args: list[str], words: list[str]):
    result = runner.invoke(app, ["sql", *args, "--db", str(small_store)])
    assert result.exit_code == 2, result.output
    message = " ".join(result.stderr.split())
    for word in words:
        assert word in message, message
    with open_store(small_store, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM problems") == 3


def test_stats_counts_problems_per_source_and_split(small_store: Path):
    result = runner.invoke(app, ["stats", "--db", str(small_store)])
    assert result.exit_code == 0, result.output
    assert "problems" in result.stdout and "toy" in result.stdout and "val" in result.stdout and "3" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["stats"],
        ["sql", "SELECT 1"],
        ["review", "--stats"],
        ["verify"],
        ["score"],
        ["select", "--policy", "shortest-correct"],
        ["dedup"],
        ["decontam", "--against-split", "test"],
        ["export", "--out", "export"],
        ["generate", "--model", "m", "--base-url", "http://127.0.0.1:1/v1"],
    ],
)
def test_a_command_on_a_missing_store_says_it_does_not_exist_and_what_creates_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
):
    # A README follow-up run before `curate demo`: the folder and the store are not there yet.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CURATE_DB", raising=False)
    result = runner.invoke(app, [*args, "--db", "curate-demo/traces.duckdb"])
    assert result.exit_code == 2, result.output
    message = " ".join(result.stderr.split())
    assert "curate-demo/traces.duckdb, field '--db': no such store: the file does not exist" in message
    assert "`curate ingest FILE --db curate-demo/traces.duckdb` creates it" in message and "`curate demo`" in message
    assert not (tmp_path / "curate-demo").exists()  # no empty store (or folder) left behind


def test_a_mistyped_store_path_lists_the_stores_beside_it(db_path: Path):
    result = runner.invoke(app, ["stats", "--db", str(db_path.with_name("store.duckdb"))])
    assert result.exit_code == 2, result.output
    assert f"stores in {db_path.parent}/: traces.duckdb" in " ".join(result.stderr.split())


def test_empty_store_stats_says_how_to_start(db_path: Path):
    result = runner.invoke(app, ["stats", "--db", str(db_path)])
    assert result.exit_code == 0 and "curate ingest" in result.stdout


# ---- Store.run: the one record of a stage invocation ---------------------------------------------


@dataclass(frozen=True)
class ToyConfig:
    limit: int = 3
    path: Path = Path("x.jsonl")


def run_row(store, run_id: str) -> dict:
    return store.query("SELECT * FROM runs WHERE run_id = ?", [run_id]).row(0, named=True)


def test_run_records_config_versions_counts_and_ok(db_path: Path):
    with open_store(db_path) as store:
        with store.run("toy", ToyConfig()) as record:
            record.counts = {"rows": 2}
        row = run_row(store, record.run_id)
    assert row["kind"] == "toy" and row["status"] == "ok" and row["finished_at"] is not None
    assert json.loads(row["config"]) == {"limit": 3, "path": "x.jsonl"}
    assert json.loads(row["counts"]) == {"rows": 2} and "duckdb" in json.loads(row["versions"])


def test_run_that_leaves_work_undone_is_not_ok(db_path: Path):
    with open_store(db_path) as store:
        with store.run("toy", {}) as record:
            record.status, record.counts = "incomplete", {"failed": 1}
        assert run_row(store, record.run_id)["status"] == "incomplete"


def test_run_marks_failed_with_the_error_and_the_counts_so_far_and_reraises(db_path: Path):
    done = []
    with open_store(db_path) as store:
        with pytest.raises(ValueError, match="bad row"):
            with store.run("toy", {}) as record:
                record.counts_of = lambda: {"done": len(done)}
                done.append(1)
                raise ValueError("bad row")
        row = run_row(store, record.run_id)
    assert row["status"] == "failed" and row["error"] == "ValueError: bad row"
    assert json.loads(row["counts"]) == {"done": 1}


def test_run_marks_ctrl_c_and_sigterm_interrupted_and_restores_the_sigterm_handler(db_path: Path):
    before = signal.getsignal(signal.SIGTERM)
    with open_store(db_path) as store:
        with pytest.raises(KeyboardInterrupt):
            with store.run("toy", {}) as ctrl_c:
                raise KeyboardInterrupt
        with pytest.raises(KeyboardInterrupt):
            with store.run("toy", {}) as terminated:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)  # the handler raises before this ends
        assert run_row(store, ctrl_c.run_id)["status"] == "interrupted"
        assert run_row(store, terminated.run_id)["status"] == "interrupted"
    assert signal.getsignal(signal.SIGTERM) == before


# A query DuckDB takes minutes over, in parallel tasks: between them DuckDB looks for Ctrl-C
# (a scan of range() alone is one task, during which a signal goes unseen).
SLOW_QUERY = (
    "WITH big AS MATERIALIZED (SELECT range AS x FROM range(10000000)) "
    "SELECT count(*) FROM big, range(3000) b(y) WHERE (x * y) % 7 = 3"
)


def test_run_marks_a_query_stopped_by_interrupt_interrupted_and_rolls_its_writes_back(db_path: Path):
    with open_store(db_path) as store:
        timer = threading.Timer(1.0, store.con.interrupt)  # what Ctrl-C does to a running query
        timer.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                with store.run("toy", {}) as record, store.transaction():
                    store.insert_frame("problems", problem_frame())
                    store.execute(SLOW_QUERY)
        finally:
            timer.cancel()
        row = run_row(store, record.run_id)
        assert (row["status"], row["error"]) == ("interrupted", "interrupted by the user")
        assert store.scalar("SELECT count(*) FROM problems") == 0


STAGE_SCRIPT = """
import sys
from db import open_store
from db.console import report_error
from tests.db.test_store import SLOW_QUERY, problem_frame
try:
    with open_store(sys.argv[1]) as store, store.run("slow", {}), store.transaction():
        store.insert_frame("problems", problem_frame())
        print("querying", flush=True)
        store.execute(SLOW_QUERY)
except BaseException as error:  # what every CLI's run_app does
    sys.exit(report_error(error))
"""


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _interrupt_mid_query(command: list[str], sent: signal.Signals, ready) -> subprocess.CompletedProcess:
    """Run `command`; once `ready(process)` and its query has used a CPU second, send `sent`."""
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # a background shell ignores it
    )
    try:
        deadline = time.monotonic() + 120
        while not ready(process):
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()
            time.sleep(0.05)
        started = _cpu_seconds(process.pid)
        while _cpu_seconds(process.pid) < started + 1.0:  # the query runs (DuckDB's threads burn CPU)
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()
            time.sleep(0.05)
        process.send_signal(sent)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    return subprocess.CompletedProcess(command, process.returncode, out, err)


@pytest.mark.parametrize("sent", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_during_a_query_marks_the_run_interrupted_and_exits_130_or_143(db_path: Path, sent):
    done = _interrupt_mid_query(
        [sys.executable, "-c", STAGE_SCRIPT, str(db_path)], sent, lambda p: p.stdout.readline() == "querying\n"
    )
    code, message = (130, "interrupted") if sent == signal.SIGINT else (143, "terminated (SIGTERM)")
    assert done.returncode == code, done.stderr
    assert f"{message}; finished work is kept" in done.stderr and "Query interrupted" not in done.stderr
    with open_store(db_path, read_only=True) as store:
        assert store.scalar("SELECT status FROM runs WHERE kind = 'slow'") == "interrupted"
        assert store.scalar("SELECT count(*) FROM problems") == 0


def test_ctrl_c_during_curate_sql_exits_130_as_interrupted(small_store: Path):
    def store_open(process: subprocess.Popen) -> bool:  # DuckDB has the file: the query starts next
        try:
            fds = list(Path(f"/proc/{process.pid}/fd").iterdir())
        except OSError:  # the process has ended: the caller reports it
            return False
        return any(os.path.realpath(fd) == str(small_store.resolve()) for fd in fds)

    done = _interrupt_mid_query(
        [sys.executable, "-m", "curate", "sql", SLOW_QUERY, "--db", str(small_store)], signal.SIGINT, store_open
    )
    assert done.returncode == 130, done.stderr
    assert "interrupted" in done.stderr and "error" not in done.stderr


def test_run_inside_a_transaction_that_fails_leaves_no_trace(db_path: Path):
    with open_store(db_path) as store:
        with pytest.raises(RuntimeError):
            with store.transaction(), store.run("toy", {}):
                store.insert_frame("problems", problem_frame())
                raise RuntimeError("stage failed")
        assert store.scalar("SELECT count(*) FROM runs") == 0
        assert store.scalar("SELECT count(*) FROM problems") == 0


def test_recorded_run_does_not_hold_the_store_while_the_work_runs(db_path: Path):
    with db.store.recorded_run(db_path, "long", ToyConfig()) as record:
        with open_store(db_path, read_only=True) as reader:  # refused while this process holds a writer
            assert reader.scalar("SELECT status FROM runs WHERE run_id = ?", [record.run_id]) == "running"
        record.counts = {"steps": 60}
    with open_store(db_path, read_only=True) as store:
        row = run_row(store, record.run_id)
    assert row["status"] == "ok" and json.loads(row["counts"]) == {"steps": 60}


def test_a_command_refused_on_bad_input_leaves_no_new_store_behind(tmp_path: Path, db_path: Path):
    fresh = tmp_path / "new" / "fresh.duckdb"
    for path in (fresh, db_path):
        with pytest.raises(BadInput):
            with stage_store(path) as store:
                store.execute("SELECT 1")
                raise BadInput("no such file", file="x.jsonl")
    assert not fresh.exists() and db_path.exists()


def _hashes(store) -> dict[str, tuple[str, str]]:
    """sample_id -> (stored content_hash, CONTENT_HASH_SQL computed from the texts now)."""
    rows = store.execute(
        f"SELECT s.sample_id, s.content_hash, {db.store.CONTENT_HASH_SQL} FROM samples s "
        "LEFT JOIN problems p ON p.problem_id = s.problem_id ORDER BY 1"
    ).fetchall()
    return {sample_id: (stored, computed) for sample_id, stored, computed in rows}


SAMPLE_SQL = (
    "INSERT INTO samples (sample_id, problem_id, model, params_hash, sample_index, reasoning, content, "
    "finish_reason, status) VALUES ('a', 't:1', 'm', 'h', 0, 'think', '\\boxed{2}', 'stop', 'ok'), "
    "('b', 't:2', 'm', 'h', 0, NULL, '\\boxed{4}', NULL, 'ok'), ('orphan', 't:9', 'm', 'h', 0, 'x', NULL, NULL, 'ok')"
)


def test_migration_017_backfills_sample_hashes_and_keeps_older_verdicts_current(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    path = tmp_path / "old.duckdb"
    every = db.store.migrations()
    monkeypatch.setattr(db.store, "migrations", lambda: [m for m in every if m[0] < 17])
    with open_store(path) as store:
        store.insert_frame("problems", problem_frame())
        store.execute(SAMPLE_SQL)
        # a verdict stored by 016's code: its hash computed from the texts, as verify did then
        hashed_then = (
            "md5(concat_ws(chr(31), coalesce(s.reasoning, chr(0)), coalesce(s.content, chr(0)), "
            "coalesce(s.finish_reason, chr(0)), coalesce(p.gold_answer, chr(0)), coalesce(p.question, chr(0))))"
        )
        store.execute(
            f"INSERT INTO verdicts (sample_id, verifier, verdict, content_hash) SELECT s.sample_id, 'sympy/3', "
            f"'correct', {hashed_then} FROM samples s JOIN problems p USING (problem_id)"
        )
    monkeypatch.undo()
    with open_store(path) as store:
        hashes = _hashes(store)
        assert len(hashes) == 3 and all(stored == computed for stored, computed in hashes.values())
        assert store.execute("SELECT sample_id FROM verdict_current ORDER BY 1").fetchall() == [("a",), ("b",)]


def test_insert_frame_hashes_samples_and_rehashes_those_of_changed_problems(db_path: Path):
    with open_store(db_path) as store:
        store.insert_frame("problems", problem_frame())
        samples = pl.DataFrame(
            {
                "sample_id": ["a", "b"],
                "problem_id": ["t:1", "t:2"],
                "model": ["m", "m"],
                "params_hash": ["h", "h"],
                "sample_index": [0, 0],
                "reasoning": ["think", None],
                "content": ["\\boxed{2}", "\\boxed{4}"],
                "finish_reason": ["stop", None],
                "status": ["ok", "ok"],
            }
        )
        store.insert_frame("samples", samples)
        before = _hashes(store)
        assert all(stored == computed for stored, computed in before.values())
        store.insert_frame("samples", samples.with_columns(content=pl.lit("\\boxed{9}")).head(1), "replace")
        store.insert_frame("problems", problem_frame("7").tail(1).with_columns(gold_answer=pl.lit("7")), "replace")
        after = _hashes(store)
        assert all(stored == computed for stored, computed in after.values())
        assert after["a"][0] != before["a"][0] and after["b"][0] != before["b"][0]
        store.insert_frame("problems", problem_frame("5"), "ignore")  # nothing changes: no rehash
        assert _hashes(store) == after
        with pytest.raises(ValueError, match="content_hash"):  # a replace that would leave the hash stale
            store.insert_frame("samples", samples.drop("reasoning"), "replace")


def test_memory_limit_holds_inside_and_is_reset_after_an_error(tmp_path):
    with open_store(tmp_path / "m.duckdb") as store:
        default = store.scalar("SELECT current_setting('memory_limit')")
        with pytest.raises(RuntimeError):
            with store.memory_limit("256MB"):
                assert (
                    store.scalar("SELECT current_setting('memory_limit')") == "244.1 MiB"
                )  # 256MB as DuckDB reports it (MB: 10^6 bytes)
                raise RuntimeError("a stage failed")
        assert store.scalar("SELECT current_setting('memory_limit')") == default
        with pytest.raises(BadInput, match="lots"):
            with store.memory_limit("lots"):
                pass


def test_a_non_math_problems_meta_is_part_of_its_samples_content_hash(db_path: Path):
    """Migration 019: a code problem's tests live in meta, so new tests make its verdicts pending;
    a math problem's meta (notes, source fields) leaves its hashes as they were."""
    tests = pl.Series(['{"test": "assert f() == 1"}'] * 2)
    with open_store(db_path) as store:
        store.insert_frame("problems", problem_frame().with_columns(meta=tests, domain=pl.Series(["code", "math"])))
        store.execute(SAMPLE_SQL)
        store.rehash_samples()
        before = _hashes(store)
        new_tests = problem_frame().with_columns(meta=tests.str.replace("1", "2"), domain=pl.Series(["code", "math"]))
        store.insert_frame("problems", new_tests, "replace")
        after = _hashes(store)
    assert before["a"][0] != after["a"][0]  # t:1, code
    assert before["b"][0] == after["b"][0]  # t:2, math
    assert all(stored == computed for stored, computed in after.values())
