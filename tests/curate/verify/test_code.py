"""The code checker: program extraction, HumanEval/MBPP completion, verdicts, real data.

Real data: shared/data/code (HumanEval 164, MBPP 399; SOURCES.md). Canonical solutions must
pass, the same solutions with their return value changed must fail.
"""

from __future__ import annotations

import ast
import json

import pytest

from curate.verify.code import CODE_VERSION, CodeChecker, complete_humaneval, extract_program, prompt_preamble
from curate.verify.sandbox import SandboxUnavailable
from curate.verify.domains import CheckerOptions, Task
from tests.conftest import WORKSPACE_DATA

DATA = WORKSPACE_DATA / "code"
# Their own tests reject these two MBPP reference solutions (sum_div(8) and are_equivalent).
MBPP_WRONG_REFERENCES = {"Mbpp/164", "Mbpp/295"}


def rows(name: str) -> list[dict]:
    path = DATA / name
    if not path.exists():
        pytest.skip(f"no {path}")
    return [json.loads(line) for line in path.read_text().splitlines()]


def task_of(row: dict) -> Task:
    return Task(row["task_id"], question=row.get("prompt") or row.get("text", ""), meta=row, domain="code")


@pytest.fixture(scope="module")
def checker():
    code = CodeChecker()
    try:
        code.check_many([], workers=1, timeout=5)
        code._sandbox_for(1)
    except SandboxUnavailable as error:
        pytest.skip(f"no isolation on this machine: {error}")
    yield code
    code.close()


def fenced(program: str, reasoning: str = "I think about it.") -> str:
    return f"<think>{reasoning}</think>\nHere it is:\n```python\n{program}\n```\n"


MBPP_ROW = {
    "task_id": "Mbpp/own",
    "text": "Write a function that doubles a number.",
    "code": "def double(x):\n    return 2 * x",
    "test_list": ["assert double(1) == 2", "assert double(2) == 4", "assert double(-3) == -6"],
}


# -- extraction -------------------------------------------------------------------------------
def test_last_python_block_after_the_reasoning():
    response = "<think>```python\nprint('draft')\n```</think>\n```python\nx = 1\n```\ntext\n```py\nx = 2\n```"
    assert extract_program(response)[:2] == ("x = 2\n", "python_block")


def test_example_usage_block_after_the_solution_is_not_the_program():
    response = "```python\ndef f(x):\n    return x\n```\nExample usage:\n```python\nprint(f(3))\n```"
    assert extract_program(response)[0] == "def f(x):\n    return x\n"


def test_untagged_block_and_whole_answer():
    assert extract_program("```\nx = 1\n```")[:2] == ("x = 1\n", "code_block")
    assert extract_program("def f():\n    return 1")[:2] == ("def f():\n    return 1", "whole_answer")


@pytest.mark.parametrize(
    "response, finish_reason, why",
    [
        ("```python\nx = 1\n```", "length", "token limit"),
        ("<think>still thinking", None, "never closed"),
        ("```python\ndef f():\n    return", None, "never closes"),
        ("```sql\nselect 1\n```", None, "no Python code block"),
        ("   ", None, "empty"),
    ],
)
def test_no_program(response, finish_reason, why):
    program, source, reason = extract_program(response, finish_reason)
    assert program is None and source is None and why in reason


# -- completion -------------------------------------------------------------------------------
def test_humaneval_answer_gets_the_prompts_imports_and_helpers():
    row = next(r for r in rows("humaneval.jsonl") if r["task_id"] == "HumanEval/10")  # make_palindrome + is_palindrome
    answer = "def make_palindrome(string):\n    for i in range(len(string) + 1):\n        if is_palindrome(string[i:]):\n            return string + string[:i][::-1]\n"
    program = complete_humaneval(answer, row["prompt"], row["entry_point"])
    assert "def is_palindrome" in program and program.endswith(answer)
    assert "def make_palindrome" not in prompt_preamble(row["prompt"], row["entry_point"])


def test_humaneval_body_is_read_as_a_completion_of_the_prompt():
    row = rows("humaneval.jsonl")[0]
    program = complete_humaneval(row["canonical_solution"], row["prompt"], row["entry_point"])
    assert program == row["prompt"] + row["canonical_solution"]


# -- verdicts ---------------------------------------------------------------------------------
def test_verdicts_of_each_kind(checker):
    task = task_of(MBPP_ROW)
    items = [
        (task, fenced(MBPP_ROW["code"]), "stop"),
        (task, fenced("def double(x):\n    return x * x"), "stop"),
        (task, fenced("def double(x) return 2x"), "stop"),
        (task, "I could not solve it.", "stop"),
        (task, fenced("def double(x):\n    while True:\n        pass"), "stop"),
        (Task("no-tests", meta={"text": "x"}), fenced("x = 1"), "stop"),
        (task, fenced(MBPP_ROW["code"]), "length"),
    ]
    verdicts = checker.check_many(items, workers=1, timeout=1.0)
    assert [v.verdict for v in verdicts] == [
        "correct",
        "incorrect",
        "unparseable",
        "no_answer",
        "timeout",
        "error",
        "no_answer",
    ]
    assert verdicts[0].reason == "3/3 tests passed" and verdicts[0].answer_source == "python_block"
    assert verdicts[1].reason == "1/3 tests passed: AssertionError at test 1: assert double(1) == 2"
    assert verdicts[2].reason.startswith("not Python: SyntaxError at line 1")
    assert "wall-time limit" in verdicts[4].reason
    assert (checker.domain, checker.version, checker.isolation) == ("code", CODE_VERSION, "namespaces")


@pytest.mark.parametrize(
    "tail",
    [
        "import sys\nsys.exit(0)",
        "import os\nos._exit(0)",
        "import atexit, os\natexit.register(os._exit, 0)",
        "import os\nos.close(3)",
        "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)",
    ],
)
def test_wrong_program_that_exits_early_is_incorrect(checker, tail):
    wrong = "def double(x):\n    return x + 1\n" + tail
    verdict = checker.check_many([(task_of(MBPP_ROW), fenced(wrong), "stop")], workers=1, timeout=5)[0]
    assert verdict.verdict == "incorrect", verdict.reason


def test_right_program_that_exits_after_the_function_is_not_passed(checker):
    # Exiting at top level means the tests never ran: the official harness would not pass it either.
    program = MBPP_ROW["code"] + "\nimport sys\nsys.exit(0)"
    verdict = checker.check_many([(task_of(MBPP_ROW), fenced(program), "stop")], workers=1, timeout=5)[0]
    assert verdict.verdict == "incorrect" and "SystemExit" in verdict.reason


# -- real data --------------------------------------------------------------------------------
def perturbed(program: str, entry_point: str) -> str:
    """The same program with its entry point's result changed (a value of the same kind that
    is never equal to it): a wrong solution every honest test must reject."""
    return (
        program
        + f"\n_right_{entry_point} = {entry_point}\n"
        + f"def {entry_point}(*args, **kwargs):\n"
        + f"    result = _right_{entry_point}(*args, **kwargs)\n"
        + "    if isinstance(result, bool):\n        return not result\n"
        + "    if isinstance(result, (int, float)):\n        return result + 1 + abs(result)\n"
        + "    if isinstance(result, str):\n        return result + '#'\n"
        + "    if isinstance(result, (list, tuple)):\n        return type(result)([*result, -999])\n"
        + "    if result is None:\n        return 0\n"
        + "    return None\n"
    )


def mbpp_entry(row: dict) -> str:
    name = ast.parse(row["test_list"][0]).body[0]
    calls = [n.func.id for n in ast.walk(name) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    return next(c for c in calls if f"def {c}" in row["code"])


def real_items(humaneval: list[dict], mbpp: list[dict]) -> tuple[list, list]:
    right, wrong = [], []
    for row in humaneval:
        full = row["prompt"] + row["canonical_solution"]
        right.append((task_of(row), row["canonical_solution"], "stop"))  # the official completion form
        right.append((task_of(row), fenced(full), "stop"))
        wrong.append((task_of(row), fenced(perturbed(full, row["entry_point"])), "stop"))
    for row in mbpp:
        right.append((task_of(row), fenced(row["code"]), "stop"))
        wrong.append((task_of(row), fenced(perturbed(row["code"], mbpp_entry(row))), "stop"))
    return right, wrong


def assert_real(checker, humaneval, mbpp):
    right, wrong = real_items(humaneval, mbpp)
    verdicts = checker.check_many(right + wrong, workers=2, timeout=10)
    failed_right = {item[0].problem_id for item, v in zip(right, verdicts) if v.verdict != "correct"}
    passed_wrong = {item[0].problem_id for item, v in zip(wrong, verdicts[len(right) :]) if v.verdict != "incorrect"}
    expected_wrong = MBPP_WRONG_REFERENCES & {row["task_id"] for row in mbpp}
    assert failed_right == expected_wrong
    assert passed_wrong == set()


def test_canonical_solutions_pass_and_perturbed_ones_fail_on_a_sample(checker):
    humaneval = rows("humaneval.jsonl")[::16]
    mbpp = [r for r in rows("mbpp.jsonl") if r["task_id"] in MBPP_WRONG_REFERENCES] + rows("mbpp.jsonl")[::40]
    assert_real(checker, humaneval, mbpp)


@pytest.mark.slow
def test_canonical_solutions_pass_and_perturbed_ones_fail_on_all_of_them(checker):
    assert_real(checker, rows("humaneval.jsonl"), rows("mbpp.jsonl"))


def test_without_isolation_the_checker_refuses_unless_unsafe_local(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no unshare to be found
    item = (task_of(MBPP_ROW), fenced(MBPP_ROW["code"]), "stop")
    refusing = CodeChecker()
    with pytest.raises(SandboxUnavailable, match="--unsafe-local"):
        refusing.check_many([item], workers=1, timeout=5)
    unsafe = CodeChecker(CheckerOptions(unsafe_local=True))
    try:
        assert unsafe.check_many([item], workers=1, timeout=5)[0].verdict == "correct"
        assert unsafe.isolation == "none"
    finally:
        unsafe.close()
