"""The choice task: each prompt shows one context, one item and its two actions (from an
action set in the same store), and the model picks one (``run --task choice --actions SET``).

The pairs come from the set: a place with both actions is asked; one lacking either action
(not generated yet, or kept missing) is left out and counted; with ``--only-reviewed`` so is a
pair whose two actions did not both pass review (:mod:`valuecompass.store.reviews`). Each
variant of the choice design shows the pair in its own order (see
:mod:`valuecompass.prompts._choice`); the stored answer keeps the inclination chosen
(``code``: ``expresses`` or ``opposes``, ``position`` 0 or 1: the share of the opposing
action, as the gap reads it) and the place it was shown in (``place``), and the backend's
probabilities by inclination, so no analysis needs the order again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from valuecompass import __version__
from valuecompass.answers import Inclination, Missing, parse_choice
from valuecompass.errors import ValueCompassError
from valuecompass.instrument import Instrument, instrument_digest
from valuecompass.models import Backend, Completion, Request
from valuecompass.prompts import (
    OPTION_CODES,
    ChoiceDesign,
    ChoicePrompt,
    choice_origin,
    load_choice_design,
    render_choice,
)
from valuecompass.runner._config import (
    RunConfig,
    cache_key,
    chosen_items,
    chosen_levels,
    grid_contexts,
)
from valuecompass.runner._plan import Job, Sharing
from valuecompass.store import actions as action_store
from valuecompass.store import open_store, redact
from valuecompass.store import reviews as review_store
from valuecompass.store.actions import place_of
from valuecompass.store.runs import RunGrid, RunManifest, RunParams, context_row, default_name

#: Tokens to generate per format when the user gives no --max-tokens: a number, a JSON object
#: with the action alone, one with an explanation too.
CHOICE_TOKENS = {"number": 6, "json": 24, "explained": 160}

Pair = tuple[tuple[tuple[str, str], ...], str]  # (context's (axis, level) pairs, item id)


class ChoiceSetError(ValueCompassError, ValueError):
    """A choice run's action set is missing, of another instrument, or has no pair to ask."""


@dataclass(frozen=True)
class ChoiceTask:
    """What a choice run asks: the design, and the set's pairs (inclination → action text)."""

    config: RunConfig
    instrument: Instrument
    design: ChoiceDesign
    pairs: dict[Pair, dict[Inclination, str]]
    lacking: int  # places of the grid whose pair lacks an action

    @classmethod
    def load(cls, config: RunConfig, instrument: Instrument) -> ChoiceTask:
        """CONFIG's choice design and the pairs of its action set (refused in one line: no
        set named, a set the store lacks, a set of another instrument, no whole pair)."""
        if config.mode != "item":
            raise ChoiceSetError("--task choice asks one item per prompt: leave out --mode all")
        if not config.actions:
            raise ChoiceSetError(
                "--task choice needs --actions SET: an action set in the store "
                "(valuecompass actions generate or actions import makes one)"
            )
        design = load_choice_design(config.prompts_path, instrument)
        pairs, lacking = _pairs(config, instrument)
        return cls(config, instrument, design, pairs, lacking)

    def digest(self) -> str:
        """SHA-256 of the design as data (the run's ``prompts_digest``)."""
        text = json.dumps(self.design.model_dump(mode="json", by_alias=True), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def max_tokens(self, fmt: str) -> int:
        shape = self.design.formats[fmt]
        kind = "explained" if shape.explanation else "json" if shape.json_reply else "number"
        return self.config.max_tokens or CHOICE_TOKENS[kind]

    def variants(self) -> list[int]:
        return self.config.variants or [v.index for v in self.design.variants]

    def params(self) -> dict[str, Any]:
        most = max(self.max_tokens(self.design.variant(v).format) for v in self.variants())
        return {"temperature": self.config.temperature, "max_tokens": most,
                "seed": self.config.seed}  # fmt: skip

    def manifest(self, backend: Backend) -> RunManifest:
        """The run's record before it asks: a choice run of its action set."""
        config, instrument = self.config, self.instrument
        grid = RunGrid(
            axes=chosen_levels(instrument, config),
            items=chosen_items(instrument, config),
            variants=self.variants(),
        )
        partial = bool(config.countries or config.scenarios or config.where or config.items
                       or config.variants)  # fmt: skip
        base = default_name(config.model, "item", grid, config.samples, partial=partial,
                            instrument=instrument)  # fmt: skip
        return RunManifest(
            name=config.run or "-choice".join(base.rsplit("-item", 1)) + f"-{config.actions}",
            model=backend.identity,
            spec=config.model,
            mode="item",
            params=RunParams(**self.params(), samples=config.samples),
            grid=grid,
            instrument=instrument_digest(instrument),
            prompts_digest=self.digest(),
            version=__version__,
            instrument_spec=instrument.to_data(),
            prompt_design=self.design.model_dump(mode="json", by_alias=True),
            task="choice",
            action_set=config.actions,
        )

    def jobs(self, backend: Backend | str, sharing: Sharing | None = None) -> Iterator[Job]:
        """The run's jobs in order: context, variant, item, sample; pairs lacking an action
        are left out. BACKEND may be only its identity (a dry run). SHARING is not needed: a
        choice's key holds its place and order, so no two jobs share one."""
        config, instrument, design = self.config, self.instrument, self.design
        origin = choice_origin(config.prompts_path)
        variants = [design.variant(v) for v in self.variants()]
        items = chosen_items(instrument, config)
        for context in grid_contexts(instrument, config):
            where = tuple((a.id, context[a.id]) for a in instrument.axes)
            for variant in variants:  # a context and variant is one block (runner/_batch.py)
                for item in items:
                    texts = self.pairs.get((where, item))
                    if texts is None:
                        continue
                    prompt = render_choice(instrument, design, context, item, texts, variant,
                                           origin)  # fmt: skip
                    yield from self._samples(prompt, variant.format, backend)

    def _samples(self, prompt: ChoicePrompt, fmt: str, backend: Backend | str) -> Iterator[Job]:
        config = self.config
        schema = self.design.reply_schema(self.design.variant(prompt.variant))
        numbered = schema is None
        max_tokens = self.max_tokens(fmt)
        # the place and order belong to the key: two places (or both orders of a pair whose
        # two actions read the same) may show the very same text, and each keeps its answer
        place = [[list(c) for c in prompt.context], prompt.value, list(prompt.order)]
        params = {"task": "choice", "temperature": config.temperature, "max_tokens": max_tokens,
                  "seed": config.seed, "json_schema": schema, "place": place}  # fmt: skip
        messages = prompt.messages()
        for sample in range(config.samples):
            request = Request(
                messages=messages,
                temperature=config.temperature,
                max_tokens=max_tokens,
                seed=config.seed + sample,
                options=OPTION_CODES if numbered else (),
                codes=OPTION_CODES,
                json_schema=schema,
                choices=prompt.texts,
            )
            identity = backend if isinstance(backend, str) else backend.identity
            key = cache_key(identity, params, messages, sample)
            yield Job(prompt, sample, key, request, call=key)

    def count(self) -> int:
        """Places of the grid asked (pairs with both actions)."""
        return len(self.pairs)


def _pairs(
    config: RunConfig, instrument: Instrument
) -> tuple[dict[Pair, dict[Inclination, str]], int]:
    """The set's whole pairs over the run's grid, and how many places of the grid lack one."""
    where = redact(config.db)
    try:
        engine = open_store(config.db, create=False)
    except ValueCompassError as exc:
        raise ChoiceSetError(f"--actions {config.actions}: {exc}") from exc
    try:
        found = action_store.get_set(engine, str(config.actions))
        if found is None:
            known = ", ".join(s.name for s in action_store.list_sets(engine)) or "none"
            raise ChoiceSetError(
                f"--actions {config.actions}: no action set of that name in {where}; "
                f"sets there: {known}"
            )
        if found.instrument != instrument.id:
            raise ChoiceSetError(
                f"--actions {config.actions}: the set holds actions of instrument "
                f"{found.instrument!r}, the run asks {instrument.id!r}; give --instrument "
                f"{found.instrument} or another set"
            )
        table = action_store.set_actions(engine, found)
        passed = review_store.passed_places(engine, found) if config.only_reviewed else None
    finally:
        engine.dispose()
    axes = [a.id for a in instrument.axes]
    held: dict[Pair, dict[Inclination, str]] = {}
    for row in table[table["missing"] == ""].itertuples(index=False):
        record = row._asdict()
        context = tuple((a, str(record[a])) for a in axes)
        inclination: Inclination = "opposes" if record["inclination"] == "opposes" else "expresses"
        if passed is not None and place_of(context, record["value"], inclination) not in passed:
            continue  # --only-reviewed: an action that did not pass is as if it were not there
        held.setdefault((context, str(record["value"])), {})[inclination] = str(record["action"])
    items = set(chosen_items(instrument, config))
    wanted = {(tuple((a, c[a]) for a in axes), i) for c in grid_contexts(instrument, config)
              for i in items}  # fmt: skip
    pairs = {k: v for k, v in held.items() if k in wanted and len(v) == 2}
    if not pairs and passed is not None:
        raise ChoiceSetError(
            f"--actions {config.actions} --only-reviewed: no pair in the contexts the run asks "
            f"has both actions passed review ({len(passed)} actions of the set passed); see "
            f"valuecompass actions review-report {config.actions}"
        )
    if not pairs:
        raise ChoiceSetError(
            f"--actions {config.actions}: the set has no item with both actions (expresses and "
            "opposes) in the contexts the run asks; generate or import them first"
        )
    return pairs, len(wanted) - len(pairs)


def choice_rows(
    prompt: ChoicePrompt, sample: int, completion: Completion | None, error: str | None
) -> list[dict[str, Any]]:
    """The store's answer row for one choice prompt and sample: the inclination chosen (its
    ``code``; ``position`` 1 for the opposing action, 0 for the expressing one), the place it
    was shown in, and the backend's probabilities by inclination."""
    row: dict[str, Any] = {**context_row(prompt.context), "variant": prompt.variant,
                           "sample": sample, "value": prompt.value, "code": None,
                           "position": None, "place": None, "probs": None,
                           "option_mass": None, "expected": None}  # fmt: skip
    if completion is None:
        text = f"ERROR: {error or 'no answer'}"
        return [{**row, "raw": text[:500], "missing": Missing.ERROR.value}]
    option, missing = parse_choice(completion.text)
    row["raw"] = completion.text
    probs = completion.option_probs
    if probs and all(c in probs for c in OPTION_CODES):
        by = {prompt.order[k]: float(probs[c]) for k, c in enumerate(OPTION_CODES)}
        row["probs"] = json.dumps(by, sort_keys=True)
        row["option_mass"] = completion.option_mass
        row["expected"] = by["opposes"]
    if option is None:
        return [{**row, "missing": missing}]
    chosen = prompt.order[option - 1]
    return [{**row, "code": chosen, "position": 1.0 if chosen == "opposes" else 0.0,
             "place": option, "missing": None}]  # fmt: skip
