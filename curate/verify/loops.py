"""Responses cut off at the token limit, and traces that loop until it cuts them, told from the text.

Contract: `cut_off_reason(response, finish_reason) -> str | None` is the checkers' one rule for
a response with no final answer because it was cut off: finish reason "length", or no finish
reason (an imported trace) and a loop to the end; "stop" means the model ended on its own.
`final_answer(response, finish_reason)` is the text the code and choice checkers read (or None and
why there is none: cut off, empty, no text after the reasoning).
`looks_cut_off_by_looping(text) -> str | None`: a reason when the end of `text` is one block of
characters repeated at least MIN_REPEATS times (the last copy may stop part-way, as a token
limit cuts it), covering at least MIN_LOOP_CHARS; else None. Such a trace's answer is the looped
one, so the checkers make it `no_answer`.

Only exact repetition counts (a model stuck in a loop copies its own tokens), so lists, tables
and "let me check" lines with other numbers are not loops. Linear time on any input, no regular
expression: the last TAIL_CHARS characters must recur within the last third of the text (one
`str.rfind`, which most texts fail), and only then does one pass of the prefix function (KMP)
over the reversed text find the smallest block that repeats to the end.
"""

from __future__ import annotations

from curate.traces import final_text

LENGTH_REASON = "cut off at the token limit (finish reason length): no final answer"
MIN_REPEATS = 3  # copies of the block, the part-way last one counted as a share
MIN_LOOP_CHARS = 300  # the looped end at least this long: a final line written two or three times is no loop
TAIL_CHARS = 64  # the end of the text, which a loop leaves one block earlier too


def _looped_length(text: str, period: int) -> int:
    """The length of the longest end of `text` that repeats itself `period` characters earlier
    (text[i] == text[i - period] throughout), plus the period: the looped end's length."""
    n = len(text)
    limit = n - period  # the comparison can reach back to the start of the text
    known, step = 0, TAIL_CHARS
    while known < limit:  # galloping, then halving: O(log n) slice comparisons in C
        size = min(limit, known + step)
        if text[n - size :] == text[n - size - period : n - period]:
            known, step = size, step * 2
        elif step > 1:
            step //= 2
        else:
            break
    return known + period


def _smallest_block(text: str) -> int | None:
    """The smallest `period` whose repetition covers an end of `text` at least
    max(MIN_REPEATS * period, MIN_LOOP_CHARS) long, or None.

    The ends of `text` are the prefixes of its reverse, and the smallest period of a prefix never
    shrinks as the prefix grows: the first prefix long enough that holds MIN_REPEATS copies of its
    smallest period gives the answer, and the pass stops once no period can fit that often."""
    reverse = text[::-1]
    n = len(reverse)
    border = [0] * n  # border[m]: the longest proper prefix of reverse[: m + 1] that is also its suffix
    k = 0
    for m in range(1, n):
        char = reverse[m]
        while k and char != reverse[k]:
            k = border[k - 1]
        if char == reverse[k]:
            k += 1
        border[m] = k
        length = m + 1
        period = length - k
        if period * MIN_REPEATS > n:
            return None
        if length >= MIN_LOOP_CHARS and length >= MIN_REPEATS * period:
            return period
    return None


def looks_cut_off_by_looping(text: str | None) -> str | None:
    """Why `text` looks cut off while looping (the same block repeated to its end), or None."""
    if not text:
        return None
    body = text.rstrip()
    n = len(body)
    if n < MIN_LOOP_CHARS:
        return None
    # A loop of block p is at least p + TAIL_CHARS long, so its tail recurs p characters earlier.
    if body.rfind(body[n - TAIL_CHARS :], max(0, n - TAIL_CHARS - n // MIN_REPEATS), n - 1) < 0:
        return None
    period = _smallest_block(body)
    if period is None:
        return None
    copies = _looped_length(body, period) / period
    shown = f"{copies:.1f}".removesuffix(".0")
    return f"repeats the same {period}-character block {shown} times until it stops: cut off by the token limit"


def final_answer(response: str | None, finish_reason: str | None) -> tuple[str | None, str]:
    """curate.traces.final_text's (text, reason) for a response that was not cut off
    (cut_off_reason) and is not empty, else (None, why there is no final answer)."""
    cut_off = cut_off_reason(response, finish_reason)
    if cut_off:
        return None, cut_off
    if response is None or not response.strip():
        return None, "empty response"
    return final_text(response)


def cut_off_reason(response: str | None, finish_reason: str | None) -> str | None:
    """Why `response` has no final answer for being cut off, or None: finish reason "length", or
    none (an imported trace) and a loop to its end; "stop" means the model ended on its own."""
    if finish_reason == "length":
        return LENGTH_REASON
    return looks_cut_off_by_looping(response) if finish_reason is None else None
