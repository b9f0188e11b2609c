"""Plan a run: its jobs (one per prompt and sample, each with its cache key) and its manifest."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from valuecompass import __version__
from valuecompass.instrument import Instrument, instrument_digest
from valuecompass.models import Backend, Request, answer_tokens, text_tokens
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
    """One prompt of the grid to store: its prompt, sample index, the key it is stored under in
    its run (KEY), and the key of the model call that answers it (CALL).

    Two contexts may render the same text (a design that never shows an axis): they share one
    call, but each is stored under its own key. The first job of a text is stored under the
    call's key itself (so runs made before stay as they were); a later one, a *follower*, under
    a key of the call and its own labels.
    """

    prompt: Prompt | ChoicePrompt
    sample: int
    key: str
    request: Request
    call: str = ""

    @property
    def leads(self) -> bool:
        """Whether the job is the first of its text in the run (its call is its own key)."""
        return not self.call or self.call == self.key


@dataclass
class Sharing:
    """What the planned jobs share: call key → the job that leads it, and, for each axis whose
    levels rendered the same text, those levels (what the design cannot tell apart)."""

    leaders: dict[str, Job] = field(default_factory=dict)
    axes: dict[str, list[str]] = field(default_factory=dict)
    others: set[str] = field(default_factory=set)  # "items", "variants" that read the same
    followers: int = 0

    def place(self, prompt: Prompt, sample: int, call: str, request: Request) -> Job:
        """The job of PROMPT, stored under the call's key if it is the first of its text."""
        leader = self.leaders.get(call)
        if leader is None:
            job = Job(prompt, sample, call, request, call)
            self.leaders[call] = job
            return job
        self.followers += 1
        first, this = leader.prompt.levels, prompt.levels
        for axis, level in this.items():
            if first.get(axis) != level:
                seen = self.axes.setdefault(axis, [first[axis]])
                if level not in seen:
                    seen.append(level)
        if leader.prompt.values != prompt.values:
            self.others.add("items")
        if leader.prompt.variant != prompt.variant:
            self.others.add("variants")
        return Job(prompt, sample, follower_key(call, prompt, sample), request, call)

    def warnings(self) -> list[str]:
        """One line per axis (then items, variants) whose levels the design renders alike."""
        out = [
            f"the prompt design renders the levels of axis {axis!r} ({', '.join(levels)}) as "
            "the same prompt: each text is asked once and its answer stored for every context"
            for axis, levels in self.axes.items()
        ]
        out += [
            f"some {what} render the same prompt: each text is asked once and its answer "
            "stored for each of them"
            for what in sorted(self.others)
        ]
        return out


def follower_key(call: str, prompt: Prompt, sample: int) -> str:
    """The stored key of a job whose text an earlier job of its run has: the call's key with
    the job's own context, items, variant and sample."""
    labels = [call, list(prompt.context), list(prompt.values), prompt.variant, sample]
    return hashlib.sha256(json.dumps(labels).encode()).hexdigest()


@dataclass(frozen=True)
class RatingTask:
    """What a rating run asks: its prompt design over the grid (the choice task's counterpart
    is :class:`valuecompass.runner._choice.ChoiceTask`)."""

    config: RunConfig
    instrument: Instrument
    prompts: PromptSet

    def manifest(self, backend: Backend) -> RunManifest:
        return run_manifest(self.config, self.instrument, self.prompts, backend)

    def jobs(self, backend: Backend, sharing: Sharing | None = None) -> Iterator[Job]:
        return iter_jobs(self.config, self.instrument, self.prompts, backend, sharing)


def plan(
    config: RunConfig, instrument: Instrument, prompts: PromptSet, backend: Backend
) -> tuple[list[Job], RunManifest]:
    """The run's jobs and its manifest."""
    jobs = list(iter_jobs(config, instrument, prompts, backend))
    return jobs, run_manifest(config, instrument, prompts, backend)


def iter_jobs(
    config: RunConfig,
    instrument: Instrument,
    prompts: PromptSet,
    backend: Backend | str,
    sharing: Sharing | None = None,
) -> Iterator[Job]:
    """The run's jobs in order, each as soon as its prompt is rendered; SHARING (a new one if
    not given) learns which jobs share a text. BACKEND may be only its identity (a dry run)."""
    sharing = Sharing() if sharing is None else sharing
    identity = backend if isinstance(backend, str) else backend.identity
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
            call = cache_key(identity, params, messages, sample)
            yield sharing.place(prompt, sample, call, request)


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


@dataclass
class DryRun:
    """What a run would ask, planned and rendered but never sent or stored."""

    total: int  # prompts x samples
    calls: int  # distinct model calls (contexts that read alike share one)
    shown: list[Prompt | ChoicePrompt]  # the first prompts, as rendered
    warnings: list[str]
    input_tokens: float = 0.0  # about how many tokens the calls send
    output_tokens: int = 0  # about how many their answers take

    def count(self, job: Job, choice: bool) -> None:
        """Add JOB's tokens, a call of its own: what it sends, and its answer (a choice: up
        to its max tokens; a rating: about 12 an item, at most its max tokens)."""
        self.input_tokens += text_tokens([m["content"] for m in job.request.messages])
        most = job.request.max_tokens
        self.output_tokens += most if choice else answer_tokens(len(job.prompt.values), most)


def dry_run(config: RunConfig, show: int = 0) -> DryRun:
    """Plan CONFIG's run without a model or a store: its size (refused past ``max_prompts``),
    its distinct calls and about how many tokens they send and get back, what the design
    cannot tell apart, and its first SHOW prompts."""
    from valuecompass.instrument import load_instrument
    from valuecompass.prompts import load_prompts
    from valuecompass.runner._config import check_grid_size

    instrument = load_instrument(config.instrument_path)
    identity = f"dry-run:{config.model}"
    planned = DryRun(0, 0, [], [])
    if config.task == "choice":  # the pairs of its action set; each a call of its own
        from valuecompass.runner._choice import ChoiceTask

        for job in ChoiceTask.load(config, instrument).jobs(identity):
            planned.total += 1
            planned.count(job, choice=True)
            if job.sample == 0 and len(planned.shown) < show:
                planned.shown.append(job.prompt)
        planned.calls = planned.total
        return planned
    prompts = load_prompts(config.prompts_path, instrument)
    planned.total = check_grid_size(instrument, config, prompts)
    sharing = Sharing()
    for job in iter_jobs(config, instrument, prompts, identity, sharing):
        if job.leads:
            planned.count(job, choice=False)
        if job.sample == 0 and len(planned.shown) < show:
            planned.shown.append(job.prompt)
    planned.calls = len(sharing.leaders)
    planned.warnings = sharing.warnings()
    return planned
