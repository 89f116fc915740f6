"""A trace without a finish reason that loops until the token limit cut it is `no_answer`
(issue 26 item 13): the detector (curate/verify/loops.py) finds R1-like loops, and lists, tables
and repeated checks with other numbers are not loops; the math and code checkers apply it only
when there is no finish reason. Traces written by hand for this project."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.verify import check
from curate.verify.code import extract_program
from curate.verify.loops import MIN_LOOP_CHARS, looks_cut_off_by_looping
from db import open_store

runner = CliRunner()
PICK = random.Random(0)  # hostile inputs without an accidental period

OPENING = (
    "Okay, so I need to find the sum of the first 20 positive odd numbers. Let me recall that the "
    "n-th odd number is 2n - 1, so the numbers are 1, 3, 5, ..., 39. Adding them in pairs from both "
    "ends, 1 + 39 = 40, 3 + 37 = 40, and there are 10 such pairs, which gives 400.\n\n"
)
# The block an R1-distill model repeats once it is stuck: a check, the boxed answer, "Wait".
LOOP_BLOCK = (
    "Wait, let me verify this with the formula. The sum of the first n odd numbers is n^2, and "
    "20^2 = 400. So the sum is 400.\n\n**Final Answer**\nThe sum is \\boxed{400}.\n\n"
    "But hold on, I should double-check by adding the pairs again. 1 + 39 = 40, and there are 10 "
    "pairs, so 10 * 40 = 400. Yes.\n\n"
)


LONG_BLOCK = "".join(f"Step {i}: the partial sum after {i} odd numbers is {i * i}. " for i in range(1, 31))


def looped(copies: int, cut: int, block: str = LOOP_BLOCK, opening: str = OPENING) -> str:
    """`opening`, then `block` `copies` times, then its first `cut` characters (the token limit)."""
    return opening + block * copies + block[:cut]


# ---- the detector ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, block, copies",
    [
        (looped(5, 57), len(LOOP_BLOCK), "5.2"),  # stops mid-sentence in the sixth copy
        (looped(3, 0), len(LOOP_BLOCK), "3"),  # three whole copies, cut after the last one
        (looped(40, 11, "So the answer is \\boxed{400}.\n"), 30, "40.4"),  # one short line, over and over
        (looped(3, 900, LONG_BLOCK), len(LONG_BLOCK), "3.6"),  # a long block
        (OPENING + "</think>\n\n" + looped(4, 23, opening=""), len(LOOP_BLOCK), "4.1"),  # looping after the think block
        ("x" * 200 + "=" * 1000, 1, "1000"),  # a degenerate run of one character
    ],
)
def test_a_loop_to_the_end_is_found_with_its_block_and_copies(text, block, copies):
    reason = looks_cut_off_by_looping(text)
    assert reason == (
        f"repeats the same {block}-character block {copies} times until it stops: cut off by the token limit"
    )


def _numbered_list() -> str:
    return "".join(
        f"{i}. For n = {i}, n^2 = {i * i} and n^2 + 1 = {i * i + 1}, which is not divisible by 3.\n"
        for i in range(1, 60)
    )


def _table() -> str:
    rows = "".join(f"| {i} | {i * i} | {2**i} |\n" for i in range(1, 40))
    return "Let me tabulate the values.\n\n| n | n^2 | 2^n |\n|---|---|---|\n" + rows + "\nSo the answer is \\boxed{5}."


def _checks_with_other_numbers() -> str:
    return OPENING + "".join(f"Let me check n = {n}: {n} * {n} = {n * n}. That works.\n" for n in range(3, 50))


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(OPENING + "Therefore the sum is \\boxed{400}.", id="a finished trace"),
        pytest.param(_numbered_list(), id="a numbered list"),
        pytest.param(_numbered_list() + "1. " + _numbered_list()[3:40], id="a list cut off mid-line"),
        pytest.param(_table(), id="a markdown table"),
        pytest.param(_table()[:-40], id="a table cut off mid-row"),
        pytest.param(_checks_with_other_numbers(), id="repeated checks with other numbers"),
        pytest.param(
            OPENING
            + "**Final Answer**\n\\boxed{400}\n\n**Final Answer**\n\\boxed{400}\n\n**Final Answer**\n\\boxed{400}",
            id="the final answer said three times",
        ),
        pytest.param(
            OPENING + LOOP_BLOCK * 6 + "OK, I am confident now. The sum is \\boxed{400}.",
            id="a loop the model got out of",
        ),
        pytest.param(OPENING + LOOP_BLOCK * 2 + LOOP_BLOCK[:200], id="two copies and a bit"),
        pytest.param("ab" * ((MIN_LOOP_CHARS - 2) // 2), id="shorter than MIN_LOOP_CHARS"),
        pytest.param("", id="empty"),
        pytest.param(None, id="none"),
    ],
)
def test_near_loops_are_not_loops(text):
    assert looks_cut_off_by_looping(text) is None


@pytest.mark.parametrize(
    "text, block",
    [
        pytest.param(
            "".join("T" * 64 + PICK.choice("xyz") for _ in range(1500)) + "T" * 64,
            None,
            id="the tail recurs everywhere",
        ),
        pytest.param(
            "".join("a" * PICK.randint(64, 300) + "b" for _ in range(600)) + "a" * 64, None, id="runs of one letter"
        ),
        pytest.param("abc" * 33_333 + "d" + "abc" * 10, None, id="a loop broken just before the end"),
        pytest.param("ab" * 50_000, 2, id="two letters, 100k characters"),
    ],
)
def test_hostile_100k_inputs_are_answered(text, block):
    # Linear by construction (one rfind, one prefix-function pass): 15-50 ms each on the dev machine.
    reason = looks_cut_off_by_looping(text)
    assert (reason is None) if block is None else reason.startswith(f"repeats the same {block}-character block")


# ---- the checkers --------------------------------------------------------------------------------


def test_a_looped_trace_without_finish_reason_is_no_answer_and_with_stop_it_is_checked():
    # Before: `correct`, the answer taken from the looped box.
    trace = looped(5, 57)
    cut = check(trace, "400", finish_reason=None)
    assert cut.verdict == "no_answer" and cut.answer is None
    assert cut.reason.startswith(f"repeats the same {len(LOOP_BLOCK)}-character block 5.2 times")
    assert check(trace, "400", finish_reason="stop").verdict == "correct"  # the model did stop there
    assert "finish reason length" in check(trace, "400", finish_reason="length").reason
    assert check(_checks_with_other_numbers() + " So \\boxed{400}.", "400").verdict == "correct"


def test_a_looped_program_without_finish_reason_is_no_answer():
    block = "```python\ndef add(a, b):\n    return a + b\n```\n\nLet me write it once more to be sure.\n\n"
    trace = "Here is the function.\n\n" + block * 4 + block[: len(block) - 20]  # cut in the prose
    program, source, reason = extract_program(trace, None)
    assert program is None and source is None and reason.startswith(f"repeats the same {len(block)}-character block")
    program, source, _ = extract_program(trace, "stop")
    assert source == "python_block" and "def add" in program


def test_curate_verify_of_an_imported_looped_trace_stores_no_answer(tmp_path: Path):
    db = tmp_path / "traces.duckdb"
    records = [
        {
            "id": "p1",
            "question": "What is the sum of the first 20 odd numbers?",
            "answer": "400",
            "response": looped(5, 57),
        },
        {"id": "p2", "question": "What is 20 squared?", "answer": "400", "response": OPENING + "So \\boxed{400}."},
    ]
    path = tmp_path / "traces.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert runner.invoke(app, ["import-samples", str(path), "--model", "r1", "--db", str(db)]).exit_code == 0
    result = runner.invoke(app, ["verify", "--db", str(db), "--workers", "1"])
    assert result.exit_code == 0, result.output
    with open_store(db, read_only=True) as store:
        got = dict(
            store.execute(
                "SELECT p.gold_answer || p.question, v.verdict || ': ' || v.reason FROM verdict_current v "
                "JOIN samples s USING (sample_id) JOIN problems p USING (problem_id)"
            ).fetchall()
        )
    assert got["400" + records[0]["question"]].startswith("no_answer: repeats the same"), got
    assert got["400" + records[1]["question"]].startswith("correct"), got


def test_a_looped_choice_answer_without_finish_reason_is_no_answer():
    from curate.verify.choice import ChoiceChecker
    from curate.verify.domains import Task

    task = Task(problem_id="c", domain="choice", question="Which? (A) 300 (B) 400", gold_answer="B", meta={})
    block = "So the sum is 400, which is option (B). Let me make sure of that once more.\n\n\\boxed{B}\n\n"
    trace = OPENING + block * 5 + block[:33]
    checker = ChoiceChecker()
    try:
        cut, stopped = checker.check_many([(task, trace, None), (task, trace, "stop")], workers=1, timeout=10.0)
    finally:
        checker.close()
    assert cut.verdict == "no_answer" and cut.reason.startswith(f"repeats the same {len(block)}-character block")
    assert stopped.verdict == "correct"
