"""Prices per model: defaults for DeepSeek-R1, a TOML table, flags."""

from __future__ import annotations

import pytest

from curate.pricing import R1_LIST_PRICE, Price, load_price_table, resolve_price
from db import BadInput


def test_r1_defaults_match_api_and_hub_names():
    assert resolve_price("deepseek-reasoner") == R1_LIST_PRICE
    assert resolve_price("deepseek-ai/DeepSeek-R1") == R1_LIST_PRICE
    assert resolve_price("my-finetune") is None


def test_flags_beat_the_toml_file_which_beats_the_defaults(tmp_path):
    table = tmp_path / "prices.toml"
    table.write_text('[models."deepseek-reasoner"]\ninput = 0.14\noutput = 0.28\n', encoding="utf-8")
    assert resolve_price("deepseek-reasoner", table_file=table) == Price(0.14, 0.28)
    assert resolve_price("deepseek-reasoner", table_file=table, price_in=1, price_out=2) == Price(1, 2)
    assert resolve_price("deepseek-chat", table_file=table) == Price(0.27, 1.10)


def test_cost_is_per_million_tokens():
    assert Price(0.55, 2.19).cost(1_000_000, 2_000_000) == pytest.approx(0.55 + 4.38)
    assert Price(1, 1).cost(None, None) == 0


@pytest.mark.parametrize(
    "text", ['[models."x"]\ninput = 1\n', "models = 3\n", "[models\n", '[models."x"]\ninput=-1\noutput=1\n']
)
def test_bad_price_tables_are_bad_input(tmp_path, text):
    table = tmp_path / "prices.toml"
    table.write_text(text, encoding="utf-8")
    with pytest.raises(BadInput):
        load_price_table(table)


def test_one_price_flag_alone_is_bad_input():
    with pytest.raises(BadInput):
        resolve_price("deepseek-reasoner", price_in=1.0)
