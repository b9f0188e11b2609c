"""What a run is: the model, the grid, the parameters and where answers go."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from valuecompass.errors import ValueCompassError
from valuecompass.instrument import Instrument, UnknownNameError
from valuecompass.prompts import Mode, PromptSet
from valuecompass.store.runs import design_digest

#: Tokens to generate when the user gives no --max-tokens.
DEFAULT_MAX_TOKENS: dict[str, int] = {"all": 1024, "item": 3}


#: RunConfig's old field names → today's; and mode ``all``'s old name.
OLD_FIELDS = {"topics": "scenarios", "values": "items"}
OLD_MODES = {"form": "all"}


class RunConfig(BaseModel):
    """Everything that defines a run; the CLI builds one, Python callers may too."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field("local", description="backend spec: local, local:PATH, openai:NAME, mock")
    backend_options: dict[str, Any] = Field(default_factory=dict)
    db: str = Field("valuecompass.db", description="SQLite path or database URL")
    run: str | None = Field(None, description="run name; derived from model and grid if omitted")
    mode: Mode = Field("item", description="all: every item in one prompt; item: one each")
    task: Literal["rating", "choice"] = Field(
        "rating", description="rating: items on a scale; choice: one of an item's two actions"
    )
    actions: str | None = Field(None, description="the choice task's action set in the store")
    only_reviewed: bool = Field(
        False, description="choice: ask only the pairs whose two actions both passed review"
    )
    countries: list[str] = Field(
        default_factory=list, description="levels of the country axis; all when empty"
    )
    scenarios: list[str] = Field(
        default_factory=list, description="levels of the scenario axis; all when empty"
    )
    where: dict[str, list[str]] = Field(
        default_factory=dict, description="axis id → the levels to ask; every level of the rest"
    )
    items: list[str] = Field(default_factory=list, description="the items to ask; all when empty")
    variants: list[int] = Field(default_factory=list, description="all when empty")
    samples: int = Field(1, ge=1)
    temperature: float = Field(0.2, ge=0.0, le=2.0)
    max_tokens: int | None = Field(None, ge=1)
    seed: int = 0
    concurrency: int = Field(8, ge=1, le=1024)
    retries: int = Field(5, ge=0)
    backoff: float = Field(0.5, ge=0.0, description="first retry delay in seconds; doubles")
    max_failures: int = Field(20, ge=1, description="consecutive failed prompts that stop a run")
    instrument_path: Path | None = None
    prompts_path: Path | None = None
    progress: bool = True
    executor: Literal["local", "ray"] = Field(
        "local", description="local: threads in this process; ray: actors on a Ray cluster"
    )
    ray_address: str | None = Field(
        None, description="the Ray cluster to join; a local one is started when omitted"
    )
    ray_workers: int | None = Field(
        None, ge=1, description="Ray actors, each with its own backend; default: as resources allow"
    )
    batch: bool = Field(
        False,
        description="send the prompts as provider batches (openai, anthropic)",
    )
    batch_size: int | None = Field(
        None, ge=1, description="the most requests per batch; default: the provider's limit"
    )
    batch_poll: float = Field(
        10.0, gt=0.0, description="seconds before a batch is first polled; doubles to 5 minutes"
    )
    max_prompts: int = Field(
        1_000_000,
        ge=1,
        description="the most prompts (x samples) a run may plan; a larger grid is refused, "
        "counted before anything is built",
    )

    @model_validator(mode="before")
    @classmethod
    def _old_names(cls, data: Any) -> Any:
        """The settings' old names, still accepted: ``topics`` (now ``scenarios``), ``values``
        (now ``items``) and mode ``form`` (now ``all``). Old and new name together are refused."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for old, new in OLD_FIELDS.items():
            if old in data:
                if new in data:
                    raise ValueError(f"{old} is the old name of {new}: give one of them")
                data[new] = data.pop(old)
        if data.get("mode") in OLD_MODES:
            data["mode"] = OLD_MODES[data["mode"]]
        return data

    @model_validator(mode="after")
    def _once_each(self) -> RunConfig:
        """A variant named twice (``--variants 0 --variants 0,1``) is asked once."""
        self.variants = list(dict.fromkeys(self.variants))
        return self

    def resolved_max_tokens(self) -> int:
        return self.max_tokens or DEFAULT_MAX_TOKENS[self.mode]


#: The axes the ``countries`` and ``scenarios`` settings (``--countries``, ``--scenarios``) pick.
SHORTHAND_AXES = {"countries": "country", "scenarios": "scenario"}


def chosen_levels(instrument: Instrument, config: RunConfig) -> dict[str, list[str]]:
    """Axis id → the canonical level ids the run asks, in the instrument's axis order.

    ``where`` picks levels of any axis; ``countries`` and ``scenarios`` are shorthands for the
    ``country`` and ``scenario`` axes. An unknown axis or level is an error naming it.
    """
    where = {k: list(v) for k, v in config.where.items()}
    for field, short in SHORTHAND_AXES.items():
        given = getattr(config, field)
        if given:
            where[short] = [*where.get(short, []), *given]
    axis_ids = [a.id for a in instrument.axes]
    for wanted in where:
        if wanted not in axis_ids:
            raise UnknownNameError(
                f"--where: instrument {instrument.id!r} has no axis {wanted!r}; "
                f"axes: {', '.join(axis_ids) or 'none'}"
            )
    out: dict[str, list[str]] = {}
    for axis in instrument.axes:
        ids = []
        for name in where.get(axis.id, []):
            try:
                ids.append(axis.level(name).id)
            except UnknownNameError as exc:
                raise UnknownNameError(f"--where {axis.id}: {exc.args[0]}") from exc
        out[axis.id] = list(dict.fromkeys(ids)) or axis.level_ids
    return out


def chosen_items(instrument: Instrument, config: RunConfig) -> list[str]:
    """Canonical ids of the items the run asks (``items``; all when empty)."""
    ids = []
    for name in config.items:
        try:
            ids.append(instrument.item(name).id)
        except UnknownNameError as exc:
            raise UnknownNameError(f"--items: {exc.args[0]}") from exc
    return list(dict.fromkeys(ids)) or instrument.item_ids


def grid_contexts(instrument: Instrument, config: RunConfig) -> Iterator[dict[str, str]]:
    """Every context the run asks, one at a time: one chosen level of each axis, in axis
    order."""
    levels = chosen_levels(instrument, config)
    for combo in itertools.product(*levels.values()):
        yield dict(zip(levels, combo, strict=True))


class GridTooLarge(ValueCompassError, ValueError):
    """A grid of more prompts than the run allows (``--max-prompts``)."""


def grid_size(instrument: Instrument, config: RunConfig, prompts: PromptSet) -> int:
    """How many prompts (x samples) the run's grid holds, counted from its levels: contexts x
    variants x (items, in item mode) x samples."""
    contexts = math.prod(len(levels) for levels in chosen_levels(instrument, config).values())
    variants = len(config.variants or prompts.variants)
    per = len(chosen_items(instrument, config)) if config.mode == "item" else 1
    return contexts * variants * per * config.samples


def check_grid_size(instrument: Instrument, config: RunConfig, prompts: PromptSet) -> int:
    """The grid's size (:func:`grid_size`); :class:`GridTooLarge` past ``max_prompts``."""
    size = grid_size(instrument, config, prompts)
    if size > config.max_prompts:
        levels = chosen_levels(instrument, config)
        shape = " x ".join(f"{len(v)} {axis}" for axis, v in levels.items())
        raise GridTooLarge(
            f"the run's grid holds {size:,} prompts ({shape} contexts, "
            f"{len(config.variants or prompts.variants)} variants"
            f"{f', {len(chosen_items(instrument, config))} items' if config.mode == 'item' else ''}"
            f", {config.samples} sample(s)), more than --max-prompts {config.max_prompts:,}: "
            "choose levels with --where (or --countries, --scenarios, --items, --variants), "
            "or raise --max-prompts"
        )
    return size


def prompts_digest(prompts: PromptSet) -> str:
    """SHA-256 of the design, as a run records it (frozen: see
    :func:`valuecompass.store.runs.design_digest`)."""
    return design_digest(prompts.model_dump(mode="json"))


def cache_key(
    identity: str, params: dict[str, Any], messages: list[dict[str, str]], sample: int
) -> str:
    """The key a prompt's answer is cached under: model, parameters, prompt text and sample."""
    payload = json.dumps([identity, params, messages, sample], sort_keys=True).encode()
    return hashlib.sha256(payload).hexdigest()
