"""The choice checker: options, golds, answer readings, verdicts, and the public MATH-500 choice problems.

The answer phrasings follow what public evaluation code reads from real model outputs (MMLU-Pro's
"answer is (X)" then "Answer: X", simple-evals' "Answer: X", Qwen2.5-Math's "answer is" /
"choice is", boxed letters from R1-style prompts) and what MMLU-Pro's published GPT-4o and
DeepSeek outputs write ("The answer is \\( B \\).", "The answer is J. True, True.",
"The answer is (B): True, True."); the cases themselves are written here.
"""

from __future__ import annotations

import json

import pytest

from curate.verify.choice import CHOICE_VERSION, ChoiceChecker, gold_letter, named_letters, options_of
from curate.verify.domains import Task, make_checker
from curate.verify.question import lettered_options, reading

QUESTION = "What is 7 + 7?\nA. 12\nB. 13\nC. 14\nD. 15"


@pytest.fixture(scope="module")
def checker():
    made = ChoiceChecker()
    yield made
    made.close()


def verdict_of(checker, response, gold="C", question=QUESTION, meta=None, finish_reason="stop"):
    task = Task("p1", question=question, gold_answer=gold, meta=meta or {}, domain="choice")
    return checker.check_many([(task, response, finish_reason)])[0]


# -- the registry -------------------------------------------------------------------------------
def test_the_registry_gives_the_choice_checker():
    made = make_checker("choice")
    try:
        assert isinstance(made, ChoiceChecker) and made.domain == "choice" and made.version == CHOICE_VERSION
        assert CHOICE_VERSION == "choice/2"
    finally:
        made.close()


# -- options ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "question, meta, expected",
    [
        ("Pick one.", {"options": ["12", "13", "14"]}, ["12", "13", "14"]),
        ("Pick one.", {"choices": ["red", "blue"]}, ["red", "blue"]),
        ("Pick one.", {"options": json.dumps(["x", "y"])}, ["x", "y"]),
        ("Pick one.", {"options": {"b": "13", "a": "12"}}, ["12", "13"]),
        ("Pick one.", {"options": ["A)21", "B)21.5", "C)22"]}, ["21", "21.5", "22"]),  # AQuA
        ("Pick one.", {"options": "a ) 38 , b ) 27.675 , c ) 30"}, ["38", "27.675", "30"]),  # MathQA
        (QUESTION, {}, ["12", "13", "14", "15"]),
        ("Which?\n(A) red\n(B) blue\n(C) green", {}, ["red", "blue", "green"]),
        ("Which?\nA) red\nB) blue", {}, ["red", "blue"]),
        ("Which?\n- A) red\n- B) blue", {}, ["red", "blue"]),
        ("Which is largest? $\\textbf{(A)}\\ 3 \\qquad \\textbf{(B)}\\ 5$", {}, ["3", "5"]),
        ("Which? $\\textbf{(A)}\\ x = 7$ $\\textbf{(B)}\\ x = 8$", {}, ["x = 7", "x = 8"]),
        ("Which?\nA. red\nC. green", {}, []),  # lines without both A and B are not options
        ("A rectangle ABCD has AB = 3.", {}, []),
        ("Only (A) is labelled.", {}, []),
    ],
)
def test_options_come_from_meta_or_the_questions_lettered_lines(question, meta, expected):
    assert options_of(question, meta) == expected


def test_the_question_rule_is_the_math_verifiers_own():
    question = "Which curve?\n(A) Line\n(B) Circle\n(C) Plane\n(D) Sphere\n(E) Cylinder\n(F) Cone"
    # The math verifier reads (A)-(E) as before; the choice domain reads further letters and line labels.
    assert reading(question).options == lettered_options(question) == dict(zip("ABCDE", options_of(question, {})))
    assert options_of(question, {})[-1] == "Cone"
    assert reading(QUESTION).options == {}


# -- golds --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "gold, letter",
    [
        ("C", "C"),
        ("(C)", "C"),
        ("\\text{(C)}", "C"),
        ("c", "C"),  # MathQA writes its golds in lower case
        ("C) 14", "C"),
        ("14", "C"),  # an option's text
        ("2", "C"),  # no option is "2": a 0-based index, as MMLU and MMLU-Pro store it
        ("\\frac{28}{2}", "C"),  # equal in value to one option
    ],
)
def test_a_gold_is_normalised_to_a_letter(gold, letter):
    from curate.verify.checker import Verifier

    with Verifier(workers=1) as verifier:
        assert gold_letter(gold, ["12", "13", "14", "15"], verifier) == letter


def test_a_gold_that_is_an_options_text_wins_over_its_reading_as_an_index():
    assert gold_letter("1", ["0", "1", "2"]) == "B"
    assert gold_letter("x", ["x", "y"]) == "A"  # a lower-case option, not the letter X


def test_a_gold_outside_the_options_is_an_error_naming_it(checker):
    got = verdict_of(checker, "The answer is (C).", gold="F")
    assert got.verdict == "error" and "F is not among the options (A-D)" in got.reason
    got = verdict_of(checker, "The answer is (C).", gold="16")
    assert got.verdict == "error" and "'16' is none of the 4 options" in got.reason


# -- reading the answer -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "response, source",
    [
        ("The answer is (C).", "final_answer_phrase"),
        ("Therefore, the answer is C.", "final_answer_phrase"),
        ("Answer: C", "final_answer_phrase"),
        ("answer: $C$", "final_answer_phrase"),
        ("**Answer:** C", "final_answer_phrase"),
        ("**Answer:**\n\nC", "final_answer_phrase"),
        ("The correct answer is: **C) 14**", "final_answer_phrase"),
        ("The correct option is C.", "final_answer_phrase"),
        ("The best choice is (C) 14.", "final_answer_phrase"),
        ("The answer is \\( C \\).", "final_answer_phrase"),
        ("The answer is C. 14, since 7 + 7 = 14.", "final_answer_phrase"),
        ("The answer is (C): 14.", "final_answer_phrase"),
        ("I choose C.", "final_answer_phrase"),
        ("7 + 7 = 14.\n\n\\boxed{C}", "boxed"),
        ("So the final answer is $\\boxed{\\text{(C)}}$.", "boxed"),
        ("\\boxed{C: 14}", "boxed"),
        ("\\boxed{14}", "boxed"),
        ("So it is **C**.", "bold"),
        ("**(C) 14**", "bold"),
        ("C. Because 7 + 7 = 14.", "choice"),
        ("(C)", "choice"),
        ("14", "option_text"),
        ("The answer is 14 (option C).", "final_answer_phrase"),
        ("The answer is **(C) 14**.", "final_answer_phrase"),
        ("Answer — C", "final_answer_phrase"),
        ("Therefore, the correct statement is (C).", "final_answer_phrase"),
        ("So the right one is C.", "final_answer_phrase"),
        ("Hence, option (C) is correct.", "final_answer_phrase"),
        ("Checking each: A is wrong and B is wrong. C is the best answer.", "final_answer_phrase"),
        ("**Final Answer**\n\\[\n\\boxed{C}\n\\]", "boxed"),
        ("So, the correct option is:\nC. 14\n\nThe sum is 14.", "final_answer_phrase"),
        ("The best course of action would be:\n\nC. 14\n\nThis keeps the sum right.", "option_line"),
    ],
)
def test_a_letter_or_an_options_text_is_read_from_the_final_answer(checker, response, source):
    got = verdict_of(checker, response)
    assert (got.verdict, got.answer, got.answer_source) == ("correct", "C", source), got.reason
    assert got.reason == 'answered C ("14"), the gold'


def test_a_letter_said_to_be_correct_in_part_is_no_answer(checker):
    assert verdict_of(checker, "Option A is correct in stating that 7 is odd.").verdict == "no_answer"
    assert verdict_of(checker, "Option D is incorrect. So, C.").verdict == "no_answer"


def test_a_restated_list_of_options_is_no_answer(checker):
    listed = "The options are:\nA. 12\nB. 13\nC. 14\nD. 15\n\nI cannot decide."
    assert verdict_of(checker, listed).verdict == "no_answer"


def test_an_options_value_is_read_with_the_math_verifiers_equivalence(checker):
    meta = {"options": ["\\frac{1}{3}", "\\frac{1}{2}", "\\frac{2}{3}"]}
    got = verdict_of(checker, "The probability is $\\boxed{0.5}$.", gold="B", question="P(heads)?", meta=meta)
    assert (got.verdict, got.answer) == ("correct", "B")
    got = verdict_of(checker, "The answer is $\\frac{4}{6}$.", gold="B", question="P(heads)?", meta=meta)
    assert (got.verdict, got.answer) == ("incorrect", "C")
    assert got.reason == 'answered C ("\\frac{2}{3}"), gold B ("\\frac{1}{2}")'


def test_an_incorrect_answer_names_both_options(checker):
    got = verdict_of(checker, "The answer is (B).")
    assert (got.verdict, got.reason) == ("incorrect", 'answered B ("13"), gold C ("14")')


def test_the_reasoning_is_never_read_only_the_final_answer(checker):
    trace = (
        "<think>\nLet me see. Maybe A... 7 + 7 is 12? No. Wait, maybe the answer is B. Hmm, no, it's C: "
        "7 + 7 = 14. Actually, let me double check option D... no, C.\n</think>\n\n"
        "Adding 7 and 7 gives 14.\n\n**Answer: C**"
    )
    assert verdict_of(checker, trace).verdict == "correct"
    wrong = trace.replace("**Answer: C**", "The answer is (D).")
    got = verdict_of(checker, wrong)
    assert (got.verdict, got.answer) == ("incorrect", "D")
    # A letter that appears only in the thinking is no answer.
    assert verdict_of(checker, "<think>It is C.</think>\n\nI am not sure.").verdict == "no_answer"


def test_a_later_answer_phrase_wins_over_an_earlier_one(checker):
    got = verdict_of(checker, "At first the answer is (A) looked right.\n\nOn reflection, the answer is (C).")
    assert got.answer == "C"


@pytest.mark.parametrize(
    "response, named",
    [
        ("The answer is A or C.", "A, C"),
        ("The answer is either (A) or (C).", "A, C"),
        ("Answer: A, C", "A, C"),
        ("$\\boxed{A}$ and $\\boxed{C}$", "A, C"),
        ("The answer is (A) 12 or (C) 14.", "A, C"),
        ("The answers are B and C.", "B, C"),
        ("Answer: A and C are both correct.", "A, C"),
    ],
)
def test_two_different_options_are_incorrect(checker, response, named):
    got = verdict_of(checker, response)
    assert (got.verdict, got.answer, got.reason) == ("incorrect", named, f"two different options: {named}")


@pytest.mark.parametrize(
    "response",
    [
        "The answer is C, not A.",
        "The answer is C, and B is wrong.",
        "The answer is C or rather (C) 14.",  # the same option twice
    ],
)
def test_a_second_letter_in_a_sentence_is_not_a_second_answer(checker, response):
    assert verdict_of(checker, response).verdict == "correct"


def test_option_text_that_holds_letters_is_not_two_answers(checker):
    meta = {"options": ["A only", "B only", "Both A and B", "Neither"]}
    got = verdict_of(checker, "The answer is (C) Both A and B.", question="Which?", meta=meta)
    assert (got.verdict, got.answer) == ("correct", "C")


def test_a_letter_outside_the_options_is_incorrect_naming_it(checker):
    got = verdict_of(checker, "The answer is (F).")
    assert (got.verdict, got.answer) == ("incorrect", "F")
    assert got.reason == "answered F, which is not an option (A-D)"


@pytest.mark.parametrize(
    "response, reason",
    [
        ("The answer is \\boxed{C", "cut off at the token limit"),
        ("<think>Maybe A, maybe C", "cut off at the token limit"),
    ],
)
def test_a_response_cut_off_at_the_token_limit_has_no_answer(checker, response, reason):
    got = verdict_of(checker, response, finish_reason="length")
    assert got.verdict == "no_answer" and reason in got.reason and got.answer is None


@pytest.mark.parametrize(
    "response, reason",
    [
        ("<think>It is C", "never closed"),
        ("", "empty response"),
        ("I am not sure which one is right.", "names no option (A-D)"),
        ("The answer is 16.", 'the final answer "16" names no option (A-D)'),
        ("A plane has no such property.", "names no option"),  # "A" is an article
        ("I think so.", "names no option"),  # "I" is a pronoun
    ],
)
def test_no_letter_and_no_option_is_no_answer(checker, response, reason):
    got = verdict_of(checker, response)
    assert got.verdict == "no_answer" and reason in got.reason, got.reason


@pytest.mark.parametrize(
    "response, verdict",
    [
        ("x " * 500_000, "no_answer"),  # one 1 MB line: read as prose, not compared with every option
        ("A" * 1_000_000, "no_answer"),
        ("the answer is " * 50_000, "no_answer"),
        ("(A) " * 200_000 + "The answer is C", "correct"),
    ],
)
def test_a_huge_response_is_read_like_a_short_one(checker, response, verdict):
    assert verdict_of(checker, response).verdict == verdict


def test_a_and_i_are_letters_where_they_name_options(checker):
    meta = {"options": [str(n) for n in range(10, 20)]}
    assert verdict_of(checker, "The answer is (I).", gold="I", question="?", meta=meta).verdict == "correct"
    assert verdict_of(checker, "A is correct because 10 fits.", gold="A", question="?", meta=meta).verdict == "correct"
    assert verdict_of(checker, "Answer: I", gold="I", question="?", meta=meta).verdict == "correct"


@pytest.mark.parametrize(
    "span, letters",
    [
        ("(C)", ["C"]),
        ("C)", ["C"]),
        ("c)", ["C"]),
        ("Cl is chlorine", []),
        ("I'm sure", []),
        ("B/D", ["B", "D"]),
    ],
)
def test_named_letters(span, letters):
    assert named_letters(span) == letters


def test_without_options_letters_are_still_compared(checker):
    got = verdict_of(checker, "The answer is (B).", gold="B", question="Which one?")
    assert (got.verdict, got.reason) == ("correct", "answered B, the gold")


def test_verdicts_come_back_in_order(checker):
    task = Task("p1", question=QUESTION, gold_answer="C", domain="choice")
    got = checker.check_many([(task, "Answer: C", "stop"), (task, "Answer: A", "stop"), (task, "", "stop")])
    assert [v.verdict for v in got] == ["correct", "incorrect", "no_answer"]


# -- public data: MATH-500's lettered problems ------------------------------------------------
def test_math500s_choice_problems_read_as_choice_problems(shared_data, checker):
    path = shared_data / "simpleRL-reason" / "math500" / "test.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    lettered = [row for row in rows if "\\text{(" in row["answer"]]
    assert len(lettered) == 3
    for row in lettered:
        options = options_of(row["problem"], {})
        assert len(options) >= 5, row["unique_id"]
        gold = gold_letter(row["answer"], options)
        assert gold == row["answer"][7]  # "\text{(C)}"
        task = Task(row["unique_id"], question=row["problem"], gold_answer=row["answer"], domain="choice")
        right = f"<think>Maybe (A)? No.</think>\n\nThe answer is $\\boxed{{\\text{{({gold})}}}}$."
        by_text = f"The curve is a {options[ord(gold) - 65].lower()}, so the answer is {options[ord(gold) - 65]}."
        wrong = "Enter the letter: \\boxed{A}" if gold != "A" else "\\boxed{B}"
        got = checker.check_many([(task, right, "stop"), (task, by_text, "stop"), (task, wrong, "stop")])
        assert [v.verdict for v in got] == ["correct", "correct", "incorrect"], [v.reason for v in got]
