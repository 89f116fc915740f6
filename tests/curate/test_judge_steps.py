"""`curate judge --steps`: a judge model names the earliest wrong paragraph of each correct trace;
its answer is stored as step checks of checker judge:MODEL (against the bundled fake server)."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.judge import JudgeConfig, paragraphs, parse_steps_judgement, steps_prompt
from curate.stages import run_stage
from curate.testing.openai_server import OpenAIServer
from curate.traces import full_response
from db import open_store
from tests.curate.curation_store import add_problems, add_samples, add_verdicts

CRITIC = "critic-model"
PARAGRAPH = re.compile(r"^\[(\d+)\] (.*?)(?=\n\n\[\d+\] |\n\nReply with)", re.S | re.M)
SUM = re.compile(r"(\d+) \+ (\d+) = (\d+)")

# sample: (verdict, reasoning, content)
CASES = {
    "s-wrong": ("correct", "The digits are 4, 8, 2, 7.\n\n4 + 8 = 13\n12 + 2 = 14\n\n14 + 7 = 21", "So $\\boxed{21}$."),
    "s-clean": ("correct", "The digits are 1, 2.\n\n1 + 2 = 3", "So $\\boxed{3}$."),
    "s-late": ("correct", "Start.", "We add: 2 + 2 = 5.\n\nSo $\\boxed{4}$."),
    "s-garbled": ("correct", "Nothing to see [[garble]].", "So $\\boxed{1}$."),
    "s-incorrect": ("incorrect", "1 + 1 = 3", "So $\\boxed{3}$."),
}


def criticise(prompt: str, answer: str) -> str:
    """A critic that names the first paragraph holding a false sum."""
    if "[[garble]]" in prompt:
        return "I think it is fine overall."
    for number, text in PARAGRAPH.findall(prompt):
        for a, b, c in SUM.findall(text):
            if int(a) + int(b) != int(c):
                return f"WRONG PARAGRAPH: {number}\nREASON: {a} + {b} is {int(a) + int(b)}, not {c}."
    return "WRONG PARAGRAPH: NONE\nREASON: no error"


@pytest.fixture
def critic():
    with OpenAIServer(content=criticise, models=(CRITIC,)) as server:
        yield server


@pytest.fixture
def store_path(db_path):
    with open_store(db_path) as store:
        add_problems(
            store, [{"problem_id": f"p-{s}", "question": f"Sum the digits ({s})?", "gold_answer": "1"} for s in CASES]
        )
        add_samples(
            store,
            [{"sample_id": s, "problem_id": f"p-{s}", "reasoning": r, "content": c} for s, (_, r, c) in CASES.items()],
        )
        add_verdicts(store, [(s, "1", v) for s, (v, _, _) in CASES.items()])
    return db_path


def checks(db_path) -> dict[str, list[dict]]:
    with open_store(db_path, read_only=True) as store:
        marked = store.query("SELECT sample_id, claims FROM step_check_samples WHERE checker = ?", [f"judge:{CRITIC}"])
        rows = store.query("SELECT * FROM step_checks WHERE checker = ? ORDER BY sample_id", [f"judge:{CRITIC}"])
    found = {s: [] for s in marked["sample_id"]}
    for row in rows.iter_rows(named=True):
        found[row["sample_id"]].append(row)
    return found


def test_cli_stores_the_earliest_wrong_paragraph_of_each_correct_trace(store_path, critic):
    result = CliRunner().invoke(app, ["judge", "--steps", "--model", CRITIC, "--base-url", critic.base_url])
    assert result.exit_code == 0, result.output
    found = checks(store_path)
    assert set(found) == {"s-wrong", "s-clean", "s-late", "s-garbled"}  # the wrong answer is left out
    (wrong,) = found["s-wrong"]
    text = full_response(*CASES["s-wrong"][1:])
    assert wrong["status"] == "wrong" and not wrong["retracted"]
    assert text[wrong["claim_start"] : wrong["claim_end"]] == "4 + 8 = 13\n12 + 2 = 14" == wrong["claim"]
    assert wrong["reason"] == "paragraph 2: 4 + 8 is 12, not 13."
    (late,) = found["s-late"]
    assert late["claim"] == "We add: 2 + 2 = 5."  # a paragraph of the final content
    assert found["s-clean"] == []
    (garbled,) = found["s-garbled"]
    assert garbled["status"] == "unchecked" and "no WRONG PARAGRAPH line" in garbled["reason"]
    with open_store(store_path, read_only=True) as store:
        summary = dict(
            store.execute(
                "SELECT sample_id, first_wrong_offset FROM step_check_summary WHERE wrong_unretracted > 0"
            ).fetchall()
        )
        run = store.query("SELECT status, counts FROM runs WHERE kind = 'judge'").row(0, named=True)
    assert summary == {"s-wrong": wrong["claim_start"], "s-late": late["claim_start"]}
    assert run["status"] == "ok" and '"wrong": 2' in run["counts"] and '"clean": 1' in run["counts"]
    assert "wrong 2, clean 1, unparseable 1, failed 0" in " ".join(result.output.split())


def test_rerun_asks_only_for_new_or_changed_traces_and_include_incorrect_adds_wrong_answers(store_path, critic):
    config = JudgeConfig(model=CRITIC, base_urls=(critic.base_url,), steps=True)
    assert run_stage("judge", store_path, config).candidates == 4
    assert run_stage("judge", store_path, config).candidates == 0 and critic.requests == 4
    with open_store(store_path) as store:
        store.execute("UPDATE samples SET reasoning = 'The digits are 1, 2.\n\n1 + 2 = 4' WHERE sample_id = 's-clean'")
        store.rehash_samples("s.sample_id = 's-clean'")
        store.execute("UPDATE verdicts SET content_hash = NULL")
    again = run_stage(
        "judge", store_path, JudgeConfig(model=CRITIC, base_urls=(critic.base_url,), steps=True, include_incorrect=True)
    )
    assert again.candidates == 2 and again.counts["wrong"] == 2  # s-clean changed, s-incorrect added
    assert [c["claim"] for c in checks(store_path)["s-clean"]] == ["1 + 2 = 4"]


def test_costs_add_up_and_a_failed_request_leaves_the_run_incomplete(store_path, critic):
    critic.inject("server_error", 10)
    result = CliRunner().invoke(
        app,
        [
            "judge",
            "--steps",
            "--model",
            CRITIC,
            "--base-url",
            critic.base_url,
            "--max-retries",
            "0",
            "--price-in",
            "1.0",
            "--price-out",
            "2.0",
            "--limit",
            "2",
        ],
    )
    assert result.exit_code == 1, result.output
    assert checks(store_path) == {}
    with open_store(store_path, read_only=True) as store:
        run = store.query("SELECT status, counts FROM runs WHERE kind = 'judge'").row(0, named=True)
    assert run["status"] == "incomplete" and '"failed": 2' in run["counts"]
    fine = run_stage(
        "judge",
        store_path,
        JudgeConfig(model=CRITIC, base_urls=(critic.base_url,), steps=True, price_in=1.0, price_out=2.0),
    )
    assert fine.status == "ok" and fine.cost_usd > 0 and fine.candidates == 4


def test_paragraphs_prompt_and_reply_parsing():
    text = "<think>One.\n\n  Two\nlines.  \n\n\n</think>Three."
    assert [text[a:b] for a, b in paragraphs(text)] == ["One.", "Two\nlines.", "Three."]
    prompt = steps_prompt("Q?", text)
    assert "[1] One.\n\n[2] Two\nlines.\n\n[3] Three." in prompt and "Problem:\nQ?" in prompt
    assert parse_steps_judgement("WRONG PARAGRAPH: 2\nREASON: off by one", 3) == ("wrong", 2, "off by one")
    assert parse_steps_judgement("**Wrong paragraph:** none", 3)[0] == "clean"
    assert parse_steps_judgement("WRONG PARAGRAPH: 7", 3) == ("unparseable", None, "judge named paragraph 7 of 3")
    assert parse_steps_judgement("WRONG PARAGRAPH: 1\nWRONG PARAGRAPH: 3", 3)[1] == 3  # the last line counts
