"""`curate sql` and `curate stats`: read-only views of the store.

Inputs: the store. Outputs: tables on stdout (rich table, CSV or JSON). Tables touched: none
written. Commands: `curate sql "SELECT ..." [--format table|csv|json]`, `curate stats` (problems per
source and split, problems and samples per domain, samples, verdicts, steps, reviews, selections).
The store is opened read-only, so these work beside any other reader.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb
import polars as pl
from rich.table import Table

from db import BadInput, open_store
from db.console import stdout

FORMATS = ("table", "csv", "json")


def fetch_sql(db: Path | str | None, query: str, allow_files: bool = False) -> pl.DataFrame:
    """Run one query read-only; a SQL error is bad input (exit 2).

    Unless `allow_files`, the query sees the store and nothing else: DuckDB's external access
    (COPY TO, read_csv/read_text, ATTACH, EXPORT DATABASE, extensions) is switched off and the
    configuration locked, so the SQL cannot switch it back on.
    """
    with open_store(db, read_only=True) as store:
        if not allow_files:
            store.execute("SET enable_external_access = false")
            store.execute("SET lock_configuration = true")
        try:
            return store.query(query)
        except duckdb.PermissionException as error:
            raise BadInput(
                f"{str(error).splitlines()[0]} (`curate sql` reads only the store; pass --allow-files "
                f"to read or write other files on purpose)",
                field="query",
            ) from error
        except (duckdb.ParserException, duckdb.BinderException, duckdb.CatalogException) as error:
            raise BadInput(str(error).splitlines()[0], field="query") from error
        except duckdb.InvalidInputException as error:
            raise BadInput(str(error).splitlines()[0], field="query") from error


def frame_table(frame: pl.DataFrame, title: str | None = None, max_rows: int | None = None) -> Table:
    """A rich table of a frame, truncation shown in the caption."""
    table = Table(title=title, show_lines=False, header_style="bold")
    for name in frame.columns:
        table.add_column(name, overflow="fold")
    shown = frame if max_rows is None else frame.head(max_rows)
    for row in shown.iter_rows():
        table.add_row(*["" if value is None else _cell(value) for value in row])
    if max_rows is not None and frame.height > max_rows:
        table.caption = f"{max_rows} of {frame.height} rows shown (use --max-rows or --format csv)"
    return table


def _cell(value: object) -> str:
    text = str(value)
    return text if len(text) <= 200 else text[:197] + "..."


def run_sql(
    db: Path | str | None, query: str, format: str = "table", max_rows: int = 200, allow_files: bool = False
) -> pl.DataFrame:
    if format not in FORMATS:
        raise BadInput(f"unknown format {format!r}; use one of {', '.join(FORMATS)}", field="--format")
    frame = fetch_sql(db, query, allow_files=allow_files)
    if format == "csv":
        sys.stdout.write(frame.write_csv())
    elif format == "json":
        sys.stdout.write(json.dumps(frame.to_dicts(), default=str, ensure_ascii=False) + "\n")
    else:
        stdout.print(frame_table(frame, max_rows=max_rows))
    return frame


STATS_QUERIES = {
    "problems": "SELECT source, coalesce(split, '-') AS split, count(*) AS problems, "
    "count(gold_answer) AS with_gold FROM problems GROUP BY ALL ORDER BY ALL",
    # Problems and their samples by domain (problems.domain picks the checker: math, code, sql, choice).
    "domains": "SELECT p.domain, count(*) AS problems, coalesce(sum(s.n), 0) AS samples FROM problems p "
    "LEFT JOIN (SELECT problem_id, count(*) AS n FROM samples GROUP BY problem_id) s USING (problem_id) "
    "GROUP BY ALL ORDER BY ALL",
    "samples": "SELECT model, status, count(*) AS samples, "
    "round(sum(coalesce(cost_usd, 0)), 4) AS cost_usd FROM samples GROUP BY ALL ORDER BY ALL",
    # A verdict of a sample's earlier content (db/migrations/018) is counted as pending, not as its verdict.
    "verdicts": "SELECT s.model, v.verifier, CASE WHEN v.content_hash IS NULL OR v.content_hash = s.content_hash "
    "THEN v.verdict ELSE 'pending (content changed)' END AS verdict, count(*) AS n FROM verdicts v "
    "JOIN samples s USING (sample_id) GROUP BY ALL ORDER BY ALL",
    # Correct traces whose steps were checked (`curate verify --steps`, `curate judge --steps`) and
    # how many of them have an unretracted wrong step (view step_flags), by problem source.
    "steps": "SELECT p.source, count(*) AS correct_traces, count(f.sample_id) AS steps_checked, "
    "count(*) FILTER (WHERE f.wrong_unretracted > 0) AS with_wrong_step FROM verdict_current v "
    "JOIN samples s USING (sample_id) JOIN problems p ON p.problem_id = s.problem_id "
    "LEFT JOIN step_flags f ON f.sample_id = s.sample_id WHERE v.verdict = 'correct' "
    "GROUP BY ALL HAVING count(f.sample_id) > 0 ORDER BY ALL",
    # A decision on content that changed since (db/migrations/023) is counted apart: review those again.
    "reviews": "SELECT decision, count(*) AS samples FROM review_current GROUP BY ALL "
    "UNION ALL SELECT 'stale (content changed: review again)', count(*) FROM review_stale HAVING count(*) > 0 "
    "ORDER BY ALL",
    "selections": "SELECT selection_id, policy, n_problems, n_samples, created_at FROM selection_sets ORDER BY created_at",
}


def collect_stats(db: Path | str | None) -> dict[str, pl.DataFrame]:
    """The frames `curate stats` prints, by section; empty sections are left out."""
    with open_store(db, read_only=True) as store:
        frames = {name: store.query(sql) for name, sql in STATS_QUERIES.items()}
    return {name: frame for name, frame in frames.items() if frame.height}


def print_stats(db: Path | str | None) -> dict[str, pl.DataFrame]:
    frames = collect_stats(db)
    if not frames:
        stdout.print("the store is empty: start with `curate ingest FILE`")
    for name, frame in frames.items():
        stdout.print(selections_table(frame) if name == "selections" else frame_table(frame, title=name))
    return frames


def selections_table(frame: pl.DataFrame) -> Table:
    """One cell per selection: its id on a line of its own, then policy, size and time.

    Why: five columns do not fit 80 columns, and an id folded across lines cannot be copied
    into `curate export --selection ID`.
    """
    table = Table(title="selections", header_style="bold")
    table.add_column("selection_id: policy, size, created", overflow="fold")
    for row in frame.iter_rows(named=True):
        created = row["created_at"].strftime("%Y-%m-%d %H:%M") if row["created_at"] else "-"
        table.add_row(
            f"{row['selection_id']}\n  {row['policy']}: {row['n_samples']} samples of "
            f"{row['n_problems']} problems, {created}"
        )
    return table
