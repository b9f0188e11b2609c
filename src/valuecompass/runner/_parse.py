"""A prompt's outcome → the rows the store keeps: one per item asked."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
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
    language is parsed (a mode-all answer's keys are the item names as the prompt showed them).

    What parsing needs of a prompt beyond its answer (its view of the instrument, its scales,
    their positions, its context's columns) is worked out once per language, scale and
    context, not once per answer."""

    def __init__(self, instrument: Instrument) -> None:
        self.base = instrument
        self._made: dict[str, Instrument] = {}
        axis = instrument.language_axis
        self._axis = axis.id if axis is not None else None
        self._shapes: dict[tuple[str | None, str], _Shape] = {}
        self._contexts: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}

    def of(self, prompt: Prompt) -> Instrument:
        return self._of(self._language(prompt))

    def _language(self, prompt: Prompt) -> str | None:
        if self._axis is None:
            return None
        for axis, level in prompt.context:
            if axis == self._axis:
                return None if level == self.base.language else level
        return None

    def _of(self, language: str | None) -> Instrument:
        if language is None:
            return self.base
        if language not in self._made:
            self._made[language] = translate(self.base, language)
        return self._made[language]

    def shape(self, prompt: Prompt) -> _Shape:
        """PROMPT's view of the instrument, its scale and the others, and its positions."""
        key = (self._language(prompt), prompt.scale)
        found = self._shapes.get(key)
        if found is None:
            instrument = self._of(key[0])
            scale, fallbacks = _scales(instrument, prompt)
            positions = dict(zip(scale.codes, scale.positions, strict=True))
            found = self._shapes[key] = _Shape(instrument, scale, fallbacks, positions)
        return found

    def context_row(self, prompt: Prompt) -> dict[str, str]:
        """PROMPT's context's columns (a dict shared by every caller: copy it to change it)."""
        found = self._contexts.get(prompt.context)
        if found is None:
            found = self._contexts[prompt.context] = context_row(prompt.context)
        return found


@dataclass(frozen=True)
class _Shape:
    """What parsing a prompt's answer needs besides the answer: see :meth:`Views.shape`."""

    instrument: Instrument
    scale: RatingScale
    fallbacks: tuple[RatingScale, ...]
    positions: dict[str, float]


def _views(instrument: Instrument | Views) -> Views:
    return instrument if isinstance(instrument, Views) else Views(instrument)


def probs_text(probs: Mapping[str, float]) -> str:
    """An option distribution as the store keeps it: ``json.dumps(probs, sort_keys=True)``,
    written directly for the usual codes and finite probabilities (the same text)."""
    parts = []
    for code in sorted(probs):
        p = probs[code]
        if type(p) is not float or not math.isfinite(p) or not _plain(code):
            return json.dumps(probs, sort_keys=True)
        parts.append(f'"{code}": {p!r}')
    return "{" + ", ".join(parts) + "}"


def _plain(code: object) -> bool:
    """CODE is a string JSON writes as it is, between quotes."""
    return (
        isinstance(code, str)
        and code.isascii()
        and code.isprintable()
        and '"' not in code
        and "\\" not in code
    )


def parse_outcome(
    instrument: Instrument | Views,
    prompt: Prompt,
    completion: Completion | None,
    error: str | None,
) -> list[Parsed]:
    """One :class:`Parsed` per item of PROMPT, in ``prompt.values`` order."""
    return _parse(_views(instrument).shape(prompt), prompt, completion, error)


def _parse(
    shape: _Shape, prompt: Prompt, completion: Completion | None, error: str | None
) -> list[Parsed]:
    if completion is None:
        text = f"ERROR: {error or 'no answer'}"
        return [Parsed(raw=text[:500], missing=Missing.ERROR) for _ in prompt.values]
    if prompt.mode == "item":
        return [parse_item(completion.text, shape.scale, shape.fallbacks)]
    parsed = parse_all(completion.text, shape.instrument, shape.scale, shape.fallbacks)
    return [parsed.answers[v] for v in prompt.values]


def answer_rows(
    instrument: Instrument | Views,
    prompt: Prompt,
    sample: int,
    completion: Completion | None,
    error: str | None,
) -> list[dict[str, Any]]:
    """The store's answer rows for one prompt and sample."""
    views = _views(instrument)
    shape = views.shape(prompt)
    parsed = _parse(shape, prompt, completion, error)
    probs = completion.option_probs if completion is not None else None
    # what every row of the prompt shares, worked out once (mode all has one row per item)
    shared = {
        **views.context_row(prompt),
        "variant": prompt.variant,
        "sample": sample,
        "probs": probs_text(probs) if probs else None,
        "option_mass": completion.option_mass if completion is not None else None,
        "expected": expected_position(probs, shape.positions) if probs else None,
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
