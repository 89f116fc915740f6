"""Competition answer form ("simplified"), separate from value equality.

Contract: `check_form(answer) -> (form_ok, reason)`; form_ok is None when the rules do not
apply (no answer, text, a choice letter, a number in another base, an answer that does not
parse), True for a simplified answer (reason None), False with the first rule broken.
`parse_error(answer)` says why an answer does not parse (None when it does), for a person's
answer checked before it is stored (the review app's corrected answer).

Rules (the O'Bryan competition's "simplified" answers, and PRM800K's reduced fractions):
- fractions in lowest terms, denominator not 1 and not negative (6/8, 4/2, 3/1, 1/-2 fail);
  a fraction of a term with an integer coefficient counts too (2√2/4 fails);
- improper fractions, not mixed numbers (1 4/5 fails: write 9/5);
- radicals simplified: no square (cube, ...) factor left under the root (√8, √16, ∛54 fail);
- rationalised denominators: no root in a denominator (1/√2 fails: write √2/2);
- no units, currency, degree or percent signs;
- no scientific notation (6.02 × 10^23 and 6.02e23 fail);
- no arithmetic left to do between plain numbers (3+4, 2·5 fail).
Lists, sets, tuples, intervals and matrices are simplified when every entry is.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

from curate.verify.equivalence import choice_letter, is_text_answer
from curate.verify.parse import Node, ParseError, parse_answer

_MARK_REASONS = {
    "unit": "units written ({})",
    "currency": "currency sign written",
    "deg": "degree sign written",
    "pct": "percent sign written",
}


def _integer(node: Node) -> int | None:
    if node[0] == "num" and "." not in node[1]:
        return int(node[1])
    if node[0] == "neg":
        inner = _integer(node[1])
        return None if inner is None else -inner
    return None


def _coefficient(node: Node) -> int | None:
    """The integer coefficient written in front of a term (2 in 2√2), or the integer itself."""
    value = _integer(node)
    if value is not None:
        return value
    if node[0] == "mul":
        return _integer(node[1][0])
    if node[0] == "neg":
        return _coefficient(node[1])
    return None


def _has_root(node) -> bool:
    if isinstance(node, tuple):
        if node and node[0] == "sqrt":
            return True
        if node and node[0] == "pow" and node[2][0] in ("frac", "div"):
            return True
        return any(_has_root(part) for part in node[1:])
    if isinstance(node, list):
        return any(_has_root(part) for part in node)
    return False


def _largest_power_factor(n: int, index: int) -> int:
    """The largest k with k**index dividing n (n small enough to factor by trial division)."""
    k = 1
    p = 2
    while p**index <= n:
        while n % (p**index) == 0:
            n //= p**index
            k *= p
        p += 1
    return k


def _is_plain_number(node: Node) -> bool:
    return node[0] == "num" or (node[0] == "neg" and node[1][0] == "num")


def _first_problem(node, asked: frozenset = frozenset()) -> str | None:
    if isinstance(node, list):
        for part in node:
            problem = _first_problem(part, asked)
            if problem:
                return problem
        return None
    if not isinstance(node, tuple) or not node:
        return None
    kind = node[0]
    if kind in _MARK_REASONS:
        if (f"unit:{node[2].lower()}" if kind == "unit" else kind) not in asked:
            return _MARK_REASONS[kind].format(node[2] if kind == "unit" else "")
        return _first_problem(node[1], asked)
    if kind == "mixed":
        whole, numerator, denominator = int(node[1]), int(node[2]), int(node[3]) or 1
        return f"mixed number {node[1]} {node[2]}/{node[3]}: write {whole * denominator + numerator}/{denominator}"
    if kind == "sci":
        return "scientific notation"
    if (
        kind == "mul"
        and len(node[1]) == 2
        and _is_plain_number(node[1][0])
        and node[1][1][0] == "pow"
        and node[1][1][1] == ("num", "10")
    ):
        return "scientific notation"
    if kind in ("frac", "div"):
        numerator, denominator = node[1], node[2]
        den = _integer(denominator)
        coefficient = _coefficient(numerator)
        if den is not None:
            if den == 1:
                return "denominator 1"
            if den < 0:
                return "negative denominator"
            if den == 0:
                return "division by zero"
            if coefficient is not None and math.gcd(coefficient, den) > 1:
                if _integer(numerator) is not None:
                    return f"fraction {coefficient}/{den} not in lowest terms"
                return f"fraction not in lowest terms (common factor {math.gcd(coefficient, den)})"
        if _has_root(denominator):
            return "denominator not rationalised (a root in the denominator)"
        if (numerator[0] == "num" and "." in numerator[1]) or (denominator[0] == "num" and "." in denominator[1]):
            return "decimal inside a fraction"
    if kind == "sqrt":
        radicand = _integer(node[1])
        index = 2 if node[2] is None else _integer(node[2])
        if radicand is not None and index is not None and 0 < radicand < 10**8 and index >= 2:
            k = _largest_power_factor(radicand, index)
            if k > 1:
                root = "√" if index == 2 else f"{index}-th root "
                rest = radicand // k**index
                simplified = str(k) if rest == 1 else f"{k}{root}{rest}"
                return f"radical not simplified: {root}{radicand} = {simplified}"
    if kind == "add":
        if sum(1 for term in node[1] if _is_plain_number(term)) >= 2:
            return "arithmetic left to do (a sum of numbers)"
    if kind == "mul":
        if sum(1 for factor in node[1] if _is_plain_number(factor)) >= 2:
            return "arithmetic left to do (a product of numbers)"
    for part in node[1:]:
        if isinstance(part, (tuple, list)):
            problem = _first_problem(part, asked)
            if problem:
                return problem
    return None


def _common_fraction(tree: Node) -> bool:
    """An integer or a/b of integers, optionally negated: what "as a common fraction" asks for."""
    if tree[0] == "neg":
        tree = tree[1]
    if tree[0] in ("frac", "div"):
        return _integer(tree[1]) is not None and _integer(tree[2]) is not None
    return _integer(tree) is not None


@lru_cache(maxsize=65536)
def check_form(
    answer: str | None, common_fraction: bool = False, asked: frozenset = frozenset()
) -> tuple[bool | None, str | None]:
    """(form_ok, reason) of an answer as written (see module doc); `common_fraction`: the
    question asks for one, so a decimal or mixed number is not in the asked form; `asked`: the
    units and signs the question names (question.Reading.asked_marks), not a form problem."""
    if answer is None or not answer.strip():
        return None, None
    if choice_letter(answer, gold=True) is not None or is_text_answer(answer):
        return None, "not applicable (text or choice answer)"
    try:
        tree = parse_answer(answer)
    except ParseError:
        return None, "not checked (answer not parseable)"
    if tree[0] in ("text", "base", "choice"):
        return None, "not applicable (text answer)"
    problem = _first_problem(tree, asked)
    if problem:
        return False, problem
    if common_fraction and not _common_fraction(tree):
        return False, "the question asks for a common fraction"
    if re.search(r"\d[eE][-+]?\d", answer):
        return False, "scientific notation"
    return True, None


def parse_error(answer: str) -> str | None:
    """Why an answer as written cannot be read (the parser's message: "unbalanced braces", ...),
    or None when it parses or is a text or choice answer (those are read as words, not parsed)."""
    if choice_letter(answer, gold=True) is not None or is_text_answer(answer):
        return None
    try:
        parse_answer(answer)
    except ParseError as error:
        return str(error)
    return None
