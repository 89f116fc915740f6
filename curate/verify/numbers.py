"""Number rules shared by both comparison backends (rational in-process, SymPy in workers).

Contract: pure functions on values and syntax-tree nodes: `readings` (the percent/degree readings
of a pair of values), `decimal_literal`, `approximation_places`, `rounds_or_truncates`, and the
precision constants. equivalence.py and symbolic.py both import from here, never from each other's
private names.
"""

from __future__ import annotations

from curate.verify.parse import Node

REL_TOL_EXPONENT = 40  # numeric comparison: relative tolerance 10^-40 at 60 digits
DIGITS = 60
MAX_POW_DIGITS = 20000
MAX_FACTORIAL = 5000


def readings(gv, gflags, av, aflags, per_cent, to_radians):
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


def decimal_literal(node: Node) -> str | None:
    if node[0] == "neg":
        node = node[1]
    if node[0] == "num" and "." in node[1]:
        return node[1]
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
