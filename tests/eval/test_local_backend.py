"""`evaluate run` with local transformers generation: a random tiny Llama (fast) and the bundled
SmolLM2 model (slow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from db import open_store
from eval.run import EvalConfig, EvalRunResult, run as run_eval
from tests.random_model import build_random_adapter, build_random_model


def eval_runs(db_path: Path, config: EvalConfig) -> list[EvalRunResult]:
    """`evaluate run` as the CLI calls it: the store open around the stage."""
    with open_store(db_path) as store:
        return run_eval(store, config).runs


@pytest.fixture(scope="module")
def random_model_dir(tmp_path_factory: pytest.TempPathFactory, tiny_model_gguf: Path) -> Path:
    return build_random_model(tmp_path_factory.mktemp("random-llama"), tiny_model_gguf)


def test_local_run_stores_every_sample_and_resumes(
    db_path: Path, problems_file: Path, random_model_dir: Path, evaluate
) -> None:
    args = (
        "run",
        "--name",
        "local",
        "--model",
        str(random_model_dir),
        "--problems",
        str(problems_file),
        "--samples",
        "2",
        "--max-tokens",
        "8",
        "--batch-size",
        "4",
        "--device",
        "cpu",
    )
    code, out, err = evaluate(*args)
    assert code == 0, err
    with open_store(db_path, read_only=True) as store:
        rows = store.query(
            "SELECT finish_reason, completion_tokens, prompt_tokens, words, length_tokens, verdict FROM eval_samples"
        )
        backend = store.scalar("SELECT backend FROM eval_runs")
    assert backend == "local" and rows.height == 6
    assert set(rows["finish_reason"]) <= {"stop", "length"}
    assert rows["completion_tokens"].max() <= 8 and rows["prompt_tokens"].min() > 0
    assert rows["length_tokens"].null_count() == 0
    # a random model answers nothing a verifier accepts
    assert set(rows["verdict"]) <= {"no_answer", "incorrect", "unparseable"}
    code, out, err = evaluate(*args)
    assert code == 0 and "| local | math | 3 | 6 |" in out and "| 0 | 0 |" in out  # nothing new, nothing missing


def test_local_run_with_adapter(db_path: Path, problems_file: Path, random_model_dir: Path, tmp_path: Path) -> None:
    adapter = build_random_adapter(tmp_path / "adapter", random_model_dir)
    config = EvalConfig(
        name="tuned",
        model=str(random_model_dir),
        adapter=str(adapter),
        problems=str(problems_file),
        limit=1,
        max_tokens=4,
        device="cpu",
        progress=False,
    )
    [result] = eval_runs(db_path, config)
    assert (result.samples, result.missing) == (1, 0)
    with open_store(db_path, read_only=True) as store:
        assert store.scalar("SELECT adapter FROM eval_runs") == str(adapter)


@pytest.mark.slow
def test_tiny_real_model_solves_an_easy_problem(db_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "easy.jsonl"
    path.write_text('{"id": 1, "question": "What is 2+3?", "answer": "5"}\n')
    # SmolLM2-135M rambles under the default template; asked for the bare result it says "2 + 3 = 5".
    template = tmp_path / "short.txt"
    template.write_text("{question} Reply with the final answer in the form \\boxed{{N}}.")
    config = EvalConfig(
        name="tiny",
        model="tiny",
        problems=str(path),
        samples=2,
        temperature=0.0,
        max_tokens=64,
        prompt_template=str(template),
        device="cpu",
        progress=False,
    )
    [result] = eval_runs(db_path, config)
    assert result.samples == 2
    with open_store(db_path, read_only=True) as store:
        answers = store.query("SELECT content, answer, verdict, finish_reason FROM eval_samples ORDER BY sample_index")
    # greedy decoding: both samples are the same text, and it ends in the right number
    assert answers["content"][0] == answers["content"][1]
    assert answers["finish_reason"].to_list() == ["stop", "stop"]
    assert answers["answer"].to_list() == ["5", "5"]
    assert answers["verdict"].to_list() == ["correct", "correct"]
    assert result.pass_at_1.mean == 1.0


def test_continuous_engine_stores_the_batched_engines_answers_at_temperature_0(
    tmp_path: Path, problems_file: Path, random_model_dir: Path, evaluate
) -> None:
    contents = {}
    for engine in ("batched", "continuous"):
        db = tmp_path / f"{engine}.duckdb"
        open_store(db).close()
        code, out, err = evaluate(
            "run", "--name", engine, "--model", str(random_model_dir), "--problems", str(problems_file),
            "--max-tokens", "8", "--temperature", "0", "--batch-size", "4", "--device", "cpu",
            "--local-engine", engine, "--db", str(db),
        )  # fmt: skip
        assert code == 0, err
        with open_store(db, read_only=True) as store:
            contents[engine] = store.query(
                "SELECT problem_id, content, reasoning, completion_tokens FROM eval_samples ORDER BY problem_id"
            ).rows()
    assert contents["continuous"] == contents["batched"] and len(contents["batched"]) == 3


def test_unknown_local_engine_exits_2(problems_file: Path, evaluate) -> None:
    code, out, err = evaluate(
        "run", "--name", "x", "--model", "tiny", "--problems", str(problems_file), "--local-engine", "paged"
    )
    assert code == 2 and "--local-engine" in err
