"""A changed gold answer (`curate ingest --update`) makes every row derived from the old one
pending: judge verdicts, scores, clusters, selections; `curate export` refuses a stale selection
and `curate run` reruns verify..export (issue 26 items 5 and 6). Commands as a user types them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.pipeline import STAGE_RUN_KIND
from curate.review.queries import bulk_accept, queue_counts, record_decision, undo_latest
from curate.testing.openai_server import OpenAIServer
from db import open_store

runner = CliRunner()
JUDGE = "judge-model"
REFERENCE = re.compile(r"Reference answer:\n(.*?)\n\nCandidate's final response:\n(.*?)\n\nReply with", re.S)

PROBLEMS = [
    {"id": 1, "problem": "What is 2+3?", "answer": "5"},
    {"id": 2, "problem": "What is 4+4?", "answer": "8"},
    {"id": 3, "problem": "What is 6+1?", "answer": "7"},
]
TRACES = [
    {"problem_id": "s:1", "completion": "<think>2+3 = 5.</think>The sum is $\\boxed{5}$."},
    {"problem_id": "s:1", "completion": "<think>Two plus three: 2+3 = 5, checked.</think>So $\\boxed{5}$."},
    {"problem_id": "s:1", "completion": "<think>Count up.</think>so \\boxed{five (5)}"},  # SymPy: unparseable
    {"problem_id": "s:2", "completion": "<think>4+4 = 8.</think>The sum is $\\boxed{8}$."},
    {"problem_id": "s:2", "completion": "<think>Four and four: 4+4 = 8, yes.</think>So $\\boxed{8}$."},
    {"problem_id": "s:3", "completion": "<think>6+1 = 7.</think>The sum is $\\boxed{7}$."},
    {"problem_id": "s:3", "completion": "<think>Six plus one: 6+1 = 7, yes.</think>So $\\boxed{7}$."},
]


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def curate(*args: str):
    result = runner.invoke(app, [str(arg) for arg in args])
    return result


def ok(*args: str):
    result = curate(*args)
    assert result.exit_code == 0, result.output
    return result


def grade_like_a_judge(prompt: str, answer: str) -> str:
    """A judge that calls a response correct when it contains the reference answer."""
    reference, response = REFERENCE.search(prompt).groups()
    return f"ANSWER: {response}\nVERDICT: {'CORRECT' if reference in response else 'INCORRECT'}"


@pytest.fixture
def curated(db_path: Path, tmp_path: Path) -> dict:
    """ingest, import-samples, verify, score, select: the files and the store."""
    problems = write_jsonl(tmp_path / "problems.jsonl", PROBLEMS)
    traces = write_jsonl(tmp_path / "traces.jsonl", TRACES)
    ok("ingest", problems, "--db", db_path, "--source", "s")
    ok("import-samples", traces, "--model", "teacher", "--db", db_path, "--source", "s")
    ok("verify", "--db", db_path, "--workers", "1")
    return {"db": db_path, "problems": problems, "tmp": tmp_path}


def change_gold(curated: dict, problem: int, gold: str) -> None:
    rows = [{**row, "answer": gold} if row["id"] == problem else row for row in PROBLEMS]
    write_jsonl(curated["problems"], rows)
    ok("ingest", curated["problems"], "--db", curated["db"], "--source", "s", "--update")


def query(db: Path, sql: str) -> list[tuple]:
    with open_store(db, read_only=True) as store:
        return store.execute(sql).fetchall()


def exported(out: Path) -> list[dict]:
    rows = []
    for name in ("train.jsonl", "val.jsonl"):
        if (out / name).exists():
            rows += [json.loads(line) for line in (out / name).read_text().splitlines() if line]
    return rows


# ---- item 5: judge verdicts ------------------------------------------------------------------


def test_a_changed_gold_makes_judge_verdicts_pending_and_judge_rejudges_them(curated: dict):
    db = curated["db"]
    with OpenAIServer(content=grade_like_a_judge, models=(JUDGE,)) as server:
        ok("judge", "--model", JUDGE, "--base-url", server.base_url, "--db", db)
        assert server.requests == 1
        judged = "SELECT v.verdict, v.content_hash = s.content_hash FROM verdicts v JOIN samples s USING (sample_id) "
        judged += f"WHERE v.verifier = 'judge:{JUDGE}'"
        assert query(db, judged) == [("correct", True)]
        with open_store(db, read_only=True) as store:
            assert queue_counts(store, "tester", "judge_verdict IS NOT NULL")["all"] == 1
        ok("judge", "--model", JUDGE, "--base-url", server.base_url, "--db", db)
        assert server.requests == 1  # judged for this content already

        change_gold(curated, 1, "6")
        assert query(db, judged) == [("correct", False)]  # the verdict was for the old gold
        stats = " ".join(ok("stats", "--db", db).output.split())
        assert "pending (content changed)" in stats  # `curate stats` counts it apart
        # The review app's queues read only the current judge verdict: none until rejudged.
        with open_store(db, read_only=True) as store:
            assert queue_counts(store, "tester", "judge_verdict IS NOT NULL")["all"] == 0

        waiting = ok("judge", "--model", JUDGE, "--base-url", server.base_url, "--db", db)
        assert server.requests == 1 and "3 samples left out" in " ".join(waiting.output.split())
        ok("verify", "--db", db, "--workers", "1")  # the judge grades what the current SymPy verdict leaves open
        again = ok("judge", "--model", JUDGE, "--base-url", server.base_url, "--db", db)
        assert server.requests == 2 and "judging 1 samples" in again.output
        assert "1 judged before, for earlier content" in " ".join(again.output.split())
    assert query(db, judged) == [("incorrect", True)]


# ---- item 6: score, select, export after a changed gold --------------------------------------


def test_select_and_export_after_a_changed_gold_never_ship_the_old_verdicts(curated: dict):
    db, tmp = curated["db"], curated["tmp"]
    ok("score", "--db", db)
    ok("select", "--policy", "shortest-correct", "--name", "pick", "--db", db)
    first = ok("export", "--out", tmp / "first", "--val-fraction", "0", "--db", db)
    assert {row["problem_id"] for row in exported(tmp / "first")} == {"s:1", "s:2", "s:3"}, first.output

    change_gold(curated, 1, "6")  # the traces of s:1 answer 5: now wrong
    stats = "SELECT problem_id, majority_answer FROM problem_stats ORDER BY 1"
    assert query(db, stats) == [("s:1", None), ("s:2", "8"), ("s:3", "7")]  # old clusters are not shown

    refused = curate("export", "--out", tmp / "second", "--val-fraction", "0", "--db", db)
    assert refused.exit_code == 2, refused.output
    message = " ".join(refused.output.split())
    assert "1 selected trace" in message and "curate select" in message and "curate verify" in message
    assert not (tmp / "second").exists()

    # select reads only current scores: the changed problem's samples are pending, counted.
    reselect = ok("select", "--policy", "shortest-correct", "--name", "pick", "--db", db)
    assert "3 samples pending" in " ".join(reselect.output.split())
    counts = json.loads(query(db, "SELECT counts FROM runs WHERE kind = 'select' ORDER BY started_at DESC")[0][0])
    assert counts["pending"] == {"score_stale": 3}
    assert query(db, "SELECT DISTINCT problem_id FROM selections WHERE selection_id = 'pick' ORDER BY 1") == [
        ("s:2",),
        ("s:3",),
    ]

    # score counts the verdicts of earlier content as pending; select then keeps them out.
    rescore = ok("score", "--db", db)
    assert "3 samples have verdicts of earlier content" in " ".join(rescore.output.split())
    counts = json.loads(query(db, "SELECT counts FROM runs WHERE kind = 'score' ORDER BY started_at DESC")[0][0])
    assert counts["verdicts_pending"] == 3
    reselect = ok("select", "--policy", "shortest-correct", "--name", "pick", "--db", db)
    assert "3 samples pending" in " ".join(reselect.output.split()) and "curate verify" in reselect.output

    # The whole chain again: nothing of s:1 is correct now, so nothing of it is exported.
    ok("verify", "--db", db, "--workers", "1")
    ok("score", "--db", db)
    ok("select", "--policy", "shortest-correct", "--name", "pick", "--db", db)
    ok("export", "--out", tmp / "third", "--val-fraction", "0", "--db", db)
    rows = exported(tmp / "third")
    assert {row["problem_id"] for row in rows} == {"s:2", "s:3"}
    stored = query(
        db,
        "SELECT count(*) FROM exports WHERE content_hash IS NOT NULL AND path = '"
        + str((tmp / "third").resolve())
        + "'",
    )
    assert stored == [(1,)]


def test_a_regenerated_sample_makes_its_problems_scores_pending(curated: dict):
    db = curated["db"]
    ok("score", "--db", db)
    with open_store(db) as store:  # a regenerated sample: its text changes, its siblings' clusters too
        sample = store.scalar("SELECT min(sample_id) FROM samples WHERE problem_id = 's:2'")
        store.execute("UPDATE samples SET content = 'The sum is $\\boxed{9}$.' WHERE sample_id = ?", [sample])
        store.rehash_samples("s.sample_id = ?", [sample])
    reselect = ok("select", "--policy", "shortest-correct", "--db", db)
    assert "2 samples pending" in " ".join(reselect.output.split())


def test_curate_run_reruns_verify_to_export_after_a_changed_gold(curated: dict):
    db, tmp = curated["db"], curated["tmp"]
    config = tmp / "pipeline.toml"
    config.write_text(
        f'[pipeline]\ndir = "{tmp / "run"}"\ndb = "{db}"\n\n[verify]\nworkers = 1\n\n[score]\n\n'
        '[select]\npolicy = "shortest-correct"\nname = "pick"\n\n[export]\nout = "export"\nval_fraction = 0.0\n',
        encoding="utf-8",
    )
    ok("run", config)
    ok("run", config)  # nothing changed: every stage skipped
    change_gold(curated, 1, "6")
    ok("run", config)
    stages = query(
        db,
        "SELECT json_extract_string(config, '$.stage') FROM runs WHERE kind = '"
        + STAGE_RUN_KIND
        + "' ORDER BY started_at",
    )
    assert [row[0] for row in stages] == ["verify", "score", "select", "export"] * 2
    assert {row["problem_id"] for row in exported(tmp / "run" / "export")} == {"s:2", "s:3"}


def test_a_sample_added_after_score_leaves_its_problem_pending_until_rescored(curated: dict):
    db, tmp = curated["db"], curated["tmp"]
    ok("score", "--db", db)
    more = write_jsonl(tmp / "more.jsonl", [{"problem_id": "s:3", "completion": "<think>7.</think>$\\boxed{7}$"}])
    ok("import-samples", more, "--model", "teacher", "--db", db, "--source", "s")
    reselect = ok("select", "--policy", "shortest-correct", "--db", db)
    note = " ".join(reselect.output.split())
    assert "3 samples pending (score_stale 2, unscored 1" in note and "rerun `curate verify` and `curate score`" in note
    ok("verify", "--db", db, "--workers", "1")
    ok("score", "--db", db)
    assert "pending" not in ok("select", "--policy", "shortest-correct", "--db", db).output


# ---- item 6: review decisions ------------------------------------------------------------------


def selected(db: Path) -> list[str]:
    return [row[0] for row in query(db, "SELECT sample_id FROM selections WHERE selection_id = 'pick' ORDER BY 1")]


def test_a_decision_on_a_trace_that_changed_since_is_set_aside(curated: dict):
    db = curated["db"]
    ok("score", "--db", db)
    ok("select", "--policy", "shortest-correct", "--name", "pick", "--db", db)
    [short] = [
        s
        for s in selected(db)
        if s in {r[0] for r in query(db, "SELECT sample_id FROM samples WHERE problem_id = 's:3'")}
    ]
    with open_store(db) as store:
        record_decision(store, short, "ann", "reject", note="sloppy")
    ok("select", "--policy", "shortest-correct", "--name", "pick", "--db", db)
    assert short not in selected(db)  # the rejection holds while the trace is the one reviewed

    with open_store(db) as store:  # regenerated: another short, right trace under the same id
        store.execute(
            "UPDATE samples SET reasoning = '6+1 is 7.', content = 'So $\\boxed{7}$.' WHERE sample_id = ?", [short]
        )
        store.rehash_samples("s.sample_id = ?", [short])
    assert query(db, f"SELECT count(*) FROM review_current WHERE sample_id = '{short}'") == [(0,)]
    stats = " ".join(ok("stats", "--db", db).output.split())
    assert "stale (content changed: review again) │ 1" in stats
    with open_store(db, read_only=True) as store:  # the filter docs/GUIDE.md gives for them
        stale = "decision IS NULL AND my_decision IN ('accept', 'reject', 'flag')"
        assert queue_counts(store, "ann", stale)["all"] == 1
    ok("verify", "--db", db, "--workers", "1")
    ok("score", "--db", db)
    ok("select", "--policy", "shortest-correct", "--name", "pick", "--db", db)
    assert short in selected(db)  # unreviewed again: the shortest right trace of s:3

    with open_store(db) as store:  # a decision on the new trace counts again
        record_decision(store, short, "ann", "reject")
    assert query(db, f"SELECT decision FROM review_current WHERE sample_id = '{short}'") == [("reject",)]
    assert "stale" not in ok("stats", "--db", db).output


def test_a_changed_gold_sets_the_decisions_of_its_traces_aside(curated: dict):
    db = curated["db"]
    with open_store(db) as store:
        accepted = bulk_accept(store, "s:1", "ann")
        assert len(accepted) == 2
    assert query(db, "SELECT count(*) FROM review_current") == [(2,)]
    change_gold(curated, 1, "6")
    assert query(db, "SELECT count(*) FROM review_current") == [(0,)]
    assert query(db, "SELECT count(*) FROM review_stale") == [(2,)]


def test_every_review_event_names_the_content_it_judged(curated: dict, tmp_path: Path):
    db = curated["db"]
    with open_store(db) as store:
        sample = store.scalar("SELECT min(sample_id) FROM samples WHERE problem_id = 's:2'")
        record_decision(store, sample, "ann", "flag")
        bulk_accept(store, "s:3", "ann")
        undo_latest(store, "ann")
    missing = "SELECT count(*) FROM review_events e JOIN samples s USING (sample_id) "
    missing += "WHERE e.content_hash IS DISTINCT FROM s.content_hash"
    assert query(db, "SELECT count(*) FROM review_events") == [(5,)]
    assert query(db, missing) == [(0,)]
    merged = tmp_path / "merged.duckdb"
    ok("merge", merged, db)  # the hash travels with the events
    assert query(merged, "SELECT count(*) FROM review_events") == [(5,)]
    assert query(merged, missing) == [(0,)]
