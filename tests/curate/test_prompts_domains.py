"""Each domain's prompt template (curate/prompts.py) as `curate generate` sends it and `curate
export` writes it: math keeps its boxed-answer instruction byte for byte, code and SQL questions
(a real HumanEval row and two Spider rows, shared/data; SOURCES.md there) are asked for no box,
a choice question for a boxed letter; `--prompt-template` replaces every domain's or one's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.generate import GenerateConfig, generation_params, params_hash
from curate.prompts import DOMAIN_TEMPLATES, load_templates, render_prompt, template_for
from curate.select import SelectConfig, run as select
from curate.testing.openai_server import OpenAIServer
from curate.verify.domains import DOMAINS
from db import BadInput, open_store
from tests.curate.curation_store import add_scores, add_verdicts
from tests.conftest import WORKSPACE_DATA

runner = CliRunner()
DATA = WORKSPACE_DATA
HUMANEVAL = DATA / "code" / "humaneval.jsonl"
SPIDER = DATA / "sql" / "spider_dev_public.json"
SPIDER_DATABASES = DATA / "sql" / "database"
MODEL = "deepseek-reasoner"
# The math prompt as it was before templates were chosen by domain: stored math samples resume.
MATH_SUFFIX = "\n\nPlease reason step by step, and put your final answer within \\boxed{}."
MATH_TEMPLATE = "{question}\n\nPlease reason step by step, and put your final answer within \\boxed{{}}."


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def problems(db_path: Path, tmp_path: Path) -> dict[str, dict]:
    """A math, a code (HumanEval/0 as shipped), two SQL (Spider's first two) and a choice
    problem, each ingested as a user types it; problem_id -> its row."""
    if not (HUMANEVAL.exists() and SPIDER.exists()):
        pytest.skip(f"{DATA} (code and sql sets) not present")
    math = tmp_path / "math.jsonl"
    math.write_text(json.dumps({"question": "What is 2 + 3?", "answer": "5"}) + "\n", encoding="utf-8")
    code = tmp_path / "humaneval.jsonl"
    code.write_text(HUMANEVAL.read_text(encoding="utf-8").splitlines(keepends=True)[0], encoding="utf-8")
    sql = tmp_path / "spider.json"
    sql.write_text(json.dumps(json.loads(SPIDER.read_text(encoding="utf-8"))[:2]), encoding="utf-8")
    choice = tmp_path / "choice.jsonl"
    choice.write_text(
        json.dumps({"question": "Which planet is the largest?", "options": ["Mars", "Jupiter", "Venus"], "answer": "B"})
        + "\n",
        encoding="utf-8",
    )
    for path in (math, code, choice):
        invoke("ingest", str(path))
    invoke("ingest", str(sql), "--databases", str(SPIDER_DATABASES))
    with open_store(db_path, read_only=True) as store:
        rows = store.query("SELECT problem_id, domain, question FROM problems ORDER BY problem_id").to_dicts()
    assert sorted(row["domain"] for row in rows) == ["choice", "code", "math", "sql", "sql"]
    return {row["problem_id"]: row for row in rows}


def generate(server: OpenAIServer, *options: str) -> str:
    return invoke(
        "generate", "--model", MODEL, "--base-url", server.base_url, "--samples", "1", "--no-progress", *options
    )


def stored(db_path: Path) -> dict[str, dict]:
    """problem_id -> its newest sample (prompt, params_hash, sample_id)."""
    with open_store(db_path, read_only=True) as store:
        rows = store.query("SELECT * FROM samples ORDER BY created_at, sample_id").to_dicts()
    return {row["problem_id"]: row for row in rows}


def test_generate_sends_each_domain_its_template_and_math_as_before(db_path, problems):
    with OpenAIServer() as server:
        generate(server)
        seen = server.prompts_seen()
    samples = stored(db_path)
    assert len(seen) == 5 and set(seen.values()) == {1}
    for problem_id, problem in problems.items():
        prompt = samples[problem_id]["prompt"]
        assert prompt in seen  # what was sent is what is stored
        question = problem["question"].strip()
        if problem["domain"] == "math":
            assert prompt == "What is 2 + 3?" + MATH_SUFFIX
        elif problem["domain"] == "choice":
            assert prompt.startswith(question + "\n\n") and "letter of your answer within \\boxed{}" in prompt
        else:
            assert prompt.startswith(question + "\n\nPlease reason step by step") and "boxed" not in prompt
    code = next(p for p in problems.values() if p["domain"] == "code")
    assert "```python" in code["question"] and "def has_close_elements" in code["question"]
    sql = [p for p in problems.values() if p["domain"] == "sql"]
    assert all("```sql" in p["question"] and "CREATE TABLE" in p["question"] for p in sql)
    # A math sample keeps the params_hash it had when one template served every problem.
    old_config = GenerateConfig(model=MODEL, samples=1)
    math_id = next(pid for pid, p in problems.items() if p["domain"] == "math")
    assert samples[math_id]["params_hash"] == params_hash(generation_params(old_config, MATH_TEMPLATE))
    assert (
        json.loads(samples[math_id]["params"])["prompt_template_sha256"]
        != json.loads(samples[code["problem_id"]]["params"])["prompt_template_sha256"]
    )
    with open_store(db_path, read_only=True) as store:
        config = json.loads(store.scalar("SELECT config FROM runs WHERE kind = 'generate'"))
    assert sorted(config["params_hashes"]) == ["choice", "code", "math", "sql"]


def test_a_rerun_resumes_every_domain_and_a_code_template_regenerates_code_only(db_path, problems, tmp_path):
    with OpenAIServer() as server:
        generate(server)
        generate(server)
        assert server.requests == 5  # nothing generated twice
        own = tmp_path / "code.txt"
        own.write_text("Solve this.\n\n{question}\n", encoding="utf-8")
        generate(server, "--prompt-template", f"code={own}")
        assert server.requests == 6
    code_id = next(pid for pid, p in problems.items() if p["domain"] == "code")
    assert stored(db_path)[code_id]["prompt"] == "Solve this.\n\n" + problems[code_id]["question"].strip() + "\n"


def test_one_template_file_serves_every_domain(db_path, problems, tmp_path):
    own = tmp_path / "plain.txt"
    own.write_text("Q: {question}\nA:", encoding="utf-8")
    with OpenAIServer() as server:
        generate(server, "--prompt-template", str(own))
    samples = stored(db_path)
    assert {pid: samples[pid]["prompt"] for pid in problems} == {
        pid: f"Q: {p['question'].strip()}\nA:" for pid, p in problems.items()
    }


def test_export_writes_each_domain_its_template_and_names_them_in_the_card(db_path, problems, tmp_path):
    with OpenAIServer() as server:
        generate(server)
    samples = stored(db_path)
    with open_store(db_path) as store:
        add_verdicts(store, [(s["sample_id"], "x", "correct") for s in samples.values()])
        add_scores(store, [{"sample_id": s["sample_id"], "problem_id": s["problem_id"]} for s in samples.values()])
        select(store, SelectConfig(policy="keep-k-correct", k=1, name="all"))
    out = tmp_path / "sft"
    invoke("export", "--out", str(out), "--val-fraction", "0")
    rows = [json.loads(line) for line in (out / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    users = {row["problem_id"]: row["messages"][0]["content"] for row in rows}
    assert users == {pid: samples[pid]["prompt"] for pid in problems}  # trained on the prompt the teacher saw
    card = (out / "README.md").read_text(encoding="utf-8")
    for domain in ("math", "code", "sql", "choice"):
        assert f"  - {domain} (the default): {DOMAIN_TEMPLATES[domain]!r}" in card
    with open_store(db_path, read_only=True) as store:
        config = json.loads(store.scalar("SELECT config FROM exports"))
    assert config["prompt_templates"] == {d: DOMAIN_TEMPLATES[d] for d in ("choice", "code", "math", "sql")}


# ---- the rule itself ----------------------------------------------------------------------------


def test_every_checked_domain_has_a_template_and_only_math_asks_for_a_boxed_answer():
    assert set(DOMAIN_TEMPLATES) == set(DOMAINS)
    assert render_prompt("What is 1+1?", template_for("math")) == "What is 1+1?" + MATH_SUFFIX
    for domain in ("code", "sql"):
        assert "boxed" not in render_prompt("Q", template_for(domain))
    assert render_prompt("Q", template_for("choice")).endswith("put the letter of your answer within \\boxed{}.")


def test_template_specs_that_clash_or_name_no_domain_are_bad_input(tmp_path):
    one, two = tmp_path / "one.txt", tmp_path / "two.txt"
    one.write_text("{question} one", encoding="utf-8")
    two.write_text("{question} two", encoding="utf-8")
    chosen = load_templates([f"sql={two}", str(one)])  # a domain's own file wins, whatever the order
    assert chosen == {
        "math": "{question} one",
        "code": "{question} one",
        "sql": "{question} two",
        "choice": "{question} one",
    }
    assert load_templates(str(one)) == dict.fromkeys(DOMAINS, "{question} one")  # a config file's string
    with pytest.raises(BadInput, match="two templates for every domain"):
        load_templates([str(one), str(two)])
    with pytest.raises(BadInput, match="two templates for domain code"):
        load_templates([f"code={one}", f"code={two}"])
    with pytest.raises(BadInput, match="unknown domain 'python'.*math, code, sql, choice"):
        load_templates([f"python={one}"])
    with pytest.raises(BadInput, match="no prompt template for domain 'proof'"):
        template_for("proof")


def test_an_unknown_template_flag_value_exits_2_before_any_request(db_path, problems):
    with OpenAIServer() as server:
        result = runner.invoke(
            app, ["generate", "--model", MODEL, "--base-url", server.base_url, "--prompt-template", "code=missing.txt"]
        )
        assert result.exit_code == 2 and "missing.txt" in result.output, result.output
        assert server.requests == 0
