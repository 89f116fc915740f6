"""What the trace view shows for a sample: its sections (reasoning, final content), raw or as
Unicode, and the spans to mark in them (every boxed answer, the final answer). Also the
word-level diff the compare view marks. Nothing here imports Textual.

Inputs: a `SampleDetail`; outputs: (heading, body) sections and (start, end) text offsets.
"""

from __future__ import annotations

import difflib
import re

from curate.review.answers import boxed_spans, final_answer_span
from curate.review.latex_text import to_unicode
from curate.review.queries import SampleDetail

_WORD = re.compile(r"\S+")


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
