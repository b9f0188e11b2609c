"""Shared by the survey tests: stores on SQLite and PostgreSQL, and a participant who walks.

PostgreSQL comes from ``VALUECOMPASS_TEST_PG_URL`` (``.ci/run`` starts a server and sets it);
each test session gets a fresh database, dropped at the end, and each test empty tables. In CI
(``CI`` set) a missing URL fails the PostgreSQL tests; on a developer's machine it skips them.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, Table, func, select

from valuecompass.instrument import load_instrument
from valuecompass.store import open_store
from valuecompass.store._survey_reviews import dealt_reviews
from valuecompass.store._survey_tables import (
    admin_sessions,
    answers,
    choices,
    participants,
    secrets_table,
    slots,
    studies,
    texts,
)
from valuecompass.survey import SurveySettings, create_app, load_content, make_settings
from valuecompass.survey._security import SESSION_COOKIE
from valuecompass.testing.survey_load import fresh_postgres

PG_ENV = "VALUECOMPASS_TEST_PG_URL"
BACKENDS = ["sqlite", "postgresql"]
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
ITEM = re.compile(r'name="r_([a-z0-9_-]+)" value=')
HIDDEN = re.compile(r'type="hidden" name="(?!csrf")([a-z_]+)" value="([^"]*)"')
TOKEN = "admin-token-for-tests-0123456789"
EXPECT = {c.id: c.expected(load_instrument().people_scale) for c in load_content().attention_checks}


def postgres_url() -> str:
    """The test server's URL; a failure in CI without one, a skip elsewhere."""
    url = os.environ.get(PG_ENV)
    if url:
        return url
    if os.environ.get("CI"):
        pytest.fail(f"{PG_ENV} is not set: .ci/run starts PostgreSQL and sets it")
    pytest.skip(f"{PG_ENV} is not set (local run without PostgreSQL)")


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh database for this session on the PostgreSQL test server."""
    with fresh_postgres(postgres_url()) as url:
        yield url


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty store: a SQLite file, or the session's PostgreSQL database emptied."""
    if request.param == "sqlite":
        yield str(tmp_path / "survey.db")
        return
    url: str = request.getfixturevalue("pg_database")
    engine = open_store(url)
    tables = (answers, choices, dealt_reviews, texts, slots, participants, secrets_table, studies,
              admin_sessions)  # fmt: skip
    names = ", ".join(t.name for t in tables)
    with engine.begin() as conn:  # numbering restarts too, as in a new SQLite file
        conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY")
    engine.dispose()
    yield url


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    eng = open_store(store_url)
    yield eng
    eng.dispose()


def count_rows(engine: Engine, table: Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def settings(**overrides: Any) -> SurveySettings:
    fields: dict[str, Any] = {
        "instrument": load_instrument(),
        "content": load_content(),
        "admin_token": TOKEN,
        "min_form_seconds": 0,
    }
    return make_settings(**{**fields, **overrides})


_ADDRESSES = itertools.count(1)


def client(engine: Engine, address: str | None = None, **overrides: Any) -> TestClient:
    """A browser at ADDRESS (by default one of its own: each simulated person comes from their
    own network address, as one address may hold only a share of a cell) on a new app."""
    if address is None:
        n = next(_ADDRESSES)
        address = f"10.{n // 62500 % 250}.{n // 250 % 250}.{n % 250 + 1}"
    app = create_app(settings(**overrides), engine)
    return TestClient(
        app, follow_redirects=False, raise_server_exceptions=False, client=(address, 50000)
    )


def token_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, f"no CSRF token on {page.request.url}: {page.status_code}"
    return found.group(1)


def items_of(page: httpx.Response) -> list[str]:
    return list(dict.fromkeys(ITEM.findall(page.text)))


Rater = Callable[[str, int], str]


def honest(item: str, index: int) -> str:
    """Answers checks as asked and varies the values over the whole scale."""
    return EXPECT.get(item, ("2", "1", "0", "-1", "-2", "irrelevant")[index % 6])


class Walker:
    """One participant in one browser (a TestClient with its cookie jar)."""

    def __init__(self, web: TestClient) -> None:
        self.web = web
        self.token = ""
        self.session: str | None = None  # the session the token was made in
        self.given: dict[str, str] = {}
        self.hidden: dict[str, dict[str, str]] = {}  # per page: the hidden fields its form sends

    def get(self, url: str, **params: str) -> httpx.Response:
        """GET a page, keeping its CSRF token (made for this participant's session)."""
        page = self.web.get(url, params=params)
        if page.status_code == 200 and CSRF.search(page.text):
            self.token = token_of(page)
            self.session = self.web.cookies.get(SESSION_COOKIE)
        if CSRF.search(page.text):
            self.hidden[url] = dict(HIDDEN.findall(page.text))
        return page

    def arrive(self, **link: str) -> httpx.Response:
        return self.get("/", **link)

    def post(self, url: str, data: dict[str, str]) -> httpx.Response:
        """POST a form as a browser would: from its page, loaded in the current session."""
        if self.web.cookies.get(SESSION_COOKIE) != self.session and url != "/consent":
            self.get(url)
        return self.web.post(url, data={"csrf": self.token, **self.hidden.get(url, {}), **data})

    def consent(self, **link: str) -> httpx.Response:
        self.arrive(**link)
        return self.post("/consent", {"consent": "yes", **link})

    def demographics(self, country: str = "india", age: str = "25-34") -> httpx.Response:
        return self.post("/demographics", {"country": country, "age_band": age, "gender": ""})

    def to_form(self, country: str = "india", **link: str) -> None:
        assert self.consent(**link).headers["location"] == "/demographics"
        assert self.demographics(country).headers["location"] == "/vignette"
        assert self.post("/vignette", {}).headers["location"] == "/page/1"

    def form(self, rate: Rater = honest, start: int = 1) -> list[str]:
        """Every Value Form page from START on; returns the items in the order shown."""
        shown: list[str] = []
        page = start
        while True:
            items = items_of(self.get(f"/page/{page}"))
            data = {f"r_{item}": rate(item, len(shown) + i) for i, item in enumerate(items)}
            self.given.update({k[2:]: v for k, v in data.items()})
            shown += items
            reply = self.post(f"/page/{page}", data)
            assert reply.status_code == 303, reply.text
            if reply.headers["location"] in ("/open", "/choices", "/reviews"):
                return shown
            page += 1

    def finish(self, **texts: str) -> httpx.Response:
        words = {"q_ai_should_uphold": "Honesty.", "q_conflict": "A person decides."}
        words["q_irrelevant_why"] = "Some do not apply."
        return self.post("/open", {**words, **texts})

    def complete(self, country: str = "india", rate: Rater = honest, **link: str) -> list[str]:
        self.to_form(country, **link)
        shown = self.form(rate)
        assert self.finish().headers["location"] == "/done"
        return shown
