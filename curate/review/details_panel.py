"""DetailsPanel: the sample's extracted answer, verdicts and the verifier's reason, the boxed
answers when they differ, form check, the wrong steps step checks flag, scores and review history.

A code or SQL sample's answer is a program: this panel names it, the program panel above the
trace shows it with the checker's report. Every value stored by another stage may be missing
(verify or score not run yet): it shows as "—". Answers are raw text. No timestamps are shown,
so the view of a given store is the same on every run.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from curate.review.answers import boxed_spans, distinct_answers
from curate.review.queries import SampleDetail

MISSING = "—"
VERDICT_STYLE = {"correct": "bold $text-success", "incorrect": "bold $text-error"}
DECISION_STYLE = {"accept": "bold $text-success", "reject": "bold $text-error", "flag": "bold $text-warning"}


def _value(value: object, digits: int = 2) -> str:
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


class DetailsPanel(Static):
    DEFAULT_CSS = """
    DetailsPanel { padding: 0 1; }
    """

    def show(
        self, detail: SampleDetail | None, reviewer: str, staged_note: str | None = None, unsaved: str | None = None
    ) -> None:
        if detail is None:
            self.update(Content("loading…"))
            return
        verdict = detail.verdict or {}
        scores = detail.scores or {}
        sample = detail.sample
        tokens = scores.get("length_tokens")
        program = sample.get("domain") in ("code", "sql")  # its program and report: the panel above the trace
        answer = verdict.get("answer")
        if program and answer is not None:
            answer = f"{len(answer.splitlines())}-line {'program' if sample['domain'] == 'code' else 'query'}, above"
        parts: list = [
            ("Sample  ", "bold"),
            detail.sample_id,
            "\n",
            ("Answer  ", "bold"),
            _value(answer),
            "\n",
            ("Verdict ", "bold"),
            (_value(verdict.get("verdict")), VERDICT_STYLE.get(verdict.get("verdict"), "")),
            f" ({verdict['verifier']})" if verdict else "",
            "\n",
        ]
        if verdict.get("reason") and verdict.get("verdict") != "correct" and not program:
            parts += [("Why     ", "bold"), verdict["reason"], "\n"]
        boxed = different_boxed_answers(sample)
        if len(boxed) > 1:
            parts += [(f"Boxed   {len(boxed)} different: ", "bold $text-warning"), " · ".join(boxed), "\n"]
        for judge in detail.judge_verdicts:
            parts += [("Judge   ", "bold"), (_value(judge["verdict"]), VERDICT_STYLE.get(judge["verdict"], "")), "\n"]
        form = verdict.get("form_ok")
        parts += [("Form    ", "bold"), _value(form)]
        if form is False and verdict.get("form_reason"):
            parts += [" ", verdict["form_reason"]]
        parts += ["\n"]
        parts += wrong_step_lines(detail.wrong_steps)
        if tokens is None and sample.get("completion_tokens") is not None:
            tokens = sample["completion_tokens"]  # before `curate score`: the API's count
        parts += [
            ("Status  ", "bold"),
            f"{sample.get('status')} / {sample.get('finish_reason') or MISSING}",
            "\n",
            ("Length  ", "bold"),
            f"{_value(tokens)} tok",
            "\n",
            ("Agree   ", "bold"),
            _value(scores.get("agreement")),
            "\n",
            ("Repeat  ", "bold"),
            _value(scores.get("repetition_ratio")),
            "\n",
        ]
        parts += ["\n", ("Reviews", "bold underline"), "\n"]
        if unsaved:
            parts += [(f"you: {unsaved} NOT SAVED yet (retrying)", "bold reverse $text-error"), "\n"]
        if not detail.decisions:
            parts += [("none yet", "$text-muted"), "\n"]
        for event in detail.decisions:
            who = event["reviewer"]
            label = f"{who} (you)" if who == reviewer else who
            parts += [f"{label}: ", (event["decision"], DECISION_STYLE.get(event["decision"], "")), "\n"]
            if event.get("corrected_answer"):
                parts += ["  fixed: ", event["corrected_answer"], "\n"]
            if event.get("note"):
                parts += ["  note: ", event["note"], "\n"]
        if staged_note:
            parts += [("next note: ", "bold $text-warning"), staged_note, "\n"]
        self.update(Content.assemble(*parts))


def wrong_step_lines(wrong_steps: list[dict]) -> list:
    """`Steps` and one line per flagged claim (its text, shortened, and the checker's reason)."""
    if not wrong_steps:
        return []
    parts: list = [(f"Steps   {len(wrong_steps)} wrong", "bold $text-error"), "\n"]
    for step in wrong_steps:
        claim = " ".join(step["claim"].split())
        claim = claim if len(claim) <= 60 else claim[:57] + "..."
        why = f"{step['checker']}: {step['reason']}" if step["reason"] else step["checker"]
        parts += ["  ✗ ", (claim, "$text-error"), "\n", "    ", (why, "$text-muted"), "\n"]
    return parts


def different_boxed_answers(sample: dict) -> list[str]:
    """The different \\boxed{} answers of the final content (of the reasoning when it has none)."""
    for column in ("content", "reasoning"):
        spans = boxed_spans(sample.get(column) or "")
        if spans:
            return distinct_answers(spans)
    return []
