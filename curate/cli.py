"""The `curate` command: a thin Typer layer over the stage functions.

Each command opens the store, calls one stage function, prints data on stdout and progress on
stderr. Stage logic lives in the stage modules; nothing here is needed to use them from Python.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from db.console import run_app

app = typer.Typer(
    name="curate",
    help="Curate teacher reasoning traces: ingest, generate, verify, score, select, review, export.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

DbOption = typer.Option(None, "--db", help="Store path (default: $CURATE_DB or ./traces.duckdb).", show_default=False)


# ---- foundation: ingest, import-samples, sql, stats ------------------------------------------

@app.command()
def sql(
    query: str = typer.Argument(..., help="SQL to run against the store."),
    db: Optional[Path] = DbOption,
    format: str = typer.Option("table", "--format", "-f", help="table, csv or json."),
    max_rows: int = typer.Option(200, "--max-rows", help="Rows shown in table format (csv/json print all)."),
) -> None:
    """Run SQL against the store (read-only) and print the result."""
    from curate.query import run_sql

    run_sql(db, query, format=format, max_rows=max_rows)


@app.command()
def stats(db: Optional[Path] = DbOption) -> None:
    """Counts: problems per source and split, samples per model and status, verdicts per model."""
    from curate.query import print_stats

    print_stats(db)


def main(argv: list[str] | None = None) -> None:
    run_app(app, argv)


if __name__ == "__main__":
    main()
