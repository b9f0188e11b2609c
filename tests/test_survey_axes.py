"""The survey over any context axes: one axis asked, every other one assigned by quota per full
cell (issue 11), on the test-only odd instrument (axes region, setting, tone; a 7-point letter
scale); and a store written before schema 6 (by the code of the time) opening unchanged.
"""

from __future__ import annotations

import contextlib
import io
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.exc import IntegrityError

import _survey_support as support
from _survey_support import TOKEN, Walker, client, count_rows, settings
from valuecompass.cli import main
from valuecompass.instrument import load_instrument
from valuecompass.store import open_store, survey
from valuecompass.store._base import MIGRATIONS, database_url
from valuecompass.store._survey_tables import participants, slots
from valuecompass.survey import SurveyConfigError, load_content
from valuecompass.survey._form import draw_order
from valuecompass.survey._routes import _candidates
from valuecompass.testing.survey_load import fresh_postgres

DATA = Path(__file__).parent / "data"
ODD_FILE = DATA / "odd_instrument.yaml"
ODD = load_instrument(ODD_FILE)
ODD_CHECKS = {c.id: c.expected(ODD.people_scale) for c in load_content().attention_checks}
SCHEMA5 = DATA / "survey_schema5"

pg_database, store_url, engine = support.pg_database, support.store_url, support.engine


def odd_rate(item: str, index: int) -> str:
    """Checks as asked; the items over the 7 letters and the missing code."""
    return ODD_CHECKS.get(item, ("a", "b", "c", "d", "e", "f", "g", "skip")[index % 8])


def test_the_odd_instrument_asks_region_and_assigns_setting_and_tone() -> None:
    odd = settings(instrument=ODD)
    assert (odd.asked_axis, odd.scenario_axis, odd.further_axes) == ("region", "setting", ("tone",))
    assert odd.contexts == ("tone=formal", "tone=casual")
    # 2 settings x 2 tones: four cells per region
    assert len(_candidates(odd, None)) == 4 and len(_candidates(odd, "farm")) == 2
    only = settings(instrument=ODD, levels={"tone": ("casual",)}, scenarios=("shop",))
    assert _candidates(only, None) == [("shop", "tone=casual")]
    form = settings()  # the Value Form: one assigned axis, the same cells as ever
    assert (form.asked_axis, form.assigned_axes, form.contexts) == ("country", ("scenario",), ("",))
    assert settings(country_axis="country").asked_axis == "country"  # the older name


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"levels": {"region": ("north",)}}, "'region' is not an assigned axis"),
        ({"levels": {"tone": ("shouty",)}}, "unknown tone level(s) ['shouty']"),
        ({"asked_axis": "mood"}, "no context axis 'mood' to ask"),
        ({"scenario_axis": "region"}, "other than the asked one ('region')"),
    ],
)
def test_bad_axes_are_named(fields: dict[str, object], words: str) -> None:
    with pytest.raises(SurveyConfigError) as err:
        settings(instrument=ODD, **fields)
    assert words in str(err.value)


def test_quotas_balance_setting_and_tone_under_64_simultaneous_arrivals(engine: Engine) -> None:
    odd = settings(instrument=ODD)
    people = []
    for i in range(64):
        order = draw_order(ODD.item_ids, list(ODD_CHECKS), i)
        made = survey.create_participant(
            engine, key=f"k{i}", prolific_pid=None, study_id="", session_id=None,
            link_scenario=None, seed=i, item_order=order,
        )  # fmt: skip
        assert made is not None
        people.append(made)
    gate = threading.Barrier(64)

    def arrive(i: int) -> None:
        gate.wait()
        region = ("north", "south")[i % 2]
        survey.save_demographics(
            engine, people[i], country=region, age_band="25-34", gender=None,
            candidates=_candidates(odd, None), quota=3, hold_seconds=3600,
        )  # fmt: skip

    threads = [threading.Thread(target=arrive, args=(i,)) for i in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 2 regions x 2 settings x 2 tones = 8 cells of 3 places: 24 placed, 40 turned away
    frame = survey.participants_frame(engine, axes=("region", "setting", "tone"))
    placed = frame[frame["step"] == "vignette"]
    assert len(placed) == 24 and count_rows(engine, slots) == 24
    cells = Counter(zip(placed["region"], placed["setting"], placed["tone"], strict=True))
    assert sorted(cells.values()) == [3] * 8
    assert (frame["step"] == "full").sum() == 40


def test_a_participant_sees_their_whole_context_and_the_export_has_every_axis(
    engine: Engine,
) -> None:
    walkers = []
    for _ in range(4):  # one region, quota 1: each of the four setting x tone cells once
        walker = Walker(client(engine, instrument=ODD, quota=1))
        walker.to_form("north")
        walkers.append(walker)
    late = Walker(client(engine, instrument=ODD, quota=1))
    late.consent()
    assert late.demographics("north").headers["location"] == "/full"
    seen = set()
    for walker in walkers:
        vignette = walker.get("/vignette").text
        tone = "formal" if "<dd>formal</dd>" in vignette else "casual"
        assert "<dt>Tone</dt>" in vignette and f"<dd>{tone}</dd>" in vignette
        setting = "shop" if "A small shop hires a helper." in vignette else "farm"
        seen.add((setting, tone))
        assert f"<dd>{tone}</dd>" in walker.get("/page/1").text  # the reminder
        walker.form(odd_rate)
        assert f"<dd>{tone}</dd>" in walker.get("/open").text
        assert walker.finish().headers["location"] == "/done"
    assert seen == {(s, t) for s in ("shop", "farm") for t in ("formal", "casual")}
    table = survey.human_answers(engine, ODD, axes=("region", "setting"))
    assert len(table) == 4 * 9 and set(table["region"]) == {"north"}
    per_person = table.groupby("respondent")[["setting", "tone"]].first()
    assert set(map(tuple, per_person.to_numpy())) == seen
    assert set(table["raw"]) <= {*"abcdefg", "skip"}
    admin = walkers[0].web.get("/admin", headers={"authorization": f"Bearer {TOKEN}"}).text
    for heading in ("Shop · formal", "Shop · casual", "Farm · formal", "Farm · casual"):
        assert f'<th scope="col">{heading}</th>' in admin
    assert '<th scope="col">Region</th>' in admin
    assert "Participants per cell of Region × Setting × Tone" in admin
    assert "Quota: 1 per cell of Region × Setting × Tone." in admin
    people = walkers[0].web.get(
        "/admin/participants.csv", headers={"authorization": f"Bearer {TOKEN}"}
    )
    frame = pd.read_csv(io.StringIO(people.text))
    assert {"region", "setting", "tone"} <= set(frame.columns)
    done = frame[frame["step"] == "done"]
    assert set(zip(done["setting"], done["tone"], strict=True)) == seen


def test_the_cli_export_gives_each_participant_every_axis(
    engine: Engine, store_url: str, tmp_path: Path
) -> None:
    Walker(client(engine, instrument=ODD)).complete("south", rate=odd_rate)
    out = tmp_path / "odd.csv"
    who = out.with_name("who.csv")
    args = [
        "survey",
        "export",
        "--db",
        store_url,
        "--instrument",
        str(DATA / "odd_instrument.yaml"),
    ]
    result = CliRunner().invoke(main, [*args, "--out", str(out), "--participants", str(who)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert len(table) == 9 and set(table["region"]) == {"south"}
    assert table["setting"].nunique() == 1 and table["tone"].nunique() == 1
    assert set(table["tone"]) <= {"formal", "casual"}
    assert {"region", "setting", "tone"} <= set(pd.read_csv(who).columns)


def test_a_store_written_before_schema_6_opens_works_and_exports_unchanged(
    tmp_path: Path,
) -> None:
    """SCHEMA5 holds a store the code before this change wrote (schema 5: three finished Value
    Form participants, each holding a quota place, one of them excluded, and one who has
    consented but not yet sent the demographics page) as a SQL dump, with what that code
    exported from it."""
    db = tmp_path / "survey.db"
    con = sqlite3.connect(db)
    con.executescript((SCHEMA5 / "dump.sql").read_text())
    con.close()
    engine = open_store(str(db))
    try:
        answers = survey.human_answers(engine, load_instrument(), include_excluded=True)
        people = survey.participants_frame(engine)
        # the same rows main exported; only the tidy table's scenario column is now named by
        # its axis id (it was 'topic')
        before = (SCHEMA5 / "answers.csv").read_text()
        header, rows = before.split("\n", 1)
        assert header.split(",")[2] == "topic"
        renamed = header.replace(",topic,", ",scenario,") + "\n" + rows
        assert answers.to_csv(index=False) == renamed
        assert people.to_csv(index=False) == (SCHEMA5 / "participants.csv").read_text()
        assert count_rows(engine, slots) == 3  # every place kept
        walker = Walker(client(engine, quota=2))
        walker.complete(country="germany")  # still works
        admin = walker.web.get("/admin", headers={"authorization": f"Bearer {TOKEN}"}).text
        assert "Participants per country and scenario" in admin  # the Value Form's own words
        assert "5 participants in all, 4 finished, 0 turned away" in admin
        counts = {(c.scenario, c.country): c for c in survey.cell_counts(engine)}
        assert sum(c.completed for c in counts.values()) == 4
        assert sum(c.in_progress for c in counts.values()) == 1
    finally:
        engine.dispose()


@contextlib.contextmanager
def _empty(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield str(tmp_path / "old.db")
        return
    with fresh_postgres(support.postgres_url(), prefix="vc_axes") as url:
        yield url


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_6_keeps_quota_places_and_keys_them_by_context(
    backend: str, tmp_path: Path
) -> None:
    """A schema-5 store (made by migrations 1 to 5, the frozen steps) with a participant
    holding a place: after migration 6 the place is kept, with context '', and a cell is
    keyed by its context as well."""
    with _empty(backend, tmp_path) as url:
        old = create_engine(database_url(url))
        stamp = datetime.now(UTC)
        person = {"study_id": "", "step": "vignette", "form_page": 0, "seed": 1}
        person |= {"item_order": "tidy warm", "created_at": stamp, "excluded": False}
        with old.begin() as conn:
            for step in MIGRATIONS[:5]:
                step.apply(conn)
            conn.exec_driver_sql(
                "INSERT INTO schema_meta (key, value) VALUES ('schema_version', '5')"
            )
            # schema 5's columns, written as its code wrote them (no ``context``)
            conn.execute(participants.insert().values(id=1, key="k1", scenario="shop", **person))
            place = {"scenario": "shop", "country": "north", "slot": 0, "assigned_at": stamp}
            conn.execute(
                text(
                    "INSERT INTO survey_slots (scenario, country, slot, participant_id, "
                    "assigned_at) VALUES (:scenario, :country, :slot, 1, :assigned_at)"
                ),
                place,
            )
        old.dispose()
        engine = open_store(url)
        try:
            with engine.begin() as conn:
                assert conn.execute(select(slots.c.context, slots.c.participant_id)).all() == [
                    ("", 1)
                ]
                assert conn.execute(select(participants.c.context)).scalar_one() == ""
                conn.execute(participants.insert().values(id=2, key="k2", **person))
                conn.execute(
                    slots.insert().values(participant_id=2, context="tone=formal", **place)
                )  # the same slot number in another full cell
            with pytest.raises(IntegrityError), engine.begin() as conn:
                conn.execute(participants.insert().values(id=3, key="k3", **person))
                conn.execute(slots.insert().values(participant_id=3, context="", **place))
            assert count_rows(engine, slots) == 2
        finally:
            engine.dispose()


@pytest.mark.parametrize(
    ("level", "words"),
    [
        ("tone", "--level 'tone': write it as AXIS=LEVEL"),
        ("mood=calm", "levels: 'mood' is not an assigned axis; assigned: ['setting', 'tone']"),
        ("region=north", "levels: 'region' is not an assigned axis"),
    ],
)
def test_serve_refuses_a_bad_level_by_name(tmp_path: Path, level: str, words: str) -> None:
    args = ["survey", "serve", "--db", str(tmp_path / "s.db"), "--instrument", str(ODD_FILE)]
    result = CliRunner().invoke(main, [*args, "--level", level])
    assert result.exit_code == 2 and words in result.output
    assert not (tmp_path / "s.db").exists()  # refused before the store was touched
