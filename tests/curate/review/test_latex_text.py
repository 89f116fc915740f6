"""LaTeX -> Unicode for the rendering toggle: values survive (the case pylatexenc's plain
latex-to-text gets wrong, `\\boxed{\\dfrac34}` -> "34", is the first row)."""

from __future__ import annotations

import pytest

from curate.review.answers import boxed_spans, distinct_answers, final_answer_span
from curate.review.latex_text import to_unicode

CASES = [
    (r"\boxed{\dfrac34}", "⟦3/4⟧"),
    (r"\frac{1}{2}", "1/2"),
    (r"\tfrac12", "1/2"),
    (r"10^{-3}", "10⁻³"),
    (r"\sqrt[3]{x}", "∛x"),
    (r"\sqrt{2}", "√2"),
    (r"\sqrt{x+1}", "√(x+1)"),
    (r"\sqrt[5]{32}", "⁵√32"),
    (r"\frac{a+b}{c-d}", "(a+b)/(c-d)"),
    (r"\frac{n(n+1)}{2}", "n(n+1)/2"),
    (r"\frac{1}{\sqrt{2}}", "1/√2"),
    (r"\frac{\pi}{4}", "π/4"),
    (r"x_1 + x_{10}", "x₁ + x₁₀"),
    (r"a_{ij}", "aᵢⱼ"),
    (r"2^{10}", "2¹⁰"),
    (r"x^{q}", "x^q"),  # no small q in Unicode: stays readable, not dropped
    (r"x_{b}", "x_b"),
    (r"90^\circ", "90°"),
    (r"\alpha \le \beta", "α ≤ β"),
    (r"\left(\frac{1}{2}\right)^2", "(1/2)²"),
    (r"3\text{ cm}^2", "3 cm²"),
    (r"\{1, 2\}", "{1, 2}"),
    (r"\mathfrak{g}", r"\mathfrak{g}"),  # unknown commands stay as written
    (r"\boxed{(1, 2]}", "⟦(1, 2]⟧"),
    (r"$5 and \$6", "$5 and $6"),  # dollars stay: they may be money
    (r"\frac{1}{2", "1/{2"),  # an unclosed brace is kept
]


@pytest.mark.parametrize("latex,text", CASES)
def test_latex_becomes_unicode_and_values_survive(latex, text):
    assert to_unicode(latex) == text


def test_boxed_spans_raw_and_converted_and_the_final_answer():
    text = r"try \boxed{4} then \boxed{\frac{1}{2}} and \boxed{ 4 }"
    spans = boxed_spans(text)
    assert [inner for _, _, inner in spans] == ["4", r"\frac{1}{2}", " 4 "]
    assert distinct_answers(spans) == ["4", r"\frac{1}{2}"]
    converted = to_unicode(text)
    assert [inner for _, _, inner in boxed_spans(converted)] == ["4", "1/2", " 4 "]
    whole = (0, len(text))
    assert final_answer_span(text, whole, (0, 0), None) == (spans[-1][0], spans[-1][1])
    plain = "so the answer is 17."
    assert final_answer_span(plain, (0, len(plain)), (0, 0), "17") == (17, 19)
    assert final_answer_span(plain, (0, len(plain)), (0, 0), None) is None
