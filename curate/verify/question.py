"""What a problem's question says about how its answer is read (pure string work, cached).

Contract: `reading(question) -> Reading` with
- `context`: flags for `equivalence.compare` ("ordered", "set", "round=N", "percent"), "" when the question
  says nothing that changes the comparison (the common path: no extra work per pair);
- `options`: {"A": "27", ...} when the question lists multiple-choice options (A)-(E)
  (`lettered_options`, which the choice domain also reads, with more letters and line labels);
- `common_fraction`: the question asks for a common fraction (feeds the form check);
- `asked_marks`: the units and signs the question names (the form check accepts them);
- `decimal_asked`: the question asks for a decimal or an estimate ("to the nearest tenth", "to two
  decimal places", "as a decimal", "approximately"), so a rounded value of an exact answer is in
  the asked form; otherwise the form check flags it (`\\boxed{3.14}` for the gold `\\pi`).
Order words ("in increasing order", "ordered pair", "from least to greatest", "in order") make a
bare list ordered; "all solutions", "all values", "separated by commas" make it a set. When a
question has both, order wins (a false "correct" is worse than a false "incorrect").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

_ORDERED = re.compile(
    r"in (?:increasing|decreasing|ascending|descending|numerical|alphabetical|that|the same) order|"
    r"\bin order\b|ordered (?:pair|triple|quadruple|list|tuple)|from (?:least|smallest|lowest|greatest|largest|highest) to",
    re.IGNORECASE,
)
_SET = re.compile(
    r"\ball (?:the )?(?:real |possible |integer |positive |distinct )*(?:solutions|values|roots|zeros)\b|"
    r"separated by commas|comma[- ]separated",
    re.IGNORECASE,
)
_ROUND = re.compile(
    r"(?:to|round(?:ed)?(?: your answer)? to) the nearest (whole number|integer|tenth|hundredth|thousandth)",
    re.IGNORECASE,
)
_PLACES = {"whole number": 0, "integer": 0, "tenth": 1, "hundredth": 2, "thousandth": 3}
# "What percent of ...", "as a percent(age)": the answer is a number of percent, so 0.25 is not 25%.
_PERCENT = re.compile(r"\b(?:what|which) percent(?:age)?\b|\bas a percent(?:age)?\b|\bin percent\b", re.IGNORECASE)
# "in cm", "in square meters", "how many inches": the word after is the unit asked for.
_UNIT_ASKED = re.compile(r"\b(?:in|how many|number of)\s+(?:square\s+|cubic\s+)?([A-Za-z]+)", re.IGNORECASE)
_COMMON_FRACTION = re.compile(r"common fraction", re.IGNORECASE)
_DECIMAL_ASKED = re.compile(
    r"decimal|significant (?:digits|figures)|\bapproximat|\bestimate|\bnearest\b|\bround", re.IGNORECASE
)


@dataclass(frozen=True)
class Reading:
    context: str = ""
    options: dict[str, str] = field(default_factory=dict)
    common_fraction: bool = False
    asked_marks: frozenset = frozenset()  # units/signs the question names: not a form problem
    decimal_asked: bool = False  # a rounded value of an exact answer is in the asked form


NO_QUESTION = Reading()


def _option_value(text: str) -> str:
    text = text.strip().rstrip(",;").strip()
    text = re.sub(r"\\q?quad\s*$", "", text).strip()
    if text.startswith("$") and text.endswith("$") and len(text) > 1:
        text = text.strip("$").strip()
    return text


@lru_cache(maxsize=64)
def _option_patterns(last: str) -> tuple[re.Pattern, re.Pattern]:
    """For the letters A..last: (inline options, options on lines of their own)."""
    letters = f"[A-{last}]"
    # "(A) 27", "\textbf{(A) } 27", "(A) $27$" up to the next option or the end of the line.
    inline = re.compile(
        rf"\(\s*({letters})\s*\)\s*\}}?\s*(.+?)(?=\s*(?:\\q?quad|\\textbf\s*\{{|\\text\s*\{{|\\mathrm\s*\{{)?"
        rf"\s*\(\s*{letters}\s*\)|\n|$)"
    )
    # "A. 27", "B) 27", "C: 27", "- D) 27", "**E.** 27": a letter label that starts its line.
    line = re.compile(
        rf"^[ \t]*(?:[-*\u2022][ \t]+)?(?:\*\*)?\(?({letters})[.):](?:\*\*)?[ \t]+(\S.*?)[ \t]*$", re.MULTILINE
    )
    return inline, line


@lru_cache(maxsize=4096)
def lettered_options(question: str, last: str = "E", lines: bool = False) -> dict[str, str]:
    """{"A": "27", ...}: the options a question lists as "(A) 27 (B) 30", with the letters A..`last`;
    with `lines`, also "A. 27" / "B) 30" labels at the start of their lines. Options (A) and (B)
    must both be there (a lone "(A)" is a label in a figure, not a choice); a letter written
    twice keeps its first text."""
    inline, line = _option_patterns(last)
    options: dict[str, str] = {}
    if re.search(r"\(\s*A\s*\)", question) and re.search(r"\(\s*B\s*\)", question):
        for match in inline.finditer(question):
            options.setdefault(match.group(1), _option_value(match.group(2)))
    if lines and not options:
        found = {match.group(1): match.group(2) for match in reversed(list(line.finditer(question)))}
        if "A" in found and "B" in found:
            options = {letter: _option_value(found[letter]) for letter in sorted(found)}
    return options


@lru_cache(maxsize=4096)
def reading(question: str | None) -> Reading:
    if not question:
        return NO_QUESTION
    flags = []
    if _ORDERED.search(question):
        flags.append("ordered")
    elif _SET.search(question):
        flags.append("set")
    rounding = _ROUND.search(question)
    if rounding:
        flags.append(f"round={_PLACES[rounding.group(1).lower()]}")
    if _PERCENT.search(question):
        flags.append("percent")
    return Reading(
        ";".join(flags),
        lettered_options(question),
        bool(_COMMON_FRACTION.search(question)),
        _asked_marks(question),
        bool(_DECIMAL_ASKED.search(question)),
    )


def _asked_marks(question: str) -> frozenset:
    """The signs and unit words the question itself uses ("in cm", "what percent", "how many
    degrees", "in dollars"), which the answer may then write without a form complaint."""
    words = {word.lower() for word in re.findall(r"[A-Za-z]+", question)}
    marks = {f"unit:{unit.lower()}" for unit in _UNIT_ASKED.findall(question)}
    if _PERCENT.search(question):
        marks.add("pct")
    if words & {"degree", "degrees"}:
        marks.add("deg")
    if words & {"dollar", "dollars", "cents"} or "\\$" in question:
        marks.add("currency")
    return frozenset(marks)
