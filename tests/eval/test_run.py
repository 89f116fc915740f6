"""`evaluate run` against a real HTTP server with scripted answers, so the metrics are known exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from db import open_store
from eval.run import EvalConfig, EvalRunResult, run as run_eval, sub_runs

ENDPOINT_FLAGS = ("--model", "scripted", "--temperature", "0.6", "--max-tokens", "64")


def eval_runs(db_path: Path, config: EvalConfig) -> list[EvalRunResult]:
    """`evaluate run` as the CLI calls it: the store open around the stage."""
    with open_store(db_path) as store:
        return run_eval(store, config).runs


def stored(db_path: Path, sql: str, params=None):
    with open_store(db_path, read_only=True) as store:
        return store.query(sql, params)


def test_pass_at_1_maj_and_pass_at_k_of_scripted_answers(db_path: Path, server, problems_file: Path, evaluate) -> None:
    code, out, err = evaluate(
        "run",
        "--name",
        "toy",
        "--base-url",
        server.url,
        *ENDPOINT_FLAGS,
        "--problems",
        str(problems_file),
        "--samples",
        "4",
        "--label",
        "student",
    )
    assert code == 0, err
    # pass@1 = (4/4 + 2/4 + 1/4) / 3 = 7/12; pass@4 = any of the four right: 3/3;
    # maj@4 = 1/3 (only Alpha's majority is right)
    assert "| toy | math | 3 | 12 | 4 | 58.33 ±" in out
    assert "| 100.00 | 33.33 |" in out
    samples = stored(
        db_path,
        "SELECT problem_id, sample_index, verdict, correct, answer, reasoning, words "
        "FROM eval_samples ORDER BY problem_id, sample_index",
    )
    assert samples["correct"].to_list() == [True] * 4 + [False, True, False, True] + [False, True, False, False]
    assert samples["verdict"][8] == "no_answer"
    assert samples["reasoning"][9] == "Three plus four is seven."
    assert samples["words"][9] == 5 + 4  # reasoning and content words both count
    # one request per problem asking for all four samples
    assert sorted(r["n"] for r in server.requests) == [4, 4, 4]
    run = stored(db_path, "SELECT * FROM eval_runs")
    assert run.select("eval_run_id", "label", "backend", "samples", "seed", "status").row(0) == (
        "toy",
        "student",
        "openai",
        4,
        0,
        "ok",
    )

    from eval.report import build_report

    stats = build_report(db_path, ["toy"]).stats[0]
    assert stats.pass_at_1 == pytest.approx(7 / 12)
    assert stats.maj_at_k == pytest.approx(1 / 3)
    # unbiased pass@4 with k = n is "any sample right": 3/3
    assert stats.pass_at_k == pytest.approx(1.0)


def test_rerun_resumes_and_more_samples_add_only_the_missing(
    db_path: Path, server, problems_file: Path, evaluate
) -> None:
    args = ("run", "--name", "toy", "--base-url", server.url, *ENDPOINT_FLAGS, "--problems", str(problems_file))
    assert evaluate(*args, "--samples", "4")[0] == 0
    assert evaluate(*args, "--samples", "4")[0] == 0
    assert len(server.requests) == 3  # the rerun sent nothing
    code, out, err = evaluate(*args, "--samples", "6")
    assert code == 0, err
    assert [r["n"] for r in server.requests[3:]] == [2, 2, 2]
    # seeds differ per (problem, first missing index), so the new requests are not replays
    assert len({r["seed"] for r in server.requests}) == 6
    counts = stored(db_path, "SELECT problem_id, count(*) AS n FROM eval_samples GROUP BY ALL ORDER BY 1")
    assert counts["n"].to_list() == [6, 6, 6]


def test_changed_settings_are_refused_not_mixed(db_path: Path, server, problems_file: Path, evaluate) -> None:
    args = ("run", "--name", "toy", "--base-url", server.url, "--model", "scripted", "--problems", str(problems_file))
    assert evaluate(*args, "--temperature", "0.6")[0] == 0
    code, _out, err = evaluate(*args, "--temperature", "0.7")
    assert code == 2
    assert "temperature" in err and "--name" in err


def test_server_capping_choices_is_asked_again_for_the_rest(db_path: Path, server, problems_file: Path) -> None:
    server.max_n = 3
    config = EvalConfig(
        name="capped",
        model="scripted",
        base_url=server.url,
        problems=str(problems_file),
        samples=4,
        max_tokens=64,
        progress=False,
    )
    [result] = eval_runs(db_path, config)
    assert (result.samples, result.missing) == (12, 0)
    assert sorted(r["n"] for r in server.requests) == [1, 1, 1, 4, 4, 4]
    assert result.pass_at_1.mean == pytest.approx(7 / 12)


def test_one_sample_per_request(db_path: Path, server, problems_file: Path) -> None:
    config = EvalConfig(
        name="single",
        model="scripted",
        base_url=server.url,
        problems=str(problems_file),
        samples=2,
        n_per_request=1,
        max_tokens=64,
        progress=False,
    )
    [result] = eval_runs(db_path, config)
    assert result.samples == 6
    assert [r["n"] for r in server.requests] == [1] * 6
    # n = 1: the usage belongs to the one sample
    tokens = stored(db_path, "SELECT DISTINCT completion_tokens FROM eval_samples")
    assert tokens["completion_tokens"].to_list() == [7]


def test_server_error_and_empty_answer_are_retried(db_path: Path, server, problems_file: Path) -> None:
    server.script["Alpha"] = ["", "Now \\boxed{5}."]
    server.fail_next = [500]
    config = EvalConfig(
        name="flaky",
        model="scripted",
        base_url=server.url,
        problems=str(problems_file),
        samples=1,
        limit=1,
        max_tokens=64,
        max_retries=2,
        progress=False,
    )
    [result] = eval_runs(db_path, config)
    assert (result.samples, result.missing) == (1, 0)
    assert len(server.requests) == 3  # 500, then the empty answer, then the real one
    assert stored(db_path, "SELECT content FROM eval_samples")["content"].to_list() == ["Now \\boxed{5}."]


def test_unknown_model_stops_the_run_with_exit_2(db_path: Path, server, problems_file: Path, evaluate) -> None:
    server.unknown_model = "nosuch"
    code, _out, err = evaluate(
        "run", "--name", "x", "--base-url", server.url, "--model", "nosuch", "--problems", str(problems_file)
    )
    assert code == 2
    assert "404" in err
    assert len(server.requests) <= 3  # the 404 is not retried


def test_seeds_make_one_run_each(db_path: Path, server, problems_file: Path, evaluate) -> None:
    code, out, err = evaluate(
        "run",
        "--name",
        "multi",
        "--base-url",
        server.url,
        *ENDPOINT_FLAGS,
        "--problems",
        str(problems_file),
        "--seeds",
        "0,1,2",
        "--samples",
        "4",
    )
    assert code == 0, err
    runs = stored(db_path, "SELECT eval_run_id, seed, run_group FROM eval_runs ORDER BY seed")
    assert runs.rows() == [("multi/seed-0", 0, "multi"), ("multi/seed-1", 1, "multi"), ("multi/seed-2", 2, "multi")]
    # the script cycles every four choices, so every seed sees the same answers: std 0
    from eval.report import build_report

    report = build_report(db_path, ["multi"])
    assert "| multi | 58.33 ± 0.00 (3 runs) |" in report.markdown


def test_length_study_asks_for_shorter_answers_per_level(db_path: Path, server, problems_file: Path, evaluate) -> None:
    code, out, err = evaluate(
        "run",
        "--name",
        "short",
        "--base-url",
        server.url,
        *ENDPOINT_FLAGS,
        "--problems",
        str(problems_file),
        "--word-budgets",
        "100,20",
    )
    assert code == 0, err
    runs = stored(db_path, "SELECT eval_run_id, length_level, word_budget FROM eval_runs ORDER BY length_level")
    assert runs.rows() == [("short/len-1", 1, 100), ("short/len-2", 2, 20)]
    prompts = [r["messages"][0]["content"] for r in server.requests]
    assert sum("under 100 words" in p for p in prompts) == 3
    assert sum("under 20 words" in p for p in prompts) == 3


def test_split_selects_stored_problems_and_a_missing_split_is_bad_input(
    db_path: Path, server, problems_file: Path, evaluate
) -> None:
    from curate.ingest import IngestConfig
    from curate.stages import run_stage

    run_stage("ingest", db_path, IngestConfig(problems_file, source="toy", split="test"))
    code, out, err = evaluate(
        "run",
        "--name",
        "by-split",
        "--base-url",
        server.url,
        *ENDPOINT_FLAGS,
        "--problems",
        "test",
        "--source",
        "toy",
        "--limit",
        "2",
    )
    assert code == 0, err
    assert stored(db_path, "SELECT DISTINCT problem_id FROM eval_samples ORDER BY 1")["problem_id"].to_list() == [
        "toy:a",
        "toy:b",
    ]
    code, _out, err = evaluate("run", "--name", "none", "--base-url", server.url, *ENDPOINT_FLAGS, "--problems", "val")
    assert code == 2 and "no problems in split 'val'" in err
    code, _out, err = evaluate(
        "run", "--name", "none", "--base-url", server.url, *ENDPOINT_FLAGS, "--problems", "missing.jsonl"
    )
    assert code == 2 and "missing.jsonl" in err


def test_strict_form_counts_unsimplified_answers_wrong(db_path: Path, server, tmp_path: Path) -> None:
    path = tmp_path / "half.jsonl"
    path.write_text(json.dumps({"id": "h", "question": "Alpha: half of one?", "answer": "\\frac{1}{2}"}) + "\n")
    server.script["Alpha"] = ["\\boxed{\\frac{2}{4}}"]
    loose = EvalConfig(
        name="loose", model="scripted", base_url=server.url, problems=str(path), max_tokens=64, progress=False
    )
    strict = EvalConfig(
        name="strict",
        model="scripted",
        base_url=server.url,
        problems=str(path),
        max_tokens=64,
        strict_form=True,
        progress=False,
    )
    assert eval_runs(db_path, loose)[0].pass_at_1.mean == 1.0
    assert eval_runs(db_path, strict)[0].pass_at_1.mean == 0.0
    assert stored(db_path, "SELECT form_ok FROM eval_samples WHERE eval_run_id = 'strict'")["form_ok"][0] is False


def test_the_question_reaches_the_verifier(db_path: Path, server, tmp_path: Path) -> None:
    path = tmp_path / "order.jsonl"
    path.write_text(
        json.dumps({"id": "o", "question": "Omega: list the roots in increasing order.", "answer": "1, 2, 3"}) + "\n"
    )
    server.script["Omega"] = ["\\boxed{3, 1, 2}"]
    config = EvalConfig(
        name="order", model="scripted", base_url=server.url, problems=str(path), max_tokens=64, progress=False
    )
    assert eval_runs(db_path, config)[0].pass_at_1.mean == 0.0  # a set reading would say correct
    assert "entry 1" in stored(db_path, "SELECT reason FROM eval_samples WHERE eval_run_id = 'order'")["reason"][0]


def test_run_names() -> None:
    config = EvalConfig(name="s", model="m", problems="test", seeds=(0, 1), length_levels=2)
    assert [r.eval_run_id for r in sub_runs(config)] == [
        "s/seed-0/len-1",
        "s/seed-0/len-2",
        "s/seed-1/len-1",
        "s/seed-1/len-2",
    ]
    assert [r.word_budget for r in sub_runs(config)][:2] == [400, 250]


def test_bad_flags_exit_2(db_path: Path, problems_file: Path, evaluate) -> None:
    base = ("run", "--name", "x", "--model", "m", "--problems", str(problems_file))
    assert evaluate(*base, "--seeds", "0,a")[0] == 2
    assert evaluate(*base, "--samples", "0")[0] == 2
    assert evaluate(*base, "--length-levels", "7")[0] == 2
    assert evaluate(*base, "--base-url", "http://x", "--adapter", "a")[0] == 2


def test_failed_request_leaves_samples_missing_until_a_rerun(
    db_path: Path, server, problems_file: Path, evaluate
) -> None:
    server.fail_next = [503]
    args = (
        "run",
        "--name",
        "gap",
        "--base-url",
        server.url,
        *ENDPOINT_FLAGS,
        "--problems",
        str(problems_file),
        "--max-retries",
        "0",
        "--concurrency",
        "1",
    )
    code, _out, err = evaluate(*args)
    assert code == 1 and "1 sample(s) failed" in err
    assert stored(db_path, "SELECT status FROM eval_runs")["status"][0] == "incomplete"
    # The runs row says so too (it said ok before the stage contract).
    assert stored(db_path, "SELECT status FROM runs WHERE kind = 'eval'")["status"][0] == "incomplete"
    code, out, err = evaluate(*args)
    assert code == 0, err
    assert stored(db_path, "SELECT status, (SELECT count(*) FROM eval_samples) AS n FROM eval_runs").row(0) == ("ok", 3)


def test_credentials_in_the_base_url_are_not_stored(db_path: Path, server, problems_file: Path, evaluate) -> None:
    url = server.url.replace("http://", "http://someone:sk-EVAL-SECRET@")
    code, out, err = evaluate(
        "run", "--name", "creds", "--base-url", url, *ENDPOINT_FLAGS, "--problems", str(problems_file), "--samples", "1"
    )
    assert code == 0, err
    everything = " ".join(
        stored(db_path, "SELECT coalesce(config, '') || coalesce(base_url, '') AS t FROM eval_runs")["t"].to_list()
        + stored(db_path, "SELECT config || coalesce(error, '') AS t FROM runs")["t"].to_list()
    )
    assert "EVAL-SECRET" not in everything and "someone" not in everything
    assert "sk-EVAL-SECRET" not in out + err


def test_one_problem_file_from_two_folders_is_one_problem_set(
    db_path: Path, server, problems_file: Path, tmp_path: Path, evaluate, monkeypatch
) -> None:
    # The same file, given once by its absolute path and once relative to another working directory.
    monkeypatch.chdir(problems_file.parent)
    for name, spec in (("first", str(problems_file)), ("second", problems_file.name)):
        code, _out, err = evaluate(
            "run",
            "--name",
            name,
            "--label",
            name,
            "--base-url",
            server.url,
            *ENDPOINT_FLAGS,
            "--problems",
            spec,
            "--samples",
            "4",
            "--db",
            str(db_path),
        )
        assert code == 0, err
    from eval.report import build_report

    report = build_report(db_path, ["first", "second"])
    (identity,) = {s.problems_spec for s in report.stats}  # the problems' source/split, whatever path was typed
    with open_store(db_path, read_only=True) as store:
        assert identity == "{}/-".format(store.scalar("SELECT DISTINCT source FROM problems"))
    header = next(line for line in report.markdown.splitlines() if line.startswith("| model |"))
    assert header == f"| model | {identity} pass@1 % |"
