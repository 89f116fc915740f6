"""Migration 018: derived rows name the content hash they were computed from (issue 26 item 6)."""

from __future__ import annotations

from pathlib import Path

import pytest

import db.store
from db import open_store

ROWS = [
    "INSERT INTO problems (problem_id, source, question, gold_answer, question_hash) VALUES ('t:1', 't', '1+1?', '2', 'h')",
    "INSERT INTO samples (sample_id, problem_id, model, params_hash, sample_index, content, status) "
    "VALUES ('a', 't:1', 'm', 'h', 0, '\\boxed{2}', 'ok'), ('b', 't:1', 'm', 'h', 1, '\\boxed{3}', 'ok')",
    "INSERT INTO verdicts (sample_id, verifier, verdict) VALUES ('a', 'judge:j', 'correct'), ('a', 'sympy/4', 'correct')",
    "INSERT INTO scores (sample_id, problem_id, cluster, is_majority, agreement, cluster_answer) "
    "VALUES ('a', 't:1', 1, TRUE, 0.5, '2'), ('b', 't:1', 2, FALSE, 0.5, '3')",
    "INSERT INTO problem_scores (problem_id, n_samples, n_answered, n_clusters, has_gold, pseudo_label) "
    "VALUES ('t:1', 2, 2, 2, TRUE, FALSE)",
    "INSERT INTO selections (selection_id, policy, sample_id, problem_id, rank) VALUES ('x', 'p', 'a', 't:1', 1)",
]


def states(store) -> dict[str, str]:
    return dict(store.execute("SELECT sample_id, state FROM score_state").fetchall())


def test_018_applied_after_later_migrations_backfills_hashes_and_a_later_change_makes_rows_pending(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    path = tmp_path / "old.duckdb"
    every = db.store.migrations()
    monkeypatch.setattr(db.store, "migrations", lambda: [m for m in every if m[0] != 18])
    with open_store(path) as store:  # a store of every other migration, as one made before 018 existed
        for sql in ROWS:
            store.execute(sql)
        store.rehash_samples()
    monkeypatch.undo()
    with open_store(path) as store:
        assert 18 in {row[0] for row in store.execute("SELECT version FROM schema_version").fetchall()}
        unhashed = store.scalar(
            "SELECT count(*) FROM (SELECT content_hash FROM scores UNION ALL SELECT content_hash FROM selections "
            "UNION ALL SELECT content_hash FROM verdicts UNION ALL SELECT content_hash FROM problem_scores) "
            "WHERE content_hash IS NULL"
        )
        assert unhashed == 0
        assert states(store) == {"a": "current", "b": "current"}
        assert store.execute("SELECT verifier FROM judge_current").fetchall() == [("judge:j",)]
        assert store.scalar("SELECT majority_answer FROM problem_stats") == "2"

        store.execute("UPDATE samples SET content = '\\boxed{4}' WHERE sample_id = 'b'")  # b regenerated
        store.rehash_samples("s.sample_id = 'b'")
        assert states(store) == {"a": "problem_changed", "b": "sample_changed"}
        assert store.scalar("SELECT majority_answer FROM problem_stats") is None
        assert store.execute("SELECT verifier FROM judge_current").fetchall() == [("judge:j",)]

        store.execute("UPDATE problems SET gold_answer = '3'")  # a changed gold: every verdict of t:1 goes
        store.rehash_samples()
        assert store.execute("SELECT * FROM judge_current").fetchall() == []
        assert store.execute("SELECT sample_id FROM verdict_pending").fetchall() == [("a",)]


def test_rows_written_without_a_hash_count_as_current(db_path: Path):
    with open_store(db_path) as store:
        for sql in ROWS:
            store.execute(sql)
        store.rehash_samples()
        assert states(store) == {"a": "current", "b": "current"}
        assert store.scalar("SELECT count(*) FROM judge_current") == 1
