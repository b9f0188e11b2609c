"""What a planned study costs: model prompts and tokens, participants and their time, money.

Token counts are estimates: the prompt design rendered for the study's contexts, at about 4
characters per token, plus an answer of about 12 tokens per value asked (a JSON line, or an
option code in item mode). Pass the figure you measured (``tokens_per_prompt``) to replace it.
Money is given only for the prices given: one price per 1,000 tokens, or a model's price per
million input and output tokens from a price table (with the cost of a batch run beside it
when the table gives a batch discount).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from valuecompass.instrument import Instrument
from valuecompass.models import Price
from valuecompass.prompts import Mode, PromptSet, render_grid

CHARS_PER_TOKEN = 4.0
ANSWER_TOKENS_PER_VALUE = 12.0


@dataclass(frozen=True)
class Costs:
    """The figures a plan's costs are computed from."""

    tokens_per_prompt: float
    prompts_per_sample: (
        int  # prompts of one sample of the whole grid (contexts × variants [× values])
    )
    contexts: int
    minutes_per_participant: float = 15.0
    price_per_1k_tokens: float | None = None
    pay_per_hour: float | None = None
    #: With a price table's PRICE: the tokens a prompt sends (the rest of tokens_per_prompt
    #: are its answer's), and the model's price.
    input_tokens_per_prompt: float = 0.0
    price: Price | None = None


def estimate_tokens(
    instrument: Instrument, prompts: PromptSet, contexts: Iterable[tuple[str, str]], mode: Mode
) -> tuple[float, int]:
    """(mean tokens per prompt, prompts per sample of the grid) of the design over CONTEXTS."""
    sent, answer, count = estimate_io_tokens(instrument, prompts, contexts, mode)
    return sent + answer, count


def estimate_io_tokens(
    instrument: Instrument, prompts: PromptSet, contexts: Iterable[tuple[str, str]], mode: Mode
) -> tuple[float, float, int]:
    """(mean tokens a prompt sends, mean tokens of its answer, prompts per sample of the grid)
    of the design over CONTEXTS."""
    rendered = render_grid(instrument, prompts, list(contexts), mode)
    if not rendered:
        return 0.0, 0.0, 0
    chars = sum(len(p.system) + len(p.user) for p in rendered) / len(rendered)
    answer = ANSWER_TOKENS_PER_VALUE * sum(len(p.values) for p in rendered) / len(rendered)
    return chars / CHARS_PER_TOKEN, answer, len(rendered)


def with_costs(plan: pd.DataFrame, costs: Costs) -> pd.DataFrame:
    """PLAN (rows of ``plan_people``) with participants, hours, prompts, tokens and money."""
    out = plan.copy()
    people = pd.to_numeric(out["people_per_context"], errors="coerce")
    out["participants"] = people * costs.contexts
    out["participant_hours"] = out["participants"] * costs.minutes_per_participant / 60
    out["prompts"] = out["samples_per_prompt"] * costs.prompts_per_sample
    out["tokens"] = (out["prompts"] * costs.tokens_per_prompt).round()
    money = []
    if costs.price is not None:  # priced apart: what prompts send, what their answers take
        out["input_tokens"] = (out["prompts"] * costs.input_tokens_per_prompt).round()
        out["output_tokens"] = out["tokens"] - out["input_tokens"]
        out["token_cost"] = costs.price.cost(out["input_tokens"], out["output_tokens"])
        if costs.price.batch_discount:
            out["batch_token_cost"] = costs.price.cost(
                out["input_tokens"], out["output_tokens"], batch=True
            )
        money.append("token_cost")
    elif costs.price_per_1k_tokens is not None:
        out["token_cost"] = out["tokens"] / 1000 * costs.price_per_1k_tokens
        money.append("token_cost")
    if costs.pay_per_hour is not None:
        out["participant_cost"] = out["participant_hours"] * costs.pay_per_hour
        money.append("participant_cost")
    if money:
        out["total_cost"] = out[money].sum(axis=1, min_count=len(money))
    return out
