"""A run's provider batches (``run --batch``): what was sent in each, and how far it got.

Each batch is recorded *before* it is sent (state ``preparing``, with the cache keys of its
requests and a random ``tag`` the provider is given as metadata where it takes any), so a run
killed at any point finds it again: a batch whose provider id was never recorded is looked
up among the provider's batches before anything is sent again. Its states:

- ``preparing``: recorded, perhaps sent; its provider id not known yet;
- ``submitted``: sent, its provider id recorded; polled until the provider ends it;
- ``ended``: ended at the provider; its results are being stored;
- ``ingested``: every result stored (or set for a new batch);
- ``failed``: the provider refused it whole (nothing ran); its requests go in a new batch.

A request's custom id is rebuilt from the run's name and the request's cache key
(:func:`custom_id`), so the store keeps only the keys.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    inspect,
    select,
    update,
)

from valuecompass.store._base import metadata

#: States after which a batch holds nothing more to wait for.
FINAL = ("ingested", "failed")

run_batches = Table(
    "run_batches",
    metadata,
    Column("id", Integer, primary_key=True, doc="batch row number"),
    Column("run_id", ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, doc="its run"),
    Column("number", Integer, nullable=False, doc="1, 2, ... in the order its run made them"),
    Column("provider", String(20), nullable=False, doc="the backend: 'openai' or 'anthropic'"),
    Column("tag", String(64), nullable=False, doc="random id sent as the batch's metadata"),
    Column("provider_id", String(200), doc="the provider's batch id; NULL until recorded"),
    Column(
        "state", String(20), nullable=False, doc="preparing, submitted, ended, ingested or failed"
    ),
    Column("status", String(40), doc="the provider's last word on it (in_progress, expired...)"),
    Column("requests", Integer, nullable=False, doc="requests in the batch"),
    Column("counts", JSON, doc="its results as stored: succeeded, errored, expired, retried"),
    Column("created_at", DateTime(timezone=True), nullable=False, doc="recorded (UTC)"),
    Column("submitted_at", DateTime(timezone=True), doc="its provider id recorded (UTC)"),
    Column("ended_at", DateTime(timezone=True), doc="its results stored (UTC)"),
    Column("note", Text, doc="why it failed, or what was left missing"),
    UniqueConstraint("run_id", "number", name="uq_run_batch"),
)

run_batch_requests = Table(
    "run_batch_requests",
    metadata,
    Column(
        "batch_id",
        ForeignKey("run_batches.id", ondelete="CASCADE"),
        primary_key=True,
        doc="its batch",
    ),
    Column("cache_key", String(64), primary_key=True, doc="the request's prompt key in its run"),
)


@dataclass(frozen=True)
class BatchRecord:
    """One batch of a run, as the store has it."""

    id: int
    run_id: int
    number: int
    provider: str
    tag: str
    provider_id: str | None
    state: str
    status: str | None
    requests: int
    counts: dict[str, int] | None
    created_at: datetime
    submitted_at: datetime | None
    ended_at: datetime | None
    note: str | None

    @property
    def open(self) -> bool:
        """Whether the run still waits on it."""
        return self.state not in FINAL


def custom_id(run: str, key: str) -> str:
    """The custom id of the request of run RUN stored under KEY (a prompt and sample): the
    same on every attempt, 1 to 64 of ``[A-Za-z0-9_-]`` as both providers take."""
    return "vc-" + hashlib.sha256(f"{run}\0{key}".encode()).hexdigest()[:48]


def _aware(when: datetime | None) -> datetime | None:
    """SQLite gives back naive times: they were written in UTC."""
    return when.replace(tzinfo=UTC) if when is not None and when.tzinfo is None else when


def _record(row: Any) -> BatchRecord:
    m = dict(row._mapping)
    for key in ("created_at", "submitted_at", "ended_at"):
        m[key] = _aware(m[key])
    return BatchRecord(**m)


def has_batches(engine: Engine) -> bool:
    """Whether the store has the batch tables (a store only read is never migrated)."""
    with engine.connect() as conn:
        return inspect(conn).has_table("run_batches")


def list_batches(engine: Engine, run_id: int) -> list[BatchRecord]:
    """The run's batches, in the order it made them (none in a store older than schema 14)."""
    if not has_batches(engine):
        return []
    with engine.connect() as conn:
        rows = conn.execute(
            select(run_batches).where(run_batches.c.run_id == run_id).order_by(run_batches.c.number)
        ).all()
    return [_record(r) for r in rows]


def intend(
    engine: Engine, run_id: int, provider: str, tag: str, keys: Sequence[str]
) -> BatchRecord:
    """Record a batch of the requests under KEYS before it is sent (state ``preparing``)."""
    with engine.begin() as conn:
        last = conn.execute(
            select(func.max(run_batches.c.number)).where(run_batches.c.run_id == run_id)
        ).scalar_one()
        row = {
            "run_id": run_id,
            "number": int(last or 0) + 1,
            "provider": provider,
            "tag": tag,
            "state": "preparing",
            "requests": len(keys),
            "created_at": datetime.now(UTC),
        }
        made = conn.execute(run_batches.insert().values(**row)).inserted_primary_key
        assert made is not None
        batch_id = made[0]
        conn.execute(
            run_batch_requests.insert(), [{"batch_id": batch_id, "cache_key": k} for k in keys]
        )
        found = conn.execute(select(run_batches).where(run_batches.c.id == batch_id)).one()
    return _record(found)


def members(engine: Engine, batch_id: int) -> list[str]:
    """The cache keys of the batch's requests."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(run_batch_requests.c.cache_key).where(run_batch_requests.c.batch_id == batch_id)
        )
        return [r[0] for r in rows]


def set_state(engine: Engine, batch_id: int, **values: Any) -> None:
    """Record what changed about a batch (its ``state``, ``provider_id``, ``status``, ``counts``,
    ``note``); the time it was submitted or its results stored goes with those states."""
    stamp = datetime.now(UTC)
    if values.get("provider_id") is not None:
        values.setdefault("submitted_at", stamp)
    if values.get("state") in FINAL:
        values.setdefault("ended_at", stamp)
    with engine.begin() as conn:
        conn.execute(update(run_batches).where(run_batches.c.id == batch_id).values(**values))


def claimed(engine: Engine, provider: str) -> set[str]:
    """Provider ids the store has recorded for PROVIDER, in any run."""
    if not has_batches(engine):
        return set()
    with engine.connect() as conn:
        rows = conn.execute(
            select(run_batches.c.provider_id).where(
                run_batches.c.provider == provider, run_batches.c.provider_id.isnot(None)
            )
        )
        return {r[0] for r in rows}
