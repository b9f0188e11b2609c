"""The store under the survey's load: short lock waits, and WAL checkpoints off the request path.

A request never waits long for a lock: a SQLite connection of the survey gives up after the
study's ``db_wait_seconds`` (``PRAGMA busy_timeout``, 30 s elsewhere), a PostgreSQL one likewise
(``lock_timeout``); the app answers such a request with 503 and ``Retry-After``.

In WAL mode a commit appends to the log without syncing (``synchronous=NORMAL``), so it
survives the process being killed; the sync happens when the log is copied back into the
database file, a *checkpoint*. By default the connection whose commit crosses 1000 log pages
runs it, inside that request: a pause of a hundred milliseconds or more for everyone queued
behind it. The survey turns that off for its connections and checkpoints from a thread of its
own every second instead (a passive checkpoint, which never blocks readers or writers).
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine, event

log = logging.getLogger("valuecompass.survey")


def _no_autocheckpoint(dbapi_conn: object, _record: object) -> None:
    cursor = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


def short_waits(engine: Engine, seconds: float) -> None:
    """Make the engine's connections give up on a lock after SECONDS (SQLite, PostgreSQL)."""
    millis = max(1, round(seconds * 1000))

    def on_connect(dbapi_conn: object, _record: object) -> None:
        cursor = dbapi_conn.cursor()  # type: ignore[attr-defined]
        if engine.dialect.name == "sqlite":
            cursor.execute(f"PRAGMA busy_timeout={millis}")
        elif engine.dialect.name == "postgresql":
            cursor.execute(f"SET lock_timeout = {millis}")
            dbapi_conn.commit()  # type: ignore[attr-defined]  # a SET lasts past its transaction
        cursor.close()

    event.listen(engine, "connect", on_connect)
    engine.dispose()  # pooled connections reconnect with the setting


def take_over_checkpoints(engine: Engine) -> None:
    """Stop the engine's SQLite connections checkpointing inside commits (idempotent)."""
    if engine.dialect.name != "sqlite":
        return
    if not event.contains(engine, "connect", _no_autocheckpoint):
        event.listen(engine, "connect", _no_autocheckpoint)
        engine.dispose()  # pooled connections reconnect with the setting


class Checkpointer:
    """A thread that checkpoints the engine's SQLite log every INTERVAL seconds."""

    def __init__(self, engine: Engine, interval: float = 1.0) -> None:
        self.engine = engine
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.engine.dialect.name != "sqlite" or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="survey-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and fold the whole log into the database file."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        self._checkpoint("TRUNCATE")

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._checkpoint("PASSIVE")

    def _checkpoint(self, mode: str) -> None:
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql(f"PRAGMA wal_checkpoint({mode})")
        except Exception:  # a busy or closed store: the next round tries again
            log.warning("survey: WAL checkpoint (%s) failed", mode, exc_info=True)
