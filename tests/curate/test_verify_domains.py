"""`curate verify` by domain: math and code problems in one store, typed the way a user types it.

Code problems are HumanEval rows from shared/data/code (SOURCES.md there) with their own tests;
the programs are their canonical solutions (right) and a constant return (wrong).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import curate.verify_stage as verify_stage
from curate.cli import app
from curate.verify import domains
from curate.verify.checker import VERIFIER_VERSION, Verdict
from curate.verify.code import CODE_VERSION, CodeChecker
from curate.verify.sandbox import Sandbox, SandboxUnavailable
from db import open_store
from tests.conftest import WORKSPACE_DATA

runner = CliRunner()
DATA = WORKSPACE_DATA / "code"
if not DATA.exists():
    DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "code"


def humaneval(task_id: str) -> dict:
    path = DATA / "humaneval.jsonl"
    if not path.exists():
        pytest.skip(f"no {path}")
    return next(row for row in map(json.loads, path.read_text().splitlines()) if row["task_id"] == task_id)


@pytest.fixture(scope="module")
def isolation() -> str:
    try:
        with Sandbox(1) as sandbox:
            return sandbox.isolation
    except SandboxUnavailable as error:
        pytest.skip(f"no isolation on this machine: {error}")


def fenced(program: str) -> str:
    return f"<think>Let me write it.</think>\n```python\n{program}\n```\n"


MBPP_ROW = {
    "task_id": "Mbpp/own",
    "text": "Write a function that doubles a number.",
    "test_list": ["assert double(1) == 2", "assert double(-3) == -6"],
}


def _problem(problem_id: str, domain: str, meta: dict | None, question: str, gold: str | None) -> dict:
    return {
        "problem_id": problem_id,
        "source": domain,
        "question": question,
        "gold_answer": gold,
        "question_hash": problem_id,
        "domain": domain,
        "meta": json.dumps(meta) if meta is not None else None,
    }


def _sample(sample_id: str, problem_id: str, content: str) -> dict:
    return {
        "sample_id": sample_id,
        "problem_id": problem_id,
        "model": "m",
        "params_hash": "ph",
        "sample_index": int(sample_id[-1]) if sample_id[-1].isdigit() else 0,
        "status": "ok",
        "content": content,
        "finish_reason": "stop",
    }


def fill(db_path) -> dict:
    """Two math problems (one without gold), HumanEval/0 and /2, an MBPP-style problem and a code
    problem without tests; returns the HumanEval rows."""
    zero, two = humaneval("HumanEval/0"), humaneval("HumanEval/2")
    problems = [
        _problem("m1", "math", None, "1+1?", "2"),
        _problem("m2", "math", None, "no gold", None),
        _problem("h0", "code", zero, zero["prompt"], None),
        _problem("h2", "code", two, two["prompt"], None),
        _problem("mb", "code", MBPP_ROW, MBPP_ROW["text"], None),
        _problem("nt", "code", {"task_id": "own/none"}, "Write anything.", None),
    ]
    samples = [
        _sample("math-right", "m1", "\\boxed{2}"),
        _sample("math-wrong", "m1", "\\boxed{3}"),
        _sample("math-nogold", "m2", "\\boxed{5}"),
        _sample("h0-right", "h0", fenced(zero["prompt"] + zero["canonical_solution"])),
        _sample("h0-wrong", "h0", fenced("def has_close_elements(numbers, threshold):\n    return False")),
        _sample("h2-right", "h2", fenced(two["prompt"] + two["canonical_solution"])),
        _sample("mb-right", "mb", fenced("def double(x):\n    return 2 * x")),
        _sample("mb-prose", "mb", "It doubles the number."),
        _sample("nt-any", "nt", fenced("def f():\n    return 1")),
    ]
    with open_store(db_path) as store:
        store.insert_rows("problems", problems)
        store.insert_rows("samples", samples)
    return {"h0": zero, "h2": two}


def verdicts(db_path, verifiers: str = "%") -> dict[str, tuple[str, str]]:
    """sample_id -> (verifier, verdict) of the stored verdicts whose verifier is LIKE `verifiers`."""
    with open_store(db_path, read_only=True) as store:
        rows = store.execute(
            "SELECT sample_id, verifier, verdict FROM verdicts WHERE verifier LIKE ? ORDER BY ALL", [verifiers]
        ).fetchall()
    return {sample_id: (verifier, verdict) for sample_id, verifier, verdict in rows}


def last_run(db_path) -> dict:
    with open_store(db_path, read_only=True) as store:
        row = store.query("SELECT * FROM runs WHERE kind = 'verify' ORDER BY started_at DESC LIMIT 1").row(
            0, named=True
        )
    return {**row, "counts": json.loads(row["counts"] or "{}"), "config": json.loads(row["config"])}


def verify(db_path, *flags: str):
    return runner.invoke(app, ["verify", "--db", str(db_path), "--workers", "1", *flags])


def no_isolation(monkeypatch, tmp_path) -> None:
    """The sandbox finds no `unshare` (as on a machine without it), so it cannot isolate."""
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def test_each_domain_gets_its_checker_and_a_rerun_finds_nothing_pending(db_path, isolation):
    fill(db_path)
    result = verify(db_path)
    assert result.exit_code == 0, result.output
    assert verdicts(db_path) == {
        "math-right": (VERIFIER_VERSION, "correct"),
        "math-wrong": (VERIFIER_VERSION, "incorrect"),
        "h0-right": (CODE_VERSION, "correct"),
        "h0-wrong": (CODE_VERSION, "incorrect"),
        "h2-right": (CODE_VERSION, "correct"),
        "mb-right": (CODE_VERSION, "correct"),
        "mb-prose": (CODE_VERSION, "no_answer"),
    }
    run = last_run(db_path)
    assert run["status"] == "ok" and run["config"]["verifiers"] == {"code": CODE_VERSION, "math": VERIFIER_VERSION}
    counts = run["counts"]
    assert counts["verified"] == 7 and counts["correct"] == 4 and "error" not in counts
    assert counts["skipped_no_gold"] == 1 and counts["skipped_no_tests"] == 1
    assert "skipped_no_tests" in result.output and "error" in result.output
    with open_store(db_path, read_only=True) as store:
        reason = store.scalar("SELECT reason FROM verdicts WHERE sample_id = 'h0-wrong'")
    assert reason.startswith("3/7 tests passed")  # the reason says how many of HumanEval/0's tests held
    again = verify(db_path)
    assert again.exit_code == 0, again.output
    assert last_run(db_path)["counts"]["verified"] == 0


def test_a_changed_test_makes_the_problems_samples_pending_again(db_path, isolation):
    rows = fill(db_path)
    assert verify(db_path).exit_code == 0
    changed = {**rows["h2"], "test": "def check(candidate):\n    assert candidate(3.5) == 0.25\n"}
    with open_store(db_path) as store:
        problem = _problem("h2", "code", changed, changed["prompt"], None)
        store.insert_rows("problems", [problem], on_conflict="replace")
    result = verify(db_path)
    assert result.exit_code == 0, result.output
    assert last_run(db_path)["counts"]["verified"] == 1
    assert verdicts(db_path)["h2-right"] == (CODE_VERSION, "incorrect")


def test_without_isolation_verify_exits_2_and_reports_no_success(db_path, monkeypatch, tmp_path):
    fill(db_path)
    no_isolation(monkeypatch, tmp_path)
    result = verify(db_path)
    assert result.exit_code == 2, result.output
    assert "cannot isolate" in result.output and "no sandbox isolation" in result.output
    assert "with --unsafe-local they run without isolation" in " ".join(result.output.split())
    assert last_run(db_path)["status"] == "failed"
    assert verdicts(db_path) == {}  # code goes first: nothing of math ran either


def test_a_refusal_after_the_first_batches_keeps_them(db_path, monkeypatch, isolation):
    fill(db_path)
    monkeypatch.setattr(verify_stage, "BATCH_SIZE", 2)
    real = CodeChecker.check_many
    calls = []

    def refuse_the_second(self, items, **options):
        calls.append(len(items))
        if len(calls) == 2:
            raise SandboxUnavailable("no sandbox isolation is available here (namespaces: gone)")
        return real(self, items, **options)

    monkeypatch.setattr(CodeChecker, "check_many", refuse_the_second)
    result = verify(db_path)
    assert result.exit_code == 2 and "namespaces: gone" in result.output
    kept = verdicts(db_path)
    assert len(kept) == 2 and all(verifier == CODE_VERSION for verifier, _ in kept.values())
    assert last_run(db_path)["status"] == "failed"
    monkeypatch.setattr(CodeChecker, "check_many", real)
    assert verify(db_path).exit_code == 0
    assert last_run(db_path)["counts"]["verified"] == 5  # the rest of code, then math


def test_unsafe_local_runs_the_programs_without_isolation(db_path, monkeypatch, tmp_path):
    fill(db_path)
    no_isolation(monkeypatch, tmp_path)
    result = verify(db_path, "--unsafe-local")
    assert result.exit_code == 0, result.output
    assert verdicts(db_path)["h0-right"] == (CODE_VERSION, "correct")
    assert verdicts(db_path)["h0-wrong"] == (CODE_VERSION, "incorrect")
    assert last_run(db_path)["config"]["unsafe_local"] is True


def test_a_domain_without_a_checker_module_fails_only_when_it_has_pending_samples(db_path, monkeypatch):
    monkeypatch.setitem(domains.CHECKERS, "sql", "curate.verify.not_written_yet:SQLChecker")
    with open_store(db_path) as store:
        store.insert_rows(
            "problems",
            [
                _problem("m1", "math", None, "1+1?", "2"),
                _problem("q0", "sql", {"db_id": "concert"}, "How many stadiums?", None),
                _problem("q1", "sql", {"db_id": "concert"}, "How many singers?", "SELECT count(*) FROM singer"),
            ],
        )
        store.insert_rows("samples", [_sample("math-right", "m1", "\\boxed{2}"), _sample("sql-0", "q0", "SELECT 1")])
    # q1 has no samples, q0 no gold: nothing for the sql checker to do, and the skip is counted.
    assert verify(db_path).exit_code == 0
    assert last_run(db_path)["counts"]["skipped_no_gold"] == 1
    with open_store(db_path) as store:
        store.insert_rows("samples", [_sample("sql-1", "q1", "```sql\nSELECT count(*) FROM singer\n```")])
    result = verify(db_path)
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert "1 samples of domain 'sql' are pending" in message and "no checker for domain 'sql' is installed" in message
    assert set(verdicts(db_path)) == {"math-right"}  # nothing else was checked


class RecordingChecker:
    """A test checker for the choice domain: correct when the gold letter is the response."""

    domain = "choice"
    version = "choice/7"
    made: list[RecordingChecker] = []

    def __init__(self, options):
        self.options, self.tasks, self.closed = options, [], False
        RecordingChecker.made.append(self)

    def check_many(self, items, *, workers=1, timeout=10.0):
        self.tasks += [task for task, _, _ in items]
        return [
            Verdict(
                "correct" if response.strip() == task.gold_answer else "incorrect",
                response,
                "choice",
                "r",
                None,
                None,
                1.0,
            )
            for task, response, _ in items
        ]

    def close(self):
        self.closed = True


def test_dispatch_uses_one_checker_per_domain_and_older_versions_per_family(db_path, monkeypatch):
    monkeypatch.setitem(domains.CHECKERS, "choice", f"{__name__}:RecordingChecker")
    monkeypatch.setattr(verify_stage, "BATCH_SIZE", 1)
    RecordingChecker.made.clear()
    options = {"options": ["A) 1", "B) 2"]}
    with open_store(db_path) as store:
        store.insert_rows("problems", [_problem("c1", "choice", options, "1+1?", "B")])
        store.insert_rows("samples", [_sample(f"choice-{i}", "c1", text) for i, text in enumerate("BAB")])
        hash_2 = store.scalar("SELECT content_hash FROM samples WHERE sample_id = 'choice-2'")
        # An older version of the family with a verdict for the current content, and one of another family.
        store.insert_rows(
            "verdicts",
            [
                {"sample_id": "choice-2", "verifier": "choice/6", "verdict": "correct", "content_hash": hash_2},
                {"sample_id": "choice-1", "verifier": "sympy/4", "verdict": "correct", "content_hash": "other"},
            ],
        )
    result = verify(db_path, "--strict-form")
    assert result.exit_code == 0, result.output
    assert len(RecordingChecker.made) == 1 and RecordingChecker.made[0].closed
    checker = RecordingChecker.made[0]
    assert checker.options.strict_form is True and checker.options.unsafe_local is False
    assert [task.problem_id for task in checker.tasks] == ["c1", "c1"] and checker.tasks[0].meta == options
    assert checker.tasks[0].domain == "choice"
    stored = verdicts(db_path, "choice/%")
    assert stored["choice-0"] == ("choice/7", "correct") and stored["choice-1"] == ("choice/7", "incorrect")
    assert last_run(db_path)["counts"]["older_version"] == 1  # choice-2 keeps its choice/6 verdict
    assert verify(db_path, "--reverify-older").exit_code == 0
    with open_store(db_path, read_only=True) as store:
        assert store.scalar("SELECT verdict FROM verdicts WHERE sample_id = 'choice-2' AND verifier = 'choice/7'")


def test_verdict_current_ranks_each_family_by_its_own_versions(db_path):
    with open_store(db_path) as store:
        store.insert_rows(
            "problems", [_problem("m1", "math", None, "1+1?", "2"), _problem("h", "code", MBPP_ROW, "double", None)]
        )
        store.insert_rows(
            "samples",
            [_sample(s, p, "x") for s, p in (("math", "m1"), ("math-old", "m1"), ("code", "h"), ("code-old", "h"))],
        )
        store.insert_rows(
            "verdicts",
            [
                {"sample_id": sample_id, "verifier": verifier, "verdict": verdict}
                for sample_id, verifier, verdict in (
                    ("math", "sympy/4", "correct"),
                    ("math", "judge:critic", "incorrect"),
                    ("math-old", "sympy/2", "incorrect"),
                    ("code", "code/0", "incorrect"),
                    ("code", "code/1", "correct"),
                    ("code-old", "code/0", "timeout"),
                )
            ],
        )
        rows = store.query(
            "SELECT sample_id, verifier, verifier_version, older_version FROM verdict_current ORDER BY 1"
        ).rows()
        # A sample_id filter still reaches the verdicts scan (migration 016's property).
        explained = "EXPLAIN (FORMAT json) SELECT * FROM verdict_current WHERE list_contains(['code'], sample_id)"
        plan = json.loads(store.execute(explained).fetchone()[1])
    assert rows == [
        ("code", "code/1", 1, False),
        ("code-old", "code/0", 0, True),
        ("math", "sympy/4", 4, False),
        ("math-old", "sympy/2", 2, True),
    ]
    assert any("sample_id" in str(scan["extra_info"].get("Filters")) for scan in verdict_scans(plan))


def verdict_scans(nodes: list[dict]):
    for node in nodes:
        if node["name"] == "SEQ_SCAN" and str(node["extra_info"].get("Table", "")).endswith(".verdicts"):
            yield node
        yield from verdict_scans(node.get("children", []))


def test_curate_run_takes_unsafe_local_in_its_verify_table(tmp_path):
    from curate.pipeline import parse_config

    config = parse_config({"verify": {"unsafe_local": True, "workers": 1}}, source="run.toml", run_dir=tmp_path)
    assert config.stages["verify"]["unsafe_local"] is True
