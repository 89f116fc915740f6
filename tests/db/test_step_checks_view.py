"""Migration 020: step_check_summary (one row per sample and checker, current content only, older
step-checker versions marked) and step_flags (one row per sample over its current checkers)."""

from __future__ import annotations

from db import open_store
from tests.curate.curation_store import add_problems, add_samples, add_step_checks, trace

TEXT = "First $2 + 2 = 5$, wait, no: $2 + 2 = 4$. Then $3 \\times 3 = 10$ and $1 + 1 = 2$."


def test_summary_counts_claims_and_takes_the_newest_checker_version(db_path):
    with open_store(db_path) as store:
        add_problems(store, [{"problem_id": "p", "question": "Q?", "gold_answer": "4"}])
        add_samples(store, [{"sample_id": "s", "problem_id": "p", **trace(TEXT, "4")}])
        claims = [
            ("$2 + 2 = 5$", "wrong", True),
            ("$2 + 2 = 4$", "ok", False),
            ("$3 \\times 3 = 10$", "wrong", False),
            ("$1 + 1 = 2$", "unchecked", False),
        ]
        add_step_checks(store, "s", claims, checker="steps/1")
        add_step_checks(store, "s", claims[:2], checker="steps/2")  # a newer version finds no error
        add_step_checks(store, "s", [("Then $3 \\times 3 = 10$", "wrong", False)], checker="judge:critic")
        rows = {
            r["checker"]: r
            for r in store.query("SELECT * FROM step_check_summary WHERE sample_id = 's'").iter_rows(named=True)
        }
        flags = store.query("SELECT * FROM step_flags").row(0, named=True)
    one = rows["steps/1"]
    assert (one["claims"], one["checked"], one["wrong"], one["wrong_unretracted"]) == (4, 3, 2, 1)
    assert one["first_wrong_offset"] == ("<think>" + TEXT).index("$3 \\times") and one["older_version"]
    assert not rows["steps/2"]["older_version"] and rows["steps/2"]["wrong_unretracted"] == 0
    assert not rows["judge:critic"]["older_version"]
    # steps/1 is left out: the flag comes from the judge alone
    assert flags["checkers"] == 2 and flags["wrong_unretracted"] == 1 and flags["flagged_by"] == "judge:critic"


def test_a_changed_sample_leaves_the_views_until_it_is_checked_again(db_path):
    with open_store(db_path) as store:
        add_problems(store, [{"problem_id": "p", "question": "Q?", "gold_answer": "4"}])
        add_samples(store, [{"sample_id": "s", "problem_id": "p", **trace(TEXT, "4")}])
        add_step_checks(store, "s", [("$3 \\times 3 = 10$", "wrong", False)])
        assert store.scalar("SELECT count(*) FROM step_flags") == 1
        store.execute("UPDATE problems SET gold_answer = '5'")  # a changed gold changes the sample's hash too
        store.rehash_samples()
        assert store.scalar("SELECT count(*) FROM step_check_summary") == 0
        assert store.scalar("SELECT count(*) FROM step_flags") == 0
        assert store.scalar("SELECT count(*) FROM step_checks") == 1  # kept, not current
