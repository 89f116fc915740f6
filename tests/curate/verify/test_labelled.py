"""The labelled set (cases.py): every verdict and every labelled form_ok must match."""

from __future__ import annotations

import pytest

from curate.verify import Verifier
from tests.curate.verify.cases import CASES, UNSET


@pytest.fixture(scope="module")
def verdicts():
    # A generous timeout: a loaded test machine must not turn a slow comparison into "timeout".
    with Verifier(workers=2, timeout=30.0) as verifier:
        return verifier.verdicts([(case.response, case.gold) for case in CASES])


def test_labelled_set_covers_every_category_with_300_cases():
    categories = {case.category for case in CASES}
    assert len(CASES) >= 300
    assert {
        "integer",
        "decimal",
        "fraction",
        "mixed",
        "radical",
        "pi_e",
        "power_sci",
        "percent",
        "degree",
        "units",
        "set",
        "tuple",
        "interval",
        "pm",
        "equation",
        "inequality",
        "matrix",
        "complex",
        "log_trig",
        "text_choice",
        "extraction",
        "r1",
        "math_verify_known",
        "hostile",
        "form",
    } <= categories


@pytest.mark.parametrize("index", range(len(CASES)), ids=[case.id for case in CASES])
def test_labelled_case(verdicts, index):
    case, got = CASES[index], verdicts[index]
    assert got.verdict == case.verdict, got.reason
    if case.form_ok is not UNSET:
        assert got.form_ok == case.form_ok, got.form_reason
