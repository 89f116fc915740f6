"""The one TOML reader: missing, malformed and unknown keys are bad input naming file, line and key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from db import BadInput
from db.config_file import config_values, read_toml


@dataclass(frozen=True)
class Example:
    max_tokens: int = 1
    name: str = "x"


def test_a_good_file_is_read_and_dashes_map_to_fields(tmp_path: Path):
    path = tmp_path / "c.toml"
    path.write_text('[sft]\nmax-tokens = 5\nname = "y"\n', encoding="utf-8")
    assert config_values(read_toml(path)["sft"], Example, file=str(path)) == {"max_tokens": 5, "name": "y"}


def test_missing_and_malformed_files_name_the_file_and_line(tmp_path: Path):
    with pytest.raises(BadInput, match="no such config file") as missing:
        read_toml(tmp_path / "none.toml", field="--config")
    assert missing.value.field == "--config"
    bad = tmp_path / "bad.toml"
    bad.write_text('a = 1\nb = "unclosed\n', encoding="utf-8")
    with pytest.raises(BadInput, match="not valid TOML") as malformed:
        read_toml(bad)
    assert malformed.value.file == str(bad) and malformed.value.line == 2


def test_an_unknown_key_is_named(tmp_path: Path):
    with pytest.raises(BadInput, match="unknown setting; known: max_tokens, name") as unknown:
        config_values({"max_token": 3}, Example, file="c.toml")
    assert unknown.value.field == "max_token"
