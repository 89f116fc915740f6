"""What the trace view shows for a sample: its sections (reasoning, final content), raw or as
Unicode, and the spans to mark in them (every boxed answer, the final answer, the claims a step
check calls wrong). Also the word-level diff the compare view marks. Nothing here imports Textual.

Inputs: a `SampleDetail`; outputs: (heading, body) sections and (start, end) text offsets.
"""

from __future__ import annotations

import difflib
import re

from curate.review.answers import boxed_spans, final_answer_span
from curate.review.latex_text import to_unicode
from curate.review.queries import SampleDetail
from curate.traces import THINK_CLOSE, THINK_OPEN

_WORD = re.compile(r"\S+")
_CONTROL = {c: "\ufffd" for c in list(range(0, 32)) + [127] if c not in (9, 10)}
_CONTROL[9] = "    "


def display_text(text: str) -> str:
    """The text as the view shows it: a tab becomes four spaces, \\r\\n and a lone \\r end a
    line, any other control character shows as U+FFFD."""
    return text.replace("\r\n", "\n").replace("\r", "\n").translate(_CONTROL)


def trace_sections(detail: SampleDetail, unicode: bool = False) -> list[tuple[str, str | None]]:
    """Reasoning then final content; an empty or missing section is its heading line alone."""
    sections = []
    for name, column in (("reasoning", "reasoning"), ("final content", "content")):
        body = detail.sample.get(column)
        if not body or not body.strip():
            sections.append((f"{name}: {'empty' if body is not None else 'none'}", None))
        else:
            sections.append((f"{name} ({len(body):,} chars)", to_unicode(body) if unicode else body))
    return sections


def answer_marks(
    text: str, bodies: list[tuple[int, int]], answer: str | None, unicode: bool = False
) -> dict[str, list[tuple[int, int]]]:
    """Every boxed answer, and the final answer (see `answers.final_answer_span`)."""
    boxes = [(start, end) for start, end, _ in boxed_spans(text)]
    reasoning, content = bodies[0], bodies[1]
    shown_answer = to_unicode(answer) if unicode and answer else answer
    final = final_answer_span(text, content, reasoning, shown_answer)
    return {"boxed": boxes, "answer": [final] if final else []}


def step_marks(detail: SampleDetail, bodies: list[tuple[int, int]], unicode: bool = False) -> list[tuple[int, int]]:
    """Where the sample's wrong steps (`detail.wrong_steps`, offsets into full_response: think
    tags, reasoning, think tags, content) lie in the view's text, whose sections start at
    `bodies`. A claim shown as Unicode is placed by the length of the converted text before it."""

    def shown(raw: str) -> str:
        return display_text(to_unicode(raw) if unicode else raw)

    reasoning, content = detail.sample.get("reasoning"), detail.sample.get("content")
    parts = []  # (offset of the section's text in full_response, its raw text, where the view shows it)
    content_at = 0
    if reasoning:
        if reasoning.strip():
            parts.append((len(THINK_OPEN), reasoning, bodies[0][0]))
        content_at = len(THINK_OPEN) + len(reasoning) + len(THINK_CLOSE)
    if content and content.strip():
        parts.append((content_at, content, bodies[1][0]))
    spans: list[tuple[int, int]] = []
    for step in detail.wrong_steps:
        for at, body, view_start in parts:
            if at <= step["claim_start"] < at + len(body):
                start = step["claim_start"] - at
                end = min(step["claim_end"] - at, len(body))
                first = view_start + len(shown(body[:start]))
                spans.append((first, first + max(1, len(shown(body[start:end])))))
                break
    # Spans of one kind must not overlap: two checkers naming one claim mark it once.
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def word_diff(left: str, right: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Spans of the words only in `left` (removed) and only in `right` (added), word by word."""
    a = [(m.start(), m.end()) for m in _WORD.finditer(left)]
    b = [(m.start(), m.end()) for m in _WORD.finditer(right)]
    # Exact on ordinary traces; on long ones difflib's junk heuristic keeps it from going quadratic.
    matcher = difflib.SequenceMatcher(
        None, [left[s:e] for s, e in a], [right[s:e] for s, e in b], autojunk=len(b) > 2000
    )
    removed, added = [], []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            removed += a[i1:i2]
        if tag in ("replace", "insert"):
            added += b[j1:j2]
    return removed, added
