"""The store: migrations give the same schema fresh or step by step, transactions roll back,
bulk inserts ignore or replace, another process's lock is reported clearly, and `curate sql` /
`curate stats` work as a user types them."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

import db.store
from curate.cli import app
from db import StoreLocked, open_store

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
    with open_store(upgraded) as store:   # opening an up-to-date store applies nothing
        assert db.store.migrate(store) == []

    assert schema_of(upgraded) == schema_of(fresh)
    assert schema_of(fresh)["views"], "the views of 001 exist"


def problem_frame(gold: str = "2") -> pl.DataFrame:
    return pl.DataFrame({"problem_id": ["t:1", "t:2"], "source": ["t", "t"], "question": ["1+1?", "2+2?"],
                         "gold_answer": [gold, "4"], "question_hash": ["h1", "h2"]})


def test_transaction_rolls_back_everything_including_nested(db_path: Path):
    with open_store(db_path) as store:
        with pytest.raises(RuntimeError):
            with store.transaction():
                store.insert_frame("problems", problem_frame())
                with store.transaction():           # joins the outer one
                    store.start_run("test")
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
        assert store.scalar("SELECT status FROM runs") == "running"   # a column the frame lacks takes its default


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
    with open_store(db_path) as store:      # free again once the holder is gone
        assert store.scalar("SELECT count(*) FROM problems") == 0


# ---- curate sql / curate stats ---------------------------------------------------------------

@pytest.fixture
def small_store(db_path: Path, tmp_path: Path) -> Path:
    problems = tmp_path / "set.jsonl"
    problems.write_text("".join(json.dumps({"id": i, "problem": f"What is {i}+{i}?", "answer": str(2 * i)}) + "\n"
                                for i in range(1, 4)))
    assert runner.invoke(app, ["ingest", str(problems), "--db", str(db_path), "--source", "toy", "--split", "val"]).exit_code == 0
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


@pytest.mark.parametrize("args, words", [
    (["SELEC * FROM problems"], ["field 'query'", "syntax error"]),
    (["SELECT * FROM no_such_table"], ["field 'query'", "no_such_table"]),
    (["DELETE FROM problems"], ["field 'query'", "read-only"]),
    (["SELECT 1", "--format", "xml"], ["--format", "xml"]),
])
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


def test_stats_and_sql_on_a_missing_store_exit_2(tmp_path: Path):
    for args in (["stats"], ["sql", "SELECT 1"]):
        result = runner.invoke(app, [*args, "--db", str(tmp_path / "none.duckdb")])
        assert result.exit_code == 2, result.output
        assert "no such store" in result.stderr
    assert not (tmp_path / "none.duckdb").exists()


def test_empty_store_stats_says_how_to_start(db_path: Path):
    result = runner.invoke(app, ["stats", "--db", str(db_path)])
    assert result.exit_code == 0 and "curate ingest" in result.stdout
