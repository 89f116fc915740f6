"""The code domain: a response's program, run with its problem's tests in the sandbox.

Contract: `CodeChecker(options=CheckerOptions(), limits=Limits())` with `domain = "code"` and
`version = CODE_VERSION`; `check_many([(task, response, finish_reason), ...], workers=,
timeout=) -> [Verdict, ...]` in order; `close()` stops its sandbox; `isolation` says what the
sandbox got. The first check starts the sandbox, which raises `SandboxUnavailable` where no
isolation is possible and `options.unsafe_local` is False (the CLI's `--unsafe-local`). A task is anything with
`problem_id` and `meta` (the source's own fields, curate/verify/domains.py's Task).

The program is the final answer's last fenced Python block (text after the last `</think>`;
a block tagged python/py/python3, else an untagged one; the last that defines a function or
class, so an "example usage" block after the solution is not taken), else the whole final text when
it is Python (alone, or as the rest of a HumanEval prompt); prose without a block: no_answer.
It is completed the way the official harnesses do:
- HumanEval (`prompt`, `test`, `entry_point`): an answer that defines `entry_point` gets the
  prompt's other lines (imports, helpers) in front of it; an answer that does not parse alone
  or does not define it is read as a completion of the prompt (prompt + answer), as
  human-eval's harness reads it. Each top-level statement of `check(candidate)` that holds an
  assert is one test.
- MBPP (`test_list`, optional `test_setup_code`): the answer as it is; each entry of
  `test_list` is one test, after `test_setup_code` (`challenge_test_list` is not run, as in
  MBPP's own evaluation).
Every test runs even after one fails, so the reason says how many passed ("3/7 tests passed:
AssertionError at test 4: assert ..."). Verdicts: correct (all passed, marker seen),
incorrect, unparseable (a block that is not Python), no_answer (no program, or cut off at the
token limit: finish reason "length", or none and a loop to the end, curate/verify/loops.py), timeout (wall or CPU limit), error (a problem without tests, a sandbox failure).
Identical programs for one problem run once per call.
"""

from __future__ import annotations

import ast
import json
import re
import time
import warnings
from dataclasses import replace
from typing import Sequence

from curate.traces import fenced_blocks
from curate.verify.checker import Verdict, ms_since
from curate.verify.domains import CheckerOptions
from curate.verify.loops import final_answer
from curate.verify.sandbox import Job, Limits, Run, Sandbox

# code/2: a response without a finish reason that loops to its end is no_answer (curate/verify/loops.py).
CODE_VERSION = "code/2"
_PYTHON_TAGS = {"python", "py", "python3", "py3"}
_DEFINITION = re.compile(r"^\s*(?:async\s+def|def|class)\s", re.MULTILINE)
_REPORT = "_sandbox_report"
TEST_TEXT_CHARS = 120
_TEST_MODULES = {"math", "cmath", "re", "collections", "itertools", "heapq", "statistics"}


class ProblemError(ValueError):
    """A problem whose fields give no tests to run."""


# -- the program ------------------------------------------------------------------------------
def extract_program(response: str | None, finish_reason: str | None = None) -> tuple[str | None, str | None, str]:
    """(program text, source, reason): source is python_block | code_block | whole_answer."""
    text, why = final_answer(response, finish_reason)
    if text is None:
        return None, None, why
    blocks = fenced_blocks(text)
    tagged = [block for block in blocks if block.tag in _PYTHON_TAGS]
    untagged = [block for block in blocks if block.tag == ""]
    candidates = tagged or untagged
    # "Example usage:" blocks after the solution define nothing: the solution is the last that does.
    defining = [block for block in candidates if _DEFINITION.search(block.body)]
    chosen = (defining or candidates or [None])[-1]
    if chosen is not None:
        if not chosen.closed:
            return None, None, "the last code block never closes: the answer was cut off"
        source = "python_block" if tagged else "code_block"
        return chosen.body, source, f"last {'python' if tagged else 'untagged'} code block after the reasoning"
    if blocks:
        return None, None, f"no Python code block (only {', '.join(sorted({b.tag for b in blocks}))})"
    return text, "whole_answer", "the whole final answer (no code block)"


def _defines(tree: ast.Module, name: str) -> bool:
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return True
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return True
    return False


def _parse(source: str) -> ast.Module:
    """ast.parse without the warnings ("invalid escape sequence") that answers and tests raise."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(source)


def _parses(source: str) -> ast.Module | None:
    try:
        return _parse(source)
    except (SyntaxError, ValueError):
        return None


def _syntax_error(source: str) -> str:
    try:
        _parse(source)
    except SyntaxError as error:
        return f"SyntaxError at line {error.lineno}: {error.msg}"
    except ValueError as error:
        return f"not Python source: {error}"
    return "parses"


def prompt_preamble(prompt: str, entry_point: str) -> str:
    """The prompt without its `entry_point` function: the imports and helpers around it."""
    tree = _parse(prompt)
    lines = prompt.splitlines(keepends=True)
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == entry_point:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
            del lines[first : node.end_lineno]
            break
    return "".join(lines)


def complete_humaneval(answer: str, prompt: str, entry_point: str) -> str | None:
    """The program to test for a HumanEval answer, or None when it is not Python (module doc)."""
    alone = _parses(answer)
    if alone is not None and _defines(alone, entry_point):
        return prompt_preamble(prompt, entry_point) + "\n" + answer
    continued = prompt + answer
    joined = _parses(continued)
    if joined is not None and (alone is None or _defines(joined, entry_point)):
        return continued
    if alone is not None:  # Python, but without the function: the tests say what is missing
        return prompt_preamble(prompt, entry_point) + "\n" + answer
    return None


# -- the tests --------------------------------------------------------------------------------
def _counted(statement: ast.stmt, index: int) -> ast.stmt:
    """`try: statement / except BaseException as e: report(index, e) / else: report(index)`."""
    error = "_sandbox_error"
    report = ast.Name(_REPORT, ast.Load())
    return ast.Try(
        body=[statement],
        handlers=[
            ast.ExceptHandler(
                type=ast.Name("BaseException", ast.Load()),
                name=error,
                body=[ast.Expr(ast.Call(report, [ast.Constant(index), ast.Name(error, ast.Load())], []))],
            )
        ],
        orelse=[ast.Expr(ast.Call(report, [ast.Constant(index)], []))],
        finalbody=[],
    )


def _holds_assert(statement: ast.stmt) -> bool:
    return any(isinstance(node, ast.Assert) for node in ast.walk(statement))


def _wrap(statements: list[ast.stmt], texts: list[str]) -> list[ast.stmt]:
    """Each statement holding an assert becomes one counted test; its source goes to `texts`."""
    body = []
    for statement in statements:
        if _holds_assert(statement):
            texts.append(ast.unparse(statement))
            body.append(_counted(statement, len(texts) - 1))
        else:
            body.append(statement)
    return body


def humaneval_tests(test: str, entry_point: str) -> tuple[str, list[str]]:
    """`run_tests` source for HumanEval's `test` field, and the source of each counted test."""
    tree = _parse(test)
    texts: list[str] = []
    checks = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "check"]
    if not checks or not checks[0].args.args:
        raise ProblemError("the test field defines no check(candidate)")
    check = checks[0]
    check.args.args.append(ast.arg(_REPORT))
    check.body = _wrap(check.body, texts)
    runner = _parse(f"def run_tests({_REPORT}):\n    check({entry_point}, {_REPORT})\n").body
    module = ast.Module(body=[*tree.body, *runner], type_ignores=[])
    return ast.unparse(ast.fix_missing_locations(module)), texts


def _missing_imports(tests: list[ast.stmt], setup: str) -> list[str]:
    """`import NAME` for standard modules the tests use (`math.isclose`) but nothing imports:
    MBPP's sanitized split keeps those in `test_imports`, which copies like MBPP+ dropped."""
    used = {
        node.value.id
        for statement in tests
        for node in ast.walk(statement)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
    }
    return [f"import {name}" for name in sorted(used & _TEST_MODULES) if f"import {name}" not in setup]


def mbpp_tests(test_list: Sequence[str], setup: str = "", imports: Sequence[str] = ()) -> tuple[str, list[str]]:
    """`run_tests` source for MBPP's `test_list` (after `test_imports` and `test_setup_code`),
    and each test's source."""
    statements: list[ast.stmt] = []
    texts: list[str] = []
    for line in test_list:
        parsed = _parse(line).body
        texts.append(line.strip())
        statements.append(_counted(ast.If(ast.Constant(True), parsed, []), len(texts) - 1))
    runner = ast.FunctionDef(
        name="run_tests",
        args=ast.arguments([], [ast.arg(_REPORT)], None, [], [], None, []),
        body=statements or [ast.Pass()],
        decorator_list=[],
        returns=None,
        type_comment=None,
    )
    header = "\n".join([*imports, *(_missing_imports(statements, setup) if not imports else []), setup or ""])
    module = ast.Module(body=[*_parse(header).body, runner], type_ignores=[])
    return ast.unparse(ast.fix_missing_locations(module)), texts


def _field_list(value) -> list[str]:
    if isinstance(value, str):
        value = json.loads(value)
    return [str(item) for item in value]


def tests_for(meta: dict) -> tuple[str, list[str], str]:
    """(tests source, each test's source, kind) from a problem's source fields."""
    if meta.get("test") and meta.get("entry_point"):
        source, texts = humaneval_tests(meta["test"], meta["entry_point"])
        return source, texts, "humaneval"
    if meta.get("test_list"):
        imports = _field_list(meta.get("test_imports") or [])
        source, texts = mbpp_tests(_field_list(meta["test_list"]), meta.get("test_setup_code") or "", imports)
        return source, texts, "mbpp"
    raise ProblemError("the problem has neither HumanEval's test and entry_point nor MBPP's test_list")


def program_for(answer: str, meta: dict, kind: str) -> str | None:
    if kind == "humaneval":
        return complete_humaneval(answer, meta.get("prompt") or "", meta["entry_point"])
    return answer if _parses(answer) is not None else None


# -- verdicts ---------------------------------------------------------------------------------
def _test_text(texts: list[str], index: int) -> str:
    text = " ".join(texts[index].split()) if 0 <= index < len(texts) else ""
    return text if len(text) <= TEST_TEXT_CHARS else text[: TEST_TEXT_CHARS - 3] + "..."


def verdict_of(run: Run, texts: list[str], limits: Limits) -> tuple[str, str]:
    """(status, reason) for a sandbox run of a program against `texts` tests."""
    count = run.test_count
    if run.outcome == "error":
        return "error", run.detail or "the sandbox failed"
    if run.outcome == "timeout":
        return "timeout", f"ran past the {limits.wall_s:g} s wall-time limit: stopped with every process it started"
    if run.outcome == "no_marker" and run.exit == "killed by SIGXCPU":
        return "timeout", f"ran past the {limits.cpu_limit_s:g} s CPU-time limit"
    if run.outcome == "tampered":
        return "incorrect", "the program wrote to the sandbox's marker channel: not a pass"
    if run.outcome == "no_marker":
        return "incorrect", f"0/{count} tests passed: the program ended before its tests ran to the end ({run.exit})"
    if run.repeated:
        return "incorrect", f"tests reported twice (test {run.repeated[0] + 1}): the program tampered with the tests"
    if run.all_passed:
        return "correct", f"{count}/{count} tests passed"
    if run.stopped is not None:
        return "incorrect", f"{run.passed}/{count} tests passed: {run.stopped}"
    if run.failures:
        index, error = run.failures[0]
        return (
            "incorrect",
            f"{run.passed}/{count} tests passed: {error} at test {index + 1}: {_test_text(texts, index)}",
        )
    return "incorrect", f"{run.passed}/{count} tests passed"


class CodeChecker:
    """Verdicts for code problems: programs run with their tests in a Sandbox (module doc)."""

    domain = "code"
    version = CODE_VERSION

    def __init__(self, options: CheckerOptions = CheckerOptions(), limits: Limits = Limits()):
        self.unsafe_local = options.unsafe_local
        self.limits = limits
        self._sandbox: Sandbox | None = None

    @property
    def isolation(self) -> str | None:
        """The sandbox's isolation (curate/verify/sandbox.py), None before the first check."""
        return None if self._sandbox is None else self._sandbox.isolation

    def _sandbox_for(self, workers: int) -> Sandbox:
        if self._sandbox is None:
            self._sandbox = Sandbox(workers, self.limits, unsafe_local=self.unsafe_local)
        self._sandbox.workers = max(self._sandbox.workers, workers)
        return self._sandbox

    def check_many(self, items: Sequence[tuple], *, workers: int = 1, timeout: float = 10.0) -> list[Verdict]:
        limits = replace(self.limits, wall_s=timeout)
        out: list[Verdict | None] = [None] * len(items)
        found: list[tuple[str | None, str | None, float]] = []  # (answer, source, ms) per item
        built: dict[str, tuple[str, list[str], str] | Exception] = {}  # tests per problem
        jobs: dict[tuple[str, str], tuple[Job, list[str]]] = {}
        waiting: dict[tuple[str, str], list[int]] = {}
        for i, (task, response, finish_reason) in enumerate(items):
            begun = time.perf_counter()
            answer, source, why = extract_program(response, finish_reason)
            found.append((answer, source, 0.0))
            if answer is None:
                out[i] = Verdict("no_answer", None, None, why, None, None, ms_since(begun))
                continue
            problem = str(task.problem_id)
            if problem not in built:
                try:
                    built[problem] = tests_for(task.meta or {})
                except (ProblemError, SyntaxError, ValueError, KeyError, TypeError) as error:
                    built[problem] = error
            if isinstance(built[problem], Exception):
                reason = f"cannot build the tests: {built[problem]}"
                out[i] = Verdict("error", answer, source, reason, None, None, ms_since(begun))
                continue
            tests, texts, kind = built[problem]
            program = program_for(answer, task.meta, kind)
            if program is None and source == "whole_answer":  # prose, not a program
                reason = f"no code block, and the final answer is not Python ({_syntax_error(answer)})"
                out[i] = Verdict("no_answer", None, None, reason, None, None, ms_since(begun))
                continue
            if program is None:
                reason = f"not Python: {_syntax_error(answer)}"
                out[i] = Verdict("unparseable", answer, source, reason, None, None, ms_since(begun))
                continue
            key = (problem, program)
            jobs.setdefault(key, (Job(program, tests, len(texts)), texts))
            waiting.setdefault(key, []).append(i)
            found[i] = (answer, source, ms_since(begun))
        keys = list(jobs)
        runs = self._sandbox_for(workers).run_many([jobs[key][0] for key in keys], limits) if keys else []
        for key, run in zip(keys, runs):
            status, reason = verdict_of(run, jobs[key][1], limits)
            for i in waiting[key]:
                answer, source, prepare_ms = found[i]
                out[i] = Verdict(status, answer, source, reason, None, None, prepare_ms + run.elapsed_ms)
        return out  # type: ignore[return-value]

    def close(self) -> None:
        if self._sandbox is not None:
            self._sandbox.close()
            self._sandbox = None
