"""Shared CLI plumbing: stderr console, exit codes (0 ok, 2 bad input, 1 other failure).

Every CLI's `main()` calls `run_app(app)`; stages raise `BadInput` / `StoreLocked` and never
call sys.exit themselves, so tests can call the stage functions directly.
"""

from __future__ import annotations

import os
import sys

import click
import duckdb
import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from db.errors import BadInput, StoreLocked

stderr = Console(stderr=True)
stdout = Console()


def run_app(app: typer.Typer, argv: list[str] | None = None) -> None:
    """Run a Typer app, mapping project errors to exit codes with a one-line message."""
    try:
        app(args=argv, standalone_mode=True)
    except BadInput as error:
        stderr.print(f"[bold red]error:[/] {error}", highlight=False, markup=True)
        sys.exit(2)
    except StoreLocked as error:
        stderr.print(f"[bold red]error:[/] {error}", highlight=False)
        sys.exit(1)
    except duckdb.Error as error:
        stderr.print(f"[bold red]database error:[/] {error}", highlight=False)
        sys.exit(1)
    except Exception as error:  # any other failure: one line, exit 1; CURATE_DEBUG=1 shows the traceback
        if os.environ.get("CURATE_DEBUG"):
            raise
        stderr.print(f"[bold red]error:[/] {type(error).__name__}: {error}", highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        stderr.print("interrupted; finished work is kept")
        sys.exit(130)


class ExitCodeGroup(TyperGroup):
    """A Typer group that maps project errors to exit codes inside click itself.

    `run_app` does this for the installed scripts; this class makes commands invoked any other
    way (typer.testing.CliRunner on the app, `python -m`) exit 2 on bad input as well.
    Use it as `typer.Typer(cls=ExitCodeGroup, ...)`.
    """

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except BadInput as error:
            stderr.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
            ctx.exit(2)
        except StoreLocked as error:
            stderr.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
            ctx.exit(1)
