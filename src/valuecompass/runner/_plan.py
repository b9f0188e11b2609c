"""Plan a run: its jobs (one per prompt and sample, each with its cache key) and its manifest."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from valuecompass import __version__
from valuecompass.instrument import Instrument, instrument_digest
from valuecompass.models import Backend, Request
from valuecompass.prompts import ChoicePrompt, Prompt, PromptSet, iter_grid
from valuecompass.runner._config import (
    RunConfig,
    cache_key,
    chosen_items,
    chosen_levels,
    grid_contexts,
    prompts_digest,
)
from valuecompass.runner._parse import Views
from valuecompass.store.runs import RunGrid, RunManifest, RunParams, default_name


@dataclass(frozen=True)
class Job:
    """One call to make: a prompt, its sample index and its cache key."""

    prompt: Prompt | ChoicePrompt
    sample: int
    key: str
    request: Request


@dataclass(frozen=True)
class RatingTask:
    """What a rating run asks: its prompt design over the grid (the choice task's counterpart
    is :class:`valuecompass.runner._choice.ChoiceTask`)."""

    config: RunConfig
    instrument: Instrument
    prompts: PromptSet

    def manifest(self, backend: Backend) -> RunManifest:
        return run_manifest(self.config, self.instrument, self.prompts, backend)

    def jobs(self, backend: Backend) -> Iterator[Job]:
        return iter_jobs(self.config, self.instrument, self.prompts, backend)


def plan(
    config: RunConfig, instrument: Instrument, prompts: PromptSet, backend: Backend
) -> tuple[list[Job], RunManifest]:
    """The run's jobs and its manifest."""
    jobs = list(iter_jobs(config, instrument, prompts, backend))
    return jobs, run_manifest(config, instrument, prompts, backend)


def iter_jobs(
    config: RunConfig, instrument: Instrument, prompts: PromptSet, backend: Backend
) -> Iterator[Job]:
    """The run's jobs in order, each as soon as its prompt is rendered."""
    variants = config.variants or [v.index for v in prompts.variants]
    contexts = grid_contexts(instrument, config)
    items = chosen_items(instrument, config)
    rendered = iter_grid(instrument, prompts, contexts, config.mode, variants, items)
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
) -> RunManifest:
    """What the store keeps about the run: its name, model, parameters, grid and design."""
    grid = RunGrid(
        axes=chosen_levels(instrument, config),
        items=chosen_items(instrument, config),
        variants=config.variants or [v.index for v in prompts.variants],
    )
    partial = bool(
        config.countries or config.scenarios or config.where or config.items or config.variants
    )
    name = config.run or default_name(
        config.model, config.mode, grid, config.samples, partial=partial, instrument=instrument
    )
    return RunManifest(
        name=name,
        model=backend.identity,
        spec=config.model,
        mode=config.mode,
        params=RunParams(**_params(config), samples=config.samples),
        grid=grid,
        instrument=instrument_digest(instrument),
        prompts_digest=prompts_digest(prompts),
        version=__version__,
        instrument_spec=instrument.to_data(),
        prompt_design=prompts.model_dump(mode="json"),
    )
