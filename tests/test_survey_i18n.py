"""The survey reads the instrument: any bundled instrument's scale, items and scenarios, and the
Value Form in English, German and French (texts from the overlays, answers stored as codes)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Engine, select

import _survey_support as support
from _survey_support import Walker
from valuecompass.instrument import load_instrument
from valuecompass.instrument._translate import load_overlay
from valuecompass.store import survey as store
from valuecompass.store._survey_tables import participants
from valuecompass.survey import load_content

MULTI = load_instrument("value_form_multilingual")
pg_database, store_url, engine = support.pg_database, support.store_url, support.engine


def _radios(html: str, item: str) -> list[str]:
    return re.findall(rf'name="r_{item}" value="([^"]+)"', html)


def _rater(instrument_id: str) -> support.Rater:
    scale = load_instrument(instrument_id).people_scale
    expect = {c.id: c.expected(scale) for c in load_content().attention_checks}
    codes = [*scale.codes, *scale.missing_codes]
    return lambda item, i: expect.get(item, codes[i % len(codes)])


def test_attention_checks_ask_for_the_scale_ends() -> None:
    # Value Form: agree end first ("2", Strongly agree); Moral Foundations: agree end last
    # ("5", Describes extremely well); Schwartz refined: first ("1") and last ("6").
    checks = {c.id: c for c in load_content().attention_checks}
    ends = {
        name: (
            checks["check_agree"].expected(load_instrument(name).people_scale),
            checks["check_disagree"].expected(load_instrument(name).people_scale),
        )
        for name in ("value_form", "moral_foundations", "schwartz_refined")
    }
    assert ends == {
        "value_form": ("2", "-2"),
        "moral_foundations": ("5", "1"),
        "schwartz_refined": ("1", "6"),
    }


@pytest.mark.parametrize(
    ("name", "points", "noun", "count"),
    [("moral_foundations", 5, "foundation", 24), ("schwartz_refined", 6, "value", 57)],
)
def test_another_instrument_is_served_with_its_own_scale_and_texts(
    engine: Engine, name: str, points: int, noun: str, count: int
) -> None:
    inst = load_instrument(name)
    web = support.client(engine, instrument=inst)
    who = Walker(web)
    consent = " ".join(who.arrive().text.split())
    assert f"each of {count} {noun}s in that scenario" in consent
    who.to_form(country="germany")
    page = who.get("/page/1")
    first = support.items_of(page)[0]
    # every point of the people scale, then its "irrelevant"
    assert _radios(page.text, first) == [*inst.people_scale.codes, "irrelevant"]
    assert len(inst.people_scale.codes) == points
    label = inst.people_scale.points[0].label
    assert f"<span>{label}</span>" in page.text
    shown = who.form(_rater(name))
    assert who.finish().headers["location"] == "/done"
    assert len(shown) == count + 2  # the items and two attention checks
    table = store.human_answers(engine, inst)
    assert len(table) == count and set(table["value"]) == set(inst.item_ids)
    flags = store.participants_frame(engine).iloc[0]
    assert flags["attention_failed"] == 0 and not flags["excluded"]


def test_the_language_comes_from_the_link_or_the_browser(engine: Engine) -> None:
    web = support.client(engine, instrument=MULTI)
    assert 'lang="de"' in web.get("/", params={"lang": "de"}).text
    fr = web.get("/", headers={"accept-language": "fr-CH, de;q=0.5"}).text
    assert 'lang="fr"' in fr and "Commencer l&#39;enquête" in fr
    asked = web.get("/", headers={"accept-language": "es, de;q=0.9, fr;q=0.8"}).text
    assert 'lang="de"' in asked and "Umfrage beginnen" in asked
    plain = web.get("/", headers={"accept-language": "ja"}).text
    assert 'lang="en"' in plain and "Start the survey" in plain
    # the picker links to every language, keeping the study link's ids
    pid = "5f0a1b2c3d4e5f6a7b8c9d0e"
    assert f'href="/?PROLIFIC_PID={pid}&amp;lang=fr"' in web.get(f"/?PROLIFIC_PID={pid}").text


def test_a_german_participant_sees_german_and_stores_the_same_codes(engine: Engine) -> None:
    web = support.client(engine, instrument=MULTI)
    german, english = Walker(web), Walker(support.client(engine, instrument=MULTI))
    consent = " ".join(german.arrive(lang="de").text.split())
    assert "jeden von 56 Werten wahren" in consent and "Umfrage beginnen" in consent
    german.to_form(country="germany", lang="de")
    vignette = german.get("/vignette").text
    assert "Gesundheitswesen" in vignette or "Szenario" in vignette
    # the purpose keeps its capitals (no |lower on German nouns)
    assert re.search(r'alt="Illustration des Szenarios\. Wer: [^"]*Zweck: [A-ZÄÖÜ]', vignette)
    page = german.get("/page/1").text
    assert "Stimme voll und ganz zu" in page and "Speichern und weiter" in page
    empty = german.post("/page/1", {})
    assert empty.status_code == 400 and "Wählen Sie bitte eine Antwort" in empty.text
    assert "Bitte prüfen Sie 15 Antworten" in empty.text
    shown_de = german.form(support.honest)
    assert german.finish().headers["location"] == "/done"
    english.to_form(country="germany", lang="en")
    shown_en = english.form(support.honest)
    assert english.finish().headers["location"] == "/done"
    with engine.connect() as conn:
        langs = conn.execute(select(participants.c.language).order_by(participants.c.id))
        assert list(langs.scalars()) == ["de", "en"]
    table = store.human_answers(engine, MULTI)
    by = {r: dict(zip(g["value"], g["raw"], strict=True)) for r, g in table.groupby("respondent")}
    de, en = by["survey-1"], by["survey-2"]
    # each answered honest(item, i) by position i in their own order: compare per item
    want_de = {item: support.honest(item, i) for i, item in enumerate(shown_de)}
    want_en = {item: support.honest(item, i) for i, item in enumerate(shown_en)}
    assert de == {k: v for k, v in want_de.items() if k in de}
    assert en == {k: v for k, v in want_en.items() if k in en}
    assert set(de) == set(en) == set(MULTI.item_ids)
    assert set(de.values()) == {"2", "1", "0", "-1", "-2", "irrelevant"}  # codes, not labels


def test_the_old_page_address_redirects_and_keeps_a_post(engine: Engine) -> None:
    who = Walker(support.client(engine))
    who.to_form()
    moved = who.web.get("/form/1", follow_redirects=False)
    assert moved.status_code == 308 and moved.headers["location"] == "/page/1"
    posted = who.web.post("/form/1", data={"csrf": who.token}, follow_redirects=False)
    assert posted.status_code == 308 and posted.headers["location"] == "/page/1"


def test_an_instrument_without_the_survey_axes_is_refused() -> None:
    data = load_instrument().to_data()
    data["axes"] = [a for a in data["axes"] if a["id"] != "country"]
    from valuecompass.instrument import Instrument

    smaller = Instrument.model_validate(data)
    with pytest.raises(Exception, match=r"has one context axis \['scenario'\]"):
        support.settings(instrument=smaller)
    data["axes"].append({"id": "region", "name": "Region", "levels": [{"id": "a", "name": "A"}]})
    with pytest.raises(Exception, match="no context axis 'country' to ask"):
        support.settings(instrument=Instrument.model_validate(data), asked_axis="country")


@pytest.mark.parametrize("lang", ["de", "fr"])
def test_every_page_string_is_translated(lang: str) -> None:
    """The overlays' survey.ui has exactly the keys of the bundled content's ui."""
    overlay = load_overlay(MULTI, lang)[0]["survey"]["ui"]
    assert set(overlay) == set(load_content().ui)
    assert all(text.strip() for text in overlay.values())


def test_an_instrument_with_a_third_context_axis_assigns_it_too() -> None:
    data = load_instrument().to_data()
    data["axes"].append({"id": "role", "name": "Role", "levels": [{"id": "a", "name": "A"}]})
    from valuecompass.instrument import Instrument

    made = support.settings(instrument=Instrument.model_validate(data))
    assert made.assigned_axes == ("scenario", "role") and made.contexts == ("role=a",)
