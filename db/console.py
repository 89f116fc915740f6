"""Shared CLI plumbing: the stderr/stdout consoles, the `--db` option, the progress bar and the
one error-to-exit-code map of the `curate`, `train` and `evaluate` commands.

Every CLI builds its app with `typer.Typer(cls=ExitCodeGroup, ...)` and its `main()` calls
`run_app(app)`; stages raise `BadInput` / `StoreLocked` and never call sys.exit themselves, so
tests can call the stage functions directly. `EXIT_CODES` is the only mapping (docs/GUIDE.md,
"Exit codes", shows the same table; tests/db/test_console.py checks they agree).
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import Iterator

import duckdb
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from typer.core import TyperGroup
from typer.exceptions import Abort, Exit, TyperException

from db.errors import BadInput, DiskFull, StoreLocked, disk_full, is_interrupt, sigterm_interrupts, terminated
from db.redact import redact_text

stderr = Console(stderr=True)
stdout = Console()
_transient = False  # inside transient_progress(): bars show only on a terminal and vanish when done
_spinner = None  # transient_progress()'s status spinner on a terminal, which note() updates

DbOption = typer.Option(None, "--db", help="Store path (default: $CURATE_DB or ./traces.duckdb).", show_default=False)
# generate, export and evaluate run: the templates are read by curate.prompts.load_templates.
PromptTemplateOption = typer.Option(
    None,
    "--prompt-template",
    help="Template file with {question}, for every domain; DOMAIN=FILE (math, code, sql, choice) for one "
    "domain. Repeatable. Default: each domain's own (curate/prompts.py).",
    show_default=False,
)

# (error, exit code, what the one-line message starts with); the first matching row wins, except
# that every error `is_interrupt` counts (a query DuckDB stopped on Ctrl-C) takes KeyboardInterrupt's
# and every error `disk_full` recognises (under whatever another layer wrapped it in) DiskFull's.
# Usage errors that click finds itself (unknown option, missing argument) exit 2 as well.
EXIT_CODES: tuple[tuple[type[BaseException], int, str], ...] = (
    (DiskFull, 1, "error"),  # a write found no space: the message says so and names the path
    (BadInput, 2, "error"),  # bad usage or input; the message names file, line and field
    (StoreLocked, 1, "error"),  # another process holds the store's write lock
    (duckdb.Error, 1, "database error"),
    (KeyboardInterrupt, 130, "interrupted"),  # Ctrl-C: finished work is kept (SIGTERM: the same, exit 143)
    (Exception, 1, "error"),  # any other failure; CURATE_DEBUG=1 shows the traceback
)


def _row(error: BaseException) -> tuple[type[BaseException], int, str] | None:
    kind = KeyboardInterrupt if is_interrupt(error) else DiskFull if disk_full(error) else type(error)
    return next((row for row in EXIT_CODES if issubclass(kind, row[0])), None)


SIGTERM_EXIT = 143  # 128 + 15, what a shell reports for a process SIGTERM stopped


def exit_code(error: BaseException) -> int | None:
    """The exit code `EXIT_CODES` gives `error`; None for errors it does not map (SystemExit)."""
    row = _row(error)
    if row is not None and row[0] is KeyboardInterrupt and terminated():
        return SIGTERM_EXIT
    return row[1] if row else None


def report_error(error: BaseException) -> int | None:
    """Print the one-line message for `error` on stderr and return its exit code (None: not ours).

    Re-raises an unexpected error (the `Exception` row) when CURATE_DEBUG is set.
    """
    row = _row(error)
    if row is None:
        return None
    kind, code, label = row
    if kind is KeyboardInterrupt:
        if terminated():
            stderr.print("terminated (SIGTERM); finished work is kept", highlight=False)
            return SIGTERM_EXIT
        stderr.print("interrupted; finished work is kept", highlight=False)
        return code
    if kind is DiskFull:
        error = disk_full(error)
    if kind is Exception:
        if os.environ.get("CURATE_DEBUG"):
            raise error
        text = f"{type(error).__name__}: {error}"
    else:
        text = str(error)
    # Every error line passes the store's redaction: a key in a URL or a flag never reaches a terminal log.
    stderr.print(f"[bold red]{label}:[/] {escape(redact_text(text))}", highlight=False, soft_wrap=True)
    return code


def progress_bar(
    *fields: str, enabled: bool = True, elapsed: bool = True, eta: bool = False, auto_refresh: bool = True
) -> Progress:
    """The one progress display of the commands: a rich bar on stderr.

    Columns: the task's description in bold, the bar, done/total, elapsed time (`elapsed`), then
    one text column per `fields` template (e.g. "loss {task.fields[loss]}"), then the estimated
    time left (`eta`). Disabled (`enabled=False`, e.g. --no-progress) it draws nothing; it is
    not transient, so the last state stays on screen, except inside `transient_progress()`.
    Start it with `with` or `.start()`.
    """
    columns = [TextColumn("[bold]{task.description}[/]"), BarColumn(), MofNCompleteColumn()]
    if elapsed:
        columns.append(TimeElapsedColumn())
    columns.extend(TextColumn(template) for template in fields)
    if eta:
        columns.extend([TextColumn("eta"), TimeRemainingColumn()])
    disable = not enabled or (_transient and not stderr.is_terminal)
    return Progress(*columns, console=stderr, disable=disable, transient=_transient, auto_refresh=auto_refresh)


@contextmanager
def transient_progress(status: str | None = None) -> Iterator[None]:
    """Bars started inside show only on a terminal and are removed when their work ends, under a
    spinner saying `status`: a one-line-per-stage run (curate run --brief, curate demo) keeps its
    lines, yet a long stage is not silent while it works."""
    global _transient, _spinner
    before, _transient = (_transient, _spinner), True
    try:
        if status is not None and stderr.is_terminal:
            with stderr.status(status) as _spinner:
                yield
        else:
            yield
    finally:
        _transient, _spinner = before


def note(text: str) -> None:
    """A passing status line (what loads, what is left to do): printed on stderr, except inside
    transient_progress(), where it becomes the spinner's text (and nothing off a terminal)."""
    if not _transient:
        stderr.print(text, highlight=False, soft_wrap=True)
    elif _spinner is not None:
        _spinner.update(escape(text))


def run_app(app: typer.Typer, argv: list[str] | None = None) -> None:
    """Run a Typer app as a script: project errors become exit codes by `EXIT_CODES`."""
    try:
        app(args=argv, standalone_mode=True)
    except BaseException as error:  # raised outside a command (an app built without ExitCodeGroup)
        code = report_error(error)
        if code is None:
            raise
        sys.exit(code)


class ExitCodeGroup(TyperGroup):
    """A Typer group that applies `EXIT_CODES` inside click itself.

    Commands invoked any way (the installed scripts, `python -m`, typer.testing.CliRunner on the
    app) exit with the same codes and messages. Use it as `typer.Typer(cls=ExitCodeGroup, ...)`.
    """

    def invoke(self, ctx: typer.Context):
        """Invoke the command; a project error prints one line and exits with its code. SIGTERM
        stops every command as Ctrl-C does (staging removed, run marked interrupted), exit 143."""
        try:
            with sigterm_interrupts():
                return super().invoke(ctx)
        except (Exit, Abort, TyperException):  # click's own exits and usage errors keep their codes
            raise
        except BaseException as error:
            code = report_error(error)
            if code is None:
                raise
            ctx.exit(code)
