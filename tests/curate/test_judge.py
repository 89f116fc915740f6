"""`curate judge`: a judge model grades what the SymPy verifier could not settle."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.judge import JudgeConfig, judge_prompt, parse_judgement
from curate.stages import run_stage
from curate.testing.openai_server import OpenAIServer
from db import open_store

JUDGE = "judge-model"
REFERENCE = re.compile(r"Reference answer:\n(.*?)\n\nCandidate's final response:\n(.*?)\n\nReply with", re.S)

# (sample_id, gold, content, sympy verdict)
CASES = [
    ("s-eq", "7", "Solving gives $\\boxed{x = 7}$.", "unparseable"),
    ("s-words", "9", "The count is \\boxed{eight}.", "unparseable"),
    ("s-slow", "3", "\\boxed{\\sqrt{9}} which is 3", "timeout"),
    ("s-units", "12", "She has \\boxed{12 apples}.", "incorrect"),
    ("s-fine", "5", "\\boxed{5}", "correct"),
    ("s-nogold", None, "\\boxed{4}", "unparseable"),
    ("s-noanswer", "2", "", "unparseable"),
]


def grade_like_a_judge(prompt: str, answer: str) -> str:
    """A judge that calls a response correct when it contains the reference answer."""
    reference, response = REFERENCE.search(prompt).groups()
    verdict = "CORRECT" if reference in response else "INCORRECT"
    return f"ANSWER: {response}\nVERDICT: {verdict}"


@pytest.fixture
def judge_server():
    with OpenAIServer(content=grade_like_a_judge, models=(JUDGE,)) as server:
        yield server


@pytest.fixture
def store_with_verdicts(db_path):
    problems, samples, verdicts = [], [], []
    for sample, gold, content, verdict in CASES:
        problem_id = f"toy:{sample}"
        problems.append(
            {
                "problem_id": problem_id,
                "source": "toy",
                "question": f"Question of {sample}?",
                "gold_answer": gold,
                "split": "train",
                "question_hash": sample,
            }
        )
        samples.append(
            {
                "sample_id": sample,
                "problem_id": problem_id,
                "model": "teacher",
                "params_hash": "p",
                "sample_index": 0,
                "reasoning": "thinking",
                "content": content,
                "status": "ok",
            }
        )
        verdicts.append({"sample_id": sample, "verifier": "sympy/1", "verdict": verdict, "answer_source": "boxed"})
    with open_store(db_path) as store:
        store.insert_rows("problems", problems)
        store.insert_rows("samples", samples)
        store.insert_rows("verdicts", verdicts)
    return db_path


def judge_rows(db_path):
    with open_store(db_path, read_only=True) as store:
        frame = store.query(
            "SELECT sample_id, verdict, answer, answer_source FROM verdicts WHERE verifier = ? ORDER BY sample_id",
            [f"judge:{JUDGE}"],
        )
    return {row["sample_id"]: row for row in frame.iter_rows(named=True)}


def test_cli_judges_unparseable_and_timeout_samples_beside_the_sympy_verdict(store_with_verdicts, judge_server):
    result = CliRunner().invoke(app, ["judge", "--model", JUDGE, "--base-url", judge_server.base_url])
    assert result.exit_code == 0, result.output
    rows = judge_rows(store_with_verdicts)
    assert set(rows) == {"s-eq", "s-words", "s-slow"}
    assert rows["s-eq"]["verdict"] == "correct" and rows["s-words"]["verdict"] == "incorrect"
    assert rows["s-slow"]["verdict"] == "correct"
    assert rows["s-eq"]["answer"] == "Solving gives $\\boxed{x = 7}$." and rows["s-eq"]["answer_source"] == "judge"
    with open_store(store_with_verdicts, read_only=True) as store:
        current = dict(store.query("SELECT sample_id, verdict FROM verdict_current").iter_rows())
        run = store.query("SELECT status, counts FROM runs WHERE kind = 'judge'").row(0, named=True)
    assert current["s-eq"] == "unparseable"  # the SymPy verdict stays the current one
    assert run["status"] == "ok" and '"correct": 2' in run["counts"]


def test_include_incorrect_also_judges_samples_sympy_rejected(store_with_verdicts, judge_server):
    run_stage(
        "judge",
        store_with_verdicts,
        JudgeConfig(model=JUDGE, base_urls=(judge_server.base_url,), include_incorrect=True),
    )
    rows = judge_rows(store_with_verdicts)
    assert set(rows) == {"s-eq", "s-words", "s-slow", "s-units"} and rows["s-units"]["verdict"] == "correct"


def test_rerun_judges_only_samples_without_a_settled_judge_verdict(store_with_verdicts, judge_server):
    config = JudgeConfig(model=JUDGE, base_urls=(judge_server.base_url,), limit=2)
    assert run_stage("judge", store_with_verdicts, config).candidates == 2
    second = run_stage("judge", store_with_verdicts, JudgeConfig(model=JUDGE, base_urls=(judge_server.base_url,)))
    assert second.candidates == 1 and judge_server.requests == 3
    assert (
        run_stage("judge", store_with_verdicts, JudgeConfig(model=JUDGE, base_urls=(judge_server.base_url,))).candidates
        == 0
    )


def test_reply_without_a_verdict_line_is_unparseable_and_judged_again_later(store_with_verdicts):
    with OpenAIServer(content=lambda prompt, answer: "I think it is probably right.") as rambling:
        summary = run_stage("judge", store_with_verdicts, JudgeConfig(model=JUDGE, base_urls=(rambling.base_url,)))
    assert summary.counts["unparseable"] == 3
    assert {row["verdict"] for row in judge_rows(store_with_verdicts).values()} == {"unparseable"}
    with OpenAIServer(content=grade_like_a_judge) as strict:
        again = run_stage("judge", store_with_verdicts, JudgeConfig(model=JUDGE, base_urls=(strict.base_url,)))
    assert again.candidates == 3
    assert judge_rows(store_with_verdicts)["s-words"]["verdict"] == "incorrect"


def test_judge_requests_are_retried_like_generation(store_with_verdicts):
    with OpenAIServer(content=grade_like_a_judge, retry_after_s=0.1) as server:
        server.inject("server_error", 2)
        server.inject("rate_limit", 1)
        summary = run_stage(
            "judge",
            store_with_verdicts,
            JudgeConfig(model=JUDGE, base_urls=(server.base_url,), backoff_s=0.01, concurrency=1),
        )
        assert server.requests == 6
    assert summary.counts == {"correct": 2, "incorrect": 1, "unparseable": 0, "failed": 0}


def test_judge_prompt_holds_question_gold_and_response_and_asks_for_a_verdict_line():
    prompt = judge_prompt("What is 1/2 + 1/4?", "3/4", "So \\boxed{0.75}.")
    assert "What is 1/2 + 1/4?" in prompt and "3/4" in prompt and "\\boxed{0.75}" in prompt
    assert prompt.rstrip().endswith("VERDICT: CORRECT or VERDICT: INCORRECT")


@pytest.mark.parametrize(
    ("reply", "verdict", "answer"),
    [
        ("ANSWER: 3/4\nVERDICT: CORRECT", "correct", "3/4"),
        ("ANSWER: 0.7\nverdict: incorrect", "incorrect", "0.7"),
        ("**VERDICT:** INCORRECT", "incorrect", None),
        ("VERDICT: CORRECT\n...on reflection...\nVERDICT: INCORRECT", "incorrect", None),
        ("The answer matches.", "unparseable", None),
        ("VERDICT: CORRECTNESS UNCLEAR", "unparseable", None),
        (None, "unparseable", None),
    ],
)
def test_parse_judgement_reads_the_last_verdict_line(reply, verdict, answer):
    found, extracted, _reason = parse_judgement(reply)
    assert (found, extracted) == (verdict, answer)


def test_a_code_samples_timeout_is_not_sent_to_the_judge(store_with_verdicts, judge_server):
    """A program is judged by running its tests: its timeout stays a timeout, never a reader's guess."""
    with open_store(store_with_verdicts) as store:
        store.execute("UPDATE problems SET domain = 'code' WHERE problem_id = 'toy:s-slow'")
    result = CliRunner().invoke(app, ["judge", "--model", JUDGE, "--base-url", judge_server.base_url])
    assert result.exit_code == 0, result.output
    assert set(judge_rows(store_with_verdicts)) == {"s-eq", "s-words"}
