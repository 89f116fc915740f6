"""The review SQL as plain functions, against real DuckDB files."""

from __future__ import annotations

import polars as pl
import pytest

from db import BadInput, open_store
from curate.review import queries
from curate.review.data import Queue, ReviewData


def test_pending_queue_puts_selected_samples_first(review_db):
    with open_store(review_db, read_only=True) as store:
        frame = queries.load_queue(store, "alice", "pending")
    assert frame.height == 9
    assert frame["sample_id"].to_list()[:3] == ["s00000-1", "s00001-1", "s00002-1"]
    assert frame["selected"].to_list()[:3] == [True] * 3 and not any(frame["selected"].to_list()[3:])


def test_pending_queue_drops_my_decisions_but_keeps_others_and_puts_skips_last(review_db):
    with open_store(review_db) as store:
        queries.record_decision(store, "s00000-1", "alice", "accept")
        queries.record_decision(store, "s00001-1", "alice", "skip")
        queries.record_decision(store, "s00002-1", "bob", "reject")
        frame = queries.load_queue(store, "alice", "pending")
    ids = frame["sample_id"].to_list()
    assert "s00000-1" not in ids
    assert ids[0] == "s00002-1"  # bob's decision does not take it out of alice's queue
    assert ids[-1] == "s00001-1"  # skipped: seen, decide later


def test_resume_starts_at_the_first_sample_this_reviewer_has_not_touched(review_db):
    with open_store(review_db) as store:
        for sample_id in ("s00000-1", "s00001-1"):
            queries.record_decision(store, sample_id, "alice", "accept")
        frame = queries.load_queue(store, "alice", "all")
        assert queries.resume_index(frame) == 2
        assert queries.resume_index(queries.load_queue(store, "bob", "all")) == 0


def test_undo_reverts_the_reviewers_latest_live_event_and_keeps_the_audit_trail(review_db):
    with open_store(review_db) as store:
        first = queries.record_decision(store, "s00000-0", "alice", "reject", note="wrong sum")
        second = queries.record_decision(store, "s00000-1", "alice", "accept")
        queries.record_decision(store, "s00000-2", "bob", "flag")
        undone = queries.undo_latest(store, "alice")
        assert (undone.reverted_event_id, undone.sample_id, undone.decision) == (second, "s00000-1", "accept")
        again = queries.undo_latest(store, "alice")
        assert again.reverted_event_id == first
        assert queries.undo_latest(store, "alice") is None
        events = store.query(
            "SELECT event_id, reviewer, decision, reverts_event_id FROM review_events ORDER BY event_id"
        )
        assert events["decision"].to_list() == ["reject", "accept", "flag", "revert", "revert"]
        assert events["reverts_event_id"].to_list()[3:] == [second, first]
        current = store.query("SELECT sample_id, decision FROM review_current")
        assert current.to_dicts() == [{"sample_id": "s00000-2", "decision": "flag"}]


def test_undo_of_a_changed_mind_brings_back_the_earlier_decision(review_db):
    with open_store(review_db) as store:
        queries.record_decision(store, "s00000-0", "alice", "accept")
        queries.record_decision(store, "s00000-0", "alice", "reject")
        queries.undo_latest(store, "alice")
        assert store.scalar("SELECT decision FROM review_current WHERE sample_id = 's00000-0'") == "accept"


def test_decision_on_an_unknown_sample_or_decision_is_bad_input_and_writes_nothing(review_db):
    with open_store(review_db) as store:
        with pytest.raises(BadInput, match="no sample"):
            queries.record_decision(store, "nope", "alice", "accept")
        with pytest.raises(BadInput, match="unknown decision"):
            queries.record_decision(store, "s00000-0", "alice", "maybe")
        assert store.scalar("SELECT count(*) FROM review_events") == 0


def test_flagged_queue_holds_current_flags(review_db):
    with open_store(review_db) as store:
        queries.record_decision(store, "s00001-0", "alice", "flag")
        queries.record_decision(store, "s00002-0", "bob", "flag")
        queries.record_decision(store, "s00002-0", "bob", "accept")
        assert queries.load_queue(store, "alice", "flagged")["sample_id"].to_list() == ["s00001-0"]


def test_disagreements_queue_finds_verifier_review_and_judge_sympy_conflicts(review_db):
    # Builder: sample index 0 is SymPy-incorrect and judge-correct; 1 and 2 are correct for both.
    with open_store(review_db) as store:
        queries.record_decision(store, "s00000-1", "alice", "reject")  # verifier correct, rejected
        queries.record_decision(store, "s00001-2", "alice", "accept")  # agrees: not listed
        ids = set(queries.load_queue(store, "alice", "disagreements")["sample_id"].to_list())
    assert ids == {"s00000-1", "s00000-0", "s00001-0", "s00002-0"}


def test_queues_work_before_verify_score_and_select_have_run(bare_db):
    with open_store(bare_db) as store:
        for kind in queries.QUEUES:
            queries.load_queue(store, "alice", kind)
        frame = queries.load_queue(store, "alice", "pending", "verdict IS NULL AND length_tokens IS NULL")
        assert frame.height == 4
        detail = queries.sample_details(store, ["s00000-0"])[0]
    assert detail.verdict is None and detail.scores is None and detail.judge_verdicts == []


def test_filter_narrows_the_queue_and_a_bad_filter_names_the_columns(review_db):
    with open_store(review_db, read_only=True) as store:
        frame = queries.load_queue(store, "alice", "all", "verdict = 'incorrect' AND reasoning LIKE '%problem 1:%'")
        assert frame["sample_id"].to_list() == ["s00001-0"]
        with pytest.raises(BadInput, match="length_tokens"):
            queries.load_queue(store, "alice", "all", "no_such_column > 1")
        with pytest.raises(BadInput, match="--queue"):
            queries.load_queue(store, "alice", "mine")


def test_a_filter_cannot_write_because_queues_are_read_on_a_read_only_connection(review_db):
    data = ReviewData(review_db, "alice")
    with pytest.raises(Exception):
        data.load_queue("all", "TRUE); DELETE FROM samples; SELECT (1")
    with open_store(review_db, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM samples") == 9


def test_sample_details_carry_text_verdicts_scores_events_and_siblings(review_db):
    with open_store(review_db) as store:
        queries.record_decision(store, "s00000-1", "alice", "accept", note="clean", corrected_answer="3")
        detail = queries.sample_details(store, ["s00000-1", "missing"])
    assert len(detail) == 1
    detail = detail[0]
    assert "\\sum_{k=1}^{2}" in detail.sample["reasoning"] and detail.sample["gold_answer"] == "3"
    assert detail.verdict["verdict"] == "correct" and detail.judge_verdicts[0]["verifier"] == "judge:demo-judge"
    assert detail.scores["length_tokens"] == 210
    assert detail.events[0]["note"] == "clean" and detail.events[0]["corrected_answer"] == "3"
    assert [s["sample_id"] for s in detail.siblings] == ["s00000-0", "s00000-1", "s00000-2"]
    assert detail.siblings[1]["decision"] == "accept"


def test_progress_counts_current_decisions_per_reviewer(review_db):
    with open_store(review_db) as store:
        queries.record_decision(store, "s00000-0", "alice", "accept")
        queries.record_decision(store, "s00000-1", "alice", "skip")
        queries.record_decision(store, "s00000-2", "bob", "reject")
        progress = queries.progress(store, "alice")
    assert progress.mine == {"accept": 1, "skip": 1} and progress.decided == 1
    assert progress.others == {"bob": 1} and progress.total_samples == 9


def test_agreement_share_and_kappa_for_two_reviewers(review_db):
    plan = {  # sample: (alice, bob)
        "s00000-0": ("accept", "accept"),
        "s00000-1": ("accept", "accept"),
        "s00000-2": ("reject", "reject"),
        "s00001-0": ("accept", "reject"),
        "s00001-1": ("reject", "reject"),
        "s00001-2": ("accept", "skip"),
    }
    with open_store(review_db) as store:
        for sample_id, (a, b) in plan.items():
            queries.record_decision(store, sample_id, "alice", a)
            queries.record_decision(store, sample_id, "bob", b)
        result = queries.agreement(store)
        counts = queries.decision_counts(store)
    assert (result.samples_multi, result.samples_agreed) == (5, 4)
    pair = result.pairs[0]
    # alice: 3 accept 2 reject; bob: 2 accept 3 reject over the 5 both judged; po = 4/5, pe = 12/25.
    assert (pair["samples"], pair["agreed"]) == (5, 4)
    assert pair["kappa"] == pytest.approx((0.8 - 0.48) / (1 - 0.48))
    assert counts.filter(pl.col("reviewer") == "bob").to_dicts()[0] == {
        "reviewer": "bob",
        "accept": 2,
        "reject": 3,
        "flag": 0,
        "skip": 1,
        "events": 6,
    }


def test_cohens_kappa_is_undefined_when_both_always_agree_on_one_label():
    assert queries.cohens_kappa(["accept"] * 3, ["accept"] * 3) is None
    assert queries.cohens_kappa(["accept", "reject"], ["reject", "accept"]) == pytest.approx(-1.0)


def test_queue_steps_by_sample_and_by_problem():
    frame = pl.DataFrame(
        {
            "sample_id": ["a0", "a1", "b0", "c0", "c1"],
            "problem_id": ["a", "a", "b", "c", "c"],
            "my_decision": [None] * 5,
        }
    )
    queue = Queue("all", None, frame)
    assert queue.step(0, -1) == 0 and queue.step(4, 1) == 4
    assert [queue.step_problem(i, 1) for i in range(5)] == [2, 2, 3, 3, 4]
    assert [queue.step_problem(i, -1) for i in range(5)] == [0, 0, 0, 2, 2]
    assert queue.neighbours(2, 2) == ["c0", "a1", "c1", "a0"]
