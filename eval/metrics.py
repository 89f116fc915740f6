"""Evaluation statistics as pure functions (no store, no I/O), each checked against hand-computed
cases in tests/eval/test_metrics.py.

Conventions
- A run's outcomes are per problem: a list of booleans (one per sample, in sample order), or
  for majority voting a list of (answer_key, correct) pairs where answer_key is the verifier's
  canonical answer (None when no answer was extracted).
- pass@1 is the mean over problems of the per-problem share of correct samples (the mean over
  all samples when every problem has the same number), with the standard error of that mean
  across problems (sample standard deviation of the per-problem shares / sqrt(problems)).
- pass@k is the unbiased estimator of Chen et al. (2021): per problem with n samples of which c
  are correct, 1 - C(n-c, k) / C(n, k), averaged over problems; it needs n >= k. The ratio is
  computed as the product prod_{i=n-c+1}^{n} (1 - k/i), which neither overflows nor loses the
  small differences that subtracting two huge binomials would. It applies to every domain
  (a sample is right or wrong whatever the checker); `pass_at_k_curve` gives k = 1..n.
- maj@k votes among the first k samples' answer keys (samples without an answer do not vote);
  the most frequent key wins, ties go to the key reached first in sample order; the problem
  counts as solved when the winning key's samples are correct. No votes: not solved. It is
  defined for the domains whose answers have a canonical key (VOTING_DOMAINS: math, choice);
  a program or a query has none (two right programs rarely match as text), so code and SQL
  get no maj@k.
- McNemar's test compares two runs' per-problem solved/unsolved outcomes: always the exact
  two-sided binomial p-value on the discordant problems (cheap at any eval size: one sum of
  binomial coefficients), so the p-value does not jump where an approximation would take over.
  The chi-square statistic with continuity correction is reported beside it for reference.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

import numpy as np

from curate.verify.domains import VOTING_DOMAINS


@dataclass(frozen=True)
class Estimate:
    """A mean with its standard error (or standard deviation, where said) and the count behind it."""

    mean: float
    spread: float
    n: int


def problem_accuracies(outcomes: Sequence[Sequence[bool]]) -> list[float]:
    """Share of correct samples per problem; problems without samples are left out."""
    return [sum(map(bool, row)) / len(row) for row in outcomes if len(row)]


def pass_at_1(outcomes: Sequence[Sequence[bool]]) -> Estimate:
    """Mean per-problem accuracy with its standard error across problems."""
    shares = problem_accuracies(outcomes)
    if not shares:
        return Estimate(math.nan, math.nan, 0)
    mean = sum(shares) / len(shares)
    if len(shares) < 2:
        return Estimate(mean, math.nan, len(shares))
    variance = sum((s - mean) ** 2 for s in shares) / (len(shares) - 1)
    return Estimate(mean, math.sqrt(variance / len(shares)), len(shares))


def pass_at_1_by(groups: Sequence[object], outcomes: Sequence[Sequence[bool]]) -> dict[str, Estimate]:
    """pass@1 per group (section, year, source, difficulty); problems without a group go under "-"."""
    rows: dict[str, list[Sequence[bool]]] = {}
    for group, row in zip(groups, outcomes, strict=True):
        rows.setdefault("-" if group is None else str(group), []).append(row)
    return {group: pass_at_1(rows[group]) for group in sorted(rows)}


def pass_at_k_problem(n: int, c: int, k: int) -> float:
    """Chance that at least one of k samples drawn without replacement from n (c correct) is correct."""
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"pass@{k} needs at least {k} samples per problem, got {n}")
    if n - c < k:
        return 1.0
    # 1 - prod_{i=n-c+1}^{n} (1 - k/i): the ratio of binomials without overflowing.
    return 1.0 - float(np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def pass_at_k(outcomes: Sequence[Sequence[bool]], k: int) -> float:
    """Unbiased pass@k averaged over problems (every problem needs at least k samples)."""
    values = [pass_at_k_problem(len(row), sum(map(bool, row)), k) for row in outcomes if len(row)]
    return sum(values) / len(values) if values else math.nan


def pass_at_k_curve(outcomes: Sequence[Sequence[bool]]) -> dict[int, float]:
    """pass@k for every k from 1 to the fewest samples any problem has ({} without samples)."""
    rows = [row for row in outcomes if len(row)]
    if not rows:
        return {}
    return {k: pass_at_k(rows, k) for k in range(1, min(len(row) for row in rows) + 1)}


def shown_ks(n: int) -> list[int]:
    """The k a table shows out of 1..n: the powers of two below n, and n itself."""
    ks = [1 << i for i in range(n.bit_length()) if 1 << i < n]
    return ks + [n] if n >= 1 else []


def votes_apply(domains: Sequence[str | None]) -> bool:
    """Whether maj@k means something for problems of these domains (all of them can vote; None is math)."""
    return all((domain or "math") in VOTING_DOMAINS for domain in domains)


@dataclass(frozen=True)
class Accuracy:
    """What a table shows of a set of problems' samples (a run, or one domain of it)."""

    problems: int
    samples: int
    per_problem: int  # the fewest samples any problem has: the largest k pass@k is defined for
    pass_at_1: Estimate
    pass_at_k: dict[int, float]  # k = 1..per_problem
    maj_at_k: float | None  # None where a domain's answers cannot vote (VOTING_DOMAINS)

    @property
    def pass_at_n(self) -> float:
        """pass@k at k = samples per problem (NaN without samples)."""
        return self.pass_at_k.get(self.per_problem, math.nan)


def accuracy(votes_per_problem: Sequence[Sequence[tuple[str | None, bool]]], domains: Sequence[str | None]) -> Accuracy:
    """pass@1, pass@k (k = 1..n) and maj@k of problems given as (answer_key, correct) per sample,
    with each problem's domain (maj@k only when every domain votes)."""
    rows = [row for row in votes_per_problem if len(row)]
    outcomes = [[correct for _key, correct in row] for row in rows]
    return Accuracy(
        problems=len(rows),
        samples=sum(map(len, rows)),
        per_problem=min(map(len, rows), default=0),
        pass_at_1=pass_at_1(outcomes),
        pass_at_k=pass_at_k_curve(outcomes),
        maj_at_k=maj_at_k(rows) if rows and votes_apply(domains) else None,
    )


def majority_correct(votes: Sequence[tuple[str | None, bool]], k: int | None = None) -> bool:
    """Whether the majority answer among the first k samples is correct (see the module doc)."""
    considered = list(votes if k is None else votes[:k])
    counts = Counter(key for key, _ in considered if key is not None)
    if not counts:
        return False
    top = max(counts.values())
    winner = next(key for key, _ in considered if key is not None and counts[key] == top)
    return any(correct for key, correct in considered if key == winner)


def maj_at_k(votes_per_problem: Sequence[Sequence[tuple[str | None, bool]]], k: int | None = None) -> float:
    """Share of problems whose majority answer (first k samples; all when k is None) is correct."""
    rows = [row for row in votes_per_problem if len(row)]
    if not rows:
        return math.nan
    return sum(majority_correct(row, k) for row in rows) / len(rows)


def mean_and_std(values: Sequence[float]) -> Estimate:
    """Mean and sample standard deviation (ddof 1) across seeds or training runs; NaNs skipped."""
    kept = [v for v in values if v is not None and not math.isnan(v)]
    if not kept:
        return Estimate(math.nan, math.nan, 0)
    mean = sum(kept) / len(kept)
    if len(kept) < 2:
        return Estimate(mean, math.nan, 1)
    return Estimate(mean, math.sqrt(sum((v - mean) ** 2 for v in kept) / (len(kept) - 1)), len(kept))


def word_count(text: str | None) -> int:
    """Words as whitespace-separated pieces, the unit of the length study's budgets."""
    return len(text.split()) if text else 0


# ---- paired comparison of two runs ---------------------------------------------------------


@dataclass(frozen=True)
class McNemar:
    only_a: int  # problems A solves and B does not
    only_b: int
    statistic: float | None  # chi-square with continuity correction (for reference); None without discordant problems
    p_value: float  # exact two-sided binomial
    exact: bool = True


def mcnemar(solved_a: Sequence[bool], solved_b: Sequence[bool]) -> McNemar:
    """McNemar's test on paired per-problem outcomes (same problems, same order)."""
    if len(solved_a) != len(solved_b):
        raise ValueError("McNemar's test needs the same problems in both runs")
    only_a = sum(1 for a, b in zip(solved_a, solved_b) if a and not b)
    only_b = sum(1 for a, b in zip(solved_a, solved_b) if b and not a)
    discordant = only_a + only_b
    if discordant == 0:
        return McNemar(only_a, only_b, None, 1.0)
    # Exact integer arithmetic, then one division: no float underflow at large counts.
    tail = Fraction(sum(math.comb(discordant, i) for i in range(min(only_a, only_b) + 1)), 2**discordant)
    statistic = (abs(only_a - only_b) - 1) ** 2 / discordant
    return McNemar(only_a, only_b, statistic, float(min(Fraction(1), 2 * tail)))


@dataclass(frozen=True)
class PairedDifference:
    difference: float  # mean(A) - mean(B) over the shared problems
    low: float
    high: float
    confidence: float
    n: int


def paired_bootstrap(
    scores_a: Sequence[float],
    scores_b: Sequence[float],
    *,
    resamples: int = 10_000,
    confidence: float = 0.95,
    seed: int = 0,
) -> PairedDifference:
    """Mean paired difference with a percentile bootstrap interval (problems resampled)."""
    a = np.asarray(scores_a, dtype=float)
    b = np.asarray(scores_b, dtype=float)
    if a.shape != b.shape or a.size == 0:
        raise ValueError("a paired bootstrap needs the same, non-empty list of problems in both runs")
    differences = a - b
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, differences.size, size=(resamples, differences.size))
    means = differences[picks].mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return PairedDifference(float(differences.mean()), float(low), float(high), confidence, int(differences.size))
