"""TOML config files: the one reader and the one key check of every command that takes one.

Used by `curate run` (pipeline config), `curate select --config`, `train sft --config`,
`curate generate --price-file` and the review app's config. `read_toml(path)` returns the parsed
document; a missing, unreadable or malformed file raises `BadInput` naming the file (and the
line, for TOML errors). `config_values(table, Config, file=...)` maps a table's keys to the
config dataclass's field names (`max-tokens` and `max_tokens` alike) and refuses an unknown
key with `BadInput` naming it.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

from db.errors import BadInput


def read_toml(path: str | Path, *, field: str | None = None) -> dict[str, Any]:
    """The parsed TOML document at `path`; BadInput (with `field`, e.g. "--config") when it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise BadInput("no such config file", file=str(path), field=field)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise BadInput(f"cannot read: {error}", file=str(path), field=field) from error
    except tomllib.TOMLDecodeError as error:
        at = re.search(r"at line (\d+)", str(error))  # Python < 3.14 gives the line only in the message
        raise BadInput(
            f"not valid TOML: {error}", file=str(path), line=int(at.group(1)) if at else None, field=field
        ) from error


def config_values(
    table: dict[str, Any], config_class: type, *, file: str | None, what: str = "setting"
) -> dict[str, Any]:
    """The table's values keyed by `config_class` field names (dashes read as underscores); unknown keys are BadInput."""
    known = {f.name for f in fields(config_class)}
    values = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if name not in known:
            raise BadInput(f"unknown {what}; known: {', '.join(sorted(known))}", file=file, field=key)
        values[name] = value
    return values
