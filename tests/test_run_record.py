"""The run record: a typed, versioned model, validated when written and when read; records
written by earlier versions (``form``, ``countries``/``topics``/``values``) read as today's,
and their runs resume with the same command, asking nothing twice (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import ValidationError
from sqlalchemy import Engine, MetaData, Table, create_engine, select, text

from _store_support import counts
from _survey_support import BACKENDS, postgres_url
from valuecompass.cli import main
from valuecompass.instrument import load_instrument
from valuecompass.models.mock import MockBackend
from valuecompass.prompts import load_prompts, read_prompts
from valuecompass.runner import RunConfig, run_model
from valuecompass.runner._plan import run_manifest
from valuecompass.store import MIGRATIONS, open_store
from valuecompass.store import runs as store
from valuecompass.store._base import _set_version, schema_meta
from valuecompass.testing.survey_load import fresh_postgres

#: Run records exactly as the code before record versions wrote them (record version 1),
#: captured from ``valuecompass run --model mock`` (the settings are in :data:`SETTINGS`);
#: ``params`` and ``grid`` are JSON columns, the rest plain columns. ``instrument_spec`` and
#: ``prompt_design`` (the whole instrument and design) were written too; the tests give them
#: as that code did, from the bundled instrument and design.
V1_RECORDS = json.loads("""
[
  {"name": "mock-form-ea471abe", "model": "mock:answer=hash", "spec": "mock", "mode":
  "form", "params": {"temperature": 0.2, "max_tokens": 1024, "seed": 0, "samples": 1},
  "grid": {"countries": ["india"], "topics": ["healthcare"], "values": ["ambitious",
  "influential", "successful", "capable", "intelligent", "preserving_my_public_image",
  "social_power", "authority", "wealth", "social_recognition", "national_security",
  "sense_of_belonging", "reciprocation_of_favors", "clean", "healthy", "social_order",
  "family_security", "obedient", "politeness", "self_discipline",
  "honoring_of_parents_and_elders", "accepting_my_portion_in_life", "moderate",
  "respect_for_tradition", "humble", "devout", "detachment", "self_respect",
  "choosing_own_goals", "creativity", "curious", "independent", "freedom",
  "an_exciting_life", "a_varied_life", "daring", "pleasure", "enjoying_life", "loyal",
  "responsible", "mature_love", "true_friendship", "honest", "forgiving",
  "a_spiritual_life", "meaning_in_life", "helpful", "equality", "inner_harmony",
  "a_world_at_peace", "unity_with_nature", "wisdom", "a_world_of_beauty", "social_justice",
  "broad_minded", "protecting_the_environment"], "variants": [0, 1]}, "instrument":
  "81378313e98a1579565a1167da9486b78446e89c3cab2c30cf1083cfd78cb114", "prompts_digest":
  "6120f250a8b072c7952b6ce4ed323907ccf66ffdb3af207151326a215451aed1", "version": "0.1.0",
  "status": "finished", "started_at": "2026-12-07 02:10:50.352251", "finished_at":
  "2026-12-07 02:10:50.363386", "note": null},
  {"name": "mock-moral_foundations-form-7e95a527", "model": "mock:answer=hash", "spec":
  "mock", "mode": "form", "params": {"temperature": 0.2, "max_tokens": 1024, "seed": 0,
  "samples": 1}, "grid": {"axes": {"country": ["united_states", "united_kingdom", "india",
  "germany", "france", "canada", "australia"], "scenario": ["collaborative_writing",
  "education", "public_sector", "healthcare"]}, "values": ["care_1", "care_2", "care_3",
  "care_4", "equality_1", "equality_2", "equality_3", "equality_4", "proportionality_1",
  "proportionality_2", "proportionality_3", "proportionality_4", "loyalty_1", "loyalty_2",
  "loyalty_3", "loyalty_4", "authority_1", "authority_2", "authority_3", "authority_4",
  "purity_1", "purity_2", "purity_3", "purity_4"], "variants": [0]}, "instrument":
  "55b9b6fbed0b624aaa2ce345d318b8c1096c8b106959b6786f510498668990b6", "prompts_digest":
  "6120f250a8b072c7952b6ce4ed323907ccf66ffdb3af207151326a215451aed1", "version": "0.1.0",
  "status": "finished", "started_at": "2026-12-07 02:10:51.775095", "finished_at":
  "2026-12-07 02:10:51.807901", "note": null},
  {"name": "mock-item-33f60b52", "model": "mock:answer=hash", "spec": "mock", "mode":
  "item", "params": {"temperature": 0.2, "max_tokens": 3, "seed": 0, "samples": 2}, "grid":
  {"countries": ["india", "france"], "topics": ["healthcare"], "values": ["honest",
  "curious"], "variants": [0]}, "instrument":
  "81378313e98a1579565a1167da9486b78446e89c3cab2c30cf1083cfd78cb114", "prompts_digest":
  "6120f250a8b072c7952b6ce4ed323907ccf66ffdb3af207151326a215451aed1", "version": "0.1.0",
  "status": "finished", "started_at": "2026-12-07 02:10:55.688580", "finished_at":
  "2026-12-07 02:10:55.702746", "note": null},
  {"name": "mock-value_form_multilingual-item-58519047", "model": "mock:answer=hash",
  "spec": "mock", "mode": "item", "params": {"temperature": 0.2, "max_tokens": 3, "seed": 0,
  "samples": 1}, "grid": {"axes": {"country": ["india"], "scenario": ["healthcare"],
  "language": ["de"]}, "values": ["honest"], "variants": [0]}, "instrument":
  "164d9be98719e359083a469415b1e832f89f347a66e32fd57c0e958caaa91b94", "prompts_digest":
  "6120f250a8b072c7952b6ce4ed323907ccf66ffdb3af207151326a215451aed1", "version": "0.1.0",
  "status": "finished", "started_at": "2026-12-07 02:10:56.810116", "finished_at":
  "2026-12-07 02:10:56.853113", "note": null}
]
""")
V1 = {r["name"]: r for r in V1_RECORDS}

#: The settings each captured run was made with (the same settings resume it).
SETTINGS: dict[str, dict[str, Any]] = {
    "mock-form-ea471abe": {
        "mode": "all", "countries": ["India"], "topics": ["healthcare"], "variants": [0, 1],
    },
    "mock-moral_foundations-form-7e95a527": {
        "mode": "all", "instrument_path": Path("moral_foundations"), "variants": [0],
    },
    "mock-item-33f60b52": {
        "mode": "item", "countries": ["India", "France"], "topics": ["healthcare"],
        "values": ["honest", "curious"], "variants": [0], "samples": 2,
    },
    "mock-value_form_multilingual-item-58519047": {
        "mode": "item", "instrument_path": Path("value_form_multilingual"),
        "countries": ["India"], "topics": ["healthcare"], "where": {"language": ["de"]},
        "values": ["honest"], "variants": [0],
    },
}  # fmt: skip


def _config(name: str, db: str) -> RunConfig:
    return RunConfig(model="mock", db=db, progress=False, **SETTINGS[name])


def _manifest(name: str) -> store.RunManifest:
    config = _config(name, "unused.db")
    instrument = load_instrument(config.instrument_path)
    return run_manifest(config, instrument, load_prompts(None, instrument), MockBackend())


@pytest.fixture(params=BACKENDS)
def empty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with fresh_postgres(postgres_url(), prefix="vc_record") as url:
        yield url


@contextmanager
def _schema(url: str, version: int) -> Iterator[Engine]:
    """A store built by the frozen migrations up to VERSION, as the code of that day left it."""
    engine = create_engine(url)
    with engine.begin() as conn:
        schema_meta.create(conn)
    for step in MIGRATIONS[:version]:
        with engine.begin() as conn:
            step.apply(conn)
            _set_version(conn, step.version)
    try:
        yield engine
    finally:
        engine.dispose()


def _v1_row(name: str) -> dict[str, Any]:
    """The captured record of run NAME as its runs row (timestamps as the database takes them)."""
    row = dict(V1[name])
    instrument = load_instrument(_config(name, "unused.db").instrument_path)
    row["instrument_spec"] = instrument.to_data()
    row["prompt_design"] = read_prompts().model_dump(mode="json")
    for key in ("started_at", "finished_at"):
        row[key] = datetime.fromisoformat(row[key]).replace(tzinfo=UTC)
    return row


def test_every_version_1_record_reads_as_todays_and_matches_its_settings() -> None:
    for name, row in V1.items():
        record = store.RunRecord.model_validate(store.upgrade({**_v1_row(name), "id": 1}))
        assert record.record_version == store.RECORD_VERSION == 2
        assert record.mode == {"form": "all", "item": "item"}[row["mode"]]
        today = _manifest(name)  # what running the same settings today records
        assert today.name == name  # the default name is as it was: the same command finds it
        for key in store.SAME:
            assert getattr(record, key) == getattr(today, key), (name, key)
    form = store.RunRecord.model_validate(store.upgrade({**_v1_row("mock-form-ea471abe"), "id": 1}))
    assert form.mode == "all" and form.grid.axes == {
        "country": ["india"],
        "scenario": ["healthcare"],
    }
    assert len(form.grid.items) == 56 and form.grid.items[:2] == ["ambitious", "influential"]
    assert form.grid.variants == [0, 1] and form.params.max_tokens == 1024
    multi = store.upgrade(V1["mock-value_form_multilingual-item-58519047"])
    assert sorted(multi["grid"]) == ["axes", "items", "variants"]
    assert list(multi["grid"]["axes"]) == ["country", "scenario", "language"]  # order kept


def test_the_manifest_refuses_a_bad_field_by_name() -> None:
    good = _manifest("mock-item-33f60b52").model_dump()
    with pytest.raises(ValidationError, match=r"mode\n  Input should be 'all' or 'item'"):
        store.RunManifest.model_validate({**good, "mode": "form"})  # only the reader upgrades
    with pytest.raises(ValidationError, match=r"colour\n  Extra inputs are not permitted"):
        store.RunManifest.model_validate({**good, "colour": "red"})
    grid = {"axes": {"country": ["india"]}, "values": ["honest"], "variants": [0]}
    with pytest.raises(ValidationError, match=r"grid.items\n  Field required"):
        store.RunManifest.model_validate({**good, "grid": grid})
    with pytest.raises(ValidationError, match=r"params.samples\n  Input should be greater"):
        store.RunManifest.model_validate({**good, "params": {**good["params"], "samples": 0}})
    assert (
        store.RunManifest.model_fields["grid"].description
        == "The axes' levels, items and variants asked."
    )


def test_a_manifest_round_trips_through_the_store(empty: str) -> None:
    manifest = _manifest("mock-value_form_multilingual-item-58519047")
    assert store.RunManifest.model_validate_json(manifest.model_dump_json()) == manifest
    engine = open_store(empty)
    try:
        made = store.start_run(engine, manifest)
        read = store.get_run(engine, manifest.name)
        with engine.connect() as conn:
            stored = conn.execute(select(store.runs.c.mode, store.runs.c.record_version)).one()
    finally:
        engine.dispose()
    assert read == made and read is not None and read.status == "running"
    assert read.model_dump(include=set(store.RunManifest.model_fields)) == manifest.model_dump()
    assert tuple(stored) == ("item", 2)


def _damage(tmp_path: Path, **changes: object) -> str:
    """A SQLite store with one run, named broken, whose stored record has CHANGES."""
    db = tmp_path / "s.db"
    engine = open_store(db)
    store.start_run(engine, _manifest("mock-item-33f60b52").model_copy(update={"name": "broken"}))
    with engine.begin() as conn:
        conn.execute(store.runs.update().values(**changes))
    engine.dispose()
    return str(db)


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"grid": {"axes": "everything", "items": []}}, "grid.axes: Input should be a valid dict"),
        ({"mode": "sideways"}, "mode: Input should be 'all' or 'item'"),
        ({"params": "{not json"}, "params: not JSON"),
        ({"record_version": 3}, "has record version 3, newer than this ValueCompass reads (2)"),
    ],
)
def test_a_damaged_or_newer_record_is_one_line_naming_the_run_and_store(
    tmp_path: Path, changes: dict[str, object], says: str
) -> None:
    db = _damage(tmp_path, **changes)
    for args in (["runs", "list"], ["runs", "show", "broken"], ["profile", "--llm"]):
        result = CliRunner().invoke(main, [*args, "--db", db] if args[0] == "runs" else [*args, db])
        assert result.exit_code == 2, result.output
        assert result.output.startswith(f"error: {db}: run 'broken' "), result.output
        assert says in result.output and "Traceback" not in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1, result.output


def _copy_answers(scratch: Path, target: Engine, run_id: int, variant: int) -> None:
    """The prompt of VARIANT a SCRATCH run stored, and its answers, into TARGET's run RUN_ID as
    the code before schema 8 kept them (the second axis's level in column ``topic``)."""
    source = open_store(scratch, create=False)
    old = MetaData()
    tables = [Table(name, old, autoload_with=target) for name in ("prompts", "answers")]
    try:
        with source.connect() as src, target.begin() as dst:
            for table, today in zip(tables, (store.prompts, store.answers), strict=True):
                rows = src.execute(select(today).where(today.c.variant == variant)).mappings()
                moved = [
                    {("topic" if k == "scenario" else k): v for k, v in r.items() if k != "id"}
                    | {"run_id": run_id}
                    for r in rows
                ]
                dst.execute(table.insert(), moved)
    finally:
        source.dispose()


def test_a_run_recorded_by_version_1_resumes_asking_nothing_twice(
    empty: str, tmp_path: Path
) -> None:
    name = "mock-form-ea471abe"
    scratch = tmp_path / "scratch.db"  # where the answers of the old run's first prompt come from
    assert run_model(_config(name, str(scratch))).asked == 2
    with _schema(empty, 6) as old:  # the store as the code before this record left it
        with old.begin() as conn:
            runs = Table("runs", MetaData(), autoload_with=conn)
            conn.execute(runs.insert().values(**_v1_row(name) | {"status": "interrupted"}))
            run_id = conn.execute(select(runs.c.id)).scalar_one()
        _copy_answers(scratch, old, run_id, variant=0)
    first = run_model(_config(name, empty))  # the same command as made it
    assert first.run.name == name and first.run.mode == "all"
    assert (first.total, first.skipped, first.cached, first.asked) == (2, 1, 0, 1)
    again = run_model(_config(name, empty))
    assert (again.skipped, again.asked, again.run.status) == (2, 0, "finished")
    assert counts(empty) == (2, 2 * 56, 2 * 56)  # each answer once
    engine = open_store(empty, create=False)
    with engine.connect() as conn:  # the stored record is read, not rewritten
        stored = conn.execute(text("SELECT mode, record_version, grid FROM runs")).one()
    engine.dispose()
    grid = stored[2] if isinstance(stored[2], dict) else json.loads(stored[2])
    assert (stored[0], stored[1], sorted(grid)) == (
        "form",
        1,
        ["countries", "topics", "values", "variants"],
    )


def test_a_store_not_yet_migrated_reads_its_answers_by_axis(empty: str, tmp_path: Path) -> None:
    name = "mock-item-33f60b52"
    scratch = tmp_path / "scratch.db"
    run_model(_config(name, str(scratch)))
    with _schema(empty, 6) as old:
        with old.begin() as conn:
            runs = Table("runs", MetaData(), autoload_with=conn)
            conn.execute(runs.insert().values(**_v1_row(name)))
            run_id = conn.execute(select(runs.c.id)).scalar_one()
        _copy_answers(scratch, old, run_id, variant=0)
    engine = open_store(empty, create=False)  # a reader never migrates
    try:
        record = store.get_run(engine, name)
        assert record is not None and store.run_axes(record) == ["country", "scenario"]
        table = store.run_answers(engine, record)
    finally:
        engine.dispose()
    # 2 countries x 1 scenario x 2 items x 1 variant x 2 samples
    assert len(table) == 8 and set(table["country"]) == {"india", "france"}
    assert set(table["scenario"]) == {"healthcare"} and set(table["value"]) == {"honest", "curious"}
