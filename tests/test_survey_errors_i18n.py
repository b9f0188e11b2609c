"""The survey's error pages speak the participant's language: their session's, else the link's
``lang=`` or the browser's; the texts come from the same overlays as every other page."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import Engine

import _survey_support as support
from _survey_support import Walker
from valuecompass.instrument import load_instrument

MULTI = load_instrument("value_form_multilingual")
pg_database, store_url, engine = support.pg_database, support.store_url, support.engine


def _title(html: str) -> str:
    found = re.search(r"<h1>(.*?)</h1>", html, re.S)
    assert found, html[:400]
    return unescape(found.group(1).strip())


def _lang(html: str) -> str:
    found = re.search(r'<html lang="([a-z]+)"', html)
    assert found
    return found.group(1)


@pytest.mark.parametrize(
    ("lang", "title", "words"),
    [
        ("de", "Diese Seite gibt es nicht", "Die Adresse ist vielleicht falsch geschrieben."),
        ("fr", "Cette page n'existe pas", "L'adresse est peut-être mal saisie."),
        ("en", "There is no such page", "The address may be mistyped."),
    ],
)
def test_a_missing_page_is_in_the_participants_language(
    engine: Engine, lang: str, title: str, words: str
) -> None:
    who = Walker(support.client(engine, instrument=MULTI))
    assert who.consent(lang=lang).headers["location"] == "/demographics"
    page = who.web.get("/no-such-page")  # no lang= and no Accept-Language: the session's
    assert page.status_code == 404
    assert _lang(page.text) == lang and _title(page.text) == title and words in unescape(page.text)


def test_a_form_without_its_token_is_refused_in_german(engine: Engine) -> None:
    who = Walker(support.client(engine, instrument=MULTI))
    who.consent(lang="de")
    page = who.web.post("/demographics", data={"country": "germany", "age_band": "25-34"})
    assert page.status_code == 403 and _lang(page.text) == "de"
    assert _title(page.text) == "Nicht erlaubt"
    assert "ohne sein Sicherheitsmerkmal" in page.text
    assert "(Ihre gespeicherten Antworten bleiben erhalten)." in page.text  # the page's own ui


def test_a_bad_link_is_refused_in_the_links_language(engine: Engine) -> None:
    web = support.client(engine, instrument=MULTI)
    page = web.get("/", params={"PROLIFIC_PID": "not an id!", "lang": "fr"})
    assert page.status_code == 400 and _lang(page.text) == "fr"
    assert "Ce lien d'étude n'est pas valide (PROLIFIC_PID)." in unescape(page.text)
    by_browser = web.get("/", params={"scenario": "nowhere"}, headers={"accept-language": "de"})
    assert by_browser.status_code == 400 and _lang(by_browser.text) == "de"
    assert "nennt ein Szenario, das diese Umfrage nicht anbietet" in by_browser.text


def test_too_large_a_body_is_refused_in_french(engine: Engine) -> None:
    who = Walker(support.client(engine, instrument=MULTI, max_body_bytes=2048))
    who.consent(lang="fr")
    page = who.web.post("/demographics", content=b"x=" + b"y" * 4096)
    assert page.status_code == 413 and _lang(page.text) == "fr"
    assert "Le formulaire a envoyé plus de 2 Kio" in page.text


def test_too_many_starts_are_asked_to_wait_in_german(engine: Engine) -> None:
    web = support.client(engine, instrument=MULTI, holds_per_address=1)
    first, second = Walker(web), Walker(support.client(engine, instrument=MULTI))
    first.consent(lang="de")
    assert first.demographics("germany").headers["location"] == "/vignette"
    second.web = web  # the same address and server: the limit is per address
    second.web.cookies.clear()
    second.consent(lang="de")
    page = second.demographics("germany")
    assert page.status_code == 429 and _lang(page.text) == "de"
    assert "Gerade beginnen sehr viele Menschen diese Umfrage" in page.text
    assert "retry-after" in page.headers
