"""Which process is running a run: a lease with the owner's host and pid, and a heartbeat.

A run is written by one process at a time. ``valuecompass run`` takes the run's lease when it
starts, renews it (the heartbeat) while it writes, and gives it back when it stops. A second
process asking for the same run is refused while the lease is live. A lease is *stale*, and may
be taken over, when its owner is gone: on the same host its process no longer exists; on another
host no heartbeat came for :data:`STALE_AFTER` seconds. A run whose status says ``running`` but
whose lease is stale was killed (SIGKILL, a crash, a lost machine).
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    String,
    Table,
    delete,
    inspect,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from valuecompass.store._base import metadata
from valuecompass.store._open import StoreError

#: Seconds between heartbeats of a running run.
HEARTBEAT_EVERY = 10.0
#: Seconds without a heartbeat after which another host's run is taken for dead.
STALE_AFTER = 90.0

run_leases = Table(
    "run_leases",
    metadata,
    Column(
        "run_id",
        ForeignKey("runs.id", ondelete="CASCADE"),
        primary_key=True,
        doc="the run being written",
    ),
    Column("host", String(255), nullable=False, doc="host name of the process writing it"),
    Column("pid", Integer, nullable=False, doc="its process id on that host"),
    Column("token", String(32), nullable=False, doc="random id of this hold, unique per start"),
    Column("heartbeat_at", DateTime(timezone=True), nullable=False, doc="last sign of life (UTC)"),
)


class RunBusyError(StoreError):
    """The run is being written by another live process."""


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Owner:
    """This process, as a lease records it."""

    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    token: str = field(default_factory=lambda: secrets.token_hex(16))


@dataclass(frozen=True)
class Lease:
    """A stored lease."""

    run_id: int
    host: str
    pid: int
    token: str
    heartbeat_at: datetime

    def live(self, now: datetime | None = None) -> bool:
        """Whether its owner may still be writing (see the module's docstring)."""
        beat = self.heartbeat_at
        if beat.tzinfo is None:  # SQLite hands back naive datetimes; they were stored in UTC
            beat = beat.replace(tzinfo=UTC)
        fresh = (now or _now()) - beat < timedelta(seconds=STALE_AFTER)
        if self.host == socket.gethostname():
            return fresh and _process_exists(self.pid)
        return fresh

    def describe(self) -> str:
        beat = f"{self.heartbeat_at:%Y-%m-%d %H:%M:%S}"
        return f"pid {self.pid} on {self.host}, last heartbeat {beat} UTC"


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _lease(row: object) -> Lease:
    return Lease(**dict(row._mapping))  # type: ignore[attr-defined]


def leases(engine: Engine) -> dict[int, Lease]:
    """Run id → its lease (none for a store from before leases existed)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("run_leases"):
            return {}
        return {r.run_id: _lease(r) for r in conn.execute(select(run_leases))}


def claim(engine: Engine, run_id: int, owner: Owner, run_name: str) -> None:
    """Take RUN_ID's lease for OWNER; :class:`RunBusyError` if a live process holds it."""
    with engine.begin() as conn:
        row = conn.execute(select(run_leases).where(run_leases.c.run_id == run_id)).first()
    values = {"host": owner.host, "pid": owner.pid, "token": owner.token, "heartbeat_at": _now()}
    if row is None:
        try:
            with engine.begin() as conn:
                conn.execute(run_leases.insert().values(run_id=run_id, **values))
            return
        except IntegrityError:  # another process took it a moment ago
            claim(engine, run_id, owner, run_name)
            return
    held = _lease(row)
    if held.token != owner.token and held.live():
        raise RunBusyError(
            f"run {run_name!r} is being run by another process ({held.describe()}); wait for it "
            "to finish, or give another --run name"
        )
    with engine.begin() as conn:  # take it over, unless someone else just did
        taken = conn.execute(
            update(run_leases)
            .where(run_leases.c.run_id == run_id, run_leases.c.token == held.token)
            .values(**values)
        )
    if taken.rowcount != 1:
        claim(engine, run_id, owner, run_name)


def beat(engine: Engine, run_id: int, owner: Owner) -> None:
    """Renew OWNER's lease on RUN_ID."""
    with engine.begin() as conn:
        conn.execute(
            update(run_leases)
            .where(run_leases.c.run_id == run_id, run_leases.c.token == owner.token)
            .values(heartbeat_at=_now())
        )


def release(conn: Connection, run_id: int, owner: Owner) -> None:
    """Give OWNER's lease on RUN_ID back (inside the caller's transaction)."""
    conn.execute(
        delete(run_leases).where(run_leases.c.run_id == run_id, run_leases.c.token == owner.token)
    )
