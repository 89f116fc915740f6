"""The prompt templates shared by generation, export, training and evaluation, one per domain.

A template is plain text with `{question}` where the problem goes (str.format, so literal
braces are doubled: `\\boxed{{}}`). Teacher sampling, the exported SFT `user` turn and the
evaluation prompt all go through `render_prompt(question, template_for(domain, templates))`,
so the student is evaluated on the prompt it was trained on.

The template of each domain (problems.domain) is DOMAIN_TEMPLATES' unless the user gives one:
- math: DEFAULT_TEMPLATE, the boxed-answer instruction (the math verifier reads the box);
- code and sql: the question as ingest wrote it (it says already how to answer: one ```python
  or ```sql block) and a line asking for reasoning, no box (a box around code is not code);
- choice: the question and its lettered options, and the letter asked for in a box (the
  choice checker reads a boxed letter first, curate/verify/choice.py).
`load_templates(specs)` reads the user's `--prompt-template` values: `FILE` replaces the
template of every domain, `DOMAIN=FILE` (e.g. `code=code.txt`) that domain's only, and wins
over `FILE` for it.

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
from typing import Mapping, Sequence

from db.errors import BadInput

DEFAULT_TEMPLATE = "{question}\n\nPlease reason step by step, and put your final answer within \\boxed{{}}."
# Code and SQL questions end with the answer's form ("Answer with ... in one ```sql code block").
AS_ASKED_TEMPLATE = "{question}\n\nPlease reason step by step, then answer as asked above."
CHOICE_TEMPLATE = "{question}\n\nPlease reason step by step, and put the letter of your answer within \\boxed{{}}."
# domain (problems.domain; the domains of curate/verify/domains.py) -> its default template.
DOMAIN_TEMPLATES: dict[str, str] = {
    "math": DEFAULT_TEMPLATE,
    "code": AS_ASKED_TEMPLATE,
    "sql": AS_ASKED_TEMPLATE,
    "choice": CHOICE_TEMPLATE,
}
TEMPLATE_FLAG = "--prompt-template"


def load_template(path: str | Path | None) -> str:
    """The template in `path`, or the math default; a template without `{question}` is bad input."""
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


def load_templates(specs: str | Path | Sequence[str | Path] | None = None) -> dict[str, str]:
    """The template of every domain: DOMAIN_TEMPLATES, then a `FILE` spec for all of them, then
    each `DOMAIN=FILE` spec for its domain (module doc; a file whose name starts "code=" is
    written "./code=..."). Two specs for the same domains are bad input."""
    if specs is None:
        specs = ()
    elif isinstance(specs, (str, Path)):
        specs = (specs,)
    every: str | Path | None = None
    one: dict[str, str | Path] = {}
    for spec in specs:
        domain, sep, path = str(spec).partition("=")
        if sep and domain.isidentifier() and domain not in DOMAIN_TEMPLATES and not Path(spec).exists():
            raise BadInput(
                f"unknown domain {domain!r} in {spec}; use one of {', '.join(DOMAIN_TEMPLATES)}", field=TEMPLATE_FLAG
            )
        if sep and domain in DOMAIN_TEMPLATES:
            if domain in one:
                raise BadInput(f"two templates for domain {domain}: {one[domain]} and {path}", field=TEMPLATE_FLAG)
            one[domain] = path
        elif every is not None:
            raise BadInput(
                f"two templates for every domain: {every} and {spec}; name the domain of one (DOMAIN=FILE, "
                f"DOMAIN one of {', '.join(DOMAIN_TEMPLATES)})",
                field=TEMPLATE_FLAG,
            )
        else:
            every = spec
    templates = dict(DOMAIN_TEMPLATES)
    if every is not None:
        templates = dict.fromkeys(DOMAIN_TEMPLATES, load_template(every))
    templates.update({domain: load_template(path) for domain, path in one.items()})
    return templates


def template_for(domain: str, templates: Mapping[str, str] | None = None) -> str:
    """The template of `domain`: from `templates` (load_templates' result), else its default."""
    chosen = DOMAIN_TEMPLATES if templates is None else templates
    if domain not in chosen:
        raise BadInput(f"no prompt template for domain {domain!r}; known: {', '.join(chosen)}", field="domain")
    return chosen[domain]


def render_prompt(question: str, template: str = DEFAULT_TEMPLATE) -> str:
    """The prompt of `question`: `template` with the question (stripped) in place of `{question}`."""
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
