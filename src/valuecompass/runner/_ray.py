"""The ray executor: the grid's work units run on Ray actors, each with its own backend.

A work unit is a block of jobs (one context and variant: item-mode prompts that share their
prefix), so each actor keeps its prefix cache warm. An actor builds its backend from the run's
spec (never a pickled one) and streams its unit's outcomes back as they finish; the driver turns
each into the store's rows and puts it on the writer's queue, so the store, resume, cache and
progress behave as with the local executor.

Fault tolerance: actors restart when their process dies, and a unit whose actor died is sent
again with only its jobs not yet delivered, so nothing is lost and nothing delivered twice.
"""

from __future__ import annotations

import importlib
import logging
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from valuecompass.errors import ValueCompassError
from valuecompass.models import Completion, ConfigError, Request, backend_options, get_backend
from valuecompass.runner._batch import block_of
from valuecompass.runner._config import RunConfig
from valuecompass.runner._execute import Finish, Item, drain, start_producer

log = logging.getLogger(__name__)

#: Times a unit is sent again after its actor died before the run stops.
MAX_UNIT_TRIES = 3
#: Times an actor's process is restarted after it died.
MAX_RESTARTS = 4
#: Seconds between asking a restarting actor whether it is back.
RECOVERY_POLL = 0.5
#: Actors compute at normal priority: Ray starts its workers at nice 15, so that on a machine
#: shared with other work the model would get what everything else leaves it.
RUNTIME_ENV = {"env_vars": {"RAY_worker_niceness": "0"}}


class RayExecutorError(ValueCompassError, RuntimeError):
    """The cluster could not finish the work (workers kept dying)."""


def _import_ray() -> Any:
    try:
        return importlib.import_module("ray")
    except ImportError as exc:
        raise ConfigError("the ray executor needs: pip install 'valuecompass[ray]'") from exc


def _keyed(job: Any, outcome: Any) -> tuple[str, Any]:
    return job.key, outcome


class Worker:
    """A Ray actor's body: one backend, built in the actor's process from the spec."""

    def __init__(self, spec: str, options: dict[str, Any]) -> None:
        self._error: Exception | None = None
        try:
            self._backend = get_backend(spec, **options)
        except Exception as exc:  # reported by identity(), with its own message
            self._error = exc

    def _ready(self) -> Any:
        if self._error is not None:
            raise self._error
        return self._backend

    def identity(self) -> str:
        identity: str = self._ready().identity
        return identity

    def pid(self) -> int:
        return os.getpid()

    def complete(self, request: Request) -> Completion:
        completion: Completion = self._ready().complete(request)
        return completion

    def run_unit(
        self, jobs: Sequence[Any], concurrency: int, retries: int, backoff: float
    ) -> Iterator[list[tuple[str, Any]]]:
        """Yield ``(key, outcome)`` pairs as the unit's jobs finish (a generator task)."""
        backend = self._ready()
        out: queue.Queue[Item] = queue.Queue()
        workers = max(1, min(concurrency, backend.max_concurrency, len(jobs)))
        producer = start_producer(backend, jobs, workers, retries, backoff, out, _keyed)
        left = len(jobs)
        try:
            while left:
                items = drain(out, out.get(), 256)
                errors = [i for i in items if isinstance(i, BaseException)]
                if errors:
                    raise errors[0]
                left -= len(items)
                yield items
        finally:
            producer.stop()

    def close(self) -> None:
        if self._error is None:
            self._backend.close()


def work_units(jobs: Sequence[Any], workers: int) -> list[list[Any]]:
    """JOBS cut into blocks (context × variant), in order; the largest blocks are halved
    while there are fewer units than WORKERS, so every worker has something to do."""
    units: dict[tuple[Any, int], list[Any]] = {}
    for job in jobs:
        units.setdefault(block_of(job), []).append(job)
    out = list(units.values())
    while len(out) < workers:
        largest = max(range(len(out)), key=lambda i: len(out[i]))
        unit = out[largest]
        if len(unit) < 2:
            break
        half = len(unit) // 2
        out[largest : largest + 1] = [unit[:half], unit[half:]]
    return out


def _placement(config: RunConfig, resources: dict[str, float]) -> tuple[dict[str, Any], int]:
    """(actor options, actor count) for CONFIG's backend on a cluster with RESOURCES.

    A backend computing in the actor (one that takes a ``threads`` option) reserves as many
    CPUs as its threads (1 unless the backend options say); one that takes a ``device`` option
    takes one GPU each when the cluster has them, unless ``device`` is ``cpu``.
    Without ``ray_workers`` there are as many actors as fit; more than fit is refused, as they
    would wait for room forever.
    """
    accepted = backend_options(config.model)
    threads = int(config.backend_options.get("threads") or 1) if "threads" in accepted else 1
    wants_gpu = "device" in accepted and config.backend_options.get("device") != "cpu"
    gpus = 1 if wants_gpu and resources.get("GPU", 0) >= 1 else 0
    fit = int(resources["GPU"]) if gpus else int(resources.get("CPU", 0) // threads)
    count = config.ray_workers or max(1, fit)
    for kind, each in (("CPU", threads), ("GPU", gpus)):
        have = resources.get(kind, 0)
        if count * each > have:
            raise ConfigError(
                f"{count} ray workers need {count * each} {kind}s ({each} each); the cluster "
                f"has {have:g}: ask for fewer workers (--ray-workers) or threads"
            )
    return {"num_cpus": threads, "num_gpus": gpus}, count


class RayPool:
    """Ray actors holding the run's backend; a backend itself for the runner, whose jobs it
    runs on the actors (see :meth:`producer`)."""

    def __init__(self, ray: Any, config: RunConfig, owns_ray: bool) -> None:
        self._ray = ray
        self._owns_ray = owns_ray
        self._concurrency = config.concurrency
        placement, count = _placement(config, ray.cluster_resources())
        options = dict(config.backend_options)
        if "threads" in backend_options(config.model):
            options["threads"] = placement["num_cpus"]
        actor = ray.remote(concurrency_groups={"control": 1})(Worker).options(
            max_restarts=MAX_RESTARTS, max_task_retries=0, runtime_env=RUNTIME_ENV, **placement
        )
        self.actors = [actor.remote(config.model, options) for _ in range(count)]
        try:
            identities = set(ray.get([a.identity.remote() for a in self.actors]))
        except ray.exceptions.RayTaskError as exc:
            self.close()
            raise (exc.cause or exc) from None
        except ray.exceptions.RayActorError as exc:
            self.close()
            raise ConfigError(
                f"the ray workers died while building {config.model}: {exc}"
            ) from None
        if len(identities) != 1:
            self.close()
            raise ConfigError(f"the ray workers disagree on the model: {sorted(identities)}")
        self.identity: str = identities.pop()
        self.max_concurrency = len(self.actors)

    @classmethod
    def start(cls, config: RunConfig) -> RayPool:
        """Join CONFIG's cluster (or the one this process already joined, or a new local one)
        and start the actors."""
        ray = _import_ray()
        owns = not ray.is_initialized()
        if owns:  # no address: a private local cluster, even where `ray start` made one
            local = {} if config.ray_address else {"include_dashboard": False}
            ray.init(
                address=config.ray_address or "local",
                log_to_driver=False,
                logging_level=logging.WARNING,
                **local,
            )
        try:
            return cls(ray, config, owns)
        except BaseException:
            if owns:
                ray.shutdown()
            raise

    def pids(self) -> list[int]:
        """The actors' process ids (answered even while they work)."""
        calls = [a.pid.options(concurrency_group="control").remote() for a in self.actors]
        return [int(p) for p in self._ray.get(calls)]

    def complete(self, request: Request) -> Completion:
        completion: Completion = self._ray.get(self.actors[0].complete.remote(request))
        return completion

    def producer(
        self,
        jobs: Sequence[Any],
        retries: int,
        backoff: float,
        out: queue.Queue[Item],
        finish: Finish,
    ) -> RayProducer:
        return RayProducer(self, jobs, retries, backoff, out, finish)

    def close(self) -> None:
        for a in self.actors:
            self._ray.kill(a, no_restart=True)
        self.actors = []
        if self._owns_ray:
            self._ray.shutdown()


@dataclass
class _Unit:
    jobs: dict[str, Any]  # key → job, for the jobs not delivered yet
    tries: int = 0


class RayProducer:
    """Sends work units to idle actors and delivers each job's outcome exactly once."""

    def __init__(
        self,
        pool: RayPool,
        jobs: Sequence[Any],
        retries: int,
        backoff: float,
        out: queue.Queue[Item],
        finish: Finish,
    ) -> None:
        self._pool, self._ray = pool, pool._ray
        self._args = (pool._concurrency, retries, backoff)
        self._out, self._finish = out, finish
        units = work_units(jobs, len(pool.actors))
        self._pending = deque(_Unit({j.key: j for j in u}) for u in units)
        self._idle = deque(range(len(pool.actors)))
        self._flying: dict[Any, tuple[int, _Unit]] = {}  # unit's generator → (actor, unit)
        self._recovering: dict[int, float] = {}  # restarting actor → when to look again
        self._probes: dict[Any, int] = {}  # identity call → the restarting actor it asks
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._drive, name="vc-ray", daemon=True)
        self._thread.start()

    def _drive(self) -> None:
        try:
            while (self._pending or self._flying) and not self._stopping.is_set():
                self._dispatch()
                waiting = [*self._flying, *self._probes]
                if not waiting:  # every actor restarting, none asked yet
                    time.sleep(RECOVERY_POLL / 5)
                    continue
                ready, _ = self._ray.wait(waiting, num_returns=1, timeout=0.2)
                for ref in ready:
                    if ref in self._probes:
                        self._probed(ref)
                    else:
                        self._advance(ref)
        except BaseException as exc:
            self._out.put(exc)

    def _dispatch(self) -> None:
        """Send pending units to idle actors; ask restarting actors whether they are back."""
        now = time.monotonic()
        for index, when in list(self._recovering.items()):
            if when <= now:
                del self._recovering[index]
                self._probes[self._pool.actors[index].identity.remote()] = index
        while self._idle and self._pending:
            index, unit = self._idle.popleft(), self._pending.popleft()
            call = self._pool.actors[index].run_unit.options(num_returns="streaming")
            gen = call.remote(list(unit.jobs.values()), *self._args)
            self._flying[gen] = (index, unit)
        if self._pending and not (self._flying or self._idle or self._recovering or self._probes):
            raise RayExecutorError("no ray worker is left alive; what was answered is stored")

    def _probed(self, ref: Any) -> None:
        """A restarting actor answered REF: back to work, not yet, or gone for good."""
        exceptions = self._ray.exceptions
        index = self._probes.pop(ref)
        try:
            self._ray.get(ref)
        except exceptions.RayTaskError as exc:  # restarted, but its backend fails to build
            raise (exc.cause or exc) from None
        except exceptions.ActorDiedError:
            return
        except exceptions.RayActorError:
            self._recovering[index] = time.monotonic() + RECOVERY_POLL
            return
        self._idle.append(index)

    def _advance(self, gen: Any) -> None:
        """Take the next batch of outcomes GEN has ready, or settle its unit."""
        exceptions = self._ray.exceptions
        index, unit = self._flying[gen]
        try:
            items = self._ray.get(next(gen))
        except StopIteration:
            del self._flying[gen]
            self._idle.append(index)
            if unit.jobs:  # ended without them (it should not): send them again
                self._lost(index, unit, RayExecutorError("the unit ended early"), idle=True)
            return
        except exceptions.RayTaskError as exc:  # the backend's own fatal error: stop the run
            raise (exc.cause or exc) from None
        except exceptions.RayActorError as exc:
            del self._flying[gen]
            self._lost(index, unit, exc)
            return
        for key, outcome in items:
            job = unit.jobs.pop(key, None)
            if job is not None:  # a job is delivered once, even if its unit ran twice
                self._out.put(self._finish(job, outcome))

    def _lost(self, index: int, unit: _Unit, exc: Exception, idle: bool = False) -> None:
        """The actor running UNIT died: send what is left of the unit again."""
        unit.tries += 1
        if unit.tries > MAX_UNIT_TRIES:
            raise RayExecutorError(
                f"a work unit failed {unit.tries} times as its ray worker died ({exc}); "
                "what was answered is stored: run again to resume"
            )
        if unit.jobs:
            self._pending.appendleft(unit)
        log.warning(
            "a ray worker died (%s); its %d unanswered jobs go out again", exc, len(unit.jobs)
        )
        if not (idle or isinstance(exc, self._ray.exceptions.ActorDiedError)):
            self._recovering[index] = time.monotonic()  # restarting: back when it answers

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()
        for gen in list(self._flying):
            try:
                self._ray.cancel(gen)
            except Exception:  # cancelling is best effort; closing the pool kills the actors
                continue
