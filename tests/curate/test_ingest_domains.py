"""`curate ingest` sets a problem's domain: HumanEval, MBPP and Spider load as they are shipped
(shared/data/code, shared/data/sql; SOURCES.md there), multiple-choice layouts get lettered
options and a letter gold, and a file whose fields do not fit its domain exits 2 naming file,
line and field with the store left as it was."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.prompts import lettered_options
from db import open_store
from tests.conftest import WORKSPACE_DATA

runner = CliRunner()
DATA = WORKSPACE_DATA
HUMANEVAL = DATA / "code" / "humaneval.jsonl"
MBPP = DATA / "code" / "mbpp.jsonl"
SPIDER = DATA / "sql" / "spider_dev_public.json"
SPIDER_DATABASES = DATA / "sql" / "database"


@pytest.fixture(autouse=True)
def _real_data() -> None:
    if not (HUMANEVAL.exists() and MBPP.exists() and SPIDER.exists()):
        pytest.skip(f"{DATA} (code and sql sets) not present")


def ingest(*args: str):
    return runner.invoke(app, ["ingest", *args])


def jsonl_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def problems(db_path: Path, where: str = "TRUE") -> dict[str, dict]:
    with open_store(db_path, read_only=True) as store:
        rows = store.query(f"SELECT * FROM problems WHERE {where} ORDER BY problem_id").to_dicts()
    return {row["problem_id"]: row for row in rows}


def counts(db_path: Path) -> tuple[int, int]:
    with open_store(db_path, read_only=True) as store:
        return store.scalar("SELECT count(*) FROM problems"), store.scalar("SELECT count(*) FROM runs")


def message(result) -> str:
    return " ".join(result.stderr.split())


# ---- code: HumanEval and MBPP as shipped -------------------------------------------------------


def test_humaneval_is_detected_and_stored_as_code_problems(db_path: Path):
    result = ingest(str(HUMANEVAL), "--db", str(db_path))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("code/humaneval: 164 rows of code problems; added 164,")
    stored = problems(db_path)
    records = jsonl_rows(HUMANEVAL)
    assert len(stored) == len(records) == 164
    for record in records:
        row = stored[f"code/humaneval:{record['task_id']}"]
        assert row["domain"] == "code" and row["source_id"] == record["task_id"]
        assert record["prompt"].strip("\n") in row["question"] and "```python" in row["question"]
        assert row["gold_answer"] == record["prompt"] + record["canonical_solution"]  # a whole program
        assert json.loads(row["meta"]) == record  # the code checker reads prompt, test and entry_point here


def test_mbpp_is_detected_and_asks_the_text_with_its_first_test(db_path: Path):
    result = ingest(str(MBPP), "--db", str(db_path), "--split", "test")
    assert result.exit_code == 0, result.output
    assert "399 rows of code problems; added 399," in result.stdout
    stored = problems(db_path)
    for record in jsonl_rows(MBPP):
        row = stored[f"code/mbpp:{record['task_id']}"]
        assert row["domain"] == "code" and row["split"] == "test"
        assert row["question"].startswith(record["text"].strip())
        assert f"Your code should pass these tests:\n\n{record['test_list'][0]}" in row["question"]
        assert record["test_list"][1] not in row["question"]
        assert row["gold_answer"] == record["code"]
        assert json.loads(row["meta"]) == record


def test_forced_code_domain_gives_what_detection_gives(db_path: Path, tmp_path: Path):
    assert ingest(str(HUMANEVAL), "--db", str(db_path)).exit_code == 0
    detected = problems(db_path)
    other = tmp_path / "forced.duckdb"
    assert ingest(str(HUMANEVAL), "--db", str(other), "--domain", "code").exit_code == 0
    forced = problems(other)
    keep = ("question", "gold_answer", "meta", "domain", "question_hash")
    assert {k: {c: v[c] for c in keep} for k, v in forced.items()} == {
        k: {c: v[c] for c in keep} for k, v in detected.items()
    }
    again = ingest(str(HUMANEVAL), "--db", str(db_path))
    assert again.exit_code == 0 and "added 0, unchanged 164, changed 0" in again.stdout


def test_the_code_checker_passes_the_stored_gold_against_the_stored_meta(db_path: Path):
    from curate.verify.code import CodeChecker
    from curate.verify.domains import Task
    from curate.verify.sandbox import SandboxUnavailable

    assert ingest(str(HUMANEVAL), "--db", str(db_path)).exit_code == 0
    assert ingest(str(MBPP), "--db", str(db_path)).exit_code == 0
    stored = list(problems(db_path).values())
    wrong_references = {"code/mbpp:Mbpp/164", "code/mbpp:Mbpp/295"}  # their own tests reject them (SOURCES.md)
    sample = [row for row in stored[::30] if row["problem_id"] not in wrong_references]
    items = [
        (
            Task(row["problem_id"], row["question"], row["gold_answer"], json.loads(row["meta"]), row["domain"]),
            f"```python\n{row['gold_answer']}\n```",
            "stop",
        )
        for row in sample
    ]
    checker = CodeChecker()
    try:
        verdicts = checker.check_many(items, workers=1, timeout=10)
    except SandboxUnavailable as error:
        pytest.skip(f"no isolation on this machine: {error}")
    finally:
        checker.close()
    assert {row["source"] for row in sample} == {"code/humaneval", "code/mbpp"}
    assert [v.verdict for v in verdicts] == ["correct"] * len(sample), [v.reason for v in verdicts]


# ---- sql: Spider with its databases ----------------------------------------------------------


def database_digests() -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in SPIDER_DATABASES.glob("*/*.sqlite")}


def test_spider_needs_databases_and_then_stores_question_schema_and_gold_query(db_path: Path):
    refused = ingest(str(SPIDER), "--db", str(db_path))
    assert refused.exit_code == 2, refused.output
    assert "field '--databases'" in message(refused) and "DB_ID/DB_ID.sqlite" in message(refused)
    assert counts(db_path) == (0, 0)
    before = database_digests()
    result = ingest(str(SPIDER), "--db", str(db_path), "--databases", str(SPIDER_DATABASES))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("sql/spider_dev_public: 261 rows of sql problems; added 261,")
    records = json.loads(SPIDER.read_text(encoding="utf-8"))
    stored = list(problems(db_path).values())
    assert len(stored) == 261 and {row["domain"] for row in stored} == {"sql"}
    by_meta = {(json.loads(row["meta"])["db_id"], json.loads(row["meta"])["question"]): row for row in stored}
    for record in records:
        row = by_meta[(record["db_id"], record["question"])]
        meta = json.loads(row["meta"])
        database = Path(meta.pop("database"))
        assert meta == record and row["gold_answer"] == record["query"]
        assert database.is_absolute() and database == (SPIDER_DATABASES / record["db_id"] / f"{record['db_id']}.sqlite")
        assert row["question"].startswith(record["question"]) and "```sql" in row["question"]
        assert "CREATE TABLE" in row["question"]
    concert = by_meta[("concert_singer", "How many singers do we have?")]["question"]
    for table in ("concert", "singer", "singer_in_concert", "stadium"):
        assert f'CREATE TABLE "{table}"' in concert
    assert database_digests() == before  # schemas are read, databases never written
    again = ingest(str(SPIDER), "--db", str(db_path), "--databases", str(SPIDER_DATABASES))
    assert again.exit_code == 0 and "added 0, unchanged 261, changed 0" in again.stdout


def test_spider_with_a_missing_database_exits_2_naming_line_and_db_id(db_path: Path, tmp_path: Path):
    records = json.loads(SPIDER.read_text(encoding="utf-8"))
    records[4] = {**records[4], "db_id": "no_such_db"}
    path = tmp_path / "spider.json"
    path.write_text(json.dumps(records), encoding="utf-8")
    result = ingest(str(path), "--db", str(db_path), "--databases", str(SPIDER_DATABASES), "--domain", "sql")
    assert result.exit_code == 2, result.output
    assert "spider.json:5, field 'db_id'" in message(result) and "no_such_db" in message(result)
    assert counts(db_path) == (0, 0)


def test_a_duckdb_database_gives_its_create_statements(db_path: Path, tmp_path: Path):
    folder = tmp_path / "dbs" / "shop"
    folder.mkdir(parents=True)
    con = duckdb.connect(str(folder / "shop.duckdb"))
    con.execute("CREATE TABLE item (item_id INTEGER PRIMARY KEY, price DOUBLE)")
    con.close()
    path = write_jsonl(
        tmp_path / "shop.jsonl",
        [{"db_id": "shop", "question": "How many items?", "query": "SELECT count(*) FROM item"}],
    )
    result = ingest(str(path), "--db", str(db_path), "--databases", str(tmp_path / "dbs"))
    assert result.exit_code == 0, result.output
    (row,) = problems(db_path).values()
    assert "CREATE TABLE item" in row["question"] and "DuckDB" in row["question"]
    assert json.loads(row["meta"])["database"] == str((folder / "shop.duckdb").resolve())


# ---- multiple choice ---------------------------------------------------------------------------


def test_choice_layouts_get_lettered_options_and_a_letter_gold(db_path: Path, tmp_path: Path):
    mmlu = write_jsonl(
        tmp_path / "mmlu.jsonl",
        [
            {"question": "Which is a prime?", "choices": ["4", "6", "7", "9"], "answer": 2, "subject": "math"},
            {"question": "Capital of France?", "choices": ["Rome", "Paris", "Oslo", "Bern"], "answer": 1},
        ],
    )
    pro = write_jsonl(
        tmp_path / "pro.jsonl",
        [{"question_id": 7, "question": "2+2?", "options": ["3", "4", "5"], "answer": "B", "answer_index": 1}],
    )
    lettered = write_jsonl(
        tmp_path / "lettered.jsonl",
        [{"id": "q1", "question": "Largest planet?\nA. Mars\nB) Jupiter\nC. Venus", "answer": "B"}],
    )
    assert ingest(str(mmlu), "--db", str(db_path), "--source", "mmlu").exit_code == 0
    assert ingest(str(pro), "--db", str(db_path), "--source", "pro", "--id-field", "question_id").exit_code == 0
    result = ingest(str(lettered), "--db", str(db_path), "--source", "let", "--domain", "choice")
    assert result.exit_code == 0, result.output
    stored = problems(db_path)
    assert {row["domain"] for row in stored.values()} == {"choice"}
    prime = next(row for row in stored.values() if row["question"].startswith("Which is a prime?"))
    assert prime["question"] == "Which is a prime?\n\nA. 4\nB. 6\nC. 7\nD. 9" and prime["gold_answer"] == "C"
    meta = json.loads(prime["meta"])
    assert meta["options"] == ["4", "6", "7", "9"] and meta["subject"] == "math" and meta["answer"] == 2
    assert next(iter(meta)) == "options"
    assert stored["pro:7"]["gold_answer"] == "B" and stored["pro:7"]["question"].endswith("A. 3\nB. 4\nC. 5")
    assert stored["let:q1"]["gold_answer"] == "B"
    assert json.loads(stored["let:q1"]["meta"])["options"] == ["Mars", "Jupiter", "Venus"]


def test_lettered_lines_stay_math_unless_choice_is_asked_for(db_path: Path, tmp_path: Path):
    path = write_jsonl(tmp_path / "q.jsonl", [{"question": "Pick one\nA. 1\nB. 2", "answer": "2"}])
    assert ingest(str(path), "--db", str(db_path)).exit_code == 0
    (row,) = problems(db_path).values()
    assert row["domain"] == "math" and row["gold_answer"] == "2"


def test_lettered_options_are_the_lines_from_a_on():
    assert lettered_options("Q\nA. x\nB. y\n") == ["x", "y"]
    assert lettered_options("A. only one") == []


def test_options_the_question_lists_already_are_not_listed_twice(db_path: Path, tmp_path: Path):
    path = write_jsonl(tmp_path / "q.jsonl", [{"question": "Pick\nA. x\nB. y", "options": ["x", "y"], "answer": "A"}])
    assert ingest(str(path), "--db", str(db_path)).exit_code == 0
    (row,) = problems(db_path).values()
    assert row["question"] == "Pick\nA. x\nB. y" and row["domain"] == "choice"


def test_aqua_style_options_keep_one_letter(db_path: Path, tmp_path: Path):
    path = write_jsonl(
        tmp_path / "aqua.jsonl", [{"question": "Speed?", "options": ["A)21", "B)22.5"], "correct": "B", "answer": "B"}]
    )
    assert ingest(str(path), "--db", str(db_path)).exit_code == 0
    (row,) = problems(db_path).values()
    assert row["question"] == "Speed?\n\nA. 21\nB. 22.5" and row["gold_answer"] == "B"


# ---- math is unchanged -------------------------------------------------------------------------


def test_math_files_stay_math_and_forcing_math_changes_nothing(db_path: Path, tmp_path: Path, shared_data: Path):
    path = shared_data / "simpleRL-reason/math500/test.jsonl"
    assert ingest(str(path), "--db", str(db_path)).exit_code == 0
    forced_db = tmp_path / "forced.duckdb"
    assert ingest(str(path), "--db", str(forced_db), "--domain", "math").exit_code == 0
    skip = {"run_id", "created_at"}
    auto = [{k: v for k, v in row.items() if k not in skip} for row in problems(db_path).values()]
    forced = [{k: v for k, v in row.items() if k not in skip} for row in problems(forced_db).values()]
    assert auto == forced and len(auto) == 500 and {row["domain"] for row in auto} == {"math"}


# ---- an updated test list makes verdicts pending ----------------------------------------------


def test_update_of_a_changed_test_list_changes_meta_and_makes_the_verdict_pending(db_path: Path, tmp_path: Path):
    records = jsonl_rows(MBPP)[:2]
    path = write_jsonl(tmp_path / "mbpp.jsonl", records)
    assert ingest(str(path), "--db", str(db_path), "--source", "mbpp").exit_code == 0
    problem_id = f"mbpp:{records[0]['task_id']}"
    sample = {"sample_id": "x", "problem_id": problem_id, "model": "m", "params_hash": "h", "sample_index": 0}
    with open_store(db_path) as store:
        store.insert_rows("samples", [{**sample, "content": f"```python\n{records[0]['code']}\n```", "status": "ok"}])
        old_hash = store.scalar("SELECT content_hash FROM samples WHERE sample_id = 'x'")
        store.insert_rows(
            "verdicts", [{"sample_id": "x", "verifier": "code/1", "verdict": "correct", "content_hash": old_hash}]
        )
        assert store.scalar("SELECT verdict FROM verdict_current WHERE sample_id = 'x'") == "correct"
    records[0] = {**records[0], "test_list": [*records[0]["test_list"], "assert True"]}
    write_jsonl(path, records)
    kept = ingest(str(path), "--db", str(db_path), "--source", "mbpp")
    assert kept.exit_code == 0 and "added 0, unchanged 1, changed 1" in kept.stdout
    assert problem_id in message(kept) and "tests, database or options changed" in message(kept)
    updated = ingest(str(path), "--db", str(db_path), "--source", "mbpp", "--update")
    assert updated.exit_code == 0 and "updated 1" in updated.stdout
    with open_store(db_path, read_only=True) as store:
        meta = json.loads(store.scalar("SELECT meta FROM problems WHERE problem_id = ?", [problem_id]))
        assert meta["test_list"][-1] == "assert True"
        assert store.scalar("SELECT content_hash FROM samples WHERE sample_id = 'x'") != old_hash
        assert store.scalar("SELECT count(*) FROM verdict_current WHERE sample_id = 'x'") == 0  # pending again


# ---- stats by domain -------------------------------------------------------------------------


def test_stats_break_problems_and_samples_down_by_domain(db_path: Path, shared_data: Path):
    assert ingest(str(HUMANEVAL), "--db", str(db_path)).exit_code == 0
    assert ingest(str(shared_data / "QwQ/aime25.jsonl"), "--db", str(db_path)).exit_code == 0
    with open_store(db_path) as store:
        store.insert_rows(
            "samples",
            [
                {
                    "sample_id": f"s{i}",
                    "problem_id": "code/humaneval:HumanEval/0",
                    "model": "m",
                    "params_hash": "h",
                    "sample_index": i,
                    "content": "x",
                    "status": "ok",
                }
                for i in range(3)
            ],
        )
    result = runner.invoke(app, ["stats", "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    assert "domains" in result.stdout
    lines = [" ".join(re.sub(r"[│┃]", " ", line).split()) for line in result.stdout.splitlines()]
    assert "code 164 3" in lines and "math 30 0" in lines


# ---- bad input: exit 2, file/line/field named, store unchanged --------------------------------


def bad_cases(tmp_path: Path) -> dict[str, tuple[Path, list[str], list[str]]]:
    """name -> (file, flags, words the message must contain)."""
    humaneval = jsonl_rows(HUMANEVAL)[:3]
    cases = {}
    math = write_jsonl(tmp_path / "math.jsonl", [{"problem": "1+1?", "answer": "2"}])
    cases["code_forced_on_math"] = (math, ["--domain", "code"], ["math.jsonl:1", "field 'prompt'", "MBPP"])
    holed = [humaneval[0], humaneval[1], {k: v for k, v in humaneval[2].items() if k != "test"}]
    cases["humaneval_line_3_without_test"] = (
        write_jsonl(tmp_path / "he.jsonl", holed),
        [],
        ["he.jsonl:3", "field 'test'"],
    )
    mbpp = jsonl_rows(MBPP)[:2]
    mbpp[1] = {**mbpp[1], "test_list": []}
    cases["mbpp_empty_test_list"] = (write_jsonl(tmp_path / "mb.jsonl", mbpp), [], ["mb.jsonl:2", "field 'test_list'"])
    no_query = write_jsonl(tmp_path / "nq.jsonl", [{"db_id": "pets_1", "question": "How many pets?"}])
    cases["sql_forced_without_query"] = (
        no_query,
        ["--domain", "sql", "--databases", str(SPIDER_DATABASES)],
        ["nq.jsonl:1", "field 'query'"],
    )
    cases["sql_db_id_is_a_path"] = (
        write_jsonl(tmp_path / "p.jsonl", [{"db_id": "../sql", "question": "q?", "query": "SELECT 1"}]),
        ["--databases", str(SPIDER_DATABASES)],
        ["p.jsonl:1", "field 'db_id'"],
    )
    cases["sql_forced_on_math"] = (math, ["--domain", "sql"], ["math.jsonl:1", "field 'db_id'", "Spider"])
    (tmp_path / "dbs" / "notes").mkdir(parents=True)
    (tmp_path / "dbs" / "notes" / "notes.sqlite").write_text("not a database\n")
    cases["sql_database_not_sqlite"] = (
        write_jsonl(tmp_path / "n.json", [{"db_id": "notes", "question": "q?", "query": "SELECT 1"}]),
        ["--databases", str(tmp_path / "dbs")],
        ["n.json:1", "field 'db_id'", "neither a SQLite nor a DuckDB database"],
    )
    cases["unknown_domain"] = (math, ["--domain", "chemistry"], ["field '--domain'", "chemistry", "choice"])
    cases["databases_for_math"] = (math, ["--databases", str(SPIDER_DATABASES)], ["field '--databases'"])
    cases["question_field_for_code"] = (
        write_jsonl(tmp_path / "he1.jsonl", humaneval[:1]),
        ["--question-field", "prompt"],
        ["field '--question-field'"],
    )
    choices = [
        {"question": "a?", "choices": ["x", "y"], "answer": 0},
        {"question": "b?", "choices": ["x", "y"], "answer": 5},
    ]
    cases["choice_index_out_of_range"] = (
        write_jsonl(tmp_path / "c.jsonl", choices),
        [],
        ["c.jsonl:2", "field 'answer'", "A-B"],
    )
    mismatch = [{"question": "a?", "options": ["x", "y", "z"], "answer": "C", "answer_index": 1}]
    cases["choice_letter_disagrees_with_index"] = (
        write_jsonl(tmp_path / "m.jsonl", mismatch),
        [],
        ["m.jsonl:1", "field 'answer_index'"],
    )
    cases["choice_forced_without_options"] = (
        write_jsonl(tmp_path / "n.jsonl", [{"question": "a?", "answer": "A"}]),
        ["--domain", "choice"],
        ["n.jsonl:1", "field 'options'", "lettered lines"],
    )
    cases["choice_options_not_a_list"] = (
        write_jsonl(
            tmp_path / "o.jsonl",
            [
                {"question": "a?", "options": ["x", "y"], "answer": "A"},
                {"question": "b?", "options": "x|y", "answer": "A"},
            ],
        ),
        [],
        ["o.jsonl:2", "field 'options'"],
    )
    return cases


BAD_CASES = [
    "code_forced_on_math",
    "humaneval_line_3_without_test",
    "mbpp_empty_test_list",
    "sql_forced_without_query",
    "sql_db_id_is_a_path",
    "sql_forced_on_math",
    "sql_database_not_sqlite",
    "unknown_domain",
    "databases_for_math",
    "question_field_for_code",
    "choice_index_out_of_range",
    "choice_letter_disagrees_with_index",
    "choice_forced_without_options",
    "choice_options_not_a_list",
]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_domain_input_exits_2_naming_file_line_and_field(case: str, db_path: Path, tmp_path: Path):
    assert ingest(str(MBPP), "--db", str(db_path)).exit_code == 0
    before = counts(db_path)
    path, flags, words = bad_cases(tmp_path)[case]
    result = ingest(str(path), "--db", str(db_path), *flags)
    assert result.exit_code == 2, result.output
    for word in words:
        assert word in message(result), message(result)
    assert counts(db_path) == before


def test_a_missing_database_folder_is_named(db_path: Path, tmp_path: Path):
    copy = tmp_path / "spider.json"
    shutil.copy(SPIDER, copy)
    result = ingest(str(copy), "--db", str(db_path), "--databases", str(tmp_path / "nowhere"))
    assert result.exit_code == 2 and "nowhere, field '--databases': no such folder" in message(result)
