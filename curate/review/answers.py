"""Where the answer is in a trace: every `\\boxed{…}` and the final answer, as text offsets.

Works on the text as the trace view shows it, raw or converted to Unicode (`latex_text`, where
`\\boxed{X}` reads ⟦X⟧). The final answer is the last boxed answer of the final content (the
reasoning's when the content has none); without any box, the last place the verifier's
extracted answer appears in the content. Nothing here imports Textual.
"""

from __future__ import annotations

from curate.review.latex_text import BOX_CLOSE, BOX_OPEN

BOXED = "\\boxed{"


def boxed_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int, str]]:
    """(start, end, inner text) of every box in text[start:end]: raw `\\boxed{…}` with its braces
    balanced, or a converted ⟦…⟧."""
    end = len(text) if end is None else end
    spans = []
    i = start
    while i < end:
        raw = text.find(BOXED, i, end)
        converted = text.find(BOX_OPEN, i, end)
        found = [p for p in (raw, converted) if p != -1]
        if not found:
            break
        at = min(found)
        if at == raw:
            close = _close_brace(text, at + len(BOXED) - 1, end)
            if close is None:
                i = at + len(BOXED)
                continue
            spans.append((at, close + 1, text[at + len(BOXED) : close]))
        else:
            close = _close_box(text, at, end)
            if close is None:
                i = at + 1
                continue
            spans.append((at, close + 1, text[at + 1 : close]))
        i = spans[-1][1]
    return spans


def distinct_answers(spans: list[tuple[int, int, str]]) -> list[str]:
    """The different boxed answers, in order of first appearance (spaces ignored when comparing)."""
    seen: dict[str, str] = {}
    for _, _, inner in spans:
        seen.setdefault("".join(inner.split()), inner.strip())
    return list(seen.values())


def final_answer_span(
    text: str, content: tuple[int, int], reasoning: tuple[int, int], answer: str | None
) -> tuple[int, int] | None:
    """The span of the final answer (see the module docstring), or None when there is none."""
    for start, end in (content, reasoning):
        spans = boxed_spans(text, start, end)
        if spans:
            return spans[-1][0], spans[-1][1]
    if answer:
        at = text.rfind(answer, content[0], content[1])
        if at != -1:
            return at, at + len(answer)
    return None


def _close_brace(text: str, open_at: int, end: int) -> int | None:
    depth = 0
    i = open_at
    while i < end:
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def _close_box(text: str, open_at: int, end: int) -> int | None:
    depth = 0
    for i in range(open_at, end):
        if text[i] == BOX_OPEN:
            depth += 1
        elif text[i] == BOX_CLOSE:
            depth -= 1
            if depth == 0:
                return i
    return None
