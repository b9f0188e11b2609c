"""A run sent as provider batches (``run --batch``): written, sent, polled, stored as they end.

The run's prompts still to ask become batches of at most the provider's limit (requests and
bytes; ``--batch-size`` for fewer), each request under a custom id made from the run's name
and its prompt's key. Each batch is recorded in the store before it is sent
(:mod:`valuecompass.store.batches`), then its provider id once the provider gives one. So a run
stopped at any point (Ctrl-C, SIGKILL) resumes with the same command and never sends a
request twice while a batch holding it is alive:

- a batch recorded but without a provider id may have been sent: it is looked up among the
  provider's batches (:meth:`~valuecompass.models.BatchAPI.find_batch`) and taken up if found,
  else given up (state ``failed``, "never sent") and its requests go in a new batch;
- a batch with a provider id is polled (its wait doubling from ``--batch-poll`` up to five
  minutes) and, once ended, its results are stored in whatever order they come, matched by
  custom id, through the runner's one writer: parsed exactly as an answer asked online;
- a prompt stored already is never stored again (a batch whose results were half stored when
  the run stopped is read again, and only the rest is stored).

A request that expired, was cancelled or met a server error goes in a new batch (sent once
the run's other batches have ended, or a batch's worth is waiting), up to ``--retries`` new
batches in one run of the command; after that, or for an error that retrying
cannot mend (the provider refused the request), it is stored as missing with its reason.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Engine

from valuecompass.models import (
    Backend,
    BackendError,
    BatchAPI,
    BatchState,
    ConfigError,
    FatalBackendError,
    Request,
    TransientError,
    backend_factory,
    split_spec,
)
from valuecompass.runner._call import Outcome, backoff_delay
from valuecompass.runner._parse import Views
from valuecompass.runner._plan import Job
from valuecompass.store import batches as book

if TYPE_CHECKING:
    from valuecompass.instrument import Instrument
    from valuecompass.runner._config import RunConfig
    from valuecompass.runner._run import Answered, RunSummary, Writer

T = TypeVar("T")

#: The longest wait between two polls of a batch, in seconds (or 64 first waits, if less).
MOST_WAIT = 300.0
#: Results stored per transaction (a SQLite commit writes every index page it touched: the
#: more results share one, the fewer times each page is written).
GROUP = 4096
#: Or those that came within this many seconds (results read slowly are stored as they come).
GROUP_WAIT = 0.5


def check_batch_backend(config: RunConfig, backend: Backend | None = None) -> None:
    """Refuse ``--batch`` for a backend without a batch API (before any model is loaded)."""
    if not config.batch:
        return
    name = split_spec(config.model)[0]
    if config.executor == "ray":
        raise ConfigError("--batch sends the run to its provider: leave out --executor ray")
    target = backend if backend is not None else backend_factory(name)
    if not isinstance(target, BatchAPI):
        raise ConfigError(
            f"--batch: the {name} backend has no batch API; batch runs work with openai and "
            "anthropic"
        )


@dataclass
class Open:
    """A batch the run waits on: its record, and when to poll it next."""

    record: book.BatchRecord
    due: float
    wait: float


@dataclass
class BatchRun:
    """One run of the command over a run's batches."""

    config: RunConfig
    engine: Engine
    backend: BatchAPI
    run_id: int
    run_name: str
    summary: RunSummary
    writer: Writer
    answered: Callable[[Job, Outcome], Answered]
    store: Callable[[list[Answered]], None]
    jobs: dict[str, Job]  # custom id -> the job asked under it (those still to ask)
    rounds: dict[str, int] = field(default_factory=dict)  # key -> new batches it went in
    rng: random.Random = field(default_factory=random.Random)

    # -- the provider's calls, with retries ------------------------------------------------

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        """FN, retrying what is worth retrying; WHAT names it in the message that stops the
        run when it cannot be done."""
        from valuecompass.runner._run import RunAborted

        attempt = 0
        while True:
            attempt += 1
            try:
                return fn()
            except FatalBackendError:
                raise
            except TransientError as exc:
                if attempt > self.config.retries:
                    raise RunAborted(
                        f"{what}: {exc} (gave up after {attempt} attempts); what was stored is "
                        "kept, and the batches sent go on: run the same command to resume"
                    ) from exc
                delay = backoff_delay(attempt, self.config.backoff, exc.retry_after, self.rng)
                self._sleep(delay)
            except BackendError as exc:
                raise RunAborted(f"{what}: {exc}; what was stored is kept") from exc

    def _sleep(self, seconds: float) -> None:
        """Wait SECONDS, renewing the lease and stopping at once when the user asks."""
        end = time.monotonic() + seconds
        while True:
            self.writer.step(self.engine, self.run_id)
            left = end - time.monotonic()
            if left <= 0:
                return
            self.writer.stop.wait(min(left, 1.0))

    # -- sending -----------------------------------------------------------------------------

    def custom_id(self, job: Job) -> str:
        return book.custom_id(self.run_name, job.key)

    @property
    def most(self) -> int:
        """The most requests in one batch: the provider's limit, or ``--batch-size``."""
        limit = self.backend.max_batch_requests
        return min(self.config.batch_size or limit, limit)

    def chunks(self, jobs: Sequence[Job]) -> Iterator[tuple[list[Job], list[bytes]]]:
        """JOBS as batches within the provider's limits (and ``--batch-size``), with lines."""
        most = self.most
        room = self.backend.max_batch_bytes
        picked: list[Job] = []
        lines: list[bytes] = []
        size = 0
        for job in jobs:
            line = self.backend.batch_line(self.custom_id(job), job.request)
            if picked and (len(picked) == most or size + len(line) + 1 > room):
                yield picked, lines
                picked, lines, size = [], [], 0
            picked.append(job)
            lines.append(line)
            size += len(line) + 1
        if picked:
            yield picked, lines

    def send(self, jobs: Sequence[Job], waiting: list[Open]) -> None:
        """JOBS as new batches: each recorded, then sent, then its provider id recorded."""
        for picked, lines in self.chunks(jobs):
            for job in picked:
                self.rounds[job.key] = self.rounds.get(job.key, 0) + 1
            tag = secrets.token_hex(16)
            record = book.intend(self.engine, self.run_id, self.backend.provider, tag,
                                 [j.key for j in picked])  # fmt: skip
            self.writer.step(self.engine, self.run_id)
            what = f"sending batch {record.number} ({len(picked)} requests)"
            state = self._call(what, partial(self.backend.submit_batch, lines, tag))
            book.set_state(self.engine, record.id, provider_id=state.id, state="submitted",
                           status=state.status)  # fmt: skip
            self.summary.batches += 1
            waiting.append(self._waiting(record.id))

    def _waiting(self, batch_id: int) -> Open:
        record = next(b for b in book.list_batches(self.engine, self.run_id) if b.id == batch_id)
        poll = self.config.batch_poll
        return Open(record, time.monotonic() + poll, poll)

    def take_up(self, record: book.BatchRecord) -> bool:
        """A batch recorded but without a provider id: taken up if the provider has it (True),
        else given up, never having been sent (False)."""
        since = record.created_at.timestamp()
        taken = book.claimed(self.engine, self.backend.provider)
        found = self._call(
            f"looking for batch {record.number} at the provider",
            partial(self.backend.find_batch, record.tag, since, record.requests, taken),
        )
        if found is None:
            book.set_state(self.engine, record.id, state="failed", note="never sent")
            return False
        book.set_state(self.engine, record.id, provider_id=found, state="submitted")
        return True

    # -- waiting and storing -----------------------------------------------------------------

    def wait_all(self, waiting: list[Open]) -> None:
        """Poll the batches in WAITING, storing each one's results as it ends, until none is
        left (new batches of retried requests join the wait)."""
        pile: list[Job] = []
        while waiting:
            waiting.sort(key=lambda w: w.due)
            first = waiting[0]
            self._sleep(first.due - time.monotonic())
            record = first.record
            assert record.provider_id is not None
            state = self._call(f"polling batch {record.number} ({record.provider_id})",
                               partial(self.backend.poll_batch, record.provider_id))  # fmt: skip
            if state.status != record.status:
                book.set_state(self.engine, record.id, status=state.status)
                first.record = record = replace(record, status=state.status)
            if not state.ended:
                first.wait = min(2 * first.wait, MOST_WAIT, 64 * self.config.batch_poll)
                first.due = time.monotonic() + first.wait
                continue
            waiting.pop(0)
            pile += self.ingest(record, state)
            # requests to send again wait for the others' batches to end, then go together
            if pile and (not waiting or len(pile) >= self.most):
                self.send(pile, waiting)
                pile = []

    def ingest(self, record: book.BatchRecord, state: BatchState) -> list[Job]:
        """Store an ended batch's results; the jobs to send again in a new batch."""
        book.set_state(self.engine, record.id, state="ended", status=state.status)
        keys = set(book.members(self.engine, record.id))
        counts = {"succeeded": 0, "errored": 0, "retried": 0, "stored": 0}
        seen: set[str] = set()
        retry: list[tuple[Job, str]] = []
        group: list[Answered] = []
        if state.refused is not None:
            retry = [(j, f"the batch was refused: {state.refused}")
                     for j in self._jobs_of(keys)]  # fmt: skip
        else:
            results = self.backend.batch_results(state, self._request_of)
            since = time.monotonic()
            for result in results:
                job = self.jobs.get(result.custom_id)
                if job is None or job.key not in keys or job.key in seen:
                    continue  # stored already, another batch's, or a result given twice
                seen.add(job.key)
                if result.completion is None and result.retry:
                    retry.append((job, result.error or "no answer"))
                    continue
                counts["succeeded" if result.completion is not None else "errored"] += 1
                outcome = Outcome(result.completion, result.error, self.rounds.get(job.key, 1), 0.0)
                group.append(self.answered(job, outcome))
                if len(group) >= GROUP or time.monotonic() - since >= GROUP_WAIT:
                    self._flush(group, counts)
                    since = time.monotonic()
            self._flush(group, counts)
            retry += [(j, "no result came back for it")
                      for j in self._jobs_of(keys - seen)]  # fmt: skip
        again = self._retry(retry, counts)
        note = f"refused: {state.refused}" if state.refused else None
        book.set_state(self.engine, record.id, state="failed" if state.refused else "ingested",
                       counts=counts, note=note)  # fmt: skip
        return again

    def _jobs_of(self, keys: set[str]) -> list[Job]:
        """The jobs still to ask among KEYS, in the run's order."""
        return [j for j in self.jobs.values() if j.key in keys]

    def _flush(self, group: list[Answered], counts: dict[str, int]) -> None:
        if group:
            before = self.summary.asked
            for a in group:
                a.prompt_row["latency"] = None  # a batch's requests have no latency of their own
            self.store(group)
            counts["stored"] += self.summary.asked - before
            group.clear()
        self.writer.step(self.engine, self.run_id)

    def _retry(self, retry: list[tuple[Job, str]], counts: dict[str, int]) -> list[Job]:
        """The jobs of RETRY to send again; those that had their batches stored as missing."""
        again: list[Job] = []
        given_up: list[Answered] = []
        for job, why in retry:
            sent = self.rounds.get(job.key, 1)
            if sent <= self.config.retries:
                again.append(job)
                continue
            error = f"{why} (gave up after {sent} batches)"
            given_up.append(self.answered(job, Outcome(None, error, sent, 0.0)))
        counts["retried"] += len(again)
        counts["errored"] += len(given_up)
        self._flush(given_up, counts)
        return again

    def _request_of(self, custom: str) -> Request | None:
        job = self.jobs.get(custom)
        return job.request if job is not None else None


def run_batched(
    config: RunConfig,
    engine: Engine,
    instrument: Instrument,
    backend: Backend,
    todo: list[Job],
    summary: RunSummary,
    writer: Writer,
) -> None:
    """Ask TODO (the run's prompts not stored) as provider batches; see the module's doc."""
    from valuecompass.runner._run import _split_shared, _store, _with_followers, answered

    check_batch_backend(config, backend)
    assert isinstance(backend, BatchAPI)
    run = summary.run
    asked, followers = _split_shared(todo)
    views = Views(instrument)
    runner = BatchRun(
        config,
        engine,
        backend,
        run.id,
        run.name,
        summary,
        writer,
        answered=partial(answered, views, run.id),
        store=lambda group: _store(
            engine, _with_followers(views, run.id, followers, group), summary
        ),
        jobs={book.custom_id(run.name, j.key): j for j in asked},
    )
    waiting: list[Open] = []
    held: set[str] = set()
    for record in book.list_batches(engine, run.id):
        if not record.open:
            continue
        if record.provider_id is None and not runner.take_up(record):
            continue
        for key in book.members(engine, record.id):
            held.add(key)
            runner.rounds[key] = 1
        waiting.append(runner._waiting(record.id))
        summary.resumed += 1
    runner.send([j for j in asked if j.key not in held], waiting)
    runner.wait_all(waiting)
