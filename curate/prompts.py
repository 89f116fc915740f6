"""The one prompt template shared by generation, export, training and evaluation.

A template is plain text with `{question}` where the problem goes (str.format, so literal
braces are doubled: `\\boxed{{}}`). Teacher sampling, the exported SFT `user` turn and the
evaluation prompt all go through `render_prompt`, so the student is evaluated on the prompt it
was trained on.

The questions of the other domains are written here too, once, at ingest (`curate ingest`
stores them as `problems.question`): `humaneval_question` (the signature and docstring to
complete), `mbpp_question` (MBPP's task text and first test), `sql_question` (the question and
its database's CREATE statements) and `choice_question` (the question and lettered option
lines "A. ..."; `lettered_options` reads such lines back).
"""

from __future__ import annotations

import re
import string
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


# ---- the questions of the code, SQL and choice domains ---------------------------------------

OPTION_LETTERS = string.ascii_uppercase
HUMANEVAL_QUESTION = (
    "Complete the following Python function. Answer with the whole function, its imports "
    "included, in one ```python code block.\n\n```python\n{prompt}\n```"
)
# MBPP's own prompt: the task, then "Your code should pass these tests:" and a test that names the function.
MBPP_QUESTION = (
    "{text}\nYour code should pass these tests:\n\n{test}\n\nAnswer with the function in one ```python code block."
)
SQL_QUESTION = (
    "{question}\n\nThe {dialect} database has these tables:\n\n{schema}\n\n"
    "Answer with one {dialect} query in one ```sql code block."
)
_OPTION_LINE = re.compile(r"^[ \t]*([A-Z])[.)][ \t]+(\S.*?)[ \t]*$", re.MULTILINE)


def humaneval_question(prompt: str) -> str:
    """A HumanEval task's question: its prompt (signature and docstring) to complete."""
    return HUMANEVAL_QUESTION.format(prompt=prompt.strip("\n"))


def mbpp_question(text: str, first_test: str) -> str:
    """An MBPP task's question: its text and first test, as MBPP's own prompt has them."""
    return MBPP_QUESTION.format(text=text.strip(), test=first_test.strip())


def sql_question(question: str, schema: str, dialect: str) -> str:
    """A text-to-SQL question: the question, the database's CREATE statements and the answer's form."""
    return SQL_QUESTION.format(question=question.strip(), schema=schema.strip(), dialect=dialect)


def choice_question(question: str, options: list[str]) -> str:
    """A multiple-choice question: the question, then one line "A. option" per option."""
    lines = [f"{letter}. {option}" for letter, option in zip(OPTION_LETTERS, options)]
    return question.rstrip() + "\n\n" + "\n".join(lines)


def lettered_options(question: str) -> list[str]:
    """The options of a question that carries lettered lines ("A. ...", "B) ..."), in order from A; [] without."""
    options: list[str] = []
    for match in _OPTION_LINE.finditer(question):
        letter, text = match.groups()
        if letter == "A":
            options = [text]  # a later run starting at A is the option list (an example above it is not)
        elif options and letter == OPTION_LETTERS[len(options)]:
            options.append(text)
    return options if len(options) >= 2 else []
