"""Splitting a completion into reasoning and final content, and joining them back.

R1-style output carries its reasoning inline as `<think>...</think>` followed by the answer, or
in a separate API field. `split_think` is used wherever text arrives (import, generation,
evaluation); `join_think` renders the assistant turn the student trains on.
"""

from __future__ import annotations

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
        return text[open_at + len(THINK_OPEN):].strip("\n"), None, False
    start = open_at + len(THINK_OPEN) if -1 < open_at < close_at else 0
    reasoning = text[start:close_at].strip("\n")
    content = text[close_at + len(THINK_CLOSE):].strip()
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
