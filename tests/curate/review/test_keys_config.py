"""The key table, its remapping, and the config file."""

from __future__ import annotations

import tomllib

import pytest

from db import BadInput
from curate.review.config import ReviewConfig, load_config, resolve_reviewer, save_filter
from curate.review.keys import KEY_TABLE, key_table


def test_default_key_table_has_one_key_per_decision_and_no_clashes():
    table = key_table()
    by_name = {entry.name: entry for entry in table}
    assert [
        by_name[d].keys[0] for d in ("accept", "reject", "flag", "skip", "undo", "note", "correct", "search", "help")
    ] == ["a", "r", "f", "s", "u", "n", "c", "/", "?"]
    assert len({entry.name for entry in KEY_TABLE}) == len(KEY_TABLE)


def test_remapping_replaces_an_actions_keys(tmp_path):
    path = tmp_path / "review.toml"
    path.write_text('[keys]\naccept = ["y", "enter"]\nreject = "x,X"\n', encoding="utf-8")
    table = load_config(path).key_table()
    by_name = {entry.name: entry for entry in table}
    assert by_name["accept"].keys == ("y", "enter") and by_name["reject"].keys == ("x", "X")


def test_remapping_onto_a_taken_key_or_an_unknown_action_is_bad_input(tmp_path):
    with pytest.raises(BadInput, match="'a' is bound to both"):
        key_table({"reject": "a"})
    with pytest.raises(BadInput, match="unknown action"):
        key_table({"acept": "y"})
    with pytest.raises(BadInput, match="bound to both"):
        key_table({"compare_next": "q"})  # q quits everywhere, the compare view included
    path = tmp_path / "review.toml"
    path.write_text('[keys]\nflag = "u"\n', encoding="utf-8")
    with pytest.raises(BadInput) as error:
        load_config(path)
    assert str(path) in str(error.value)


def test_a_key_may_repeat_across_screens_that_never_show_together():
    by_name = {entry.name: entry for entry in key_table()}
    assert "pagedown" in by_name["page_down"].keys and "pagedown" in by_name["compare_page_down"].keys


def test_missing_default_config_gives_defaults_and_a_missing_named_one_is_bad_input(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert load_config().filters == {}
    with pytest.raises(BadInput, match="no such config file"):
        load_config(tmp_path / "absent.toml")


def test_saved_filter_round_trips_through_the_file_with_quotes_and_backslashes(tmp_path):
    path = tmp_path / "sub" / "review.toml"
    config = ReviewConfig(path=path, reviewer="zoë", keys={"accept": ["y"]})
    where = "answer = '\\frac{1}{2}' AND question LIKE '%\"x\"%' AND model <> 'é😀'"
    saved = save_filter(config, "half", where)
    assert saved.filters == {"half": where}
    assert tomllib.loads(path.read_text(encoding="utf-8"))["filters"]["half"] == where
    again = load_config(path)
    assert again.filters == {"half": where} and again.reviewer == "zoë" and again.keys == {"accept": ["y"]}


def test_reviewer_comes_from_the_flag_then_the_config_then_user(monkeypatch, tmp_path):
    monkeypatch.setenv("USER", "carol")
    config = ReviewConfig(path=tmp_path / "r.toml", reviewer="dave")
    assert resolve_reviewer("erin", config) == "erin"
    assert resolve_reviewer(None, config) == "dave"
    assert resolve_reviewer(None, ReviewConfig(path=tmp_path / "r.toml")) == "carol"
