"""Verdicts: extraction, the in-process fast path, SymPy workers, the form check, caching.

Contract: `Verifier(workers, timeout, strict_form, last_number)` turns (response, gold) pairs
into `Verdict`s, in order (`verdicts`), and answers answer-vs-answer questions (`equivalent`).
Each pair is decided in-process when exact rational arithmetic suffices (no worker round
trip), otherwise by a SymPy worker that is killed after `timeout` seconds (verdict
`timeout`). Outcomes are cached by (gold, answer), so repeated answers (majority samples)
cost one comparison. The module-level functions in `curate.verify` share one Verifier with a
single worker, started on first use.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterable

from curate.verify.equivalence import Outcome, parsed_value, quick_compare
from curate.verify.extract import extract, gold_answer_text
from curate.verify.form import check_form
from curate.verify.parse import ParseError
from curate.verify.workers import WorkerPool

VERIFIER_VERSION = "sympy/1"
STRICT_SUFFIX = "+strict-form"
CACHE_LIMIT = 200_000


@dataclass(frozen=True)
class Verdict:
    verdict: str  # correct | incorrect | unparseable | no_answer | timeout
    answer: str | None
    answer_source: str | None  # boxed | final_answer_phrase | answer_label | bold | last_number
    reason: str
    form_ok: bool | None
    form_reason: str | None
    elapsed_ms: float


def verifier_name(strict_form: bool) -> str:
    """The `verdicts.verifier` value for these settings."""
    return VERIFIER_VERSION + (STRICT_SUFFIX if strict_form else "")


class Verifier:
    """Verdicts with a pool of killable SymPy workers (started on first need)."""

    def __init__(self, workers: int | None = None, timeout: float = 5.0, strict_form: bool = False,
                 last_number: bool = True):
        self.workers = workers
        self.timeout = timeout
        self.strict_form = strict_form
        self.last_number = last_number
        self._pool: WorkerPool | None = None
        self._outcomes: dict[tuple[str, str], tuple[Outcome | None, float]] = {}

    # -- comparison ------------------------------------------------------------------------
    def _pool_for(self) -> WorkerPool:
        if self._pool is None:
            self._pool = WorkerPool(self.workers, self.timeout)
        return self._pool

    def compare_many(self, pairs: list[tuple[str, str]], on_done: Callable[[int], None] | None = None
                     ) -> list[tuple[Outcome | None, float]]:
        """(outcome, elapsed_ms) per (gold, answer); outcome None means it timed out."""
        results: list[tuple[Outcome | None, float] | None] = [None] * len(pairs)
        waiting: dict[tuple[str, str], list[int]] = {}
        for i, pair in enumerate(pairs):
            known = self._outcomes.get(pair)
            if known is not None:
                results[i] = known
                continue
            if pair in waiting:
                waiting[pair].append(i)
                continue
            started = time.perf_counter()
            outcome = quick_compare(*pair)
            if outcome is not None:
                results[i] = self._remember(pair, outcome, (time.perf_counter() - started) * 1000)
            else:
                waiting[pair] = [i]
        if on_done:
            on_done(len(pairs) - sum(len(v) for v in waiting.values()))
        if waiting:
            tasks = list(waiting)
            outcomes = self._pool_for().run(tasks, on_done=on_done)
            for task, (outcome, elapsed_ms) in zip(tasks, outcomes):
                remembered = self._remember(task, outcome, elapsed_ms)
                for i in waiting[task]:
                    results[i] = remembered
                if on_done and len(waiting[task]) > 1:
                    on_done(len(waiting[task]) - 1)
        return results  # type: ignore[return-value]

    def _remember(self, pair: tuple[str, str], outcome: Outcome | None, elapsed_ms: float):
        if len(self._outcomes) >= CACHE_LIMIT:
            self._outcomes.clear()
        self._outcomes[pair] = (outcome, elapsed_ms)
        return outcome, elapsed_ms

    # -- verdicts --------------------------------------------------------------------------
    def verdicts(self, pairs: Iterable[tuple[str, str]], on_done: Callable[[int], None] | None = None
                 ) -> list[Verdict]:
        """Verdicts of (response, gold) pairs, in order."""
        pairs = list(pairs)
        extractions = []
        extract_ms = []
        for response, _ in pairs:
            begun = time.perf_counter()
            extractions.append(extract(response, last_number=self.last_number))
            extract_ms.append((time.perf_counter() - begun) * 1000)
        golds = [gold_answer_text(gold or "") for _, gold in pairs]
        todo = [i for i, found in enumerate(extractions) if found.answer is not None and golds[i]]
        if on_done and len(todo) < len(pairs):
            on_done(len(pairs) - len(todo))
        compared = self.compare_many([(golds[i], extractions[i].answer) for i in todo], on_done)
        out: list[Verdict | None] = [None] * len(pairs)
        for i, (outcome, elapsed_ms) in zip(todo, compared):
            out[i] = self._verdict(extractions[i], outcome, elapsed_ms + extract_ms[i])
        for i, found in enumerate(extractions):
            if out[i] is None:
                reason = found.reason if found.answer is None else "no gold answer to compare with"
                verdict = "no_answer" if found.answer is None else "unparseable"
                form_ok, form_reason = (None, None) if found.answer is None else check_form(found.answer)
                out[i] = Verdict(verdict, found.answer, found.source, reason, form_ok, form_reason, extract_ms[i])
        return out  # type: ignore[return-value]

    def _verdict(self, found, outcome: Outcome | None, elapsed_ms: float) -> Verdict:
        form_ok, form_reason = check_form(found.answer)
        if outcome is None:
            return Verdict("timeout", found.answer, found.source,
                           f"comparison ran past {self.timeout:g} s; its worker was stopped",
                           form_ok, form_reason, elapsed_ms)
        status, reason = outcome.status, outcome.reason
        if self.strict_form and status == "correct":
            if form_ok is False:
                status, reason = "incorrect", f"equal in value but not simplified: {form_reason}"
            elif outcome.approximate:
                status, reason = "incorrect", f"only a decimal approximation ({reason})"
        return Verdict(status, found.answer, found.source, reason, form_ok, form_reason, elapsed_ms)

    def equivalent(self, a: str, b: str) -> bool:
        (outcome, _), = self.compare_many([(a, b)])
        return outcome is not None and outcome.status == "correct"

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def __enter__(self) -> "Verifier":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def canonical_key(answer: str) -> str | None:
    """A canonical string for answers whose value is exact and needs no SymPy: integers,
    decimals, fractions, mixed numbers, units stripped, and lists/sets/tuples of those, and text.
    Equal keys mean equivalent answers; None means "ask `equivalent`". Percent and degree
    answers get None (they have two readings)."""
    from curate.verify.equivalence import NeedSympy, RationalBackend, normalize_text, unwrap_text, is_text_answer

    if answer is None or not answer.strip():
        return None
    if is_text_answer(answer):
        return "text:" + normalize_text(unwrap_text(answer))
    try:
        value = parsed_value(answer)
    except ParseError:
        return None
    backend = RationalBackend()

    def key(v) -> str | None:
        kind = v[0]
        if kind == "scalar":
            if v[2] & {"pct", "deg"}:
                return None
            number = backend.value(v[1])
            return str(number)
        if kind in ("set", "list"):
            parts = [key(item) for item in v[1]]
            if len(parts) == 1:
                return parts[0]
            return "{" + ",".join(sorted(parts)) + "}"
        if kind == "tuple":
            return "(" + ",".join(key(item) for item in v[1]) + ")"
        if kind == "assign":
            return key(v[2])
        raise NeedSympy()

    try:
        return key(value)
    except (NeedSympy, TypeError):
        return None
