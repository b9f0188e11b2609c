"""What a model's tokens cost, as the user's price table says, and a grid's tokens estimated
before anything is sent.

The table is a YAML file: each model's price per million input and output tokens, and the
discount its batch runs get::

    currency: USD
    models:
      gpt-4o-mini: {input: 0.15, output: 0.60, batch_discount: 0.5}

Nothing here guesses a price: a model the table does not name has none, and asking for it is
the user's error. Token estimates count about four characters a token of what is sent, and for
the answer about 12 tokens an item asked, at most the tokens a request may generate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from valuecompass.common import line_of, read_file, read_mapping
from valuecompass.errors import ValueCompassError

#: Characters of a prompt per token, for an estimate made without the model's tokenizer.
CHARS_PER_TOKEN = 4.0
#: Tokens of an answer per item asked (a JSON line of a form, or one option code).
ANSWER_TOKENS_PER_ITEM = 12
#: Tokens a price is given for.
PER_TOKENS = 1_000_000


class PricesError(ValueCompassError):
    """A price table that cannot be read, or a model it gives no price for."""


class _Price(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    batch_discount: float = Field(default=0.0, ge=0, lt=1)


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: str = Field(default="USD", min_length=1)
    models: dict[str, _Price] = Field(min_length=1)


@dataclass(frozen=True)
class Price:
    """One model's price per million input and output tokens, and the fraction its batch runs
    take off (0.5: half price)."""

    input: float
    output: float
    batch_discount: float = 0.0

    def cost(self, input_tokens: float, output_tokens: float, batch: bool = False) -> float:
        """What INPUT_TOKENS in and OUTPUT_TOKENS out cost (in a batch run if BATCH)."""
        full = (input_tokens * self.input + output_tokens * self.output) / PER_TOKENS
        return full * (1 - self.batch_discount) if batch else full


@dataclass(frozen=True)
class PriceTable:
    """A price table read from PATH: its currency and each model's price."""

    path: str
    currency: str
    models: Mapping[str, Price]

    def price(self, model: str) -> Price:
        """The price of MODEL: a model spec (``openai:gpt-4o-mini``) or a name the table uses;
        the spec's name (after the backend) is looked for when the spec itself is not there."""
        _, _, name = model.partition(":")
        for key in (model, name.strip()):
            if key and key in self.models:
                return self.models[key]
        known = ", ".join(sorted(self.models))
        raise PricesError(f"{self.path}: no price for model {model!r}; it prices {known}")


def load_prices(path: str | Path) -> PriceTable:
    """The price table at PATH; a bad one is a :class:`PricesError` of one line naming the
    file, the line and the field."""
    origin = str(path)
    text = read_file(path, "price table", PricesError)
    data, node = read_mapping(text, origin, PricesError)
    try:
        table = _Table.model_validate(data)
    except ValidationError as exc:
        raise PricesError(_one_line(exc, node, origin)) from exc
    models = {name: Price(p.input, p.output, p.batch_discount) for name, p in table.models.items()}
    return PriceTable(origin, table.currency, models)


def _one_line(exc: ValidationError, node: Any, origin: str) -> str:
    first = exc.errors()[0]
    loc = [p for p in first["loc"] if not (isinstance(p, str) and "[" in p)]
    field = ".".join(str(p) for p in loc) or "the top level"
    line = line_of(node, loc)
    where = f" line {line}" if line is not None else ""
    more = exc.error_count() - 1
    rest = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{origin}{where}: {field}: {first['msg']}{rest}"


def text_tokens(texts: Sequence[str]) -> float:
    """About how many tokens TEXTS hold together, at :data:`CHARS_PER_TOKEN`."""
    return sum(len(t) for t in texts) / CHARS_PER_TOKEN


def answer_tokens(items: int, max_tokens: int) -> int:
    """About how many tokens an answer to ITEMS items takes, at most MAX_TOKENS."""
    return min(max_tokens, ANSWER_TOKENS_PER_ITEM * max(items, 1))
