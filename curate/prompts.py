"""The one prompt template shared by generation, export, training and evaluation.

A template is plain text with `{question}` where the problem goes (str.format, so literal
braces are doubled: `\\boxed{{}}`). Teacher sampling, the exported SFT `user` turn and the
evaluation prompt all go through `render_prompt`, so the student is evaluated on the prompt it
was trained on.
"""

from __future__ import annotations

from pathlib import Path

from db.errors import BadInput

DEFAULT_TEMPLATE = "{question}\n\nPlease reason step by step, and put your final answer within \\boxed{{}}."


def load_template(path: str | Path | None) -> str:
    """The template in `path`, or the default; a template without `{question}` is bad input."""
    if path is None:
        return DEFAULT_TEMPLATE
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise BadInput(f"cannot read prompt template: {error}", file=str(path)) from error
    if "{question}" not in text:
        raise BadInput("a prompt template must contain {question}", file=str(path), field="{question}")
    try:
        text.format(question="")
    except (KeyError, IndexError, ValueError) as error:
        raise BadInput(f"bad placeholder {error}; write literal braces as {{{{ }}}}", file=str(path)) from error
    return text


def render_prompt(question: str, template: str = DEFAULT_TEMPLATE) -> str:
    return template.format(question=question.strip())
