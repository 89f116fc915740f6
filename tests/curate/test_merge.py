"""`curate generate --shard K/N` on three stores, one killed and resumed, then `curate merge`:
exactly the samples of one unsharded run; merging is idempotent; conflicts and other schema
versions are refused with exit 2 and leave the output store as it was."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from typer.testing import CliRunner

from curate.cli import app
from curate.generate import in_shard
from curate.testing.openai_server import OpenAIServer
from db import open_store
from db.store import CONTENT_HASH_SQL
from tests.curate.openai_helpers import add_problems, start_generate

runner = CliRunner()
MODEL = "deepseek-reasoner"
PROBLEMS, SAMPLES = 12, 4
SAME = "sample_id, problem_id, model, params_hash, sample_index, prompt, reasoning, content, finish_reason, status"


def generate(db: Path, server: OpenAIServer, *extra: str) -> subprocess.Popen:
    options = ("--samples", str(SAMPLES), "--concurrency", "4", "--no-progress", *extra)
    return start_generate(db, server.base_url, MODEL, *options)


def rows(db: Path, sql: str) -> list[tuple]:
    with open_store(db, read_only=True) as store:
        return store.execute(sql).fetchall()


def counts(db: Path) -> tuple:
    return rows(
        db,
        "SELECT (SELECT count(*) FROM problems), (SELECT count(*) FROM samples), "
        "(SELECT count(*) FROM verdicts), (SELECT count(*) FROM review_events), (SELECT count(*) FROM runs)",
    )[0]


def merge(out: Path, *inputs: Path):
    return runner.invoke(app, ["merge", str(out), *map(str, inputs)])


def test_shards_cover_every_pair_once():
    pairs = [(f"p{i}", j) for i in range(200) for j in range(8)]
    owners = [[k for k in (1, 2, 3) if in_shard(p, j, (k, 3))] for p, j in pairs]
    assert all(len(o) == 1 for o in owners)
    assert all(300 < sum(o == [k] for o in owners) < 800 for k in (1, 2, 3))  # a fair share each


def test_three_sharded_stores_merge_to_one_unsharded_run(tmp_path: Path):
    stores = [tmp_path / f"shard{k}.duckdb" for k in (1, 2, 3)]
    whole, out = tmp_path / "whole.duckdb", tmp_path / "merged.duckdb"
    for db in (*stores, whole):
        add_problems(db, PROBLEMS)
    with OpenAIServer(latency_s=0.02) as server:
        assert generate(whole, server).wait(timeout=120) == 0
        for k, db in enumerate(stores, start=1):
            if k == 2:  # killed mid-run, then resumed
                served = server.completed
                first = generate(db, server, "--shard", "2/3")
                deadline = time.monotonic() + 60
                while server.completed < served + 3:
                    assert first.poll() is None and time.monotonic() < deadline
                    time.sleep(0.02)
                server.latency_s = 30.0  # from here on requests stay in flight
                time.sleep(1.5)  # three flushes: what finished is committed
                first.kill()
                first.wait()
                server.latency_s = 0.02
                assert rows(db, "SELECT count(*) FROM samples")[0][0] >= 3
                assert rows(db, "SELECT count(*) FROM samples")[0][0] < len(
                    [1 for i in range(PROBLEMS) for j in range(SAMPLES) if in_shard(f"toy:{i:04d}", j, (2, 3))]
                )
            process = generate(db, server, "--shard", f"{k}/3")
            _out, err = process.communicate(timeout=120)
            assert process.returncode == 0, err
    shard_sizes = [rows(db, "SELECT count(*) FROM samples")[0][0] for db in stores]
    assert sum(shard_sizes) == PROBLEMS * SAMPLES and all(shard_sizes)

    result = merge(out, *stores)
    assert result.exit_code == 0, result.output
    assert f"samples: added {PROBLEMS * SAMPLES}" in result.stdout
    expected = rows(whole, f"SELECT {SAME} FROM samples ORDER BY sample_id")
    assert rows(out, f"SELECT {SAME} FROM samples ORDER BY sample_id") == expected
    assert counts(out)[0] == PROBLEMS
    stale = f"SELECT count(*) FROM samples s JOIN problems p USING (problem_id) WHERE s.content_hash IS DISTINCT FROM {CONTENT_HASH_SQL}"
    assert [rows(db, stale)[0][0] for db in (*stores, whole, out)] == [0] * 5  # generate and merge set the hash
    runs_in = sum(rows(db, "SELECT count(*) FROM runs")[0][0] for db in stores)
    assert counts(out)[4] == runs_in + 1  # every shard's runs, the killed one included, and the merge

    before = counts(out)
    again = merge(out, *stores)  # idempotent
    assert again.exit_code == 0, again.output
    assert "samples: added 0, already there 48" in again.stdout
    assert counts(out)[:4] == before[:4] and counts(out)[4] == before[4] + 1


def _store_with_verdict_and_reviews(db: Path, verdict: str) -> None:
    add_problems(db, 1)
    with open_store(db) as store, store.transaction():
        store.insert_rows(
            "samples",
            [
                {
                    "sample_id": "s1",
                    "problem_id": "toy:0000",
                    "model": "m",
                    "params_hash": "h",
                    "sample_index": 0,
                    "content": "\\boxed{1}",
                    "status": "ok",
                }
            ],
        )
        store.insert_rows("verdicts", [{"sample_id": "s1", "verifier": "sympy/1", "verdict": verdict}])
        store.execute(
            "INSERT INTO review_events (sample_id, reviewer, decision, created_at) VALUES "
            "('s1', 'ann', 'accept', TIMESTAMP '2026-01-01 10:00:00')"
        )
        store.execute(
            "INSERT INTO review_events (sample_id, reviewer, decision, reverts_event_id, created_at) VALUES "
            "('s1', 'ann', 'revert', 1, TIMESTAMP '2026-01-01 10:01:00')"
        )


def test_reviews_are_renumbered_and_conflicting_verdicts_refused(tmp_path: Path):
    a, b, out = tmp_path / "a.duckdb", tmp_path / "b.duckdb", tmp_path / "out.duckdb"
    _store_with_verdict_and_reviews(a, "correct")
    _store_with_verdict_and_reviews(b, "incorrect")
    with open_store(out) as store:  # OUT already has a review of its own: event ids 1 and 2 are taken
        store.execute("INSERT INTO review_events (sample_id, reviewer, decision) VALUES ('x', 'bob', 'flag')")
    assert merge(out, a).exit_code == 0
    events = rows(
        out, "SELECT event_id, decision, reverts_event_id FROM review_events WHERE sample_id = 's1' ORDER BY event_id"
    )
    assert [e[1] for e in events] == ["accept", "revert"] and events[1][2] == events[0][0] != 1
    assert rows(out, "SELECT decision FROM review_current WHERE sample_id = 's1'") == []  # the revert still applies
    before = counts(out)
    result = merge(out, b)
    assert result.exit_code == 2, result.output
    message = " ".join(result.stderr.split())
    assert "b.duckdb" in message and "verdicts (sample_id='s1', verifier='sympy/1')" in message
    assert "verdict is 'incorrect' in this store, 'correct' in the output store" in message  # both values
    assert counts(out) == before


def test_other_schema_version_and_non_store_are_refused(tmp_path: Path):
    old, out = tmp_path / "old.duckdb", tmp_path / "out.duckdb"
    add_problems(old, 1)
    with open_store(old) as store:
        store.execute("DELETE FROM schema_version WHERE version = (SELECT max(version) FROM schema_version)")
    open_store(out).close()
    before = counts(out)
    result = merge(out, old)
    assert result.exit_code == 2, result.output
    assert "schema version" in result.stderr and "old.duckdb" in result.stderr
    (tmp_path / "x.jsonl").write_text("{}\n")
    result = merge(out, tmp_path / "x.jsonl")
    assert result.exit_code == 2 and "not a DuckDB store" in result.stderr
    assert counts(out) == before


def test_error_sample_gives_way_to_the_final_one(tmp_path: Path):
    a, b, out = tmp_path / "a.duckdb", tmp_path / "b.duckdb", tmp_path / "out.duckdb"
    for db, status in ((a, "error"), (b, "ok")):
        add_problems(db, 1)
        with open_store(db) as store:
            store.insert_rows(
                "samples",
                [
                    {
                        "sample_id": "s1",
                        "problem_id": "toy:0000",
                        "model": "m",
                        "params_hash": "h",
                        "sample_index": 0,
                        "content": None if status == "error" else "4",
                        "status": status,
                    }
                ],
            )
    assert merge(out, a).exit_code == 0
    result = merge(out, b)
    assert result.exit_code == 0, result.output
    assert "replaced 1" in result.stdout
    assert rows(out, "SELECT status, content FROM samples") == [("ok", "4")]
    assert merge(out, a).exit_code == 0  # the error copy does not come back
    assert rows(out, "SELECT status FROM samples") == [("ok",)]


HOLD_OPEN = "import sys; from db import open_store; s = open_store(sys.argv[1]); print('held', flush=True); sys.stdin.readline()"


def test_a_locked_input_store_is_waited_for_with_wait_and_named_without_it(tmp_path: Path):
    # Before: a raw DuckDB error, --wait ignored for inputs, and an empty output store left behind.
    import sys

    shard = tmp_path / "a.duckdb"
    _store_with_verdict_and_reviews(shard, "correct")
    out = tmp_path / "out.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_OPEN, str(shard)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        refused = runner.invoke(app, ["merge", str(out), str(shard)])
        assert refused.exit_code == 1 and f"process {holder.pid}" in refused.output, refused.output
        assert not out.exists()
        waiting = subprocess.Popen(
            [sys.executable, "-m", "curate", "--wait", "30", "merge", str(out), str(shard)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(1.5)
        assert waiting.poll() is None  # still waiting for the shard
        holder.stdin.write("\n")
        holder.stdin.flush()
        _, err = waiting.communicate(timeout=60)
        assert waiting.returncode == 0, err
    finally:
        holder.kill()
    assert rows(out, "SELECT count(*) FROM verdicts") == [(1,)]


def test_a_verdict_of_an_error_sample_gives_way_with_it(tmp_path: Path):
    # Before: the error copy's verdict (no_answer) and the finished copy's (correct) share the key
    # (sample, verifier), so merging the two shards exited 2 with "1 verdicts rows conflict".
    a, b, out = tmp_path / "a.duckdb", tmp_path / "b.duckdb", tmp_path / "out.duckdb"
    for db in (a, b):
        add_problems(db, 1)
    with OpenAIServer() as server:
        server.inject("server_error", times=2 * SAMPLES)  # every request of shard a fails
        for db, code in ((a, 1), (b, 0)):
            process = generate(db, server, "--max-retries", "1", "--backoff", "0.01")
            _out, err = process.communicate(timeout=120)
            assert process.returncode == code, err
    for db in (a, b):
        verified = runner.invoke(app, ["verify", "--db", str(db), "--workers", "1"])
        assert verified.exit_code == 0, verified.output
    assert rows(a, "SELECT status, count(*) FROM samples GROUP BY ALL") == [("error", SAMPLES)]
    assert rows(a, "SELECT DISTINCT verdict FROM verdicts") == [("no_answer",)]
    assert rows(b, "SELECT DISTINCT verdict FROM verdicts") == [("correct",)]
    expected = rows(b, "SELECT sample_id, verifier, verdict, content_hash FROM verdicts ORDER BY ALL")
    for order in ((a, b), (b, a)):
        target = tmp_path / f"out-{order[0].stem}.duckdb"
        for shard in order:
            result = merge(target, shard)
            assert result.exit_code == 0, result.output
        assert rows(target, "SELECT DISTINCT status FROM samples") == [("ok",)]
        assert rows(target, "SELECT sample_id, verifier, verdict, content_hash FROM verdicts ORDER BY ALL") == expected
        assert rows(target, "SELECT DISTINCT verdict FROM verdict_current") == [("correct",)]
    both = merge(out, a, b)
    assert both.exit_code == 0, both.output
    assert f"verdicts: added {SAMPLES}, already there 0, replaced {SAMPLES}" in both.stdout
    # A verdict of the current content that differs is still a conflict, named with both values.
    other = tmp_path / "c.duckdb"
    shutil.copy(b, other)
    with open_store(other) as store:
        store.execute(
            "UPDATE verdicts SET verdict = 'incorrect' WHERE sample_id = (SELECT min(sample_id) FROM verdicts)"
        )
        changed = store.scalar("SELECT min(sample_id) FROM verdicts")
    before = counts(out)
    refused = merge(out, other)
    assert refused.exit_code == 2, refused.output
    message = " ".join(refused.stderr.split())
    assert "1 verdicts rows conflict" in message and f"(sample_id='{changed}', verifier='sympy/" in message
    assert "verdict is 'incorrect' in this store, 'correct' in the output store" in message
    assert counts(out) == before


def test_a_conflict_report_shortens_long_values(tmp_path: Path):
    a, b, out = tmp_path / "a.duckdb", tmp_path / "b.duckdb", tmp_path / "out.duckdb"
    for db, text in ((a, "x" * 500), (b, "y" * 500)):
        add_problems(db, 1)
        with open_store(db) as store:
            sample = {"sample_id": "s1", "problem_id": "toy:0000", "model": "m", "params_hash": "h"}
            store.insert_rows("samples", [{**sample, "sample_index": 0, "content": text, "status": "ok"}])
    assert merge(out, a).exit_code == 0
    refused = merge(out, b)
    assert refused.exit_code == 2, refused.output
    message = " ".join(refused.stderr.split())
    assert "samples (sample_id='s1'): content is '" + "y" * 60 + "...' in this store, '" + "x" * 60 + "...'" in message
