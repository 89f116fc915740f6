"""Verifier v2 policies (policy_cases.py): every row of the policy table in docs/GUIDE.md has its cases."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from curate.verify import Verifier, check
from tests.curate.verify.policy_cases import ASKED_UNIT_CASES, FORM_CASES, POLICY_CASES

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "GUIDE.md"


@pytest.fixture(scope="module")
def verdicts():
    with Verifier(workers=1, timeout=30.0) as verifier:
        return verifier.verdicts([(r, g, q, f) for _, r, g, q, f, _ in POLICY_CASES])


@pytest.mark.parametrize(
    "index", range(len(POLICY_CASES)), ids=[f"{case[0]}-{i}" for i, case in enumerate(POLICY_CASES)]
)
def test_policy(verdicts, index):
    expected = POLICY_CASES[index][-1]
    got = verdicts[index]
    assert got.verdict == expected, (got.answer, got.reason)


@pytest.mark.parametrize("response, gold, question, form_ok", FORM_CASES)
def test_question_common_fraction_feeds_the_form_check(response, gold, question, form_ok):
    verdict = check(response, gold, question)
    assert verdict.verdict == "correct" and verdict.form_ok is form_ok, verdict.form_reason


@pytest.mark.parametrize("response, gold, question, form_ok", ASKED_UNIT_CASES)
def test_question_units(response, gold, question, form_ok):
    verdict = check(response, gold, question)
    assert verdict.verdict == "correct" and verdict.form_ok is form_ok, verdict.form_reason


def test_every_readme_policy_row_has_cases():
    rows = re.findall(r"^\| `([a-z][a-z-]{2,})` \|", GUIDE.read_text(), re.MULTILINE)
    assert rows, "the policy table in docs/GUIDE.md is missing"
    assert set(rows) == {case[0] for case in POLICY_CASES} | {"question-common-fraction", "question-units"}


def test_a_question_without_reading_words_adds_no_context():
    from curate.verify.question import NO_QUESTION, reading

    assert reading("What is $2+3$?") == NO_QUESTION
    assert reading("Find the ordered pair $(x, y)$.").context == "ordered"
