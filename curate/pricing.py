"""Token prices: USD per million input and output tokens, per model.

Contract
- `DEFAULT_PRICES` holds list prices for DeepSeek-R1 under its API and hub names; local models
  cost nothing. `load_price_table(path)` reads a TOML file of overrides:

      [models."deepseek-reasoner"]
      input = 0.55     # USD per million prompt tokens
      output = 2.19    # USD per million completion tokens (reasoning included)

- `resolve_price(model, table_file=, price_in=, price_out=)` picks, in order: both `--price-in`
  and `--price-out` flags, the TOML file, the defaults; a model is matched by exact name, then
  case-insensitively, then by its last path component ("deepseek-ai/DeepSeek-R1" -> "deepseek-r1").
  None when the model is unknown: costs are then not recorded and a budget cannot be enforced.
- `Price.cost(prompt_tokens, completion_tokens)` is the USD cost of one request.

Caveat: providers change prices and offer cache-hit, off-peak and batch discounts (batch APIs
cost about half); the defaults are cache-miss list prices of DeepSeek's API for deepseek-reasoner
(R1) as published in 2025. Pass your provider's prices with the flags or a TOML file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from db.config_file import read_toml
from db.errors import BadInput


@dataclass(frozen=True)
class Price:
    """USD per million prompt and completion tokens."""

    input_per_m: float  # USD per million prompt tokens
    output_per_m: float  # USD per million completion tokens

    def cost(self, prompt_tokens: int | None, completion_tokens: int | None) -> float:
        """USD for one request's usage (unknown counts count as zero)."""
        return ((prompt_tokens or 0) * self.input_per_m + (completion_tokens or 0) * self.output_per_m) / 1_000_000


R1_LIST_PRICE = Price(0.55, 2.19)

DEFAULT_PRICES: dict[str, Price] = {
    "deepseek-reasoner": R1_LIST_PRICE,
    "deepseek-r1": R1_LIST_PRICE,
    "deepseek-chat": Price(0.27, 1.10),
    "local": Price(0.0, 0.0),
}


def load_price_table(path: str | Path) -> dict[str, Price]:
    """Prices from a TOML file with one `[models."NAME"]` table (input, output) per model."""
    data = read_toml(path, field="--price-file")
    models = data.get("models")
    if not isinstance(models, dict) or not models:
        raise BadInput('expected [models."NAME"] tables with input and output prices', file=str(path), field="models")
    table = {}
    for name, entry in models.items():
        try:
            table[name] = Price(float(entry["input"]), float(entry["output"]))
        except (KeyError, TypeError, ValueError) as error:
            raise BadInput(
                f"model {name!r} needs numeric input and output prices", file=str(path), field=f"models.{name}"
            ) from error
        if table[name].input_per_m < 0 or table[name].output_per_m < 0:
            raise BadInput(f"model {name!r} has a negative price", file=str(path), field=f"models.{name}")
    return table


def _lookup(model: str, table: dict[str, Price]) -> Price | None:
    if model in table:
        return table[model]
    lowered = {name.lower(): price for name, price in table.items()}
    for key in (model.lower(), model.rstrip("/").rsplit("/", 1)[-1].lower()):
        if key in lowered:
            return lowered[key]
    return None


def resolve_price(
    model: str,
    *,
    table_file: str | Path | None = None,
    price_in: float | None = None,
    price_out: float | None = None,
) -> Price | None:
    """The price of `model`: flags, then the TOML file, then the defaults; None when unknown."""
    if (price_in is None) != (price_out is None):
        raise BadInput(
            "give --price-in and --price-out together", field="--price-in" if price_in is None else "--price-out"
        )
    if price_in is not None and price_out is not None:
        if price_in < 0 or price_out < 0:
            raise BadInput("prices cannot be negative", field="--price-in")
        return Price(price_in, price_out)
    if table_file is not None:
        found = _lookup(model, load_price_table(table_file))
        if found is not None:
            return found
    return _lookup(model, DEFAULT_PRICES)
