"""The demo's synthetic skill, problem set and offline teacher (used by `curate demo`).

Skill: the digit sum of a four-digit number ("What is the sum of the digits of 4827?"). The
tiny real student (SmolLM2-135M-Instruct) rarely gets it right at base; written out as running
sums ("4 + 8 = 12", "12 + 2 = 14", ...) it is a chain of one-digit additions it can learn
with LoRA in a few CPU minutes. Chosen by measuring (docs/GUIDE.md "Demo").

- `make_problems(seed)`: the problem set, deterministic in the seed. Train and held-out test
  splits of distinct numbers; gold answers computed with `sum(map(int, digits))`, independently
  of the teacher's text. A few train problems repeat a test question reworded only in case
  and spacing (`LEAKED`), so decontamination has something real to remove.
- `teacher_reply(prompt, index, seed)`: one R1-style completion (reasoning, final content) for
  a prompt that holds such a question, deterministic in (prompt, sample index, seed).
  Imperfect on purpose: a share of traces slip on one addition and box a wrong sum, some
  write one running sum wrong but carry on from the right total and box the right sum
  ("wrong_step": a right answer with one wrong step, which only a step check can see;
  "12 + 2 = 15" then "14 + 7 = 21"), some ramble (re-check the sum again and again), some
  ramble so long that the request's max_tokens cuts them off (finish "length"), some add a
  wordy preamble. Shares are in `MIX`; `wrong_running_sums` counts the false sums of a trace.
- `DemoTeacher`: the `answers`/`respond` hook the bundled OpenAI-compatible server
  (`curate.testing.openai_server`, `respond=`) calls, so generation runs the real client path.

Nothing here touches the store.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass

TEMPLATES = (
    "What is the sum of the digits of {n}?",
    "Find the sum of the digits of the number {n}.",
    "Add up the digits of {n}. What total do you get?",
)
NUMBER = re.compile(r"\b(\d{4})\b")
RUNNING_SUM = re.compile(r"^(\d+) \+ (\d+) = (\d+)$", re.M)
GEN_MAX_TOKENS = 256  # the demo's generation limit; the bundled server cuts a reply at 4 characters a token
LEAKED = 6  # train problems that repeat a test question (decontamination removes them)
# (kind, share): clean traces, a slip in one addition (wrong answer), one wrong running sum in
# a trace whose answer is right, a re-check loop, a loop long enough to be cut off at
# max_tokens, a wordy preamble. wrong_step took its share from slip, so every other kind is
# drawn as before and a problem's clean traces are the same texts: only former slips (dropped
# as incorrect before) became right answers with a wrong step.
MIX = (
    ("clean", 0.50),
    ("slip", 0.12),
    ("wrong_step", 0.08),
    ("recheck", 0.12),
    ("runaway", 0.08),
    ("preamble", 0.10),
)


@dataclass(frozen=True)
class Problem:
    id: str
    question: str
    answer: str
    split: str

    def row(self) -> dict:
        return {
            "id": self.id,
            "question": self.question,
            "answer": self.answer,
            "split": self.split,
            "topic": "digit-sum",
        }


def digit_sum(number: int) -> int:
    return sum(int(d) for d in str(number))


def make_problems(seed: int = 0, n_train: int = 240, n_test: int = 100) -> list[Problem]:
    """Train problems, then test problems: distinct numbers, gold computed from the number."""
    pick = random.Random(seed)
    numbers = pick.sample(range(1000, 10000), n_train + n_test)
    rows = []
    for i, n in enumerate(numbers):
        split = "train" if i < n_train else "test"
        question = pick.choice(TEMPLATES).format(n=n)
        rows.append(Problem(f"digits-{split}-{n}", question, str(digit_sum(n)), split))
    test = [p for p in rows if p.split == "test"]
    for p in pick.sample(test, LEAKED):  # the same question, re-typed: "leaked" into train
        rows.append(
            Problem(f"digits-train-leak-{p.id.rsplit('-', 1)[1]}", "  " + p.question.upper(), p.answer, "train")
        )
    return rows


def _steps(digits: list[int], slip_at: int | None = None, slip: int = 0, carried: bool = True) -> tuple[list[str], int]:
    """Running sums; at `slip_at` the written result is off by `slip`, and with `carried` the
    next sums go on from it (a wrong answer), else from the right total (a wrong step only)."""
    lines, total = [], digits[0]
    for i, d in enumerate(digits[1:], start=1):
        written = total + d + (slip if i == slip_at else 0)
        lines.append(f"{total} + {d} = {written}")
        total = written if carried else total + d
    return lines, total


def _draw(prompt: str, index: int, seed: int) -> tuple[str, random.Random]:
    """The sample's kind from `MIX` and the generator that shapes the rest of it."""
    key = hashlib.sha256(f"{seed}:{index}:{prompt}".encode()).hexdigest()
    pick = random.Random(int(key[:16], 16))
    roll, kind = pick.random(), MIX[-1][0]
    for name, share in MIX:
        if roll < share:
            kind = name
            break
        roll -= share
    return kind, pick


def wrong_running_sums(reasoning: str | None) -> int:
    """How many of the teacher's running-sum lines ("a + b = c") are false: the demo's own answer
    key for its wrong steps, read from its own line format (the report checks the step checker against it)."""
    return sum(int(a) + int(b) != int(c) for a, b, c in RUNNING_SUM.findall(reasoning or ""))


def teacher_reply(prompt: str, index: int, seed: int = 0) -> tuple[str, str]:
    """(reasoning, content) of sample `index` for `prompt`; the kind is drawn from `MIX`."""
    found = NUMBER.search(prompt)
    if found is None:
        return "I do not see a four-digit number in this question.", "I cannot answer this."
    text = found.group(1)
    digits = [int(d) for d in text]
    kind, pick = _draw(prompt, index, seed)
    head = f"The digits of {text} are {', '.join(map(str, digits))}."
    if kind == "slip":
        lines, total = _steps(digits, slip_at=pick.randint(1, 3), slip=pick.choice((-1, 1, 10)))
    elif kind == "wrong_step":
        lines, total = _steps(digits, slip_at=pick.randint(1, 3), slip=pick.choice((-1, 1)), carried=False)
    else:
        lines, total = _steps(digits)
    body = [head, *lines]
    if kind == "preamble":
        body = [
            (
                "Let me think about what the question asks. The digit sum adds every digit of the number, "
                "one at a time, keeping a running total."
            ),
            *body,
        ]
    if kind in ("recheck", "runaway"):
        loops = pick.randint(1, 2) if kind == "recheck" else 40
        for _ in range(loops):
            body += ["Wait, let me check that again.", *lines, f"Yes, the sum is {total}."]
    return "\n".join(body), f"The sum is $\\boxed{{{total}}}$."


class DemoTeacher:
    """The bundled server's `respond` hook: (prompt, choice index) -> (reasoning, content)."""

    def __init__(self, seed: int = 0):
        self.seed = seed

    def __call__(self, prompt: str, index: int) -> tuple[str, str]:
        return teacher_reply(prompt, index, self.seed)
