"""The review app's config file: reviewer name, theme, key remapping and saved filters.

Default path `$XDG_CONFIG_HOME/trace-distill/review.toml` (`~/.config/...` without
XDG_CONFIG_HOME); `curate review --config PATH` picks another. A missing file means defaults.

    reviewer = "alice"
    theme = "textual-light"
    wait_s = 3.0                 # how long a write waits for a locked store before telling you

    [keys]                       # action name = key or list of keys (names: the help screen, `?`)
    accept = ["a", "y"]
    reject = "x"

    [filters]                    # saved filters: name = SQL WHERE over the queue's columns
    long_wrong = "verdict = 'incorrect' AND length_tokens > 8000"

The app writes the file only to save a filter, rewriting it whole from what it read (comments
are not kept). Nothing here imports Textual.
"""

from __future__ import annotations

import getpass
import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from db.config_file import read_toml
from db.errors import BadInput

from curate.review.keys import KeyAction, key_table


def default_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "trace-distill" / "review.toml"


@dataclass(frozen=True)
class ReviewConfig:
    path: Path
    reviewer: str | None = None
    theme: str | None = None
    wait_s: float = 3.0
    keys: dict[str, object] = field(default_factory=dict)  # the [keys] table as written
    filters: dict[str, str] = field(default_factory=dict)

    def key_table(self) -> tuple[KeyAction, ...]:
        return key_table(self.keys, source=str(self.path))


@dataclass(frozen=True)
class ReviewSettings:
    """What one `curate review` session works on."""

    db_path: Path
    reviewer: str
    queue: str = "pending"
    where: str | None = None


def resolve_reviewer(name: str | None, config: ReviewConfig) -> str:
    """--reviewer, else the config file's reviewer, else $USER (else the login name)."""
    chosen = name or config.reviewer or os.environ.get("USER") or getpass.getuser()
    if not chosen.strip():
        raise BadInput("the reviewer name is empty", field="--reviewer")
    return chosen.strip()


def load_config(path: str | os.PathLike | None = None) -> ReviewConfig:
    """Read the config file; a missing default file gives defaults, a missing named one is bad input."""
    config_path = Path(path) if path is not None else default_config_path()
    if not config_path.exists():
        if path is not None:
            raise BadInput("no such config file", file=str(config_path), field="--config")
        return ReviewConfig(path=config_path)
    data = read_toml(config_path, field="--config")
    known = {"reviewer", "theme", "wait_s", "keys", "filters"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise BadInput(
            f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}", file=str(config_path)
        )
    filters = data.get("filters", {})
    if not isinstance(filters, dict) or not all(isinstance(v, str) for v in filters.values()):
        raise BadInput('[filters] holds name = "SQL WHERE" strings', file=str(config_path), field="filters")
    keys = data.get("keys", {})
    if not isinstance(keys, dict):
        raise BadInput('[keys] holds action = "key" or ["key", ...]', file=str(config_path), field="keys")
    config = ReviewConfig(
        path=config_path,
        reviewer=data.get("reviewer"),
        theme=data.get("theme"),
        wait_s=float(data.get("wait_s", 3.0)),
        keys=keys,
        filters=dict(filters),
    )
    config.key_table()  # a bad remapping fails now, before the app starts
    return config


def save_filter(config: ReviewConfig, name: str, where: str) -> ReviewConfig:
    """Add or replace a saved filter and rewrite the config file; returns the new config."""
    name = name.strip()
    if not name:
        raise BadInput("a saved filter needs a name", field="name")
    updated = replace(config, filters={**config.filters, name: where})
    write_config(updated)
    return updated


def write_config(config: ReviewConfig) -> None:
    # JSON string escapes are valid TOML basic-string escapes; ensure_ascii=False avoids surrogate pairs, which TOML rejects.
    lines = []
    for name in ("reviewer", "theme"):
        value = getattr(config, name)
        if value is not None:
            lines.append(f"{name} = {json.dumps(value, ensure_ascii=False)}")
    lines.append(f"wait_s = {config.wait_s}")
    if config.keys:
        lines += ["", "[keys]"]
        for action, keys in config.keys.items():
            lines.append(f"{action} = {json.dumps(keys, ensure_ascii=False)}")
    if config.filters:
        lines += ["", "[filters]"]
        for name, where in config.filters.items():
            lines.append(f"{json.dumps(name, ensure_ascii=False)} = {json.dumps(where, ensure_ascii=False)}")
    config.path.parent.mkdir(parents=True, exist_ok=True)
    config.path.write_text("\n".join(lines) + "\n", encoding="utf-8")
