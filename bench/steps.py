"""Step-check benchmark (curate/verify/steps.py) on material this project did not write.

Sets (all under ../shared/data, see its SOURCES.md):
  (a) false alarms: reference solutions taken as error-free (GSM8K test answers with their
      `<<calc>>` annotations removed, MATH-500, OlympiadBench, Minerva): the share of solutions
      with an unretracted `wrong` claim; every flag is printed for review, since a reference
      solution can hold a real slip.
  (b) arithmetic slips: in each solution with a checked numeric result, one result is changed
      here (off by one, off by ten, two digits swapped, a factor of ten; seeded), the way a
      calculation error looks in step-labelled sets such as PRM800K and ProcessBench (one step
      whose computation is wrong, the rest as before). Found at the right step = the first
      unretracted `wrong` claim of the changed text covers the changed number.
  (c) word-problem errors on GSM8K (with the question): one step per solution changed the way
      ProcessBench's and PRMBench's labels describe word-problem errors: (c1) a quantity misread
      and the written result kept (the step contradicts itself), (c2) a quantity misread and the
      result recomputed, (c3) the wrong operation, result recomputed (later steps keep the old
      values). Same "right step" rule as (b).
  (d) speed: R1-length traces (about 20,000 characters: solutions strung together with R1's
      self-checks between them) through `check_steps` in this one process, traces/s.
  (f) real model outputs: the 800 Qwen2.5-Math CoT samples of math_cot_100.jsonl (answer
      correctness labelled in `score`): how many right and wrong answers hold a flagged step;
      every flag is printed for review.
  (e) plain verify speed: `check_many` on GSM8K answers vs gold, with this tree and with
      another tree given by --baseline-tree (e.g. /work/main), in child processes.

    python bench/steps.py [--sets a,b,c,d,e,f] [--seed 0] [--baseline-tree /work/main] [--show]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from curate.verify import check_steps, check_steps_many  # noqa: E402
from curate.verify.claims import find_claims  # noqa: E402

DATA = ROOT.parent.parent / "shared" / "data"
if not DATA.exists():
    DATA = Path("/work/shared/data")


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open()]


def gsm8k() -> list[tuple[str, str]]:
    """(question, solution text without annotations or the #### line) pairs."""
    rows = _jsonl(DATA / "grade-school-math" / "test.jsonl")
    return [(r["question"], re.sub(r"<<[^<>]*>>", "", r["answer"].split("####")[0]).strip()) for r in rows]


def reference_solutions() -> dict[str, list[str]]:
    return {
        "GSM8K": [solution for _, solution in gsm8k()],
        "MATH-500": [r["solution"] for r in _jsonl(DATA / "simpleRL-reason" / "math500" / "test.jsonl")],
        "OlympiadBench": [
            "\n\n".join(r["solution"]) for r in _jsonl(DATA / "Qwen2.5-Math" / "olympiadbench" / "test.jsonl")
        ],
        "Minerva": [r["solution"] for r in _jsonl(DATA / "Qwen2.5-Math" / "minerva_math" / "test.jsonl")],
    }


def flagged(checks) -> list:
    return [c for c in checks if c.status == "wrong" and not c.retracted]


# ---- (a) false alarms ------------------------------------------------------------------------


def false_alarms(show: bool) -> None:
    print("(a) false alarms on reference solutions (taken as error-free)")
    print("| set | solutions | claims checked | ok | unchecked | solutions flagged | rate |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    flags = []
    total = total_flagged = 0
    for name, texts in reference_solutions().items():
        results = check_steps_many(texts, workers=1)
        claims = sum(len(r) for r in results)
        ok = sum(1 for r in results for c in r if c.status == "ok")
        unchecked = sum(1 for r in results for c in r if c.status == "unchecked")
        hit = [i for i, r in enumerate(results) if flagged(r)]
        flags.extend((name, texts[i], c) for i in hit for c in flagged(results[i]))
        total += len(texts)
        total_flagged += len(hit)
        print(f"| {name} | {len(texts)} | {claims} | {ok} | {unchecked} | {len(hit)} | {len(hit) / len(texts):.2%} |")
    print(f"| all | {total} | | | | {total_flagged} | {total_flagged / total:.2%} |")
    pairs = gsm8k()
    results = check_steps_many([t for _, t in pairs], questions=[q for q, _ in pairs], workers=1)
    hit = [i for i, r in enumerate(results) if flagged(r)]
    flags.extend(("GSM8K+question", pairs[i][1], c) for i in hit for c in flagged(results[i]))
    print(f"| GSM8K with its question (grounding on) | {len(pairs)} | | | | {len(hit)} | {len(hit) / len(pairs):.2%} |")
    for name, text, check in flags:
        context = text[max(0, check.start - 50) : check.end + 30].replace("\n", " ")
        print(
            f"  flag in {name}: {check.claim!r}: {check.reason}  [...{context}...]"
            if show
            else f"  {name}: {check.reason}"
        )


# ---- (b) arithmetic slips ----------------------------------------------------------------------

_BARE = re.compile(r"^\$?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?$")


def _slip(written: str, rng: random.Random) -> str | None:
    """A wrong version of a written number (no sign, no thousands commas in the result)."""
    plain = written.replace(",", "").lstrip("$")
    if not _BARE.match(plain):
        return None
    whole, _, fraction = plain.partition(".")
    choices = []
    if not fraction:
        value = int(whole)
        choices += [str(value + 1), str(value - 1) if value > 1 else str(value + 2), str(value + 10), str(value * 10)]
        if len(whole) >= 2 and whole[-1] != whole[-2]:
            choices.append(whole[:-2] + whole[-1] + whole[-2])
    else:
        last = int(fraction[-1])
        choices.append(f"{whole}.{fraction[:-1]}{(last + 1) % 10}")
        choices.append(f"{int(whole) + 1}.{fraction}")
    choices = [c for c in choices if c != plain and not c.startswith("0") or c == "0"]
    if not choices:
        return None
    return ("$" if written.startswith("$") else "") + rng.choice(choices)


def _result_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of the written result of each checked, right claim whose right side is a number."""
    spans = []
    ok_ranges = {(c.start, c.end) for c in check_steps(text) if c.status == "ok"}
    for claim in find_claims(text):
        if (claim.start, claim.end) not in ok_ranges or not claim.bare_right:
            continue
        start = claim.end - len(claim.right_text)
        if text[start : claim.end] == claim.right_text and _BARE.match(claim.right_text.replace(",", "").lstrip("$")):
            spans.append((start, claim.end))
    return spans


def _found_at(text: str, start: int, end: int, question: str | None = None) -> tuple[bool, bool]:
    """(any unretracted wrong claim, the first one covers text[start:end])."""
    wrong = flagged(check_steps(text, question))
    return bool(wrong), bool(wrong) and wrong[0].start <= start and end <= wrong[0].end + 1


def arithmetic_slips(seed: int) -> None:
    print("(b) arithmetic slips injected into reference solutions (one per solution)")
    print("| set | slips | found at the right step | found anywhere |")
    print("| --- | ---: | ---: | ---: |")
    rng = random.Random(seed)
    total = right = anywhere = 0
    for name, texts in reference_solutions().items():
        n = at_step = found = 0
        for text in texts:
            spans = _result_spans(text)
            if not spans or flagged(check_steps(text)):
                continue  # nothing checked, or a reference that is already flagged
            start, end = rng.choice(spans)
            wrong = _slip(text[start:end], rng)
            if wrong is None:
                continue
            changed = text[:start] + wrong + text[end:]
            hit, first = _found_at(changed, start, start + len(wrong))
            n += 1
            found += hit
            at_step += first
        total, right, anywhere = total + n, right + at_step, anywhere + found
        print(f"| {name} | {n} | {at_step / n:.1%} | {found / n:.1%} |")
    print(f"| all | {total} | {right / total:.1%} | {anywhere / total:.1%} |")


# ---- (c) word-problem errors -------------------------------------------------------------------

_STEP = re.compile(
    r"(?<![\d.,$])(?P<a>\$?\d+(?:\.\d+)?)(?P<op>[ \t]*[-+*/x][ \t]*)(?P<b>\$?\d+(?:\.\d+)?)[ \t]*=[ \t]*(?P<r>\$?\d+(?:\.\d+)?)(?![\d.,])"
)
_APPLY = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "x": lambda a, b: a * b}


def _number(text: str) -> float:
    return float(text.lstrip("$"))


def _written(value: float, like: str) -> str:
    text = str(int(value)) if value == int(value) else f"{value:.2f}".rstrip("0").rstrip(".")
    return ("$" if like.startswith("$") else "") + text


def word_problem_errors(seed: int) -> None:
    print("(c) word-problem errors injected into GSM8K solutions (with the question)")
    print("| error | cases | found at the right step | found anywhere |")
    print("| --- | ---: | ---: | ---: |")
    rng = random.Random(seed)
    counts = {kind: [0, 0, 0] for kind in ("c1 misread, result kept", "c2 misread, recomputed", "c3 wrong operation")}
    for question, text in gsm8k():
        if flagged(check_steps(text, question)):
            continue
        steps = [m for m in _STEP.finditer(text) if m.group("op").strip() in _APPLY]
        if not steps:
            continue
        step = rng.choice(steps)
        a, b, op = _number(step.group("a")), _number(step.group("b")), step.group("op").strip()
        misread = _written(b + rng.choice([1, 2, 5, 10]), step.group("b"))
        other_op = {"+": "-", "-": "+", "*": "+", "x": "+"}[op]
        recomputed = _APPLY[op](a, _number(misread))
        swapped = _APPLY[other_op](a, b)
        variants = {
            "c1 misread, result kept": (step.start("b"), step.end("b"), misread),
            "c2 misread, recomputed": (
                step.start("b"),
                step.end("r"),
                misread + text[step.end("b") : step.start("r")] + _written(recomputed, step.group("r")),
            ),
            "c3 wrong operation": (
                step.start("op"),
                step.end("r"),
                step.group("op").replace(op, other_op)
                + step.group("b")
                + text[step.end("b") : step.start("r")]
                + _written(swapped, step.group("r")),
            ),
        }
        for kind, (start, end, replacement) in variants.items():
            if kind != "c1 misread, result kept" and (recomputed < 0 or swapped < 0):
                continue
            changed = text[:start] + replacement + text[end:]
            hit, first = _found_at(changed, step.start(), step.start() + (end - step.start()), question)
            counts[kind][0] += 1
            counts[kind][1] += first
            counts[kind][2] += hit
    n = sum(c[0] for c in counts.values())
    for kind, (cases, first, hit) in counts.items():
        print(f"| {kind} | {cases} | {first / cases:.1%} | {hit / cases:.1%} |")
    first = sum(c[1] for c in counts.values())
    hit = sum(c[2] for c in counts.values())
    print(f"| all | {n} | {first / n:.1%} | {hit / n:.1%} |")


# ---- (d) speed on R1-length traces -------------------------------------------------------------

_SELF_CHECKS = [
    "\n\nWait, let me double-check that step.\n\n",
    "\n\nHmm, so far so good. Let me verify the arithmetic again.\n\n",
    "\n\nActually, let's make sure by recomputing.\n\n",
    "\n\nOkay, so that seems consistent.\n\n",
]


def r1_length_traces(count: int, seed: int, chars: int = 20000) -> list[str]:
    rng = random.Random(seed)
    pool = [text for texts in reference_solutions().values() for text in texts]
    traces = []
    for _ in range(count):
        parts: list[str] = []
        while sum(map(len, parts)) < chars:
            parts.append(rng.choice(pool))
            parts.append(rng.choice(_SELF_CHECKS))
        traces.append("".join(parts))
    return traces


def speed(seed: int) -> None:
    print("(d) speed on R1-length traces, one process, check_steps one trace at a time")
    traces = r1_length_traces(300, seed)
    check_steps(traces[0])  # starts the SymPy worker if a claim needs it, outside the timing
    started, cpu_started = time.perf_counter(), time.process_time()
    claims = sum(len(check_steps(trace)) for trace in traces)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    mean = sum(map(len, traces)) / len(traces)
    print(f"  {len(traces)} traces of {mean:,.0f} characters on average, {claims} claims: {elapsed:.2f} s wall,")
    print(f"  {cpu:.2f} s CPU: {len(traces) / elapsed:.0f} traces/s wall, {len(traces) / cpu:.0f} traces/s of CPU time")


# ---- (e) plain verify speed --------------------------------------------------------------------

_VERIFY_PROBE = """
import json, re, sys, time
sys.path.insert(0, sys.argv[1])
from curate.verify import check_many
rows = [json.loads(line) for line in open(sys.argv[2])]
pairs = [(r["answer"].replace("####", "The answer is"), r["answer"].split("####")[1].strip(), r["question"]) for r in rows]
pairs = pairs * 3
started = time.perf_counter()
check_many(pairs, workers=1)
print(len(pairs) / (time.perf_counter() - started))
"""


def _verify_rate(tree: Path) -> float:
    command = [sys.executable, "-c", _VERIFY_PROBE, str(tree), str(DATA / "grade-school-math" / "test.jsonl")]
    return float(subprocess.run(command, capture_output=True, text=True, check=True).stdout.split()[-1])


def verify_speed(baseline: Path | None) -> None:
    print("(e) plain verify speed (check_many, GSM8K answers vs gold x3, 1 worker; 4 runs each,")
    print("    the trees taking turns to go first, since a shared machine drifts; median)")
    trees = [("this tree", ROOT)] + ([("baseline " + str(baseline), baseline)] if baseline else [])
    rates: dict[str, list[float]] = {label: [] for label, _ in trees}
    for turn in range(4):
        for label, tree in trees if turn % 2 == 0 else trees[::-1]:
            rates[label].append(_verify_rate(tree))
    for label, values in rates.items():
        values.sort()
        median = (values[1] + values[2]) / 2
        print(f"  {label}: {median:,.0f} pairs/s (runs: {', '.join(f'{v:,.0f}' for v in values)})")


def model_outputs(show: bool) -> None:
    print("(f) real model outputs (math_cot_100.jsonl: 100 MATH problems x 8 CoT samples)")
    rows = _jsonl(DATA / "Qwen2.5-Math" / "eval_rm_maj_example" / "math_cot_100.jsonl")
    samples = [(text, right) for row in rows for text, right in zip(row["code"], row["score"])]
    results = check_steps_many([text for text, _ in samples], workers=1)
    print("| answer | samples | claims | samples with a flagged step |")
    print("| --- | ---: | ---: | ---: |")
    for right in (True, False):
        chosen = [i for i, (_, label) in enumerate(samples) if label == right]
        hit = [i for i in chosen if flagged(results[i])]
        claims = sum(len(results[i]) for i in chosen)
        print(
            f"| {'right' if right else 'wrong'} | {len(chosen)} | {claims} | {len(hit)} ({len(hit) / len(chosen):.1%}) |"
        )
        for i in hit:
            first = flagged(results[i])[0]
            print(f"  first flag of sample {i}: {first.claim!r}: {first.reason}" if show else f"  {first.reason}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="a,b,c,d,e,f")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baseline-tree", type=Path, default=None)
    parser.add_argument("--show", action="store_true", help="print the context of every false alarm")
    args = parser.parse_args()
    sets = set(args.sets.split(","))
    if "a" in sets:
        false_alarms(args.show)
    if "b" in sets:
        arithmetic_slips(args.seed)
    if "c" in sets:
        word_problem_errors(args.seed)
    if "d" in sets:
        speed(args.seed)
    if "e" in sets:
        verify_speed(args.baseline_tree)
    if "f" in sets:
        model_outputs(args.show)


if __name__ == "__main__":
    main()
