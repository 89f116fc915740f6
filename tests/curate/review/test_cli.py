"""`curate review` as a user types it."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from db import open_store
from curate.cli import app
from curate.review import queries

runner = CliRunner()


def test_stats_prints_counts_and_agreement_without_the_ui(review_db):
    with open_store(review_db) as store:
        for sample_id, a, b in (
            ("s00000-0", "accept", "accept"),
            ("s00000-1", "reject", "accept"),
            ("s00000-2", "flag", "flag"),
        ):
            queries.record_decision(store, sample_id, "alice", a)
            queries.record_decision(store, sample_id, "bob", b)
        queries.record_decision(store, "s00001-0", "carol", "skip")
    result = runner.invoke(app, ["review", "--db", str(review_db), "--stats"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "decisions per reviewer" in result.output and "carol" in result.output
    assert "alice + bob" in result.output and "0.667" in result.output  # 2 of 3 agreed
    kappa = queries.cohens_kappa(["accept", "reject", "flag"], ["accept", "accept", "flag"])
    assert f"{kappa:.3f}" in result.output


def test_stats_on_a_store_without_reviews(review_db):
    result = runner.invoke(app, ["review", "--db", str(review_db), "--stats"])
    assert result.exit_code == 0 and "no review decisions yet" in result.output


def test_bad_filter_queue_store_or_config_exit_2_before_the_ui(review_db, tmp_path):
    bad = [
        ["review", "--db", str(review_db), "--filter", "no_such_column = 1"],
        ["review", "--db", str(review_db), "--queue", "mine"],
        ["review", "--db", str(tmp_path / "absent.duckdb")],
        ["review", "--db", str(review_db), "--config", str(tmp_path / "absent.toml")],
    ]
    for args in bad:
        result = subprocess.run([sys.executable, "-m", "curate", *args], capture_output=True, text=True, timeout=120)
        assert result.returncode == 2, (args, result.stderr)
        assert "error:" in result.stderr


def test_curate_help_and_review_stats_do_not_import_textual(review_db):
    code = (
        "import sys\n"
        "from curate.cli import main\n"
        "try:\n"
        f"    main(['review', '--db', {str(review_db)!r}, '--stats'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('textual' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("False")
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from curate.cli import app; print('textual' in sys.modules)"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.strip() == "False"


def test_only_the_review_apps_modules_import_textual():
    root = __import__("pathlib").Path(__file__).resolve().parents[3]
    plain = {"__init__.py", "keys.py", "config.py", "queries.py", "data.py", "stats.py"}
    offenders = []
    for package in ("db", "curate", "train", "eval"):
        for path in (root / package).rglob("*.py"):
            in_review = path.parent == root / "curate" / "review"
            if in_review and path.name not in plain:
                continue
            text = path.read_text(encoding="utf-8")
            if "import textual" in text or "from textual" in text:
                offenders.append(str(path.relative_to(root)))
    assert offenders == []
