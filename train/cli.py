"""The `train` command: a thin Typer layer over train.sft and train.merge."""

from __future__ import annotations

import typer

from db.console import run_app

app = typer.Typer(name="train", help="LoRA SFT of the student on an export.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)


@app.callback()
def _root() -> None:
    """LoRA SFT of the student on an export."""


def main(argv: list[str] | None = None) -> None:
    run_app(app, argv)


if __name__ == "__main__":
    main()
