"""Is an extracted answer equal to the gold answer? Policies, values and the two backends.

Contract: `compare(gold, answer, backend) -> Outcome`. The gold is always the first argument:
its form decides how the answer is read (a choice letter, a set, an equation, ...).
`quick_compare` runs in the calling process with exact rational arithmetic and answers only
when that is enough (plain numbers, fractions, decimals, percent, lists and intervals of
those); everything else (`NeedSympy`) goes to `sympy_compare` in a worker process that the
caller kills on timeout (workers.py), because SymPy can hang inside C-level loops.

Policies (also in docs/GUIDE.md, "curate verify"):
- Numbers: separators ("10,080", "1{,}000", "1\\,000") and leading zeros are ignored; decimals
  are exact ("0.5" is 1/2). Values are compared exactly first (rational arithmetic; SymPy's
  canonical form of the difference); only when that is not decisive, numerically at 60 digits
  with a relative tolerance of 1e-40, so 1/2004! and 1/2006!, or 10^-20 and 2*10^-20, differ.
- Decimal approximations: a decimal literal with at least 3 significant digits matches an exact
  value that has no terminating decimal of that length when the two differ by less than one
  unit in its last place (0.667 or 0.666 for 2/3; 0.33 for 1/3 is too short; 0.124 never
  matches 1/8). The reason says "approximation", and --strict-form rejects it.
- Percent: "25%" may be read as 25 or as 0.25, so it matches 25, 0.25 and 1/4; without a percent
  sign on either side 25 and 0.25 differ (gold x100 / /100 is not accepted).
- Degrees: "30°", "30^\\circ", "30 degrees" match 30 and pi/6; 30 and pi/6 without a degree sign
  differ. Inside trigonometric functions a degree sign converts to radians.
- Units and currency ("\\text{ cm}^2", "\\$", "dollars", "5 apples") are stripped before comparing;
  the form check reports them.
- Mixed numbers: an integer right before a numeric fraction is a mixed number ("2\\frac{1}{2}" =
  5/2, "137 \\frac{1}{2}" = 275/2), never a product.
- ±: "a \\pm b" is the set {a+b, a-b}; "±2021" does not match 2021.
- Sets and lists: "\\{1,2\\}" and bare lists "1, 2" / "1 and 2" are unordered (an item written
  twice in the answer counts once unless the gold repeats items, e.g. a double root); "(1, 2)" is an ordered tuple; a bare list compared with a tuple is
  read in order. A one-element set or list equals its element.
- Points and intervals: "(a, b)" is a point or an open interval: it matches the tuple (a, b) and
  the open interval (a, b) (also written a < x < b), never [a, b] or (a, b]. "[a, b]" and
  mixed brackets are intervals; unions are compared as sets of intervals.
- Equations: "x = 5" (a lone variable on one side) is the value 5, and matches 5 or y = 5;
  "y = 2x + 1" matches "2x + 1" and any equation with the same solution set up to a constant
  factor ("2x - y + 1 = 0"). A general equation gold (x^2 + y^2 = 1) needs an equation answer.
  A gold equation never parses to 0 and never matches everything.
- Inequalities: "x > 2", "x \\ge 2", "1 < x \\le 3", "x < 0 or x > 1" are read as intervals and
  their union; "x \\in [a, b]" is [a, b].
- Matrices compare entry by entry; a one-column or one-row matrix equals the tuple of entries;
  matrices written side by side are multiplied.
- Decimal comma: "2,74" is 2.74 only where the comma cannot group thousands and only against a
  single number (a gold "2,74" only for an answer written "2.74"); otherwise it is a list.
- Sums: "\\sum_{k=a}^{b} term" is evaluated by SymPy (numeric or symbolic bounds).
- "What percent" in the question: a percent sign is read as written (25% is 25, not 0.25).
- Complex numbers: "i" is the imaginary unit and "e" is Euler's number everywhere.
  "\\log x" is the natural logarithm, "\\log_b x" base b, "\\lg x" base 10.
- Expressions with variables: exactly equal after SymPy's canonical form, else equal at three
  fixed pseudo-random points to 40 significant digits.
- Text answers compare lowercased with spacing, punctuation and \\text{} removed; a gold choice
  letter ("C", "(C)", "\\text{(C)}") matches an answer naming the same letter ("(C) 12").
- Numbers with a base subscript ("52_8") compare as digit strings: 52_8 matches 52 and 52_{8},
  not its decimal value 42.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from itertools import product as cartesian

from curate.verify.numbers import approximation_places, decimal_literal, readings, rounds_or_truncates
from curate.verify.parse import Hostile, Node, ParseError, labelled_ratio, normalize, parse_answer, ratio_quotient

MAX_POW_DIGITS_INPROCESS = 2000
MAX_FACTORIAL_INPROCESS = 3000


class NeedSympy(Exception):
    """The in-process backend cannot decide; the pair goes to a SymPy worker."""


@dataclass(frozen=True)
class Outcome:
    status: str  # correct | incorrect | unparseable
    reason: str
    approximate: bool = False  # correct only as a decimal approximation


# ---- values: what an answer means, independent of the arithmetic backend ------------------

MARKS = ("pct", "deg", "unit", "currency")


def _strip_marks(node: Node) -> tuple[Node, frozenset]:
    flags = set()
    while node[0] in MARKS:
        flags.add(node[0])
        node = node[1]
    return node, frozenset(flags)


def _contains(node, kinds: tuple[str, ...]) -> bool:
    if isinstance(node, tuple):
        if node and node[0] in kinds:
            return True
        return any(_contains(part, kinds) for part in node[1:])
    if isinstance(node, list):
        return any(_contains(part, kinds) for part in node)
    return False


def _expand_pm(node):
    """Every sign choice of the ± / ∓ in `node` (at most 4 of them), as plain trees."""
    if isinstance(node, list):
        options = [_expand_pm(part) for part in node]
        return [list(choice) for choice in cartesian(*options)]
    if not isinstance(node, tuple):
        return [node]
    if node and node[0] in ("pm", "mp"):
        left, right = node[1], node[2]
        outs = []
        for r in _expand_pm(right):
            for sign in (1, -1) if node[0] == "pm" else (-1, 1):
                term = r if sign == 1 else ("neg", r)
                if left is None:
                    outs.append(term)
                else:
                    outs.extend(("add", [l, term]) for l in _expand_pm(left))
            if len(outs) > 16:
                raise ParseError("too many ± signs")
        return outs
    options = [_expand_pm(part) for part in node[1:]]
    results = [(node[0], *choice) for choice in cartesian(*options)]
    if len(results) > 16:
        raise ParseError("too many ± signs")
    return results


def _symbols(node) -> set[str]:
    if isinstance(node, tuple):
        if node and node[0] == "sym":
            return {node[1]}
        out: set[str] = set()
        for part in node[1:]:
            out |= _symbols(part)
        return out
    if isinstance(node, list):
        out = set()
        for part in node:
            out |= _symbols(part)
        return out
    return set()


def _is_inf(node: Node) -> int:
    """+1 for oo, -1 for -oo, 0 otherwise."""
    if node == ("const", "oo"):
        return 1
    if node[0] == "neg" and node[1] == ("const", "oo"):
        return -1
    return 0


def interpret(node: Node):
    """A value: ("scalar", node, flags) ("text", s) ("tuple", [v]) ("set", [v]) ("list", [v])
    ("interval", lo, hi, lopen, ropen) ("union", [v]) ("matrix", rows) ("equation", l, r)
    ("assign", var, value, lhs, rhs) ("base", digits, base)."""
    kind = node[0]
    if kind in ("pm", "mp") or (
        kind not in ("list", "set", "group", "rel", "union", "matrix") and _contains(node, ("pm", "mp"))
    ):
        return ("set", [interpret(n) for n in _expand_pm(node)], "pm")
    if kind == "text":
        return ("text", normalize_text(node[1]))
    if kind == "base":
        return ("base", node[1].upper().lstrip("0") or "0", node[2])
    if kind == "set":
        return ("set", _flatten([interpret(n) for n in node[1]]))
    if kind == "list":
        items = _flatten([interpret(n) for n in node[1]])
        if items and all(v[0] in ("interval", "union") for v in items):
            return ("union", _flatten_union(items))
        return ("list", items)
    if kind == "group":
        _, opener, items, closer = node
        if len(items) == 2 and (
            opener != closer.translate(str.maketrans(")]", "(["))
            or opener == "["
            or _is_inf(items[0])
            or _is_inf(items[1])
        ):
            if not _contains(items, ("rel", "group", "set", "list", "matrix", "text")):
                return ("interval", items[0], items[1], opener == "(", closer == ")")
        return ("tuple", [interpret(n) for n in items], opener, closer)
    if kind == "union":
        parts = [interpret(n) for n in node[1]]
        for part in parts:
            if part[0] == "tuple" and len(part[1]) == 2 and part[2] == "(":
                continue
            if part[0] not in ("interval", "union", "set"):
                raise ParseError("a union of things that are not intervals")
        return ("union", _flatten_union([_as_interval(p) if p[0] == "tuple" else p for p in parts]))
    if kind == "matrix":
        return ("matrix", node[1])
    if kind == "rel":
        return _interpret_relation(node)
    inner, flags = _strip_marks(node)
    if inner[0] in ("group", "set", "list", "matrix", "text", "base"):
        return interpret(inner)
    if inner[0] == "mul" and all(factor[0] == "matrix" for factor in inner[1]):
        return ("matrix", _matrix_product([factor[1] for factor in inner[1]]))
    return ("scalar", inner, flags)


def _matrix_product(matrices: list) -> list:
    """Rows of the product of matrices written side by side (each cell a sum of products)."""
    rows = matrices[0]
    for right in matrices[1:]:
        if len(rows[0]) != len(right) or any(len(row) != len(right[0]) for row in right):
            raise ParseError("a product of matrices of incompatible shapes")
        rows = [
            [("add", [("mul", [row[k], right[k][j]]) for k in range(len(right))]) for j in range(len(right[0]))]
            for row in rows
        ]
    return rows


def _flatten(values: list) -> list:
    """± inside a list or set contributes both of its values."""
    out = []
    for value in values:
        if value[0] == "set" and len(value) == 3 and value[2] == "pm":
            out.extend(value[1])
        else:
            out.append(value)
    return out


def _flatten_union(values: list) -> list:
    out = []
    for value in values:
        if value[0] == "union":
            out.extend(value[1])
        else:
            out.append(value)
    return out


def _as_interval(value):
    if (
        value[0] == "tuple"
        and len(value[1]) == 2
        and value[2] == "("
        and value[3] == ")"
        and all(v[0] == "scalar" and not v[2] for v in value[1])
    ):
        return ("interval", value[1][0][1], value[1][1][1], True, True)
    return value


_FLIP = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}
_ASSIGN_OPS = ("=", "\\approx", "\\in", "\\equiv", "==")


def _interpret_relation(node: Node):
    _, ops, operands = node
    if all(op in _ASSIGN_OPS for op in ops):
        if len(ops) > 1:
            # "a = b = 5": the last operand is the value when everything before it is a variable.
            if all(o[0] == "sym" for o in operands[:-1]):
                return ("assign", operands[0][1], interpret(operands[-1]), operands[0], operands[-1])
            # "x = 2 + 3 = 5": working shown inside the answer; the final value counts.
            return interpret(operands[-1])
        lhs, rhs = operands
        if lhs[0] == "group" and all(item[0] == "sym" for item in lhs[2]) and rhs[0] == "group":
            return interpret(rhs)  # "(x, y) = (8, -2)": the point
        for var_side, value_side in ((lhs, rhs), (rhs, lhs)):
            if var_side[0] == "sym" and var_side[1] not in _symbols(value_side):
                return ("assign", var_side[1], interpret(value_side), lhs, rhs)
        if ops[0] in ("=", "==") and _is_label(lhs) and not _symbols(rhs):
            return ("assign", _label_name(lhs), interpret(rhs), lhs, rhs)  # "PQ = 6", "g(2) = 7", "|PQ| = 7"
        if ops[0] == "\\in":
            raise ParseError("membership of an expression")
        if ops[0] in ("=", "=="):
            if _contains([lhs, rhs], ("group", "set", "list", "matrix", "text", "rel")):
                raise ParseError("an equation between non-numbers")
            return ("equation", lhs, rhs)
        return interpret(rhs)
    if all(op in ("<", ">", "<=", ">=") for op in ops):
        return _inequality_interval(ops, operands)
    if ops == ["!="] and operands[0][0] == "sym" and not _symbols(operands[1]):
        bound = operands[1]  # "x != 3": everything but 3
        return (
            "union",
            [
                ("interval", ("neg", ("const", "oo")), bound, True, True),
                ("interval", bound, ("const", "oo"), True, True),
            ],
        )
    raise ParseError(f"unsupported relation {' '.join(ops)}")


def _is_label(node: Node) -> bool:
    """A quantity's name on the left of "= number": capital letters (PQ, AB), a letter applied to
    numbers (g(2) read as g*2), or |label|. Lowercase products (xy) and "2x" are not labels."""
    if node[0] == "abs":
        return _is_label(node[1])
    if node[0] in ("frac", "div"):  # "NO/BO = 1/\\sqrt6": a ratio of named lengths
        return all(_is_label(part) or (part[0] == "sym" and part[1].isupper()) for part in node[1:3])
    if node[0] != "mul" or node[1][0][0] != "sym":
        return False
    parts = node[1]
    if all(p[0] == "sym" and len(p[1]) == 1 and p[1].isupper() for p in parts):
        return True
    return len(parts[0][1]) == 1 and all(p[0] == "num" for p in parts[1:])


def _label_name(node: Node) -> str:
    if node[0] == "abs":
        return "|" + _label_name(node[1]) + "|"
    if node[0] in ("frac", "div"):
        return "/".join(_label_name(part) if part[0] != "sym" else part[1] for part in node[1:3])
    return "".join(p[1] for p in node[1])


def _substitute(node, name: str, value: Node):
    if isinstance(node, tuple):
        if node[:2] == ("sym", name):
            return value
        return tuple(_substitute(part, name, value) for part in node)
    if isinstance(node, list):
        return [_substitute(part, name, value) for part in node]
    return node


def _linear(node: Node, name: str) -> tuple[Fraction, Fraction] | None:
    """(a, b) with node = a*name + b for exact rationals, or None (not linear, not rational)."""
    try:
        f0, f1, f2 = (_RATIONAL.value(_substitute(node, name, ("num", str(k)))) for k in (0, 1, 2))
    except (NeedSympy, ZeroDivisionError, ValueError):
        return None
    if f2 - f1 != f1 - f0:
        return None
    return f1 - f0, f0


def _number_node(value: Fraction) -> Node:
    magnitude = ("frac", ("num", str(abs(value.numerator))), ("num", str(value.denominator)))
    return ("neg", magnitude) if value < 0 else magnitude


def _solved(ops: list[str], operands: list[Node]):
    """A one-variable linear inequality in any arrangement ("-2y > 6", "6 < -2y", "0 < 2x < 4")
    as its interval; None when it is not one."""
    names = _symbols(operands)
    if len(names) != 1:
        return None
    name = next(iter(names))
    middle = 1 if len(operands) == 3 else None
    if middle is not None and (_symbols(operands[0]) or _symbols(operands[2])):
        return None
    if middle is None:  # f(x) op 0 with f = lhs - rhs
        line = _linear(("add", [operands[0], ("neg", operands[1])]), name)
        if line is None or line[0] == 0:
            return None
        a, b = line
        op = ops[0] if a > 0 else _FLIP[ops[0]]
        bound = _number_node(-b / a)
        if op in (">", ">="):
            return ("interval", bound, ("const", "oo"), op == ">", True)
        return ("interval", ("neg", ("const", "oo")), bound, True, op == "<")
    line = _linear(operands[1], name)
    if line is None or line[0] == 0:
        return None
    try:
        low, high = _RATIONAL.value(operands[0]), _RATIONAL.value(operands[2])
    except (NeedSympy, ZeroDivisionError):
        return None
    if not (ops[0] in ("<", "<=") and ops[1] in ("<", "<=")):
        if ops[0] in (">", ">=") and ops[1] in (">", ">="):
            low, high, ops = high, low, [_FLIP[ops[1]], _FLIP[ops[0]]]
        else:
            return None
    a, b = line
    ends = [((low - b) / a, ops[0] == "<"), ((high - b) / a, ops[1] == "<")]
    if a < 0:
        ends.reverse()
    return ("interval", _number_node(ends[0][0]), _number_node(ends[1][0]), ends[0][1], ends[1][1])


def _inequality_interval(ops: list[str], operands: list[Node]):
    variables = [i for i, o in enumerate(operands) if o[0] == "sym"]
    if len(operands) == 3 and variables != [1] and not _symbols([operands[0], operands[2]]):
        middle = operands[1]
        if middle[0] == "abs" and middle[1][0] == "sym":  # "2 <= |w| < 5": two intervals
            low, high = operands[0], operands[2]
            if ops[0] in ("<", "<=") and ops[1] in ("<", "<="):
                return (
                    "union",
                    [
                        ("interval", ("neg", high), ("neg", low), ops[1] == "<", ops[0] == "<"),
                        ("interval", low, high, ops[0] == "<", ops[1] == "<"),
                    ],
                )
        if (
            middle[0] == "mul"
            and len(middle[1]) == 2
            and all(p[0] == "sym" and len(p[1]) == 1 for p in middle[1])
            and ops[0] in ("<", "<=")
            and ops[1] in ("<", "<=")
        ):
            # "-1 < g(t) < 2" (read as g*t): the values of a function, an interval
            return ("interval", operands[0], operands[2], ops[0] == "<", ops[1] == "<")
    if not (len(operands) == 2 and any(o[0] == "sym" for o in operands)) and variables != [1]:
        solved = _solved(ops, operands)
        if solved is not None:
            return solved
    if len(operands) == 2:
        if operands[0][0] == "sym" and operands[0][1] not in _symbols(operands[1]):
            op, bound = ops[0], operands[1]
        elif operands[1][0] == "sym" and operands[1][1] not in _symbols(operands[0]):
            op, bound = _FLIP[ops[0]], operands[0]
        else:
            raise ParseError("an inequality that is not x < c")
        if op in (">", ">="):
            return ("interval", bound, ("const", "oo"), op == ">", True)
        return ("interval", ("neg", ("const", "oo")), bound, True, op == "<")
    if len(operands) == 3 and variables == [1]:
        if ops[0] in ("<", "<=") and ops[1] in ("<", "<="):
            return ("interval", operands[0], operands[2], ops[0] == "<", ops[1] == "<")
        if ops[0] in (">", ">=") and ops[1] in (">", ">="):
            return ("interval", operands[2], operands[0], ops[1] == ">", ops[0] == ">")
    raise ParseError("an inequality chain that is not a < x < b")


def normalize_text(text: str) -> str:
    text = re.sub(r"\\(?:text|textbf|mathrm|mbox|textit|mathbf)\s*\{([^{}]*)\}", r"\1", text)
    text = text.lower().strip()
    text = re.sub(r"^(?:the|a|an)\s+", "", text)
    return re.sub(r"[^a-z0-9:]+", "", text)


# ---- backends -------------------------------------------------------------------------------

MAX_BITS_INPROCESS = 70_000  # about 21,000 digits: beyond this the worker (killable) takes over


class RationalBackend:
    """Exact rational arithmetic in-process; raises NeedSympy for anything else."""

    def value(self, node: Node) -> Fraction:
        result = self._value(node)
        if result.numerator.bit_length() > MAX_BITS_INPROCESS or result.denominator.bit_length() > MAX_BITS_INPROCESS:
            raise NeedSympy()
        return result

    def _value(self, node: Node) -> Fraction:
        kind = node[0]
        if kind == "num":
            return Fraction(node[1])
        if kind == "neg":
            return -self.value(node[1])
        if kind == "add":
            return sum((self.value(n) for n in node[1]), Fraction(0))
        if kind == "mul":
            out = Fraction(1)
            for n in node[1]:
                out *= self.value(n)
                if out.numerator.bit_length() > MAX_BITS_INPROCESS or out.denominator.bit_length() > MAX_BITS_INPROCESS:
                    raise NeedSympy()
            return out
        if kind in ("div", "frac"):
            den = self.value(node[2])
            if den == 0:
                raise NeedSympy()
            return self.value(node[1]) / den
        if kind == "mixed":
            return Fraction(node[1]) + Fraction(int(node[2]), int(node[3]) or 1)
        if kind == "pow":
            base = self.value(node[1])
            exponent = self.value(node[2])
            if exponent.denominator != 1 or (base == 0 and exponent < 0):
                raise NeedSympy()
            bits = max(abs(base.numerator).bit_length(), base.denominator.bit_length(), 2)
            if (
                abs(exponent.numerator).bit_length() > 40
                or abs(exponent.numerator) * bits * 0.302 > MAX_POW_DIGITS_INPROCESS
            ):
                raise NeedSympy()
            return base**exponent.numerator
        if kind == "sci":
            exponent = int(node[2])
            if abs(exponent) > MAX_POW_DIGITS_INPROCESS:
                raise NeedSympy()
            return Fraction(node[1]) * Fraction(10) ** exponent
        if kind == "fact":
            n = self.value(node[1])
            if n.denominator != 1 or n < 0 or n > MAX_FACTORIAL_INPROCESS:
                raise NeedSympy()
            return Fraction(math.factorial(int(n)))
        if kind == "binom":
            n, k = self.value(node[1]), self.value(node[2])
            if n.denominator != 1 or k.denominator != 1 or n < 0 or n > MAX_FACTORIAL_INPROCESS:
                raise NeedSympy()
            return Fraction(math.comb(int(n), int(k)) if k >= 0 else 0)
        if kind == "abs":
            return abs(self.value(node[1]))
        if kind == "pct":
            return self.value(node[1]) / 100
        if kind in ("unit", "currency"):
            return self.value(node[1])
        raise NeedSympy()

    def scalar_equal(self, g: Node, gflags: frozenset, a: Node, aflags: frozenset) -> tuple[bool, str, bool]:
        gv, av = self.value(g), self.value(a)
        for gr, ar, note in readings(gv, gflags, av, aflags, lambda v: v / 100, None):
            if gr == ar:
                return True, note or "equal", False
        approx = _approximation(g, gv, a, av)
        if approx:
            return True, approx, True
        return False, f"{_show(av)} != {_show(gv)}", False

    def proportional(self, g_lhs, g_rhs, a_lhs, a_rhs) -> bool:
        raise NeedSympy()

    def number(self, node: Node) -> Fraction | None:
        return self.value(node)


def _show(value) -> str:
    try:
        text = str(value)
    except ValueError:  # a rational with more digits than Python prints
        return "a very long number"
    return text if len(text) <= 40 else text[:37] + "..."


def _approximation(g: Node, gv, a: Node, av) -> str | None:
    """The decimal-approximation rule (module doc) for exact rational values gv and av."""
    for literal_node, literal_value, other_node, exact_value in ((a, av, g, gv), (g, gv, a, av)):
        literal = decimal_literal(literal_node)
        if literal is None or decimal_literal(other_node) is not None:
            continue
        places = approximation_places(literal)
        if places is None:
            continue
        if (exact_value * 10**places).denominator == 1:
            continue  # the exact value has a terminating decimal this long: no rounding needed
        if rounds_or_truncates(exact_value, literal_value, Fraction(1, 10**places)):
            return f"approximation: {literal} rounds the exact value"
    return None


def match(g, a, backend) -> tuple[bool, str, bool]:
    """(equal, reason, approximate) for gold value g and answer value a."""
    g, a = _unwrap(g), _unwrap(a)
    gk, ak = g[0], a[0]
    if gk == "assign" and ak == "assign":
        if g[2][0] == "scalar" and a[2][0] == "scalar" and (_symbols(g[2][1]) or _symbols(a[2][1])):
            return _equations(g[3], g[4], a[3], a[4], backend)
        return match(g[2], a[2], backend)
    if gk == "assign" and ak == "equation":
        return _equations(g[3], g[4], a[1], a[2], backend)
    if gk == "equation" and ak in ("equation", "assign"):
        lhs, rhs = (a[1], a[2]) if ak == "equation" else (a[3], a[4])
        return _equations(g[1], g[2], lhs, rhs, backend)
    if gk == "equation":
        return False, "the gold is an equation and the answer is not", False
    if gk == "assign":
        return match(g[2], a, backend)
    if ak == "assign":
        return match(g, a[2], backend)
    if ak == "equation":
        return False, "the answer is an equation and the gold is not", False
    if gk == "text" or ak == "text":
        if gk == ak and g[1] == a[1]:
            return True, "same text", False
        return False, "different text", False
    if gk == "base" or ak == "base":
        return _bases(g, a)
    if gk == "scalar" and ak == "scalar":
        return backend.scalar_equal(g[1], g[2], a[1], a[2])
    if gk in ("set", "list") and ak in ("set", "list"):
        g_names, a_names = _labels(g[1]), _labels(a[1])
        if g_names and a_names and sorted(g_names) == sorted(a_names):
            by_name = dict(zip(a_names, a[1]))  # "RS=8, PQ=6" for "PQ=6, RS=8": pair by label
            return _ordered(g[1], [by_name[name] for name in g_names], backend)
        if g_names and gk == "list" and ak == "list" and not any(v[0] == "assign" for v in a[1]):
            return _ordered(g[1], a[1], backend)  # "6, 8" for "PQ=6, RS=8": the labels' order
        return _unordered(g[1], a[1], backend)
    if gk in ("tuple", "list") and ak in ("tuple", "list"):
        return _ordered(g[1], a[1], backend)
    if gk == "matrix" or ak == "matrix":
        return _matrices(g, a, backend)
    if gk in ("interval", "union") or ak in ("interval", "union"):
        return _intervals(g, a, backend)
    return False, f"a {_kind_name(ak)} answer for a {_kind_name(gk)} gold", False


def _labels(items: list) -> list[str] | None:
    """The distinct names of a list of assignments ("PQ=6, RS=8"), else None."""
    if len(items) < 2 or any(v[0] != "assign" for v in items):
        return None
    names = [v[1] for v in items]
    return names if len(set(names)) == len(names) else None


def _kind_name(kind: str) -> str:
    return {
        "scalar": "number",
        "tuple": "tuple",
        "set": "set",
        "list": "list",
        "interval": "interval",
        "union": "union",
        "matrix": "matrix",
        "text": "text",
    }.get(kind, kind)


def _unwrap(value):
    while value[0] in ("set", "list", "union") and len(value[1]) == 1:
        value = value[1][0]
    return value


def _distinct(values: list) -> list:
    out = []
    for value in values:
        if value not in out:
            out.append(value)
    return out


def _unordered(gs: list, as_: list, backend) -> tuple[bool, str, bool]:
    if len(gs) != len(as_) and len(_distinct(gs)) == len(gs):
        as_ = _distinct(as_)  # an item written twice in the answer of a set without repeats
    if len(gs) != len(as_):
        return False, f"{len(as_)} items where the gold has {len(gs)}", False
    remaining = list(as_)
    approximate = False
    for g in gs:
        for i, a in enumerate(remaining):
            equal, _, approx = match(g, a, backend)
            if equal:
                approximate |= approx
                del remaining[i]
                break
        else:
            return False, "an item of the gold has no equal in the answer", False
    return True, f"same {len(gs)} items (any order)", approximate


def _ordered(gs: list, as_: list, backend) -> tuple[bool, str, bool]:
    if len(gs) != len(as_):
        return False, f"{len(as_)} entries where the gold has {len(gs)}", False
    approximate = False
    for position, (g, a) in enumerate(zip(gs, as_), 1):
        equal, reason, approx = match(g, a, backend)
        if not equal:
            return False, f"entry {position}: {reason}", False
        approximate |= approx
    return True, f"same {len(gs)} entries in order", approximate


def _bases(g, a) -> tuple[bool, str, bool]:
    def digits_of(value):
        if value[0] == "base":
            return value[1], value[2]
        if value[0] == "scalar" and value[1][0] == "num" and "." not in value[1][1]:
            return value[1][1].lstrip("0") or "0", None
        return None, None

    gd, gb = digits_of(g)
    ad, ab = digits_of(a)
    if gd is None or ad is None:
        return False, "a number in another base", False
    if gd == ad and (gb is None or ab is None or gb == ab):
        return True, "same digits", False
    return False, "different digits or base", False


def _matrices(g, a, backend) -> tuple[bool, str, bool]:
    def entries(value):
        if value[0] == "matrix":
            return [[("scalar", cell, frozenset()) for cell in row] for row in value[1]]
        if value[0] in ("tuple", "list"):
            return None
        return None

    ge, ae = entries(g), entries(a)
    if ge is not None and ae is not None:
        if len(ge) != len(ae) or len(ge[0]) != len(ae[0]):
            return False, "matrices of different shapes", False
        return _ordered([c for row in ge for c in row], [c for row in ae for c in row], backend)
    matrix, other = (ge, a) if ge is not None else (ae, g)
    if other[0] in ("tuple", "list") and (len(matrix) == 1 or len(matrix[0]) == 1):
        flat = [c for row in matrix for c in row]
        pair = (flat, other[1]) if ge is not None else (other[1], flat)
        return _ordered(pair[0], pair[1], backend)
    return False, "a matrix compared with a non-matrix", False


def _as_interval_value(value):
    if value[0] == "interval":
        return value
    if value[0] == "tuple":
        converted = _as_interval(value)
        if converted[0] == "interval":
            return converted
    return None


def _intervals(g, a, backend) -> tuple[bool, str, bool]:
    g_parts = g[1] if g[0] == "union" else [g]
    a_parts = a[1] if a[0] == "union" else [a]
    g_parts = [_as_interval_value(p) for p in g_parts]
    a_parts = [_as_interval_value(p) for p in a_parts]
    if any(p is None for p in g_parts + a_parts):
        return False, "an interval compared with a non-interval", False
    if len(g_parts) != len(a_parts):
        return False, f"{len(a_parts)} intervals where the gold has {len(g_parts)}", False
    remaining = list(a_parts)
    for gp in g_parts:
        for i, ap in enumerate(remaining):
            if _same_interval(gp, ap, backend):
                del remaining[i]
                break
        else:
            return False, "an interval of the gold (ends or brackets) is not in the answer", False
    return True, "same intervals", False


def _same_interval(g, a, backend) -> bool:
    for g_end, a_end, g_open, a_open in ((g[1], a[1], g[3], a[3]), (g[2], a[2], g[4], a[4])):
        gi, ai = _is_inf(g_end), _is_inf(a_end)
        if gi or ai:
            if gi != ai:
                return False
            continue
        if g_open != a_open:
            return False
        equal, _, _ = backend.scalar_equal(g_end, frozenset(), a_end, frozenset())
        if not equal:
            return False
    return True


def _equations(g_lhs, g_rhs, a_lhs, a_rhs, backend) -> tuple[bool, str, bool]:
    if backend.proportional(g_lhs, g_rhs, a_lhs, a_rhs):
        return True, "equivalent equations (same up to a constant factor)", False
    return False, "the equations differ", False


# ---- entry points ----------------------------------------------------------------------------

_CHOICE_PREFIX = re.compile(r"^\s*\(\s*[A-E]\s*\)\s*(?=\S)")
_DECIMAL_COMMA = re.compile(r"^\s*(-?\d+),(\d+)\s*$")
_TEXT_WRAPPER = re.compile(r"\\(?:text|textbf|mathrm|mbox|mathbf|textit)\s*\{([^{}]*)\}")
_PLAIN_WORDS = re.compile(r"^[A-Za-z][A-Za-z '.-]*[A-Za-z.]$")


def unwrap_text(text: str) -> str:
    previous = None
    while previous != text:
        previous = text
        text = _TEXT_WRAPPER.sub(r"\1", text)
    return normalize(text)


@lru_cache(maxsize=64)
def _choice_patterns(last: str) -> tuple[re.Pattern, re.Pattern]:
    """(a gold that is only a letter, an answer that starts with one) for the letters A..last."""
    letters = f"[A-{last}]"
    return (
        re.compile(rf"^\s*\(?\s*({letters})\s*\)?\s*$"),
        re.compile(rf"^\s*\(?\s*({letters})\s*(?:\)|$|[:.\s])"),
    )


@lru_cache(maxsize=65536)
def choice_letter(text: str, gold: bool, last: str = "E") -> str | None:
    """The choice letter (A..`last`) that `text` is (a gold: "C", "(C)", "\\text{(C)}") or
    starts with (an answer: "(C) 12", "C. because")."""
    plain = unwrap_text(text)
    match = _choice_patterns(last)[0 if gold else 1].match(plain)
    return match.group(1) if match else None


def is_text_answer(text: str) -> bool:
    """Plain words ("Evelyn", "\\text{east}", "no solution"), not math."""
    plain = unwrap_text(text)
    if not _PLAIN_WORDS.match(plain):
        return False
    words = re.findall(r"[A-Za-z]+", plain)
    return any(len(w) >= 3 for w in words) and not all(
        w.lower() in ("pi", "sin", "cos", "tan", "log", "ln") for w in words
    )


@lru_cache(maxsize=65536)
def parsed_value(text: str):
    """The interpreted value of an answer (cached); raises ParseError / Hostile."""
    if ";" in text and "=" in text:
        grouped = _assignment_groups(text)
        if grouped is not None:
            return grouped
    value = interpret(parse_answer(text))
    return _repeated_groups(value) if value[0] == "list" else value


def _repeated_groups(value):
    """ "p=5, q=2 and p=7, q=2": assignments whose names repeat in groups (p, q, p, q) are the
    solutions (5, 2), (7, 2)."""
    items = value[1]
    if len(items) < 4 or any(v[0] != "assign" for v in items):
        return value
    names = [v[1] for v in items]
    size = names.index(names[0], 1) if names[0] in names[1:] else 0
    if size < 2 or len(names) % size or len(set(names[:size])) != size or names != names[:size] * (len(names) // size):
        return value
    return ("list", [("tuple", [v[2] for v in items[i : i + size]], "(", ")") for i in range(0, len(items), size)])


def _assignment_groups(text: str):
    """ "a=1,b=3; a=2,b=5": solutions given as groups of assignments with the same names, read
    as the tuples (1,3), (2,5); None when the text is not that."""
    groups, names = [], None
    for part in text.split(";"):
        try:
            value = interpret(parse_answer(part))
        except ParseError:
            return None
        items = value[1] if value[0] == "list" else [value]
        if any(v[0] != "assign" for v in items):
            return None
        if names is None:
            names = [v[1] for v in items]
        elif [v[1] for v in items] != names:
            return None
        groups.append(("tuple", [v[2] for v in items], "(", ")"))
    return ("list", groups) if len(groups) > 1 else None


def decimal_comma(text: str) -> str | None:
    """ "2,74" -> "2.74" when the comma cannot group thousands: not three digits after it, or a
    leading group of 0 or of more than three digits ("1000,99", "0,111"); else None."""
    match = _DECIMAL_COMMA.match(normalize(text))
    if match is None:
        return None
    whole, fraction = match.group(1), match.group(2)
    digits = whole.lstrip("-")
    if len(fraction) == 3 and digits != "0" and len(digits) <= 3:
        return None
    return f"{whole}.{fraction}"


def _read_decimal_comma(g, a, gold: str, answer: str):
    """A decimal comma is read only against a single number: "2,74" for the gold 2.74, and a
    gold "1,22" only for an answer written "1.22" (a gold "2,5" may be the list 2 and 5)."""
    if g[0] == "scalar" and a[0] == "list" and len(a[1]) == 2:
        fixed = decimal_comma(answer)
        if fixed is not None:
            return g, parsed_value(fixed)
    if a[0] == "scalar" and g[0] == "list" and len(g[1]) == 2:
        fixed = decimal_comma(gold)
        if fixed is not None and normalize(answer).strip() == fixed:
            return parsed_value(fixed), a
    return g, a


def _pre_checks(gold: str, answer: str) -> Outcome | None:
    """Decisions that need no parsing: identical text, choices, text answers."""
    if normalize(gold) == normalize(answer):
        return Outcome("correct", "same answer as written")
    letter = choice_letter(gold, gold=True)
    if letter is not None:
        given = choice_letter(answer, gold=False)
        if given is None:
            return Outcome("incorrect", f"the gold is choice ({letter}); the answer names no choice")
        return Outcome("correct" if given == letter else "incorrect", f"choice ({given}) vs ({letter})")
    if is_text_answer(gold):
        same = normalize_text(unwrap_text(gold)) == normalize_text(unwrap_text(answer))
        return Outcome("correct" if same else "incorrect", "same text" if same else "different text")
    return None


def _answer_without_choice(answer: str) -> str:
    """ "(C) 12" -> "12" when the gold is not a choice letter."""
    return _CHOICE_PREFIX.sub("", unwrap_text(answer)) if _CHOICE_PREFIX.match(unwrap_text(answer)) else answer


def context_flags(context: str) -> dict[str, str]:
    """ "ordered;round=1" -> {"ordered": "", "round": "1"} (see curate.verify.question)."""
    flags = {}
    for part in context.split(";"):
        if part:
            name, _, value = part.partition("=")
            flags[name] = value
    return flags


def _read_in_context(g, a, flags: dict[str, str]):
    """The question's reading of a bare list: ordered ("in increasing order") or a set ("all
    solutions"); without either the default policy applies (module doc)."""
    if "ordered" in flags:
        if g[0] == "list":
            g = ("tuple", g[1], "(", ")")
        if a[0] == "list":
            a = ("tuple", a[1], "(", ")")
    elif "set" in flags:
        if g[0] == "list" and a[0] == "tuple" and len(a[1]) != 2:
            a = ("list", a[1])
        elif a[0] == "list" and g[0] == "tuple" and len(g[1]) != 2:
            g = ("list", g[1])
    return g, a


def _in_percent(value):
    """ "What percent ...": a percent sign is read as written (25% is 25), never as 0.25."""
    if value[0] == "scalar":
        return ("scalar", value[1], value[2] - {"pct"})
    if value[0] in ("list", "set", "tuple"):
        return (value[0], [_in_percent(v) for v in value[1]], *value[2:])
    return value


def _rounded(g, a, places: int, backend) -> bool:
    """ "To the nearest tenth": the answer is a decimal with at most `places` places and equals
    the gold rounded (half away from zero) to that many places."""
    if g[0] != "scalar" or a[0] != "scalar" or g[2] != a[2]:
        return False
    literal = (
        decimal_literal(a[1])
        or (a[1][1] if a[1][0] == "num" else None)
        or (a[1][1][1] if a[1][0] == "neg" and a[1][1][0] == "num" else None)
    )
    if literal is None or ("." in literal and len(literal.split(".")[1]) > places):
        return False
    exact = backend.number(g[1])
    if exact is None:
        return False
    unit = Fraction(1, 10**places)
    scaled = abs(exact) / unit
    rounded = math.floor(scaled + Fraction(1, 2)) * unit * (1 if exact >= 0 else -1)
    return rounded == backend.number(a[1])


def compare(gold: str, answer: str, backend, context: str = "") -> Outcome:
    """The full comparison with `backend` (RationalBackend may raise NeedSympy); `context` is
    what the question says about the answer's reading (curate.verify.question)."""
    flags = context_flags(context) if context else {}
    early = _pre_checks(gold, answer)
    if early is not None:
        return early
    try:
        g = parsed_value(gold)
    except Hostile as error:
        return Outcome("unparseable", f"gold not usable: {error}")
    except ParseError as error:
        return Outcome("unparseable", f"gold not parseable: {error}")
    if ":" in answer and labelled_ratio(gold):
        answer = ratio_quotient(normalize(answer)) or answer  # "7:32" for "S_1:S_2 = 7:32"
    try:
        a = parsed_value(_answer_without_choice(answer))
    except Hostile as error:
        return Outcome("unparseable", f"answer rejected before parsing: {error}")
    except ParseError as error:
        return Outcome("unparseable", f"answer not parseable: {error}")
    g, a = _read_decimal_comma(g, a, gold, answer)
    if flags:
        g, a = _read_in_context(g, a, flags)
    if "percent" in flags:
        g, a = _in_percent(g), _in_percent(a)
    if g == a:
        return Outcome("correct", "same value as written")
    try:
        equal, reason, approximate = match(g, a, backend)
        if not equal and "round" in flags and _rounded(_unwrap(g), _unwrap(a), int(flags["round"]), backend):
            return Outcome("correct", f"the gold rounded to {flags['round']} decimal places, as the question asks")
    except Hostile as error:
        return Outcome("unparseable", f"too large to evaluate: {error}")
    except (ZeroDivisionError, OverflowError) as error:
        return Outcome("incorrect", f"cannot be evaluated: {error}")
    return Outcome("correct" if equal else "incorrect", reason, approximate)


_RATIONAL = RationalBackend()


def quick_compare(gold: str, answer: str, context: str = "") -> Outcome | None:
    """In-process decision, or None when SymPy is needed."""
    try:
        return compare(gold, answer, _RATIONAL, context)
    except NeedSympy:
        return None
    except RecursionError:
        return Outcome("unparseable", "nested too deeply")
