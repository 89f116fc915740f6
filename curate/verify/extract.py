"""Final-answer extraction from a model response (pure string work, no SymPy).

Contract: `extract(response, last_number=True) -> Extraction(answer, source, reason, boxes)`;
`letter_answer(response)` for multiple-choice golds. Think blocks and boxes are found with the
rules of curate/traces.py.

Order of preference, on the text after the last `</think>` (the whole response when there is
no think block):
1. `boxed`: the last complete `\\boxed{...}` / `\\fbox{...}` (nested braces balanced,
   `\\boxed{\\boxed{x}}` unwrapped, `\\boxed 5` accepted). Boxes that follow each other with only
   separators between them (",", "and", "or", ";", spacing, math delimiters) form one list
   answer ("\\boxed{1} and \\boxed{2}" -> "1, 2"); any other text in between means the writer
   changed their mind, so only the last box counts ("\\boxed{1} wait no \\boxed{2}" -> "2")
   unless the gold has that many parts (the checker joins the last boxes then, `boxes`).
   A "final answer is X" statement after the last box wins over it (the box was intermediate).
2. `final_answer_phrase`: "final answer is X" / "the answer is X" (last occurrence). When X is
   a sentence ("the smallest such $k$ is 12"), the math after its last "is" (or its last math
   span, or its last number) is the answer.
3. `answer_label`: a line "Answer: X" (also "**Answer:** X").
4. `bold`: the last `**X**` holding a digit or math; words in bold ("**Paris**") only when the
   gold is words too (`bold_words`, called by the checker), because prose headings are bold.
5. `last_math` / `last_number` (optional fallbacks): whichever comes later, the last math span
   that is not a lone letter ("So $y \\le -2$ is what we need" -> "y \\le -2"; an equation
   with a plain number on its right and no digit on its left gives that number) or the last
   number outside math.

`no_answer` cases, never a value taken from the thinking: a `<think>` that is never closed (the
trace was cut off mid-thought), an unfinished `\\boxed{` after the last complete box (cut off
while writing the answer), nothing after `</think>`, an empty response. Only the last 4,000
characters are searched by the phrase and number rules and only the last 64 boxes are
considered, so a 1 MB response costs the same as a short one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from curate.traces import BOX_COMMANDS, Box, final_text, find_boxes, matching_brace, unwrap_box

TAIL_CHARS = 4000
MAX_ANSWER_CHARS = 10_000


@dataclass(frozen=True)
class Extraction:
    answer: str | None
    source: str | None  # boxed | final_answer_phrase | answer_label | bold | last_math | last_number
    reason: str  # why there is no answer, or where the answer came from
    boxes: tuple[str, ...] = ()  # every complete box of the final text, in order
    at: int = -1  # where the answer was found in the text it was read from


_SEPARATOR_ONLY = re.compile(
    r"^(?:\s|\$|\\[()\[\]]|\\quad|\\qquad|\\,|\\;|,|;|\.|and|or|&|\\text\{\s*(?:and|or|,)\s*\}|\\(?:text|mathrm)\{\s*\})*$",
    re.IGNORECASE,
)


def _boxed_answer(text: str) -> Extraction | None:
    boxes = find_boxes(text)
    if not boxes:
        return None
    last = boxes[-1]
    if last.content is None:
        return Extraction(None, None, "unfinished \\boxed{ at the end: the answer was cut off")
    # Nested boxes (\boxed{\boxed{x}}) appear as two boxes; keep only the outermost ones.
    outer: list[Box] = []
    for box in boxes:
        if outer and box.start < outer[-1].end:
            continue
        outer.append(box)
    chosen = [outer[-1]]
    for box in reversed(outer[:-1]):
        if box.content is None or not _SEPARATOR_ONLY.match(text[box.end : chosen[0].start]):
            break
        chosen.insert(0, box)
    parts = []
    for box in chosen:
        part = unwrap_box(box.content or "")
        if part and part not in parts:  # "\boxed{6} ... \boxed{6}": the same answer twice
            parts.append(part)
    if not parts:
        return Extraction(None, None, "empty \\boxed{}")
    answer = ", ".join(parts)
    every = tuple(unwrap_box(box.content) for box in outer if box.content is not None and box.content.strip())
    if len(parts) > 1:
        return Extraction(answer, "boxed", f"{len(parts)} adjacent boxes read as one list", every, last.end)
    return Extraction(answer, "boxed", "last \\boxed{}", every, last.end)


_MATH = r"(?<!\\)\$\$(.+?)(?<!\\)\$\$|(?<!\\)\$(.+?)(?<!\\)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]"  # "\$" is a dollar sign
_MATH_SPAN = re.compile(r"^\s*(?:" + _MATH + ")", re.DOTALL)
_ANY_MATH = re.compile(_MATH, re.DOTALL)
_PHRASE = re.compile(r"(?:final answer|the answer)\s*(?:is|=|:)\s*:?\s*", re.IGNORECASE)
_FINAL_PHRASE = re.compile(r"final answer\s*(?:is|=|:)\s*:?\s*", re.IGNORECASE)
_LABEL = re.compile(r"(?:^|\n)[ \t>#*_]*answer[ \t*_]*[:：][ \t*_]*", re.IGNORECASE)
_BOLD = re.compile(r"\*\*([^*\n]{1,200}?)\*\*")
# A number not glued to a letter on its left ("AZ2" holds no answer); "3 600 000" is one number.
_NUMBER = re.compile(r"(?<![A-Za-z_\d])(?:-?[1-9]\d{0,2}(?: \d{3})+(?![\d/])|-?\d[\d,]*(?:\.\d+)?(?:/\d+)?|-?\.\d+)")
_PROSE = re.compile(r"[A-Za-z]{3,}")
_IS = re.compile(r"\b(?:is|are|equals|be)\b", re.IGNORECASE)


def _span_text(match: re.Match) -> str:
    return next(g for g in match.groups() if g is not None).strip()


def _answer_in_sentence(value: str) -> str | None:
    """A sentence with math or digits and prose around them ("the smallest such $k$ is 12"):
    the answer after its last "is", else its last math span, else its last number."""
    bare = re.sub(r"\\[A-Za-z]+", "", _ANY_MATH.sub("", value))
    if not _PROSE.search(bare) or not re.search(r"[\d$\\]", value):
        return value  # plain math, or a text answer ("Evelyn")
    verbs = list(_IS.finditer(value))
    rest = value[verbs[-1].end() :] if verbs else value
    for candidate in (rest, value):
        spans = [_span_text(m) for m in _ANY_MATH.finditer(candidate)]
        if spans:
            return spans[-1]
        outside = re.sub(r"\\[A-Za-z]+", " ", candidate)
        if not _PROSE.search(outside.replace("and", "")) and outside.strip(" .,:;"):
            return outside.strip(" .,:;")
        numbers = _NUMBER.findall(candidate)
        if numbers:
            return numbers[-1].rstrip(",")
    return None


def _clean_phrase(rest: str) -> str | None:
    """The answer that starts `rest`: a math span, else up to the end of the sentence or line."""
    math = _MATH_SPAN.match(rest)
    if math:
        value = _span_text(math)
    else:
        line = rest.split("\n", 1)[0]
        # The sentence ends at ". " or a final ".", but not at a decimal point.
        value = re.split(r"\.(?:\s|$)", line, maxsplit=1)[0]
        value = _answer_in_sentence(value.strip()) or ""
    value = value.strip().strip("*").strip()
    value = re.sub(r"^\\boxed\s*", "", value)
    value = value.rstrip(".").strip()
    if value.startswith("{") and value.endswith("}") and matching_brace(value, 0) == len(value) - 1:
        value = value[1:-1].strip()
    return value or None


def _phrase_answer(tail: str, pattern: re.Pattern = _PHRASE) -> Extraction | None:
    for match in reversed(list(pattern.finditer(tail))):
        value = _clean_phrase(tail[match.end() :])
        if value:
            return Extraction(value, "final_answer_phrase", f'after "{match.group(0).strip()}"', (), match.start())
    return None


def _label_answer(tail: str) -> Extraction | None:
    matches = list(_LABEL.finditer(tail))
    for match in reversed(matches):
        value = _clean_phrase(tail[match.end() :])
        if value:
            return Extraction(value, "answer_label", 'after an "Answer:" label')
    return None


def _bold_answer(tail: str) -> Extraction | None:
    for match in reversed(list(_BOLD.finditer(tail))):
        value = match.group(1).strip()
        if value.endswith(":") or not re.search(r"[\d\\=]", value):
            continue  # a heading ("**Step 1:**") or prose, not an answer
        math = _MATH_SPAN.match(value)
        if math:
            value = _span_text(math)
        value = value.rstrip(".").strip()
        if value:
            return Extraction(value, "bold", "last bold answer")
    return None


def bold_words(response: str | None) -> Extraction | None:
    """The last bold run of plain words in the final text ("The capital is **Paris**."), for a
    gold that is words; a bold ending in ":" is a heading, and long runs are prose."""
    if not response:
        return None
    text, _ = final_text(response)
    if text is None:
        return None
    for match in reversed(list(_BOLD.finditer(text[-TAIL_CHARS:]))):
        value = match.group(1).strip().rstrip(".").strip()
        if value and not value.endswith(":") and len(value.split()) <= 6:
            return Extraction(value, "bold", "last bold words (the gold is words)")
    return None


def _whole_text(text: str) -> Extraction | None:
    """A final text that is nothing but the answer ("$e$", "\\frac{10}{9}", "(0, 1)"): one short
    line without prose."""
    bare = text.strip().rstrip(".").strip()
    if not bare or len(bare) > 200 or "\n" in bare:
        return None
    span = _ANY_MATH.fullmatch(bare)
    value = _span_text(span) if span else bare
    if not value or "$" in value or _PROSE.search(re.sub(r"\\[A-Za-z]+\s*(?:\{[A-Za-z ]*\})?", "", value)):
        return None
    return Extraction(value, "last_math", "the whole final text is the answer")


def _last_math_or_number(tail: str) -> Extraction | None:
    """The later of the last math span (more than a lone letter) and the last number outside math."""
    span, span_at = None, -1
    for match in _ANY_MATH.finditer(tail):
        text = _span_text(match)
        if re.fullmatch(r"[A-Za-z](?:_\{?\w+\}?)?", text) or not text:
            continue  # "$k$", "$a_n$": a name, not an answer
        span, span_at = text, match.start()
    numbers = [(m.group(0), m.start()) for m in _NUMBER.finditer(_ANY_MATH.sub(lambda m: " " * len(m.group(0)), tail))]
    if numbers and numbers[-1][1] > span_at:
        return Extraction(
            numbers[-1][0].rstrip(","), "last_number", "last number in the text (no box or answer phrase)"
        )
    if span is None:
        return None
    relation = re.split(r"(?<![<>\\!])=(?!=)", span)
    if (
        len(relation) > 1
        and _NUMBER.fullmatch(relation[-1].strip().replace(" ", ""))
        and not re.search(r"[<>\d]|\\[lg]e", "=".join(relation[:-1]))
    ):
        span = relation[-1].strip()  # "a+b = 17": the value after the last "="; "2x+3 = 5" stays an equation
    return Extraction(span, "last_math", "last math span in the text (no box or answer phrase)")


def extract(response: str | None, last_number: bool = True) -> Extraction:
    """The final answer of `response`, as written, with where it came from (see module doc)."""
    if response is None or not response.strip():
        return Extraction(None, None, "empty response")
    text, why = final_text(response)
    if text is None:
        return Extraction(None, None, why)
    found = _boxed_answer(text)
    tail_start = max(0, len(text) - TAIL_CHARS)
    tail = text[tail_start:]
    if found is not None and found.answer is not None:
        later = _phrase_answer(tail, _FINAL_PHRASE)
        if (
            later is not None
            and tail_start + later.at > found.at
            and not re.search(r"\\(?:boxed|fbox)", tail[later.at :])
        ):
            found = Extraction(later.answer, later.source, "a final-answer statement after the last box", found.boxes)
    if found is None:
        found = _phrase_answer(tail) or _label_answer(tail) or _bold_answer(tail)
        if found is None and last_number:
            found = _whole_text(text) or _last_math_or_number(tail)
    if found is None:
        return Extraction(None, None, "no \\boxed{}, answer phrase or number in the final text")
    if found.answer is not None and len(found.answer) > MAX_ANSWER_CHARS:
        return Extraction(found.answer[:MAX_ANSWER_CHARS], found.source, "answer longer than 10,000 characters (cut)")
    return found


def extract_answer(response: str | None, last_number: bool = True) -> tuple[str | None, str | None]:
    """(answer as written, source) of `response`; (None, None) when there is none."""
    found = extract(response, last_number=last_number)
    return found.answer, found.source


_LETTER_START = re.compile(r"^\s*[*_]*\(?\s*([A-E])\s*\)?[*_]*(?:[.:)]|\s*$|\s+(?:because|since|is|as)\b)")
_LETTER_NAMED = re.compile(
    r"(?:answer|option|choice)\s*(?:is|:|would be|must be)?\s*[*_$]*\s*"
    r"(?:\\text(?:bf)?\{)?\(?\s*([A-E])\s*\)?(?![A-Za-z])",
    re.IGNORECASE,
)


def letter_answer(response: str | None) -> str | None:
    """A choice letter named in prose ("B. because ...", "The answer is (C)"), or None."""
    if not response:
        return None
    text, _ = final_text(response)
    if text is None:
        return None
    start = _LETTER_START.match(text)
    if start:
        return start.group(1)
    named = list(_LETTER_NAMED.finditer(text[-TAIL_CHARS:]))
    return named[-1].group(1) if named else None


def gold_answer_text(gold: str) -> str:
    """A gold answer as stored: a bare answer, or a solution whose last box holds it."""
    if any(command in gold for command in BOX_COMMANDS):
        found = _boxed_answer(gold)
        if found is not None and found.answer is not None:
            return found.answer
    return gold.strip()
