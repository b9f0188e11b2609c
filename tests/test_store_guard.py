"""Issue 14, items 5, 8, 9 and 10: a store is ours or refused untouched; reading never writes;
passwords never shown; two runs of one name at once. SQLite and the real PostgreSQL."""

from __future__ import annotations

import itertools
import json
import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect

from _store_support import (
    GRID,
    cli,
    counts,
    pg_database,
    run_store,
    spawn,
    status,
    v1_copy,
    wait_for,
)
from _survey_support import TOKEN, postgres_url
from valuecompass.cli import main
from valuecompass.models import Request
from valuecompass.models.mock import MockBackend
from valuecompass.runner import RunConfig, run_model
from valuecompass.store import StoreError, database_url, open_store
from valuecompass.store._base import SCHEMA_VERSION, metadata
from valuecompass.store._history import tables_of
from valuecompass.testing.survey_load import fresh_postgres

SRC = Path(__file__).resolve().parents[1] / "src"

__all__ = ["pg_database", "run_store"]

RELEASED_MODEL = "gemma2-9b-it"


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def _foreign(path: Path, sql: str) -> bytes:
    with sqlite3.connect(path) as conn:
        conn.execute(sql)
    conn.close()
    return path.read_bytes()


def _readers(db: str, released: Path) -> list[list[str]]:
    llm = str(released / "llm_outputs" / RELEASED_MODEL)
    return [
        ["align", "--humans", db, "--llm", llm],
        ["report", "--humans", db, "--llm", llm, "--out", str(Path(db).with_suffix(".html"))],
        ["profile", "--llm", db],
        ["runs", "list", "--db", db],
        ["runs", "export", "x", "--db", db],
        ["survey", "export", "--db", db, "--out", str(Path(db).with_suffix(".csv"))],
        ["code", "run", "--answers", db],
    ]


def test_another_applications_sqlite_file_is_refused_untouched(
    tmp_path: Path, released: Path
) -> None:
    places = tmp_path / "f.db"
    before = _foreign(places, "create table moz_places(url text)")
    for args in _readers(str(places), released):
        code, out = _invoke(*args)
        assert code == 2 and f"{places}: not a ValueCompass store" in out, (args, out)
        assert "moz_places" in out
    runs_db = tmp_path / "o.db"
    before_runs = _foreign(runs_db, "create table runs(id integer primary key, foo text)")
    for _ in range(2):  # and the same on every later try
        code, out = _invoke("run", "--model", "mock", "--db", str(runs_db), *GRID, "--no-progress")
        assert code == 2 and f"{runs_db}: not a ValueCompass store" in out and "runs" in out, out
    assert places.read_bytes() == before and runs_db.read_bytes() == before_runs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.db", "o.db"]  # no -wal, no -shm


def test_reading_never_creates_a_store(tmp_path: Path, released: Path) -> None:
    absent = tmp_path / "absent.db"
    empty = tmp_path / "empty.db"
    empty.touch()
    for db in (absent, empty):
        for args in _readers(str(db), released):
            code, out = _invoke(*args)
            assert code == 2 and str(db) in out and "Traceback" not in out, (args, out)
    assert not absent.exists() and empty.read_bytes() == b""
    # `run` makes its store in an empty file (nothing there to lose), as the README says
    code, out = _invoke("run", "--model", "mock", "--db", str(empty), "--countries", "India",
                        "--scenarios", "healthcare", "--variants", "0",
                        "--no-progress")  # fmt: skip
    assert code == 0, out
    assert counts(str(empty))[0] == 56


def test_a_file_that_is_not_sqlite_or_is_truncated_is_one_line(tmp_path: Path) -> None:
    garbage = tmp_path / "notes.db"
    garbage.write_text("not a database\n")
    good = tmp_path / "good.db"
    code, _ = _invoke("run", "--model", "mock", "--db", str(good), "--countries", "India",
                      "--scenarios", "healthcare", "--variants", "0", "--no-progress")  # fmt: skip
    assert code == 0
    truncated = tmp_path / "cut.db"
    truncated.write_bytes(good.read_bytes()[:1500])  # the header survives, the pages do not
    for db, words in ((garbage, "not a SQLite file"), (truncated, "damaged")):
        before = db.read_bytes()
        for args in (
            ["run", "--model", "mock", "--db", str(db), "--no-progress"],
            ["runs", "list", "--db", str(db)],
            ["profile", "--llm", str(db)],
            ["survey", "export", "--db", str(db), "--out", str(tmp_path / "x.csv")],
            ["survey", "serve", "--db", str(db), "--admin-token", TOKEN],
        ):
            code, out = _invoke(*args)
            assert code == 2 and f"{db}:" in out and words in out, (args, out)
            assert "Traceback" not in out and len(out.strip().splitlines()) == 1, out
        assert db.read_bytes() == before


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("mysql://root:pw@127.0.0.1/x", "not 'mysql'"),
        ("foo://bar", "not 'foo'"),
        ("postgresql://u:p@[::1/x", "not a database URL"),
    ],
)
def test_unsupported_database_urls_are_one_line(url: str, words: str) -> None:
    for args in (["run", "--model", "mock", "--db", url], ["runs", "list", "--db", url]):
        code, out = _invoke(*args)
        assert code == 2 and words in out and "Traceback" not in out, (args, out)


def test_passwords_never_appear_in_messages(tmp_path: Path, released: Path) -> None:
    url = "postgresql://user:hunter2@127.0.0.1:1/x"  # nothing listens on port 1
    llm = str(released / "llm_outputs" / RELEASED_MODEL)
    for args in (
        ["run", "--model", "mock", "--db", url, "--no-progress"],
        ["runs", "list", "--db", url],
        ["align", "--humans", url, "--llm", llm],
        ["code", "run", "--answers", url, "--codes", str(tmp_path / "c.csv")],
        ["survey", "export", "--db", url, "--out", str(tmp_path / "x.csv")],
        ["survey", "serve", "--db", url, "--admin-token", TOKEN],
    ):
        code, out = _invoke(*args)
        assert code == 2 and "hunter2" not in out, (args, out)
        assert "postgresql://user:***@127.0.0.1:1/x" in out, (args, out)


def test_a_postgres_database_with_a_foreign_runs_table_is_refused_untouched() -> None:
    with fresh_postgres(postgres_url()) as url:
        engine = create_engine(database_url(url))
        with engine.begin() as conn:
            conn.exec_driver_sql("create table runs (id integer primary key, foo text)")
        code, out = _invoke("run", "--model", "mock", "--db", url, *GRID, "--no-progress")
        assert code == 2 and "not a ValueCompass store" in out and "runs" in out, out
        code, out = _invoke("runs", "list", "--db", url)
        assert code == 2 and "not a ValueCompass store" in out, out
        with engine.connect() as conn:
            assert inspect(conn).get_table_names() == ["runs"]  # no schema_meta written
        engine.dispose()
    with fresh_postgres(postgres_url()) as url:  # an empty database is no store to read
        code, out = _invoke("runs", "list", "--db", url)
        assert code == 2 and "holds no ValueCompass store" in out, out
        engine = create_engine(database_url(url))
        with engine.connect() as conn:
            assert inspect(conn).get_table_names() == []
        engine.dispose()


def test_a_second_run_of_the_same_name_is_refused_while_the_first_runs(run_store: str) -> None:
    args = ["run", "--model", "mock:delay=0.01", *GRID, "--run", "twice", "--db", run_store]
    first = spawn(*args, "--concurrency", "1", "--no-progress")
    wait_for(lambda: counts(run_store)[0] >= 10, first)
    assert first.poll() is None, "the first run ended too soon"
    second = cli(*args, "--no-progress")
    assert second.returncode == 2, second.stderr
    assert "Traceback" not in second.stderr and len(second.stderr.strip().splitlines()) == 1
    assert "run 'twice' is being run by another process (pid" in second.stderr
    _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert status(run_store, "twice") == "finished"
    assert counts(run_store) == (448, 448, 448)  # nothing lost, nothing doubled


def test_two_runs_started_together_on_a_new_store(run_store: str) -> None:
    args = ["run", "--model", "mock:delay=0.005", *GRID, "--run", "pair", "--db", run_store]
    procs = [spawn(*args, "--concurrency", "2", "--no-progress") for _ in range(2)]
    results = [(p.wait(timeout=120), p.communicate()[1]) for p in procs]
    codes = sorted(code for code, _ in results)
    for code, err in results:
        assert "Traceback" not in err, err
        if code == 2:
            assert "is being run by another process" in err
    assert codes in ([0, 0], [0, 2]), results  # both (one after the other), or one refused
    assert status(run_store, "pair") == "finished"
    assert counts(run_store) == (448, 448, 448)


def test_a_store_from_schema_1_is_read_as_it_is_and_migrated_by_run(tmp_path: Path) -> None:
    made, db = tmp_path / "made.db", tmp_path / "v1.db"
    one = ["--countries", "India", "--scenarios", "healthcare", "--variants", "0", "--no-progress"]
    code, out = _invoke("run", "--model", "mock", "--db", str(made), "--run", "old", *one)
    assert code == 0, out
    v1_copy(made, db)  # schema 1's tables (frozen DDL) with the run's rows: no run_leases
    code, out = _invoke("runs", "list", "--db", str(db), "--format", "json")
    assert code == 0 and '"status": "finished"' in out, out
    with sqlite3.connect(db) as conn:  # reading did not migrate
        assert conn.execute("select value from schema_meta").fetchone() == ("1",)
    conn.close()
    code, out = _invoke("run", "--model", "mock", "--db", str(db), "--run", "old", *one)
    assert code == 0 and "56 already stored" in out, out
    with sqlite3.connect(db) as conn:
        assert conn.execute("select value from schema_meta").fetchone() == (str(SCHEMA_VERSION),)
        assert conn.execute("select count(*) from run_leases").fetchone() == (0,)
        assert conn.execute("select count(*), min(context) from answers").fetchone() == (56, "")
        spec = conn.execute("select instrument_spec from runs").fetchone()[0]
    conn.close()
    assert json.loads(spec)["id"] == "value_form"  # the resumed run now keeps its instrument
    with create_engine(f"sqlite:///{db}").connect() as migrated:
        assert tables_of(migrated) == _tables_of_today(tmp_path)


def _tables_of_today(tmp_path: Path) -> dict[str, list[str]]:
    """Today's tables as the code defines them (not as migrations built them)."""
    engine = create_engine(f"sqlite:///{tmp_path / 'today.db'}")
    metadata.create_all(engine)
    with engine.connect() as conn:
        found = tables_of(conn)
    engine.dispose()
    return found


def test_migrations_build_todays_tables(tmp_path: Path) -> None:
    engine = open_store(tmp_path / "fresh.db")
    with engine.connect() as conn:
        assert tables_of(conn) == _tables_of_today(tmp_path)
        uniques = {
            u["name"]: u["column_names"] for u in inspect(conn).get_unique_constraints("answers")
        }
    engine.dispose()
    assert "context" in uniques["uq_answer"]


def test_a_store_that_fails_during_a_run_is_one_error_and_the_run_failed(run_store: str) -> None:
    engine = open_store(run_store)
    calls = itertools.count()

    def script(request: Request) -> str:
        if next(calls) == 30:  # the store breaks under the run
            with engine.begin() as conn:
                conn.exec_driver_sql("ALTER TABLE answers RENAME TO answers_gone")
        return "2"

    config = RunConfig(model="mock", db=run_store, run="f", countries=["India"],
                       scenarios=["healthcare"], progress=False, concurrency=1)  # fmt: skip
    try:
        with pytest.raises(StoreError, match="the store failed during the run") as caught:
            run_model(config, backend=MockBackend(script=script))
        assert "hunter2" not in str(caught.value) and "Traceback" not in str(caught.value)
        assert status(run_store, "f") == "failed"
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE answers_gone RENAME TO answers")
        engine.dispose()


def test_a_foreign_schema_meta_table_does_not_make_a_file_ours(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    before = _foreign(other, "create table schema_meta(version integer)")
    code, out = _invoke("run", "--model", "mock", "--db", str(other), *GRID, "--no-progress")
    assert code == 2 and "not a ValueCompass store" in out and "schema_meta" in out, out
    code, out = _invoke("runs", "list", "--db", str(other))
    assert code == 2 and "not a ValueCompass store" in out, out
    assert other.read_bytes() == before


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A real socket on loopback that accepts connections and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]


@pytest.mark.parametrize(
    "command",
    [
        ["run", "--model", "mock", "--countries", "India", "--scenarios", "healthcare"],
        ["runs", "list"],
        ["survey", "export", "--out", "people.csv"],
        ["survey", "serve", "--port", "PORT"],
        ["align", "--humans", "DB", "--llm", "DB#m"],
    ],
    ids=lambda c: " ".join(c[:2]),
)
def test_a_server_that_never_answers_is_one_line_not_a_hang(
    silent_server: int, command: list[str], tmp_path: Path
) -> None:
    """Issue 23, item 2: a database that accepts the connection and never answers hung every
    command for as long as one waited. With a 1 s connect timeout each is one line, exit 2,
    naming the setting; nothing is written."""
    url = f"postgresql://u:secret@127.0.0.1:{silent_server}/db"
    names = {"DB": url, "DB#m": f"{url}#m", "PORT": str(silent_server)}  # that port is taken
    args = [names.get(a, a) for a in command]
    if "--humans" not in args:
        args += ["--db", url]
    env = {**os.environ, "VALUECOMPASS_DB_CONNECT_TIMEOUT": "1", "PYTHONPATH": str(SRC)}
    done = subprocess.run(
        [sys.executable, "-m", "valuecompass", *args],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "cannot open the store (connection timeout expired" in lines[0]
    assert "VALUECOMPASS_DB_CONNECT_TIMEOUT" in lines[0] and "secret" not in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_a_bad_timeout_setting_is_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "VALUECOMPASS_DB_CONNECT_TIMEOUT": "soon", "PYTHONPATH": str(SRC)}
    done = subprocess.run(
        [sys.executable, "-m", "valuecompass", "runs", "list", "--db", "postgresql://h/db"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: VALUECOMPASS_DB_CONNECT_TIMEOUT='soon': give a whole number of seconds (0 or more)"
    )


def _as_a_user(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``valuecompass ARGS`` without the power to write what its permissions forbid (root
    drops the capability that overrides them; anyone else has none)."""
    lower = (
        ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.run(
        [*lower, sys.executable, "-m", "valuecompass", *args],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=120,
    )  # fmt: skip


ONE = ["--model", "mock", "--countries", "India", "--scenarios", "healthcare", "--no-progress"]


@pytest.mark.parametrize("command", [["run", *ONE, "--run", "second"], ["survey", "serve"]])
def test_a_read_only_store_is_one_line_for_a_writer(command: list[str], tmp_path: Path) -> None:
    """Issue 23, item 6: a store file made read-only (chmod 444) gave ``run`` and ``survey
    serve`` a SQLAlchemy traceback (exit 1). Readers still read it."""
    store = tmp_path / "s.db"
    assert CliRunner().invoke(main, ["run", *ONE, "--db", str(store)]).exit_code == 0
    store.chmod(0o444)
    before = store.read_bytes()
    done = _as_a_user([*command, "--db", str(store)], tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip() == (
        f"error: {store}: the store is read-only, and this command writes to it; readers "
        "(align, profile, report, runs list, ...) can still read it"
    )
    assert store.read_bytes() == before
    assert _as_a_user(["runs", "list", "--db", str(store)], tmp_path).returncode == 0


def test_a_store_in_a_read_only_folder_says_so(tmp_path: Path) -> None:
    """Item 6: a WAL store in a read-only folder was reported as "damaged or unreadable"."""
    folder = tmp_path / "kept"
    folder.mkdir()
    store = folder / "s.db"
    assert CliRunner().invoke(main, ["run", *ONE, "--db", str(store)]).exit_code == 0
    folder.chmod(0o555)
    try:
        read = _as_a_user(["runs", "list", "--db", str(store)], tmp_path)
        assert read.returncode == 2 and "Traceback" not in read.stderr, read.stderr
        assert f"its folder {folder} is read-only, and a store in WAL mode" in read.stderr
        write = _as_a_user(["run", *ONE, "--db", str(store)], tmp_path)
        assert write.returncode == 2 and "Traceback" not in write.stderr, write.stderr
        assert f"its folder {folder} is read-only, and a store writes its -wal" in write.stderr
        assert sorted(p.name for p in folder.iterdir()) == ["s.db"]
    finally:
        folder.chmod(0o755)
