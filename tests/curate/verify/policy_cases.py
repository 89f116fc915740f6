r"""The policy case table of verifier v2: which README policy each case pins down.

Each row: (policy, response, gold, question, finish_reason, expected verdict). `policy` is the
name in the README's policy table ("curate verify"); test_policies.py runs every row with the
policy as its test id and checks that every README policy has at least one row here.
Written by hand for this project.
"""

from __future__ import annotations

MC = "Which is it? (A) 9 (B) 18 (C) 27 (D) 36 (E) 45"

POLICY_CASES: list[tuple[str, str, str, str | None, str | None, str]] = [
    # extraction
    ("last-math-span", "So $y \\le -2$ is what we need.", "y \\le -2", None, None, "correct"),
    ("last-math-span", "Thus the point $(2, 9)$ is the one we want.", "(2, 9)", None, None, "correct"),
    ("last-math-span", "Thus the point $(2, 9)$ is the one we want.", "9", None, None, "incorrect"),
    ("last-math-span", "The value of $x$ is 5.", "5", None, None, "correct"),
    ("last-math-span", "Adding up, $a+b = 17$.", "17", None, None, "correct"),
    ("last-math-span", "$w$", "w", None, None, "correct"),
    ("last-math-span", "-\\frac{7}{3}", "-7/3", None, None, "correct"),
    ("last-math-span", "The code QX7B was wrong.", "7", None, None, "no_answer"),
    ("last-math-span", "We end with 2 500 000", "2500000", None, None, "correct"),
    ("final-answer-sentence", "Final answer: the smallest such $k$ is 12.", "12", None, None, "correct"),
    ("final-answer-sentence", "The final answer is that there are 40 ways.", "40", None, None, "correct"),
    ("final-answer-sentence", "The final answer is that there are 40 ways.", "41", None, None, "incorrect"),
    ("later-final-answer-beats-box", "First $\\boxed{16}$ pairs. Then doubling... Hence the final answer is $2{,}048$.",
     "2048", None, None, "correct"),
    ("later-final-answer-beats-box", "First $\\boxed{16}$ pairs. Then doubling... Hence the final answer is $2{,}048$.",
     "16", None, None, "incorrect"),
    ("boxes-as-gold-parts", "\\boxed{4} for the first part and \\boxed{7} for the second", "4, 7", None, None, "correct"),
    ("boxes-as-gold-parts", "$t_1=\\boxed{3}$ and $t_2=\\boxed{5}$", "3, 5", None, None, "correct"),
    ("boxes-as-gold-parts", "\\boxed{4} at first, but really \\boxed{7}", "7", None, None, "correct"),
    ("boxes-as-gold-parts", "\\boxed{4} at first, but really \\boxed{7}", "4", None, None, "incorrect"),
    ("letter-in-prose", "B. because the others fail", "B", None, None, "correct"),
    ("letter-in-prose", "The answer is (C).", "C", None, None, "correct"),
    ("letter-in-prose", "I pick option D since it fits.", "C", None, None, "incorrect"),
    ("cut-off-no-fallback", "We try 12, then \\boxed{5}", "5", None, "length", "no_answer"),
    ("cut-off-no-fallback", "<think>the sum is 5 so far", "5", None, None, "no_answer"),
    ("cut-off-no-fallback", "<think>ok</think>Count: 5", "5", None, "stop", "correct"),
    # parsing
    ("percent-words", "\\boxed{40 pct}", "40\\%", None, None, "correct"),
    ("percent-words", "\\boxed{40 per cent}", "0.4", None, None, "correct"),
    ("percent-words", "\\boxed{4 pct}", "40\\%", None, None, "incorrect"),
    ("percent-words", "\\boxed{40 percentage}", "40\\%", None, None, "correct"),
    ("space-thousands", "\\boxed{3 600 000}", "3600000", None, None, "correct"),
    ("space-thousands", "\\boxed{3 600 001}", "3600000", None, None, "incorrect"),
    ("space-thousands", "\\boxed{4{, }096}", "4096", None, None, "correct"),
    ("space-thousands", "\\boxed{0.125}", "0,125", None, None, "incorrect"),
    ("mixed-number-spaced", "\\boxed{7 1/4}", "\\frac{29}{4}", None, None, "correct"),
    ("mixed-number-spaced", "\\boxed{7 1/4}", "\\frac{7}{4}", None, None, "incorrect"),
    ("ratio", "\\boxed{4:6}", "2:3", None, None, "correct"),
    ("ratio", "\\boxed{A_1 : A_2 = 2:3}", "\\frac{2}{3}", None, None, "correct"),
    ("ratio", "\\boxed{3:2}", "2:3", None, None, "incorrect"),
    ("ratio", "\\boxed{1:15}", "4:30", None, None, "unparseable"),
    ("ratio", "\\boxed{4:30}", "4:30", None, None, "correct"),
    ("ratio", "\\boxed{\\frac{10}{20}}", "W_1:W_2 = 10:20", None, None, "correct"),
    ("ratio", "\\boxed{10:20}", "W_1:W_2 = 10:20", None, None, "correct"),
    ("ratio", "\\boxed{10:21}", "W_1:W_2 = 10:20", None, None, "incorrect"),
    ("not-equal", "\\boxed{t \\neq 4}", "(-\\infty, 4) \\cup (4, \\infty)", None, None, "correct"),
    ("not-equal", "\\boxed{t \\neq 4}", "(-\\infty, 4)", None, None, "incorrect"),
    ("inequality-any-arrangement", "\\boxed{-3z > 12}", "z < -4", None, None, "correct"),
    ("inequality-any-arrangement", "\\boxed{12 < -3z}", "(-\\infty, -4)", None, None, "correct"),
    ("inequality-any-arrangement", "\\boxed{-3z > 12}", "z > -4", None, None, "incorrect"),
    ("inequality-any-arrangement", "\\boxed{1 < 2u + 1 \\le 7}", "(0, 3]", None, None, "correct"),
    ("inequality-chain", "\\boxed{3 \\le |v| < 6}", "(-6, -3] \\cup [3, 6)", None, None, "correct"),
    ("inequality-chain", "\\boxed{3 \\le |v| < 6}", "[3, 6)", None, None, "incorrect"),
    ("inequality-chain", "\\boxed{(-3, 4)}", "-3 < h(s) < 4", None, None, "correct"),
    ("calligraphic-and-text-e", "\\boxed{\\mathcal{F}}", "\\mathcal{F}", None, None, "correct"),
    ("calligraphic-and-text-e", "\\boxed{e^3}", "\\text{e}^3", None, None, "correct"),
    ("calligraphic-and-text-e", "\\boxed{e^2}", "\\text{e}^3", None, None, "incorrect"),
    # labelled golds
    ("labelled-gold", "\\boxed{5, 9}", "AB=5, CD=9", None, None, "correct"),
    ("labelled-gold", "\\boxed{9, 5}", "AB=5, CD=9", None, None, "incorrect"),
    ("labelled-gold", "\\boxed{CD=9, AB=5}", "AB=5, CD=9", None, None, "correct"),
    ("labelled-gold", "\\boxed{AB=9, CD=5}", "AB=5, CD=9", None, None, "incorrect"),
    ("labelled-gold", "\\boxed{11}", "h(3)=11", None, None, "correct"),
    ("labelled-gold", "\\boxed{11}", "|MN|=11", None, None, "correct"),
    ("labelled-gold", "\\boxed{6}", "xy=6", None, None, "incorrect"),
    ("labelled-gold", "\\boxed{(2,4),(3,7)}", "p=2,q=4; p=3,q=7", None, None, "correct"),
    ("labelled-gold", "\\boxed{(2,4),(3,7)}", "p=2, q=4 \\text{ and } p=3, q=7", None, None, "correct"),
    ("labelled-gold", "\\boxed{(2,4),(7,3)}", "p=2, q=4 \\text{ and } p=3, q=7", None, None, "incorrect"),
    ("labelled-gold", "\\boxed{\\frac{2}{\\sqrt{5}}}", "\\frac{AM}{MB} = \\frac{2}{\\sqrt{5}}", None, None, "correct"),
    ("labelled-gold", "\\boxed{(4,2),(3,7)}", "p=2,q=4; p=3,q=7", None, None, "incorrect"),
    ("duplicate-items", "\\boxed{(1,2), (3,4), (1,2)}", "(3,4), (1,2)", None, None, "correct"),
    ("duplicate-items", "\\boxed{5}", "5, 5", None, None, "incorrect"),
    ("duplicate-items", "\\boxed{5, 5, 6}", "5, 6, 7", None, None, "incorrect"),
    # question-aware
    ("question-order-words", "\\boxed{3, 1, 2}", "1, 2, 3", "List the roots in increasing order.", None, "incorrect"),
    ("question-order-words", "\\boxed{1, 2, 3}", "1, 2, 3", "List the roots in increasing order.", None, "correct"),
    ("question-order-words", "\\boxed{3, 1, 2}", "1, 2, 3", "Find all solutions, separated by commas.", None, "correct"),
    ("question-order-words", "\\boxed{3, 1, 2}", "1, 2, 3", None, None, "correct"),
    ("question-multiple-choice", "\\boxed{27}", "C", MC, None, "correct"),
    ("question-multiple-choice", "\\boxed{C}", "27", MC, None, "correct"),
    ("question-multiple-choice", "\\boxed{D}", "27", MC, None, "incorrect"),
    ("question-multiple-choice", "\\boxed{36}", "C", MC, None, "incorrect"),
    ("question-nearest", "\\boxed{3.1}", "\\frac{22}{7}", "Give it to the nearest tenth.", None, "correct"),
    ("question-nearest", "\\boxed{3.2}", "\\frac{22}{7}", "Give it to the nearest tenth.", None, "incorrect"),
    ("question-nearest", "\\boxed{3}", "\\pi", "Round to the nearest whole number.", None, "correct"),
    ("question-nearest", "\\boxed{3.1}", "\\frac{22}{7}", None, None, "incorrect"),
    ("question-percent", "\\boxed{25\\%}", "25", "What percent of the cards are red?", None, "correct"),
    ("question-percent", "\\boxed{0.25}", "25", "What percent of the cards are red?", None, "incorrect"),
]

# (response, gold, question, form_ok): the form check with the question's "common fraction".
FORM_CASES = [
    ("\\boxed{0.75}", "\\frac34", "Express your answer as a common fraction.", False),
    ("\\boxed{\\frac34}", "0.75", "Express your answer as a common fraction.", True),
    ("\\boxed{0.75}", "\\frac34", None, True),
]
