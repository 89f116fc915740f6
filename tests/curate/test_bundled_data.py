"""The bundled O'Bryan-style problem set: schema, counts, split, and every gold answer recomputed.

Each gold answer is recomputed here from the problem statement by brute force or exact
arithmetic (Fractions, SymPy), independently of the verifier, and the gold LaTeX string is read
back into a SymPy value by a small reader of the few forms the set uses. A wrong gold answer is
the worst bug this toolkit can have, so this test fails on any disagreement.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections import Counter
from fractions import Fraction
from pathlib import Path

import pytest
import sympy as sp

DATA = Path(__file__).resolve().parents[2] / "curate" / "data" / "obryan_style.jsonl"
SECTIONS = ("individual", "team", "speed")
FIELDS = {"id", "year", "section", "topic", "question", "answer", "split"}


def load() -> list[dict]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def prime_factors(n: int) -> set[int]:
    return set(sp.factorint(n))


def dice_pairs():
    return list(itertools.product(range(1, 7), repeat=2))


def p_same_colour() -> Fraction:
    bag = ["r"] * 5 + ["b"] * 7
    pairs = list(itertools.combinations(range(12), 2))
    return Fraction(sum(bag[i] == bag[j] for i, j in pairs), len(pairs))


def rect_area(perimeter: int, diagonal: int) -> sp.Expr:
    l, w = sp.symbols("l w", positive=True)
    (sol,) = [s for s in sp.solve([l + w - perimeter // 2, l**2 + w**2 - diagonal**2], [l, w]) if s[0] >= s[1]]
    return sol[0] * sol[1]


def inradius(a: int, b: int, c: int) -> sp.Expr:
    s = sp.Rational(a + b + c, 2)
    return sp.sqrt(s * (s - a) * (s - b) * (s - c)) / s


def geometric(a2, a5, n):
    r = sp.Rational(a5, a2) ** sp.Rational(1, 3)
    a1 = sp.Rational(a2) / r
    return sum(a1 * r**k for k in range(n))


def shoelace(points):
    total = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1]))
    return sp.Rational(abs(total), 2)


def trailing_zeros(n: int) -> int:
    value, zeros = math.factorial(n), 0
    while value % 10 == 0:
        value //= 10
        zeros += 1
    return zeros


def sequence_a(n: int) -> int:
    a = 3
    for k in range(1, n):
        a += 2 * k
    return a


def min_quadratic() -> sp.Expr:
    x, y = sp.symbols("x y", real=True)
    f = x**2 + 6 * x + y**2 - 4 * y + 20
    crit = sp.solve([sp.diff(f, x), sp.diff(f, y)], [x, y])
    return f.subs(crit)


def x_value(equation_sides) -> sp.Expr:
    x = sp.symbols("x", real=True)
    left, right = equation_sides(x)
    (sol,) = sp.solve(sp.Eq(left, right), x)
    return sol


def boys_girls() -> int:
    for k in range(1, 100):
        boys, girls = 3 * k, 5 * k
        if Fraction(boys + 6, girls) == Fraction(3, 4):
            return girls
    raise AssertionError


def cos_sin_deg() -> sp.Expr:
    return sp.nsimplify(sp.cos(sp.pi / 12) * sp.sin(5 * sp.pi / 12))


def consecutive_product() -> int:
    return next(n + 1 for n in range(1, 1000) if n * (n + 1) - (2 * n + 1) == 551)


# id -> the value recomputed from the question, independently of the stored answer.
RECOMPUTED = {
    "obs-2021-individual-01": lambda: sum(divisors(84)),
    "obs-2021-individual-02": lambda: Fraction(3, 8) + Fraction(5, 12) - Fraction(1, 6),
    "obs-2021-individual-03": lambda: rect_area(46, 17),
    "obs-2021-individual-04": lambda: sum(1 for n in range(1, 500) if (n % 6 == 0) != (n % 15 == 0)),
    "obs-2021-individual-05": lambda: x_value(lambda x: (x + 3, 2 * (x - 1))),  # same base 2
    "obs-2021-individual-06": lambda: Fraction(sum(a * b % 4 == 0 for a, b in dice_pairs()), 36),
    "obs-2021-individual-07": lambda: pow(7, 2021, 10),
    "obs-2021-individual-08": lambda: 5 * 18 - 4 * 16,
    "obs-2021-individual-09": lambda: sp.sqrt((7 - 1) ** 2 + (4 - (-2)) ** 2),
    "obs-2021-team-01": lambda: sum(1 for a in range(1, 721) for b in range(1, 721) if a * b == 720),
    "obs-2021-team-02": lambda: sum(
        r**2 for r in sp.solve(sp.Symbol("x") ** 4 - 13 * sp.Symbol("x") ** 2 + 36) if r.is_real
    ),
    "obs-2021-team-03": lambda: geometric(6, 162, 6),
    "obs-2021-team-04": lambda: inradius(10, 17, 21),
    "obs-2021-team-05": lambda: sum(1 for n in range(1000, 10000) if sum(map(int, str(n))) == 9),
    "obs-2021-team-06": lambda: sp.pi * 1**2 / 2**2,
    "obs-2021-speed-01": lambda: Fraction(15, 100) * 240 + Fraction(240, 100) * 15,
    "obs-2021-speed-02": lambda: x_value(lambda x: (3 * x - 7, 2 * x + 5)) ** 2,
    "obs-2021-speed-03": lambda: sum(1 for i, j in itertools.combinations(range(10), 2) if (j - i) % 10 not in (1, 9)),
    "obs-2021-speed-04": lambda: sp.ilcm(18, 24, 40),
    "obs-2021-speed-05": lambda: sp.sqrt(50) + sp.sqrt(18),
    "obs-2022-individual-01": lambda: max(prime_factors(2022)),
    "obs-2022-individual-02": lambda: x_value(lambda x: (x / 3 + x / 4, 14)),
    "obs-2022-individual-03": p_same_colour,
    "obs-2022-individual-04": lambda: next(n for n in range(3, 100) if (n - 2) * 180 == 1980),
    "obs-2022-individual-05": lambda: next(n for n in range(1, 100) if math.factorial(n) % 1000 == 0),
    "obs-2022-individual-06": lambda: math.prod(1 - Fraction(1, k) for k in range(2, 51)),
    "obs-2022-individual-07": lambda: 2 * sp.pi * sp.sqrt(49),
    "obs-2022-individual-08": lambda: (lambda f: f(f(2)))(lambda x: 2 * x**2 - 3 * x + 1),
    "obs-2022-individual-09": lambda: Fraction(6 * int(math.isqrt(10**2 - 6**2)), 10),
    "obs-2022-team-01": lambda: sum(
        1 for n in range(1, 1001) if math.isqrt(n) ** 2 == n or round(n ** (1 / 3)) ** 3 == n
    ),
    "obs-2022-team-02": lambda: sp.simplify(sum(r**3 for r in sp.solve(sp.Symbol("x") ** 2 - 6 * sp.Symbol("x") + 4))),
    "obs-2022-team-03": lambda: len(set(itertools.permutations("LETTER"))),
    "obs-2022-team-04": lambda: (2 * 5**2) - sp.pi * (5 * sp.sqrt(2) / 2) ** 2,
    "obs-2022-team-05": lambda: sum(n for n in range(1, 100) if (n * n + 1) % 5 == 0),
    "obs-2022-team-06": lambda: Fraction(6) / (1 - Fraction(-4, 6)),
    "obs-2022-speed-01": lambda: 2**10 - 10**2,
    "obs-2022-speed-02": lambda: Fraction(sum(range(1, 20, 2)), 10),
    "obs-2022-speed-03": lambda: Fraction(150) / Fraction(5, 2) * 4,
    "obs-2022-speed-04": lambda: 6 / sp.sqrt(3),
    "obs-2022-speed-05": lambda: len(divisors(2022)),
    "obs-2023-individual-01": lambda: sum(map(int, str(2023**2))),
    "obs-2023-individual-02": lambda: Fraction(-1 - 5, 5 - (-3)),
    "obs-2023-individual-03": lambda: sum(1 for n in range(1, 100) if math.gcd(n, 100) == 1),
    "obs-2023-individual-04": lambda: sp.sqrt(3**2 + 4**2 + 12**2),
    "obs-2023-individual-05": lambda: next(x for x in range(1, 10**4) if sp.log(x, 2) + sp.log(x, 4) == 6),
    "obs-2023-individual-06": lambda: sum(1 for c in itertools.combinations(["w"] * 6 + ["m"] * 4, 3) if "m" in c),
    "obs-2023-individual-07": lambda: sp.radsimp(1 / (sp.sqrt(5) - 2)),
    "obs-2023-individual-08": lambda: next(n + 4 for n in range(-100, 100, 2) if n + (n + 2) + (n + 4) == 138),
    "obs-2023-individual-09": lambda: pow(2, 2023, 7),
    "obs-2023-team-01": lambda: trailing_zeros(2023),
    "obs-2023-team-02": lambda: shoelace([(0, 0), (8, 2), (3, 7)]),
    "obs-2023-team-03": lambda: sum({x for x in range(1, 100) for y in range(1, 100) if x * x - y * y == 45}),
    "obs-2023-team-04": lambda: Fraction(sum(1 for f in itertools.product((0, 1), repeat=6) if sum(f) >= 4), 64),
    "obs-2023-team-05": lambda: sequence_a(20),
    "obs-2023-team-06": lambda: sum(1 for n in range(1, 10**4) if n != 2 and (n + 18) % (n - 2) == 0),
    "obs-2023-speed-01": lambda: sum(range(1, 41)),
    "obs-2023-speed-02": lambda: 1 / Fraction("0.16"),
    "obs-2023-speed-03": lambda: 3 * 6,
    "obs-2023-speed-04": lambda: Fraction(3 * 84, 4),
    "obs-2023-speed-05": lambda: sp.sqrt(3**2 + 4**2 + 12**2),
    "obs-2024-individual-01": lambda: sum(prime_factors(2024)),
    "obs-2024-individual-02": lambda: x_value(lambda x: (5 * (x - 3), 2 * (x + 6))),
    "obs-2024-individual-03": lambda: Fraction(sum(1 for n in range(1, 31) if 30 % n == 0), 30),
    "obs-2024-individual-04": lambda: sp.sqrt(3) / 4 * 6**2,
    "obs-2024-individual-05": lambda: Fraction(2024**2 - 2022**2, 4046),
    "obs-2024-individual-06": boys_girls,
    "obs-2024-individual-07": lambda: next(
        n for n in range(1, 10**4) if all(n % m == 2 for m in (3, 4, 5)) and n % 7 == 0
    ),
    "obs-2024-individual-08": lambda: sum(1 for x in range(-100, 100) if abs(2 * x - 5) < 9),
    "obs-2024-individual-09": lambda: 2 * sp.pi * 3**2 + 2 * sp.pi * 3 * 8,
    "obs-2024-team-01": lambda: sum(
        1 for r in range(11) for c in itertools.combinations(range(1, 11), r) if sum(c) % 2 == 0
    ),
    "obs-2024-team-02": min_quadratic,
    "obs-2024-team-03": lambda: sum(1 for a in range(1, 9) for b in range(1, 9) if 8 - a - b >= 1),
    "obs-2024-team-04": cos_sin_deg,
    "obs-2024-team-05": consecutive_product,
    "obs-2024-team-06": lambda: sum(math.factorial(k) for k in range(1, 101)) % 12,
    "obs-2024-speed-01": lambda: Fraction("12.5") / 100 * 96,
    "obs-2024-speed-02": lambda: math.gcd(2024, 2200),
    "obs-2024-speed-03": lambda: Fraction(7, 2) * 24 * 60,
    "obs-2024-speed-04": lambda: Fraction(36, 99),
    "obs-2024-speed-05": lambda: next(n for n in range(3, 100) if Fraction((n - 2) * 180, n) == 150),
}


def latex_value(text: str) -> sp.Expr:
    """SymPy value of the gold forms this set uses: integers, \\frac, \\sqrt, \\pi, sums."""
    expr = text
    for _ in range(3):
        expr = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", r"((\1)/(\2))", expr)
        expr = re.sub(r"\\sqrt\{([^{}]*)\}", r"sqrt(\1)", expr)
    expr = expr.replace("\\pi", "pi")
    expr = re.sub(r"(\d)\s*(sqrt|pi|\()", r"\1*\2", expr)
    assert "\\" not in expr and "{" not in expr, f"unreadable gold form {text!r}"
    return sp.sympify(expr)


def test_bundled_set_has_schema_and_unique_ids():
    rows = load()
    assert rows, DATA
    for row in rows:
        assert set(row) == FIELDS, row["id"]
        assert row["section"] in SECTIONS
        assert row["split"] in ("train", "test")
        assert isinstance(row["year"], int) and 2021 <= row["year"] <= 2024
        assert row["question"].strip() and row["answer"].strip()
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids))
    questions = [row["question"] for row in rows]
    assert len(questions) == len(set(questions))


def test_bundled_set_counts_and_stratified_split():
    rows = load()
    assert len(rows) >= 72
    per_section = Counter(row["section"] for row in rows)
    per_year = Counter(row["year"] for row in rows)
    assert all(per_section[s] >= 18 for s in SECTIONS), per_section
    assert len(per_year) >= 4 and min(per_year.values()) >= 15, per_year
    for section in SECTIONS:
        in_section = [row for row in rows if row["section"] == section]
        test_share = sum(row["split"] == "test" for row in in_section) / len(in_section)
        assert 0.25 <= test_share <= 0.35, (section, test_share)


def test_every_bundled_problem_has_a_recomputation():
    assert {row["id"] for row in load()} == set(RECOMPUTED)


@pytest.mark.parametrize("row", load(), ids=lambda row: row["id"])
def test_gold_answer_equals_the_recomputed_value(row):
    expected = RECOMPUTED[row["id"]]()
    expected = (
        sp.Rational(expected.numerator, expected.denominator)
        if isinstance(expected, Fraction)
        else sp.sympify(expected)
    )
    gold = latex_value(row["answer"])
    assert sp.simplify(gold - expected) == 0, f"{row['id']}: gold {row['answer']} but recomputed {expected}"


def test_gold_answers_are_in_competition_form():
    verify = pytest.importorskip("curate.verify")
    check_form = getattr(verify, "check_form", None)
    if check_form is None:
        pytest.skip("curate.verify.check_form not available yet")
    bad = []
    for row in load():
        try:
            form_ok, reason = check_form(row["answer"])
        except NotImplementedError:
            pytest.skip("curate.verify.check_form is not implemented yet")
        if form_ok is not True:
            bad.append((row["id"], row["answer"], reason))
    assert not bad


TRACES = DATA.with_name("demo_traces.jsonl")


def last_boxed(text: str) -> str:
    start = text.rindex("\\boxed{") + len("\\boxed{")
    depth, end = 1, start
    while depth:
        depth += {"{": 1, "}": -1}.get(text[end], 0)
        end += 1
    return text[start : end - 1]


def test_demo_traces_answer_as_their_intent_says():
    golds = {row["id"]: row for row in load()}
    traces = [json.loads(line) for line in TRACES.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(traces) >= 16
    for trace in traces:
        problem = golds[trace["problem_id"]]
        assert problem["split"] == "train", trace["problem_id"]
        response = trace["response"]
        assert response.startswith("<think>\n") and response.count("</think>") == 1
        answer = last_boxed(response.split("</think>")[1])
        same_value = sp.simplify(latex_value(answer) - latex_value(problem["answer"])) == 0
        if trace["intent"] == "correct":
            assert answer == problem["answer"], trace["problem_id"]
        elif trace["intent"] == "unsimplified":
            assert same_value and answer != problem["answer"], trace["problem_id"]
        else:
            assert trace["intent"] == "wrong_answer" and not same_value, trace["problem_id"]
