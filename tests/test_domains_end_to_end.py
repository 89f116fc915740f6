"""Every domain through every command, as a user types them, on one store on disk (issue 25's
"Done when"): ingest HumanEval, MBPP and Spider as shipped, a multiple-choice file and a math
file; import a right and a wrong trace per problem; verify (with --steps), score, select,
export, stats and sql; evaluate against the scripted OpenAI server and report; open the review
app on a code sample. Generation (`curate generate` against the scripted server) has a store of
its own. The tests at the end cover the gaps found on the way (curate judge grading SQL with its
math prompt and critiquing code traces' steps; score and select treating a code problem without a
reference solution as one without gold).

Data: slices of /work/shared/data/code/humaneval.jsonl, mbpp.jsonl (HumanEval, MBPP) and
/work/shared/data/sql/spider_dev_public.json with its databases (Spider), SOURCES.md there; the
choice and math questions are this file's own. Where the sandbox cannot isolate programs, the
code files are left out and every code assertion with them (as tests/curate/verify/test_code.py
skips), so the other domains are still checked end to end.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.prompts import render_prompt, template_for
from db import open_store
from eval.cli import main as evaluate_main
from tests.eval.scripted_server import ScriptedServer
from tests.conftest import WORKSPACE_DATA

runner = CliRunner()
DATA = WORKSPACE_DATA
HUMANEVAL = DATA / "code" / "humaneval.jsonl"
MBPP = DATA / "code" / "mbpp.jsonl"
SPIDER = DATA / "sql" / "spider_dev_public.json"
SPIDER_DATABASES = DATA / "sql" / "database"
HUMANEVAL_IDS = ("HumanEval/0", "HumanEval/2")
MBPP_IDS = ("Mbpp/2", "Mbpp/3")
# Spider rows on two databases, each with a wrong query that runs (so its verdict is incorrect).
SPIDER_ROWS = {
    "How many singers do we have?": "SELECT count(*) FROM stadium",
    "How much does the youngest dog weigh?": "SELECT max(weight) FROM pets",
}
CHOICE_ROWS = [
    {
        "id": "q1",
        "question": "Which planet is the largest?",
        "choices": ["Mars", "Jupiter", "Venus", "Earth"],
        "answer": 1,
    },
    {"id": "q2", "question": "Which number is prime?", "choices": ["4", "6", "7", "9"], "answer": 2},
]
MATH_ROWS = [
    {"id": "m1", "question": "What is 17 + 25?", "answer": "42"},
    {"id": "m2", "question": "What is three quarters of 20?", "answer": "15"},
]
# Reasoning paragraphs; traces take one to three of them, so their lengths vary as real ones do.
REASONING = (
    "First I restate what is asked and which facts are given, so nothing in the question is missed.",
    "Then I work through it one piece at a time and write every intermediate result down before I go on.",
    "At the end I compare the result with the question once more: it must answer exactly what was asked.",
)
# evaluate run: the scripted server's answers per domain, sample by sample (R right, W wrong).
EVAL_PATTERN = {"math": "RRWR", "code": "RWWW", "sql": "WWWW", "choice": "RRRR"}


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def think(thinking: str, answer: str, paragraphs: int = 1) -> str:
    steps = "\n".join(REASONING[:paragraphs])
    return f"<think>\n{steps}\n{thinking}\n</think>\n\n{answer}"


@dataclass
class Pipeline:
    """The store after every curation command, with each command's result."""

    db: Path
    folder: Path
    with_code: bool
    results: dict = field(default_factory=dict)
    problems: dict = field(default_factory=dict)  # problem_id -> problems row
    right: dict = field(default_factory=dict)  # problem_id -> the right trace
    wrong: dict = field(default_factory=dict)  # problem_id -> the wrong trace

    def curate(self, name: str, *args: str):
        result = runner.invoke(app, [*args, "--db", str(self.db)])
        self.results[name] = result
        return result

    def domains(self) -> list[str]:
        return [d for d in ("choice", "code", "math", "sql") if d != "code" or self.with_code]

    def of_domain(self, domain: str) -> list[str]:
        return sorted(pid for pid, row in self.problems.items() if row["domain"] == domain)

    def query(self, sql: str) -> list[dict]:
        result = runner.invoke(app, ["sql", sql, "--format", "csv", "--db", str(self.db)])
        assert result.exit_code == 0, result.output
        return list(csv.DictReader(io.StringIO(result.stdout)))


def sandbox_isolates() -> bool:
    from curate.verify.sandbox import Sandbox, SandboxUnavailable

    try:
        Sandbox(1).close()
    except SandboxUnavailable:
        return False
    return True


def answers(problem: dict, paragraphs: int) -> tuple[str, str]:
    """A right and a wrong trace for `problem`, each in its domain's answer form, thinking
    `paragraphs` paragraphs long (real traces vary in length)."""
    domain, meta, gold = problem["domain"], json.loads(problem["meta"] or "{}"), problem["gold_answer"]

    def trace(thinking: str, answer: str) -> str:
        return think(thinking, answer, paragraphs)

    if domain == "code":
        name = meta.get("entry_point") or re.search(r"def (\w+)\(", meta["code"]).group(1)
        right = trace("I write the function and run the examples in my head.", f"Here it is:\n```python\n{gold}\n```")
        wrong = trace("A constant return should do.", f"```python\ndef {name}(*args):\n    return None\n```")
    elif domain == "sql":
        right = trace("I read the schema, then write the query.", f"```sql\n{gold}\n```")
        wrong = trace("I count the rows of a table.", f"```sql\n{SPIDER_ROWS[meta['question']]}\n```")
    elif domain == "choice":
        other = "A" if gold != "A" else "B"
        right = trace("I compare the options one by one.", f"The answer is \\boxed{{{gold}}}.")
        wrong = trace("I guess.", f"The answer is \\boxed{{{other}}}.")
    else:
        right = trace("I compute it.", f"The answer is \\boxed{{{gold}}}.")
        wrong = trace("I add carelessly.", f"The answer is \\boxed{{{int(gold) + 1}}}.")
    return right, wrong


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory) -> Pipeline:
    if not (HUMANEVAL.exists() and MBPP.exists() and SPIDER.exists() and SPIDER_DATABASES.exists()):
        pytest.skip(f"{DATA} (code and sql sets) not present")
    folder = tmp_path_factory.mktemp("domains")
    run = Pipeline(folder / "traces.duckdb", folder, sandbox_isolates())
    humaneval = {row["task_id"]: row for row in read_jsonl(HUMANEVAL)}
    mbpp = {row["task_id"]: row for row in read_jsonl(MBPP)}
    spider = [row for row in json.loads(SPIDER.read_text(encoding="utf-8")) if row["question"] in SPIDER_ROWS]
    files = []
    if run.with_code:
        files.append(
            (
                "humaneval",
                [str(write_jsonl(folder / "code" / "humaneval.jsonl", [humaneval[i] for i in HUMANEVAL_IDS]))],
            )
        )
        files.append(("mbpp", [str(write_jsonl(folder / "code" / "mbpp.jsonl", [mbpp[i] for i in MBPP_IDS]))]))
    (folder / "sql").mkdir()
    (folder / "sql" / "spider.json").write_text(json.dumps(spider), encoding="utf-8")
    files.append(("spider", [str(folder / "sql" / "spider.json"), "--databases", str(SPIDER_DATABASES)]))
    files.append(("choice", [str(write_jsonl(folder / "quiz" / "choice.jsonl", CHOICE_ROWS))]))
    files.append(("math", [str(write_jsonl(folder / "arith" / "math.jsonl", MATH_ROWS))]))
    for name, args in files:
        run.curate(f"ingest {name}", "ingest", *args, "--split", "train")
    with open_store(run.db, read_only=True) as store:
        run.problems = {row["problem_id"]: row for row in store.query("SELECT * FROM problems").to_dicts()}
    rows = []
    for index, (problem_id, problem) in enumerate(sorted(run.problems.items())):
        run.right[problem_id], run.wrong[problem_id] = answers(problem, 1 + index % 3)
        rows.append({"problem_id": problem_id, "samples": [run.right[problem_id], run.wrong[problem_id]]})
    traces = write_jsonl(folder / "traces.jsonl", rows)
    run.curate("import", "import-samples", str(traces), "--model", "teacher")
    run.curate("verify", "verify", "--workers", "1", "--steps")
    run.curate("verify again", "verify", "--workers", "1", "--steps")
    run.curate("score", "score")
    run.curate("select", "select", "--policy", "shortest-correct", "--name", "short")
    run.curate("export", "export", "--out", str(folder / "sft"))
    run.curate("stats", "stats")
    return run


def test_every_command_exits_0(pipeline):
    for name, result in pipeline.results.items():
        assert result.exit_code == 0, (name, result.output, result.exception)


def test_ingest_reads_each_set_as_its_domain(pipeline):
    out = {name: result.stdout for name, result in pipeline.results.items()}
    assert "sql/spider: 2 rows of sql problems; added 2" in out["ingest spider"]
    assert "quiz/choice: 2 rows of choice problems; added 2" in out["ingest choice"]
    assert "arith/math: 2 rows; added 2" in out["ingest math"]
    domains = {pid: row["domain"] for pid, row in pipeline.problems.items()}
    expected = {
        "quiz/choice:q1": "choice",
        "quiz/choice:q2": "choice",
        "arith/math:m1": "math",
        "arith/math:m2": "math",
    }
    if pipeline.with_code:
        assert "code/humaneval: 2 rows of code problems; added 2" in out["ingest humaneval"]
        assert "code/mbpp: 2 rows of code problems; added 2" in out["ingest mbpp"]
        expected |= {f"code/humaneval:{i}": "code" for i in HUMANEVAL_IDS} | {
            f"code/mbpp:{i}": "code" for i in MBPP_IDS
        }
    assert {pid: d for pid, d in domains.items() if d != "sql"} == expected
    assert sorted(d for d in domains.values() if d == "sql") == ["sql", "sql"]
    assert pipeline.problems["quiz/choice:q1"]["gold_answer"] == "B"


def test_import_matches_every_trace_to_its_problem(pipeline):
    n = len(pipeline.problems)
    assert f"teacher: {2 * n} samples in {n} rows; added {2 * n} (ok {2 * n})" in pipeline.results["import"].stdout
    assert f"problems matched {n}, created 0" in pipeline.results["import"].stdout


def test_verify_gives_each_domain_its_checker_and_the_right_verdicts(pipeline):
    rows = pipeline.query(
        "SELECT s.problem_id, s.sample_index, p.domain, v.verifier, v.verdict, v.reason FROM verdict_current v "
        "JOIN samples s USING (sample_id) JOIN problems p USING (problem_id) ORDER BY 1, 2"
    )
    got = {(r["problem_id"], int(r["sample_index"])): (r["verifier"].split("/")[0], r["verdict"]) for r in rows}
    family = {"math": "sympy", "code": "code", "sql": "sql", "choice": "choice"}
    expected = {}
    for problem_id, problem in pipeline.problems.items():
        expected[(problem_id, 0)] = (family[problem["domain"]], "correct")  # imported first: the right trace
        expected[(problem_id, 1)] = (family[problem["domain"]], "incorrect")
    assert got == expected, [
        r
        for r in rows
        if got[(r["problem_id"], int(r["sample_index"]))] != expected[(r["problem_id"], int(r["sample_index"]))]
    ]
    reasons = {(r["problem_id"], int(r["sample_index"])): r["reason"] for r in rows}
    if pipeline.with_code:
        assert reasons[("code/humaneval:HumanEval/0", 0)] == "7/7 tests passed"
        assert reasons[("code/mbpp:Mbpp/2", 1)].startswith("0/3 tests passed")
    assert reasons[("quiz/choice:q1", 1)] == 'answered A ("Mars"), gold B ("Jupiter")'
    out = pipeline.results["verify"].stdout
    n = len(pipeline.problems)
    assert re.search(rf"│ verified\s+│\s+{2 * n} │", out) and re.search(rf"│ correct\s+│\s+{n} │", out)


def test_a_second_verify_finds_nothing_pending_in_any_domain(pipeline):
    out = pipeline.results["verify again"].stdout
    assert re.search(r"│ verified\s+│\s+0 │", out) and re.search(r"│ steps_checked\s+│\s+0 │", out), out


def test_verify_steps_checks_only_math_and_choice_traces(pipeline):
    prose = len(pipeline.of_domain("math")) + len(pipeline.of_domain("choice"))
    programs = len(pipeline.of_domain("code")) + len(pipeline.of_domain("sql"))
    out = pipeline.results["verify"].stdout
    assert re.search(rf"│ steps_checked\s+│\s+{2 * prose} │", out), out
    assert re.search(rf"│ steps_skipped_domain\s+│\s+{2 * programs} │", out), out
    checked = pipeline.query(
        "SELECT DISTINCT p.domain FROM step_check_samples c JOIN samples s USING (sample_id) JOIN problems p USING (problem_id)"
    )
    assert sorted(r["domain"] for r in checked) == ["choice", "math"]


def exported(pipeline) -> list[dict]:
    out = pipeline.folder / "sft"
    return read_jsonl(out / "train.jsonl") + read_jsonl(out / "val.jsonl")


def test_select_and_export_keep_the_right_trace_of_every_problem_in_its_domains_prompt(pipeline):
    assert f"selection short: {len(pipeline.problems)} samples of {len(pipeline.problems)} problems" in (
        pipeline.results["select"].stdout
    )
    rows = exported(pipeline)
    assert sorted(row["problem_id"] for row in rows) == sorted(pipeline.problems)
    for row in rows:
        problem = pipeline.problems[row["problem_id"]]
        user, assistant = row["messages"]
        assert user["role"] == "user" and assistant["role"] == "assistant"
        assert user["content"] == render_prompt(problem["question"], template_for(problem["domain"]))
        assert ("\\boxed" in user["content"]) == (problem["domain"] in ("math", "choice")), row["problem_id"]
        right = pipeline.right[row["problem_id"]]
        reasoning, content = right.removeprefix("<think>\n").split("\n</think>\n\n")
        assert assistant["content"] == f"<think>\n{reasoning}\n</think>\n\n{content}"
    card = (pipeline.folder / "sft" / "README.md").read_text(encoding="utf-8")
    for domain in pipeline.domains():
        assert f"  - {domain} (the default): " in card
    code_lines = [line for line in card.splitlines() if line.startswith(("  - code", "  - sql"))]
    assert code_lines and not any("boxed" in line for line in code_lines)


def test_export_program_answers_keep_their_code_blocks(pipeline):
    rows = {row["problem_id"]: row for row in exported(pipeline)}
    for problem_id in pipeline.of_domain("code") + pipeline.of_domain("sql"):
        answer = rows[problem_id]["messages"][1]["content"]
        gold = pipeline.problems[problem_id]["gold_answer"]
        fence = "```python" if pipeline.problems[problem_id]["domain"] == "code" else "```sql"
        assert f"{fence}\n{gold}\n```" in answer


def test_export_takes_one_domains_template(pipeline, tmp_path):
    template = tmp_path / "code.txt"
    template.write_text("{question}\n\nThink it through, then give the program.", encoding="utf-8")
    out = tmp_path / "sft-code-template"
    result = pipeline.curate(
        "export (code template)", "export", "--out", str(out), "--prompt-template", f"code={template}"
    )
    assert result.exit_code == 0, result.output
    rows = read_jsonl(out / "train.jsonl") + read_jsonl(out / "val.jsonl")
    assert len(rows) == len(pipeline.problems)
    for row in rows:
        problem = pipeline.problems[row["problem_id"]]
        if problem["domain"] == "code":
            assert (
                row["messages"][0]["content"]
                == problem["question"].strip() + "\n\nThink it through, then give the program."
            )
        else:
            assert row["messages"][0]["content"] == render_prompt(problem["question"], template_for(problem["domain"]))
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "  - sql (the default): " in card
    if pipeline.with_code:
        assert "  - code: '{question}\\n\\nThink it through, then give the program.'" in card


def test_stats_break_down_by_domain(pipeline):
    out = pipeline.results["stats"].stdout
    for domain in pipeline.domains():
        n = len(pipeline.of_domain(domain))
        assert re.search(rf"│ {domain}\s+│ {n}\s+│ {2 * n}\s+│", out), (domain, out)
    assert re.search(r"│ sql/\d+\s+│ correct\s+│ 2 │", out) and re.search(r"│ choice/\d+\s+│ incorrect\s+│ 2 │", out)


def test_curate_sql_counts_verdicts_per_domain(pipeline):
    rows = pipeline.query(
        "SELECT p.domain, v.verdict, count(*) AS n FROM verdict_current v JOIN samples s USING (sample_id) "
        "JOIN problems p USING (problem_id) GROUP BY ALL ORDER BY ALL"
    )
    expected = []
    for domain in pipeline.domains():
        n = str(len(pipeline.of_domain(domain)))
        expected += [
            {"domain": domain, "verdict": "correct", "n": n},
            {"domain": domain, "verdict": "incorrect", "n": n},
        ]
    assert rows == expected


# ---- evaluate run and report ---------------------------------------------------------------


def script_key(problem: dict) -> str:
    """A text only this problem's prompt contains (the scripted server answers by it)."""
    meta = json.loads(problem["meta"] or "{}")
    if problem["domain"] == "code":
        return meta.get("entry_point") or re.search(r"def (\w+)\(", meta["code"]).group(1)
    if problem["domain"] == "sql":
        return meta["question"]
    return problem["question"].split("\n")[0]


def pass_at(n: int, c: int, k: int) -> float:
    return 1 - math.comb(n - c, k) / math.comb(n, k)


@pytest.fixture(scope="module")
def evaluated(pipeline):
    """`evaluate run` (four samples per problem, EVAL_PATTERN) and `evaluate report --out`, as typed;
    each command's (exit code, stdout), and the prompts the server was sent."""
    script = {}
    for problem_id, problem in pipeline.problems.items():
        pattern = EVAL_PATTERN[problem["domain"]]
        script[script_key(problem)] = [
            pipeline.right[problem_id] if c == "R" else pipeline.wrong[problem_id] for c in pattern
        ]
    server = ScriptedServer(script)
    url = server.start()
    run = f"run --name teacher-eval --base-url {url} --model scripted --problems train --samples 4 --max-tokens 512"
    try:
        out = {"run": evaluate(pipeline.db, run.split())}
    finally:
        server.stop()
    out["report"] = evaluate(pipeline.db, ["report", "teacher-eval", "--out", str(pipeline.folder / "report")])
    out["prompts"] = {request["messages"][-1]["content"] for request in server.requests}
    return out


def evaluate(db: Path, argv: list[str]) -> tuple[int, str]:
    """`evaluate ARGV --db DB` as typed; (exit code, stdout)."""
    import contextlib

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        try:
            evaluate_main([*argv, "--db", str(db)])
            code = 0
        except SystemExit as exit_:
            code = exit_.code or 0
    return code, buffer.getvalue()


def expected_pass(pipeline, domains: list[str]) -> tuple[float, float]:
    """pass@1 and pass@2 (%) over the problems of `domains`, from EVAL_PATTERN."""
    scores = [
        (EVAL_PATTERN[d].count("R") / 4, pass_at(4, EVAL_PATTERN[d].count("R"), 2))
        for d in domains
        for _ in pipeline.of_domain(d)
    ]
    return 100 * sum(s[0] for s in scores) / len(scores), 100 * sum(s[1] for s in scores) / len(scores)


def test_evaluate_run_prints_pass_at_k_per_domain(pipeline, evaluated):
    code, out = evaluated["run"]
    assert code == 0, out
    n = len(pipeline.problems)
    mixed, _ = expected_pass(pipeline, pipeline.domains())
    if pipeline.with_code:  # (2 x 3/4 + 4 x 1/4 + 2 x 0 + 2 x 1) / 10 problems
        assert mixed == pytest.approx(45.0)
    assert re.search(rf"\| teacher-eval \| mixed \| {n} \| {4 * n} \| 4 \| {mixed:.2f} ± [0-9.]+ \| ", out), out
    for domain in pipeline.domains():
        m = len(pipeline.of_domain(domain))
        pass1, _ = expected_pass(pipeline, [domain])
        pass4 = 100.0 if "R" in EVAL_PATTERN[domain] else 0.0
        # maj@4 for math (R R W R: the right answer is the majority) and choice; none for programs
        maj = "100.00" if domain in ("math", "choice") else "-"
        row = rf"\| teacher-eval \| {domain} \| {m} \| {4 * m} \| 4 \| {pass1:.2f} ± [0-9.]+ \| {pass4:.2f} \| {re.escape(maj)} \|"
        assert re.search(row, out), (domain, out)


def test_evaluate_report_gives_pass_at_k_per_domain(pipeline, evaluated):
    code, text = evaluated["report"]
    assert code == 0, text
    assert text.strip() == (pipeline.folder / "report" / "report.md").read_text(encoding="utf-8").strip()
    for domain in pipeline.domains():
        pass1, pass2 = expected_pass(pipeline, [domain])
        assert f"| teacher-eval | {domain} | 4 | {pass1:.2f} | {pass2:.2f} | " in text, (domain, text)
        assert f"| {domain} | {pass1:.2f} |" in text


def test_evaluate_asks_each_question_in_its_domains_template(pipeline, evaluated):
    expected = {render_prompt(p["question"], template_for(p["domain"])) for p in pipeline.problems.values()}
    assert evaluated["prompts"] == expected


def test_evaluate_checks_each_sample_with_its_domains_checker(pipeline, evaluated):
    rows = pipeline.query(
        "SELECT p.domain, e.sample_index, e.correct FROM eval_samples e JOIN problems p USING (problem_id) ORDER BY ALL"
    )
    for row in rows:
        assert (row["correct"] == "true") == (EVAL_PATTERN[row["domain"]][int(row["sample_index"])] == "R"), row


# ---- the review app ------------------------------------------------------------------------


async def test_review_opens_on_a_code_sample_and_shows_its_program(pipeline, tmp_path, monkeypatch):
    if not pipeline.with_code:
        pytest.skip("no isolation on this machine: no code problems in the store")
    from curate.review.app import ReviewApp
    from curate.review.config import ReviewConfig, ReviewSettings
    from curate.review.trace_view import TraceView
    from tests.curate.review.conftest import settle

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    where = "problem_id = 'code/humaneval:HumanEval/0' AND sample_index = 0"
    review = ReviewApp(ReviewSettings(pipeline.db, "alice", "all", where), ReviewConfig(path=tmp_path / "review.toml"))
    async with review.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        text = review.screen.query_one("#trace", TraceView).text
        assert review.screen.shown_id is not None
        assert "def has_close_elements(numbers: List[float], threshold: float) -> bool:" in text
        assert "for idx, elem in enumerate(numbers):" in text  # the canonical solution's body


# ---- curate generate ---------------------------------------------------------------------------


def test_generate_asks_each_domain_in_its_template_and_verify_checks_what_came_back(tmp_path):
    """Samples generated (not imported) through the scripted OpenAI server: the prompt sent and
    stored is the question in its domain's template, and verify gives the right ones correct."""
    if not (HUMANEVAL.exists() and SPIDER.exists()):
        pytest.skip(f"{DATA} (code and sql sets) not present")
    run = Pipeline(tmp_path / "traces.duckdb", tmp_path, sandbox_isolates())
    if run.with_code:
        humaneval = next(row for row in read_jsonl(HUMANEVAL) if row["task_id"] == "HumanEval/2")
        run.curate("ingest code", "ingest", str(write_jsonl(tmp_path / "code" / "humaneval.jsonl", [humaneval])))
    spider = [row for row in json.loads(SPIDER.read_text(encoding="utf-8")) if row["question"] in SPIDER_ROWS]
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "spider.json").write_text(json.dumps(spider[:1]), encoding="utf-8")
    run.curate("ingest sql", "ingest", str(tmp_path / "sql" / "spider.json"), "--databases", str(SPIDER_DATABASES))
    run.curate("ingest choice", "ingest", str(write_jsonl(tmp_path / "quiz" / "choice.jsonl", CHOICE_ROWS[:1])))
    run.curate("ingest math", "ingest", str(write_jsonl(tmp_path / "arith" / "math.jsonl", MATH_ROWS[:1])))
    with open_store(run.db, read_only=True) as store:
        run.problems = {row["problem_id"]: row for row in store.query("SELECT * FROM problems").to_dicts()}
    server = ScriptedServer({script_key(problem): [answers(problem, 2)[0]] for problem in run.problems.values()})
    url = server.start()
    try:
        run.curate("generate", "generate", "--model", "teacher", "--base-url", url, "--samples", "2", "--no-progress")
    finally:
        server.stop()
    run.curate("verify", "verify", "--workers", "1")
    for name, result in run.results.items():
        assert result.exit_code == 0, (name, result.output, result.exception)
    sent = {request["messages"][-1]["content"] for request in server.requests}
    assert sent == {render_prompt(p["question"], template_for(p["domain"])) for p in run.problems.values()}
    rows = run.query(
        "SELECT s.problem_id, s.prompt, v.verdict FROM samples s JOIN verdict_current v USING (sample_id) ORDER BY ALL"
    )
    assert len(rows) == 2 * len(run.problems)
    for row in rows:
        problem = run.problems[row["problem_id"]]
        assert row["prompt"] == render_prompt(problem["question"], template_for(problem["domain"]))
        assert ("\\boxed" in row["prompt"]) == (problem["domain"] in ("math", "choice"))
        assert row["verdict"] == "correct", row


# ---- curate judge ------------------------------------------------------------------------------


def test_judge_grades_only_math_and_choice_samples(db_path):
    from curate.testing.openai_server import OpenAIServer

    problems = [
        {
            "problem_id": "m",
            "source": "t",
            "question": "2+2?",
            "gold_answer": "4",
            "question_hash": "m",
            "domain": "math",
        },
        {
            "problem_id": "q",
            "source": "t",
            "question": "How many singers do we have?",
            "gold_answer": "SELECT count(*) FROM singer",
            "question_hash": "q",
            "domain": "sql",
        },
    ]
    samples = [
        {"sample_id": f"{p}-0", "problem_id": p, "model": "teacher", "params_hash": "ph", "sample_index": 0}
        | {"reasoning": "thinking", "content": content, "status": "ok"}
        for p, content in (("m", "It is \\boxed{four}."), ("q", "```sql\nSELECT count(*) FROM singers\n```"))
    ]
    verdicts = [
        {"sample_id": "m-0", "verifier": "sympy/5", "verdict": "unparseable"},
        {"sample_id": "q-0", "verifier": "sql/1", "verdict": "unparseable", "reason": "SQLite: no such table: singers"},
    ]
    with open_store(db_path) as store:
        store.insert_rows("problems", problems)
        store.insert_rows("samples", samples)
        store.insert_rows("verdicts", verdicts)
    with OpenAIServer(content=lambda prompt, answer: "ANSWER: 4\nVERDICT: CORRECT", models=("critic",)) as server:
        result = runner.invoke(app, ["judge", "--model", "critic", "--base-url", server.base_url])
    assert result.exit_code == 0, result.output
    with open_store(db_path, read_only=True) as store:
        judged = sorted(store.query("SELECT sample_id FROM verdicts WHERE verifier = 'judge:critic'")["sample_id"])
    assert judged == ["m-0"]


# ---- a code problem judged by its tests alone --------------------------------------------------


def test_a_code_problem_with_tests_and_no_reference_solution_is_selected(tmp_path):
    if not sandbox_isolates():
        pytest.skip("no isolation on this machine: code samples cannot be verified")
    run = Pipeline(tmp_path / "traces.duckdb", tmp_path, True)
    task = {
        "task_id": "own/1",
        "text": "Write a function double(x).",
        "test_list": ["assert double(1) == 2", "assert double(-3) == -6"],
    }
    problems = write_jsonl(tmp_path / "own" / "code.jsonl", [task])
    run.curate("ingest", "ingest", str(problems), "--domain", "code", "--no-gold", "--split", "train")
    programs = ("def double(x):\n    return 2 * x", "def double(x):\n    return x + 1")
    traces = [
        {"problem_id": "own/code:own/1", "samples": [think("Double it.", f"```python\n{p}\n```") for p in programs]}
    ]
    run.curate("import", "import-samples", str(write_jsonl(tmp_path / "traces.jsonl", traces)), "--model", "teacher")
    for name, args in (("verify", ["verify", "--workers", "1"]), ("score", ["score"])):
        run.curate(name, *args)
    run.curate("select", "select", "--policy", "shortest-correct", "--name", "short")
    for name, result in run.results.items():
        assert result.exit_code == 0, (name, result.output)
    verdicts = run.query(
        "SELECT v.verdict FROM verdict_current v JOIN samples s USING (sample_id) ORDER BY s.sample_index"
    )
    assert [row["verdict"] for row in verdicts] == ["correct", "incorrect"]  # the tests decide
    assert "selection short: 1 samples of 1 problems" in run.results["select"].stdout


def test_judge_steps_critiques_only_math_and_choice_traces(db_path):
    from curate.testing.openai_server import OpenAIServer

    problems = [
        {"problem_id": "m", "source": "t", "question": "2+2?", "gold_answer": "4", "question_hash": "m"},
        {"problem_id": "c", "source": "t", "question": "Write f.", "question_hash": "c", "domain": "code"},
    ]
    samples = [
        {"sample_id": f"{p}-0", "problem_id": p, "model": "teacher", "params_hash": "ph", "sample_index": 0}
        | {"reasoning": "First this.\n\nThen that.", "content": content, "status": "ok"}
        for p, content in (("m", "It is \\boxed{4}."), ("c", "```python\ndef f():\n    return 1\n```"))
    ]
    with open_store(db_path) as store:
        store.insert_rows("problems", [{"domain": "math"} | row for row in problems])
        store.insert_rows("samples", samples)
        hashes = dict(store.execute("SELECT sample_id, content_hash FROM samples").fetchall())
        store.insert_rows(
            "verdicts",
            [
                {"sample_id": "m-0", "verifier": "sympy/5", "verdict": "correct", "content_hash": hashes["m-0"]},
                {"sample_id": "c-0", "verifier": "code/2", "verdict": "correct", "content_hash": hashes["c-0"]},
            ],
        )
    reply = "WRONG PARAGRAPH: NONE\nREASON: no error"
    with OpenAIServer(content=lambda prompt, answer: reply, models=("critic",)) as server:
        result = runner.invoke(app, ["judge", "--steps", "--model", "critic", "--base-url", server.base_url])
    assert result.exit_code == 0, result.output
    with open_store(db_path, read_only=True) as store:
        checked = sorted(
            store.query("SELECT sample_id FROM step_check_samples WHERE checker = 'judge:critic'")["sample_id"]
        )
    assert checked == ["m-0"]
