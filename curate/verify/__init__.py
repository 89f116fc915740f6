"""Answer verifier: is a response's final answer equal to the gold answer?

    from curate.verify import check, check_many, extract_answer, equivalent, canonical_key, check_form, parse_error, Verdict

`check(response, gold, question=None)` extracts the final answer (extract.py), compares it
with the gold (equivalence.py: exact rational arithmetic in-process, SymPy in a killable worker
process, symbolic.py), reads what the question asks for (question.py: order, options,
rounding, common fraction) and checks the answer's competition form (form.py). `check_many`
does the same for many (response, gold[, question[, finish_reason]]) tuples with a pool of
workers. Policies are listed in docs/GUIDE.md's policy table ("curate verify"). The `curate
verify` command (curate/verify_stage.py) stores verdicts for every sample; this package
imports nothing from `db`. `check_steps(text)` checks the numeric claims inside a trace
(steps.py, claims.py; docs/STEPS.md).
"""

from __future__ import annotations

import atexit
from typing import Iterable

from curate.verify.checker import VERIFIER_VERSION, Verdict, Verifier, canonical_key, verifier_name
from curate.verify.extract import extract_answer
from curate.verify.form import check_form, parse_error
from curate.verify.steps import STEPS_VERSION, StepCheck, check_steps, check_steps_many

__all__ = [
    "STEPS_VERSION",
    "VERIFIER_VERSION",
    "StepCheck",
    "Verdict",
    "Verifier",
    "canonical_key",
    "check",
    "check_form",
    "check_many",
    "check_steps",
    "check_steps_many",
    "equivalent",
    "extract_answer",
    "parse_error",
    "verifier_name",
]

_shared: dict[tuple[float, bool], Verifier] = {}


def _shared_verifier(timeout: float, strict_form: bool) -> Verifier:
    """One single-worker Verifier per (timeout, strict_form), kept for the process's life."""
    key = (float(timeout), bool(strict_form))
    if key not in _shared:
        _shared[key] = Verifier(workers=1, timeout=timeout, strict_form=strict_form)
    return _shared[key]


@atexit.register
def _close_shared() -> None:
    for verifier in _shared.values():
        verifier.close()
    _shared.clear()


def check(
    response: str,
    gold: str,
    question: str | None = None,
    *,
    finish_reason: str | None = None,
    strict_form: bool = False,
    timeout: float = 5.0,
) -> Verdict:
    """The verdict for one response against its gold answer (and the question, when known)."""
    return _shared_verifier(timeout, strict_form).verdicts([(response, gold, question, finish_reason)])[0]


def check_many(
    pairs: Iterable[tuple], workers: int | None = None, timeout: float = 5.0, strict_form: bool = False
) -> list[Verdict]:
    """Verdicts for (response, gold[, question[, finish_reason]]) tuples, in the same order, with
    `workers` processes (default: all cores) for the pairs that need SymPy."""
    with Verifier(workers=workers, timeout=timeout, strict_form=strict_form) as verifier:
        return verifier.verdicts(pairs)


def equivalent(a: str, b: str, timeout: float = 5.0) -> bool:
    """Are two answers (as written) equal? `a` plays the gold's role (its form decides how `b`
    is read). Used to cluster the answers of a problem's samples."""
    return _shared_verifier(timeout, False).equivalent(a, b)
