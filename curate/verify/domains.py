"""Domains: one checker interface for math, code, SQL and multiple-choice answers.

    from curate.verify.domains import Task, make_checker, DOMAINS

A problem's `domain` (problems.domain: "math" by default) picks its checker from CHECKERS.
Every checker has the same call, so every stage after verify works unchanged:

- `domain` and `version` (stored as `verdicts.verifier`, e.g. "sympy/5", "code/2", "sql/2");
- `check_many([(task, response, finish_reason), ...], *, workers=, timeout=) -> [Verdict, ...]`
  in order, with the statuses correct / incorrect / unparseable / no_answer / timeout / error
  and a reason a person can read;
- `close()` stops what it started (workers, sandboxes).

A `Task` is what a checker needs of a problem: its id, question, gold answer and `meta` (the
source's own fields: HumanEval's `test` and `entry_point`, MBPP's `test_list`, Spider's
database path, a choice problem's options).

Adding a domain is one module with a checker class and one line in CHECKERS (docs/ARCHITECTURE.md,
"Adding a domain"). Checkers are imported when first asked for, so math alone never loads the
sandbox or SQLite code.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Protocol, Sequence

from curate.verify.checker import Verdict, Verifier, verifier_name


@dataclass(frozen=True)
class Task:
    """What a checker reads of a problem."""

    problem_id: str
    question: str | None = None
    gold_answer: str | None = None
    meta: dict = field(default_factory=dict)
    domain: str = "math"


@dataclass(frozen=True)
class CheckerOptions:
    """Settings a checker may read; each ignores those that are not its own."""

    strict_form: bool = False  # math: a correct but unsimplified answer is incorrect
    unsafe_local: bool = False  # code: run programs without isolation where none is available
    database_root: str | None = None  # sql: where relative database paths in meta are found


class DomainChecker(Protocol):
    domain: str
    version: str

    def check_many(self, items: Sequence[tuple], *, workers: int = 1, timeout: float = 10.0) -> list[Verdict]: ...

    def close(self) -> None: ...


class MathChecker:
    """The SymPy answer verifier (curate/verify/checker.py) behind the domain interface."""

    domain = "math"

    def __init__(self, options: CheckerOptions = CheckerOptions()):
        self.strict_form = options.strict_form
        self.version = verifier_name(options.strict_form)
        self._verifier: Verifier | None = None

    def check_many(
        self, items: Sequence[tuple], *, workers: int | None = None, timeout: float = 5.0, on_done=None
    ) -> list[Verdict]:
        if self._verifier is None or self._verifier.timeout != timeout:
            self.close()
            self._verifier = Verifier(workers=workers, timeout=timeout, strict_form=self.strict_form)
        pairs = [(response, task.gold_answer, task.question, reason) for task, response, reason in items]
        return self._verifier.verdicts(pairs, on_done=on_done)

    def close(self) -> None:
        if self._verifier is not None:
            self._verifier.close()
            self._verifier = None


# domain -> "module:Class"; each class takes a CheckerOptions.
CHECKERS = {
    "math": "curate.verify.domains:MathChecker",
    "code": "curate.verify.code:CodeChecker",
    "sql": "curate.verify.sql:SQLChecker",
    "choice": "curate.verify.choice:ChoiceChecker",
}
DOMAINS = tuple(CHECKERS)
# Domains whose answers are values that can be compared and voted on (clusters, maj@k); a program
# or a query is judged by running it, and two different texts may both be right.
VOTING_DOMAINS = frozenset({"math", "choice"})
# Domains whose traces are prose with checkable claims (docs/STEPS.md): verify --steps and judge --steps.
STEP_DOMAINS = ("math", "choice")


def make_checker(domain: str, options: CheckerOptions = CheckerOptions()) -> DomainChecker:
    """The checker of `domain` (ValueError naming the known domains for any other)."""
    if domain not in CHECKERS:
        raise ValueError(f"unknown domain {domain!r}; known: {', '.join(DOMAINS)}")
    module, name = CHECKERS[domain].split(":")
    return getattr(importlib.import_module(module), name)(options)
