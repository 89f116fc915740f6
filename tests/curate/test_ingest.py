"""`curate ingest`: the public sets load with the right counts and golds; bad files exit 2 and
leave the store as it was."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.ingest import IngestConfig, last_boxed
from curate.sources import default_source, make_problem_id, normalise_question, question_hash
from curate.stages import run_stage
from db import BadInput, open_store

runner = CliRunner()

# (path under tests/data/public, source name derived from it, problems)
PUBLIC_SETS = [
    ("simpleRL-reason/math500/test.jsonl", "math500/test", 500),
    ("Qwen2.5-Math/aime24/test.jsonl", "aime24/test", 30),
    ("QwQ/aime24.jsonl", "QwQ/aime24", 30),
    ("QwQ/aime25.jsonl", "QwQ/aime25", 30),
    ("Qwen2.5-Math/amc23/test.jsonl", "amc23/test", 40),
    ("grade-school-math/test.jsonl", "grade-school-math/test", 1319),
    ("Qwen2.5-Math/olympiadbench/test.jsonl", "olympiadbench/test", 675),
    ("Qwen2.5-Math/minerva_math/test.jsonl", "minerva_math/test", 272),
]


def ingest(*args: str):
    return runner.invoke(app, ["ingest", *args])


def store_counts(db_path: Path) -> tuple[int, int]:
    with open_store(db_path, read_only=True) as store:
        return store.scalar("SELECT count(*) FROM problems"), store.scalar("SELECT count(*) FROM runs")


def problem(db_path: Path, problem_id: str) -> dict:
    with open_store(db_path, read_only=True) as store:
        rows = store.query("SELECT * FROM problems WHERE problem_id = ?", [problem_id]).to_dicts()
    assert rows, f"{problem_id} not stored"
    return rows[0]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


# ---- the public sets -------------------------------------------------------------------------


def test_every_public_set_loads_with_its_row_count(db_path: Path, shared_data: Path):
    for relative, source, expected in PUBLIC_SETS:
        result = ingest(str(shared_data / relative), "--db", str(db_path), "--split", "test")
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith(f"{source}: ") and f"added {expected}," in result.stdout
    with open_store(db_path, read_only=True) as store:
        counts = dict(store.query("SELECT source, count(*) AS n FROM problems GROUP BY source").iter_rows())
        assert store.scalar("SELECT count(*) FROM problems WHERE gold_answer IS NULL OR gold_answer = ''") == 0
        assert store.scalar("SELECT count(*) FROM runs WHERE kind = 'ingest' AND status = 'ok'") == len(PUBLIC_SETS)
        assert store.scalar("SELECT count(DISTINCT split) FROM problems") == 1
    assert counts == {source: expected for _, source, expected in PUBLIC_SETS}


def test_ingesting_math500_twice_adds_nothing(db_path: Path, shared_data: Path):
    path = str(shared_data / "simpleRL-reason/math500/test.jsonl")
    assert ingest(path, "--db", str(db_path)).exit_code == 0
    again = ingest(path, "--db", str(db_path))
    assert again.exit_code == 0, again.output
    assert "added 0, unchanged 500, changed 0" in again.stdout
    assert store_counts(db_path) == (500, 2)


def test_public_set_conventions_give_the_right_gold(db_path: Path, shared_data: Path):
    for relative, _, _ in PUBLIC_SETS:
        run_stage("ingest", db_path, IngestConfig(shared_data / relative))
    math500 = problem(db_path, "math500/test:test/precalculus/807.json")
    assert math500["gold_answer"] == "\\left( 3, \\frac{\\pi}{2} \\right)"
    assert math500["difficulty"] == "2"
    assert {"level", "subject", "solution"} <= set(json.loads(math500["meta"]))
    assert problem(db_path, "aime24/test:60")["gold_answer"] == "204"
    assert problem(db_path, "amc23/test:0")["gold_answer"] == "27"  # 27.0 in the file
    assert problem(db_path, "olympiadbench/test:1606")["gold_answer"] == "2"  # ["2"] in the file
    assert problem(db_path, "minerva_math/test:0")["gold_answer"] == "1.6"  # last \boxed{} of the solution
    with open_store(db_path, read_only=True) as store:
        janet = store.query(
            "SELECT * FROM problems WHERE source = 'grade-school-math/test' AND question LIKE 'Janet%ducks%'"
        ).to_dicts()[0]
        qwq = store.query(
            "SELECT question FROM problems WHERE source = 'QwQ/aime24' AND question LIKE 'Every morning Aya%'"
        ).item()
    assert janet["gold_answer"] == "18"  # the text after ####
    assert janet["problem_id"] == make_problem_id("grade-school-math/test", None, janet["question"])
    assert janet["problem_id"].startswith("grade-school-math/test:q")
    assert "#### 18" in json.loads(janet["meta"])["answer"]
    assert qwq.endswith("Please reason step by step, and put your final answer within \\boxed{}.")  # nothing stripped


def test_question_hash_ignores_case_and_spacing():
    assert normalise_question("  What is\n\n2 +  2?\t") == "what is 2 + 2?"
    assert question_hash("What is 2+2?") == question_hash("what  is\n2+2?")
    assert question_hash("What is 2+2?") != question_hash("What is 2+3?")


def test_default_source_is_folder_and_stem():
    assert default_source(Path("/data/math500/test.jsonl")) == "math500/test"
    assert default_source(Path("/x/my sets/a:b.csv")) == "my_sets/a_b"


def test_last_boxed_balances_nested_braces():
    assert last_boxed("so \\boxed{1} no, \\boxed{\\frac{1}{2}} m") == "\\frac{1}{2}"
    assert last_boxed("no box") is None
    assert last_boxed("\\boxed{unclosed") is None


# ---- other formats and explicit fields -------------------------------------------------------


def test_csv_with_explicit_fields_and_section_year(db_path: Path, tmp_path: Path):
    path = tmp_path / "obryan.csv"
    path.write_text('num,Q,A,round,yr\n1,"What is 1+1?",2,individual,2019\n2,"Find x, if 2x=6.",3,speed,2020\n')
    result = ingest(
        str(path),
        "--db",
        str(db_path),
        "--source",
        "obryan",
        "--split",
        "train",
        "--id-field",
        "num",
        "--question-field",
        "Q",
        "--answer-field",
        "A",
        "--section-field",
        "round",
        "--year-field",
        "yr",
    )
    assert result.exit_code == 0, result.output
    row = problem(db_path, "obryan:2")
    assert (row["question"], row["gold_answer"], row["section"], row["year"], row["split"]) == (
        "Find x, if 2x=6.",
        "3",
        "speed",
        2020,
        "train",
    )


def test_parquet_and_json_array(db_path: Path, tmp_path: Path):
    frame = pl.DataFrame(
        {"problem": ["What is 3*3?", "What is 4*4?"], "answer": [9, 16], "level": ["Level 1", "Level 2"]}
    )
    frame.write_parquet(tmp_path / "squares.parquet")
    (tmp_path / "cubes.json").write_text(json.dumps([{"question": "What is 2^3?", "answer": "8"}]))
    assert ingest(str(tmp_path / "squares.parquet"), "--db", str(db_path)).exit_code == 0
    assert ingest(str(tmp_path / "cubes.json"), "--db", str(db_path)).exit_code == 0
    with open_store(db_path, read_only=True) as store:
        golds = dict(store.query("SELECT question, gold_answer FROM problems").iter_rows())
    assert golds == {"What is 3*3?": "9", "What is 4*4?": "16", "What is 2^3?": "8"}


def test_olympiad_context_is_prefixed_and_answers_joined(db_path: Path, tmp_path: Path):
    path = write_jsonl(
        tmp_path / "ob.jsonl",
        [
            {"id": 7, "context": "Let f(x) = x^2.", "question": "Find f(2) and f(3).", "final_answer": ["4", "9"]},
            {"id": 8, "context": None, "question": "Find 1+1.", "final_answer": ["2"]},
        ],
    )
    assert ingest(str(path), "--db", str(db_path), "--source", "ob").exit_code == 0
    assert problem(db_path, "ob:7")["question"] == "Let f(x) = x^2.\n\nFind f(2) and f(3)."
    assert problem(db_path, "ob:7")["gold_answer"] == "4, 9"
    assert problem(db_path, "ob:8")["question"] == "Find 1+1."


# ---- changed gold answers --------------------------------------------------------------------


def test_changed_gold_is_reported_and_kept_until_update(db_path: Path, tmp_path: Path):
    path = write_jsonl(
        tmp_path / "set.jsonl",
        [{"id": 1, "problem": "1+1?", "answer": "2"}, {"id": 2, "problem": "2+2?", "answer": "4"}],
    )
    assert ingest(str(path), "--db", str(db_path), "--source", "s").exit_code == 0
    write_jsonl(
        path,
        [
            {"id": 1, "problem": "1+1?", "answer": "2"},
            {"id": 2, "problem": "2+2?", "answer": "5"},
            {"id": 3, "problem": "3+3?", "answer": "6"},
        ],
    )
    result = ingest(str(path), "--db", str(db_path), "--source", "s")
    assert result.exit_code == 0, result.output
    assert "added 1, unchanged 1, changed 1" in result.stdout
    assert "s:2" in result.stderr and "'4' -> '5'" in result.stderr
    assert problem(db_path, "s:2")["gold_answer"] == "4"
    updated = ingest(str(path), "--db", str(db_path), "--source", "s", "--update")
    assert updated.exit_code == 0, updated.output
    assert "updated 1" in updated.stdout
    assert problem(db_path, "s:2")["gold_answer"] == "5"
    assert store_counts(db_path) == (3, 3)


def test_a_gold_changed_by_ingest_update_makes_the_verdicts_of_its_samples_pending(db_path: Path, tmp_path: Path):
    path = write_jsonl(tmp_path / "set.jsonl", [{"id": 1, "problem": "1+1?", "answer": "2"}])
    assert ingest(str(path), "--db", str(db_path), "--source", "s").exit_code == 0
    sample = {"sample_id": "x", "problem_id": "s:1", "model": "m", "params_hash": "h", "sample_index": 0}
    with open_store(db_path) as store:
        store.insert_rows("samples", [{**sample, "content": "\\boxed{2}", "status": "ok"}])
    assert runner.invoke(app, ["verify", "--db", str(db_path), "--workers", "1"]).exit_code == 0
    current = "SELECT verdict FROM verdict_current WHERE sample_id = 'x'"
    with open_store(db_path, read_only=True) as store:
        assert store.scalar(current) == "correct"
    write_jsonl(path, [{"id": 1, "problem": "1+1?", "answer": "3"}])
    assert ingest(str(path), "--db", str(db_path), "--source", "s", "--update").exit_code == 0
    with open_store(db_path, read_only=True) as store:
        assert store.scalar(current) is None  # the verdict was for the old gold
    assert runner.invoke(app, ["verify", "--db", str(db_path), "--workers", "1"]).exit_code == 0
    with open_store(db_path, read_only=True) as store:
        assert store.scalar(current) == "incorrect"


def test_duplicate_rows_in_one_file_are_skipped(db_path: Path, tmp_path: Path):
    path = write_jsonl(
        tmp_path / "dup.jsonl", [{"question": "Same?", "answer": "1"}, {"question": "same?  ", "answer": "1"}]
    )
    result = ingest(str(path), "--db", str(db_path))
    assert result.exit_code == 0, result.output
    assert "added 1" in result.stdout and "duplicates skipped 1" in result.stdout


def test_no_gold_flag_allows_consensus_sets(db_path: Path, tmp_path: Path):
    path = write_jsonl(tmp_path / "open.jsonl", [{"question": "Open problem?"}])
    assert ingest(str(path), "--db", str(db_path)).exit_code == 2
    assert ingest(str(path), "--db", str(db_path), "--no-gold").exit_code == 0
    with open_store(db_path, read_only=True) as store:
        assert store.scalar("SELECT gold_answer IS NULL FROM problems") is True


# ---- bad input: exit 2, file/line/field named, store unchanged -------------------------------


def bad_files(tmp_path: Path) -> dict[str, tuple[Path, list[str], list[str]]]:
    """name -> (file, extra flags, words the message must contain)."""
    good = {"question": "q?", "answer": "1"}
    files = {}
    path = tmp_path / "malformed.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(good) + '\n{"question": "q", "answer": \n')
    files["malformed_json_line_3"] = (path, [], ["malformed.jsonl:3", "malformed JSON"])
    files["no_question_field"] = (
        write_jsonl(tmp_path / "noq.jsonl", [{"text": "q?", "answer": "1"}]),
        [],
        ["noq.jsonl:1", "field 'question'", "--question-field"],
    )
    files["question_missing_on_line_2"] = (
        write_jsonl(tmp_path / "hole.jsonl", [good, {"question": None, "answer": "2"}]),
        [],
        ["hole.jsonl:2", "field 'question'"],
    )
    files["no_answer_field"] = (
        write_jsonl(tmp_path / "noa.jsonl", [{"question": "q?"}]),
        [],
        ["noa.jsonl", "field 'answer'"],
    )
    files["answer_missing_on_line_2"] = (
        write_jsonl(tmp_path / "noa2.jsonl", [good, {"question": "r?", "answer": ""}]),
        [],
        ["noa2.jsonl:2", "field 'answer'"],
    )
    files["explicit_field_absent"] = (
        write_jsonl(tmp_path / "flag.jsonl", [good]),
        ["--question-field", "prompt_text"],
        ["flag.jsonl:1", "field 'prompt_text'"],
    )
    (tmp_path / "empty.jsonl").write_text("\n\n")
    files["empty_file"] = (tmp_path / "empty.jsonl", [], ["empty.jsonl", "empty"])
    (tmp_path / "model.jsonl").write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)))
    files["binary_file"] = (tmp_path / "model.jsonl", [], ["model.jsonl", "binary"])
    (tmp_path / "notes.txt").write_text("question: what is 1+1\n")
    files["unknown_format"] = (tmp_path / "notes.txt", [], ["notes.txt", "--format"])
    files["bad_format_flag"] = (write_jsonl(tmp_path / "ok.jsonl", [good]), ["--format", "xml"], ["--format", "xml"])
    files["bad_split"] = (write_jsonl(tmp_path / "ok2.jsonl", [good]), ["--split", "holdout"], ["--split"])
    path = tmp_path / "ragged.csv"
    path.write_text('question,answer\n"a?",1\n"b?",2,extra\n')
    files["csv_extra_column_line_3"] = (path, [], ["ragged.csv:3", "columns"])
    (tmp_path / "fake.parquet").write_text("not parquet at all\n")
    files["not_parquet"] = (tmp_path / "fake.parquet", [], ["fake.parquet", "Parquet"])
    files["missing_file"] = (tmp_path / "nowhere.jsonl", [], ["nowhere.jsonl", "no such file"])
    return files


BAD_CASES = [
    "malformed_json_line_3",
    "no_question_field",
    "question_missing_on_line_2",
    "no_answer_field",
    "answer_missing_on_line_2",
    "explicit_field_absent",
    "empty_file",
    "binary_file",
    "unknown_format",
    "bad_format_flag",
    "bad_split",
    "csv_extra_column_line_3",
    "not_parquet",
    "missing_file",
]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_exits_2_and_leaves_the_store_unchanged(case: str, db_path: Path, tmp_path: Path, shared_data: Path):
    assert ingest(str(shared_data / "QwQ/aime25.jsonl"), "--db", str(db_path)).exit_code == 0
    before = store_counts(db_path)
    path, flags, words = bad_files(tmp_path)[case]
    result = ingest(str(path), "--db", str(db_path), *flags)
    assert result.exit_code == 2, result.output
    message = " ".join(result.stderr.split())
    for word in words:
        assert word in message, message
    assert store_counts(db_path) == before


def test_bad_input_raises_from_the_function_too(db_path: Path, tmp_path: Path):
    path = write_jsonl(tmp_path / "x.jsonl", [{"question": "q?"}])
    with pytest.raises(BadInput) as caught:
        run_stage("ingest", db_path, IngestConfig(path))
    assert caught.value.field == "answer" and caught.value.line == 1


# ---- duplicate ids that disagree (issue 13) --------------------------------------------------------


@pytest.mark.parametrize("ids", [("1", "1.0"), ("1", '"1"'), ('"1"', "1.0")])
def test_duplicate_ids_with_different_gold_exit_2_naming_both_lines(db_path: Path, tmp_path: Path, ids):
    path = tmp_path / "dup.jsonl"
    path.write_text(
        f'{{"id": {ids[0]}, "problem": "What is 1+1?", "answer": "2"}}\n'
        f'{{"id": 7, "problem": "What is 3+3?", "answer": "6"}}\n'
        f'{{"id": {ids[1]}, "problem": "What is 1+1?", "answer": "3"}}\n'
    )
    result = runner.invoke(app, ["ingest", str(path), "--db", str(db_path)])
    assert result.exit_code == 2, result.output
    assert "dup.jsonl:3" in result.output and "line 1" in result.output and "gold answer" in result.output
    with open_store(db_path, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM problems") == 0
    kept = runner.invoke(app, ["ingest", str(path), "--db", str(db_path), "--on-duplicate", "first"])
    assert kept.exit_code == 0, kept.output
    with open_store(db_path, read_only=True) as store:
        assert store.scalar("SELECT gold_answer FROM problems WHERE source_id = '1'") == "2"


def test_duplicate_ids_with_a_different_question_exit_2_and_identical_rows_are_only_counted(
    db_path: Path, tmp_path: Path
):
    path = tmp_path / "dup.jsonl"
    path.write_text(
        '{"id": 1, "problem": "What is 1+1?", "answer": "2"}\n{"id": 1, "problem": "What is 5+5?", "answer": "2"}\n'
    )
    result = runner.invoke(app, ["ingest", str(path), "--db", str(db_path)])
    assert result.exit_code == 2 and "different question" in result.output
    path.write_text('{"id": 1, "problem": "What is 1+1?", "answer": "2"}\n' * 2)
    same = runner.invoke(app, ["ingest", str(path), "--db", str(db_path)])
    assert same.exit_code == 0 and "duplicates skipped 1" in same.output


def test_a_2000_deep_json_value_is_refused_naming_file_and_line_and_creates_no_store(tmp_path: Path):
    # Before: exit 1 with a bare RecursionError and an empty store file left behind.
    deep = "[" * 2000 + "]" * 2000
    path = tmp_path / "p.jsonl"
    path.write_text(
        json.dumps({"question": "What is 1+1?", "answer": "2"})
        + "\n"
        + '{"question": "q", "answer": "1", "extra": '
        + deep
        + "}\n"
    )
    db = tmp_path / "s.duckdb"
    result = CliRunner().invoke(app, ["ingest", str(path), "--db", str(db)])
    assert result.exit_code == 2
    assert f"{path}:2" in result.output and "nested too deeply" in result.output
    assert not db.exists()
    array = tmp_path / "p.json"
    array.write_text("[" + deep[:1000] + deep[1000:] + "]")
    result = CliRunner().invoke(app, ["ingest", str(array), "--db", str(db)])
    assert result.exit_code == 2 and "nested too deeply" in result.output and not db.exists()


def test_a_store_on_a_full_disk_exits_1_saying_so_and_stays_as_it_was(small_disk: Path, tmp_path: Path):
    # issue 26 item 11: the other writers follow the same rule as import-samples.
    import base64
    import random

    db = small_disk / "traces.duckdb"
    seed = tmp_path / "seed.jsonl"
    seed.write_text(json.dumps({"problem": "What is 1+1?", "answer": "2"}) + "\n")
    assert ingest(str(seed), "--db", str(db)).exit_code == 0
    before = store_counts(db)
    pick = random.Random(0)
    big = tmp_path / "big.jsonl"
    big.write_text(
        "".join(
            json.dumps({"problem": base64.b64encode(pick.randbytes(15_000)).decode(), "answer": str(i)}) + "\n"
            for i in range(200)
        )
    )
    result = ingest(str(big), "--db", str(db))
    assert result.exit_code == 1, result.output
    message = " ".join(result.stderr.split())
    assert f"the disk is full while writing {small_disk}" in message and "big.jsonl" not in message, message
    assert store_counts(db)[0] == before[0]
