"""What a problem's question says about how its answer is read (pure string work, cached).

Contract: `reading(question) -> Reading` with
- `context`: flags for `equivalence.compare` ("ordered", "set", "round=N", "percent"), "" when the question
  says nothing that changes the comparison (the common path: no extra work per pair);
- `options`: {"A": "27", ...} when the question lists multiple-choice options (A)-(E);
- `common_fraction`: the question asks for a common fraction (feeds the form check).
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
_COMMON_FRACTION = re.compile(r"common fraction", re.IGNORECASE)
# "(A) 27", "\textbf{(A) } 27", "(A) $27$" up to the next option or the end of the line.
_OPTION = re.compile(
    r"\(\s*([A-E])\s*\)\s*\}?\s*(.+?)(?=\s*(?:\\q?quad|\\textbf\s*\{|\\text\s*\{|\\mathrm\s*\{)?\s*\(\s*[A-E]\s*\)|\n|$)"
)


@dataclass(frozen=True)
class Reading:
    context: str = ""
    options: dict[str, str] = field(default_factory=dict)
    common_fraction: bool = False


NO_QUESTION = Reading()


def _option_value(text: str) -> str:
    text = text.strip().rstrip(",;").strip()
    text = re.sub(r"\\q?quad\s*$", "", text).strip()
    if text.startswith("$") and text.endswith("$") and len(text) > 1:
        text = text.strip("$").strip()
    return text


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
    options = {}
    if re.search(r"\(\s*A\s*\)", question) and re.search(r"\(\s*B\s*\)", question):
        for match in _OPTION.finditer(question):
            options.setdefault(match.group(1), _option_value(match.group(2)))
    return Reading(";".join(flags), options, bool(_COMMON_FRACTION.search(question)))
