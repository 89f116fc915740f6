r"""The labelled verifier set: (category, response, gold, expected verdict[, expected form_ok]).

Written by hand for this project; each label is what a careful human grader says, with the
project's documented policies (curate/verify/equivalence.py) where a convention is needed.
bench/verify.py scores this verifier and Math-Verify on the same cases.
"""

from __future__ import annotations

from dataclasses import dataclass

UNSET = "unset"


@dataclass(frozen=True)
class Case:
    category: str
    response: str
    gold: str
    verdict: str
    form_ok: object = UNSET  # True / False / None, or UNSET when the case does not test form

    @property
    def id(self) -> str:
        return f"{self.category}:{self.response[-40:]!r}~{self.gold[:30]!r}"


def B(answer: str) -> str:
    """A plain response ending in a boxed answer."""
    return f"Working through the problem carefully gives the result.\n\nThe answer is $\\boxed{{{answer}}}$."


def R1(thinking: str, final: str) -> str:
    """An R1-style response: a think block, then the final content."""
    return f"<think>\n{thinking}\n</think>\n\n{final}"


CASES: list[Case] = []


def add(category: str, rows: list[tuple]) -> None:
    for row in rows:
        response, gold, verdict, *form = row
        CASES.append(Case(category, response, gold, verdict, form[0] if form else UNSET))


add(
    "integer",
    [
        (B("42"), "42", "correct", True),
        (B("43"), "42", "incorrect"),
        (B("10,080"), "10080", "correct"),
        (B("10080"), "10,\\!080", "correct"),
        (B("1{,}000{,}000"), "1000000", "correct"),
        (B("11,111,111,100"), "11,\\! 111,\\! 111,\\! 100", "correct"),
        (B("025"), "25", "correct"),
        (B("25"), "025", "correct"),
        (B("007"), "7", "correct"),
        (B("-50"), "-50", "correct", True),
        (B("50"), "-50", "incorrect"),
        (B("-0"), "0", "correct"),
        (B("27.0"), "27", "correct"),
        (B("27"), "27.0", "correct"),
        (B("1\\,000"), "1000", "correct"),
        (B("2000"), "200", "incorrect"),
        (B("+5"), "5", "correct"),
        (B("9999"), "10{,}000", "incorrect"),
        (B("3\\,250"), "3,250", "correct"),
        (B("6290000"), "6,290,000", "correct"),
    ],
)

add(
    "decimal",
    [
        (B("0.5"), "\\frac{1}{2}", "correct", True),
        (B(".35625"), "0.35625", "correct"),
        (B("0.35625"), ".35625", "correct"),
        (B("1.25"), "\\frac{5}{4}", "correct"),
        (B("1.250"), "1.25", "correct"),
        (B("1.26"), "1.25", "incorrect"),
        (B("0.0000672"), ".0000672", "correct"),
        (B("0.0000673"), ".0000672", "incorrect"),
        (B("3.21"), "3.21", "correct"),
        (B("326.5"), "\\frac{653}{2}", "correct"),
        (B("0.667"), "\\frac{2}{3}", "correct"),
        (B("0.6667"), "\\frac{2}{3}", "correct"),
        (B("0.33"), "\\frac{1}{3}", "incorrect"),
        (B("0.124"), "\\frac{1}{8}", "incorrect"),
        (B("0.125"), "\\frac{1}{8}", "correct"),
        (B("1.414"), "\\sqrt{2}", "correct"),
        (B("1.42"), "\\sqrt{2}", "incorrect"),
        (B("3.1416"), "\\pi", "correct"),
        (B("0.1234567"), "0.1234571", "incorrect"),
        (B("13.18"), "13.18", "correct"),
        (B("37.5"), "37.50", "correct"),
        (B("4.5"), "\\frac92", "correct"),
    ],
)

add(
    "fraction",
    [
        (B("\\frac{14}{3}"), "\\frac{14}{3}", "correct", True),
        (B("\\dfrac{14}{3}"), "\\frac{14}{3}", "correct", True),
        (B("\\tfrac{14}{3}"), "\\frac{14}{3}", "correct"),
        (B("14/3"), "\\frac{14}{3}", "correct", True),
        (B("\\frac{28}{6}"), "\\frac{14}{3}", "correct", False),
        (B("\\frac{13}{3}"), "\\frac{14}{3}", "incorrect"),
        (B("\\frac43"), "\\frac{4}{3}", "correct"),
        (B("\\frac 59"), "\\frac{5}{9}", "correct"),
        (B("\\frac9{19}"), "\\frac{9}{19}", "correct"),
        (B("-\\frac{35}{9}"), "-\\frac{35}{9}", "correct"),
        (B("\\frac{-35}{9}"), "-\\frac{35}{9}", "correct"),
        (B("\\frac{35}{-9}"), "-\\frac{35}{9}", "correct", False),
        (B("\\frac{35}{9}"), "-\\frac{35}{9}", "incorrect"),
        (B("\\frac{3}{56}"), "\\frac{3}{56}", "correct"),
        (B("\\frac{6}{112}"), "\\frac{3}{56}", "correct", False),
        (B("\\frac{1997}{2}"), "\\frac{1997}{2}", "correct"),
        (B("998.5"), "\\frac{1997}{2}", "correct"),
        (B("\\frac{4}{2}"), "2", "correct", False),
        (B("\\frac{3}{1}"), "3", "correct", False),
        (B("\\frac{1}{2004!}"), "\\frac{1}{2004!}", "correct"),
        (B("\\frac{1}{2006!}"), "\\frac{1}{2004!}", "incorrect"),
        (B("\\frac{448}{15625}"), "\\frac{448}{15625}", "correct"),
        (B("\\frac{448}{15624}"), "\\frac{448}{15625}", "incorrect"),
        (B("\\frac{2}{1005}"), "\\frac{2}{1005}", "correct"),
        (B("(1/2)"), "\\frac12", "correct"),
    ],
)

add(
    "mixed",
    [
        (B("1\\frac{4}{5}"), "\\frac{9}{5}", "correct", False),
        (B("\\frac{9}{5}"), "1\\frac{4}{5}", "correct", True),
        (B("1.8"), "1\\frac{4}{5}", "correct"),
        (B("137 \\frac{1}{2}"), "\\frac{275}{2}", "correct", False),
        (B("137\\frac12"), "137.5", "correct"),
        (B("2\\frac{1}{2}"), "1", "incorrect"),
        (B("2\\frac{1}{2}"), "\\frac52", "correct"),
        (B("-2\\frac{1}{2}"), "-\\frac52", "correct"),
        (B("12\\frac{3}{5}"), "12\\frac{3}{5}", "correct"),
        (B("1\\frac{1}{9}"), "1\\frac{1}{10}", "incorrect"),
        (B("\\frac{63}{5}"), "12\\frac{3}{5}", "correct"),
        (B("9999\\frac{6}{7}"), "10{,}000", "incorrect"),
    ],
)

add(
    "radical",
    [
        (B("3\\sqrt{13}"), "3\\sqrt{13}", "correct", True),
        (B("\\sqrt{117}"), "3\\sqrt{13}", "correct", False),
        (B("2\\sqrt{2}"), "\\sqrt{8}", "correct", True),
        (B("\\sqrt{8}"), "2\\sqrt2", "correct", False),
        (B("\\sqrt8"), "2\\sqrt{2}", "correct", False),
        (B("11\\sqrt2"), "11\\sqrt{2}", "correct"),
        (B("11\\sqrt3"), "11\\sqrt{2}", "incorrect"),
        (B("\\frac{\\sqrt{3}}{3}"), "\\frac{\\sqrt{3}}{3}", "correct", True),
        (B("\\frac{1}{\\sqrt{3}}"), "\\frac{\\sqrt{3}}{3}", "correct", False),
        (B("\\frac{3\\sqrt{3}}{4}"), "\\frac{3\\sqrt{3}}{4}", "correct"),
        (B("\\frac{3}{4}\\sqrt{3}"), "\\frac{3\\sqrt{3}}{4}", "correct"),
        (B("\\frac{2\\sqrt{2}}{4}"), "\\frac{\\sqrt2}{2}", "correct", False),
        (B("\\sqrt{16}"), "4", "correct", False),
        (B("\\sqrt[3]{54}"), "3\\sqrt[3]{2}", "correct", False),
        (B("3\\sqrt[3]{2}"), "\\sqrt[3]{54}", "correct", True),
        (B("\\sqrt[3]{-8}"), "-2", "correct"),
        (B("1+\\sqrt{2}"), "\\sqrt{3+2\\sqrt{2}}", "correct"),
        (B("\\sqrt{51}"), "\\sqrt{51}", "correct"),
        (B("\\sqrt{52}"), "\\sqrt{51}", "incorrect"),
        (B("11 \\sqrt{5} + 11"), "11 \\sqrt{5} + 11", "correct"),
        (B("11(\\sqrt{5} + 1)"), "11 \\sqrt{5} + 11", "correct"),
        (B("11\\sqrt{5} - 11"), "11 \\sqrt{5} + 11", "incorrect"),
        (B("\\sqrt{2}/2"), "\\frac{1}{\\sqrt2}", "correct"),
        (B("2^{1/2}"), "\\sqrt2", "correct"),
        (B("16 \\sqrt{3}"), "16\\sqrt{3}", "correct"),
    ],
)

add(
    "pi_e",
    [
        (B("\\pi"), "\\pi", "correct"),
        (B("288\\pi"), "288 \\pi", "correct"),
        (B("288 \\pi"), "288", "incorrect"),
        (B("\\frac{20000}{\\pi}"), "\\frac{20000}{\\pi}", "correct"),
        (B("20000/\\pi"), "\\frac{20000}{\\pi}", "correct"),
        (B("18+2\\pi"), "18+2\\pi", "correct"),
        (B("2\\pi+18"), "18+2\\pi", "correct"),
        (B("2(\\pi+9)"), "18+2\\pi", "correct"),
        (B("-\\frac{\\pi}{6}"), "-\\frac{\\pi}{6}", "correct"),
        (B("\\frac{\\pi}{6}"), "-\\frac{\\pi}{6}", "incorrect"),
        (B("e^{2}"), "e^2", "correct"),
        (B("e^{i\\pi}"), "-1", "correct"),
        (B("1-\\frac{1}{e}"), "1+\\frac1e", "incorrect"),
        (B("\\frac{e-1}{e}"), "1-\\frac1e", "correct"),
        (B("\\frac{\\pi^2}{8}"), "\\frac{\\pi^2}{8}", "correct"),
        (B("7\\pi"), "7\\pi", "correct"),
        (B("22/7"), "\\pi", "incorrect"),
    ],
)

add(
    "power_sci",
    [
        (B("2^{10}"), "1024", "correct"),
        (B("1024"), "2^{10}", "correct"),
        (B("2^{2019}"), "2^{2019}", "correct"),
        (B("2^{2018}"), "2^{2019}", "incorrect"),
        (B("2\\cdot 2^{2018}"), "2^{2019}", "correct"),
        (B("10^{-20}"), "2\\times 10^{-20}", "incorrect"),
        (B("2\\times10^{-20}"), "2 \\times 10^{-20}", "correct"),
        (B("6.02\\times 10^{23}"), "6.02 \\times 10^{23}", "correct", False),
        (B("6.02e23"), "6.02 \\times 10^{23}", "correct", False),
        (B("6.02 \\cdot 10^{23}"), "602000000000000000000000", "correct"),
        (B("6.03\\times 10^{23}"), "6.02\\times 10^{23}", "incorrect"),
        (B("1.5 \\times 10^3"), "1500", "correct", False),
        (B("3^{-2}"), "\\frac19", "correct"),
        (B("(-2)^3"), "-8", "correct"),
        (B("-2^2"), "-4", "correct"),
        (B("4^{3/2}"), "8", "correct"),
        (B("5r^5"), "5r^5", "correct"),
        (B("5r^4"), "5r^5", "incorrect"),
    ],
)

add(
    "percent",
    [
        (B("25\\%"), "25", "correct", False),
        (B("25"), "25\\%", "correct"),
        (B("0.25"), "25\\%", "correct"),
        (B("\\frac{1}{4}"), "25\\%", "correct"),
        (B("25\\%"), "0.25", "correct"),
        (B("0.25"), "25", "incorrect"),
        (B("0.5"), "50", "incorrect"),
        (B("50"), "0.5", "incorrect"),
        (B("198\\%"), "198", "correct"),
        (B("20\\%"), "25\\%", "incorrect"),
        (B("25 percent"), "25", "correct"),
        (B("12.5\\%"), "12.5", "correct"),
    ],
)

add(
    "degree",
    [
        (B("90^\\circ"), "90^\\circ", "correct", False),
        (B("90"), "90^\\circ", "correct", True),
        (B("90^{\\circ}"), "90", "correct"),
        (B("90°"), "90", "correct"),
        (B("90 degrees"), "90^\\circ", "correct"),
        (B("\\frac{\\pi}{2}"), "90^\\circ", "correct"),
        (B("30^\\circ"), "\\frac{\\pi}{6}", "correct"),
        (B("30"), "\\frac{\\pi}{6}", "incorrect"),
        (B("\\frac{\\pi}{6}"), "30", "incorrect"),
        (B("145^\\circ"), "145^\\circ", "correct"),
        (B("135^\\circ"), "145^\\circ", "incorrect"),
        (B("\\frac{270}{7}"), "\\frac{270}7\\text{ degrees}", "correct"),
        (B("\\frac{270}{7}^\\circ"), "\\frac{270}7\\text{ degrees}", "correct"),
        (B("\\sin 30^\\circ"), "\\frac{1}{2}", "correct"),
    ],
)

add(
    "units",
    [
        (B("100\\text{ square units}"), "100", "correct", False),
        (B("864 \\text{ inches}^2"), "864 \\mbox{ inches}^2", "correct"),
        (B("864"), "864 \\mbox{ inches}^2", "correct", True),
        (B("15\\text{ cm}^2"), "15\\mbox{ cm}^2", "correct", False),
        (B("15 \\mathrm{cm}^2"), "15", "correct"),
        (B("5.4\\text{ cents}"), "5.4 \\text{ cents}", "correct"),
        (B("5.4"), "5.4 \\text{ cents}", "correct"),
        (B("\\$32,348"), "\\$32,\\!348", "correct", False),
        (B("32348"), "\\$32,\\!348", "correct"),
        (B("\\$18.90"), "\\$18.90", "correct"),
        (B("18.9"), "\\$18.90", "correct"),
        (B("\\$6"), "6", "correct"),
        (B("36 \\text{ dollars}"), "\\$36", "correct"),
        (B("12 \\text{ hours}"), "12", "correct"),
        (B("13 \\text{ hours}"), "12", "incorrect"),
        (B("7 \\text{ inches}"), "7", "correct"),
        (B("25\\text{ mph}"), "25", "correct"),
    ],
)

add(
    "set",
    [
        (B("1,-2"), "1,-2", "correct"),
        (B("-2, 1"), "1,-2", "correct"),
        (B("-2,1"), "1,-2", "correct"),
        (B("1"), "1,-2", "incorrect"),
        (B("1, -2, 3"), "1,-2", "incorrect"),
        (B("3, 5, 7"), "3, 5, 7", "correct"),
        (B("7, 5, 3"), "3, 5, 7", "correct"),
        (B("\\{3, 5, 7\\}"), "3, 5, 7", "correct"),
        (B("3, 5, 6"), "3, 5, 7", "incorrect"),
        (B("\\{-2, 1+\\sqrt5, 1-\\sqrt5\\}"), "\\{1\\pm\\sqrt{5},-2\\}", "correct"),
        (B("1-\\sqrt5, -2, 1+\\sqrt5"), "\\{1\\pm\\sqrt{5},-2\\}", "correct"),
        (B("\\{5\\}"), "5", "correct"),
        (B("5"), "\\{5\\}", "correct"),
        (B("1 \\text{ and } 2"), "1, 2", "correct"),
        (B("1 \\text{ or } 2"), "2, 1", "correct"),
        (B("\\{1, 2\\}"), "(1, 2)", "incorrect"),
        (B("1728"), "1331 \\text{ and } 1728", "incorrect"),
        (B("1331, 1728"), "1331 \\text{ and } 1728", "correct"),
        (B("\\emptyset"), "\\emptyset", "correct"),
    ],
)

add(
    "tuple",
    [
        (B("\\left( 3, \\frac{\\pi}{2} \\right)"), "\\left( 3, \\frac{\\pi}{2} \\right)", "correct"),
        (B("(3, \\pi/2)"), "\\left( 3, \\frac{\\pi}{2} \\right)", "correct"),
        (B("(3, \\frac{3\\pi}{2})"), "\\left( 3, \\frac{\\pi}{2} \\right)", "incorrect"),
        (B("(\\frac{\\pi}{2}, 3)"), "\\left( 3, \\frac{\\pi}{2} \\right)", "incorrect"),
        (B("(6,31,-1)"), "(6,31,-1)", "correct"),
        (B("(6, 31, -1)"), "(6,31,-1)", "correct"),
        (B("(31, 6, -1)"), "(6,31,-1)", "incorrect"),
        (B("(15,-29)"), "(15,-29)", "correct"),
        (B("(-29, 15)"), "(15,-29)", "incorrect"),
        (B("\\left( \\frac{3}{2}, -13 \\right)"), "\\left( \\frac{3}{2}, -13 \\right)", "correct"),
        (B("(1.5, -13)"), "\\left( \\frac{3}{2}, -13 \\right)", "correct"),
        (B("(1,-16,-4,43)"), "(1,-16,-4,43)", "correct"),
        (B("(1,-16,-4)"), "(1,-16,-4,43)", "incorrect"),
        (B("(8,-2)"), "(8,-2)", "correct"),
        (B("(x, y) = (8, -2)"), "(8,-2)", "correct"),
        (B("6, 31, -1"), "(6,31,-1)", "correct"),
    ],
)

add(
    "interval",
    [
        (B("(2,\\infty)"), "(2,\\infty)", "correct"),
        (B("(2, \\infty)"), "(2,\\infty)", "correct"),
        (B("[2,\\infty)"), "(2,\\infty)", "incorrect"),
        (B("(3,4]"), "(3,4]", "correct"),
        (B("(3,4)"), "(3,4]", "incorrect"),
        (B("[3,4]"), "(3,4]", "incorrect"),
        (B("(-\\infty, 0]"), "(-\\infty, 0]", "correct"),
        (B("(-\\infty, 0)"), "(-\\infty, 0]", "incorrect"),
        (B("(-\\infty,2)\\cup(3,\\infty)"), "(-\\infty, 2) \\cup (3, \\infty)", "correct"),
        (B("(3,\\infty)\\cup(-\\infty,2)"), "(-\\infty, 2) \\cup (3, \\infty)", "correct"),
        (B("(-\\infty,2]\\cup(3,\\infty)"), "(-\\infty, 2) \\cup (3, \\infty)", "incorrect"),
        (B("\\left(\\frac{3}{5},\\frac{8}{3}\\right]"), "\\left(\\frac{3}{5},\\frac{8}{3}\\right]", "correct"),
        (B("(0.6, 8/3]"), "\\left(\\frac{3}{5},\\frac{8}{3}\\right]", "correct"),
        (B("[-2,7]"), "x \\in [-2,7]", "correct"),
        (B("x \\in [-2, 7]"), "x \\in [-2,7]", "correct"),
        (B("-2 \\le x \\le 7"), "x \\in [-2,7]", "correct"),
        (B("(-2,7)"), "x \\in [-2,7]", "incorrect"),
        (B("(0,9) \\cup (9,36)"), "(0,9) \\cup (9,36)", "correct"),
        (B("(0,36)"), "(0,9) \\cup (9,36)", "incorrect"),
        (B("(-\\sqrt{3}, \\sqrt{3})"), "(-\\sqrt{3}, \\sqrt{3})", "correct"),
        (
            B("\\left[ \\frac{\\pi^2}{8}, \\frac{5 \\pi^2}{4} \\right]"),
            "\\left[ \\frac{\\pi^2}{8}, \\frac{5 \\pi^2}{4} \\right]",
            "correct",
        ),
        (B("(2,12) \\cup (12,102)"), "(2,12) \\cup (12,102)", "correct"),
        (B("(2,4)"), "(2,4)", "correct"),
        (B("(5,\\infty)"), "(5,\\infty)", "correct"),
        (B("\\mathbb{R}"), "(-\\infty,\\infty)", "correct"),
    ],
)

add(
    "pm",
    [
        (B("1 \\pm \\sqrt{19}"), "1 \\pm \\sqrt{19}", "correct"),
        (B("1+\\sqrt{19}, 1-\\sqrt{19}"), "1 \\pm \\sqrt{19}", "correct"),
        (B("1-\\sqrt{19}, 1+\\sqrt{19}"), "1 \\pm \\sqrt{19}", "correct"),
        (B("1+\\sqrt{19}"), "1 \\pm \\sqrt{19}", "incorrect"),
        (B("3 \\pm 2 \\sqrt{2}"), "3 \\pm 2 \\sqrt{2}", "correct"),
        (B("3+2\\sqrt2,3-2\\sqrt2"), "3 \\pm 2 \\sqrt{2}", "correct"),
        (B("2021"), "\\pm 2021", "incorrect"),
        (B("\\pm 2021"), "2021", "incorrect"),
        (B("\\pm 2021"), "\\pm 2021", "correct"),
        (B("2021, -2021"), "\\pm 2021", "correct"),
        (B("\\pm 3"), "3, -3", "correct"),
        (B("x = \\pm 3"), "3, -3", "correct"),
    ],
)

add(
    "equation",
    [
        (B("x=5"), "x=5", "correct"),
        (B("5"), "x=5", "correct"),
        (B("x = 5"), "5", "correct"),
        (B("x=6"), "x=5", "incorrect"),
        (B("y = 2x + 3"), "y = 2x + 3", "correct"),
        (B("2x+3"), "y = 2x + 3", "correct"),
        (B("y=3+2x"), "y = 2x + 3", "correct"),
        (B("2x - y + 3 = 0"), "y = 2x + 3", "correct"),
        (B("y = 2x - 3"), "y = 2x + 3", "incorrect"),
        (B("y = -2x"), "y = -2x", "correct"),
        (B("2x + y = 0"), "y = -2x", "correct"),
        (B("5x - 7y + 11z + 4 = 0"), "5x - 7y + 11z + 4 = 0", "correct"),
        (B("-5x + 7y - 11z - 4 = 0"), "5x - 7y + 11z + 4 = 0", "correct"),
        (B("10x - 14y + 22z + 8 = 0"), "5x - 7y + 11z + 4 = 0", "correct"),
        (B("5x - 7y + 11z - 4 = 0"), "5x - 7y + 11z + 4 = 0", "incorrect"),
        (B("0"), "5x - 7y + 11z + 4 = 0", "incorrect"),
        (B("5x-7y+11z+4"), "5x - 7y + 11z + 4 = 0", "incorrect"),
        (B("x^2+y^2=1"), "x^2 + y^2 = 1", "correct"),
        (B("x^2+y^2=2"), "x^2 + y^2 = 1", "incorrect"),
        (B("0"), "y=2x+1", "incorrect"),
        (B("k = 3"), "3", "correct"),
        (B("a = b = 4"), "4", "correct"),
    ],
)

add(
    "inequality",
    [
        (B("x > 2"), "(2,\\infty)", "correct"),
        (B("x \\geq 2"), "(2,\\infty)", "incorrect"),
        (B("x \\ge 2"), "[2,\\infty)", "correct"),
        (B("2 < x"), "(2,\\infty)", "correct"),
        (B("x<2 \\text{ or } x>3"), "(-\\infty, 2) \\cup (3, \\infty)", "correct"),
        (B("x \\le 0"), "(-\\infty, 0]", "correct"),
        (B("3 < x \\le 4"), "(3,4]", "correct"),
        (B("3 \\le x \\le 4"), "(3,4]", "incorrect"),
        (B("x > 5"), "(5,\\infty)", "correct"),
        (B("x < 5"), "(5,\\infty)", "incorrect"),
        (B("2<x<4"), "(2,4)", "correct"),
    ],
)

add(
    "matrix",
    [
        (
            B("\\begin{pmatrix} -1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}"),
            "\\begin{pmatrix} -1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}",
            "correct",
        ),
        (
            B("\\begin{pmatrix} -\\frac13 \\\\ \\frac23 \\\\ \\frac53 \\end{pmatrix}"),
            "\\begin{pmatrix} -1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}",
            "correct",
        ),
        (
            B("\\begin{pmatrix} 1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}"),
            "\\begin{pmatrix} -1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}",
            "incorrect",
        ),
        (
            B("\\begin{bmatrix} -2 \\\\ -14 \\\\ -7 \\end{bmatrix}"),
            "\\begin{pmatrix} -2 \\\\ -14 \\\\ -7 \\end{pmatrix}",
            "correct",
        ),
        (B("(-2, -14, -7)"), "\\begin{pmatrix} -2 \\\\ -14 \\\\ -7 \\end{pmatrix}", "correct"),
        (
            B("\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}"),
            "\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}",
            "correct",
        ),
        (
            B("\\begin{pmatrix} -1 & 0 \\\\ 0 & 1 \\end{pmatrix}"),
            "\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}",
            "incorrect",
        ),
        (
            B("\\begin{pmatrix} -1 & 0 & 0 & -1 \\end{pmatrix}"),
            "\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}",
            "incorrect",
        ),
        (
            B("\\begin{pmatrix} 16/49 \\\\ 48/49 \\\\ 24/49 \\end{pmatrix}"),
            "\\begin{pmatrix} 16/49 \\\\ 48/49 \\\\ 24/49 \\end{pmatrix}",
            "correct",
        ),
        (
            B("\\begin{pmatrix} 1/5 \\\\ -18/5 \\end{pmatrix}"),
            "\\begin{pmatrix} 1/5 \\\\ -18/5 \\end{pmatrix}",
            "correct",
        ),
        (
            B("\\begin{pmatrix} 0.2 \\\\ -3.6 \\end{pmatrix}"),
            "\\begin{pmatrix} 1/5 \\\\ -18/5 \\end{pmatrix}",
            "correct",
        ),
    ],
)

add(
    "complex",
    [
        (B("6 - 5i"), "6 - 5i", "correct"),
        (B("-5i + 6"), "6 - 5i", "correct"),
        (B("6 + 5i"), "6 - 5i", "incorrect"),
        (B("-2 + 7i"), "-2 + 7i", "correct"),
        (B("7i-2"), "-2 + 7i", "correct"),
        (B("1+274i"), "1+274i", "correct"),
        (B("1+2i"), "1+2i", "correct"),
        (B("\\frac{2+4i}{2}"), "1+2i", "correct"),
        (B("1 - 12i"), "1 - 12i", "correct"),
        (B("1 - 12 i"), "1 - 12i", "correct"),
        (B("i^2"), "-1", "correct"),
        (B("\\sqrt{-4}"), "2i", "correct"),
    ],
)

add(
    "log_trig",
    [
        (B("\\log_2 8"), "3", "correct"),
        (B("\\log_{2} 8"), "3", "correct"),
        (B("\\ln e^2"), "2", "correct"),
        (B("\\log_3 10"), "\\frac{\\ln 10}{\\ln 3}", "correct"),
        (B("\\log_3 10"), "\\log_{10} 3", "incorrect"),
        (B("\\frac{\\sqrt{3}}{2}"), "\\sin 60^\\circ", "correct"),
        (B("\\cot x"), "\\cot x", "correct"),
        (B("\\frac{\\cos x}{\\sin x}"), "\\cot x", "correct"),
        (B("\\tan x"), "\\cot x", "incorrect"),
        (B("\\sin^2 x + \\cos^2 x"), "1", "correct"),
        (B("\\cos(\\pi)"), "-1", "correct"),
        (B("\\arctan 1"), "\\frac{\\pi}{4}", "correct"),
        (B("\\sin(2x)"), "2\\sin x\\cos x", "correct"),
        (B("2\\sin x \\cos x"), "\\sin 2x", "correct"),
    ],
)

add(
    "expression",
    [
        (B("p - q"), "p - q", "correct"),
        (B("-q + p"), "p - q", "correct"),
        (B("q - p"), "p - q", "incorrect"),
        (B("x^5 - x^4 + x^3 - x^2 + x - 1"), "x^5 - x^4 + x^3 - x^2 + x - 1", "correct"),
        (B("(x-1)(x^4+x^2+1)"), "x^5 - x^4 + x^3 - x^2 + x - 1", "correct"),
        (B("x^5 - x^4 + x^3 - x^2 + x + 1"), "x^5 - x^4 + x^3 - x^2 + x - 1", "incorrect"),
        (B("(a+5)(b+2)"), "(a+5)(b+2)", "correct"),
        (B("ab+2a+5b+10"), "(a+5)(b+2)", "correct"),
        (B("2k+2"), "2k+2", "correct"),
        (B("2(k+1)"), "2k+2", "correct"),
        (B("2k+1"), "2k+2", "incorrect"),
        (B("\\frac{11+9a}{20}"), "\\frac{11+9a}{20}", "correct"),
        (B("\\frac{11}{20}+\\frac{9a}{20}"), "\\frac{11+9a}{20}", "correct"),
        (B("6r^2-4r-24"), "6r^2-4r-24", "correct"),
        (B("2(3r^2-2r-12)"), "6r^2-4r-24", "correct"),
        (B("8n^2 + 4n + 1"), "8n^2 + 4n + 1", "correct"),
        (B("3R^2"), "3R^2", "correct"),
        (B("-13x+3"), "-13x+3", "correct"),
        (B("3-13x"), "-13x+3", "correct"),
        (B("15x - 80"), "15x - 80", "correct"),
        (B("x^3+3x-6"), "x^3+3x-6", "correct"),
        (B("4a-2"), "4a-2", "correct"),
        (B("4t"), "4t", "correct"),
    ],
)

add(
    "base",
    [
        (B("52_8"), "52_8", "correct"),
        (B("52"), "52_8", "correct"),
        (B("42"), "52_8", "incorrect"),
        (B("4210_{5}"), "4210_{5}", "correct"),
        (B("4210_5"), "4210_{5}", "correct"),
        (B("2516_8"), "2516_8", "correct"),
        (B("2516_9"), "2516_8", "incorrect"),
    ],
)

add(
    "text_choice",
    [
        (B("\\text{Evelyn}"), "\\text{Evelyn}", "correct", None),
        (B("Evelyn"), "\\text{Evelyn}", "correct"),
        (B("\\text{Navin}"), "\\text{Evelyn}", "incorrect"),
        (B("\\text{east}"), "\\text{east}", "correct"),
        (B("East"), "\\text{east}", "correct"),
        (B("\\text{west}"), "\\text{east}", "incorrect"),
        (B("\\text{even}"), "\\text{even}", "correct"),
        (B("\\text{odd}"), "\\text{even}", "incorrect"),
        (B("\\text{ellipse}"), "\\text{ellipse}", "correct"),
        (B("\\text{(C)}"), "\\text{(C)}", "correct", None),
        (B("C"), "\\text{(C)}", "correct"),
        (B("(C)"), "\\text{(C)}", "correct"),
        (B("\\textbf{(C)}"), "\\text{(C)}", "correct"),
        (B("(C) 12"), "\\text{(C)}", "correct"),
        (B("(B)"), "\\text{(C)}", "incorrect"),
        (B("A"), "A", "correct"),
        (B("C"), "A", "incorrect"),
        (B("E"), "\\text{(E)}", "correct"),
        (B("12"), "\\text{(C)}", "incorrect"),
        (B("\\text{(C) } 12"), "12", "correct"),
    ],
)

add(
    "extraction",
    [
        ("The sum is 5, so \\boxed{5}.", "5", "correct"),
        ("\\boxed{\\boxed{7}}", "7", "correct"),
        ("We get $\\boxed{\\frac{1}{\\sqrt{2}}}$", "\\frac{\\sqrt2}{2}", "correct"),
        ("\\fbox{12}", "12", "correct"),
        ("So the answer is \\boxed 5.", "5", "correct"),
        ("First \\boxed{3}. Hmm, that is wrong; recheck: \\boxed{4}", "4", "correct"),
        ("\\boxed{1} wait no \\boxed{2}", "2", "correct"),
        ("\\boxed{1} wait no \\boxed{2}", "1", "incorrect"),
        ("The roots are $\\boxed{1}$ and $\\boxed{2}$.", "1, 2", "correct"),
        ("The answer is \\boxed{\\frac{1}{2", "\\frac12", "no_answer"),
        ("We found \\boxed{3} earlier, and finally the answer is \\boxed{4", "3", "no_answer"),
        ("The final answer is $\\frac{3}{4}$.", "\\frac34", "correct"),
        ("The final answer is 17. I hope it is correct.", "17", "correct"),
        ("Therefore, the answer is 3.5.", "\\frac72", "correct"),
        ("Answer: 42", "42", "correct"),
        ("**Answer:** $x = 7$", "7", "correct"),
        ("After simplifying, the result is **12**.", "12", "correct"),
        ("We compute 3 + 4 = 7 and then 7 * 2 = 14", "14", "correct"),
        ("We compute 3 + 4 = 7 and then 7 * 2 = 14", "7", "incorrect"),
        ("I am not sure how to solve this.", "3", "no_answer"),
        ("", "3", "no_answer"),
        ("The answer is $\\boxed{}$", "3", "no_answer"),
        ("$\\boxed{-\\dfrac{24}{25}}$", "-\\frac{24}{25}", "correct"),
        ("so $x=\\boxed{10}$.", "10", "correct"),
        ("Thus the answer is $\\boxed{\\text{(E)}}$.", "\\text{(E)}", "correct"),
    ],
)

add(
    "r1",
    [
        (R1("Let me compute. 2+2 = 4. So the answer is 4.", "The answer is $\\boxed{4}$."), "4", "correct"),
        (R1("Maybe \\boxed{5}? No, it is 4.", "Therefore $\\boxed{4}$."), "4", "correct"),
        (R1("I think it's \\boxed{5}.", "Therefore $\\boxed{4}$."), "5", "incorrect"),
        ("<think>\nLet me compute. Maybe the answer is \\boxed{12}. Wait, let me check again, 3*4", "12", "no_answer"),
        ("<think>\nThe answer is 12. So \\boxed{12}", "12", "no_answer"),
        (R1("Computing... the answer is 12.", ""), "12", "no_answer"),
        (
            R1("We need x. \\boxed{7}", "**Final Answer**\n\n\\[\n\\boxed{\\dfrac{9}{19}}\n\\]"),
            "\\frac{9}{19}",
            "correct",
        ),
        (R1("intermediate 3, 5, 8", "The final answer is $\\boxed{8}$"), "8", "correct"),
        (R1("First attempt gives 3.", "The final answer is \\boxed{\\text{(B)}}"), "B", "correct"),
        ("Some preamble</think>\n\nSo the answer is $\\boxed{6}$.", "6", "correct"),
        (R1("I found 10 then 20.", "**Final Answer**\nThe answer is \\(\\boxed{20}\\)."), "10", "incorrect"),
        (R1("Count: 1, 2, 3, ..., 99.", "\\boxed{100}"), "100", "correct"),
        (R1("The answer might be 3.", "After checking, the answer is 4"), "4", "correct"),
        (R1("First <think> nested? then values 7.", "\\boxed{8}"), "8", "correct"),
        (R1("A long think " * 200, "$$\\boxed{2\\sqrt{2}}$$"), "\\sqrt{8}", "correct"),
        (R1("x", "\\boxed{\\frac{1}{2}"), "\\frac12", "no_answer"),
    ],
)

add(
    "math_verify_known",
    [
        (B("\\frac{1}{2006!}"), "\\frac{1}{2004!}", "incorrect"),
        (B("2 \\cdot 10^{-20}"), "10^{-20}", "incorrect"),
        (B("1.0000001"), "1", "incorrect"),
        (B("0.1234561"), "0.1234564", "incorrect"),
        (B("6.02e23"), "6.02 \\times 10^{23}", "correct"),
        (B("-1"), "e^{i\\pi}", "correct"),
        (B("e^{i\\pi}"), "-1", "correct"),
        (B("5"), "y = 2x + 1", "incorrect"),
        (B("17"), "x^2 + y^2 = 25", "incorrect"),
        (B("1728"), "1331 \\text{ and } 1728", "incorrect"),
        (B("A"), "A", "correct"),
        (B("\\text{A}"), "A", "correct"),
        (B("1+\\frac{1}{e}"), "1-\\frac{1}{e}", "incorrect"),
        (B("2021"), "\\pm 2021", "incorrect"),
        ("So \\boxed{1} wait no \\boxed{2}", "2", "correct"),
        (B("0.5"), "50", "incorrect"),
        (B("50"), "0.5", "incorrect"),
        (B("10^{-30}"), "0", "incorrect"),
        (B("1+10^{-25}"), "1", "incorrect"),
    ],
)

add(
    "hostile",
    [
        (B("10^{10^{10^{10}}}"), "1", "unparseable"),
        (B("1000000!"), "5", "unparseable"),
        (B("(" * 300 + "1" + ")" * 300), "1", "unparseable"),
        (B("1" * 5000), "1", "unparseable"),
        (B("1" * 5000), "1" * 5000, "correct"),
        (B("\\frac{1}{2"), "1", "no_answer"),
        ("\\boxed{\\frac{1}{2}}}}}", "\\frac12", "correct"),
        (B("\\dfrac{1}{2^{2^{2^{2^{2^{2}}}}}}"), "0", "unparseable"),
        (B("2^{2^{2^{2^{2^{2}}}}}"), "2", "unparseable"),
        ("x " * 500_000 + "\\boxed{3}", "3", "correct"),
        ("{" * 10000 + "\\boxed{3}", "3", "correct"),
        (B("\\frac{" * 100 + "1" + "}{2}" * 100), "1", "unparseable"),
        (B("\\sqrt{" * 80 + "2" + "}" * 80), "2", "unparseable"),
        (B("9^{9^{9}}"), "1", "unparseable"),
        (B("\\binom{1000000}{500000}"), "1", "unparseable"),
        (B("\\foo{3}"), "3", "unparseable"),
        (B("@#%"), "3", "unparseable"),
        (B("\\begin{pmatrix} 1 & 2"), "1", "unparseable"),
    ],
)

add(
    "form",
    [
        (B("\\frac{6}{8}"), "\\frac34", "correct", False),
        (B("\\frac{3}{4}"), "\\frac34", "correct", True),
        (B("0.75"), "\\frac34", "correct", True),
        (B("\\frac{7}{4}"), "1\\frac34", "correct", True),
        (B("1\\frac{3}{4}"), "\\frac74", "correct", False),
        (B("2\\sqrt{2}"), "2\\sqrt2", "correct", True),
        (B("\\sqrt{12}"), "2\\sqrt3", "correct", False),
        (B("\\frac{\\sqrt{2}}{2}"), "\\frac{\\sqrt2}{2}", "correct", True),
        (B("\\frac{1}{\\sqrt{2}}"), "\\frac{\\sqrt2}{2}", "correct", False),
        (B("\\frac{2}{\\sqrt{3}}"), "\\frac{2\\sqrt3}{3}", "correct", False),
        (B("5 \\text{ cm}"), "5", "correct", False),
        (B("1.2 \\times 10^{4}"), "12000", "correct", False),
        (B("12000"), "12000", "correct", True),
        (B("3+4"), "7", "correct", False),
        (B("7"), "7", "correct", True),
        (B("\\frac{-3}{4}"), "-\\frac34", "correct", True),
        (B("x = \\frac{4}{6}"), "\\frac23", "correct", False),
        (B("(\\frac{2}{4}, 1)"), "(\\frac12, 1)", "correct", False),
        (B("(\\frac{1}{2}, 1)"), "(\\frac12, 1)", "correct", True),
        (B("\\frac{9}{3}"), "3", "correct", False),
        (B("4\\sqrt{2}"), "\\sqrt{32}", "correct", True),
        (B("\\sqrt{32}"), "4\\sqrt2", "correct", False),
        (B("3\\sqrt{5}"), "3 \\sqrt{5}", "correct", True),
        (B("\\frac{\\sqrt{6}}{3}"), "\\sqrt{\\frac23}", "correct", True),
        (B("\\sqrt{\\frac{2}{3}}"), "\\frac{\\sqrt6}{3}", "correct"),
        ("I could not finish.", "3", "no_answer", None),
    ],
)
