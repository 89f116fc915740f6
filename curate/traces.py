"""The one home of trace text rules: think blocks, `\\boxed{}` answers, the final text.

R1-style output carries its reasoning inline as `<think>...</think>` followed by the answer, or
in a separate API field. `split_think` is used wherever text arrives (import, generation,
evaluation; import_samples.py repeats it in SQL, tested to agree); `join_think` renders the
assistant turn the student trains on; `final_text` is the part a final answer is read from;
`find_boxes` / `last_boxed` find `\\boxed{...}` / `\\fbox{...}` with balanced braces (the
verifier, `curate ingest` for golds in solutions) and `BOXED_PATTERN` is the same rule as a
regex for Polars (`curate score`); `fenced_blocks` finds the ``` fenced code blocks the code
and SQL checkers read their answers from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"


def split_think(text: str | None) -> tuple[str | None, str | None, bool]:
    """(reasoning, content, think_closed) of a completion with an inline think block.

    No `<think>` tag: reasoning None, the whole text is content, closed True. An opening tag
    without its close (a trace cut off mid-thought) gives all the text after the tag as
    reasoning, content None and closed False. A close without an opening tag (templates that
    put `<think>` in the prompt) splits at the last close.
    """
    if text is None:
        return None, None, True
    close_at = text.rfind(THINK_CLOSE)
    open_at = text.find(THINK_OPEN)
    if close_at == -1:
        if open_at == -1:
            return None, text, True
        return text[open_at + len(THINK_OPEN) :].strip("\n"), None, False
    start = open_at + len(THINK_OPEN) if -1 < open_at < close_at else 0
    reasoning = text[start:close_at].strip("\n")
    content = text[close_at + len(THINK_CLOSE) :].strip()
    return reasoning, content, True


def join_think(reasoning: str | None, content: str | None) -> str:
    """The assistant turn in the exported `<think>\\n...\\n</think>\\n\\n` + solution shape."""
    body = (content or "").strip()
    if reasoning is None or not reasoning.strip():
        return body
    return f"{THINK_OPEN}\n{reasoning.strip()}\n{THINK_CLOSE}\n\n{body}"


def full_response(reasoning: str | None, content: str | None) -> str:
    """Text the verifier reads, as R1 emits it: the reasoning, then the content.

    A sample with reasoning but no content (cut off mid-thought) keeps its think block open, so
    the verifier answers `no_answer` instead of picking a value out of the thinking.
    """
    if not reasoning:
        return content or ""
    if content is None:
        return f"{THINK_OPEN}{reasoning}"
    return f"{THINK_OPEN}{reasoning}{THINK_CLOSE}{content}"


# ---- the final text and its boxes ------------------------------------------------------------

BOX_COMMANDS = ("\\boxed", "\\fbox")
MAX_BOXES = 64
# \boxed{...} with braces nested up to four deep, for Polars (Rust regex has no recursion).
BOXED_PATTERN = r"\\(?:boxed|fbox)\s*\{(?:[^{}]|\{(?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*\})*\}"


def final_text(response: str) -> tuple[str | None, str]:
    """The part of the response a final answer is read from, or (None, reason): the text after
    the last `</think>`; None when a `<think>` never closes or nothing follows `</think>`."""
    reasoning, content, closed = split_think(response)
    if not closed:
        return None, "<think> never closed: the trace was cut off mid-thought"
    if reasoning is not None and not content:
        return None, "nothing after </think>"
    return content, ("after </think>" if reasoning is not None else "whole response")


def matching_brace(text: str, open_at: int) -> int:
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
class Box:
    start: int  # index of the backslash
    end: int  # index just after the box
    content: str | None  # None: unfinished


def box_at(text: str, start: int, command: str) -> Box | None:
    """Parse the box whose command starts at `start`; None if it is not a box command at all."""
    i = start + len(command)
    if i < len(text) and text[i].isalpha():
        return None  # \boxedtext or similar: another command
    while i < len(text) and text[i] in " \t":
        i += 1
    if i >= len(text):
        return Box(start, len(text), None)
    if text[i] == "{":
        close = matching_brace(text, i)
        if close == -1:
            return Box(start, len(text), None)
        return Box(start, close + 1, text[i + 1 : close])
    # `\boxed 5` / `\boxed5`: one token up to whitespace, `$` or the end.
    match = re.compile(r"[^\s$]+").match(text, i)
    if not match:
        return None
    token = match.group(0).rstrip(".,;")
    return Box(start, i + len(token), token)


def find_boxes(text: str) -> list[Box]:
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
        box = box_at(text, at, command)
        if box is not None:
            boxes.append(box)
    return boxes


def unwrap_box(content: str) -> str:
    """`\\boxed{\\boxed{x}}` -> x (repeatedly); other content unchanged."""
    inner = content.strip()
    while True:
        for command in BOX_COMMANDS:
            if inner.startswith(command):
                box = box_at(inner, 0, command)
                if box is not None and box.content is not None and box.end == len(inner):
                    inner = box.content.strip()
                    break
        else:
            return inner


def last_boxed(text: str) -> str | None:
    """The contents of the last `\\boxed{...}` / `\\fbox{...}` of `text` (nested boxes
    unwrapped), or None when there is none or it never closes."""
    boxes = find_boxes(text)
    if not boxes or boxes[-1].content is None:
        return None  # no box, or the last one was cut off
    return unwrap_box(boxes[-1].content) or None


# ---- fenced code blocks ----------------------------------------------------------------------

_FENCE = re.compile(r"```[ \t]*([\w+.-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)


@dataclass(frozen=True)
class Fence:
    tag: str  # the block's language tag in lower case, "" when untagged
    body: str
    closed: bool  # False when the text ends inside the block (an answer cut off)


def fenced_blocks(text: str) -> list[Fence]:
    """The ``` fenced code blocks of `text`, in order."""
    return [
        Fence(match.group(1).lower(), match.group(2), match.group(0).endswith("```")) for match in _FENCE.finditer(text)
    ]
