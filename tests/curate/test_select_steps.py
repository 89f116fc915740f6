"""`curate select` and step checks: a correct trace with an unretracted wrong step gives way to a
clean correct trace of its problem; where there is none it stays, ranked by its wrong steps."""

from __future__ import annotations

import pytest

from typer.testing import CliRunner

from curate.cli import app
from curate.query import collect_stats
from curate.select import SelectConfig, run as select
from db import open_store
from tests.curate.curation_store import (
    add_problem_scores,
    add_problems,
    add_samples,
    add_scores,
    add_step_checks,
    trace,
)

WRONG = ("$3 \\times 17 = 52$", "wrong", False)
OK = ("$2 + 2 = 4$", "ok", False)
TAKEN_BACK = ("$3 \\times 17 = 52$", "wrong", True)


def body(claims: tuple) -> dict:
    return trace("We compute. " + " then ".join(claim for claim, _, _ in claims) + ".", "51")


# sample: (problem, length_tokens, claims, extra score columns)
SAMPLES = {
    "a": ("p1", 300, (WRONG, OK), {}),  # shortest of p1, a wrong step: dropped for b
    "b": ("p1", 500, (OK,), {}),
    "c": ("p2", 300, (WRONG, WRONG), {}),  # p2 has no clean trace: both stay, fewer wrong steps first
    "d": ("p2", 600, (WRONG,), {}),
    "e": ("p3", 300, (WRONG,), {}),  # p3's clean trace fails a filter, so e stays
    "f": ("p3", 500, (OK,), {"repetition_ratio": 0.9}),
    "g": ("p4", 300, (TAKEN_BACK, OK), {}),  # the trace takes its slip back: not flagged
    "h": ("p4", 500, (OK,), {}),
    "i": ("p5", 300, (WRONG,), {"correct": False}),  # a wrong answer is no clean alternative
    "j": ("p5", 500, (WRONG,), {}),
}


@pytest.fixture
def store(db_path):
    store = open_store(db_path)
    problems = sorted({problem for problem, *_ in SAMPLES.values()})
    add_problems(store, [{"problem_id": p, "question": f"Question {p}?", "gold_answer": "51"} for p in problems])
    add_samples(store, [{"sample_id": s, "problem_id": p, **body(c)} for s, (p, _, c, _) in SAMPLES.items()])
    for sample, (_, _, claims, _) in SAMPLES.items():
        add_step_checks(store, sample, list(claims))
    add_scores(
        store, [{"sample_id": s, "problem_id": p, "length_tokens": n, **x} for s, (p, n, _, x) in SAMPLES.items()]
    )
    add_problem_scores(store, [{"problem_id": p} for p in problems])
    yield store
    store.close()


def ranked(store, selection_id: str) -> list[tuple[str, int]]:
    return store.execute(
        "SELECT sample_id, rank FROM selections WHERE selection_id = ? ORDER BY problem_id, rank", [selection_id]
    ).fetchall()


def test_a_flagged_trace_gives_way_to_a_clean_one_and_is_counted(store):
    result = select(store, SelectConfig(policy="shortest-correct"))
    assert [s for s, _ in ranked(store, result.selection_id)] == ["b", "d", "e", "g", "j"]
    assert result.dropped == {"wrong_step": 1, "repetition": 1}
    run = store.scalar("SELECT counts FROM runs WHERE kind = 'select'")
    assert '"wrong_step": 1' in run


def test_flagged_traces_that_stay_are_ranked_by_their_wrong_steps(store):
    result = select(store, SelectConfig(policy="keep-k-correct", k=4))
    order = ranked(store, result.selection_id)
    assert [s for s, _ in order if s in "cd"] == ["d", "c"]  # d: one wrong step, c: two
    assert ("a", 1) not in order and ("b", 1) in order


def test_keep_wrong_steps_selects_as_before_the_checks(store):
    result = select(store, SelectConfig(policy="shortest-correct", drop_wrong_steps=False))
    assert [s for s, _ in ranked(store, result.selection_id)] == ["a", "c", "e", "g", "j"]
    assert "wrong_step" not in result.dropped


def test_a_check_of_earlier_content_does_not_flag_the_trace(store):
    store.execute("UPDATE samples SET reasoning = 'We compute again. $3 \\times 17 = 51$.' WHERE sample_id = 'a'")
    store.rehash_samples("s.sample_id = 'a'")
    assert store.scalar("SELECT count(*) FROM step_flags WHERE sample_id = 'a'") == 0
    result = select(store, SelectConfig(policy="shortest-correct"))
    assert ranked(store, result.selection_id)[0] == ("a", 1)


def test_cli_flag_and_toml_key_turn_the_rule_off(store, db_path, tmp_path):
    store.close()
    runner = CliRunner()
    on = runner.invoke(app, ["select", "--policy", "shortest-correct", "--name", "on"])
    assert on.exit_code == 0 and "wrong_step" in on.output, on.output
    off = runner.invoke(app, ["select", "--policy", "shortest-correct", "--keep-wrong-steps", "--name", "off"])
    assert off.exit_code == 0, off.output
    config = tmp_path / "select.toml"
    config.write_text('policy = "shortest-correct"\ndrop_wrong_steps = false\n')
    assert runner.invoke(app, ["select", "--config", str(config), "--name", "toml"]).exit_code == 0
    with open_store(db_path, read_only=True) as reopened:
        assert [s for s, _ in ranked(reopened, "on")][0] == "b"
        assert [s for s, _ in ranked(reopened, "off")][0] == "a"
        assert [s for s, _ in ranked(reopened, "toml")][0] == "a"


def test_export_card_counts_the_traces_dropped_for_a_wrong_step(store, tmp_path):
    from curate.export import ExportConfig, run as export

    select(store, SelectConfig(policy="shortest-correct"))
    export(store, ExportConfig(out=str(tmp_path / "out"), val_fraction=0.0))
    card = (tmp_path / "out" / "README.md").read_text()
    # Dropped: a (p1). Exported with a wrong step: d, e, j (no clean correct trace in p2, p3, p5).
    assert "Step checks: 1 correct traces dropped for an unretracted wrong step" in card
    assert "5 of 5 exported traces were step-checked, 3 of them with a wrong step" in card


def test_stats_shows_correct_traces_with_a_wrong_step_by_source(store, db_path):
    from tests.curate.curation_store import add_verdicts

    add_verdicts(store, [(s, "51", "incorrect" if s == "i" else "correct") for s in SAMPLES])
    store.execute("UPDATE problems SET source = 'other' WHERE problem_id = 'p1'")
    store.rehash_samples("TRUE")
    store.execute("UPDATE verdicts SET content_hash = NULL")
    store.close()
    result = CliRunner().invoke(app, ["stats"])
    assert result.exit_code == 0 and "with_wrong_step" in result.output, result.output
    # other: a (flagged), b; test-set: c d e j flagged, f g h clean; i has a wrong answer.
    steps = collect_stats(db_path)["steps"]
    assert steps.rows() == [("other", 2, 2, 1), ("test-set", 7, 7, 4)]
