"""eval.metrics against values computed by hand (arithmetic written out beside each case)."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import pytest

from eval.metrics import (
    accuracy,
    maj_at_k,
    majority_correct,
    mcnemar,
    mean_and_std,
    paired_bootstrap,
    pass_at_1,
    pass_at_1_by,
    pass_at_k,
    pass_at_k_curve,
    pass_at_k_problem,
    shown_ks,
    votes_apply,
    word_count,
)

# Three problems, four samples each: 4/4, 2/4 and 0/4 correct.
OUTCOMES = [[True, True, True, True], [True, False, False, True], [False, False, False, False]]


def test_pass_at_1_is_mean_of_problem_shares_with_standard_error() -> None:
    estimate = pass_at_1(OUTCOMES)
    # shares 1, 0.5, 0 -> mean 0.5; sample variance ((0.5)^2 + 0 + (0.5)^2) / 2 = 0.25; SE = sqrt(0.25 / 3)
    assert estimate.mean == pytest.approx(0.5)
    assert estimate.spread == pytest.approx(math.sqrt(0.25 / 3))
    assert estimate.n == 3


def test_pass_at_1_of_uneven_sample_counts_weights_problems_equally() -> None:
    # 1/1 and 1/3 -> (1 + 1/3) / 2 = 2/3, not 2/4 pooled over samples
    assert pass_at_1([[True], [True, False, False]]).mean == pytest.approx(2 / 3)


def test_pass_at_1_of_one_problem_has_no_standard_error() -> None:
    estimate = pass_at_1([[True, False]])
    assert estimate.mean == 0.5 and math.isnan(estimate.spread)
    assert pass_at_1([]).n == 0


def test_pass_at_k_unbiased_estimator_by_hand() -> None:
    # n=4, c=2, k=2: 1 - C(2,2)/C(4,2) = 1 - 1/6
    assert pass_at_k_problem(4, 2, 2) == pytest.approx(5 / 6)
    # n=5, c=1, k=3: 1 - C(4,3)/C(5,3) = 1 - 4/10
    assert pass_at_k_problem(5, 1, 3) == pytest.approx(0.6)
    assert pass_at_k_problem(4, 0, 2) == 0.0
    assert pass_at_k_problem(4, 3, 2) == 1.0  # only one wrong sample: any two include a right one
    # k=1 is the plain share
    assert pass_at_k_problem(4, 3, 1) == pytest.approx(0.75)
    # over OUTCOMES, k=2: (1 + 5/6 + 0) / 3
    assert pass_at_k(OUTCOMES, 2) == pytest.approx((1 + 5 / 6) / 3)


def test_pass_at_k_needs_k_samples() -> None:
    with pytest.raises(ValueError, match="pass@5"):
        pass_at_k_problem(4, 1, 5)


def brute_force_pass_at_k(n: int, c: int, k: int) -> Fraction:
    """The share of the C(n, k) ways to pick k of the n samples (the first c right) that hold a right one."""
    subsets = list(itertools.combinations(range(n), k))
    return Fraction(sum(any(i < c for i in subset) for subset in subsets), len(subsets))


def test_pass_at_k_equals_enumerating_every_subset() -> None:
    for n in range(1, 9):
        for c in range(n + 1):
            for k in range(1, n + 1):
                assert pass_at_k_problem(n, c, k) == pytest.approx(float(brute_force_pass_at_k(n, c, k)), abs=1e-12)


def test_pass_at_k_stays_exact_where_the_binomials_overflow_a_float() -> None:
    # C(2000, 1000) is about 10^600, past a float's range; the exact ratio needs integers.
    for n, c, k in [(2000, 3, 1000), (2000, 1990, 5), (500, 1, 250), (10_000, 7, 1)]:
        exact = 1 - Fraction(math.comb(n - c, k), math.comb(n, k))
        assert pass_at_k_problem(n, c, k) == pytest.approx(float(exact), rel=1e-9)


def test_pass_at_k_curve_by_hand() -> None:
    # OUTCOMES: k=1 (1 + 1/2 + 0)/3 = 1/2; k=2 (1 + 5/6 + 0)/3; k=3: 2 right of 4, 1 - C(2,3)/C(4,3) = 1;
    # k=4: any of the four, 1 -> (1 + 1 + 0)/3 for both
    curve = pass_at_k_curve(OUTCOMES)
    assert list(curve) == [1, 2, 3, 4]
    assert curve[1] == pytest.approx(0.5)
    assert curve[2] == pytest.approx((1 + 5 / 6) / 3)
    assert curve[3] == pytest.approx(2 / 3) and curve[4] == pytest.approx(2 / 3)
    # the curve stops at the fewest samples any problem has
    assert list(pass_at_k_curve([[True, False, False], [False, True]])) == [1, 2]
    assert pass_at_k_curve([]) == {}


def test_pass_at_k_never_falls_as_k_grows() -> None:
    rows = [[i % 3 == 0 for i in range(j, j + 10)] for j in range(5)] + [[False] * 10, [True] * 10]
    values = list(pass_at_k_curve(rows).values())
    assert values == sorted(values)


def test_shown_ks_are_powers_of_two_and_n() -> None:
    assert shown_ks(1) == [1]
    assert shown_ks(4) == [1, 2, 4]
    assert shown_ks(5) == [1, 2, 4, 5]
    assert shown_ks(16) == [1, 2, 4, 8, 16]
    assert shown_ks(0) == []


def test_majority_voting_applies_to_math_and_choice_only() -> None:
    assert votes_apply(["math", "choice", None])
    assert not votes_apply(["math", "code"])
    assert not votes_apply(["sql"])


def test_accuracy_of_a_code_and_a_math_set() -> None:
    # (key, correct) per sample; OUTCOMES' three problems, keys "r" when right, "w" when wrong
    votes = [[("r" if ok else "w", ok) for ok in row] for row in OUTCOMES]
    math_set = accuracy(votes, ["math"] * 3)
    assert (math_set.problems, math_set.samples, math_set.per_problem) == (3, 12, 4)
    assert math_set.pass_at_1.mean == pytest.approx(0.5)
    assert math_set.pass_at_k[2] == pytest.approx((1 + 5 / 6) / 3) and math_set.pass_at_n == pytest.approx(2 / 3)
    # maj@4: problem 1 votes r; problem 2 ties 2-2, r seen first; problem 3 w -> 2/3
    assert math_set.maj_at_k == pytest.approx(2 / 3)
    code_set = accuracy([[(None, ok) for ok in row] for row in OUTCOMES], ["code"] * 3)
    assert code_set.pass_at_k == math_set.pass_at_k and code_set.maj_at_k is None
    assert accuracy(votes, ["math", "code", "math"]).maj_at_k is None
    empty = accuracy([], [])
    assert empty.problems == 0 and empty.pass_at_k == {} and math.isnan(empty.pass_at_n)


def test_majority_vote_ties_go_to_the_answer_seen_first() -> None:
    # "7" (right) twice, "8" (wrong) twice: tie, "8" came first -> wrong
    votes = [("8", False), ("7", True), ("8", False), ("7", True)]
    assert majority_correct(votes) is False
    assert majority_correct(votes[1:]) is True  # "7" twice, "8" once
    # first k only: k=1 -> "8"
    assert majority_correct([("7", True), ("8", False), ("8", False)], k=1) is True
    assert majority_correct([("7", True), ("8", False), ("8", False)], k=3) is False


def test_samples_without_an_answer_do_not_vote() -> None:
    assert majority_correct([(None, False), (None, False), ("3", True)]) is True
    assert majority_correct([(None, False)]) is False


def test_maj_at_k_over_problems() -> None:
    problems = [
        [("5", True), ("5", True), ("6", False)],  # majority right
        [("1", False), ("2", True), ("1", False)],  # majority wrong
        [("9", True), (None, False), (None, False)],  # the one vote is right
        [],  # no samples: left out
    ]
    assert maj_at_k(problems) == pytest.approx(2 / 3)
    assert maj_at_k(problems, k=2) == pytest.approx(2 / 3)  # [5,5] right, [1,2] tie -> "1" wrong, [9] right


def test_per_group_pass_at_1() -> None:
    result = pass_at_1_by(["speed", "individual", "speed", None], OUTCOMES + [[True]])
    assert result["speed"].mean == pytest.approx(0.5)  # 1 and 0
    assert result["individual"].mean == pytest.approx(0.5)
    assert result["-"].mean == 1.0
    assert list(result) == ["-", "individual", "speed"]


def test_mean_and_std_across_seeds() -> None:
    # the case study's five seeds would look like this: mean 0.6943, std of the values (ddof 1)
    estimate = mean_and_std([0.69, 0.70, 0.69, 0.70, 0.69])
    assert estimate.mean == pytest.approx(0.694)
    # deviations -0.004, 0.006, -0.004, 0.006, -0.004: squares sum 0.00012 / 4 = 0.00003
    assert estimate.spread == pytest.approx(math.sqrt(0.00003))
    assert mean_and_std([0.5, float("nan")]).n == 1


def test_word_count() -> None:
    assert word_count("The answer is \\boxed{5}.\n\nDone") == 5
    assert word_count(None) == 0


def test_mcnemar_exact_for_few_discordant_problems() -> None:
    a = [True, True, True, True, False, True]
    b = [False, False, False, True, False, True]
    result = mcnemar(a, b)
    # b=3 (A only), c=0: p = 2 * P(X <= 0 | n=3, 1/2) = 2 / 8
    assert (result.only_a, result.only_b, result.exact) == (3, 0, True)
    assert result.p_value == pytest.approx(0.25)
    assert mcnemar([True], [True]).p_value == 1.0


def test_mcnemar_stays_exact_for_many_discordant_problems() -> None:
    a = [True] * 20 + [False] * 10 + [True] * 5
    b = [False] * 20 + [True] * 10 + [True] * 5
    result = mcnemar(a, b)
    # exact: 2 * sum_{i<=10} C(30, i) / 2^30 = 2 * 53009102 / 1073741824 = 0.098737;
    # the chi-square approximation would say 0.10035. Statistic (|20 - 10| - 1)^2 / 30 = 2.7 beside it.
    assert result.p_value == pytest.approx(2 * 53009102 / 2**30)
    assert result.statistic == pytest.approx(2.7)
    assert result.exact


def test_mcnemar_p_value_does_not_jump_at_25_discordant_problems() -> None:
    # 24 and 25 discordant problems, split as evenly lopsided: the p-values sit close together.
    def p(only_a: int, only_b: int) -> float:
        return mcnemar([True] * only_a + [False] * only_b, [False] * only_a + [True] * only_b).p_value

    assert p(18, 6) == pytest.approx(0.022656, abs=1e-6)  # 2 * P(X <= 6 | 24, 1/2)
    assert p(18, 7) == pytest.approx(0.043285, abs=1e-6)  # exact; the chi-square approximation said 0.0455
    # thousands of discordant problems: still exact, no float underflow (normal approximation: about 0.197)
    assert mcnemar([True] * 3000 + [False] * 2900, [False] * 3000 + [True] * 2900).p_value == pytest.approx(
        0.19744, abs=1e-5
    )


def test_paired_bootstrap_interval() -> None:
    same = paired_bootstrap([1, 0, 1], [1, 0, 1])
    assert (same.difference, same.low, same.high) == (0.0, 0.0, 0.0)
    # every difference is 0.5: every resample's mean is 0.5
    shifted = paired_bootstrap([1.0, 0.5, 1.0], [0.5, 0.0, 0.5])
    assert (shifted.low, shifted.high) == (pytest.approx(0.5), pytest.approx(0.5))
    mixed = paired_bootstrap([1, 1, 1, 0] * 10, [0, 1, 1, 0] * 10, seed=3)
    assert mixed.difference == pytest.approx(0.25)
    assert 0 < mixed.low < 0.25 < mixed.high < 0.5
    with pytest.raises(ValueError):
        paired_bootstrap([1], [1, 0])
