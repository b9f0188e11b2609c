"""Generate an action set: one action per item × context × inclination, asked of a model.

The places to fill are planned from the instrument (a level of each axis, as ``run`` picks
them), the design's variant and both inclinations. A place the set already holds is skipped
(resume); a place kept missing (the reply was not JSON, had no action, did not speak in the
first person, or the call failed) is asked again only when regenerating, as a new request
(its seed moved on by its attempt). A request identical to one already answered in any set of
the store (the backend's identity, the parameters, the JSON schema and the messages: its
cache key) is not asked again: the stored reply is read anew. The rest go to the runner's
producers (threads, batches, a request process) with its retries and backoff; this thread
alone writes, each group of replies in one transaction as it arrives, so a process killed at
any point loses only what it was never told. Ctrl-C stops the way it stops ``run``.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine

from valuecompass.answers import parse_action
from valuecompass.instrument import Instrument, instrument_digest, load_instrument
from valuecompass.models import Backend, Completion, Request, get_backend
from valuecompass.prompts import (
    GENERATE_INCLINATIONS,
    ActionPrompt,
    GenerationDesign,
    GenerationVariant,
    generation_digest,
    load_design,
    render_action,
)
from valuecompass.runner._call import Outcome
from valuecompass.runner._config import RunConfig, cache_key, chosen_items, grid_contexts
from valuecompass.runner._execute import Item, drain, start_producer
from valuecompass.runner._interrupt import check, deferred_interrupt
from valuecompass.runner._progress import make_progress
from valuecompass.runner._run import RunAborted
from valuecompass.store import actions as store
from valuecompass.store import open_store

#: Tokens to generate for one action when the user gives no --max-tokens.
DEFAULT_ACTION_TOKENS = 200


class GenerateConfig(BaseModel):
    """Everything that defines a generation; the CLI builds one, Python callers may too."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field("local", description="backend spec: local, local:PATH, openai:NAME, mock")
    backend_options: dict[str, Any] = Field(default_factory=dict)
    db: str = "valuecompass.db"
    name: str = Field(min_length=1, description="the action set's name in the store")
    instrument_path: Path | None = None
    design: str | None = Field(None, description="a bundled design's name or a YAML file")
    variant: int | None = Field(None, ge=0, description="the design's variant to ask")
    countries: list[str] = Field(default_factory=list)
    scenarios: list[str] = Field(default_factory=list)
    where: dict[str, list[str]] = Field(default_factory=dict)
    items: list[str] = Field(default_factory=list)
    temperature: float = Field(0.2, ge=0.0, le=2.0)
    max_tokens: int = Field(DEFAULT_ACTION_TOKENS, ge=1)
    seed: int = 0
    concurrency: int = Field(8, ge=1, le=1024)
    retries: int = Field(5, ge=0)
    backoff: float = Field(0.5, ge=0.0)
    max_failures: int = Field(20, ge=1)
    regenerate: bool = Field(False, description="ask again the places kept missing")
    constrain: bool = Field(True, description="send the reply's JSON schema to the backend")
    note: str = ""
    progress: bool = True

    def grid(self) -> RunConfig:
        """The run settings that pick the same contexts and items."""
        return RunConfig(countries=self.countries, scenarios=self.scenarios, where=self.where,
                         items=self.items)  # fmt: skip


@dataclass(frozen=True)
class GenJob:
    """One action to ask for: its prompt (its place and variant), cache key and request."""

    prompt: ActionPrompt
    key: str
    request: Request
    attempt: int


@dataclass
class GenerateSummary:
    """What a generation did."""

    name: str
    model: str
    design: str
    variant: int
    total: int = 0  # places in the grid
    skipped: int = 0  # already held by the set (with an action, or missing when not regenerating)
    kept_missing: int = 0  # of those, held missing
    cached: int = 0  # read from an identical request's stored reply
    asked: int = 0  # sent to the model now
    failed: int = 0  # of those, failed after retries
    stored: int = 0  # rows stored now
    missing: Counter[str] = field(default_factory=Counter)  # of those, missing by reason
    wall: float = 0.0

    @property
    def actions(self) -> int:
        """Actions stored now with a text."""
        return self.stored - sum(self.missing.values())

    def text(self) -> str:
        why = ", ".join(f"{k} {v}" for k, v in sorted(self.missing.items())) or "none"
        line = (
            f"action set {self.name!r} ({self.model}, design {self.design!r} variant "
            f"{self.variant}): {self.total} places; {self.skipped} already stored, "
            f"{self.cached} from cache, {self.asked} asked, {self.failed} failed; "
            f"{self.actions}/{self.stored} new actions, missing: {why}; {self.wall:.1f} s"
        )
        if self.kept_missing:
            line += (f"\n{self.kept_missing} places are kept missing: add --regenerate to ask "
                     "them again")  # fmt: skip
        return line


@dataclass(frozen=True)
class Generated:
    """A job after its call (or read from the cache), and the row the set keeps for it."""

    job: GenJob
    outcome: Outcome
    row: dict[str, Any]


@dataclass(frozen=True)
class Plan:
    """What a generation knows before it asks: the design, its variant, the backend's
    identity and the fixed parts of every row's detail."""

    instrument: Instrument
    design: GenerationDesign
    variant: GenerationVariant
    schema: dict[str, Any]
    identity: str
    detail: dict[str, Any]


def generate_actions(config: GenerateConfig, backend: Backend | None = None) -> GenerateSummary:
    """Fill CONFIG's action set from its model (see the module); resumable."""
    instrument = load_instrument(config.instrument_path)
    design = load_design(config.design, instrument)
    variant = design.variant(config.variant)
    owned = backend is None
    model = backend or get_backend(config.model, **config.backend_options)
    try:
        return _generate(config, _plan(config, instrument, design, variant, model), model)
    finally:
        if owned:
            model.close()


def _plan(
    config: GenerateConfig,
    instrument: Instrument,
    design: GenerationDesign,
    variant: GenerationVariant,
    backend: Backend,
) -> Plan:
    schema = design.reply_schema(variant)
    detail = {
        "model": backend.identity,
        "spec": config.model,
        "design": config.design or "default",
        "design_name": design.name,
        "design_digest": generation_digest(design),
        "variant": variant.index,
        "constrained": config.constrain,
        "params": {"temperature": config.temperature, "max_tokens": config.max_tokens,
                   "seed": config.seed},
    }  # fmt: skip
    return Plan(instrument, design, variant, schema, backend.identity, detail)


def _params(config: GenerateConfig, plan: Plan, attempt: int) -> dict[str, Any]:
    return {
        "task": "action",
        "temperature": config.temperature,
        "max_tokens": config.max_tokens,
        "seed": config.seed + attempt,
        "json_schema": plan.schema if config.constrain else None,
    }


def _job(config: GenerateConfig, plan: Plan, prompt: ActionPrompt, attempt: int) -> GenJob:
    messages = prompt.messages()
    request = Request(
        messages=messages,
        temperature=config.temperature,
        max_tokens=config.max_tokens,
        seed=config.seed + attempt,
        json_schema=plan.schema if config.constrain else None,
    )
    key = cache_key(plan.identity, _params(config, plan, attempt), messages, attempt)
    return GenJob(prompt, key, request, attempt)


def plan_jobs(
    config: GenerateConfig, plan: Plan, held: dict[store.Place, store.Stored]
) -> tuple[list[GenJob], int, int, int]:
    """The jobs still to do, and (places in the grid, places skipped, of those kept missing)."""
    instrument = plan.instrument
    grid = config.grid()
    items = chosen_items(instrument, grid)
    jobs: list[GenJob] = []
    total = skipped = kept = 0
    for context in grid_contexts(instrument, grid):
        for item in items:
            for inclination in GENERATE_INCLINATIONS:
                total += 1
                prompt = render_action(instrument, plan.design, context, item, inclination,
                                       plan.variant)  # fmt: skip
                found = held.get(store.place_of(prompt.context, prompt.item, inclination))
                if found is not None and (found.missing is None or not config.regenerate):
                    skipped += 1
                    kept += found.missing is not None
                    continue
                attempt = 0 if found is None else int(found.source_detail.get("attempt", 0)) + 1
                jobs.append(_job(config, plan, prompt, attempt))
    return jobs, total, skipped, kept


def finish(plan: Plan, job: GenJob, outcome: Outcome, cached: str | None = None) -> Generated:
    """The row OUTCOME gives JOB's place (parsed where the call was made)."""
    c = outcome.completion
    keys = (plan.design.keys.action, plan.design.keys.spans, plan.design.keys.explanation)
    detail = {**plan.detail, "key": job.key, "attempt": job.attempt,
              "reply": c.text if c is not None else None, "error": outcome.error,
              "attempts": outcome.attempts, "latency": round(outcome.latency, 4),
              "completion_tokens": c.completion_tokens if c is not None else None}  # fmt: skip
    if cached is not None:
        detail["cached_from"] = cached
    missing: str | None
    if c is None:
        text, spans, why, missing = "", [], "", "error"
    else:
        parsed = parse_action(c.text, keys, plan.design.first_person)
        text = parsed.text if parsed.ok else ""
        spans, why, missing = parsed.spans, parsed.explanation, parsed.missing
    row = {"context": list(job.prompt.context), "item": job.prompt.item,
           "inclination": job.prompt.inclination, "text": text, "spans": spans,
           "explanation": why, "source": "generated", "source_detail": detail,
           "missing": missing}  # fmt: skip
    return Generated(job, outcome, row)


def _generate(config: GenerateConfig, plan: Plan, backend: Backend) -> GenerateSummary:
    start = time.perf_counter()
    instrument = plan.instrument
    summary = GenerateSummary(config.name, plan.identity, config.design or "default",
                              plan.variant.index)  # fmt: skip
    engine = open_store(config.db)
    try:
        with deferred_interrupt() as stop:
            found = store.create_set(engine, config.name, instrument.id,
                                     instrument_digest(instrument),
                                     [a.id for a in instrument.axes], config.note)  # fmt: skip
            held = store.stored_places(engine, found.id)
            jobs, summary.total, summary.skipped, summary.kept_missing = plan_jobs(
                config, plan, held
            )
            try:
                todo = _from_cache(config, engine, plan, found.id, jobs, summary, stop)
                _ask(config, engine, plan, backend, found.id, todo, summary, stop)
            finally:
                summary.wall = time.perf_counter() - start
    finally:
        engine.dispose()
    return summary


def _from_cache(
    config: GenerateConfig,
    engine: Engine,
    plan: Plan,
    set_id: int,
    jobs: list[GenJob],
    summary: GenerateSummary,
    stop: threading.Event,
) -> list[GenJob]:
    """JOBS less those an identical request already answered (stored now from that reply)."""
    check(stop)
    replies = store.generated_replies(engine)
    hits = [j for j in jobs if j.key in replies]
    rows = []
    for job in hits:
        detail = replies[job.key]
        outcome = Outcome(Completion(text=detail["reply"]), None, 0, 0.0)
        rows.append(finish(plan, job, outcome, cached=str(detail.get("model", ""))))
    summary.cached = _store(engine, set_id, rows, summary, config.regenerate, count_asked=False)
    return [j for j in jobs if j.key not in replies]


def _ask(
    config: GenerateConfig,
    engine: Engine,
    plan: Plan,
    backend: Backend,
    set_id: int,
    todo: list[GenJob],
    summary: GenerateSummary,
    stop: threading.Event,
) -> None:
    """Send TODO to the model; store each group of replies as it arrives (one writer)."""
    check(stop)
    if not todo:
        return
    workers = max(1, min(config.concurrency, backend.max_concurrency, len(todo)))
    results: queue.Queue[Item] = queue.Queue()
    progress = make_progress(config.progress)
    task = progress.add_task("generating", total=len(todo), failed=0)
    producer = start_producer(backend, todo, workers, config.retries, config.backoff, results,
                              partial(finish, plan))  # fmt: skip
    streak, remaining = 0, len(todo)
    try:
        with progress:
            while remaining and not stop.is_set():
                try:
                    first = results.get(timeout=0.2)
                except queue.Empty:
                    continue
                batch = drain(results, first, 512)
                errors = [item for item in batch if isinstance(item, BaseException)]
                done = [item for item in batch if not isinstance(item, BaseException)]
                _store(engine, set_id, done, summary, config.regenerate)
                if errors:
                    raise errors[0]
                for item in done:
                    streak = streak + 1 if item.outcome.error else 0
                remaining -= len(done)
                progress.update(task, advance=len(done), failed=summary.failed)
                if streak >= config.max_failures:
                    raise RunAborted(
                        f"{streak} actions in a row failed; last error: {done[-1].outcome.error}."
                        " What was generated is stored; run again to resume."
                    )
    finally:
        producer.stop()
    if remaining:  # asked to stop: keep what arrived before the producer stopped
        arrived = []
        while True:
            try:
                item = results.get_nowait()
            except queue.Empty:
                break
            if not isinstance(item, BaseException):
                arrived.append(item)
        _store(engine, set_id, arrived, summary, config.regenerate)
        check(stop)


def _store(
    engine: Engine,
    set_id: int,
    batch: list[Generated],
    summary: GenerateSummary,
    regenerate: bool,
    count_asked: bool = True,
) -> int:
    """Store BATCH in one transaction; count what was new. Returns how many were stored."""
    if not batch:
        return 0
    saved = store.put_generated(engine, set_id, [g.row for g in batch], regenerate)
    n = 0
    for g, new in zip(batch, saved, strict=True):
        if new:
            n += 1
            summary.stored += 1
            summary.asked += count_asked
            summary.failed += g.outcome.error is not None
            if g.row["missing"]:
                summary.missing[g.row["missing"]] += 1
    return n
