"""Verifier benchmark: this project's verifier vs Math-Verify on the same pairs, in one run.

Sets:
  (a) the labelled set, tests/curate/verify/cases.py (hand-labelled, all categories + hostile);
  (b) MATH-500 gold answers against re-written equivalent forms and perturbed (wrong) forms
      generated here from each gold;
  (c) the 800 labelled samples of Qwen2.5-Math's math_cot_100.jsonl (8 responses per problem,
      labels in `score`); every disagreement with the labels is listed;
  (d) mixed forms: free-form (unboxed) responses and labelled golds built here from each MATH-500
      gold (last math span, final-answer sentence, a later statement after an intermediate box,
      "PQ = gold" / "f(2) = gold" golds), each with a wrong twin, plus the policy cases of
      tests/curate/verify/policy_cases.py (with their questions; Math-Verify sees no question);
  (e) --external FILE: a JSONL of {"gold", "response", "expected": true|false, "source"} pairs
      assembled from other projects' public test suites (kept outside the repository); the
      figure is reported per source.

Both verifiers run with the same number of worker processes (--workers) and the same hard
per-pair timeout (a killed process, since Math-Verify's own timeout is SIGALRM-based).
Math-Verify is the `bench` extra of pyproject.toml. Accuracy is agreement with the label on
"correct vs not correct" (Math-Verify answers only True/False); this verifier's exact-verdict
accuracy (five classes) is printed beside it on (a).

    python bench/verify.py [--workers 2] [--timeout 5] [--sets a,b,c,d] [--external FILE] [--show-disagreements]

"FP" counts false positives: "correct" where the label is not correct (the costly error).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from curate.verify import Verifier  # noqa: E402
from curate.verify.equivalence import Outcome  # noqa: E402
from curate.verify.workers import WorkerPool  # noqa: E402

MATH500 = ROOT / "tests/data/public/simpleRL-reason/math500/test.jsonl"
MATH_COT = ROOT / "tests/data/public/Qwen2.5-Math/eval_rm_maj_example/math_cot_100.jsonl"


# ---- Math-Verify, run inside a WorkerPool worker (hard-killed on timeout) ----------------------


def math_verify_compare(gold: str, response: str) -> Outcome:
    from math_verify import parse, verify

    try:
        # A bare gold is wrapped in $...$; one written with its own delimiters or box (set e) is not.
        delimited = re.search(r"(?<!\\)\$|\\\(|\\\[|\\boxed", gold) is not None
        gold_parsed = parse(gold if delimited else f"${gold}$")
        answer_parsed = parse(response)
        equal = bool(verify(gold_parsed, answer_parsed))
    except Exception as error:  # Math-Verify raising on odd input counts as "not correct"
        return Outcome("incorrect", f"error {type(error).__name__}")
    return Outcome("correct" if equal else "incorrect", "")


# A few (gold, answer) pairs through every worker first: both libraries load code lazily.
WARM_UP = [
    ("\\frac{\\sqrt{3}}{2}", "\\boxed{\\sin(\\pi/3)}"),
    ("x^2+1", "\\boxed{1+x^2}"),
    ("(1, 2]", "\\boxed{(1,2]}"),
    ("2\\pi", "\\boxed{2\\pi}"),
] * 4


def run_math_verify(pairs: list[tuple[str, str]], workers: int, timeout: float):
    """(correct flags, per-pair ms, wall seconds) for (response, gold) pairs."""
    import math_verify  # noqa: F401  (imported before the fork, like SymPy for this verifier)

    with WorkerPool(workers, timeout=timeout, compare=math_verify_compare) as pool:
        pool._ensure_started()
        pool.run(WARM_UP)
        started = time.perf_counter()
        results = pool.run([(pair[1], pair[0]) for pair in pairs])
        wall = time.perf_counter() - started
    flags = [outcome is not None and outcome.status == "correct" for outcome, _ in results]
    return flags, [ms for _, ms in results], wall


def run_ours(pairs: list[tuple[str, str]], workers: int, timeout: float):
    """(verdicts, per-pair ms, wall seconds); the pool is started before the clock, as above."""
    with Verifier(workers=workers, timeout=timeout) as verifier:
        verifier._pool_for()._ensure_started()
        verifier._pool_for().run([(gold, response[len("\\boxed{") : -1]) for gold, response in WARM_UP])
        started = time.perf_counter()
        verdicts = verifier.verdicts(pairs)
        wall = time.perf_counter() - started
    return verdicts, [v.elapsed_ms for v in verdicts], wall


# ---- sets --------------------------------------------------------------------------------------


def boxed(answer: str) -> str:
    return f"So the final answer is $\\boxed{{{answer}}}$."


def set_a():
    from tests.curate.verify.cases import CASES

    return [(c.response, c.gold, c.verdict) for c in CASES]


_INTEGER = re.compile(r"^-?\d+$")
_FRAC = re.compile(r"^(-?)\\[dt]?frac\{?(\d+)\}?\{?(\d+)\}?$")
_ROOT = re.compile(r"^(\d+)\s*\\sqrt\{?(\d+)\}?$")
_DEGREE = re.compile(r"^(\d+)\^\\circ$")
_ASSIGN = re.compile(r"^[a-z]\s*=\s*(-?\d+)$")


def equivalent_forms(gold: str) -> list[str]:
    """Forms equal to the gold by construction: a cosmetic variant, and a value rewrite when the
    gold's shape allows one that is certainly equal."""
    cosmetic = gold.replace("\\dfrac", "\\frac") if "\\dfrac" in gold else gold.replace("\\frac", "\\dfrac")
    cosmetic = f" {cosmetic} " if cosmetic == gold else cosmetic
    forms = [cosmetic]
    plain = gold.replace(" ", "")
    if _INTEGER.match(plain):
        n = int(plain)
        forms.append(f"{n:,}" if abs(n) >= 10000 else f"{n}.0")
    elif m := _FRAC.match(plain):
        sign, p, q = m.group(1), int(m.group(2)), int(m.group(3))
        value = Fraction(p, q)
        if value.denominator in (1, 2, 4, 5, 8, 10, 16, 20, 25, 40, 50, 100):
            forms.append(sign + format(float(value), "g"))
        else:
            forms.append(f"{sign}{p}/{q}")
    elif m := _ROOT.match(plain):
        k, n = int(m.group(1)), int(m.group(2))
        forms.append(f"\\sqrt{{{k * k * n}}}")
    elif m := _DEGREE.match(plain):
        forms.append(m.group(1))
    elif m := _ASSIGN.match(plain):
        forms.append(m.group(1))
    elif re.fullmatch(r"\(-?\d+,-?\d+\)", plain):
        forms.append("\\left(" + plain[1:-1].replace(",", ", ") + "\\right)")
    elif re.fullmatch(r"\\text\{[A-Za-z ]+\}", plain):
        forms.append(gold[6:-1])
    return forms


def perturbed_form(gold: str) -> str:
    """A form that differs in value: the first digit changed (the last could be a unit's
    exponent, as in "15 cm^2"), or a factor 2 for digit-free golds."""
    digits = [i for i, c in enumerate(gold) if c.isdigit()]
    if digits:
        i = digits[0]
        return gold[:i] + str((int(gold[i]) + 1) % 10) + gold[i + 1 :]
    if gold.startswith("\\text{"):
        return "\\text{nobody}"
    return f"2\\left({gold}\\right)"


def set_b():
    rows = [json.loads(line) for line in MATH500.open()]
    out = []
    for row in rows:
        gold = row["answer"]
        for form in equivalent_forms(gold):
            out.append((boxed(form), gold, "correct"))
        out.append((boxed(perturbed_form(gold)), gold, "incorrect"))
    return out


_UNBOXED = [
    "We simplify step by step, so the value we need is ${}$.",
    "Final answer: the quantity asked for is ${}$.",
    "At first we guessed $\\boxed{{0}}$, but that fails. Hence the final answer is ${}$.",
]


def set_d():
    """Mixed forms (module doc): unboxed answers and labelled golds from MATH-500, and our policy cases."""
    from tests.curate.verify.policy_cases import POLICY_CASES

    out = []
    for row in (json.loads(line) for line in MATH500.open()):
        gold = row["answer"]
        wrong = perturbed_form(gold)
        for template in _UNBOXED:
            out.append((template.format(gold), gold, "correct"))
            out.append((template.format(wrong), gold, "incorrect"))
        if _INTEGER.match(gold.replace(" ", "")):
            for label in ("PQ", "f(2)", "|AB|"):
                out.append((boxed(gold), f"{label} = {gold}", "correct"))
                out.append((boxed(wrong), f"{label} = {gold}", "incorrect"))
    for _, response, gold, question, finish_reason, verdict in POLICY_CASES:
        out.append((response, gold, "correct" if verdict == "correct" else "incorrect", question, finish_reason))
    return out


def set_e(path: Path):
    out = []
    for line in path.open():
        if line.strip():
            row = json.loads(line)
            out.append(
                (
                    row["response"],
                    row["gold"],
                    "correct" if row["expected"] else "incorrect",
                    row.get("question"),
                    None,
                    row.get("source", "?"),
                )
            )
    return out


def set_c():
    out = []
    for row in (json.loads(line) for line in MATH_COT.open()):
        for response, label in zip(row["code"], row["score"]):
            out.append((response, row["answer"], "correct" if label else "incorrect", row["idx"], row["gt"]))
    return out


# ---- report ------------------------------------------------------------------------------------


def summarize(name: str, rows, workers: int, timeout: float, show: bool) -> dict:
    # (response, gold[, question, finish_reason]): only (d) and (e) carry a question.
    pairs = [(r[0], r[1], *(r[3:5] if name[1] in "de" else ())) for r in rows]
    labels = [r[2] for r in rows]
    ours, our_ms, our_wall = run_ours(pairs, workers, timeout)
    theirs, their_ms, their_wall = run_math_verify(pairs, workers, timeout)
    truth = [label == "correct" for label in labels]
    our_flags = [v.verdict == "correct" for v in ours]
    result = {
        "set": name,
        "pairs": len(pairs),
        "ours_acc": sum(a == b for a, b in zip(our_flags, truth)) / len(pairs),
        "ours_exact": sum(v.verdict == label for v, label in zip(ours, labels)) / len(pairs),
        "mv_acc": sum(a == b for a, b in zip(theirs, truth)) / len(pairs),
        "ours_fp": sum(a and not b for a, b in zip(our_flags, truth)),
        "mv_fp": sum(a and not b for a, b in zip(theirs, truth)),
        "ours_rate": len(pairs) / our_wall,
        "mv_rate": len(pairs) / their_wall,
        "ours_max_ms": max(our_ms),
        "mv_max_ms": max(their_ms),
        "ours_slow": sum(ms > (timeout + 0.5) * 1000 for ms in our_ms),
        "mv_slow": sum(ms > (timeout + 0.5) * 1000 for ms in their_ms),
    }
    if show:
        for row, verdict, mv in zip(rows, ours, theirs):
            label = row[2] == "correct"
            if (verdict.verdict == "correct") != label or mv != label:
                extra = f" idx={row[3]} gt={row[4]!r}" if name[1] == "c" else (f" src={row[5]}" if len(row) > 5 else "")
                print(
                    f"  [{name}] label={row[2]} ours={verdict.verdict} mv={'correct' if mv else 'incorrect'}"
                    f" answer={_short(verdict.answer)} gold={_short(row[1])}{extra} :: {verdict.reason}"
                )
    return result


def _short(text: str | None) -> str:
    shown = repr(text)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--sets", default="a,b,c,d")
    parser.add_argument("--external", type=Path, help="JSONL of external gold/response pairs: set (e)")
    parser.add_argument("--show-disagreements", action="store_true")
    args = parser.parse_args()
    builders = {
        "a": ("(a) labelled", set_a),
        "b": ("(b) MATH-500 forms", set_b),
        "c": ("(c) math_cot_100", set_c),
        "d": ("(d) mixed forms", set_d),
    }
    keys = args.sets.split(",") + (["e"] if args.external else [])
    results = []
    for key in keys:
        if key == "e":
            rows = set_e(args.external)
            for source in sorted({row[5] for row in rows}):
                part = [row for row in rows if row[5] == source]
                results.append(
                    summarize(f"(e) {source}"[:22], part, args.workers, args.timeout, args.show_disagreements)
                )
            if len({row[5] for row in rows}) > 1:
                results.append(summarize("(e) external, all", rows, args.workers, args.timeout, False))
            continue
        name, build = builders[key]
        # (c) has real labels: its disagreements are always listed.
        results.append(summarize(name, build(), args.workers, args.timeout, args.show_disagreements or key == "c"))
    print(f"\nworkers={args.workers} timeout={args.timeout}s (same for both; hard-killed worker processes)")
    header = (
        f"{'set':22} {'pairs':>5} | {'ours acc':>8} {'exact':>6} {'FP':>4} {'pairs/s':>8} {'max ms':>7} {'>t+0.5':>6} |"
        f" {'MV acc':>7} {'FP':>4} {'pairs/s':>8} {'max ms':>7} {'>t+0.5':>6} | {'speed-up':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        exact = f"{r['ours_exact']:6.1%}" if r["set"].startswith("(a)") else f"{'-':>6}"
        print(
            f"{r['set']:22} {r['pairs']:5} | {r['ours_acc']:8.2%} {exact} {r['ours_fp']:4} {r['ours_rate']:8.0f}"
            f" {r['ours_max_ms']:7.0f} {r['ours_slow']:6} | {r['mv_acc']:7.2%} {r['mv_fp']:4} {r['mv_rate']:8.0f}"
            f" {r['mv_max_ms']:7.0f} {r['mv_slow']:6} | {r['ours_rate'] / r['mv_rate']:7.1f}x"
        )


if __name__ == "__main__":
    main()
