"""`evaluate run` on code problems (and code mixed with math): real HumanEval rows, scripted right and
wrong programs from the fake server, verdicts from the real sandbox; refusals before generation.

Data: /work/shared/data/code/humaneval.jsonl (HumanEval, SOURCES.md there). The code tests skip
where the sandbox cannot isolate programs (as tests/curate/verify/test_code.py does).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curate.verify.domains import CHECKERS
from db import open_store
from eval.report import build_report
from tests.conftest import WORKSPACE_DATA

DATA = WORKSPACE_DATA / "code" / "humaneval.jsonl"
FLAGS = ("--model", "scripted", "--max-tokens", "64", "--problems", "test")
WRONG = {
    "has_close_elements": "def has_close_elements(numbers, threshold):\n    return False\n",
    "truncate_number": "def truncate_number(number):\n    return number\n",
}


def humaneval(task_id: str) -> dict:
    if not DATA.exists():
        pytest.skip(f"no {DATA}")
    for line in DATA.read_text().splitlines():
        row = json.loads(line)
        if row["task_id"] == task_id:
            return row
    raise KeyError(task_id)


def fenced(program: str) -> str:
    return f"<think>Let me write it.</think>\nHere is the function:\n```python\n{program}```\n"


def right(row: dict) -> str:
    return fenced(row["prompt"] + row["canonical_solution"])


def add_problems(db_path: Path, rows: list[dict]) -> None:
    """problems rows as ingest stores them: domain, the source's fields in meta, split test."""
    with open_store(db_path) as store:
        store.insert_rows(
            "problems",
            [
                {
                    "problem_id": row["problem_id"],
                    "source": row.get("source", "humaneval"),
                    "source_id": row["problem_id"],
                    "question": row["question"],
                    "gold_answer": row.get("gold"),
                    "split": "test",
                    "meta": json.dumps(row.get("meta") or {}),
                    "question_hash": row["problem_id"],
                    "domain": row.get("domain", "code"),
                }
                for row in rows
            ],
        )


def code_problem(task_id: str, gold: str | None = None) -> dict:
    row = humaneval(task_id)
    return {"problem_id": f"humaneval:{task_id}", "question": row["prompt"], "gold": gold, "meta": row}


def stored(db_path: Path, sql: str):
    with open_store(db_path, read_only=True) as store:
        return store.query(sql)


@pytest.fixture(scope="module")
def sandbox_isolates():
    from curate.verify.sandbox import Sandbox, SandboxUnavailable

    try:
        Sandbox(1).close()
    except SandboxUnavailable as error:
        pytest.skip(f"no isolation on this machine: {error}")


@pytest.fixture
def code_server(server):
    """The scripted server answering two HumanEval problems: has_close_elements right, wrong, right,
    right (3/4); truncate_number wrong, wrong, wrong, right (1/4)."""
    close, truncate = humaneval("HumanEval/0"), humaneval("HumanEval/2")
    server.script["has_close_elements"] = [
        right(close),
        fenced(WRONG["has_close_elements"]),
        right(close),
        right(close),
    ]
    server.script["truncate_number"] = [fenced(WRONG["truncate_number"])] * 3 + [right(truncate)]
    return server


def test_code_pass_at_k_with_the_real_sandbox(db_path: Path, code_server, sandbox_isolates, evaluate) -> None:
    # HumanEval/2 stored without a gold answer: code is judged by its tests, so it is not left out
    add_problems(db_path, [code_problem("HumanEval/0", gold="canonical"), code_problem("HumanEval/2")])
    code, out, err = evaluate("run", "--name", "he", "--base-url", code_server.url, *FLAGS, "--samples", "4")
    assert code == 0, err
    # pass@1 = (3/4 + 1/4) / 2 = 50; pass@4 = both solved at least once = 100; no maj@k for code
    assert "| he | code | 2 | 8 | 4 | 50.00 ± 25.00 | 100.00 | - |" in out
    samples = stored(
        db_path,
        "SELECT problem_id, sample_index, verdict, reason, correct, answer, answer_key FROM eval_samples "
        "ORDER BY problem_id, sample_index",
    )
    assert samples["correct"].to_list() == [True, False, True, True, False, False, False, True]
    assert samples["reason"][0] == "7/7 tests passed"
    # always False passes the four asserts that expect False; the first assert expects True
    assert samples["reason"][1].startswith("3/7 tests passed: AssertionError at test 1: assert candidate(")
    assert samples["verdict"][4] == "incorrect" and samples["reason"][4].startswith("0/3 tests passed")
    assert samples["answer"][1] == WRONG["has_close_elements"]
    assert samples["answer_key"].null_count() == 8  # a program has no canonical answer to vote with

    report = build_report(db_path, ["he"])
    [stats] = report.stats
    assert stats.domain == "code" and stats.maj_at_k is None
    # pass@2: has_close_elements 1 - C(1,2)/C(4,2) = 1; truncate_number 1 - C(3,2)/C(4,2) = 1/2
    assert stats.pass_at_ks == pytest.approx({1: 0.5, 2: 0.75, 3: (1 + 1 - 1 / 4) / 2, 4: 1.0})
    assert "| he | code | 4 | 50.00 | 75.00 | 100.00 |" in report.markdown  # k = 1, 2, 4


def test_a_run_mixing_math_and_code_is_shown_per_domain(db_path: Path, code_server, sandbox_isolates, evaluate) -> None:
    add_problems(
        db_path,
        [
            code_problem("HumanEval/0"),
            {"problem_id": "toy:a", "source": "toy", "question": "Alpha: what is 2+3?", "gold": "5", "domain": "math"},
        ],
    )
    code, out, err = evaluate("run", "--name", "mix", "--base-url", code_server.url, *FLAGS, "--samples", "4")
    assert code == 0, err
    # all: (3/4 + 4/4) / 2; math Alpha 4/4 with maj@4 right; code 3/4 without maj@k
    assert "| mix | mixed | 2 | 8 | 4 | 87.50 ± 12.50 | 100.00 | - |" in out
    assert "| mix | code | 1 | 4 | 4 | 75.00 ± - | 100.00 | - |" in out
    assert "| mix | math | 1 | 4 | 4 | 100.00 ± - | 100.00 | 100.00 |" in out
    keys = stored(db_path, "SELECT DISTINCT problem_id, answer_key FROM eval_samples ORDER BY 1")
    assert keys.rows() == [("humaneval:HumanEval/0", None), ("toy:a", "5")]

    text = build_report(db_path, ["mix"]).markdown
    assert "| mix | mixed | mix | humaneval/test, toy/test |" in text
    assert "| mix | code | mix |" in text and "| mix | math | mix |" in text
    assert "## Per domain" in text and "| code | 75.00 |" in text and "| math | 100.00 |" in text


def test_code_without_isolation_exits_2_before_generating(db_path: Path, server, evaluate, monkeypatch) -> None:
    from curate.verify import sandbox

    def no_namespaces(self, isolation: str) -> None:
        raise OSError("unshare: operation not permitted")

    monkeypatch.setattr(sandbox._Server, "__init__", no_namespaces)
    add_problems(db_path, [code_problem("HumanEval/2")])
    code, _out, err = evaluate("run", "--name", "he", "--base-url", server.url, *FLAGS)
    assert code == 2
    assert "code problems" in err and "--unsafe-local" in err
    assert server.requests == []
    assert stored(db_path, "SELECT count(*) AS n FROM eval_runs")["n"][0] == 0
    assert stored(db_path, "SELECT count(*) AS n FROM runs WHERE kind = 'eval'")["n"][0] == 0


def test_unsafe_local_runs_code_without_isolation(db_path: Path, code_server, evaluate, monkeypatch) -> None:
    from curate.verify import sandbox

    real = sandbox._Server.__init__

    def only_without_isolation(self, isolation: str) -> None:
        if isolation != "none":
            raise OSError("unshare: operation not permitted")
        real(self, isolation)

    monkeypatch.setattr(sandbox._Server, "__init__", only_without_isolation)
    add_problems(db_path, [code_problem("HumanEval/2")])
    args = ("run", "--name", "he", "--base-url", code_server.url, *FLAGS, "--samples", "4", "--unsafe-local")
    code, out, err = evaluate(*args)
    assert code == 0, err
    assert "| he | code | 1 | 4 | 4 | 25.00 ± - | 100.00 | - |" in out


def test_a_domain_without_its_checker_exits_2_naming_it(db_path: Path, server, evaluate, monkeypatch) -> None:
    monkeypatch.setitem(CHECKERS, "sql", "curate.verify.checker_not_installed:SQLChecker")
    add_problems(
        db_path,
        [
            {"problem_id": "spider:1", "source": "spider", "question": "How many singers?", "gold": "SELECT 1"},
            {"problem_id": "toy:a", "source": "toy", "question": "Alpha: what is 2+3?", "gold": "5", "domain": "math"},
        ],
    )
    with open_store(db_path) as store:
        store.execute("UPDATE problems SET domain = 'sql' WHERE problem_id = 'spider:1'")
    code, _out, err = evaluate("run", "--name", "q", "--base-url", server.url, *FLAGS)
    assert code == 2
    assert "sql checker" in err and "checker_not_installed" in err
    assert server.requests == []
    # leaving the sql problems out by source runs the rest
    code, _out, err = evaluate("run", "--name", "q", "--base-url", server.url, *FLAGS, "--source", "toy")
    assert code == 0, err


def test_an_unknown_domain_exits_2_naming_the_problem(db_path: Path, server, evaluate) -> None:
    add_problems(
        db_path, [{"problem_id": "x:1", "source": "x", "question": "Alpha?", "gold": "5", "domain": "physics"}]
    )
    code, _out, err = evaluate("run", "--name", "x", "--base-url", server.url, *FLAGS)
    assert code == 2
    assert "x:1" in err and "physics" in err and "math, code" in err
    assert server.requests == []


def test_code_problems_without_tests_are_left_out(db_path: Path, code_server, sandbox_isolates, evaluate) -> None:
    untested = {"problem_id": "humaneval:bare", "question": "Write has_close_elements.", "meta": {"prompt": "x"}}
    add_problems(db_path, [code_problem("HumanEval/2"), untested])
    code, out, err = evaluate("run", "--name", "he", "--base-url", code_server.url, *FLAGS, "--samples", "4")
    assert code == 0, err
    assert "1 code problem(s) without tests are left out (e.g. humaneval:bare)" in err
    assert stored(db_path, "SELECT DISTINCT problem_id FROM eval_samples")["problem_id"].to_list() == [
        "humaneval:HumanEval/2"
    ]


def test_a_refused_checker_leaves_an_ingested_file_out_of_the_store(
    db_path: Path, server, problems_file: Path, evaluate, monkeypatch
) -> None:
    monkeypatch.setitem(CHECKERS, "math", "curate.verify.checker_not_installed:MathChecker")
    code, _out, err = evaluate(
        "run", "--name", "toy", "--base-url", server.url, *FLAGS[:4], "--problems", str(problems_file)
    )
    assert code == 2 and "math checker" in err
    assert stored(db_path, "SELECT count(*) AS n FROM problems")["n"][0] == 0
    assert server.requests == []


SPIDER = WORKSPACE_DATA / "sql" / "spider_dev_public.json"
SPIDER_DATABASES = SPIDER.parent / "database"


def test_a_spider_file_is_evaluated_as_it_is_with_its_databases(db_path: Path, server, evaluate, tmp_path) -> None:
    if not SPIDER.exists():
        pytest.skip(f"no {SPIDER}")
    rows = json.loads(SPIDER.read_text(encoding="utf-8"))[:2]  # concert_singer: How many singers ...
    path = tmp_path / "spider.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    for row in rows:
        server.script[row["question"]] = [f"```sql\n{row['query']}\n```", "```sql\nSELECT count(*) FROM stadium\n```"]
    args = ("run", "--name", "sp", "--base-url", server.url, "--model", "scripted", "--samples", "2")
    code, _out, err = evaluate(*args, "--problems", str(path))
    assert code == 2 and "--databases" in err
    assert stored(db_path, "SELECT count(*) AS n FROM problems")["n"][0] == 0 and server.requests == []
    code, out, err = evaluate(*args, "--problems", str(path), "--databases", str(SPIDER_DATABASES))
    assert code == 0, err
    assert "| sp | sql | 2 | 4 | 2 | 50.00 ± 0.00 | 100.00 | - |" in out
    # stored problems keep their databases: the flag goes with a FILE only
    code, _out, err = evaluate(*args, "--problems", "test", "--databases", str(SPIDER_DATABASES))
    assert code == 2 and "--databases" in err and "FILE" in err


def test_prompt_templates_are_given_per_domain_as_export_takes_them(
    db_path: Path, code_server, sandbox_isolates, evaluate, tmp_path
) -> None:
    # Before, --prompt-template took one file, so a set exported with a template per domain could not be
    # evaluated on the same prompts.
    code_template, math_template = tmp_path / "code.txt", tmp_path / "math.txt"
    code_template.write_text("{question}\n\nCODE TEMPLATE", encoding="utf-8")
    math_template.write_text("{question}\n\nMATH TEMPLATE \\boxed{{}}", encoding="utf-8")
    add_problems(
        db_path,
        [
            code_problem("HumanEval/0"),
            {"problem_id": "toy:a", "source": "toy", "question": "Alpha: what is 2+3?", "gold": "5", "domain": "math"},
        ],
    )
    code, _out, err = evaluate(
        "run", "--name", "tpl", "--base-url", code_server.url, *FLAGS,
        "--prompt-template", f"code={code_template}", "--prompt-template", f"math={math_template}",
    )  # fmt: skip
    assert code == 0, err
    prompts = {request["messages"][-1]["content"] for request in code_server.requests}
    assert {prompt.rsplit("\n\n", 1)[-1] for prompt in prompts} == {"CODE TEMPLATE", "MATH TEMPLATE \\boxed{}"}
