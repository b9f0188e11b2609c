"""The store's engine, metadata and schema versioning.

One SQLAlchemy :class:`~sqlalchemy.MetaData` holds every table (runs and model answers in
:mod:`.runs`, survey participants and answers in :mod:`.survey`). A store is a SQLite file by
default, or any PostgreSQL URL. The ``schema_meta`` table records the schema version; opening a
store applies the named migrations it lacks, in order, each in its own transaction, and refuses a
store written by a newer ValueCompass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    inspect,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from valuecompass.errors import ValueCompassError

metadata = MetaData()

schema_meta = Table(
    "schema_meta",
    metadata,
    Column("key", String(64), primary_key=True, doc="setting name, e.g. 'schema_version'"),
    Column("value", String(256), nullable=False, doc="its value, as text"),
)


class StoreError(ValueCompassError, RuntimeError):
    """A store that cannot be opened, or one written by a newer version."""


@dataclass(frozen=True)
class Migration:
    """One named step of the schema's history; ``version`` is the version it produces."""

    version: int
    name: str
    apply: Callable[[Connection], None]


def _initial(conn: Connection) -> None:
    metadata.create_all(conn)


def _survey_studies(conn: Connection) -> None:
    from valuecompass.store._survey_tables import add_studies  # the survey's own step

    add_studies(conn)


#: The schema's history, oldest first. Add a step; never edit one that has shipped.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial: runs, prompts, answers, survey", _initial),
    Migration(2, "survey: studies, admin sessions, participants' items per page", _survey_studies),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


def database_url(db: str | Path) -> str:
    """A SQLAlchemy URL for DB: a URL as given, or a SQLite file path."""
    text = str(db)
    if "://" in text:
        try:
            make_url(text)
        except ArgumentError as exc:
            raise StoreError(f"{text}: not a database URL ({exc})") from exc
        if text.startswith("postgresql://"):
            return "postgresql+psycopg://" + text.removeprefix("postgresql://")
        return text
    path = Path(text).expanduser()
    if path.is_dir():
        raise StoreError(f"{path}: is a folder; give a SQLite file path or a database URL")
    return f"sqlite:///{path}"


def _sqlite_pragmas(dbapi_conn: object, _record: object) -> None:
    cursor = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def open_store(db: str | Path, *, create: bool = True) -> Engine:
    """Open (and by default create or migrate) the store at DB; return its engine.

    SQLite files get WAL journaling, so readers never block the one writer, and a 30 s busy
    timeout. With ``create=False`` a missing SQLite file is an error rather than a new store.
    """
    url = database_url(db)
    if not create and url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():
            raise StoreError(f"{path}: no such store")
    # A server may drop idle connections; a SQLite file never does, so only servers are pinged.
    engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        migrate(engine)
    except OperationalError as exc:
        raise StoreError(f"{db}: cannot open the store ({exc.orig})") from exc
    return engine


def schema_version(conn: Connection) -> int:
    """The store's schema version; 0 for an empty database."""
    if not inspect(conn).has_table("schema_meta"):
        return 0
    row = conn.execute(
        select(schema_meta.c.value).where(schema_meta.c.key == "schema_version")
    ).first()
    return int(row[0]) if row else 0


def migrate(engine: Engine) -> int:
    """Apply the migrations the store lacks; return the resulting version."""
    with engine.connect() as conn:
        current = schema_version(conn)
    if current > SCHEMA_VERSION:
        raise StoreError(
            f"{engine.url.render_as_string(hide_password=True)}: schema version {current} "
            f"is newer than this ValueCompass understands ({SCHEMA_VERSION}); upgrade it"
        )
    for step in MIGRATIONS:
        if step.version <= current:
            continue
        with engine.begin() as conn:
            step.apply(conn)
            _set_version(conn, step.version)
        current = step.version
    return current


def _set_version(conn: Connection, version: int) -> None:
    updated = conn.execute(
        schema_meta.update().where(schema_meta.c.key == "schema_version").values(value=str(version))
    )
    if updated.rowcount == 0:
        conn.execute(schema_meta.insert().values(key="schema_version", value=str(version)))
