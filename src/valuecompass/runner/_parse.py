"""A prompt's outcome → the rows the store keeps: one per item asked."""

from __future__ import annotations

import json
from typing import Any

from valuecompass.answers import Missing, Parsed, parse_all, parse_item
from valuecompass.instrument import Instrument, RatingScale, translate
from valuecompass.models import Completion, expected_position
from valuecompass.prompts import Prompt
from valuecompass.store.runs import context_row


def _scales(instrument: Instrument, prompt: Prompt) -> tuple[RatingScale, tuple[RatingScale, ...]]:
    """The scale PROMPT offered, and the instrument's other model scales, in ``roles`` order
    (a label of another wording's scale still names the same position)."""
    scale = instrument.scale(prompt.scale)
    others = dict.fromkeys(s for s in instrument.roles.wordings.values() if s != scale.id)
    return scale, tuple(instrument.scale(s) for s in others)


class Views:
    """An instrument and its translations, each made once, the first time a prompt in that
    language is parsed (a mode-all answer's keys are the item names as the prompt showed them)."""

    def __init__(self, instrument: Instrument) -> None:
        self.base = instrument
        self._made: dict[str, Instrument] = {}

    def of(self, prompt: Prompt) -> Instrument:
        axis = self.base.language_axis
        language = prompt.levels.get(axis.id) if axis is not None else None
        if language is None or language == self.base.language:
            return self.base
        if language not in self._made:
            self._made[language] = translate(self.base, language)
        return self._made[language]


def _instrument(instrument: Instrument | Views, prompt: Prompt) -> Instrument:
    return instrument.of(prompt) if isinstance(instrument, Views) else instrument


def parse_outcome(
    instrument: Instrument | Views,
    prompt: Prompt,
    completion: Completion | None,
    error: str | None,
) -> list[Parsed]:
    """One :class:`Parsed` per item of PROMPT, in ``prompt.values`` order."""
    instrument = _instrument(instrument, prompt)
    if completion is None:
        text = f"ERROR: {error or 'no answer'}"
        return [Parsed(raw=text[:500], missing=Missing.ERROR) for _ in prompt.values]
    scale, fallbacks = _scales(instrument, prompt)
    if prompt.mode == "item":
        return [parse_item(completion.text, scale, fallbacks)]
    parsed = parse_all(completion.text, instrument, scale, fallbacks)
    return [parsed.answers[v] for v in prompt.values]


def answer_rows(
    instrument: Instrument | Views,
    prompt: Prompt,
    sample: int,
    completion: Completion | None,
    error: str | None,
) -> list[dict[str, Any]]:
    """The store's answer rows for one prompt and sample."""
    parsed = parse_outcome(instrument, prompt, completion, error)
    scale, _ = _scales(_instrument(instrument, prompt), prompt)
    positions = dict(zip(scale.codes, scale.positions, strict=True))
    probs = completion.option_probs if completion is not None else None
    probs_json = json.dumps(probs, sort_keys=True) if probs else None
    # what every row of the prompt shares, worked out once (mode all has one row per item)
    shared = {
        **context_row(prompt.context),
        "variant": prompt.variant,
        "sample": sample,
        "probs": probs_json,
        "option_mass": completion.option_mass if completion is not None else None,
        "expected": expected_position(probs, positions) if probs else None,
    }
    whole = completion.text if completion is not None and prompt.mode != "all" else None
    return [
        {
            **shared,
            "value": value,
            "raw": p.raw if whole is None else whole,
            "code": p.code,
            "position": p.position,
            "missing": p.missing.value if p.missing else None,
        }
        for value, p in zip(prompt.values, parsed, strict=True)
    ]
