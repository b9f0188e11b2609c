"""Where a store is, and whether it is ours: URLs, redaction, and a look before any write.

A store is a SQLite file or a PostgreSQL database. Before a SQLite file is opened for real (which
switches it to WAL journaling, a write), it is read once through a read-only connection: a file
that is not SQLite, is damaged, or holds another application's tables is refused untouched.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from valuecompass.common import redact_text
from valuecompass.errors import ValueCompassError

SQLITE_MAGIC = b"SQLite format 3\x00"
#: The database kinds a store may live in.
BACKENDS = ("sqlite", "postgresql")


class StoreError(ValueCompassError, RuntimeError):
    """A store that cannot be opened, or one written by a newer version."""


def redact(db: str | Path) -> str:
    """DB as it may be shown to anyone: a URL's password replaced by ``***``."""
    text = str(db)
    if "://" not in text:
        return text
    try:
        return make_url(text).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # e.g. a port that is not a number
        return redact_text(text)


def parse_url(db: str | Path) -> URL:
    """DB as a SQLAlchemy URL: a URL as given (PostgreSQL through psycopg), or a SQLite path."""
    text = str(db)
    if "://" not in text:
        path = Path(text).expanduser()
        if path.is_dir():
            raise StoreError(f"{path}: is a folder; give a SQLite file path or a database URL")
        return URL.create("sqlite", database=str(path))
    try:
        url = make_url(text)
    except (ArgumentError, ValueError) as exc:
        raise StoreError(f"{redact(text)}: not a database URL ({exc})") from exc
    if url.get_backend_name() not in BACKENDS:
        raise StoreError(
            f"{redact(text)}: a store is a SQLite file or a postgresql:// URL, "
            f"not {url.get_backend_name()!r}"
        )
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL; ``None`` for an in-memory database or a server."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(str(url.database))


def holds_nothing(db: str | Path) -> bool:
    """Whether DB is a SQLite file yet to be made: absent (or 0 bytes) in a folder this
    process may write. Such a store holds no answers, so a run there has nothing to skip
    or reuse, known without opening it (a URL, or anything else, is never assumed empty)."""
    try:
        url = parse_url(db)
    except StoreError:
        return False
    path = sqlite_path(url)
    if path is None:
        return False
    try:
        empty = not path.exists() or (path.is_file() and path.stat().st_size == 0)
    except OSError:
        return False
    return empty and path.parent.is_dir() and os.access(path.parent, os.W_OK | os.X_OK)


def look_at_file(path: Path, create: bool) -> tuple[list[str], bool, bool]:
    """The tables of the SQLite file at PATH, whether it is new (absent or 0 bytes), and
    whether it is marked as a ValueCompass store (its ``schema_meta`` holds a version).

    Read through a read-only connection, so nothing is written to a file that is not ours.
    A missing or empty file is an error unless CREATE: reading never makes a store.
    """
    if not path.exists():
        if not create:
            raise StoreError(f"{path}: no such store")
        if not path.parent.is_dir():
            raise StoreError(f"{path}: cannot create the store: no such folder {path.parent}")
        return [], True, False
    try:
        with path.open("rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise StoreError(f"{path}: cannot read the store ({exc.strerror})") from exc
    if not head:
        if not create:
            raise StoreError(f"{path}: an empty file, not a ValueCompass store")
        return [], True, False  # 0 bytes: nothing to lose; `run` makes its store here
    if head != SQLITE_MAGIC:
        raise StoreError(f"{path}: not a SQLite file, so not a ValueCompass store; left untouched")
    if create:
        _check_writable(path)
    try:
        conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)
        try:
            names = [
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            marked = "schema_meta" in names and _has_version(conn)
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        if not _may_write(path.parent):
            raise StoreError(
                f"{path}: cannot read the store: its folder {path.parent} is read-only, and a "
                "store in WAL mode writes its -wal and -shm files beside it; copy the store to "
                f"a folder you may write ({exc})"
            ) from exc
        raise StoreError(f"{path}: a damaged or unreadable SQLite file ({exc})") from exc
    return names, False, marked


def _may_write(path: Path) -> bool:
    return os.access(path, os.W_OK | (os.X_OK if path.is_dir() else 0))


def _check_writable(path: Path) -> None:
    """A writer's store: the file, and its folder (WAL keeps -wal and -shm files there)."""
    if not _may_write(path):
        raise StoreError(
            f"{path}: the store is read-only, and this command writes to it; readers (align, "
            "profile, report, runs list, ...) can still read it"
        )
    if not _may_write(path.parent):
        raise StoreError(
            f"{path}: its folder {path.parent} is read-only, and a store writes its -wal and "
            "-shm files beside it; make the folder writable or copy the store elsewhere"
        )


def _has_version(conn: sqlite3.Connection) -> bool:
    """Whether ``schema_meta`` is ours: it records a schema version."""
    try:
        sql = "SELECT value FROM schema_meta WHERE key = 'schema_version'"
        return conn.execute(sql).fetchone() is not None
    except sqlite3.DatabaseError:  # a table of that name, but not of our shape
        return False


def foreign(tables: list[str], ours: set[str], server: bool) -> list[str]:
    """The tables that make a database not (only) ours, for one without ``schema_meta``.

    A SQLite file is one application's: any table in it is another's. A server's database may
    be shared, so only tables whose names ours would take count.
    """
    if server:
        return sorted(set(tables) & ours)
    return sorted(tables)
