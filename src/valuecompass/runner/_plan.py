"""Plan a run: its jobs (one per prompt and sample, each with its cache key) and its manifest."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from valuecompass import __version__
from valuecompass.instrument import Instrument, instrument_digest
from valuecompass.models import Backend, Request
from valuecompass.prompts import Prompt, PromptSet, iter_grid
from valuecompass.runner._config import (
    RunConfig,
    cache_key,
    grid_contexts,
    legacy_grid,
    prompts_digest,
    resolve_names,
    stored_mode,
)
from valuecompass.runner._parse import Views


@dataclass(frozen=True)
class Job:
    """One call to make: a prompt, its sample index and its cache key."""

    prompt: Prompt
    sample: int
    key: str
    request: Request


def default_run_name(
    config: RunConfig, grid: dict[str, Any], everything: bool, instrument: str | None = None
) -> str:
    """MODEL-MODE (MODEL-INSTRUMENT-MODE for a format-2 grid), plus a hash of a partial grid."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", config.model).strip("-") or "model"
    mode = stored_mode(config.mode)  # runs named before mode "form" became "all" still resume
    name = f"{slug}-{mode}" if instrument is None else f"{slug}-{instrument}-{mode}"
    if not everything or config.samples > 1:
        from hashlib import sha256

        name += "-" + sha256(repr((grid, config.samples)).encode()).hexdigest()[:8]
    return name


def plan(
    config: RunConfig, instrument: Instrument, prompts: PromptSet, backend: Backend
) -> tuple[list[Job], dict[str, Any]]:
    """The run's jobs and its manifest."""
    jobs = list(iter_jobs(config, instrument, prompts, backend))
    return jobs, run_manifest(config, instrument, prompts, backend)


def iter_jobs(
    config: RunConfig, instrument: Instrument, prompts: PromptSet, backend: Backend
) -> Iterator[Job]:
    """The run's jobs in order, each as soon as its prompt is rendered."""
    names = resolve_names(instrument, config)
    variants = config.variants or [v.index for v in prompts.variants]
    contexts = grid_contexts(instrument, config)
    rendered = iter_grid(instrument, prompts, contexts, config.mode, variants, names["values"])
    max_tokens = config.resolved_max_tokens()
    params = _params(config)
    views = Views(instrument)  # the names a form's keys are written in: the prompt's language
    for prompt in rendered:
        messages = prompt.messages()
        scale = instrument.scale(prompt.scale)
        options = (*scale.codes, *scale.missing_codes)
        shown = views.of(prompt)
        value_names = (
            tuple(shown.item(v).name for v in prompt.values) if prompt.mode == "all" else ()
        )
        for sample in range(config.samples):
            request = Request(
                messages=messages,
                temperature=config.temperature,
                max_tokens=max_tokens,
                seed=config.seed + sample,
                options=options if prompt.mode == "item" else (),
                value_names=value_names,
                codes=tuple(scale.codes),
            )
            key = cache_key(backend.identity, params, messages, sample)
            yield Job(prompt, sample, key, request)


def _params(config: RunConfig) -> dict[str, Any]:
    return {
        "temperature": config.temperature,
        "max_tokens": config.resolved_max_tokens(),
        "seed": config.seed,
    }


def run_manifest(
    config: RunConfig, instrument: Instrument, prompts: PromptSet, backend: Backend
) -> dict[str, Any]:
    """What the store keeps about the run: its name, model, parameters, grid and design."""
    names = resolve_names(instrument, config)
    variants = config.variants or [v.index for v in prompts.variants]
    grid = {**names, "variants": variants}
    everything = not (
        config.countries or config.scenarios or config.where or config.items or config.variants
    )
    label = None if legacy_grid(instrument) else instrument.id
    return {
        "name": config.run or default_run_name(config, grid, everything, label),
        "model": backend.identity,
        "spec": config.model,
        "mode": stored_mode(config.mode),
        "params": {**_params(config), "samples": config.samples},
        "grid": grid,
        "instrument": instrument_digest(instrument),
        "prompts_digest": prompts_digest(prompts),
        "version": __version__,
        "instrument_spec": instrument.to_data(),
        "prompt_design": prompts.model_dump(mode="json"),
    }
