"""Is an extracted answer equal to the gold answer? Policies, values and the two backends.

Contract: `compare(gold, answer, backend) -> Outcome`. The gold is always the first argument:
its form decides how the answer is read (a choice letter, a set, an equation, ...).
`quick_compare` runs in the calling process with exact rational arithmetic and answers only
when that is enough (plain numbers, fractions, decimals, percent, lists and intervals of
those); everything else (`NeedSympy`) goes to `sympy_compare` in a worker process that the
caller kills on timeout (workers.py), because SymPy can hang inside C-level loops.

Policies (also in the README, "curate verify"):
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
- Sets and lists: "\\{1,2\\}" and bare lists "1, 2" / "1 and 2" are unordered (duplicates
  matter only through sizes); "(1, 2)" is an ordered tuple; a bare list compared with a tuple is
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
- Matrices compare entry by entry; a one-column or one-row matrix equals the tuple of entries.
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

from curate.verify.parse import Hostile, Node, ParseError, normalize, parse_answer

REL_TOL_EXPONENT = 40  # numeric comparison: relative tolerance 10^-40 at 60 digits
DIGITS = 60
MAX_POW_DIGITS_INPROCESS = 2000
MAX_POW_DIGITS = 20000
MAX_FACTORIAL_INPROCESS = 3000
MAX_FACTORIAL = 5000


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
            for sign in ((1, -1) if node[0] == "pm" else (-1, 1)):
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
    if kind in ("pm", "mp") or (kind not in ("list", "set", "group", "rel", "union", "matrix") and _contains(node, ("pm", "mp"))):
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
        if len(items) == 2 and (opener != closer.translate(str.maketrans(")]", "(["))
                                or opener == "[" or _is_inf(items[0]) or _is_inf(items[1])):
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
    return ("scalar", inner, flags)


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
    if value[0] == "tuple" and len(value[1]) == 2 and value[2] == "(" and value[3] == ")" \
            and all(v[0] == "scalar" and not v[2] for v in value[1]):
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
        if ops[0] == "\\in":
            raise ParseError("membership of an expression")
        if ops[0] in ("=", "=="):
            if _contains([lhs, rhs], ("group", "set", "list", "matrix", "text", "rel")):
                raise ParseError("an equation between non-numbers")
            return ("equation", lhs, rhs)
        return interpret(rhs)
    if all(op in ("<", ">", "<=", ">=") for op in ops):
        return _inequality_interval(ops, operands)
    raise ParseError(f"unsupported relation {' '.join(ops)}")


def _inequality_interval(ops: list[str], operands: list[Node]):
    variables = [i for i, o in enumerate(operands) if o[0] == "sym"]
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
            if abs(exponent.numerator).bit_length() > 40 or abs(exponent.numerator) * bits * 0.302 > MAX_POW_DIGITS_INPROCESS:
                raise NeedSympy()
            return base ** exponent.numerator
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
        for gr, ar, note in _readings(gv, gflags, av, aflags, lambda v: v / 100, None):
            if gr == ar:
                return True, note or "equal", False
        approx = _approximation(g, gv, a, av)
        if approx:
            return True, approx, True
        return False, f"{_show(av)} != {_show(gv)}", False

    def proportional(self, g_lhs, g_rhs, a_lhs, a_rhs) -> bool:
        raise NeedSympy()


def _show(value) -> str:
    try:
        text = str(value)
    except ValueError:  # a rational with more digits than Python prints
        return "a very long number"
    return text if len(text) <= 40 else text[:37] + "..."


def _readings(gv, gflags, av, aflags, per_cent, to_radians):
    """(gold reading, answer reading, note) pairs: the values as written, then the percent or
    degree reading of the side that alone carries the mark."""
    yield gv, av, ""
    if ("pct" in gflags) != ("pct" in aflags):
        if "pct" in gflags:
            yield per_cent(gv), av, "percent read as a fraction"
        else:
            yield gv, per_cent(av), "percent read as a fraction"
    if ("deg" in gflags) != ("deg" in aflags) and to_radians is not None:
        if "deg" in gflags:
            yield to_radians(gv), av, "degrees read as radians"
        else:
            yield gv, to_radians(av), "degrees read as radians"


def _decimal_literal(node: Node) -> str | None:
    if node[0] == "neg":
        node = node[1]
    if node[0] == "num" and "." in node[1]:
        return node[1]
    return None


def _approximation(g: Node, gv, a: Node, av) -> str | None:
    """The decimal-approximation rule (module doc) for exact rational values gv and av."""
    for literal_node, literal_value, other_node, exact_value in ((a, av, g, gv), (g, gv, a, av)):
        literal = _decimal_literal(literal_node)
        if literal is None or _decimal_literal(other_node) is not None:
            continue
        places = approximation_places(literal)
        if places is None:
            continue
        if (exact_value * 10 ** places).denominator == 1:
            continue  # the exact value has a terminating decimal this long: no rounding needed
        if rounds_or_truncates(exact_value, literal_value, Fraction(1, 10 ** places)):
            return f"approximation: {literal} rounds the exact value"
    return None


def rounds_or_truncates(exact, literal, unit) -> bool:
    """Is `literal` the exact value rounded (half a unit) or truncated (toward zero) to `unit`?"""
    if abs(exact - literal) * 2 <= unit:
        return True
    return (exact >= 0) == (literal >= 0) and abs(literal) <= abs(exact) < abs(literal) + unit


def approximation_places(literal: str) -> int | None:
    """Decimal places of a literal long enough to stand for an exact value (3+ significant digits)."""
    places = len(literal.split(".")[1])
    significant = len(literal.replace(".", "").lstrip("0"))
    if places == 0 or significant < 3:
        return None
    return places


# ---- comparison of values ------------------------------------------------------------------

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
        return _unordered(g[1], a[1], backend)
    if gk in ("tuple", "list") and ak in ("tuple", "list"):
        return _ordered(g[1], a[1], backend)
    if gk == "matrix" or ak == "matrix":
        return _matrices(g, a, backend)
    if gk in ("interval", "union") or ak in ("interval", "union"):
        return _intervals(g, a, backend)
    return False, f"a {_kind_name(ak)} answer for a {_kind_name(gk)} gold", False


def _kind_name(kind: str) -> str:
    return {"scalar": "number", "tuple": "tuple", "set": "set", "list": "list", "interval": "interval",
            "union": "union", "matrix": "matrix", "text": "text"}.get(kind, kind)


def _unwrap(value):
    while value[0] in ("set", "list", "union") and len(value[1]) == 1:
        value = value[1][0]
    return value


def _unordered(gs: list, as_: list, backend) -> tuple[bool, str, bool]:
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

_CHOICE_GOLD = re.compile(r"^\s*\(?\s*([A-E])\s*\)?\s*$")
_CHOICE_ANSWER = re.compile(r"^\s*\(?\s*([A-E])\s*(?:\)|$|[:.\s])")
_CHOICE_PREFIX = re.compile(r"^\s*\(\s*[A-E]\s*\)\s*(?=\S)")
_TEXT_WRAPPER = re.compile(r"\\(?:text|textbf|mathrm|mbox|mathbf|textit)\s*\{([^{}]*)\}")
_PLAIN_WORDS = re.compile(r"^[A-Za-z][A-Za-z '.-]*[A-Za-z.]$")


def unwrap_text(text: str) -> str:
    previous = None
    while previous != text:
        previous = text
        text = _TEXT_WRAPPER.sub(r"\1", text)
    return normalize(text)


def choice_letter(text: str, gold: bool) -> str | None:
    plain = unwrap_text(text)
    match = (_CHOICE_GOLD if gold else _CHOICE_ANSWER).match(plain)
    return match.group(1) if match else None


def is_text_answer(text: str) -> bool:
    """Plain words ("Evelyn", "\\text{east}", "no solution"), not math."""
    plain = unwrap_text(text)
    if not _PLAIN_WORDS.match(plain):
        return False
    words = re.findall(r"[A-Za-z]+", plain)
    return any(len(w) >= 3 for w in words) and not all(w.lower() in ("pi", "sin", "cos", "tan", "log", "ln") for w in words)


@lru_cache(maxsize=65536)
def parsed_value(text: str):
    """The interpreted value of an answer (cached); raises ParseError / Hostile."""
    return interpret(parse_answer(text))


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
    """"(C) 12" -> "12" when the gold is not a choice letter."""
    return _CHOICE_PREFIX.sub("", unwrap_text(answer)) if _CHOICE_PREFIX.match(unwrap_text(answer)) else answer


def compare(gold: str, answer: str, backend) -> Outcome:
    """The full comparison with `backend` (RationalBackend may raise NeedSympy)."""
    early = _pre_checks(gold, answer)
    if early is not None:
        return early
    try:
        g = parsed_value(gold)
    except Hostile as error:
        return Outcome("unparseable", f"gold not usable: {error}")
    except ParseError as error:
        return Outcome("unparseable", f"gold not parseable: {error}")
    try:
        a = parsed_value(_answer_without_choice(answer))
    except Hostile as error:
        return Outcome("unparseable", f"answer rejected before parsing: {error}")
    except ParseError as error:
        return Outcome("unparseable", f"answer not parseable: {error}")
    if g == a:
        return Outcome("correct", "same value as written")
    try:
        equal, reason, approximate = match(g, a, backend)
    except Hostile as error:
        return Outcome("unparseable", f"too large to evaluate: {error}")
    except (ZeroDivisionError, OverflowError) as error:
        return Outcome("incorrect", f"cannot be evaluated: {error}")
    return Outcome("correct" if equal else "incorrect", reason, approximate)


_RATIONAL = RationalBackend()


def quick_compare(gold: str, answer: str) -> Outcome | None:
    """In-process decision, or None when SymPy is needed."""
    try:
        return compare(gold, answer, _RATIONAL)
    except NeedSympy:
        return None
    except RecursionError:
        return Outcome("unparseable", "nested too deeply")


def sympy_compare(gold: str, answer: str) -> Outcome:
    """The comparison with SymPy; run it in a worker process (it may not return)."""
    from curate.verify.symbolic import SympyBackend

    try:
        return compare(gold, answer, SympyBackend())
    except RecursionError:
        return Outcome("unparseable", "nested too deeply")
    except ParseError as error:
        return Outcome("unparseable", f"not evaluable: {error}")
    except (ValueError, TypeError, AttributeError, NotImplementedError) as error:
        return Outcome("unparseable", f"SymPy could not evaluate it: {type(error).__name__}")
