"""FAULT TEST: the survey server is killed with SIGKILL under load; nothing acknowledged is lost.

A real server process (``valuecompass survey serve``) takes whole-form submissions from 64
concurrent clients and is killed mid-stream. After a restart on the same store, every
submission that had been acknowledged (303) is there with exactly the answers sent, once; the
unacknowledged ones, sent again as a participant's browser would, are stored once too.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path

from sqlalchemy import func, select

import _survey_support as support
from valuecompass.store import open_store
from valuecompass.store import survey as store
from valuecompass.store._survey_tables import answers, participants
from valuecompass.testing import survey_load as load

pg_database, store_url = support.pg_database, support.store_url
PARTICIPANTS, KILL_AFTER, CONCURRENCY = 400, 120, 64
ARGS = ("--quota", "1000000", "--items-per-page", "58", "--no-access-log", *load.NO_HOLD_LIMITS)


def _fire_and_kill(port: int, seats: list[load.Seat], server: subprocess.Popen[bytes]) -> None:
    async def scenario() -> None:
        firing = asyncio.create_task(load.submit_all(port, seats, CONCURRENCY))
        while sum(s.acknowledged for s in seats) < KILL_AFTER and not firing.done():
            await asyncio.sleep(0.002)
        server.send_signal(signal.SIGKILL)
        await firing

    asyncio.run(scenario())
    server.wait()


def _stored(db: str) -> dict[str, dict[str, str]]:
    """Prolific id → the answers the store holds for them."""
    engine = open_store(db, create=False)
    try:
        with engine.connect() as conn:
            ids = dict(conn.execute(select(participants.c.prolific_pid, participants.c.id)).all())
            assert conn.execute(select(func.count()).select_from(participants)).scalar_one() == len(
                ids
            ), "a Prolific id was stored twice"
        return {pid: store.answers_of(engine, pk) for pid, pk in ids.items()}
    finally:
        engine.dispose()


def _rows(db: str) -> int:
    engine = open_store(db, create=False)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(answers)).scalar_one())
    finally:
        engine.dispose()


def test_sigkill_under_load_loses_no_acknowledged_submission(
    store_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    port = load.free_port()
    server = load.start_server(store_url, port, *ARGS, log=log)
    try:
        seats = asyncio.run(load.enrol_many(port, PARTICIPANTS, 32, prefix="fault"))
        sent = {s.pid: load.form_answers(s.items, s.salt) for s in seats}
        _fire_and_kill(port, seats, server)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert server.returncode == -signal.SIGKILL
    acknowledged = [s for s in seats if s.acknowledged]
    assert KILL_AFTER <= len(acknowledged) < PARTICIPANTS, "the kill should land mid-stream"

    restarted = load.start_server(store_url, port, *ARGS, log=log)
    try:
        held = _stored(store_url)
        for seat in acknowledged:
            expected = {k.removeprefix("r_"): v for k, v in sent[seat.pid].items()}
            assert held[seat.pid] == expected, f"{seat.pid}: acknowledged, then lost or changed"
        assert _rows(store_url) >= 58 * len(acknowledged)
        # Participants whose submission was cut off send it again, after the restart.
        retry = [s for s in seats if not s.acknowledged]
        for seat in retry:
            seat.latencies.clear()
        asyncio.run(load.submit_all(port, retry, 16))
        assert all(s.acknowledged for s in retry)
    finally:
        restarted.terminate()
        restarted.wait()
    held = _stored(store_url)
    assert len(held) == PARTICIPANTS and all(len(a) == 58 for a in held.values())
    assert _rows(store_url) == 58 * PARTICIPANTS  # everything once, nothing twice
