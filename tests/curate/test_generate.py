"""`curate generate` against the local OpenAI-compatible server over real HTTP."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curate.cli import app, main
from curate.generate import GenerateConfig, generation_params, params_hash, sample_id
from curate.prompts import DEFAULT_TEMPLATE, render_prompt
from curate.stages import run_stage
from curate.testing.openai_server import OpenAIServer
from db import open_store
from tests.curate.openai_helpers import add_problems, free_port, start_generate

MODEL = "deepseek-reasoner"


@pytest.fixture
def server():
    with OpenAIServer(retry_after_s=0.4) as running:
        yield running


def fast(server: OpenAIServer, **overrides) -> GenerateConfig:
    """A config for tests: this server, short backoff, no live display."""
    settings = dict(
        model=MODEL,
        base_urls=(server.base_url,),
        samples=1,
        concurrency=4,
        max_tokens=4000,
        backoff_s=0.01,
        max_retries=3,
        progress=False,
    )
    settings.update(overrides)
    return GenerateConfig(**settings)


def samples(db_path: Path, sql: str = "SELECT * FROM samples ORDER BY problem_id, sample_index"):
    with open_store(db_path, read_only=True) as store:
        return store.query(sql)


def value(store, sql: str, params=None):
    """One value; store.query fetches the whole result, so the connection stays usable."""
    return store.query(sql, params).item()


def one_problem(db_path: Path, question: str) -> str:
    add_problems(db_path, 1, question=lambda i: question)
    return render_prompt(question, DEFAULT_TEMPLATE)


# -- what is stored --------------------------------------------------------------------------


def test_cli_stores_reasoning_content_prompt_usage_cost_and_run(db_path, server):
    ids = add_problems(db_path, 3)
    result = CliRunner().invoke(
        app,
        [
            "generate",
            "--model",
            MODEL,
            "--base-url",
            server.base_url,
            "--samples",
            "2",
            "--no-progress",
            "--price-in",
            "1",
            "--price-out",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    frame = samples(db_path)
    assert frame.height == 6 and set(frame["problem_id"]) == set(ids)
    assert set(frame["status"]) == {"ok"} and set(frame["finish_reason"]) == {"stop"}
    row = frame.row(0, named=True)
    with open_store(db_path, read_only=True) as store:
        question = value(store, "SELECT question FROM problems WHERE problem_id = ?", [row["problem_id"]])
    assert row["prompt"] == render_prompt(question, DEFAULT_TEMPLATE)
    assert row["reasoning"].startswith("Let me work through") and "<think>" not in row["reasoning"]
    assert row["content"].endswith("$\\boxed{1}$.")
    assert row["prompt_tokens"] > 0 and row["completion_tokens"] > row["reasoning_tokens"] > 0
    assert row["cost_usd"] == pytest.approx((row["prompt_tokens"] * 1 + row["completion_tokens"] * 2) / 1e6)
    assert row["endpoint"] == server.base_url and row["latency_s"] > 0
    assert frame["sample_index"].to_list() == [0, 1] * 3
    with open_store(db_path, read_only=True) as store:
        run = store.query("SELECT * FROM runs WHERE kind = 'generate'").row(0, named=True)
    assert run["status"] == "ok" and '"ok": 6' in run["counts"]


@pytest.mark.parametrize("style", ["inline", "reasoning"])
def test_inline_think_and_vllm_reasoning_field_are_split_from_content(db_path, style):
    add_problems(db_path, 2)
    with OpenAIServer(reasoning_style=style) as server:
        run_stage("generate", db_path, fast(server))
    frame = samples(db_path)
    assert set(frame["status"]) == {"ok"}
    for reasoning, content in zip(frame["reasoning"], frame["content"]):
        assert reasoning.startswith("Let me work through") and "think>" not in reasoning
        assert content.startswith("Putting the steps together") and "think>" not in content


def test_sample_identity_ignores_endpoint_and_concurrency_but_not_temperature(db_path, server):
    ids = add_problems(db_path, 2)
    run_stage("generate", db_path, fast(server, samples=2))
    with OpenAIServer() as other:
        again = run_stage("generate", db_path, fast(other, samples=2, concurrency=1, budget_usd=5.0))
        assert again.planned == 0 and again.already_done == 4 and other.requests == 0
    hotter = run_stage("generate", db_path, fast(server, samples=2, temperature=0.9))
    assert hotter.planned == 4
    config = fast(server, samples=2)
    digest = params_hash(generation_params(config, DEFAULT_TEMPLATE))
    with open_store(db_path, read_only=True) as store:
        assert (
            value(store, "SELECT count(*) FROM samples WHERE sample_id = ?", [sample_id(ids[0], MODEL, digest, 1)]) == 1
        )
        assert value(store, "SELECT count(DISTINCT params_hash) FROM samples") == 2


# -- retry rules -----------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["server_error", "malformed", "empty", "disconnect"])
def test_transient_fault_is_retried_and_the_sample_stored_once(db_path, server, fault):
    prompt = one_problem(db_path, f"What is 2+2? [[answer: 4]] [[fault: {fault}*2]]")
    summary = run_stage("generate", db_path, fast(server))
    frame = samples(db_path)
    assert frame["status"].to_list() == ["ok"] and frame["content"][0].endswith("\\boxed{4}$.")
    assert server.prompts_seen()[prompt] == 3 and summary.retries == 2


def test_429_waits_for_retry_after_before_retrying(db_path, server):
    prompt = one_problem(db_path, "What is 3+3? [[answer: 6]] [[fault: rate_limit*1]]")
    run_stage("generate", db_path, fast(server))
    arrivals = [record.at for record in server.log if record.prompt == prompt]
    assert len(arrivals) == 2
    assert arrivals[1] - arrivals[0] >= server.retry_after_s
    assert samples(db_path)["status"].to_list() == ["ok"]


def test_hung_connection_times_out_and_is_retried(db_path, server):
    prompt = one_problem(db_path, "What is 5+5? [[answer: 10]] [[fault: hang*1]]")
    run_stage("generate", db_path, fast(server, timeout_s=0.5))
    assert server.prompts_seen()[prompt] == 2
    assert samples(db_path)["status"].to_list() == ["ok"]


def test_length_finish_is_truncated_kept_and_never_retried(db_path, server):
    prompt = one_problem(db_path, "Think forever. [[answer: 1]] [[fault: length]]")
    run_stage("generate", db_path, fast(server))
    run_stage("generate", db_path, fast(server))  # a rerun does not retry it either
    row = samples(db_path).row(0, named=True)
    assert row["status"] == "truncated" and row["finish_reason"] == "length"
    assert row["reasoning"] and not row["content"]
    assert server.prompts_seen()[prompt] == 1


def test_max_tokens_too_small_gives_truncated_samples(db_path, server):
    add_problems(db_path, 2)
    run_stage("generate", db_path, fast(server, max_tokens=20))
    frame = samples(db_path)
    assert set(frame["status"]) == {"truncated"} and set(frame["completion_tokens"]) == {20}


def test_empty_after_all_retries_is_final_status_empty(db_path, server):
    prompt = one_problem(db_path, "Say nothing. [[fault: empty]]")
    run_stage("generate", db_path, fast(server, max_retries=1))
    run_stage("generate", db_path, fast(server, max_retries=1))
    assert samples(db_path)["status"].to_list() == ["empty"]
    assert server.prompts_seen()[prompt] == 2  # one try and one retry, and nothing on the rerun


def test_failure_after_retries_is_an_error_row_retried_on_rerun(db_path, server):
    one_problem(db_path, "What is 1+1? [[answer: 2]] [[fault: server_error*3]]")
    first = run_stage("generate", db_path, fast(server, max_retries=1))
    row = samples(db_path).row(0, named=True)
    assert first.counts["error"] == 1 and row["status"] == "error" and "HTTP 500" in row["error"]
    # A run that leaves a failed sample is not ok (it was marked ok before the stage contract).
    assert first.status == "incomplete"
    second = run_stage("generate", db_path, fast(server, max_retries=1))
    frame = samples(db_path)
    assert second.status == "ok"
    with open_store(db_path, read_only=True) as store:
        statuses = store.query("SELECT status FROM runs WHERE kind = 'generate' ORDER BY started_at")["status"]
    assert statuses.to_list() == ["incomplete", "ok"]
    assert second.planned == 1 and frame.height == 1
    assert frame["status"].to_list() == ["ok"] and frame["error"].to_list() == [None]


def test_wrong_key_stops_the_run_with_exit_2(db_path, monkeypatch):
    """A refused key is bad input, exit 2 as in `evaluate run` (it was 1 here and 2 there)."""
    add_problems(db_path, 3)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-4c1d2e")
    with OpenAIServer(api_key="sk-right") as server:
        with pytest.raises(SystemExit) as stop:
            main(["generate", "--model", MODEL, "--base-url", server.base_url, "--no-progress"])
    assert stop.value.code == 2
    with open_store(db_path, read_only=True) as store:
        run = store.query("SELECT status, error FROM runs WHERE kind = 'generate'").row(0, named=True)
        assert value(store, "SELECT count(*) FROM samples") == 0
    assert run["status"] == "failed" and "HTTP 401" in run["error"]
    assert "4c1d2e" not in run["error"]  # the server echoed the key; it is not kept


def test_budget_without_a_price_is_bad_input(db_path, server):
    add_problems(db_path, 1)
    with pytest.raises(SystemExit) as stop:
        main(["generate", "--model", "some-unpriced-model", "--base-url", server.base_url, "--budget-usd", "1"])
    assert stop.value.code == 2


# -- budget, endpoints, keys -----------------------------------------------------------------


def test_budget_stops_sending_before_spend_passes_it(db_path, server):
    add_problems(db_path, 20)
    # Each sample costs about 100 completion tokens x $100/M = $0.01.
    summary = run_stage(
        "generate", db_path, fast(server, concurrency=2, price_in=0.0, price_out=100.0, budget_usd=0.05, max_tokens=150)
    )
    frame = samples(db_path)
    assert summary.status == "budget" and 0 < frame.height < 20
    assert frame["cost_usd"].sum() <= 0.05 + 1e-9
    with open_store(db_path, read_only=True) as store:
        assert value(store, "SELECT status FROM runs WHERE kind = 'generate'") == "budget"


def test_rpm_limit_spaces_requests_after_the_burst(db_path, server):
    add_problems(db_path, 24)
    run_stage("generate", db_path, fast(server, rpm=120))  # bursts of 20 (ten seconds' worth), then 2 a second
    arrivals = sorted(record.at for record in server.log)
    assert len(arrivals) == 24 and samples(db_path).height == 24
    assert arrivals[-1] - arrivals[0] >= 1.5  # four requests past the burst at 2 a second


def test_dead_endpoint_does_not_stop_the_live_one(db_path, server):
    add_problems(db_path, 12)
    dead = f"http://127.0.0.1:{free_port()}/v1"
    summary = run_stage(
        "generate", db_path, fast(server, base_urls=(dead, server.base_url), concurrency=4, backoff_s=0.2)
    )
    frame = samples(db_path)
    assert summary.counts["ok"] == 12 and set(frame["endpoint"]) == {server.base_url}


def test_hung_endpoint_does_not_stall_the_others(db_path, server):
    add_problems(db_path, 12)
    with OpenAIServer(fault_probability={"hang": 1.0}, hang_s=30) as stuck:
        summary = run_stage(
            "generate", db_path, fast(server, base_urls=(stuck.base_url, server.base_url), timeout_s=1.0)
        )
    assert summary.counts["ok"] == 12 and set(samples(db_path)["endpoint"]) == {server.base_url}


def test_api_key_never_reaches_the_store(db_path, server, tmp_path):
    add_problems(db_path, 3)
    key = "sk-test-UNMISTAKABLE-7f3a9c41"
    env = {**os.environ, "OPENAI_API_KEY": key, "CURATE_DB": str(db_path)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "curate",
            "generate",
            "--model",
            MODEL,
            "--base-url",
            server.base_url,
            "--samples",
            "2",
            "--no-progress",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"Bearer {key}" in server.authorizations  # the key was really used
    assert key not in done.stdout + done.stderr
    with open_store(db_path, read_only=True) as store:
        tables = store.query("SELECT table_name FROM information_schema.tables")["table_name"].to_list()
        for table in tables:
            dump = store.query(f'SELECT * FROM "{table}"').write_csv()
            assert key not in dump, table
    for path in db_path.parent.glob(db_path.name + "*"):
        assert key.encode() not in path.read_bytes(), path


# -- interruption and resume -----------------------------------------------------------------


def _start(db_path: Path, server: OpenAIServer, total_problems: int) -> subprocess.Popen:
    return start_generate(db_path, server.base_url, MODEL, "--samples", "4", "--concurrency", "8", "--no-progress")


def _wait_for_requests(server: OpenAIServer, count: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while server.requests < count:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_ctrl_c_then_kill_9_then_rerun_stores_every_sample_exactly_once(db_path):
    add_problems(db_path, 60)
    total = 240
    with OpenAIServer(latency_s=0.05) as server:
        # Ctrl-C: finished samples are kept and the run is marked interrupted.
        first = _start(db_path, server, total)
        _wait_for_requests(server, 40, first)
        time.sleep(0.3)
        first.send_signal(signal.SIGINT)
        _out, err = first.communicate(timeout=60)
        assert first.returncode == 130, err
        with open_store(db_path, read_only=True) as store:
            kept = value(store, "SELECT count(*) FROM samples")
            assert value(store, "SELECT status FROM runs ORDER BY started_at LIMIT 1") == "interrupted"
        assert kept >= 30
        # kill -9: answers already received are committed; only the requests in flight are lost.
        served_before = server.completed
        second = _start(db_path, server, total)
        _wait_for_requests(server, server.requests + 80, second)
        server.latency_s = 30.0  # from here on requests stay in flight
        time.sleep(1.5)  # three flush intervals
        finished_before_kill = server.completed - served_before
        second.kill()
        second.wait()
        server.latency_s = 0.05
        with open_store(db_path, read_only=True) as store:
            assert value(store, "SELECT count(*) FROM samples") == kept + finished_before_kill
        third = _start(db_path, server, total)
        third.communicate(timeout=120)
        assert third.returncode == 0
    with open_store(db_path, read_only=True) as store:
        assert value(store, "SELECT count(*) FROM samples") == total
        assert (
            value(
                store,
                "SELECT count(*) FROM (SELECT DISTINCT problem_id, model, params_hash, sample_index FROM samples)",
            )
            == total
        )
        assert value(store, "SELECT count(*) FROM samples WHERE status <> 'ok'") == 0
        statuses = store.query("SELECT status FROM runs WHERE kind = 'generate' ORDER BY started_at")[
            "status"
        ].to_list()
    assert statuses == ["interrupted", "interrupted", "ok"]  # the next writer saw the kill -9'd process gone


# -- the local backend -----------------------------------------------------------------------


@pytest.mark.slow
def test_local_backend_generates_offline_with_the_tiny_model(db_path, tiny_model_gguf):
    add_problems(db_path, 2, question=lambda i: f"What is {i} + 2?")
    args = [
        "generate",
        "--backend",
        "local",
        "--model",
        "tiny",
        "--samples",
        "2",
        "--max-tokens",
        "16",
        "--batch-size",
        "4",
        "--no-progress",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    frame = samples(db_path)
    assert frame.height == 4 and set(frame["endpoint"]) == {"local"} and set(frame["cost_usd"]) == {0.0}
    assert set(frame["status"]) <= {"ok", "truncated"} and set(frame["model"]) == {"SmolLM2-135M-Instruct-Q4_1"}
    assert all(tokens <= 16 for tokens in frame["completion_tokens"])
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0 and samples(db_path).height == 4


# -- work left undone is not ok (issue 13) ----------------------------------------------------


def test_failed_samples_make_the_run_incomplete_exit_1_and_stay_retryable(db_path, server):
    one_problem(db_path, "What is 1+1? [[answer: 2]] [[fault: server_error*3]]")
    args = [
        "generate",
        "--model",
        MODEL,
        "--base-url",
        server.base_url,
        "--samples",
        "1",
        "--no-progress",
        "--max-retries",
        "1",
        "--backoff",
        "0.01",
    ]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 1, first.output
    with open_store(db_path, read_only=True) as store:
        run = store.query("SELECT status, error FROM runs WHERE kind = 'generate'").row(0, named=True)
    assert run["status"] == "incomplete" and "1 samples failed" in run["error"]
    assert samples(db_path)["status"].to_list() == ["error"]
    second = CliRunner().invoke(app, args)
    assert second.exit_code == 0, second.output
    assert samples(db_path)["status"].to_list() == ["ok"]


def test_pipeline_does_not_mark_a_generate_stage_with_failures_done(tmp_path, server):
    from curate.pipeline import STAGE_RUN_KIND, parse_config, run_pipeline

    db = tmp_path / "run" / "traces.duckdb"
    problems = tmp_path / "p.jsonl"
    problems.write_text('{"id": 1, "problem": "What is 1+1? [[answer: 2]] [[fault: server_error*3]]", "answer": "2"}\n')
    # Credentials in the endpoint URL must not reach runs.config.
    url = server.base_url.replace("http://", "http://someone:sk-PIPE-SECRET@")
    config = parse_config(
        {
            "pipeline": {"db": str(db)},
            "problems": {"files": [{"path": str(problems), "source": "toy", "split": "train"}]},
            "generate": {"base_url": url, "model": MODEL, "samples": 1, "max_retries": 1, "backoff_s": 0.01},
        },
        source="test",
        run_dir=tmp_path / "run",
    )
    with pytest.raises(RuntimeError, match="failed"):
        run_pipeline(config)
    results = run_pipeline(config)  # the stage was not recorded done: it runs again and retries
    assert [r.status for r in results if r.name == "generate"] == ["ran"]
    with open_store(config.db, read_only=True) as store:
        assert store.query("SELECT status FROM samples")["status"].to_list() == ["ok"]
        stored = " ".join(store.query("SELECT config || coalesce(error, '') AS c FROM runs")["c"].to_list())
        stages = store.execute(
            "SELECT json_extract_string(config, '$.stage'), status FROM runs WHERE kind = ? ORDER BY started_at",
            [STAGE_RUN_KIND],
        ).fetchall()
    assert "sk-PIPE-SECRET" not in stored and "someone" not in stored
    assert ("generate", "failed") in stages and stages[-1] == ("generate", "ok")


def test_a_failed_run_names_the_cause_of_its_failures_with_a_count(db_path, server):
    # Before, a failed run said only "1 samples failed; rerun": no word of why.
    one_problem(db_path, "What is 1+1? [[answer: 2]] [[fault: server_error*3]]")
    args = ["generate", "--model", MODEL, "--base-url", server.base_url, "--samples", "1", "--no-progress"]
    result = CliRunner().invoke(app, [*args, "--max-retries", "1", "--backoff", "0.01"])
    assert result.exit_code == 1
    assert "1 samples failed" in result.output and "Causes:" in result.output
    assert re.search(r"1 x HTTP 500: .*internal error", result.output), result.output
    with open_store(db_path, read_only=True) as store:
        error = store.scalar("SELECT error FROM runs WHERE kind = 'generate'")
    assert re.search(r"1 samples failed \(1 x HTTP 500", error), error


def test_connection_refused_is_named_as_the_cause(db_path):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    one_problem(db_path, "What is 1+1?")
    args = ["generate", "--model", MODEL, "--base-url", f"http://127.0.0.1:{port}/v1", "--samples", "1"]
    result = CliRunner().invoke(app, [*args, "--no-progress", "--max-retries", "0", "--backoff", "0.01"])
    assert result.exit_code == 1
    assert "1 x connection error" in result.output, result.output


def test_the_store_can_be_read_while_generate_writes_and_other_writers_still_wait(db_path):
    # Before, generate held the file for its whole run: `curate sql` failed with "store is locked".
    add_problems(db_path, 40)
    env = {**os.environ, "CURATE_DB": str(db_path)}
    sql = [sys.executable, "-m", "curate", "sql", "SELECT count(*) AS n FROM samples"]
    with OpenAIServer(latency_s=0.3) as server:
        process = start_generate(
            db_path, server.base_url, MODEL, "--samples", "2", "--concurrency", "4", "--no-progress"
        )
        try:
            _wait_for_requests(server, 12, process)
            time.sleep(1.0)
            seen = subprocess.run([*sql, "--wait", "5"], env=env, capture_output=True, text=True, timeout=60)
            assert seen.returncode == 0, seen.stderr
            written = int(re.findall(r"\d+", seen.stdout)[-1])
            assert 0 < written < 80  # a live count, mid-run
            other = subprocess.run(  # a second writer is refused as before (no --wait here)
                [sys.executable, "-m", "curate", "verify", "--workers", "1"],
                env={**env, "CURATE_WAIT": "0"},
                capture_output=True,
                text=True,
                timeout=60,
            )
            # Refused either by the advisory writer lock or, caught mid-commit, by DuckDB's own lock.
            refused = ("held by process", "open for writing by process")
            assert other.returncode == 1 and any(why in other.stderr for why in refused), other.stderr
            assert process.wait(timeout=120) == 0, process.communicate()
        finally:
            process.kill()  # a failed assertion leaves no generate behind
    assert samples(db_path).height == 80
    assert not Path(str(db_path) + ".writer").exists()  # the writer lock goes with its holder


def test_local_engine_other_than_batched_or_continuous_exits_2(db_path):
    add_problems(db_path, 1)
    args = ["generate", "--backend", "local", "--model", "tiny", "--local-engine", "paged", "--no-progress"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "--local-engine" in result.stderr
    with open_store(db_path, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM samples") == 0
