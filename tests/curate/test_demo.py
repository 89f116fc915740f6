"""`curate demo`: the synthetic skill, the scripted teacher behind the bundled server, and (slow)
the whole experiment with the tiny real model: the curated student must beat base, significantly."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import openai
import pytest

from curate.demo import demo_config, idle_cores, write_problems
from curate.demo_teacher import (
    GEN_MAX_TOKENS,
    DemoTeacher,
    make_problems,
    teacher_reply,
    wrong_running_sums,
)
from curate.pipeline import STAGES
from curate.testing.openai_server import OpenAIServer
from curate.verify import check
from db import open_store


def test_problem_set_is_fixed_by_its_seed_with_independent_gold():
    problems = make_problems(0)
    assert problems == make_problems(0) and problems != make_problems(1)
    test = [p for p in problems if p.split == "test"]
    train = [p for p in problems if p.split == "train"]
    assert len(test) >= 100 and len(train) >= 200
    for p in problems:
        number = int(re.search(r"\d{4}", p.question).group())
        assert int(p.answer) == number // 1000 + number // 100 % 10 + number // 10 % 10 + number % 10
    # distinct numbers across splits, except the leaked copies decontamination must catch
    leaked = [p for p in train if "leak" in p.id]
    test_questions = {" ".join(p.question.lower().split()) for p in test}
    assert leaked and all(" ".join(p.question.lower().split()) in test_questions for p in leaked)
    assert len({p.id for p in problems}) == len(problems)


def test_teacher_is_imperfect_in_the_stated_ways():
    kinds = Counter()
    for problem in make_problems(0)[:150]:
        for index in range(4):
            reasoning, content = teacher_reply(problem.question, index)
            if len(reasoning) + len(content) > 4 * GEN_MAX_TOKENS:
                kinds["cut off"] += 1
                continue
            verdict = check(f"<think>{reasoning}</think>{content}", problem.answer).verdict
            kinds["repeats" if "check that again" in reasoning else verdict] += 1
    assert teacher_reply("What is the sum of the digits of 4827?", 0) == teacher_reply(
        "What is the sum of the digits of 4827?", 0
    )
    # most traces are right; some slip (wrong answer), some loop, some run past the token limit
    assert kinds["correct"] > 300
    assert 60 < kinds["incorrect"] < 180 and kinds["repeats"] > 30 and kinds["cut off"] > 20


def test_teacher_writes_some_right_answers_with_one_wrong_step():
    kinds = Counter()
    for problem in make_problems(0)[:150]:
        for index in range(4):
            reasoning, content = teacher_reply(problem.question, index)
            verdict = check(f"<think>{reasoning}</think>{content}", problem.answer).verdict
            kinds[(verdict, min(wrong_running_sums(reasoning), 2))] += 1
    assert wrong_running_sums("4 + 8 = 13\n12 + 2 = 14") == 1 and wrong_running_sums("4 + 8 = 12") == 0
    assert 20 < kinds[("correct", 1)] < 80  # right answer, one wrong step: only a step check sees it
    assert kinds[("correct", 2)] == 0  # never more than one
    assert kinds[("correct", 0)] > 250


def test_step_checks_find_the_teachers_wrong_steps_and_flag_no_clean_trace():
    from curate.verify import check_steps_many

    traces = [teacher_reply(p.question, i) for p in make_problems(0) if p.split == "train" for i in range(4)]
    found = check_steps_many([f"<think>{r}</think>{c}" for r, c in traces], workers=1)
    outcome = Counter(
        (wrong_running_sums(r) > 0, any(k.status == "wrong" and not k.retracted for k in claims))
        for (r, _), claims in zip(traces, found)
    )
    assert outcome[(False, True)] == 0  # no false alarm on a trace whose sums are right
    # One running sum per line: a newline ends a claim (before the fix only the last line was read).
    # Missed: a wrong sum whose next line starts from the right total reads as corrected.
    assert outcome[(True, True)] > 0.9 * (outcome[(True, True)] + outcome[(True, False)])


def test_server_serves_the_teacher_over_http_with_a_new_sample_per_request():
    prompt = "What is the sum of the digits of 4827?"
    with OpenAIServer(respond=DemoTeacher(), models=("demo-teacher",)) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="none", max_retries=0)
        replies = [
            client.chat.completions.create(
                model="demo-teacher", max_tokens=64, messages=[{"role": "user", "content": prompt}]
            ).choices[0]
            for _ in range(40)
        ]
    texts = {(getattr(r.message, "reasoning_content", None), r.message.content) for r in replies}
    assert len(texts) > 3  # the k-th request for a prompt gets the teacher's k-th sample
    assert {r.finish_reason for r in replies} == {"stop", "length"}  # long loops are cut at max_tokens
    assert any("\\boxed{21}" in (r.message.content or "") for r in replies)


def test_idle_cores_counts_a_busy_machine_as_one_core():
    cores = len(os.sched_getaffinity(0))
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(cores)]
    try:
        time.sleep(0.3)
        assert idle_cores() == 1  # every core busy: one thread, not several waiting on each other
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    assert 1 <= idle_cores() <= cores


def test_demo_config_runs_every_stage_but_judge_and_import(tmp_path: Path, tiny_model_gguf: Path):
    config = demo_config(tmp_path, write_problems(tmp_path), "http://127.0.0.1:1/v1")
    assert set(config.stages) == set(STAGES) - {"judge", "import"}
    assert config.stages["eval"]["temperature"] == 0.0 and config.stages["generate"]["price_in"] == 0.0
    assert config.stages["verify"]["steps"] is True
    assert config.db == tmp_path / "traces.duckdb"


@pytest.mark.slow
def test_demo_student_beats_base_significantly(tmp_path: Path, tiny_model_gguf: Path):
    folder = tmp_path / "demo"
    command = [sys.executable, "-m", "curate", "demo", "--dir", str(folder)]
    first = subprocess.run(command, capture_output=True, text=True, timeout=3600, check=False)
    assert first.returncode == 0, first.stderr[-4000:]
    assert "where everything went" in first.stdout and "what curation changed" in first.stdout
    assert "it/s" not in first.stderr and "Warning" not in first.stderr  # no third-party bars or warnings
    stage_lines = [line for line in first.stderr.splitlines() if line.startswith("== ")]
    stages = len(demo_config(folder, write_problems(folder), "x").stages)
    assert len(stage_lines) == stages + 3  # one line per stage, then the unfiltered control's export, train, eval
    assert len(first.stderr.splitlines()) <= len(stage_lines) + 2  # nothing else on stderr

    from eval.report import compare_runs

    comparison = compare_runs(folder / "traces.duckdb", "student", "base")
    assert comparison.problems >= 100
    assert comparison.difference.difference > 0 and comparison.difference.low > 0
    assert comparison.mcnemar.only_a > comparison.mcnemar.only_b and comparison.mcnemar.p_value < 0.01
    with open_store(folder / "traces.duckdb", read_only=True) as store:
        statuses = dict(store.execute("SELECT status, count(*) FROM samples GROUP BY ALL").fetchall())
        verdicts = dict(store.execute("SELECT verdict, count(*) FROM verdict_current GROUP BY ALL").fetchall())
        contaminated = store.scalar("SELECT count(*) FROM contamination")
    # every curation step had something to remove
    assert statuses["truncated"] > 0 and verdicts["incorrect"] > 0 and contaminated > 0
    assert (folder / "report" / "accuracy.png").exists() and (folder / "report" / "train_loss.png").exists()
    # the token limit and what it cut, per arm, on screen and in the report; the control by default
    assert "answers cut at 96 tokens" in first.stdout and "cut off" in first.stdout
    assert "curated traces vs all traces, unfiltered" in first.stdout
    report = (folder / "report" / "report.md").read_text()
    assert "token limit" in report and "student-unfiltered" in report

    again = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    assert again.returncode == 0, again.stderr[-4000:]
    assert again.stderr.count("skipped") == stages + 1  # every stage and the control
