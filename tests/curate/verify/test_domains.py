"""The domain registry: one call for every checker."""

from __future__ import annotations

import pytest

from curate.verify import VERIFIER_VERSION, check
from curate.verify.code import CodeChecker
from curate.verify.domains import DOMAINS, CheckerOptions, MathChecker, Task, make_checker


def test_the_math_checker_gives_the_answer_verifiers_verdicts():
    items = [
        (Task("p1", question="What is 1/2 + 1/4?", gold_answer="3/4"), r"So \boxed{\frac34}.", "stop"),
        (Task("p2", gold_answer="5"), r"\boxed{6}", "stop"),
        (Task("p3", gold_answer="5"), r"\boxed{5", "length"),
    ]
    checker = make_checker("math")
    try:
        got = checker.check_many(items, workers=1, timeout=5)
    finally:
        checker.close()
    expected = [
        check(response, task.gold_answer, task.question, finish_reason=reason) for task, response, reason in items
    ]
    assert [v.verdict for v in got] == [v.verdict for v in expected] == ["correct", "incorrect", "no_answer"]
    assert isinstance(checker, MathChecker) and checker.version == VERIFIER_VERSION


def test_options_reach_the_checker_they_belong_to():
    assert make_checker("math", CheckerOptions(strict_form=True)).version == VERIFIER_VERSION + "+strict-form"
    code = make_checker("code", CheckerOptions(unsafe_local=True))
    assert isinstance(code, CodeChecker) and code.unsafe_local


def test_an_unknown_domain_is_refused_naming_the_known_ones():
    with pytest.raises(ValueError, match="unknown domain 'chess'; known: math, code"):
        make_checker("chess")
    assert DOMAINS[0] == "math"
