"""Issue 14's survey defects, each as a user (participant or researcher) would meet it.

Quota floods (item 2), a study's settings in the store (item 7), admin sessions and CSRF tokens
tied to a session (item 11) and the smaller ones (item 13), on SQLite and PostgreSQL alike.
The locked store and the client that goes away need a real server: ``test_survey_server.py``.
"""

from __future__ import annotations

import secrets
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect, select
from sqlalchemy.exc import OperationalError

import _survey_support as support
from _survey_support import TOKEN, Walker, count_rows, settings, token_of
from valuecompass.cli import main
from valuecompass.instrument import load_instrument
from valuecompass.store import SCHEMA_VERSION, open_store, schema_version, survey
from valuecompass.store._history import _v1
from valuecompass.store._survey_tables import admin_sessions, participants, slots, studies
from valuecompass.survey import SurveyConfigError, create_app, make_settings
from valuecompass.survey._limits import (
    FAILURES_OVERALL,
    FAILURES_PER_ADDRESS,
    Attempts,
    HoldLimits,
)
from valuecompass.survey._security import ADMIN_COOKIE, CSRF_COOKIE, SESSION_COOKIE, token_bits
from valuecompass.testing import prolific_id

REAL = prolific_id("real")

FORM = load_instrument()
pg_database, store_url, engine = support.pg_database, support.store_url, support.engine


def browser(app: FastAPI, address: str) -> Walker:
    """A participant's own browser (cookie jar) at ADDRESS, on the one running APP."""
    web = TestClient(app, follow_redirects=False, client=(address, 40000))
    return Walker(web)


def flood(app: FastAPI, count: int, address: str | None = None) -> list[int]:
    """COUNT made-up Prolific ids through consent and demographics (India); their statuses."""
    statuses = []
    for i in range(count):
        who = browser(app, address or f"10.1.{i // 250}.{i % 250 + 1}")
        link = {"PROLIFIC_PID": prolific_id("fake", i)}
        assert who.consent(**link).status_code == 303
        reply = who.demographics("india")
        statuses.append(reply.status_code)
        if reply.status_code == 429:
            assert int(reply.headers["retry-after"]) > 0 and "again in" in reply.text
    return statuses


def test_a_flood_from_one_address_holds_only_its_share(engine: Engine) -> None:
    """Item 2: 200 made-up ids from one address hold at most ``holds_per_address`` (10) of
    India's 16 places (4 scenarios x quota 4), and (issue 23, item 4) at most its share of
    each cell: a quarter of 4, one place in each of the 4 cells; a real participant from
    another address still gets in."""
    app = create_app(settings(quota=4, require_prolific=True), engine)
    statuses = flood(app, 200, address="127.0.0.1")
    assert statuses.count(303) == 4 and statuses.count(429) == 196
    assert count_rows(engine, slots) == 4  # one place in each of India's 4 cells
    real = browser(app, "127.0.0.2")
    real.consent(PROLIFIC_PID=REAL)
    assert real.demographics("india").headers["location"] == "/vignette"
    with engine.connect() as conn:
        scenario = conn.execute(
            select(participants.c.scenario).where(participants.c.prolific_pid == REAL)
        ).scalar_one()
    assert scenario is not None


def test_a_flood_from_many_addresses_is_bounded_per_minute(engine: Engine) -> None:
    """Item 2, study-wide: 200 ids from 200 addresses take at most ``holds_per_minute``."""
    app = create_app(settings(quota=1000, holds_per_minute=25), engine)
    statuses = flood(app, 200)
    assert statuses.count(303) == 25 and count_rows(engine, slots) == 25


def test_a_place_is_short_until_the_first_page_is_saved(engine: Engine) -> None:
    """Item 2: a holder who does no work loses the place after ``first_hold_minutes``; one
    who saved a Value Form page keeps it for ``hold_minutes``."""
    app = create_app(settings(quota=1, first_hold_minutes=0.0001), engine)
    idle = browser(app, "10.0.0.1")
    idle.consent(scenario="education")
    assert idle.demographics("india").headers["location"] == "/vignette"
    worker = browser(app, "10.0.0.2")
    worker.consent(scenario="education")
    assert worker.demographics("india").headers["location"] == "/vignette"  # took it over
    assert worker.post("/vignette", {}).headers["location"] == "/page/1"
    page = support.items_of(worker.get("/page/1"))
    assert worker.post("/page/1", {f"r_{i}": "1" for i in page}).status_code == 303
    late = browser(app, "10.0.0.3")
    late.consent(scenario="education")
    assert late.demographics("india").headers["location"] == "/full"
    with engine.connect() as conn:
        holders = conn.execute(select(slots.c.participant_id)).scalars().all()
    assert holders == [2]


def _save_page_one(who: Walker) -> None:
    assert who.post("/vignette", {}).headers["location"] == "/page/1"
    page = support.items_of(who.get("/page/1"))
    assert who.post("/page/1", {f"r_{i}": "1" for i in page}).status_code == 303


def test_one_address_cannot_lock_a_cell(store_url: str) -> None:
    """Issue 23, item 4 as reported: four made-up participants from one address, each saving
    page 1 (which kept the place 120 minutes), filled germany/healthcare (quota 4) through the
    link's ?scenario=, and a real participant from another address got /full. Now the first
    takes one place (a quarter of 4); the next three are asked to come back later (429, no
    place taken, left at demographics); the real participant gets in."""
    engine = open_store(store_url)
    try:
        app = create_app(settings(quota=4), engine)
        fakes = [browser(app, "10.6.0.1") for _ in range(4)]
        for i, fake in enumerate(fakes):
            fake.consent(PROLIFIC_PID=prolific_id("cell", i), scenario="healthcare")
        assert fakes[0].demographics("germany").headers["location"] == "/vignette"
        _save_page_one(fakes[0])
        for fake in fakes[1:]:
            refused = fake.demographics("germany")
            assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
        assert count_rows(engine, slots) == 1
        with engine.connect() as conn:
            steps = conn.execute(select(participants.c.step).order_by(participants.c.id))
            assert list(steps.scalars()) == ["form", "demographics", "demographics", "demographics"]
        real = browser(app, "10.6.0.2")
        real.consent(PROLIFIC_PID=REAL, scenario="healthcare")
        assert real.demographics("germany").headers["location"] == "/vignette"
    finally:
        engine.dispose()


def test_a_place_comes_back_when_its_holder_stops(store_url: str) -> None:
    """Item 4: a holder who saved page 1 and then stopped kept the place for the whole hold
    (120 minutes); now only while they save a page every ``idle_minutes``."""
    engine = open_store(store_url)
    try:
        app = create_app(settings(quota=1, idle_minutes=30), engine)
        stopped = browser(app, "10.5.0.1")
        stopped.consent(scenario="education")
        assert stopped.demographics("india").headers["location"] == "/vignette"
        _save_page_one(stopped)
        early = browser(app, "10.5.0.2")
        early.consent(scenario="education")
        assert early.demographics("india").headers["location"] == "/full"  # still held
        with engine.begin() as conn:  # 31 minutes pass without another page
            active = conn.execute(select(participants.c.active_at).where(participants.c.id == 1))
            back = active.scalar_one() - timedelta(minutes=31)
            conn.execute(participants.update().where(participants.c.id == 1).values(active_at=back))
        later = browser(app, "10.5.0.3")
        later.consent(scenario="education")
        assert later.demographics("india").headers["location"] == "/vignette"  # came back
        with engine.connect() as conn:
            holders = conn.execute(select(slots.c.participant_id)).scalars().all()
        assert holders == [3]
    finally:
        engine.dispose()


def test_a_restart_with_other_items_per_page_keeps_participants_pages(engine: Engine) -> None:
    """Item 7: a participant who saved page 1 of 15 statements is sent to page 2 of their 4
    after a restart at 20 per page, and finishes with all 58 (56 values exported); a
    newcomer gets pages of 20; the study in the store records the new setting."""
    before = support.client(engine, items_per_page=15)
    who = Walker(before)
    who.to_form()
    first = support.items_of(who.get("/page/1"))
    who.post("/page/1", {f"r_{i}": support.honest(i, n) for n, i in enumerate(first)})
    after = support.client(engine, items_per_page=20)
    after.cookies = before.cookies
    who.web = after
    assert after.get("/").headers["location"] == "/page/2"
    rest = who.form(start=2)
    assert len(first) == 15 and len(rest) == 43 and not set(rest) & set(first)
    assert who.finish().headers["location"] == "/done"
    assert len(survey.human_answers(engine, FORM)) == 56
    newcomer = Walker(support.client(engine, items_per_page=20))
    newcomer.to_form(country="france")
    assert len(support.items_of(newcomer.get("/page/1"))) == 20
    with engine.connect() as conn:
        per_page = conn.execute(select(participants.c.items_per_page).order_by(participants.c.id))
        assert list(per_page.scalars()) == [15, 20]
        assert conn.execute(select(studies.c.items_per_page)).scalar_one() == 20


def _without_first_value(tmp_path: Path) -> Path:
    data = FORM.to_data()
    data["items"] = data["items"][1:]
    path = tmp_path / "smaller.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_an_instrument_without_a_value_in_use_is_refused_at_start(
    engine: Engine, store_url: str, tmp_path: Path
) -> None:
    """Item 7: participants part-way hold the dropped value in their pages; instead of a 500
    for them later, the start is refused, naming the value."""
    Walker(support.client(engine)).to_form()
    dropped = FORM.items[0].id
    smaller = load_instrument(_without_first_value(tmp_path))
    with pytest.raises(SurveyConfigError, match=f"1 participant.*{dropped}"):
        create_app(settings(instrument=smaller), engine)
    args = ["survey", "serve", "--db", store_url, "--instrument", str(tmp_path / "smaller.yaml")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and dropped in result.output and "--study-id" in result.output
    assert "Traceback" not in result.output
    assert count_rows(engine, participants) == 1  # nothing touched
    create_app(settings(instrument=smaller, study_id="second"), engine)  # a new study may


def test_admin_logout_revokes_a_copied_cookie(engine: Engine) -> None:
    """Item 11: the cookie is a random session id, stored as its hash; after logout a copy of
    it downloads nothing."""
    app = create_app(settings(), engine)
    admin = TestClient(app, follow_redirects=False)
    login = admin.get("/admin")
    assert admin.post("/admin/login", data={"csrf": token_of(login), "token": TOKEN}).is_redirect
    cookie = admin.cookies[ADMIN_COOKIE]
    thief = TestClient(app, follow_redirects=False, cookies={ADMIN_COOKIE: cookie})
    assert thief.get("/admin/participants.csv").status_code == 200
    with engine.connect() as conn:
        stored = conn.execute(select(admin_sessions.c.digest)).scalars().all()
    assert len(stored) == 1 and cookie not in stored[0]
    page = admin.get("/admin")
    assert admin.post("/admin/logout", data={"csrf": token_of(page)}).is_redirect
    assert thief.get("/admin/participants.csv").status_code == 401
    assert thief.get("/admin").status_code == 401
    assert count_rows(engine, admin_sessions) == 0
    second = create_app(settings(), engine)  # another server process on the store
    assert TestClient(second, cookies={ADMIN_COOKIE: cookie}).get("/admin").status_code == 401


def test_a_csrf_token_is_good_only_in_its_own_session(engine: Engine) -> None:
    """Item 11: participant A's token with A's nonce cookie, replayed in B's session, is
    refused; the same token and cookie in A's session are taken."""
    app = create_app(settings(), engine)
    a, b = browser(app, "10.0.0.1"), browser(app, "10.0.0.2")
    a.consent()
    b.consent()
    a.get("/demographics")
    data = {"csrf": a.token, "country": "india", "age_band": "25-34", "gender": ""}

    def replay(session: str) -> int:
        jar = {CSRF_COOKIE: a.web.cookies[CSRF_COOKIE], SESSION_COOKIE: session}
        web = TestClient(app, follow_redirects=False, cookies=jar)
        return web.post("/demographics", data=data).status_code

    assert replay(b.web.cookies[SESSION_COOKIE]) == 403
    assert replay(a.web.cookies[SESSION_COOKIE]) == 303


def test_head_answers_as_get_does(engine: Engine) -> None:
    """Item 13: HEAD / was 405."""
    web = support.client(engine)
    assert web.head("/").status_code == 200
    assert web.head("/static/survey.css").status_code == 200
    assert web.head("/admin").status_code == 401


def test_the_admin_slash_redirect_ignores_the_host_header(engine: Engine) -> None:
    """Item 13: ``/admin/`` redirected to a URL built from the Host header."""
    reply = support.client(engine).get("/admin/", headers={"host": "evil.example"})
    assert reply.status_code == 303 and reply.headers["location"] == "/admin"


@pytest.mark.parametrize("blank", [" " * 20, "\t" * 16, " " + "x" * 20])
def test_a_blank_admin_token_is_refused(blank: str) -> None:
    """Item 13: a whitespace-only admin token opened /admin."""
    with pytest.raises(SurveyConfigError, match="admin_token"):
        make_settings(instrument=FORM, content=settings().content, admin_token=blank)
    result = CliRunner().invoke(
        main, ["survey", "serve", "--admin-token", blank], env={"VALUECOMPASS_ADMIN_TOKEN": ""}
    )
    assert result.exit_code == 2 and "admin_token" in result.output


@pytest.mark.parametrize(
    "weak", ["a" * 16, "t" * 32, "Passw0rd!Passw0rd!", "abababababababababababababababab"]
)
def test_a_weak_admin_token_is_refused_with_how_to_make_one(weak: str) -> None:
    """Issue 23, item 5: ``aaaaaaaaaaaaaaaa`` was accepted as a token."""
    with pytest.raises(SurveyConfigError, match="admin_token is too weak") as caught:
        make_settings(instrument=FORM, content=settings().content, admin_token=weak)
    assert "secrets.token_urlsafe(32)" in str(caught.value)
    result = CliRunner().invoke(main, ["survey", "serve", "--admin-token", weak])
    assert result.exit_code == 2 and "admin_token is too weak" in result.output


def test_random_tokens_are_strong_enough() -> None:
    for token in (secrets.token_urlsafe(32), secrets.token_hex(16), TOKEN):
        assert make_settings(instrument=FORM, content=settings().content, admin_token=token)
    assert token_bits("a" * 40) == 0.0
    assert token_bits("0123456789abcdef" * 2) == pytest.approx(32 * 4.0)  # 16 symbols, even


def _login(web: TestClient, token: str) -> int:
    page = web.get("/admin")
    return web.post("/admin/login", data={"csrf": token_of(page), "token": token}).status_code


def test_wrong_admin_tokens_are_throttled_per_address(engine: Engine) -> None:
    """Item 5: about 1,000 guesses a second from one client met no 429. Ten wrong tokens from
    one address; then even the right one is 429 with Retry-After, unchecked; Bearer tokens
    count the same; another address still logs in."""
    app = create_app(settings(), engine)
    guesser = TestClient(app, follow_redirects=False, client=("10.9.0.1", 1))
    assert [_login(guesser, f"wrong-{i}") for i in range(FAILURES_PER_ADDRESS)] == [403] * 10
    assert _login(guesser, TOKEN) == 429
    bearer = guesser.get("/admin", headers={"authorization": f"Bearer {TOKEN}"})
    assert bearer.status_code == 429 and 0 < int(bearer.headers["retry-after"]) <= 900
    assert "Too many wrong tokens" in bearer.text
    csv = guesser.get("/admin/participants.csv", headers={"authorization": "Bearer x"})
    assert csv.status_code == 429
    scripted = TestClient(app, follow_redirects=False, client=("10.9.0.2", 1))
    for _ in range(FAILURES_PER_ADDRESS):
        assert scripted.get("/admin", headers={"authorization": "Bearer nope"}).status_code == 401
    assert scripted.get("/admin", headers={"authorization": f"Bearer {TOKEN}"}).status_code == 429
    admin = TestClient(app, follow_redirects=False, client=("10.9.0.3", 1))
    assert _login(admin, TOKEN) == 303
    assert admin.get("/admin").status_code == 200  # a session is not a token: never throttled


def test_wrong_admin_tokens_are_throttled_overall(engine: Engine) -> None:
    """Item 5: guesses spread over many addresses are bounded too."""
    app = create_app(settings(), engine)
    per = FAILURES_PER_ADDRESS - 1
    for i in range(-(-FAILURES_OVERALL // per)):
        web = TestClient(app, follow_redirects=False, client=(f"10.8.0.{i + 1}", 1))
        for _ in range(per):
            web.get("/admin", headers={"authorization": "Bearer nope"})
    fresh = TestClient(app, follow_redirects=False, client=("10.7.0.1", 1))
    assert _login(fresh, TOKEN) == 429


def test_attempts_open_again_after_the_window() -> None:
    now = [0.0]
    attempts = Attempts(per_address=2, overall=5, window=60.0, clock=lambda: now[0])
    attempts.failed("a")
    assert attempts.wait("a") is None
    now[0] = 10.0
    attempts.failed("a")
    assert attempts.wait("a") == pytest.approx(50.0)  # the first failure leaves at 60 s
    assert attempts.wait("b") is None
    now[0] = 60.0
    assert attempts.wait("a") is None  # one failure left in the window
    for address in "cdef":
        attempts.failed(address)
    assert attempts.wait("g") == pytest.approx(10.0)  # 5 in the window: the one at 10 s leaves


def test_export_to_a_missing_folder_names_the_file(engine: Engine, store_url: str) -> None:
    """Item 13: this said "cannot write (None): None"."""
    Walker(support.client(engine)).complete()
    out = "/no/such/x.csv"
    result = CliRunner().invoke(main, ["survey", "export", "--db", store_url, "--out", out])
    assert result.exit_code == 2
    assert out in result.output and "does not exist" in result.output
    assert "None" not in result.output


def test_the_survey_has_its_own_default_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """Item 4: ``survey serve`` and ``run`` shared ``valuecompass.db``."""
    from valuecompass.cli.survey import export, serve

    monkeypatch.delenv("VALUECOMPASS_SURVEY_DB", raising=False)
    for command in (serve, export):
        db = next(p for p in command.params if p.name == "db")
        assert callable(db.default) and db.default() == "survey.db"
    monkeypatch.setenv("VALUECOMPASS_SURVEY_DB", "elsewhere.db")
    assert db.default() == "elsewhere.db"


@pytest.mark.parametrize(
    ("reason", "status"),
    [("database is locked", 503), ("no such table: survey_participants", 500)],
)
def test_a_busy_store_is_503_and_a_broken_one_500(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, reason: str, status: int
) -> None:
    """Item 4: only a store that is busy says "try again" (503 with Retry-After)."""
    web = support.client(engine)
    who = Walker(web)
    who.arrive()

    def failing(*args: object, **kwargs: object) -> None:
        raise OperationalError("INSERT ...", {}, sqlite3.OperationalError(reason))

    monkeypatch.setattr(survey, "create_participant", failing)
    reply = who.post("/consent", {"consent": "yes"})
    assert reply.status_code == status
    assert ("retry-after" in reply.headers) == (status == 503)
    assert reason not in reply.text


def test_a_schema_1_store_is_migrated_and_its_participants_keep_their_pages(
    engine: Engine, store_url: str
) -> None:
    """Item 7's migration: a store from before schema 2 gains the studies, the admin sessions
    and each participant's items per page (the study's setting at the first start after)."""
    who = Walker(support.client(engine, items_per_page=15))
    who.to_form()
    with engine.begin() as conn:  # back to schema 1, as an older ValueCompass left it
        conn.exec_driver_sql("ALTER TABLE survey_participants DROP COLUMN items_per_page")
        conn.exec_driver_sql("DROP TABLE survey_studies")
        conn.exec_driver_sql("DROP TABLE survey_admin_sessions")
        conn.exec_driver_sql("UPDATE schema_meta SET value = '1'")
        # the tables later steps added are not in a schema-1 store: children first
        kept = {*_v1().tables, "schema_meta"}
        later = [t for t in inspect(conn).get_table_names() if t not in kept]
        cascade = " CASCADE" if conn.dialect.name == "postgresql" else ""
        for table in sorted(later, key=lambda t: ("requests" not in t and "reviews" not in t, t)):
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}{cascade}")
        for table in ("answers", "prompts", "run_leases", "runs"):  # schema 1's run tables
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
        v1 = _v1()  # the frozen DDL of migration 1
        for table in ("runs", "prompts", "answers"):
            v1.tables[table].create(conn)
    engine.dispose()
    migrated = open_store(store_url)
    try:
        with migrated.connect() as conn:
            assert schema_version(conn) == SCHEMA_VERSION
            assert count_rows(migrated, studies) == 0
            per_page = conn.execute(select(participants.c.items_per_page)).scalar_one()
        assert per_page is None
        web = support.client(migrated, items_per_page=15)
        web.cookies = who.web.cookies
        assert len(support.items_of(web.get("/page/1"))) == 15
        with migrated.connect() as conn:
            assert conn.execute(select(participants.c.items_per_page)).scalar_one() == 15
    finally:
        migrated.dispose()


def test_hold_limits_slide_and_give_back() -> None:
    """The two windows by hand: 2 an hour per address, 3 a minute in all."""
    t = [0.0]
    limits = HoldLimits(per_address=2, per_minute=3, clock=lambda: t[0])
    assert limits.take("a") is None and limits.take("a") is None
    assert limits.take("a") == 3600.0  # a's first place leaves the hour at t = 3600
    assert limits.take("b") is None
    assert limits.take("c") == 60.0  # three in the minute: the study waits for t = 60
    limits.give_back("b")  # b was turned away: its place does not count
    assert limits.take("c") is None
    t[0] = 61.0
    assert limits.take("d") is None and limits.take("a") == 3600.0 - 61.0
    t[0] = 3600.0
    assert limits.take("a") is None
