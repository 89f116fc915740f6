"""Verdicts: extraction, the in-process fast path, SymPy workers, the form check, caching.

Contract: `Verifier(workers, timeout, strict_form, last_number)` turns (response, gold[,
question[, finish_reason]]) tuples into `Verdict`s, in order (`verdicts`), and answers
answer-vs-answer questions (`equivalent`). A response cut off at the token limit (finish reason
"length") has no final answer: `no_answer`, never a fallback value; so has one without a finish
reason (imported) that repeats one block to its end, as a token limit cuts a loop
(curate/verify/loops.py; a finish reason "stop" means the model ended on its own). The question, when given,
decides how a bare list is read (ordered or a set), maps option letters to option values both
ways, accepts the value rounded as asked, and feeds "as a common fraction" to the form check
(curate/verify/question.py); without a question nothing of this runs.
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

from curate.verify.equivalence import Outcome, choice_letter, is_text_answer, parsed_value, quick_compare
from curate.verify.extract import Extraction, bold_words, extract, gold_answer_text, letter_answer
from curate.verify.form import check_form
from curate.verify.loops import cut_off_reason
from curate.verify.parse import ParseError
from curate.verify.question import NO_QUESTION, Reading, reading
from curate.verify.workers import WorkerPool

# sympy/3: decimal commas, sums, matrix products and "what percent" change verdicts sympy/2 stored.
# sympy/4: bold words answer a words gold; an unasked decimal approximation is not in form.
# sympy/5: a trace without a finish reason that loops to its end is no_answer (curate/verify/loops.py).
VERIFIER_VERSION = "sympy/5"
STRICT_SUFFIX = "+strict-form"
CACHE_LIMIT = 200_000


@dataclass(frozen=True)
class Verdict:
    verdict: str  # correct | incorrect | unparseable | no_answer | timeout
    answer: str | None
    answer_source: str | None  # boxed | final_answer_phrase | answer_label | bold | last_math | last_number | choice
    reason: str
    form_ok: bool | None
    form_reason: str | None
    elapsed_ms: float


def ms_since(begun: float) -> float:
    """Milliseconds since `begun` (a time.perf_counter() reading): Verdict.elapsed_ms."""
    return (time.perf_counter() - begun) * 1000


def verifier_name(strict_form: bool) -> str:
    """The `verdicts.verifier` value for these settings."""
    return VERIFIER_VERSION + (STRICT_SUFFIX if strict_form else "")


class Verifier:
    """Verdicts with a pool of killable SymPy workers (started on first need)."""

    def __init__(
        self, workers: int | None = None, timeout: float = 5.0, strict_form: bool = False, last_number: bool = True
    ):
        self.workers = workers
        self.timeout = timeout
        self.strict_form = strict_form
        self.last_number = last_number
        self._pool: WorkerPool | None = None
        self._outcomes: dict[tuple[str, ...], tuple[Outcome | None, float]] = {}

    # -- comparison ------------------------------------------------------------------------
    def _pool_for(self) -> WorkerPool:
        if self._pool is None:
            self._pool = WorkerPool(self.workers, self.timeout)
        return self._pool

    def compare_many(
        self, pairs: list[tuple[str, str]], on_done: Callable[[int], None] | None = None
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

    def _remember(self, pair: tuple[str, ...], outcome: Outcome | None, elapsed_ms: float):
        if len(self._outcomes) >= CACHE_LIMIT:
            self._outcomes.clear()
        self._outcomes[pair] = (outcome, elapsed_ms)
        return outcome, elapsed_ms

    # -- verdicts --------------------------------------------------------------------------
    def verdicts(self, items: Iterable[tuple], on_done: Callable[[int], None] | None = None) -> list[Verdict]:
        """Verdicts of (response, gold[, question[, finish_reason]]) tuples, in order."""
        items = [tuple(item) + (None,) * (4 - len(item)) for item in items]
        extractions, readings, tasks, extract_ms = [], [], [], []
        for response, gold, question, finish_reason in items:
            begun = time.perf_counter()
            asked = reading(question) if question else NO_QUESTION
            gold_text = gold_answer_text(gold or "")
            cut_off = cut_off_reason(response, finish_reason)
            if cut_off:
                found = Extraction(None, None, cut_off)
            else:
                found = _fit_to_question(extract(response, last_number=self.last_number), response, gold_text, asked)
            extractions.append(found)
            readings.append(asked)
            tasks.append(_task(gold_text, found.answer, asked))
            extract_ms.append(ms_since(begun))
        todo = [i for i, found in enumerate(extractions) if found.answer is not None and tasks[i][0]]
        if on_done and len(todo) < len(items):
            on_done(len(items) - len(todo))
        compared = self.compare_many([tasks[i] for i in todo], on_done)
        out: list[Verdict | None] = [None] * len(items)
        for i, (outcome, elapsed_ms) in zip(todo, compared):
            out[i] = self._verdict(extractions[i], outcome, elapsed_ms + extract_ms[i], readings[i])
        for i, found in enumerate(extractions):
            if out[i] is None:
                reason = found.reason if found.answer is None else "no gold answer to compare with"
                verdict = "no_answer" if found.answer is None else "unparseable"
                form_ok, form_reason = (None, None) if found.answer is None else check_form(found.answer)
                out[i] = Verdict(verdict, found.answer, found.source, reason, form_ok, form_reason, extract_ms[i])
        return out  # type: ignore[return-value]

    def _verdict(self, found, outcome: Outcome | None, elapsed_ms: float, asked: Reading = NO_QUESTION) -> Verdict:
        form_ok, form_reason = check_form(found.answer, asked.common_fraction, asked.asked_marks)
        if outcome is None:
            return Verdict(
                "timeout",
                found.answer,
                found.source,
                f"comparison ran past {self.timeout:g} s; its worker was stopped",
                form_ok,
                form_reason,
                elapsed_ms,
            )
        status, reason = outcome.status, outcome.reason
        if status == "correct" and outcome.approximate and not asked.decimal_asked and form_ok is not False:
            # Equal in value, but a competition answer is the exact value unless the question asks for digits.
            form_ok, form_reason = False, "a decimal approximation of an exact value the question did not ask to round"
        if self.strict_form and status == "correct":
            if form_ok is False:
                status, reason = "incorrect", f"equal in value but not simplified: {form_reason}"
            elif outcome.approximate:
                status, reason = "incorrect", f"only a decimal approximation ({reason})"
        return Verdict(status, found.answer, found.source, reason, form_ok, form_reason, elapsed_ms)

    def equivalent(self, a: str, b: str) -> bool:
        ((outcome, _),) = self.compare_many([(a, b)])
        return outcome is not None and outcome.status == "correct"

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def __enter__(self) -> "Verifier":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _top_level_parts(text: str) -> int:
    """Comma/semicolon-separated parts outside brackets ("6, 8" -> 2; "10,080" and "(1, 2)" -> 1)."""
    depth, parts = 0, 1
    for i, char in enumerate(text):
        if char in "{([":
            depth += 1
        elif char in "})]":
            depth -= 1
        elif char in ",;" and depth == 0:
            thousands = (
                char == ","
                and i
                and text[i - 1].isdigit()
                and text[i + 1 : i + 4].isdigit()
                and not text[i + 4 : i + 5].isdigit()
            )
            parts += not thousands
    return parts


def _fit_to_question(found: Extraction, response: str, gold: str, asked: Reading) -> Extraction:
    """Readings that need the gold or the question: several boxes as the gold's parts, a choice
    letter written in prose."""
    if found.answer is None or found.source in ("last_math", "last_number"):
        if is_text_answer(gold):
            found = bold_words(response) or found
    if found.answer is None:
        letter = letter_answer(response) if choice_letter(gold, gold=True) else None
        return Extraction(letter, "choice", "a choice letter named in the text") if letter else found
    if found.source == "boxed" and len(found.boxes) > 1 and _top_level_parts(found.answer) == 1:
        wanted = _top_level_parts(gold)
        if 1 < wanted <= len(found.boxes) and len(set(found.boxes[-wanted:])) == wanted:
            return Extraction(
                ", ".join(found.boxes[-wanted:]),
                "boxed",
                f"the last {wanted} boxes read as the gold's {wanted} parts",
                found.boxes,
            )
    if (
        (choice_letter(gold, gold=True) or asked.options)
        and found.source not in ("boxed",)
        and choice_letter(found.answer, gold=False) is None
    ):
        letter = letter_answer(response)
        if letter is not None:
            return Extraction(letter, "choice", "a choice letter named in the text")
    return found


def _task(gold: str, answer: str | None, asked: Reading) -> tuple[str, ...]:
    """The comparison task: (gold, answer) or (gold, answer, context); option letters are
    replaced by the option's value when only one side is a letter."""
    if asked.options and answer is not None:
        gold_letter, answer_letter = choice_letter(gold, gold=True), choice_letter(answer, gold=True)
        if gold_letter and not answer_letter and gold_letter in asked.options:
            gold = asked.options[gold_letter]
        elif answer_letter and not gold_letter and answer_letter in asked.options:
            answer = asked.options[answer_letter]
    return (gold, answer, asked.context) if asked.context else (gold, answer)


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
