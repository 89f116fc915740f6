"""`curate select`: filters, the four policies, TOML config, recorded selections."""

from __future__ import annotations

import json
import re

import pytest

from curate.cli import main
from curate.select import SelectConfig, load_config, run as select
from db import BadInput, open_store
from tests.curate.curation_store import (
    add_problem_scores,
    add_problems,
    add_review,
    add_samples,
    add_scores,
    add_verdicts,
    trace,
)


@pytest.fixture
def store(db_path):
    """Five problems whose samples each trip one filter or policy rule (see the comments)."""
    store = open_store(db_path)
    add_problems(
        store,
        [
            {"problem_id": "p1", "question": "Problem one?", "gold_answer": "1"},
            {"problem_id": "p2", "question": "Problem two?", "gold_answer": "2"},
            {"problem_id": "p3", "question": "Problem three?", "gold_answer": "3"},
            {"problem_id": "p4", "question": "Problem three, again?", "gold_answer": "3"},
            {"problem_id": "p5", "question": "Problem five, no gold?", "gold_answer": None},
        ],
    )
    samples = [
        ("a", "p1", {}),
        ("b", "p1", {}),
        ("c", "p1", {}),
        ("d", "p1", {}),
        ("e", "p1", {"status": "truncated"}),
        ("f", "p1", {}),
        ("g", "p2", {}),
        ("h", "p2", {}),
        ("i", "p2", {}),
        ("j", "p2", {}),
        ("k", "p3", {}),
        ("l", "p3", {}),
        ("m", "p4", {}),
        ("n", "p5", {}),
        ("o", "p5", {}),
        ("q", "p5", {}),
    ]
    add_samples(store, [{"sample_id": s, "problem_id": p, **trace("steps", "1"), **extra} for s, p, extra in samples])
    add_verdicts(store, [("c", "7", "incorrect")])
    add_review(store, "f", "reject")
    add_scores(
        store,
        [
            {"sample_id": "a", "problem_id": "p1", "length_tokens": 1000},
            {"sample_id": "b", "problem_id": "p1", "length_tokens": 500},
            {
                "sample_id": "c",
                "problem_id": "p1",
                "length_tokens": 450,
                "correct": False,
                "cluster": 2,
                "is_majority": False,
            },
            {"sample_id": "d", "problem_id": "p1", "length_tokens": 300, "repetition_ratio": 0.8},  # a loop
            {"sample_id": "e", "problem_id": "p1", "length_tokens": 200},  # truncated
            {"sample_id": "f", "problem_id": "p1", "length_tokens": 400},  # rejected
            {"sample_id": "g", "problem_id": "p2", "length_tokens": 900, "boxed_count": 2},
            {"sample_id": "h", "problem_id": "p2", "length_tokens": 1200, "language_mix_ratio": 0.3},
            {"sample_id": "i", "problem_id": "p2", "length_tokens": 100_000},  # length outlier
            {"sample_id": "j", "problem_id": "p2", "length_tokens": 700, "think_closed": False},
            {"sample_id": "k", "problem_id": "p3", "length_tokens": 600},
            {"sample_id": "l", "problem_id": "p3", "length_tokens": 650},
            {"sample_id": "m", "problem_id": "p4", "length_tokens": 500},  # duplicate problem
            {"sample_id": "n", "problem_id": "p5", "length_tokens": 800, "pseudo_label": True},
            {"sample_id": "o", "problem_id": "p5", "length_tokens": 700, "pseudo_label": True},
            {
                "sample_id": "q",
                "problem_id": "p5",
                "length_tokens": 600,
                "pseudo_label": True,
                "correct": False,
                "cluster": 2,
                "is_majority": False,
            },
        ],
    )
    add_problem_scores(
        store,
        [
            {"problem_id": "p1", "pass_rate": 0.5, "difficulty": 0.5, "agreement": 0.8, "runner_up": 0.2},
            {"problem_id": "p2"},
            {"problem_id": "p3"},
            {"problem_id": "p4"},
            {
                "problem_id": "p5",
                "has_gold": False,
                "pseudo_label": True,
                "pass_rate": None,
                "n_correct": None,
                "agreement": 2 / 3,
                "runner_up": 1 / 3,
                "difficulty": 1 / 3,
            },
        ],
    )
    store.execute("INSERT INTO problem_duplicates VALUES ('p4', 'p3', 'fuzzy', 96.0, NULL, current_timestamp)")
    yield store
    store.close()


def chosen(store, selection_id: str) -> list[str]:
    return store.query("SELECT sample_id FROM selections WHERE selection_id = ? ORDER BY sample_id", [selection_id])[
        "sample_id"
    ].to_list()


def test_shortest_correct_keeps_the_shortest_sample_that_passes_every_filter(store):
    result = select(store, SelectConfig(policy="shortest-correct"))
    assert chosen(store, result.selection_id) == ["b", "k"]
    assert result.dropped == {
        "verified_incorrect": 1,
        "repetition": 1,
        "truncated_or_error": 1,
        "rejected_by_review": 1,
        "several_boxed": 1,
        "language_mix": 1,
        "length_outlier": 1,
        "think_unclosed": 1,
        "duplicate_problem": 1,
    }


def test_rejected_sample_is_never_selected_even_when_it_would_win(store):
    for policy in ("shortest-correct", "keep-k-correct", "consensus", "difficulty-weighted"):
        result = select(store, SelectConfig(policy=policy, k=10, min_difficulty=0.0))
        assert "f" not in chosen(store, result.selection_id)


def test_keep_k_correct_keeps_up_to_k_per_problem(store):
    result = select(store, SelectConfig(policy="keep-k-correct", k=2))
    assert chosen(store, result.selection_id) == ["a", "b", "k", "l"]
    ranks = store.query("SELECT problem_id, list(rank ORDER BY rank) AS r FROM selections GROUP BY 1 ORDER BY 1")
    assert ranks["r"].to_list() == [[1, 2], [1, 2]]


def test_consensus_takes_the_majority_cluster_of_problems_without_gold(store):
    result = select(store, SelectConfig(policy="consensus"))
    assert chosen(store, result.selection_id) == ["b", "k", "o"]
    strict = select(store, SelectConfig(policy="consensus", threshold=0.7))
    assert chosen(store, strict.selection_id) == ["b", "k"]


def test_difficulty_weighted_keeps_problems_the_teacher_finds_hard_and_long_traces(store):
    result = select(store, SelectConfig(policy="difficulty-weighted"))
    assert chosen(store, result.selection_id) == ["a"]  # p1 only (difficulty 0.5); ceil(2 * 0.5) = 1, the longest


def test_difficulty_weighted_uses_the_base_students_eval_run(store):
    store.execute("INSERT INTO eval_runs (eval_run_id, model, backend) VALUES ('base', 'qwen', 'local')")
    store.execute(
        "INSERT INTO eval_samples (eval_run_id, problem_id, sample_index, correct) VALUES "
        "('base', 'p3', 0, false), ('base', 'p3', 1, false), ('base', 'p1', 0, true), ('base', 'p1', 1, true)"
    )
    result = select(store, SelectConfig(policy="difficulty-weighted", base_eval="base"))
    assert chosen(store, result.selection_id) == ["k", "l"]
    with pytest.raises(BadInput, match="no evaluation samples"):
        select(store, SelectConfig(policy="difficulty-weighted", base_eval="missing"))


def test_selections_are_recorded_side_by_side_with_their_parameters(store):
    select(store, SelectConfig(policy="shortest-correct", name="short"))
    select(store, SelectConfig(policy="keep-k-correct", k=2, name="keep2"))
    select(store, SelectConfig(policy="shortest-correct", max_repetition=0.9, name="short"))  # replaces "short"
    sets = store.query("SELECT selection_id, policy, params, n_samples FROM selection_sets ORDER BY selection_id")
    assert sets["selection_id"].to_list() == ["keep2", "short"]
    assert json.loads(sets["params"][1])["max_repetition"] == 0.9 and sets["n_samples"].to_list() == [4, 2]
    assert chosen(store, "short") == ["d", "k"]  # the looping sample now passes and is the shortest
    summary = store.query("SELECT selection_id, n_samples FROM selection_summary ORDER BY selection_id")
    assert summary["n_samples"].to_list() == [4, 2]


def test_toml_config_gives_parameters_and_flags_override_it(tmp_path):
    path = tmp_path / "select.toml"
    path.write_text('[select]\npolicy = "keep-k-correct"\nk = 3\nmax-repetition = 0.2\n')
    config = load_config(path, {"k": 5, "policy": None})
    assert (config.policy, config.k, config.max_repetition) == ("keep-k-correct", 5, 0.2)
    path.write_text('policy = "consensus"\nthreshhold = 0.9\n')
    with pytest.raises(BadInput, match="unknown select parameter"):
        load_config(path, {})


def test_select_command_prints_the_drops_and_records_the_selection(store, db_path, capsys):
    store.close()
    with pytest.raises(SystemExit) as stop:
        main(["select", "--policy", "shortest-correct", "--name", "cli", "--max-boxed", "2", "--db", str(db_path)])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert "selection cli: 3 samples of 3 problems" in out and "length_outlier" in out
    with open_store(db_path) as reopened:
        assert chosen(reopened, "cli") == ["b", "g", "k"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["select", "--policy", "longest"], "unknown policy"),
        (["select"], "--policy"),
        (["select", "--policy", "consensus", "--threshold", "1.5"], "between 0 and 1"),
    ],
)
def test_bad_select_flags_exit_2(db_path, capsys, argv, message):
    with pytest.raises(SystemExit) as stop:
        main(argv + ["--db", str(db_path)])
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


def test_select_before_score_says_to_score_first(db_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["select", "--policy", "shortest-correct", "--db", str(db_path)])
    assert stop.value.code == 2
    assert "curate score" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["--policy", "shortest-correct"],
        ["--policy", "keep-k-correct", "--k", "1"],
        ["--policy", "consensus"],
        ["--policy", "difficulty-weighted", "--k", "1"],
    ],
)
def test_select_command_itemises_every_sample_it_did_not_select(store, db_path, capsys, argv):
    # Longer correct samples, samples not verified correct and problems below the difficulty
    # floor are not dropped by a filter, but they are not selected either: a reason line each.
    store.close()
    with pytest.raises(SystemExit) as stop:
        main(["select", *argv, "--name", "sums", "--db", str(db_path)])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    reasons = {reason: int(n) for _step, reason, n in re.findall(r"│ (filter|policy) +│ ([a-z_]+) +│ (\d+) +│", out)}
    with open_store(db_path, read_only=True) as reopened:
        scored = reopened.scalar("SELECT count(*) FROM scores")
        selected = reopened.scalar("SELECT count(*) FROM selections WHERE selection_id = 'sums'")
    assert f"not selected: {scored - selected} of {scored} scored samples" in " ".join(out.split())
    assert sum(reasons.values()) == scored - selected, (reasons, scored, selected)
