"""Final-answer extraction from a model response (pure string work, no SymPy).

Contract: `extract(response, last_number=True) -> Extraction(answer, source, reason)`.

Order of preference, on the text after the last `</think>` (the whole response when there is
no think block):
1. `boxed`: the last complete `\\boxed{...}` / `\\fbox{...}` (nested braces balanced,
   `\\boxed{\\boxed{x}}` unwrapped, `\\boxed 5` accepted). Boxes that follow each other with only
   separators between them (",", "and", "or", ";", spacing, math delimiters) form one list
   answer ("\\boxed{1} and \\boxed{2}" -> "1, 2"); any other text in between means the writer
   changed their mind, so only the last box counts ("\\boxed{1} wait no \\boxed{2}" -> "2").
2. `final_answer_phrase`: "final answer is X" / "the answer is X" (last occurrence).
3. `answer_label`: a line "Answer: X" (also "**Answer:** X").
4. `bold`: the last `**X**` holding a digit or math.
5. `last_number` (optional): the last number in the text.

`no_answer` cases, never a value taken from the thinking: a `<think>` that is never closed (the
trace was cut off mid-thought), an unfinished `\\boxed{` after the last complete box (cut off
while writing the answer), nothing after `</think>`, an empty response. Only the last 4,000
characters are searched by the phrase and number rules and only the last 64 boxes are
considered, so a 1 MB response costs the same as a short one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
BOX_COMMANDS = ("\\boxed", "\\fbox")
TAIL_CHARS = 4000
MAX_BOXES = 64
MAX_ANSWER_CHARS = 10_000


@dataclass(frozen=True)
class Extraction:
    answer: str | None
    source: str | None  # boxed | final_answer_phrase | answer_label | bold | last_number
    reason: str  # why there is no answer, or where the answer came from


def final_text(response: str) -> tuple[str | None, str]:
    """The part of the response the answer is read from, or (None, reason)."""
    close_at = response.rfind(THINK_CLOSE)
    if close_at != -1:
        text = response[close_at + len(THINK_CLOSE):]
        if not text.strip():
            return None, "nothing after </think>"
        return text, "after </think>"
    if THINK_OPEN in response:
        return None, "<think> never closed: the trace was cut off mid-thought"
    return response, "whole response"


def _matching_brace(text: str, open_at: int) -> int:
    """Index of the `}` closing the `{` at open_at, or -1 when the text ends first."""
    depth = 0
    i = open_at
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2  # an escaped character (\{, \}) never opens or closes a group
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


@dataclass(frozen=True)
class _Box:
    start: int  # index of the backslash
    end: int  # index just after the box
    content: str | None  # None: unfinished


def _box_at(text: str, start: int, command: str) -> _Box | None:
    """Parse the box whose command starts at `start`; None if it is not a box command at all."""
    i = start + len(command)
    if i < len(text) and text[i].isalpha():
        return None  # \boxedtext or similar: another command
    while i < len(text) and text[i] in " \t":
        i += 1
    if i >= len(text):
        return _Box(start, len(text), None)
    if text[i] == "{":
        close = _matching_brace(text, i)
        if close == -1:
            return _Box(start, len(text), None)
        return _Box(start, close + 1, text[i + 1:close])
    # `\boxed 5` / `\boxed5`: one token up to whitespace, `$` or the end.
    match = re.compile(r"[^\s$]+").match(text, i)
    if not match:
        return None
    token = match.group(0).rstrip(".,;")
    return _Box(start, i + len(token), token)


def _find_boxes(text: str) -> list[_Box]:
    """The last MAX_BOXES box commands of the text, in order."""
    positions: list[tuple[int, str]] = []
    for command in BOX_COMMANDS:
        at = len(text)
        found = 0
        while found < MAX_BOXES:
            at = text.rfind(command, 0, at)
            if at == -1:
                break
            positions.append((at, command))
            found += 1
    positions.sort()
    boxes = []
    for at, command in positions[-MAX_BOXES:]:
        box = _box_at(text, at, command)
        if box is not None:
            boxes.append(box)
    return boxes


_SEPARATOR_ONLY = re.compile(
    r"^(?:\s|\$|\\[()\[\]]|\\quad|\\qquad|\\,|\\;|,|;|\.|and|or|&|\\text\{\s*(?:and|or|,)\s*\}|\\(?:text|mathrm)\{\s*\})*$",
    re.IGNORECASE,
)


def _unwrap_box(content: str) -> str:
    """`\\boxed{\\boxed{x}}` -> x (repeatedly); other content unchanged."""
    inner = content.strip()
    while True:
        for command in BOX_COMMANDS:
            if inner.startswith(command):
                box = _box_at(inner, 0, command)
                if box is not None and box.content is not None and box.end == len(inner):
                    inner = box.content.strip()
                    break
        else:
            return inner


def _boxed_answer(text: str) -> Extraction | None:
    boxes = _find_boxes(text)
    if not boxes:
        return None
    last = boxes[-1]
    if last.content is None:
        return Extraction(None, None, "unfinished \\boxed{ at the end: the answer was cut off")
    # Nested boxes (\boxed{\boxed{x}}) appear as two boxes; keep only the outermost ones.
    outer: list[_Box] = []
    for box in boxes:
        if outer and box.start < outer[-1].end:
            continue
        outer.append(box)
    chosen = [outer[-1]]
    for box in reversed(outer[:-1]):
        if box.content is None or not _SEPARATOR_ONLY.match(text[box.end:chosen[0].start]):
            break
        chosen.insert(0, box)
    parts = []
    for box in chosen:
        part = _unwrap_box(box.content or "")
        if part and part not in parts:  # "\boxed{6} ... \boxed{6}": the same answer twice
            parts.append(part)
    if not parts:
        return Extraction(None, None, "empty \\boxed{}")
    answer = ", ".join(parts)
    if len(parts) > 1:
        return Extraction(answer, "boxed", f"{len(parts)} adjacent boxes read as one list")
    return Extraction(answer, "boxed", "last \\boxed{}")


_MATH_SPAN = re.compile(r"^\s*(?:\$\$(.+?)\$\$|\$(.+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\])", re.DOTALL)
_PHRASE = re.compile(r"(?:final answer|the answer)\s*(?:is|=|:)\s*:?\s*", re.IGNORECASE)
_LABEL = re.compile(r"(?:^|\n)[ \t>#*_]*answer[ \t*_]*[:：][ \t*_]*", re.IGNORECASE)
_BOLD = re.compile(r"\*\*([^*\n]{1,200}?)\*\*")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?|-?\.\d+")


def _clean_phrase(rest: str) -> str | None:
    """The answer that starts `rest`: a math span, else up to the end of the sentence or line."""
    math = _MATH_SPAN.match(rest)
    if math:
        value = next(g for g in math.groups() if g is not None)
    else:
        line = rest.split("\n", 1)[0]
        # The sentence ends at ". " or a final ".", but not at a decimal point.
        value = re.split(r"\.(?:\s|$)", line, maxsplit=1)[0]
    value = value.strip().strip("*").strip()
    value = re.sub(r"^\\boxed\s*", "", value)
    value = value.rstrip(".").strip()
    if value.startswith("{") and value.endswith("}") and _matching_brace(value, 0) == len(value) - 1:
        value = value[1:-1].strip()
    return value or None


def _phrase_answer(tail: str) -> Extraction | None:
    matches = list(_PHRASE.finditer(tail))
    for match in reversed(matches):
        value = _clean_phrase(tail[match.end():])
        if value:
            return Extraction(value, "final_answer_phrase", f"after \"{match.group(0).strip()}\"")
    return None


def _label_answer(tail: str) -> Extraction | None:
    matches = list(_LABEL.finditer(tail))
    for match in reversed(matches):
        value = _clean_phrase(tail[match.end():])
        if value:
            return Extraction(value, "answer_label", "after an \"Answer:\" label")
    return None


def _bold_answer(tail: str) -> Extraction | None:
    for match in reversed(list(_BOLD.finditer(tail))):
        value = match.group(1).strip()
        if value.endswith(":") or not re.search(r"[\d\\=]", value):
            continue  # a heading ("**Step 1:**") or prose, not an answer
        math = _MATH_SPAN.match(value)
        if math:
            value = next(g for g in math.groups() if g is not None).strip()
        value = value.rstrip(".").strip()
        if value:
            return Extraction(value, "bold", "last bold answer")
    return None


def _number_answer(tail: str) -> Extraction | None:
    matches = _NUMBER.findall(tail)
    if not matches:
        return None
    value = matches[-1].rstrip(",")
    return Extraction(value, "last_number", "last number in the text (no box or answer phrase)")


def extract(response: str | None, last_number: bool = True) -> Extraction:
    """The final answer of `response`, as written, with where it came from (see module doc)."""
    if response is None or not response.strip():
        return Extraction(None, None, "empty response")
    text, why = final_text(response)
    if text is None:
        return Extraction(None, None, why)
    found = _boxed_answer(text)
    if found is None:
        tail = text[-TAIL_CHARS:]
        found = _phrase_answer(tail) or _label_answer(tail) or _bold_answer(tail)
        if found is None and last_number:
            found = _number_answer(tail)
    if found is None:
        return Extraction(None, None, "no \\boxed{}, answer phrase or number in the final text")
    if found.answer is not None and len(found.answer) > MAX_ANSWER_CHARS:
        return Extraction(found.answer[:MAX_ANSWER_CHARS], found.source, "answer longer than 10,000 characters (cut)")
    return found


def extract_answer(response: str | None, last_number: bool = True) -> tuple[str | None, str | None]:
    """(answer as written, source) of `response`; (None, None) when there is none."""
    found = extract(response, last_number=last_number)
    return found.answer, found.source


def gold_answer_text(gold: str) -> str:
    """A gold answer as stored: a bare answer, or a solution whose last box holds it."""
    if any(command in gold for command in BOX_COMMANDS):
        found = _boxed_answer(gold)
        if found is not None and found.answer is not None:
            return found.answer
    return gold.strip()
