"""The store's engine, metadata and schema versioning.

One SQLAlchemy :class:`~sqlalchemy.MetaData` holds every table (runs and model answers in
:mod:`.runs`, survey participants and answers in :mod:`.survey`, action sets in
:mod:`.actions` and their reviews in :mod:`.reviews`). A store is a SQLite file by default, or
any PostgreSQL URL. The ``schema_meta`` table records the schema version; opening a store
applies the named migrations it lacks, in order, in one transaction that holds the store's
write lock (so two processes opening a new store at once make it once), and refuses a store
written by a newer ValueCompass.
Reading never creates or migrates (``create=False``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, DBAPIError

from valuecompass.settings import env
from valuecompass.store._open import StoreError as StoreError
from valuecompass.store._open import (
    foreign,
    look_at_file,
    parse_url,
    redact,
    sqlite_path,
)

metadata = MetaData()

schema_meta = Table(
    "schema_meta",
    metadata,
    Column("key", String(64), primary_key=True, doc="setting name, e.g. 'schema_version'"),
    Column("value", String(256), nullable=False, doc="its value, as text"),
)


@dataclass(frozen=True)
class Migration:
    """One named step of the schema's history; ``version`` is the version it produces."""

    version: int
    name: str
    apply: Callable[[Connection], None]


def _survey_studies(conn: Connection) -> None:
    from valuecompass.store._history import survey_studies

    survey_studies(conn)


def _initial(conn: Connection) -> None:
    from valuecompass.store._history import initial

    initial(conn)


def _run_leases(conn: Connection) -> None:
    from valuecompass.store._history import run_leases

    run_leases(conn)


def _contexts(conn: Connection) -> None:
    from valuecompass.store._history import contexts

    contexts(conn)


def _run_record(conn: Connection) -> None:
    from valuecompass.store._history import run_record

    run_record(conn)


def _scenario_columns(conn: Connection) -> None:
    from valuecompass.store._history import scenario_columns

    scenario_columns(conn)


def _survey_language(conn: Connection) -> None:
    from valuecompass.store._survey_tables import add_language  # the survey's own step

    add_language(conn)


def _survey_holds(conn: Connection) -> None:
    from valuecompass.store._survey_tables import add_holds  # the survey's own step

    add_holds(conn)


def _survey_contexts(conn: Connection) -> None:
    from valuecompass.store._survey_tables import add_contexts  # the survey's own step

    add_contexts(conn)


def _action_sets(conn: Connection) -> None:
    from valuecompass.store._history import action_sets

    action_sets(conn)


def _choice_task(conn: Connection) -> None:
    from valuecompass.store._history import choice_task

    choice_task(conn)


def _action_reviews(conn: Connection) -> None:
    from valuecompass.store._history import action_reviews

    action_reviews(conn)


def _survey_choices(conn: Connection) -> None:
    from valuecompass.store._survey_tables import add_choices  # the survey's own step

    add_choices(conn)


def _run_batches(conn: Connection) -> None:
    from valuecompass.store._history import run_batches

    run_batches(conn)


def _survey_reviews(conn: Connection) -> None:
    from valuecompass.store._survey_reviews import add_reviews_table  # the survey's own step

    add_reviews_table(conn)


#: The schema's history, oldest first. Add a step; never edit one that has shipped. Each step's
#: tables are written out in :mod:`._history` (frozen DDL), never taken from today's tables.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial: runs, prompts, answers, survey", _initial),
    Migration(2, "run_leases: which process runs a run, and its heartbeat", _run_leases),
    Migration(3, "survey: studies, admin sessions, participants' items per page", _survey_studies),
    Migration(4, "contexts: any instrument's axes; runs keep instrument and design", _contexts),
    Migration(5, "survey: the language each participant takes the survey in", _survey_language),
    Migration(6, "survey_contexts: quota cells over any assigned axes", _survey_contexts),
    Migration(7, "run_record: each run keeps its record's version", _run_record),
    Migration(8, "scenario_columns: the second axis's column is scenario", _scenario_columns),
    Migration(
        9, "survey_holds: who took each place, and each participant's last page", _survey_holds
    ),
    Migration(10, "action_sets: actions per item, context and inclination", _action_sets),
    Migration(11, "choice_task: choice runs, their action set, the place chosen", _choice_task),
    Migration(12, "action_reviews: people's judgements of actions, per reviewer", _action_reviews),
    Migration(13, "survey_choices: the pairs of actions people choose between", _survey_choices),
    Migration(14, "run_batches: a run's provider batches and their requests", _run_batches),
    Migration(
        15, "survey_reviews: the actions dealt to a review study's annotators", _survey_reviews
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


def database_url(db: str | Path) -> str:
    """A SQLAlchemy URL for DB: a URL as given, or a SQLite file path."""
    return parse_url(db).render_as_string(hide_password=False)


#: The most page cache a SQLite connection keeps, in KiB (taken as pages are read).
CACHE_KIB = 65536


def _sqlite_pragmas(dbapi_conn: object, _record: object) -> None:
    cursor = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # A run's prompts and answers are indexed by random keys: with SQLite's default 2 MiB page
    # cache each group commit of a large run reads and writes most index pages again.
    cursor.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    cursor.close()


def open_store(db: str | Path, *, create: bool = True) -> Engine:
    """Open the store at DB and return its engine; by default create or migrate it.

    With ``create=False`` (every reader) nothing is created or migrated: a missing or empty
    SQLite file, or a database without a ValueCompass store, is an error. Either way a database
    that is not a ValueCompass store (another application's SQLite file, a server database with
    a foreign ``runs`` table) is refused and left untouched. SQLite files get WAL journaling, so
    readers never block the one writer, and a 30 s busy timeout. Messages never show a password.
    """
    url = parse_url(db)
    where = redact(db)
    path = sqlite_path(url)
    if path is not None:
        tables, new, marked = look_at_file(path, create)
        if not new:
            _check_ours(tables, marked, where, server=False, create=create)
    try:
        # A server may drop idle connections; a SQLite file never does, so only servers are pinged.
        server = url.get_backend_name() != "sqlite"
        args = server_timeouts(url) if server else {}
        engine = create_engine(url, pool_pre_ping=server, connect_args=args)
    except (ArgumentError, ImportError) as exc:  # e.g. a driver that is not installed
        raise StoreError(f"{where}: cannot open the store ({exc})") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        if path is None:
            with engine.connect() as conn:
                tables = inspect(conn).get_table_names()
                marked = "schema_meta" in tables and _has_version(conn)
            server = engine.dialect.name != "sqlite"
            _check_ours(tables, marked, where, server=server, create=create)
        if create:
            migrate(engine)
    except DBAPIError as exc:
        engine.dispose()
        reason = _reason(exc)
        if server and "timeout" in reason.lower():
            reason += "; VALUECOMPASS_DB_CONNECT_TIMEOUT sets how many seconds to wait"
        raise StoreError(f"{where}: cannot open the store ({reason})") from exc
    except BaseException:
        engine.dispose()
        raise
    return engine


def server_timeouts(url: URL) -> dict[str, Any]:
    """How long a server may take: to connect (``VALUECOMPASS_DB_CONNECT_TIMEOUT``, seconds,
    default 10: a server that accepts the connection and never answers is given up on) and
    to run one statement (``VALUECOMPASS_DB_STATEMENT_TIMEOUT``, seconds, default 300; 0 for
    none). A ``connect_timeout`` or ``options`` in the URL's query is the user's and wins."""
    out: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        out["connect_timeout"] = _seconds("VALUECOMPASS_DB_CONNECT_TIMEOUT", 10)
    if "options" not in url.query:
        statement = _seconds("VALUECOMPASS_DB_STATEMENT_TIMEOUT", 300)
        out["options"] = f"-c statement_timeout={statement * 1000}"
    return out


def _seconds(name: str, default: int) -> int:
    text = env(name, str(default)) or str(default)
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise StoreError(f"{name}={text!r}: give a whole number of seconds (0 or more)")
    return value


def _reason(exc: DBAPIError) -> str:
    """The driver's own words, first line only (a server's message may run on)."""
    return str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)


def _has_version(conn: Connection) -> bool:
    """Whether the database's ``schema_meta`` is ours: it records a schema version."""
    try:  # the connection is closed (and rolled back) right after
        return schema_version(conn) > 0
    except (DBAPIError, ValueError):  # a table of that name, but not of our shape
        return False


def _check_ours(tables: list[str], marked: bool, where: str, *, server: bool, create: bool) -> None:
    """Refuse a database that is not a ValueCompass store (see :func:`open_store`)."""
    if marked:
        return
    if not tables and not create:
        raise StoreError(f"{where}: holds no ValueCompass store")
    others = foreign(tables, set(metadata.tables), server)
    if others:
        shown = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
        raise StoreError(
            f"{where}: not a ValueCompass store (it holds another application's tables: "
            f"{shown}); left untouched"
        )
    if not create:
        raise StoreError(f"{where}: holds no ValueCompass store")


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
    _check_version(engine, current)
    if current == SCHEMA_VERSION:
        return current
    with engine.begin() as conn:
        _write_lock(conn)
        current = schema_version(conn)  # another process may have migrated meanwhile
        _check_version(engine, current)
        for step in MIGRATIONS:
            if step.version > current:
                step.apply(conn)
                _set_version(conn, step.version)
                current = step.version
    return current


def _check_version(engine: Engine, current: int) -> None:
    if current > SCHEMA_VERSION:
        raise StoreError(
            f"{engine.url.render_as_string(hide_password=True)}: schema version {current} "
            f"is newer than this ValueCompass understands ({SCHEMA_VERSION}); upgrade it"
        )


def _write_lock(conn: Connection) -> None:
    """Hold the store's write lock until the transaction ends (SQLite: the file's; PostgreSQL:
    an advisory lock of ValueCompass's own)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7245118391)")


def _set_version(conn: Connection, version: int) -> None:
    updated = conn.execute(
        schema_meta.update().where(schema_meta.c.key == "schema_version").values(value=str(version))
    )
    if updated.rowcount == 0:
        conn.execute(schema_meta.insert().values(key="schema_version", value=str(version)))
