"""The store's migrations are frozen DDL: applied one by one from an empty database, they build
exactly today's tables (columns, types, keys, indexes), on SQLite and on PostgreSQL; a store
left at any earlier migration opens and migrates to the same schema, its rows kept."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, create_engine, inspect, text

from _survey_support import BACKENDS, postgres_url
from valuecompass.store import MIGRATIONS, SCHEMA_VERSION, metadata, open_store, schema_version
from valuecompass.store._base import _set_version, schema_meta
from valuecompass.testing.survey_load import fresh_postgres

Fresh = Callable[[], AbstractContextManager[str]]


@pytest.fixture(params=BACKENDS)
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Fresh:
    """Makes an empty database (a new SQLite file, or a new PostgreSQL database) and its URL."""
    count = iter(range(100))

    @contextmanager
    def sqlite() -> Iterator[str]:
        yield f"sqlite:///{tmp_path / f'db{next(count)}.db'}"

    @contextmanager
    def postgresql() -> Iterator[str]:
        with fresh_postgres(postgres_url(), prefix="vc_history") as url:
            yield url

    return sqlite if request.param == "sqlite" else postgresql


def _schema(engine: Engine) -> dict[str, Any]:
    """Every table's columns (type, nullable, default), primary key, foreign keys, unique
    constraints and indexes, as the database reports them."""
    with engine.connect() as conn:
        seen = inspect(conn)
        out: dict[str, Any] = {}
        for t in sorted(seen.get_table_names()):
            cols = {
                c["name"]: (str(c["type"]), c["nullable"], _default(c.get("default")))
                for c in seen.get_columns(t)
            }
            unique = [(u["name"] or "", tuple(u["column_names"]))
                      for u in seen.get_unique_constraints(t)]  # fmt: skip
            indexes = [(i["name"] or "", tuple(i["column_names"]), bool(i["unique"]))
                       for i in seen.get_indexes(t)]  # fmt: skip
            out[t] = {
                "columns": cols,
                "primary_key": seen.get_pk_constraint(t)["constrained_columns"],
                "foreign_keys": _foreign_keys(conn, t),
                "unique": sorted(unique),
                "indexes": sorted(indexes),
            }
    return out


def _foreign_keys(conn: Connection, table: str) -> list[tuple[Any, ...]]:
    """(columns, referred table, referred columns, on delete) of each foreign key. SQLite's
    own list: SQLAlchemy's reflection misses ON DELETE on a column's inline REFERENCES."""
    if conn.dialect.name != "sqlite":
        return sorted(
            (tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]),
             (f.get("options") or {}).get("ondelete"))
            for f in inspect(conn).get_foreign_keys(table)
        )  # fmt: skip
    keys: dict[int, list[Any]] = {}
    for key, _seq, other, column, to, _update, delete, _match in conn.exec_driver_sql(
        f"PRAGMA foreign_key_list('{table}')"
    ):
        found = keys.setdefault(key, [(), other, (), None if delete == "NO ACTION" else delete])
        found[0], found[2] = (*found[0], column), (*found[2], to)
    return sorted(tuple(k) for k in keys.values())


def _default(default: str | None) -> str | None:
    """A server default as text, without PostgreSQL's cast (``''::character varying``)."""
    return None if default is None else default.split("::")[0]


def _head(url: str) -> dict[str, Any]:
    """The schema of today's tables as the code defines them, built at once."""
    engine = create_engine(url)
    metadata.create_all(engine)
    with engine.begin() as conn:
        _set_version(conn, SCHEMA_VERSION)
    try:
        return _schema(engine)
    finally:
        engine.dispose()


def _migrated_to(url: str, version: int) -> Engine:
    """A store built by the migrations up to VERSION, each in its own transaction."""
    engine = create_engine(url)
    with engine.begin() as conn:
        schema_meta.create(conn)
    for step in MIGRATIONS:
        if step.version > version:
            break
        with engine.begin() as conn:
            step.apply(conn)
            _set_version(conn, step.version)
    return engine


def test_migrations_one_by_one_build_exactly_todays_tables(fresh: Fresh) -> None:
    with fresh() as head_url, fresh() as steps_url:
        head = _head(head_url)
        engine = _migrated_to(steps_url, SCHEMA_VERSION)
        try:
            assert _schema(engine) == head
        finally:
            engine.dispose()
    assert "survey_studies" in head and "items_per_page" in head["survey_participants"]["columns"]


def _a_run(conn: Connection) -> None:
    """One run row, written with schema 1's columns (every later step keeps it)."""
    conn.execute(text(
        "INSERT INTO runs (name, model, spec, mode, params, grid, instrument, prompts_digest, "
        "version, status, started_at) VALUES ('old', 'mock', 'mock', 'form', '{}', '{}', 'x', "
        "'y', '0.1', 'finished', '2025-01-01 00:00:00')"
    ))  # fmt: skip


#: Every version a store can be left at (numbers reserved for steps on other branches are gaps).
EARLIER = [step.version for step in MIGRATIONS[:-1]]


@pytest.mark.parametrize("version", EARLIER)
def test_a_store_at_each_earlier_migration_opens_and_migrates(fresh: Fresh, version: int) -> None:
    with fresh() as head_url, fresh() as url:
        head = _head(head_url)
        old = _migrated_to(url, version)
        with old.begin() as conn:
            _a_run(conn)
            assert schema_version(conn) == version
        old.dispose()
        reader = open_store(url, create=False)  # reading neither creates nor migrates
        with reader.connect() as conn:
            assert schema_version(conn) == version
        reader.dispose()
        engine = open_store(url)
        try:
            with engine.connect() as conn:
                assert schema_version(conn) == SCHEMA_VERSION
                assert conn.execute(text("SELECT name, mode FROM runs")).all() == [("old", "form")]
            assert _schema(engine) == head
        finally:
            engine.dispose()
