"""The `evaluate` command: a thin Typer layer over eval.run and eval.report."""

from __future__ import annotations

import typer

from db.console import run_app

app = typer.Typer(name="evaluate", help="Evaluate base, student and teacher models.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)


@app.callback()
def _root() -> None:
    """Evaluate base, student and teacher models."""


def main(argv: list[str] | None = None) -> None:
    run_app(app, argv)


if __name__ == "__main__":
    main()
