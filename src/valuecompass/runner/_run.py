"""Run a model over a grid: plan the prompts, skip what is stored, ask the rest, keep everything."""

from __future__ import annotations

import contextlib
import gc
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from valuecompass.errors import ValueCompassError
from valuecompass.instrument import Instrument, load_instrument
from valuecompass.models import Backend, ConfigError, get_backend
from valuecompass.prompts import ChoicePrompt, Prompt, load_prompts
from valuecompass.runner._call import Outcome
from valuecompass.runner._config import RunConfig, check_grid_size
from valuecompass.runner._execute import (
    Distributed,
    Item,
    Producer,
    feed_all,
    gather,
    prestart_producer,
    start_producer,
)
from valuecompass.runner._interrupt import check, deferred_interrupt
from valuecompass.runner._parse import Views, answer_rows
from valuecompass.runner._plan import Job, RatingTask, Sharing
from valuecompass.runner._plan import plan as plan
from valuecompass.runner._progress import make_progress
from valuecompass.store import (
    HEARTBEAT_EVERY,
    Owner,
    StoreError,
    beat,
    holds_nothing,
    open_store,
    redact,
)
from valuecompass.store import runs as store

if TYPE_CHECKING:
    from valuecompass.runner._choice import ChoiceTask
    from valuecompass.runner._request_process import ProcessProducer

    Task = RatingTask | ChoiceTask


#: Answers stored in one transaction at most; and how long the writer waits for more to come
#: after the first (a commit for each answer as it arrives costs more than the answer).
GROUP = 512
GATHER = 0.05


class RunAborted(ValueCompassError, RuntimeError):
    """The run stopped early; what was stored is kept and the run resumes when asked again."""


@dataclass
class RunSummary:
    """What a run did."""

    run: store.RunRecord
    total: int = 0  # prompts in the grid (× samples)
    skipped: int = 0  # already stored in this run
    cached: int = 0  # copied from another run's identical request
    asked: int = 0  # sent to the model now
    shared: int = 0  # stored now with the answer of a call asked now for an identical prompt
    failed: int = 0  # of those asked (and sharing), failed after retries
    answers: int = 0
    scored: int = 0
    wall: float = 0.0
    batches: int = 0  # provider batches sent now (run --batch)
    resumed: int = 0  # provider batches sent before, waited on now
    warnings: list[str] = field(default_factory=list)  # said once each (see Sharing.warnings)
    notes: list[str] = field(default_factory=list)  # what the run said about its backend

    def text(self) -> str:
        rate = f"{self.scored}/{self.answers} answers scored" if self.answers else "no new answers"
        shared = f", {self.shared} shared an identical prompt's call" if self.shared else ""
        batches = ""
        if self.batches or self.resumed:
            batches = f" in {self.batches} new batch(es)"
            batches += f" and {self.resumed} sent before" if self.resumed else ""
        return (
            f"run {self.run.name!r} ({self.run.model}, {self.run.mode} mode): "
            f"{self.total} prompts; "
            f"{self.skipped} already stored, {self.cached} from cache, {self.asked} asked"
            f"{batches}{shared}, {self.failed} failed; {rate}; {self.wall:.1f} s"
        )


def _prompt_row(
    run_id: int, job: Job, outcome: Outcome, views: Views | None = None
) -> dict[str, Any]:
    c = outcome.completion
    columns = (
        views.context_row(job.prompt)
        if views is not None and isinstance(job.prompt, Prompt)
        else store.context_row(job.prompt.context)
    )
    return {
        "run_id": run_id,
        "cache_key": job.key,
        **columns,
        "item": job.prompt.value,
        "variant": job.prompt.variant,
        "sample": job.sample,
        "raw": c.text if c is not None else f"ERROR: {outcome.error}",
        "error": outcome.error,
        "latency": outcome.latency,
        "attempts": outcome.attempts,
        "prompt_tokens": c.prompt_tokens if c else None,
        "completion_tokens": c.completion_tokens if c else None,
    }


#: Told each warning of a run as soon as planning finds it (the CLI prints it on stderr).
Warn = Callable[[str], None]


def run_model(
    config: RunConfig,
    backend: Backend | None = None,
    warn: Warn | None = None,
    say: Callable[[str], None] | None = None,
) -> RunSummary:
    """Run CONFIG's model over its grid, storing every answer as it arrives; resumable.

    WARN is told, once each, what planning found the user should know (an axis the design
    renders alike); the summary keeps them too. SAY, if given, is told once, before anything
    is asked, what the run notes about its backend (one that gives no option probabilities,
    so its answers are scored by their text); the notes are also kept in the summary."""
    from valuecompass.runner._batch_run import check_batch_backend

    check_batch_backend(config, backend)  # before a model is loaded or a prompt planned
    instrument = load_instrument(config.instrument_path)
    task = load_task(config, instrument)
    if config.executor == "ray" and not (backend is None or isinstance(backend, Distributed)):
        raise ConfigError("the ray executor builds its backends on the workers: pass no backend")
    owned = backend is None
    model = backend or open_backend(config)
    notes = backend_notes(model, config)
    if say is not None:
        for note in notes:
            say(note)
    try:
        summary = _run(config, instrument, task, model, warn)
        summary.notes = notes
        return summary
    finally:
        if owned:
            model.close()


def load_task(config: RunConfig, instrument: Instrument) -> Task:
    """What CONFIG's run asks: ratings under its prompt design, or choices between the
    actions of its action set."""
    if config.task == "choice":
        from valuecompass.runner._choice import ChoiceTask

        return ChoiceTask.load(config, instrument)
    if config.actions or config.only_reviewed:
        flag = "--actions names" if config.actions else "--only-reviewed limits"
        raise ConfigError(f"{flag} the choice task's action set: add --task choice")
    prompts = load_prompts(config.prompts_path, instrument)
    check_grid_size(instrument, config, prompts)  # counted, before anything is built
    return RatingTask(config, instrument, prompts)


def backend_notes(backend: Backend, config: RunConfig) -> list[str]:
    """What a run of CONFIG says once about BACKEND: its ``notes`` (such as "no
    log-probabilities"), in item mode, where other backends give option probabilities."""
    if config.mode != "item":
        return []
    return [str(note) for note in getattr(backend, "notes", ())]


def open_backend(config: RunConfig) -> Backend:
    """CONFIG's model: built here, or with the ray executor, on each of the cluster's actors."""
    if config.executor == "ray":
        from valuecompass.runner._ray import RayPool

        return RayPool.start(config)
    return get_backend(config.model, **config.backend_options)


def _run(
    config: RunConfig,
    instrument: Instrument,
    task: Task,
    backend: Backend,
    warn: Warn | None = None,
) -> RunSummary:
    start = time.perf_counter()
    manifest = task.manifest(backend)
    workers = max(1, min(config.concurrency, backend.max_concurrency))
    early = (
        None
        if config.batch
        else prestart_producer(backend, workers, config.retries, config.backoff)
    )
    try:
        sharing = Sharing()
        planned = task.jobs(backend, sharing)
        # A store yet to be made holds nothing to skip or reuse: every request goes to the
        # request process as soon as it is planned, and the store is made while they fly.
        fed = early is not None and holds_nothing(config.db)
        if early is not None and fed:
            jobs = feed_all(early, planned, send=lambda job: job.leads)
        else:
            jobs = list(planned)
        warnings = sharing.warnings()
        for line in warnings:
            if warn is not None:
                warn(line)
        engine = open_store(config.db)
        owner = Owner()
        try:
            with deferred_interrupt() as stop, _frozen():
                record = store.start_run(engine, manifest, owner)
                summary = RunSummary(run=record, total=len(jobs), warnings=warnings)
                try:
                    writer = Writer(owner, stop)
                    _resume(config, engine, instrument, backend, jobs, summary, writer, early, fed)
                finally:
                    summary.wall = time.perf_counter() - start
                    with contextlib.suppress(DBAPIError):  # a failed store: its error is reported
                        summary.run = store.get_run(engine, record.name) or record
        finally:
            engine.dispose()
    finally:
        if early is not None:
            early.stop()
    return summary


@contextlib.contextmanager
def _frozen() -> Iterator[None]:
    """While asking and storing, the objects made so far (the plan: a job, a prompt and a
    request per prompt of the grid) are left out of the cyclic garbage collector's rounds,
    each of which would otherwise walk them all again, thousands of times in a long run."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@dataclass(frozen=True)
class Writer:
    """What the writing thread needs besides the store: its lease, and the user's stop."""

    owner: Owner
    stop: threading.Event
    last_beat: list[float] = field(default_factory=lambda: [time.monotonic()])

    def step(self, engine: Engine, run_id: int) -> None:
        """Between writes: stop if asked to; renew the lease when a heartbeat is due."""
        check(self.stop)
        self.beat(engine, run_id)

    def beat(self, engine: Engine, run_id: int) -> None:
        """Renew the lease if a heartbeat is due."""
        if time.monotonic() - self.last_beat[0] >= HEARTBEAT_EVERY:
            beat(engine, run_id, self.owner)
            self.last_beat[0] = time.monotonic()


def _resume(
    config: RunConfig,
    engine: Engine,
    instrument: Instrument,
    backend: Backend,
    jobs: list[Job],
    summary: RunSummary,
    writer: Writer,
    early: ProcessProducer | None = None,
    fed: bool = False,
) -> None:
    """Skip what the run has, copy what another run has, ask the rest; record how it ended.

    EARLY is a request process forked at the run's start; FED: every job is already sent to
    it (a store that was new, so nothing to skip or copy)."""
    record = summary.run
    status: str = "interrupted"
    note: str | None = "stopped by the user"
    try:
        check(writer.stop)
        if fed:  # a new store, so nothing to skip; should another run have made it meanwhile,
            # what that run stored is kept and never doubled (a prompt is stored once per run)
            store.clear_failures(engine, record.id)
        todo = jobs if fed else _to_ask(engine, jobs, summary, writer)
        if config.batch:
            from valuecompass.runner._batch_run import run_batched

            run_batched(config, engine, instrument, backend, todo, summary, writer)
        else:
            if early is not None and not fed:
                feed_all(early, _split_shared(todo)[0])
            _ask(config, engine, instrument, backend, record.id, todo, summary, writer, early)
        status, note = "finished", None
    except RunAborted as exc:
        status, note = "failed", str(exc)
        raise
    except DBAPIError as exc:  # the store itself failed (a server gone, a lock held too long)
        status, note = "failed", f"store: {exc.orig}"
        raise StoreError(
            f"{redact(config.db)}: the store failed during the run ({str(exc.orig).strip()}); "
            "what was stored is kept: run the same command to resume"
        ) from exc
    except Exception as exc:
        status, note = "failed", f"{type(exc).__name__}: {exc}"
        raise
    finally:
        try:
            store.finish_run(engine, record.id, status, note, writer.owner)
        except DBAPIError as exc:
            if status == "finished":  # otherwise the run's own error is the one to report
                raise StoreError(
                    f"{redact(config.db)}: every answer is stored, but the run's end could not "
                    f"be recorded ({str(exc.orig).strip()})"
                ) from exc


def _labels(job: Job) -> tuple[Any, ...]:
    """JOB's prompt row's :data:`store.LABELS`."""
    row: dict[str, Any] = {**store.context_row(job.prompt.context), "item": job.prompt.value}
    row |= {"variant": job.prompt.variant, "sample": job.sample}
    return tuple(row[name] for name in store.LABELS)


def _to_ask(engine: Engine, jobs: list[Job], summary: RunSummary, writer: Writer) -> list[Job]:
    """JOBS less those the run has stored, and those copied from stored answers to the same
    request (another run's, or, for a context that reads like another, this run's own).

    A prompt stored under a job's key with another job's labels (a run made before contexts
    that read alike were each kept) is dropped and stored again under its own."""
    run_id = summary.run.id
    store.clear_failures(engine, run_id)
    done = store.done_labels(engine, run_id)
    wrong = [j.key for j in jobs if j.key in done and done[j.key] != _labels(j)]
    if wrong:
        store.drop_prompts(engine, run_id, wrong)
        done = {k: v for k, v in done.items() if k not in set(wrong)}
    todo = [j for j in jobs if j.key not in done]
    summary.skipped = len(jobs) - len(todo)
    hits = store.cached(engine, [j.call for j in todo], exclude_run=None)
    targets = [(hits[j.call], _target(j)) for j in todo if j.call in hits]
    for start in range(0, len(targets), store.COPY_CHUNK):
        writer.step(engine, run_id)
        chunk = targets[start : start + store.COPY_CHUNK]
        summary.cached += store.copy_as(engine, chunk, run_id)
    return [j for j in todo if j.call not in hits]


def _target(job: Job) -> dict[str, Any]:
    """The key and labels a copy for JOB is stored under."""
    return {"cache_key": job.key, **dict(zip(store.LABELS, _labels(job), strict=True))}


def _split_shared(todo: list[Job]) -> tuple[list[Job], dict[str, list[Job]]]:
    """TODO's jobs to ask (the first of each call: the one that leads it, as planned), and
    call key → the later jobs that take that call's answer too."""
    asked: list[Job] = []
    followers: dict[str, list[Job]] = {}
    for job in todo:
        if job.call in followers:
            followers[job.call].append(job)
        else:
            asked.append(job)
            followers[job.call] = []
    return asked, followers


def _ask(
    config: RunConfig,
    engine: Engine,
    instrument: Instrument,
    backend: Backend,
    run_id: int,
    todo: list[Job],
    summary: RunSummary,
    writer: Writer,
    early: ProcessProducer | None = None,
) -> None:
    """Send TODO to the model with bounded concurrency; this thread alone writes the store.

    EARLY, a request process forked at the run's start and fed TODO, is the producer if given.

    Whatever arrived since the last write is stored in one transaction (a group commit). Asked
    to stop, it stops the producer, stores what had arrived, and raises KeyboardInterrupt.
    """
    if not todo:
        return
    todo, followers = _split_shared(todo)
    workers = max(1, min(config.concurrency, backend.max_concurrency, len(todo)))
    results: queue.Queue[Item] = queue.Queue()
    progress = make_progress(config.progress)
    task = progress.add_task("asking", total=len(todo), failed=0)
    streak, remaining = 0, len(todo)
    views = Views(instrument)
    finish = partial(answered, views, run_id)
    shared = partial(_with_followers, views, run_id, followers)
    producer: Producer
    if early is not None:
        early.attach(results, finish)
        producer = early
    else:
        producer = start_producer(
            backend, todo, workers, config.retries, config.backoff, results, finish
        )
    try:
        with progress:
            while remaining and not writer.stop.is_set():
                writer.beat(engine, run_id)
                try:
                    first = results.get(timeout=0.2)
                except queue.Empty:
                    continue
                batch = gather(results, first, min(GROUP, remaining), GATHER)
                errors = [item for item in batch if isinstance(item, BaseException)]
                done = [item for item in batch if not isinstance(item, BaseException)]
                _store(engine, shared(done), summary)
                if errors:
                    raise errors[0]
                for item in done:
                    streak = streak + 1 if item.outcome.error else 0
                remaining -= len(done)
                progress.update(task, advance=len(done), failed=summary.failed)
                if streak >= config.max_failures:
                    raise RunAborted(
                        f"{streak} prompts in a row failed; last error: {done[-1].outcome.error}. "
                        "What was answered is stored; run again to resume."
                    )
    finally:
        producer.stop()
    if remaining:  # asked to stop: keep what arrived before the producer stopped
        _store(engine, shared(_arrived(results)), summary)
        check(writer.stop)


def _arrived(results: queue.Queue[Item]) -> list[Answered]:
    """The answers waiting on RESULTS (a stopping producer's exceptions are dropped)."""
    out: list[Answered] = []
    while True:
        try:
            item = results.get_nowait()
        except queue.Empty:
            return out
        if not isinstance(item, BaseException):
            out.append(item)


@dataclass(frozen=True)
class Answered:
    """A job after its call: the outcome, and the rows the store keeps for it."""

    job: Job
    outcome: Outcome
    prompt_row: dict[str, Any]
    answer_rows: list[dict[str, Any]]
    shared: bool = False  # the outcome of another job's call, to the same prompt


def answered(instrument: Instrument | Views, run_id: int, job: Job, outcome: Outcome) -> Answered:
    """Parse OUTCOME into the store's rows (called in the worker that made the call)."""
    if isinstance(job.prompt, ChoicePrompt):
        from valuecompass.runner._choice import choice_rows

        rows = choice_rows(job.prompt, job.sample, outcome.completion, outcome.error)
        return Answered(job, outcome, _prompt_row(run_id, job, outcome), rows)
    views = instrument if isinstance(instrument, Views) else None
    rows = answer_rows(instrument, job.prompt, job.sample, outcome.completion, outcome.error)
    return Answered(job, outcome, _prompt_row(run_id, job, outcome, views), rows)


def _with_followers(
    views: Views, run_id: int, followers: dict[str, list[Job]], batch: list[Answered]
) -> list[Answered]:
    """BATCH with, after each answer, the same outcome for each job that shares its call."""
    out: list[Answered] = []
    for a in batch:
        out.append(a)
        for job in followers.get(a.job.call, ()):
            out.append(replace(answered(views, run_id, job, a.outcome), shared=True))
    return out


def _store(engine: Engine, batch: list[Answered], summary: RunSummary) -> None:
    saved = store.save_prompts(engine, [(a.prompt_row, a.answer_rows) for a in batch])
    for a, new in zip(batch, saved, strict=True):
        if new:
            if a.shared:
                summary.shared += 1
            else:
                summary.asked += 1
                summary.failed += a.outcome.error is not None
            summary.answers += len(a.answer_rows)
            summary.scored += sum(r["position"] is not None for r in a.answer_rows)
