"""Step checks: is each numeric claim inside a trace true, and did the trace take it back?

    from curate.verify import check_steps, check_steps_many, StepCheck, STEPS_VERSION

Contract: `check_steps(text, question=None) -> list[StepCheck]`, one per claim claims.py finds
(numeric equalities and chains, prose arithmetic, inequalities, approximations), in text order.
A claim is `ok`, `wrong` or `unchecked` (too large, a function we do not evaluate, a SymPy
worker that timed out). Values are exact rationals in-process; a claim with irrationals is read
in floating point when that decides it beyond doubt (equal to 12 digits, or apart by more than
one part in a million), and only otherwise goes to a killable SymPy worker (workers.py).

Tolerance: `a = 0.333` and `a ≈ 0.333` are right when 0.333 is `a` rounded or truncated to the
written places; `≈ 7` or `≈ 1200` allow one unit of the last written significant digit
(trailing zeros of an integer are not significant) or 2%, whichever is larger (traces build
approximations on approximations); `≈` to a computed right side allows 2%, is `unchecked` up
to 10% and `wrong` beyond. `=` between a side computed from measured constants
(`6.6 \\times 10^{-34}`) and its result allows 2%.

Retraction (R1's habit of correcting itself): a wrong claim is `retracted` when, before the next
claim and within RETRACTION_WINDOW characters, the text says so ("wait", "no,", "actually",
"oops", "mistake", "let me recompute", ...), or when a later claim within the window has the
same left value, a different right side and is itself right (a corrected value right after).

Grounding (only with the question): a right plain-text step (`3 * 17 = 51`, the GSM8K style)
that uses a number written neither in the question (digits or words, with percent readings)
nor earlier in the trace, nor among COMMON_NUMBERS, is `wrong`: a misread quantity. Math
markup is not grounded (its numbers are derived too often). This module imports nothing from
`db`; docs/STEPS.md says what is checked and what is not.
"""

from __future__ import annotations

import atexit
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Iterable

from curate.verify.claims import APPROX, CONG, EQ, GE, GT, LE, LT, NE, Claim, find_claims
from curate.verify.equivalence import NeedSympy, Outcome, RationalBackend
from curate.verify.numbers import decimal_literal
from curate.verify.parse import Node

STEPS_VERSION = "steps/1"
RETRACTION_WINDOW = 300
FLOAT_EQUAL_REL = 1e-12  # floats agree this closely: the claim is an identity, not a slip
FLOAT_APART_REL = 1e-6  # floats differ by more: the claim is wrong beyond rounding error


@dataclass(frozen=True)
class StepCheck:
    start: int  # offset of the claim in the text
    end: int
    claim: str  # text[start:end]
    status: str  # "ok" | "wrong" | "unchecked"
    retracted: bool  # a wrong claim the trace itself takes back (module doc)
    reason: str
    relation: str = "="  # = ≈ < > <= >= != ≡


# ---- exact values ------------------------------------------------------------------------------


class _StepRational(RationalBackend):
    """The verifier's exact arithmetic plus floor and ceiling (common in counting steps)."""

    def _value(self, node: Node) -> Fraction:
        if node[0] == "num":
            return _literal(node[1])
        if node[0] == "floor":
            return Fraction(math.floor(self.value(node[1])))
        if node[0] == "ceil":
            return Fraction(math.ceil(self.value(node[1])))
        return super()._value(node)


_RATIONAL = _StepRational()


@lru_cache(maxsize=65536)
def _literal(digits: str) -> Fraction:
    return Fraction(digits)  # parsing a string is the slow part of Fraction


def _top_percent(node: Node) -> bool:
    while node[0] in ("neg", "currency"):
        node = node[1]
    return node[0] == "pct"


def _without_percent(node: Node) -> Node:
    """`node` with a percent sign at its top read as a plain number (25% as 25)."""
    if node[0] == "pct":
        return node[1]
    if node[0] in ("neg", "currency"):
        return (node[0], _without_percent(node[1]))
    return node


def _with_log_base(node, base: Node):
    """`node` with every logarithm written without a base read in `base`."""
    if isinstance(node, list):
        return [_with_log_base(part, base) for part in node]
    if not isinstance(node, tuple):
        return node
    if node[0] == "log" and node[1] is None:
        return ("log", base, _with_log_base(node[2], base))
    return (node[0], *(_with_log_base(part, base) for part in node[1:]))


def _has_baseless_log(node) -> bool:
    if isinstance(node, list):
        return any(_has_baseless_log(part) for part in node)
    if not isinstance(node, tuple):
        return False
    return (node[0] == "log" and node[1] is None) or any(_has_baseless_log(part) for part in node[1:])


_LOG_BASES = [("const", "e"), ("num", "10"), ("num", "2")]


def _readings(claim: Claim) -> list[tuple[Node, Node]]:
    """The sides as written, then with a percent sign on one side only read as a number, because
    `\\frac{30}{120} \\times 100 = 25\\%` is how traces write percentages. `\\log` and `\\ln`
    without a base parse alike, so each is read in base e, 10 and 2 (right in any one is right)."""
    pairs = [(claim.left, claim.right)]
    left_pct, right_pct = _top_percent(claim.left), _top_percent(claim.right)
    if left_pct != right_pct:
        pairs.append((_without_percent(claim.left), _without_percent(claim.right)))
    if ("\\log" in claim.left_text + claim.right_text or "\\ln" in claim.left_text + claim.right_text) and any(
        _has_baseless_log(side) for pair in pairs for side in pair
    ):
        pairs = [(_with_log_base(a, base), _with_log_base(b, base)) for a, b in pairs for base in _LOG_BASES]
    return pairs


def _scientific(node: Node) -> tuple[Node, int] | None:
    """(mantissa, exponent) of `a \\times 10^{k}` with `a` one written number, else None."""
    if node[0] == "mul" and len(node[1]) == 2:
        mantissa, power = node[1]
        if power[0] == "pow" and power[1] == ("num", "10") and mantissa[0] == "num":
            exponent = power[2]
            sign = -1 if exponent[0] == "neg" else 1
            exponent = exponent[1] if exponent[0] == "neg" else exponent
            if exponent[0] == "num" and exponent[1].isdigit():
                return mantissa, sign * int(exponent[1])
    return None


def _written_unit(node: Node) -> Fraction | None:
    """One unit of the last significant digit of a bare written number (or of `a \\times 10^k`)."""
    while node[0] in ("neg", "pct", "currency"):
        node = node[1]
    scientific = _scientific(node)
    if scientific is not None:
        unit = _written_unit(scientific[0])
        return None if unit is None else unit * Fraction(10) ** scientific[1]
    if node[0] != "num":
        return None
    literal = node[1]
    if "." in literal:
        return Fraction(1, 10 ** len(literal.split(".")[1]))
    stripped = literal.rstrip("0")
    zeros = len(literal) - len(stripped) if stripped else 0
    return Fraction(10) ** zeros


def _rounds_to(value, literal_node: Node, literal_value: Fraction) -> bool:
    """Is the written decimal `literal_node` (`0.333`, `2.04 \\times 10^{-19}`, `33.3\\%`) the value
    rounded or truncated to its places? An integer is never a rounding: `7/2 = 3` is a slip."""
    inner = literal_node[1] if literal_node[0] in ("pct", "neg") else literal_node
    scientific = _scientific(inner)
    mantissa = scientific[0] if scientific is not None else inner
    if decimal_literal(mantissa) is None and scientific is None:
        return False
    unit = _written_unit(literal_node)
    if unit is None:
        return False
    if literal_node[0] == "pct":
        unit /= 100
    return abs(value - literal_value) < unit  # rounded (half a unit) or truncated (under one)


# A side computed from measured constants (`6.6 \\times 10^{-34} \\times 3.091 \\times 10^{14}`):
# its last digits depend on how the constants were rounded.
_MEASURED = re.compile(r"\d\.\d+\s*(?:\\times|\\cdot|\*|×)\s*10\^")
MEASURED_REL = Fraction(2, 100)
APPROX_REL = Fraction(2, 100)


def _running_total(left: Fraction, right_node: Node) -> bool:
    """`16 - 3 = 13 - 4 = 9`: a sloppy but common way to write a running total, where the side
    after `=` starts from the value of the side before it. Not an error of the reasoning."""
    if right_node[0] in ("add", "mul"):
        first = right_node[1][0]
    elif right_node[0] == "div":
        first = right_node[1]
    else:
        return False
    return first[0] == "num" and _literal(first[1]) == left


def _show(value) -> str:
    if isinstance(value, Fraction):
        text = str(value) if value.denominator != 1 else str(value.numerator)
    else:
        text = f"{value:.10g}"
    return text if len(text) <= 40 else text[:37] + "..."


def _compare(op: str, left, right, claim: Claim, right_node: Node, modulus: int | None) -> tuple[str, str]:
    """(status, reason) of `left op right` for exact values (Fractions) or floats."""
    exact = isinstance(left, Fraction) and isinstance(right, Fraction)
    if modulus is not None and op in (EQ, CONG):
        if not exact or left.denominator != 1 or right.denominator != 1:
            return "unchecked", "a congruence between numbers that are not integers"
        if (left - right) % modulus == 0:
            return "ok", f"congruent mod {modulus}"
        return "wrong", f"{_show(left)} is not {_show(right)} mod {modulus}"
    if op == CONG:
        return "unchecked", "a congruence without a modulus we can read"
    if op == EQ:
        if _close(left, right, exact):
            return "ok", "equal"
        if _rounds_to(left, right_node, right):
            return "ok", "equal after rounding"
        if exact and _running_total(left, right_node):
            return "ok", "a running total (the next side starts from this value)"
        if _MEASURED.search(claim.left_text) and abs(left - right) <= abs(right) * MEASURED_REL:
            return "ok", "equal within 2% (measured constants)"
        if not exact and not _apart(left, right):
            return "undecided", ""
        return "wrong", f"the left side is {_show(left)}, not {_show(right)}"
    if op == APPROX:
        scale = max(abs(left), abs(right))
        unit = _written_unit(right_node)
        if unit is not None and abs(left - right) <= unit:
            return "ok", "within the written digits"
        if abs(left - right) <= scale * APPROX_REL:
            return "ok", "within 2%"
        if unit is not None:
            return "wrong", f"the left side is {_show(left)}, not about {_show(right)}"
        if abs(left - right) <= scale * 5 * APPROX_REL:
            return "unchecked", "an approximation within 10%"
        return "wrong", f"the left side is {_show(left)}, not about {_show(right)}"
    if not exact and _close(left, right, exact) and op in (LE, GE):
        return "ok", "equal"
    if not exact and not _apart(left, right):
        return "undecided", ""
    holds = {LT: left < right, GT: left > right, LE: left <= right, GE: left >= right, NE: left != right}[op]
    if holds:
        return "ok", "holds"
    return "wrong", f"{_show(left)} {op} {_show(right)} is false"


def _close(left, right, exact: bool) -> bool:
    if exact:
        return left == right
    return abs(left - right) <= FLOAT_EQUAL_REL * max(abs(left), abs(right), 1e-300)


def _apart(left, right) -> bool:
    return abs(left - right) > FLOAT_APART_REL * max(abs(left), abs(right)) and abs(left - right) > 1e-9


# ---- floating point, for irrationals -----------------------------------------------------------

_TRIG = {"sin": math.sin, "cos": math.cos, "tan": math.tan}
_TRIG_RECIPROCAL = {"sec": math.cos, "csc": math.sin, "cot": math.tan}


class _NotFloat(Exception):
    """The tree has something floats cannot stand for here (a log of unknown base, overflow)."""


def _float(node: Node, in_trig: bool = False) -> float:
    kind = node[0]
    try:
        if kind in ("num", "sci", "mixed", "fact", "binom"):
            return float(_RATIONAL.value(node))
        if kind == "neg":
            return -_float(node[1], in_trig)
        if kind == "add":
            return math.fsum(_float(n, in_trig) for n in node[1])
        if kind == "mul":
            out = 1.0
            for n in node[1]:
                out *= _float(n, in_trig)
            return out
        if kind in ("div", "frac"):
            return _float(node[1], in_trig) / _float(node[2], in_trig)
        if kind == "pow":
            return math.pow(_float(node[1], in_trig), _float(node[2], in_trig))
        if kind == "sqrt":
            radicand = _float(node[1], in_trig)
            if node[2] is None:
                return math.sqrt(radicand)
            index = _float(node[2], in_trig)
            if radicand < 0 and index % 2 == 1:
                return -math.pow(-radicand, 1 / index)
            return math.pow(radicand, 1 / index)
        if kind == "const" and node[1] in ("pi", "e"):
            return math.pi if node[1] == "pi" else math.e
        if kind == "deg":
            return math.radians(_float(node[1], True))
        if kind == "func":
            argument = _float(node[2], True)
            if node[1] in _TRIG:
                return _TRIG[node[1]](argument)
            return 1 / _TRIG_RECIPROCAL[node[1]](argument)
        if kind == "log":
            if node[1] is None:
                raise _NotFloat()  # \log without a base: e, 10 or 2 depending on the author
            return math.log(_float(node[2], in_trig), _float(node[1], in_trig))
        if kind == "abs":
            return abs(_float(node[1], in_trig))
        if kind == "pct":
            return _float(node[1], in_trig) / 100
        if kind == "currency":
            return _float(node[1], in_trig)
    except (NeedSympy, OverflowError, ValueError, ZeroDivisionError, KeyError) as error:
        raise _NotFloat() from error
    raise _NotFloat()


def _float_value(node: Node) -> float:
    value = _float(node)
    if not math.isfinite(value):
        raise _NotFloat()
    return value


# ---- one claim ---------------------------------------------------------------------------------


def _check_in_process(claim: Claim) -> tuple[str, str]:
    """(status, reason), or ("undecided", "") when only SymPy can tell."""
    decided = None
    for left_node, right_node in _readings(claim):
        try:
            left, right = _RATIONAL.value(left_node), _RATIONAL.value(right_node)
        except NeedSympy:
            try:
                left, right = _float_value(left_node), _float_value(right_node)
            except _NotFloat:
                decided = decided or ("undecided", "")
                continue
        status, reason = _compare(claim.op, left, right, claim, right_node, claim.modulus)
        if status == "ok":
            return status, reason
        if decided is None or decided[0] == "undecided":
            decided = (status, reason)
    return decided or ("undecided", "")


def sympy_claim(op: str, readings: list[tuple[Node, Node]]) -> Outcome:
    """Run in a worker: is `left op right` true in any reading (correct / incorrect / unparseable)?"""
    outcomes = [_sympy_reading(op, left, right) for left, right in readings]
    for status in ("correct", "incorrect"):
        for outcome in outcomes:
            if outcome.status == status:
                return outcome
    return outcomes[0]


def _sympy_reading(op: str, left: Node, right: Node) -> Outcome:
    import sympy as sp

    from curate.verify.symbolic import SympyBackend

    backend = SympyBackend()
    difference = sp.nsimplify(backend.expr(left) - backend.expr(right))
    value = sp.N(difference, 50)
    if not value.is_number or not value.is_real:
        return Outcome("unparseable", "not a real number")
    if op == EQ:
        if sp.simplify(difference) == 0 or abs(value) < sp.Float(10) ** -40:
            return Outcome("correct", "equal (SymPy)")
        return Outcome("incorrect", f"the sides differ by {sp.N(difference, 6)}")
    holds = {LT: value < 0, GT: value > 0, LE: value <= 0, GE: value >= 0, NE: value != 0}.get(op)
    if holds is None:
        return Outcome("unparseable", f"relation {op} is not checked with SymPy")
    return Outcome("correct" if holds else "incorrect", "holds (SymPy)" if holds else "false (SymPy)")


# ---- retraction --------------------------------------------------------------------------------

_RETRACTION = re.compile(
    r"\bwait\b|(?:^|[.!?]\s+|\n\s*)no\s*[,.!]|\bactually\b|\boops\b|\bmistake\b|\bmiscalculat|\btypo\b"
    r"|\bcorrection\b|\bthat'?s (?:not right|wrong|incorrect)|\bthat is (?:not right|wrong|incorrect)"
    r"|\bincorrect\b|\bscratch that\b|\bi mean\b|\blet me (?:re-?check|recompute|recalculate|redo|double[- ]check|check again|fix)"
    r"|\bhold on\b|\bhmm\b|\bsorry\b"
    # a claim the text itself denies: "$1 = \\sqrt{9} + 4$, which is not true"
    r"|\bnot true\b|\bfalse\b|\bcontradiction|\bimpossible\b|\bextraneous\b|\bnot a solution\b"
    r"|\b(?:does not|doesn'?t|did not|didn'?t) (?:hold|work|match|check|satisfy|equal)|\bnot equal\b",
    re.I,
)


def _retracted(text: str, index: int, claims: list[Claim], statuses: list[tuple[str, str]]) -> bool:
    claim = claims[index]
    window_end = min(len(text), claim.end + RETRACTION_WINDOW)
    following = index + 1
    cue_end = claims[following].start if following < len(claims) else window_end
    if _RETRACTION.search(text, claim.end, min(cue_end, window_end)):
        return True
    try:
        left = _RATIONAL.value(claim.left)
    except NeedSympy:
        return False
    for later in range(following, len(claims)):
        other = claims[later]
        if other.start > window_end:
            break
        if statuses[later][0] != "ok" or other.right == claim.right:
            continue
        try:
            if _RATIONAL.value(other.left) == left:
                return True
        except NeedSympy:
            continue
    return False


# ---- texts -------------------------------------------------------------------------------------


def _assemble(text: str, claims: list[Claim], statuses: list[tuple[str, str]]) -> list[StepCheck]:
    checks = []
    for index, claim in enumerate(claims):
        status, reason = statuses[index]
        retracted = status == "wrong" and _retracted(text, index, claims, statuses)
        checks.append(
            StepCheck(claim.start, claim.end, text[claim.start : claim.end], status, retracted, reason, claim.op)
        )
    return checks


def _from_outcome(outcome: Outcome | None) -> tuple[str, str]:
    if outcome is None:
        return "unchecked", "SymPy ran past its time limit"
    if outcome.status == "correct":
        return "ok", outcome.reason
    if outcome.status == "incorrect":
        return "wrong", outcome.reason
    return "unchecked", outcome.reason


# ---- grounding: the numbers a word-problem step uses ---------------------------------------------

_WRITTEN_NUMBER = re.compile(r"(?<![\d.])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "thousand": 1000,
    "million": 1000000, "dozen": 12, "half": 2, "twice": 2, "double": 2, "triple": 3, "thrice": 3,
    "quarter": 4, "third": 3, "fourth": 4, "fifth": 5, "percent": 100, "week": 7, "weeks": 7, "year": 12,
    "years": 12, "hour": 60, "hours": 60, "minute": 60, "minutes": 60, "day": 24, "days": 24,
}  # fmt: skip
_WORD = re.compile(r"[a-z]+")
# Numbers a step may use without the question naming them: small counts, clock and calendar, percent.
COMMON_NUMBERS = frozenset(Fraction(n) for n in [*range(13), 15, 20, 24, 30, 31, 50, 52, 60, 100, 360, 365, 1000])


def _numbers_in(text: str) -> set[Fraction]:
    """Every number written in `text` in digits or words, and its percent and per-cent readings."""
    values = {Fraction(m.group(0).replace(",", "")) for m in _WRITTEN_NUMBER.finditer(text)}
    values |= {Fraction(_NUMBER_WORDS[w]) for w in _WORD.findall(text.lower()) if w in _NUMBER_WORDS}
    percents = {v / 100 for v in values}
    # 25% more is 1.25 of it, 20% off is 0.8 of it, "half" is 1/2 of it.
    derived = {1 + p for p in percents} | {1 - p for p in percents} | {1 / v for v in values if v}
    return values | percents | derived | {v * 100 for v in values}


def _literals(node) -> list[Fraction]:
    if isinstance(node, list):
        return [value for part in node for value in _literals(part)]
    if not isinstance(node, tuple):
        return []
    if node[0] == "num":
        return [_literal(node[1])]
    return [value for part in node[1:] for value in _literals(part)]


def _part_values(node) -> set[Fraction]:
    """The value of every part of a numeric tree (`3 * 6` in `2 * 4 + 3 * 6`)."""
    if isinstance(node, list):
        return {value for part in node for value in _part_values(part)}
    if not isinstance(node, tuple) or node[0] == "num":
        return set()
    values = {value for part in node[1:] for value in _part_values(part)}
    try:
        values.add(_RATIONAL.value(node))
    except NeedSympy:
        pass
    return values


def _ungrounded(text: str, question: str, claims: list[Claim], statuses: list[tuple[str, str]]) -> None:
    """Mark wrong (in place) a right plain-text step of a word problem that uses a number found
    neither in the question, nor earlier in the trace, nor among COMMON_NUMBERS: a misread quantity."""
    known = _numbers_in(question) | COMMON_NUMBERS | {1 / v for v in COMMON_NUMBERS if v}
    if len(known) == len(COMMON_NUMBERS):
        return  # a question without numbers: nothing to ground the steps in
    cursor = 0
    for index, claim in enumerate(claims):
        known |= _numbers_in(text[cursor : claim.start])
        cursor = max(cursor, claim.start)
        if statuses[index][0] != "ok":
            continue
        grounded = not claim.in_prose or claim.op != EQ
        missing = [] if grounded else [value for value in _literals(claim.left) if value not in known]
        known |= _part_values(claim.left) | _part_values(
            claim.right
        )  # computed in passing: `18` in `(30 - 12)/2 = 18/2`
        if missing:
            statuses[index] = ("wrong", f"uses {_show(missing[0])}, found neither in the question nor before")


def _checks(texts: list[str], pool_for, questions: list[str | None] | None = None) -> list[list[StepCheck]]:
    """Claims and statuses of every text; `pool_for()` gives a WorkerPool for undecided claims."""
    all_claims = [find_claims(text) for text in texts]
    all_statuses: list[list[tuple[str, str]]] = []
    pending: list[tuple[int, int]] = []
    tasks: list[tuple] = []
    for t, claims in enumerate(all_claims):
        statuses = []
        for c, claim in enumerate(claims):
            status = _check_in_process(claim)
            if status[0] == "undecided":
                if claim.op in (APPROX, CONG) or claim.modulus is not None:
                    status = ("unchecked", "an approximation or congruence SymPy does not decide")
                else:
                    pending.append((t, c))
                    tasks.append((claim.op, _readings(claim)))
            statuses.append(status)
        all_statuses.append(statuses)
    if tasks:
        for (t, c), (outcome, _) in zip(pending, pool_for().run(tasks)):
            all_statuses[t][c] = _from_outcome(outcome)
    for text, question, claims, statuses in zip(texts, questions or [None] * len(texts), all_claims, all_statuses):
        if question:
            _ungrounded(text, question, claims, statuses)
    return [_assemble(text, claims, statuses) for text, claims, statuses in zip(texts, all_claims, all_statuses)]


_shared_pools: dict[float, object] = {}


def _shared_pool(timeout: float):
    """One single-worker pool per timeout, started on first need and kept for the process's life."""
    from curate.verify.workers import WorkerPool

    key = float(timeout)
    if key not in _shared_pools:
        _shared_pools[key] = WorkerPool(1, timeout, sympy_claim)
    return _shared_pools[key]


@atexit.register
def _close_shared_pools() -> None:
    for pool in _shared_pools.values():
        pool.close()
    _shared_pools.clear()


def check_steps(text: str, question: str | None = None, *, timeout: float = 5.0) -> list[StepCheck]:
    """The step checks of one trace, in text order (module doc)."""
    return _checks([text], lambda: _shared_pool(timeout), [question])[0]


def check_steps_many(
    texts: Iterable[str],
    *,
    questions: Iterable[str | None] | None = None,
    workers: int | None = None,
    timeout: float = 5.0,
) -> list[list[StepCheck]]:
    """`check_steps` for many traces (and their questions, when given); claims that need SymPy
    share a pool of `workers` processes."""
    from curate.verify.workers import WorkerPool

    pools = []

    def pool_for():
        pools.append(WorkerPool(workers, timeout, sympy_claim))
        return pools[-1]

    try:
        return _checks(list(texts), pool_for, None if questions is None else list(questions))
    finally:
        for pool in pools:
            pool.close()
