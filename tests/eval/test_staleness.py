"""An eval sample names the problem content it was checked against (issue 26 item 6): after `curate
ingest --update` changes a gold answer, `evaluate report` and `evaluate compare` leave the samples
checked against the old one out and say how many, and `evaluate run` with the same --name checks them
again without asking the model. Commands as a user types them, a real store, a scripted server."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from curate.cli import app as curate_app
from db import open_store
from tests.eval.conftest import PROBLEMS

FLAGS = ("--model", "scripted", "--temperature", "0.6", "--max-tokens", "64", "--samples", "4")


def squeeze(text: str) -> str:
    return " ".join(text.split())


def run_row(report: str, run: str) -> tuple[str, str, str]:
    """Problems, samples per problem and pass@1 of one run in the report's runs table (the first
    table with a row per run; the pass@k table follows it)."""
    row = next(line for line in report.splitlines() if line.startswith(f"| {run} | math |"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    return cells[5], cells[6], cells[7].split(" ")[0]


def test_a_changed_gold_leaves_old_checks_out_until_evaluate_run_checks_them_again(
    db_path: Path, server, problems_file: Path, evaluate
) -> None:
    run = ("run", "--base-url", server.url, *FLAGS, "--problems", str(problems_file))
    assert evaluate(*run, "--name", "toy")[0] == 0
    assert evaluate(*run, "--name", "other", "--seeds", "1")[0] == 0
    with open_store(db_path, read_only=True) as store:
        stored = store.execute("SELECT count(*), count(content_hash) FROM eval_samples").fetchall()
        source = store.scalar("SELECT DISTINCT source FROM problems")
    assert stored == [(24, 24)]
    code, out, err = evaluate("report", "toy")
    assert code == 0, err
    assert run_row(out, "toy") == ("3", "4", "58.33") and "left out" not in out

    # Alpha's gold becomes 6: its four samples answered 5 and were checked against 5.
    problems_file.write_text(
        "".join(json.dumps({**row, "answer": "6"} if row["id"] == "a" else row) + "\n" for row in PROBLEMS),
        encoding="utf-8",
    )
    ingested = CliRunner().invoke(
        curate_app, ["ingest", str(problems_file), "--db", str(db_path), "--source", source, "--update"]
    )
    assert ingested.exit_code == 0, ingested.output

    code, out, err = evaluate("report", "toy")
    assert code == 0, err
    # Beta 2/4 and Gamma 1/4 are all that is current: pass@1 = 37.5 %
    assert run_row(out, "toy") == ("2", "4", "37.50")
    assert "4 sample(s) of toy left out" in squeeze(out) and "`evaluate run --name toy`" in out
    code, out, err = evaluate("compare", "toy", "other")
    assert code == 0, err
    assert "| problems (shared) | 2 |" in out
    assert "4 sample(s) of toy left out" in squeeze(out) and "4 sample(s) of other/seed-1" not in out
    assert "4 sample(s) of other left out" in squeeze(out)

    requests = len(server.requests)
    code, out, err = evaluate(*run, "--name", "toy")
    assert code == 0, err
    assert len(server.requests) == requests  # checked again, not generated again
    assert "4 sample(s) checked again" in squeeze(err)
    code, out, err = evaluate("report", "toy")
    assert code == 0, err
    # Alpha 0/4 now: pass@1 = (0 + 2/4 + 1/4) / 3 = 25 %
    assert run_row(out, "toy") == ("3", "4", "25.00") and "left out" not in out
    with open_store(db_path, read_only=True) as store:
        runs = store.execute("SELECT counts FROM runs WHERE kind = 'eval' ORDER BY started_at DESC").fetchall()
    assert json.loads(runs[0][0])["rechecked"] == 4
