"""The SymPy backend of the comparison; imported only inside worker processes.

Contract: `sympy_compare(gold, answer, context)` is `equivalence.compare` with this backend;
`SympyBackend` offers the same methods as `equivalence.RationalBackend`
(`scalar_equal`, `proportional`) on SymPy values built directly from the
syntax tree (no string round trip through `parse_expr`). Sizes are checked before SymPy
evaluates anything: powers whose exact value would exceed 20,000 digits and factorials above
5000! raise `Hostile` (the answer is reported unparseable) instead of running for minutes.

Exact first: SymPy's automatic canonical form makes most equal values identical (sqrt(8) and
2*sqrt(2), 1/sqrt(3) and sqrt(3)/3, e^{i pi} and -1), and the difference of two rationals is
decided exactly. Otherwise both sides are evaluated to 60 digits and must agree to a relative
1e-40; expressions with variables are evaluated at three fixed irregular points.
"""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import sympy as sp

from curate.verify.equivalence import Outcome, compare
from curate.verify.numbers import (
    DIGITS,
    MAX_FACTORIAL,
    MAX_POW_DIGITS,
    REL_TOL_EXPONENT,
    approximation_places,
    decimal_literal,
    readings,
    rounds_or_truncates,
)
from curate.verify.parse import Hostile, Node, ParseError

_FUNCTIONS = {
    "sin": sp.sin,
    "cos": sp.cos,
    "tan": sp.tan,
    "sec": sp.sec,
    "csc": sp.csc,
    "cot": sp.cot,
    "arcsin": sp.asin,
    "arccos": sp.acos,
    "arctan": sp.atan,
    "arcsec": sp.asec,
    "arccsc": sp.acsc,
    "arccot": sp.acot,
    "sinh": sp.sinh,
    "cosh": sp.cosh,
    "tanh": sp.tanh,
    "coth": sp.coth,
    "sech": sp.sech,
    "csch": sp.csch,
    "exp": sp.exp,
    "sgn": sp.sign,
}
_CONSTANTS = {"pi": sp.pi, "e": sp.E, "i": sp.I, "oo": sp.oo}
# Irregular sample points for identity tests of expressions with variables.
_POINTS = [Fraction(1234567, 1000000), Fraction(-769, 1091), Fraction(2718281, 998001)]
_TOLERANCE = mpmath.mpf(10) ** -REL_TOL_EXPONENT


def _digits_of_power(base: sp.Rational, exponent: sp.Rational) -> float:
    """Decimal digits of base**exponent, estimated from bit lengths (never converts to float)."""
    numerator_bits = int(exponent.p).bit_length()
    if numerator_bits > 64:
        return math.inf
    magnitude_bits = max(abs(int(base.p)).bit_length(), int(base.q).bit_length(), 2)
    return abs(int(exponent.p)) / int(exponent.q) * magnitude_bits * math.log10(2)


class SympyBackend:
    def __init__(self) -> None:
        self._symbols: dict[str, sp.Symbol] = {}
        self._sum_depth = 0

    # -- tree -> SymPy ---------------------------------------------------------------------
    def expr(self, node: Node) -> sp.Expr:
        kind = node[0]
        if kind == "num":
            return sp.Rational(Fraction(node[1]).numerator, Fraction(node[1]).denominator)
        if kind == "sci":
            exponent = int(node[2])
            if abs(exponent) > MAX_POW_DIGITS:
                raise Hostile(f"10^{exponent}")
            value = Fraction(node[1]) * Fraction(10) ** exponent
            return sp.Rational(value.numerator, value.denominator)
        if kind == "sym":
            return self._symbols.setdefault(node[1], sp.Symbol(node[1]))
        if kind == "const":
            return _CONSTANTS[node[1]]
        if kind == "neg":
            return -self.expr(node[1])
        if kind == "add":
            return sp.Add(*[self.expr(n) for n in node[1]])
        if kind == "mul":
            return sp.Mul(*[self.expr(n) for n in node[1]])
        if kind in ("div", "frac"):
            numerator, denominator = self.expr(node[1]), self.expr(node[2])
            if denominator == 0:
                raise ZeroDivisionError("division by zero")
            return numerator / denominator
        if kind == "mixed":
            return sp.Integer(node[1]) + sp.Rational(int(node[2]), int(node[3]) or 1)
        if kind == "pow":
            return self._power(self.expr(node[1]), self.expr(node[2]))
        if kind == "sqrt":
            radicand = self.expr(node[1])
            if node[2] is None:
                return sp.sqrt(radicand)
            index = self.expr(node[2])
            if index.is_Integer and int(index) % 2 == 1 and radicand.is_number and radicand.is_negative:
                return -sp.root(-radicand, index)  # the real odd root, as competitions mean it
            return sp.root(radicand, index)
        if kind == "fact":
            n = self.expr(node[1])
            if n.is_Integer and int(n) > MAX_FACTORIAL:
                raise Hostile(f"{n}! is too large")
            return sp.factorial(n)
        if kind == "binom":
            n, k = self.expr(node[1]), self.expr(node[2])
            if n.is_Integer and k.is_Integer and min(int(k), int(n) - int(k)) > MAX_FACTORIAL:
                raise Hostile("binomial too large")
            return sp.binomial(n, k)
        if kind == "func":
            name, argument = node[1], node[2]
            if name in ("max", "min", "gcd", "lcm"):
                values = [self.expr(n) for n in argument]
                return (
                    {"max": sp.Max, "min": sp.Min, "gcd": sp.gcd, "lcm": sp.lcm}[name](*values)
                    if name in ("max", "min")
                    else _fold({"gcd": sp.gcd, "lcm": sp.lcm}[name], values)
                )
            if name not in _FUNCTIONS:
                raise ParseError(f"unsupported function {name}")
            return _FUNCTIONS[name](self.expr(argument))
        if kind == "log":
            argument = self.expr(node[2])
            if node[1] is None:
                return sp.log(argument)
            return sp.log(argument, self.expr(node[1]))
        if kind == "abs":
            return sp.Abs(self.expr(node[1]))
        if kind == "floor":
            return sp.floor(self.expr(node[1]))
        if kind == "ceil":
            return sp.ceiling(self.expr(node[1]))
        if kind == "pct":
            return self.expr(node[1]) / 100
        if kind == "deg":
            return self.expr(node[1]) * sp.pi / 180
        if kind in ("unit", "currency"):
            return self.expr(node[1])
        if kind == "indexed":
            return sp.Function(node[1])(self.expr(node[2]))
        if kind == "sum":
            lower, upper = self.expr(node[2]), self.expr(node[3])
            # The summation index is renamed by nesting depth, so sum_k a_k equals sum_j a_j.
            index = sp.Symbol(f"sum_index_{self._sum_depth}", integer=True)
            self._sum_depth += 1
            try:
                term = self.expr(node[4]).xreplace({self.expr(("sym", node[1])): index})
            finally:
                self._sum_depth -= 1
            return sp.Sum(term, (index, lower, upper)).doit()
        raise ParseError(f"a {kind} inside an expression")

    def _power(self, base: sp.Expr, exponent: sp.Expr) -> sp.Expr:
        if exponent.is_Rational and base.is_Rational:
            if base != 0 and abs(base) != 1 and _digits_of_power(base, exponent) > MAX_POW_DIGITS:
                raise Hostile("a power with more than 20,000 digits")
        elif exponent.is_Rational and abs(exponent) > 10000 and base.is_number and base.is_algebraic:
            raise Hostile("a power too large to expand")
        return base**exponent

    # -- numbers ---------------------------------------------------------------------------
    def _numeric(self, value: sp.Expr) -> mpmath.mpc | None:
        """`value` to 60 digits as an mpmath complex, or None when it is not a finite number."""
        try:
            evaluated = value.evalf(DIGITS)
        except (ValueError, TypeError, RecursionError):
            return None
        if not evaluated.is_number or evaluated.has(sp.oo, -sp.oo, sp.zoo, sp.nan):
            return None
        real, imag = evaluated.as_real_imag()
        if not (real.is_Number and imag.is_Number):
            return None
        with mpmath.workdps(DIGITS):
            return mpmath.mpc(mpmath.mpf(real._to_mpmath(DIGITS * 4)), mpmath.mpf(imag._to_mpmath(DIGITS * 4)))

    def number(self, node: Node) -> Fraction | None:
        """A real value to 60 digits as a Fraction (for rounding), or None."""
        value = self._numeric(self.expr(node))
        if value is None or value.imag != 0:
            return None
        return Fraction(mpmath.nstr(value.real, DIGITS, min_fixed=-mpmath.inf, max_fixed=mpmath.inf))

    def _close(self, x: mpmath.mpc, y: mpmath.mpc) -> bool:
        with mpmath.workdps(DIGITS):
            scale = max(abs(x), abs(y))
            return scale == 0 or abs(x - y) <= scale * _TOLERANCE

    def values_equal(self, x: sp.Expr, y: sp.Expr) -> tuple[bool, str]:
        if x == y:
            return True, "equal"
        if x.is_Rational and y.is_Rational:
            return False, f"{_show(y)} != {_show(x)}"
        infinite = (sp.oo, -sp.oo, sp.zoo, sp.nan)
        if x in infinite or y in infinite:
            return False, "infinite values differ"
        symbols = x.free_symbols | y.free_symbols
        difference = x - y
        if difference == 0:
            return True, "equal (exact)"
        if not symbols:
            if difference.is_Rational:
                return False, f"{_show(y)} != {_show(x)}"
            xv, yv = self._numeric(x), self._numeric(y)
            if xv is None or yv is None:
                return bool(sp.simplify(difference) == 0), "compared symbolically"
            if self._close(xv, yv):
                return True, "equal (to 40 significant digits)"
            return False, f"{_show(y)} != {_show(x)}"
        return self._identity(x, y, symbols)

    def _identity(self, x: sp.Expr, y: sp.Expr, symbols: set) -> tuple[bool, str]:
        ordered = sorted(symbols, key=lambda s: s.name)
        agreed = 0
        for shift in range(len(_POINTS)):
            point = {s: _rational(_POINTS[(shift + j) % len(_POINTS)] + j) for j, s in enumerate(ordered)}
            xv, yv = self._numeric(x.xreplace(point)), self._numeric(y.xreplace(point))
            if xv is None or yv is None:
                continue
            if not self._close(xv, yv):
                return False, f"{_show(y)} != {_show(x)}"
            agreed += 1
        if agreed:
            return True, f"equal at {agreed} sample points"
        return bool(sp.simplify(x - y) == 0), "compared symbolically"

    def scalar_equal(self, g: Node, gflags: frozenset, a: Node, aflags: frozenset) -> tuple[bool, str, bool]:
        gv, av = self.expr(g), self.expr(a)
        first_reason = ""
        for gr, ar, note in readings(gv, gflags, av, aflags, lambda v: v / 100, lambda v: v * sp.pi / 180):
            equal, reason = self.values_equal(gr, ar)
            if equal:
                return True, note or reason, False
            first_reason = first_reason or reason
        approx = self._approximation(g, gv, a, av)
        if approx:
            return True, approx, True
        return False, first_reason, False

    def _approximation(self, g: Node, gv: sp.Expr, a: Node, av: sp.Expr) -> str | None:
        for literal_node, literal_value, other_node, exact_value in ((a, av, g, gv), (g, gv, a, av)):
            literal = decimal_literal(literal_node)
            if literal is None or decimal_literal(other_node) is not None or exact_value.free_symbols:
                continue
            places = approximation_places(literal)
            if places is None:
                continue
            if exact_value.is_Rational and (exact_value * 10**places).is_Integer:
                continue
            exact_numeric, literal_numeric = self._numeric(exact_value), self._numeric(literal_value)
            if exact_numeric is None or literal_numeric is None:
                continue
            if exact_numeric.imag != 0:
                continue
            with mpmath.workdps(DIGITS):
                if rounds_or_truncates(exact_numeric.real, literal_numeric.real, mpmath.mpf(10) ** -places):
                    return f"approximation: {literal} rounds the exact value"
        return None

    def proportional(self, g_lhs: Node, g_rhs: Node, a_lhs: Node, a_rhs: Node) -> bool:
        """Do g_lhs = g_rhs and a_lhs = a_rhs have the same solutions (one is c times the other)?"""
        g = self.expr(g_lhs) - self.expr(g_rhs)
        a = self.expr(a_lhs) - self.expr(a_rhs)
        if g != 0 and (g - a == 0 or g + a == 0):
            return True  # the same equation term for term (sums over unknown sequences have no sample values)
        symbols = g.free_symbols | a.free_symbols
        if not symbols:
            return (g == 0) == (a == 0)
        if g.free_symbols != a.free_symbols:
            return False
        ordered = sorted(symbols, key=lambda s: s.name)
        ratio = None
        for shift in range(len(_POINTS) + 2):
            point = {s: _rational(_POINTS[(shift + j) % len(_POINTS)] + j + shift) for j, s in enumerate(ordered)}
            gv, av = self._numeric(g.xreplace(point)), self._numeric(a.xreplace(point))
            if gv is None or av is None:
                continue
            if av == 0 or gv == 0:
                if av != gv:
                    return False
                continue
            with mpmath.workdps(DIGITS):
                current = gv / av
            if ratio is None:
                ratio = current
            elif not self._close(ratio, current):
                return False
        return ratio is not None


def _rational(value: Fraction) -> sp.Rational:
    return sp.Rational(value.numerator, value.denominator)


def _fold(function, values):
    out = values[0]
    for value in values[1:]:
        out = function(out, value)
    return out


def _show(value: sp.Expr) -> str:
    try:
        text = str(value)
    except ValueError:  # a rational with more digits than Python prints
        return "a very long number"
    return text if len(text) <= 40 else text[:37] + "..."


def sympy_compare(gold: str, answer: str, context: str = "") -> Outcome:
    """The comparison with SymPy; run it in a worker process (it may not return)."""
    try:
        return compare(gold, answer, SympyBackend(), context)
    except RecursionError:
        return Outcome("unparseable", "nested too deeply")
    except ParseError as error:
        return Outcome("unparseable", f"not evaluable: {error}")
    except (ValueError, TypeError, AttributeError, NotImplementedError) as error:
        return Outcome("unparseable", f"SymPy could not evaluate it: {type(error).__name__}")
