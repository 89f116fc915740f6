"""The SQL checker: query extraction, the comparison rule, read-only limits, real Spider data.

Real data: shared/data/sql (261 Spider dev questions on 8 databases; SOURCES.md). Every gold
query must be judged correct against itself, and answers changed by hand incorrect. Hostile
queries run against a copy of a Spider database whose hash must not change.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from curate.traces import fenced_blocks
from curate.verify.domains import CheckerOptions, Task, make_checker
from curate.verify.sql import (
    ROW_LIMIT,
    SQL_VERSION,
    SQLChecker,
    extract_query,
    first_keyword,
    open_sqlite,
    orders_result,
    schema_text,
)
from tests.conftest import WORKSPACE_DATA

DATA = WORKSPACE_DATA / "sql"
if not DATA.exists():
    DATA = Path(__file__).resolve().parents[4] / "shared" / "data" / "sql"
DATABASES = DATA / "database"


def spider_rows() -> list[dict]:
    path = DATA / "spider_dev_public.json"
    if not path.exists():
        pytest.skip(f"no {path}")
    return json.loads(path.read_text())


def spider_task(row: dict, number: int = 0) -> Task:
    database = f"{row['db_id']}/{row['db_id']}.sqlite"
    return Task(f"spider/{number}", row["question"], row["query"], {"database": database}, "sql")


def fenced(query: str, reasoning: str = "Let me look at the schema.") -> str:
    return f"<think>{reasoning}</think>\nThe query:\n```sql\n{query}\n```\n"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def checker():
    sql = SQLChecker(CheckerOptions(database_root=str(DATABASES)))
    yield sql
    sql.close()


@pytest.fixture(scope="module")
def singer_copy(tmp_path_factory) -> Path:
    """A copy of Spider's singer database, so a checker bug can never harm the shared data."""
    source = DATABASES / "singer" / "singer.sqlite"
    if not source.exists():
        pytest.skip(f"no {source}")
    copy = tmp_path_factory.mktemp("sql") / "singer.sqlite"
    shutil.copyfile(source, copy)
    return copy


def check_one(checker: SQLChecker, gold: str, response: str, database: Path, timeout: float = 10.0, reason="stop"):
    task = Task("own", None, gold, {"database": str(database)}, "sql")
    (verdict,) = checker.check_many([(task, response, reason)], workers=1, timeout=timeout)
    return verdict


# -- extraction -------------------------------------------------------------------------------
def test_the_query_is_the_last_sql_block_after_the_reasoning():
    response = (
        "<think>```sql\nSELECT 'thinking'\n```</think>\n"
        "First try:\n```sql\nSELECT 1\n```\nExample output:\n```\n| 1 |\n```\nBetter:\n```SQL\nSELECT 2\n```"
    )
    assert extract_query(response) == ("SELECT 2", "sql_block", "last sql code block after the reasoning")


def test_untagged_blocks_and_a_bare_query_are_answers_too():
    assert extract_query("```\nSELECT name FROM singer\n```")[:2] == ("SELECT name FROM singer", "code_block")
    assert extract_query("<think>hmm</think>\nselect count(*) from singer;")[:2] == (
        "select count(*) from singer;",
        "whole_answer",
    )
    assert extract_query("  WITH t AS (SELECT 1) SELECT * FROM t")[1] == "whole_answer"


@pytest.mark.parametrize(
    "response, finish_reason, why",
    [
        (fenced("SELECT 1"), "length", "token limit"),
        ("<think>still thinking about SELECT", "stop", "never closed"),
        ("The answer is the number of singers.", "stop", "not a SELECT"),
        ("```python\nprint(1)\n```", "stop", "only python"),
        ("```sql\nSELECT name FROM", "stop", "never closes"),
        ("```sql\n\n```", "stop", "empty"),
        ("", "stop", "empty response"),
    ],
)
def test_no_answer_cases(response, finish_reason, why):
    query, source, reason = extract_query(response, finish_reason)
    assert query is None and source is None and why in reason


def test_an_imported_trace_that_loops_to_its_end_has_no_answer_like_in_the_other_domains():
    """No finish reason (an imported trace) and the same block repeated until the text stops: cut off."""
    block = "Let me write the query again.\n" + fenced("SELECT count(*) FROM singer") + "\n"
    looped = "<think>count the singers</think>\n" + block * 12 + block[:40]
    query, source, reason = extract_query(looped, None)
    assert query is None and source is None and "repeats the same" in reason
    assert extract_query(looped, "stop")[0] == "SELECT count(*) FROM singer"  # the model stopped by itself


def test_fenced_blocks_have_one_home_for_code_and_sql():
    (block,) = fenced_blocks("text\n```Python3 title\nx = 1\n```")
    assert (block.tag, block.body, block.closed) == ("python3", "x = 1\n", True)
    assert not fenced_blocks("```sql\nSELECT")[0].closed


def test_order_by_is_found_only_at_the_top_level():
    assert orders_result("SELECT name FROM singer ORDER BY age DESC LIMIT 1")
    assert orders_result("select a from t union select b from u order\n  by 1")
    assert not orders_result("SELECT name FROM singer WHERE id IN (SELECT id FROM song ORDER BY sales LIMIT 1)")
    assert not orders_result("SELECT 'order by' AS x FROM t -- order by x\n")
    assert not orders_result('SELECT "order by" FROM t /* ORDER BY 1 */')
    assert first_keyword("/* c */ -- d\n ((select 1))") == "SELECT"


# -- real Spider data -------------------------------------------------------------------------
def test_every_spider_gold_query_is_correct_against_itself(checker):
    rows = spider_rows()
    # A comment makes each answer a different text, so it runs on its own instead of sharing the gold's run.
    items = [(spider_task(row, i), fenced(row["query"] + "\n-- my answer"), "stop") for i, row in enumerate(rows)]
    verdicts = checker.check_many(items, workers=2, timeout=10)
    wrong = [(row["query"], v.verdict, v.reason) for row, v in zip(rows, verdicts) if v.verdict != "correct"]
    assert len(rows) == 261 and wrong == []
    assert all(v.answer_source == "sql_block" and v.form_ok is None and v.form_reason is None for v in verdicts)


# (question number in spider_dev_public.json, changed answer, what the reason says)
PERTURBED = [
    (0, "SELECT count(*) FROM singer WHERE age > 30", "the rows differ"),
    (6, "SELECT song_name, song_release_year FROM singer ORDER BY age LIMIT 2", "2 rows, gold has 1"),
    (12, "SELECT song_name FROM singer WHERE age < (SELECT avg(age) FROM singer)", "rows"),
    (90, "SELECT Name FROM teacher ORDER BY Age DESC", "same rows in another order"),
    (138, "SELECT min(killed), max(killed) FROM death", "the rows differ"),
    (156, "SELECT Final_Table_Made FROM poker_player", "1 columns, gold has 2"),
    (204, "SELECT count(Nationality) FROM conductor", "the rows differ"),
    (240, "SELECT Name FROM singer WHERE Birth_Year = 1948 AND Birth_Year = 1949", "0 rows"),
    (258, "SELECT Name FROM singer WHERE Singer_ID IN (SELECT Singer_ID FROM song)", "rows"),
    (186, 'SELECT Name FROM people WHERE Nationality = "Russia"', "rows"),
    (
        210,
        "SELECT T2.Orchestra, T1.Name FROM conductor AS T1 JOIN orchestra AS T2 ON T1.Conductor_ID = T2.Conductor_ID",
        "the rows differ",
    ),
]


def test_changed_answers_are_incorrect(checker):
    rows = spider_rows()
    items = [(spider_task(rows[number], number), fenced(answer), "stop") for number, answer, _ in PERTURBED]
    verdicts = checker.check_many(items, workers=2, timeout=10)
    for (number, answer, why), verdict in zip(PERTURBED, verdicts):
        assert (verdict.verdict, why in verdict.reason) == ("incorrect", True), (number, answer, verdict.reason)


def test_an_equivalent_query_written_differently_is_correct(checker):
    rows = spider_rows()
    answers = {
        0: "SELECT COUNT(singer_id) FROM singer",
        90: "SELECT t.name FROM teacher AS t ORDER BY t.age",
        240: "SELECT Name FROM singer WHERE Birth_Year IN (1949, 1948)",
    }
    items = [(spider_task(rows[number], number), fenced(answer), "stop") for number, answer in answers.items()]
    assert [v.verdict for v in checker.check_many(items, timeout=10)] == ["correct"] * len(answers)


def test_the_domain_registry_builds_this_checker():
    sql = make_checker("sql", CheckerOptions(database_root=str(DATABASES)))
    try:
        assert (sql.domain, sql.version, type(sql)) == ("sql", SQL_VERSION, SQLChecker)
    finally:
        sql.close()


def test_schema_text_gives_the_create_statements():
    path = DATABASES / "singer" / "singer.sqlite"
    if not path.exists():
        pytest.skip(f"no {path}")
    schema = schema_text(path)
    assert schema.count("CREATE TABLE") == 2 and '"singer"' in schema and '"song"' in schema
    assert schema.endswith(";") and "\n\n" in schema


# -- the comparison rule ----------------------------------------------------------------------
def test_rows_compare_as_multisets_unless_the_gold_orders_them(checker, singer_copy):
    gold = "SELECT name FROM singer"
    assert check_one(checker, gold, "SELECT name FROM singer ORDER BY name DESC", singer_copy).verdict == "correct"
    duplicated = "SELECT name FROM singer UNION ALL SELECT name FROM singer WHERE singer_id = 1"
    verdict = check_one(checker, gold, duplicated, singer_copy)
    assert verdict.verdict == "incorrect" and "rows, gold has" in verdict.reason
    ordered = "SELECT name FROM singer ORDER BY net_worth_millions"
    verdict = check_one(checker, ordered, "SELECT name FROM singer ORDER BY net_worth_millions DESC", singer_copy)
    assert verdict.verdict == "incorrect" and "another order" in verdict.reason
    inner = "SELECT name FROM (SELECT name FROM singer ORDER BY name)"
    assert check_one(checker, inner, "SELECT name FROM singer ORDER BY name DESC", singer_copy).verdict == "correct"


def test_column_names_do_not_matter_but_their_number_and_order_do(checker, singer_copy):
    gold = "SELECT name, citizenship FROM singer"
    renamed = "SELECT name AS singer_name, citizenship AS country FROM singer AS s"
    assert check_one(checker, gold, renamed, singer_copy).verdict == "correct"
    assert "3 columns" in check_one(checker, gold, "SELECT name, citizenship, 1 FROM singer", singer_copy).reason
    assert check_one(checker, gold, "SELECT citizenship, name FROM singer", singer_copy).verdict == "incorrect"


def test_floats_compare_with_a_relative_tolerance(checker, singer_copy):
    gold = "SELECT avg(net_worth_millions) FROM singer"
    close = "SELECT avg(net_worth_millions) * (1 + 1e-9) FROM singer"
    assert check_one(checker, gold, close, singer_copy).verdict == "correct"
    far = "SELECT avg(net_worth_millions) * 1.001 FROM singer"
    assert check_one(checker, gold, far, singer_copy).verdict == "incorrect"
    assert check_one(checker, "SELECT 3", "SELECT 3.0", singer_copy).verdict == "correct"
    assert check_one(checker, "SELECT 3", "SELECT '3'", singer_copy).verdict == "incorrect"
    assert check_one(checker, "SELECT NULL", "SELECT NULL", singer_copy).verdict == "correct"
    assert check_one(checker, "SELECT NULL", "SELECT 0", singer_copy).verdict == "incorrect"


def test_statuses_other_than_rows(checker, singer_copy, tmp_path):
    verdict = check_one(checker, "SELECT name FROM singer", fenced("SELEC name FROM singer"), singer_copy)
    assert verdict.verdict == "unparseable" and 'near "SELEC": syntax error' in verdict.reason
    verdict = check_one(checker, "SELECT name FROM singer", "SELECT nickname FROM singer", singer_copy)
    assert verdict.verdict == "unparseable" and "no such column: nickname" in verdict.reason
    verdict = check_one(checker, "SELECT nickname FROM singer", "SELECT name FROM singer", singer_copy)
    assert verdict.verdict == "error" and "gold query did not run" in verdict.reason
    verdict = check_one(checker, "SELECT 1", "SELECT 1", tmp_path / "missing.sqlite")
    assert verdict.verdict == "error" and "database not found" in verdict.reason
    (tmp_path / "notes.sqlite").write_text("not a database")
    assert (
        "neither a SQLite nor a DuckDB" in check_one(checker, "SELECT 1", "SELECT 1", tmp_path / "notes.sqlite").reason
    )
    (verdict,) = checker.check_many([(Task("x", None, "SELECT 1", {}, "sql"), "SELECT 1", "stop")])
    assert verdict.verdict == "error" and "names no database" in verdict.reason
    assert check_one(checker, "SELECT 1", fenced("SELECT 1"), singer_copy, reason="length").verdict == "no_answer"


def test_a_gold_and_identical_answers_run_once_per_call(singer_copy):
    sql = SQLChecker(CheckerOptions(database_root=str(singer_copy.parent)))
    try:
        pool = sql._pool_for(1, 10)
        sizes = []
        original = pool.run
        pool.run = lambda tasks, on_done=None: (sizes.append(len(tasks)), original(tasks))[1]
        task = Task("t", None, "SELECT name FROM singer", {"database": singer_copy.name}, "sql")
        answers = ["SELECT name FROM singer", "SELECT name FROM singer", "SELECT name FROM singer LIMIT 2"]
        verdicts = sql.check_many([(task, fenced(answer), "stop") for answer in answers * 2])
        assert [v.verdict for v in verdicts] == ["correct", "correct", "incorrect"] * 2
        assert sizes == [2]  # the gold (shared with the first answer) and the LIMIT 2 answer
    finally:
        sql.close()


# -- hostile queries: each meets the limit named, and the file never changes --------------------
HOSTILE = [
    # (answer, status, what the reason says: the limit it hits)
    ("INSERT INTO singer VALUES (99, 'x', 1, 1, 'y')", "incorrect", "refused: only a single SELECT or WITH"),
    ("UPDATE singer SET name = 'x'", "incorrect", "starts with UPDATE"),
    ("DELETE FROM singer", "incorrect", "starts with DELETE"),
    ("DROP TABLE singer", "incorrect", "starts with DROP"),
    ("ATTACH DATABASE '{dir}/other.db' AS other", "incorrect", "starts with ATTACH"),
    ("PRAGMA writable_schema = ON", "incorrect", "starts with PRAGMA"),
    ("VACUUM INTO '{dir}/copy.db'", "incorrect", "starts with VACUUM"),
    ("WITH gone AS (SELECT 1) DELETE FROM singer", "incorrect", "refused: not authorized: DELETE singer"),
    ("SELECT load_extension('{dir}/evil.so')", "incorrect", "refused: not authorized: FUNCTION load_extension"),
    ("SELECT name FROM singer; DROP TABLE singer", "incorrect", "refused: more than one statement"),
    ("SELECT * FROM pragma_table_info('singer')", "incorrect", "refused: not authorized"),
    (
        "WITH RECURSIVE forever(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM forever) SELECT count(*) FROM forever",
        "timeout",
        "stopped at the 2 s time limit",
    ),
    (
        "SELECT a.singer_id FROM singer a, singer b, singer c, singer d, singer e, singer f, singer g",
        "incorrect",
        f"more than {ROW_LIMIT:,} rows (the row limit)",
    ),
    ("SELECT zeroblob(1000000000)", "incorrect", "string or blob too big"),
    ("SELECT randomblob(1000000) FROM singer a, singer b, singer c", "incorrect", "result size limit"),
    (
        "SELECT count(*) FROM (SELECT zeroblob(4000000) || a.name AS b FROM singer a, singer b, singer c ORDER BY b)",
        "incorrect",
        "out of memory (the 512 MiB limit)",
    ),
]


@pytest.mark.parametrize("answer, status, why", HOSTILE, ids=[h[0][:40] for h in HOSTILE])
def test_hostile_queries_meet_their_limit_and_leave_the_file_alone(checker, singer_copy, answer, status, why):
    answer = answer.replace("{dir}", str(singer_copy.parent))
    before = digest(singer_copy)
    verdict = check_one(
        checker, "SELECT name FROM singer", fenced(answer), singer_copy, timeout=2 if status == "timeout" else 10
    )
    assert (verdict.verdict, why in verdict.reason) == (status, True), verdict.reason
    assert digest(singer_copy) == before
    assert sorted(p.name for p in singer_copy.parent.iterdir()) == ["singer.sqlite"]
    # The worker that met the limit (or its replacement) still answers.
    assert (
        check_one(checker, "SELECT count(*) FROM singer", "SELECT count(name) FROM singer", singer_copy).verdict
        == "correct"
    )


@pytest.mark.parametrize(
    "statement",
    [
        "PRAGMA writable_schema = ON",
        "ATTACH DATABASE ':memory:' AS other",
        "INSERT INTO song DEFAULT VALUES",
        "CREATE TEMP TABLE t(x)",
        "BEGIN IMMEDIATE",
    ],
)
def test_the_connection_itself_refuses_what_the_statement_check_stops_first(singer_copy, statement):
    """Below the first-word check, the authorizer denies the same statements on its own."""
    denied: list[str] = []
    connection = open_sqlite(singer_copy, denied)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="not authorized|authorization denied"):
            connection.execute(statement)
    finally:
        connection.close()
    assert denied


# -- DuckDB -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def duck_copy(tmp_path_factory, singer_copy) -> Path:
    """Spider's singer tables copied into a DuckDB file."""
    duckdb = pytest.importorskip("duckdb")
    path = tmp_path_factory.mktemp("duck") / "singer.duckdb"
    source = sqlite3.connect(singer_copy)
    target = duckdb.connect(str(path))
    target.execute(
        "CREATE TABLE singer (singer_id INTEGER, name VARCHAR, birth_year DOUBLE, net_worth_millions DOUBLE, citizenship VARCHAR)"
    )
    target.executemany("INSERT INTO singer VALUES (?, ?, ?, ?, ?)", source.execute("SELECT * FROM singer").fetchall())
    target.close()
    source.close()
    return path


def test_duckdb_databases_are_checked_like_sqlite_ones(checker, duck_copy):
    before = digest(duck_copy)
    gold = "SELECT citizenship, count(*) FROM singer GROUP BY citizenship ORDER BY count(*) DESC, citizenship"
    cases = [
        ("SELECT citizenship, count(name) AS n FROM singer GROUP BY 1 ORDER BY n DESC, 1", "correct", "same"),
        ("SELECT citizenship, count(*) FROM singer GROUP BY citizenship ORDER BY 2, 1", "incorrect", "row 1 differs"),
        ("SELECT citizenship FROM singer GROUP BY citizenship", "incorrect", "1 columns, gold has 2"),
        ("SELEC 1", "unparseable", "DuckDB: Parser Error"),
        ("INSERT INTO singer VALUES (9, 'x', 1, 1, 'y')", "incorrect", "refused"),
        ("SELECT 1; SELECT 2", "incorrect", "refused: more than one statement"),
        ("SET threads = 4", "incorrect", "refused"),
        ("SELECT * FROM read_csv('/etc/passwd')", "incorrect", "refused: DuckDB: Permission Error"),
        ("SELECT * FROM range(1000000)", "incorrect", "row limit"),
    ]
    task = Task("duck", None, gold, {"database": str(duck_copy)}, "sql")
    verdicts = checker.check_many([(task, fenced(answer), "stop") for answer, _, _ in cases], workers=2, timeout=10)
    for (answer, status, why), verdict in zip(cases, verdicts):
        assert (verdict.verdict, why in verdict.reason) == (status, True), (answer, verdict.reason)
    assert "CREATE TABLE singer" in schema_text(duck_copy)
    assert digest(duck_copy) == before


def test_a_duckdb_query_past_the_time_limit_has_its_worker_killed(checker, duck_copy):
    verdict = check_one(checker, "SELECT 1", "SELECT sum(i) FROM range(1000000000000) t(i)", duck_copy, timeout=1)
    assert verdict.verdict == "timeout" and "worker was killed" in verdict.reason
    assert check_one(checker, "SELECT 1", "SELECT 1.0", duck_copy).verdict == "correct"
