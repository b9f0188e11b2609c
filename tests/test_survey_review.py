"""Issue 21, item 1: a review study (``survey serve --study review --actions SET``). After the
statements an annotator judges actions of the set, with their spans marked, on the authors'
four criteria; each action gets its number of independent judgements, balanced across
inclinations and contexts, never two from one annotator. Reviews land in ``action_reviews``.
Tampered posts, a page sent twice and a review of an action not dealt are refused with
nothing stored lost.
"""

from __future__ import annotations

import html
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

import _survey_support as support
from _choice_support import truncate_actions
from _review_support import ACTIONS, CELLS, SET, all_yes, review_all, review_set, shown
from _survey_support import Walker
from valuecompass.cli import main
from valuecompass.instrument import load_instrument
from valuecompass.store import actions as action_store
from valuecompass.store import reviews as review_store
from valuecompass.store._survey_reviews import dealt_reviews
from valuecompass.store.reviews import CRITERIA
from valuecompass.survey import SurveyConfigError, load_content

pg_database, store_url, engine = support.pg_database, support.store_url, support.engine
STUDY = {"instrument": ACTIONS, "action_set": SET, "study": "review", "quota": 20,
         "scenarios": ("politics",), "reviews_per_action": 3, "actions_per_annotator": 4,
         "reviews_per_page": 2}  # fmt: skip


@pytest.fixture
def study(engine: Engine, store_url: str, tmp_path: Path) -> Engine:
    truncate_actions(engine)
    review_set(store_url, tmp_path)
    return engine


def _walker(engine: Engine, **overrides: object) -> Walker:
    return Walker(support.client(engine, **{**STUDY, **overrides}))


def _to_reviews(walker: Walker, country: str = "india") -> None:
    walker.to_form(country)
    walker.form()


def _reviews(engine: Engine) -> list[tuple[object, ...]]:
    found = action_store.get_set(engine, SET)
    assert found is not None
    table = review_store.set_reviews(engine, found)
    cols = ["country", "topic", "value", "inclination", "reviewer", *CRITERIA, "comment"]
    return [tuple(r) for r in table[cols].itertuples(index=False)]


def _dealt(engine: Engine) -> list[tuple[int, int, int]]:
    """(participant, action, slot) of every dealt action."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(dealt_reviews.c.participant_id, dealt_reviews.c.action_id,
                   dealt_reviews.c.slot).order_by(dealt_reviews.c.participant_id,
                                                  dealt_reviews.c.seq)
        )  # fmt: skip
        return [(int(a), int(b), int(c)) for a, b, c in rows]


def test_an_annotator_rates_then_reviews_a_page_of_actions_with_spans_marked(
    study: Engine,
) -> None:
    walker = _walker(study)
    _to_reviews(walker)
    start = walker.web.get("/reviews")
    assert start.headers["location"] == "/review/1"
    page = walker.get("/review/1")
    assert page.status_code == 200
    assert "Judge these actions" in page.text and "Reviews, page 1 of 2" in page.text
    assert "Page 1 of 2" in page.text
    on_page = shown(page)
    assert len(on_page) == 2
    assert "<mark>keep " in page.text or "<mark>drop " in page.text  # the spans are marked
    for question in ("Is this action harmless?", "Is this action plausible in this situation?",
                     "Does the text describe the action well enough to picture it?"):  # fmt: skip
        assert page.text.count(question) == 2
    assert "Does this action express the value" in page.text or "go against" in page.text
    assert "Country" in page.text  # each action's own context
    first = on_page[0][0]
    data = {f"{c}_{a}": ("no" if (a, c) == (first, "harmless") else "yes")
            for a, _ in on_page for c in CRITERIA}  # fmt: skip
    data[f"comment_{first}"] = "Rude, not harmless."
    reply = walker.post("/review/1", data)
    assert reply.status_code == 303 and reply.headers["location"] == "/review/2"
    rest = review_all(walker)
    assert len(rest) == 1 and len(rest[0]) == 2
    assert walker.finish().headers["location"] == "/done"
    stored = _reviews(study)
    assert len(stored) == 4 and {r[4] for r in stored} == {"survey-1"}
    refused = [r for r in stored if r[6] is False]
    assert len(refused) == 1 and refused[0][-1] == "Rude, not harmless."
    assert sum(1 for r in stored if r[-1] == "") == 3  # no comment: empty
    # balanced: two of each inclination, two from each context
    assert Counter(r[3] for r in stored) == {"expresses": 2, "opposes": 2}
    assert Counter(r[0] for r in stored) == {"india": 2, "germany": 2}
    found = action_store.get_set(study, SET)
    assert found is not None
    table = review_store.set_reviews(study, found)
    assert set(table["source"]) == {"survey"}
    assert all(d["participant"] == "survey-1" for d in table["source_detail"])


def test_every_action_gets_exactly_its_judgements_from_different_annotators(
    study: Engine,
) -> None:
    for _ in range(9):  # 9 annotators x 4 actions = 12 actions x 3 judgements
        walker = _walker(study)
        _to_reviews(walker)
        pages = review_all(walker)
        assert sum(len(p) for p in pages) == 4
        assert walker.finish().headers["location"] == "/done"
    late = _walker(study)
    _to_reviews(late)
    assert late.web.get("/reviews").headers["location"] == "/open"  # nothing left to judge
    dealt = _dealt(study)
    per_action = Counter(a for _, a, _ in dealt)
    assert len(per_action) == 12 and set(per_action.values()) == {3}
    assert len({(p, a) for p, a, _ in dealt}) == len(dealt)  # never one action twice
    assert {a: sorted(s for _, b, s in dealt if b == a) for a in per_action} == {
        a: [0, 1, 2] for a in per_action
    }
    stored = _reviews(study)
    assert len(stored) == 36
    per_place = Counter((r[0], r[1], r[2], r[3]) for r in stored)
    assert set(per_place.values()) == {3}
    assert len(per_place) == 12 and {c for c, *_ in per_place} == {c for c, _ in CELLS}


def test_tampered_reviews_are_refused_and_nothing_stored_is_lost(study: Engine) -> None:
    walker = _walker(study)
    _to_reviews(walker)
    walker.web.get("/reviews")
    first = shown(walker.get("/review/1"))
    good = {f"{c}_{a}": "yes" for a, _ in first for c in CRITERIA}
    assert walker.post("/review/1", good).status_code == 303
    before = _reviews(study)
    assert len(before) == 2
    second = shown(walker.get("/review/2"))
    answers = {f"{c}_{a}": "no" for a, _ in second for c in CRITERIA}
    other = max(a for *_, a, _ in [(0, *x) for x in _dealt(study)]) + 100
    mine = {a for _, a, _ in _dealt(study)}
    not_mine = next(a for a in range(1, 13) if a not in mine)
    cases = {
        400: [
            {**answers, "intended_abc": "yes"},  # an action id that is no number
            {**answers, "loyal_1": "yes"},  # no such criterion
            {**answers, next(iter(answers)): "maybe"},  # no such answer
        ],
        403: [
            {**answers, f"harmless_{other}": "yes"},  # no such action
            {**answers, f"harmless_{not_mine}": "yes"},  # an action dealt to nobody here
            {**answers, f"plausible_{first[0][0]}": "yes"},  # an action of another page
        ],
    }
    for status, posts in cases.items():
        for data in posts:
            reply = walker.post("/review/2", data)
            assert reply.status_code == status, (data, reply.text)
            assert "could not be saved" in reply.text
            assert reply.text.count("could not be saved") == 1
    assert _reviews(study) == before
    unanswered = walker.post("/review/2", {})
    assert unanswered.status_code == 400 and "Answer this question." in unanswered.text
    assert unanswered.text.count('class="error"') == 8  # each of the page's questions
    twice = walker.post("/review/1", good)  # a page saved already
    assert twice.status_code == 409 and "saved already" in twice.text
    assert _reviews(study) == before
    # the annotator is not stranded: the start leads back to their page
    assert walker.web.get("/").headers["location"] == "/reviews"
    assert walker.web.get("/reviews").headers["location"] == "/review/2"
    assert walker.web.get("/review/1").headers["location"] == "/reviews"  # saved: not shown
    assert walker.post("/review/2", answers).headers["location"] == "/open"
    again = walker.post("/review/2", answers)  # the last page twice, from the open questions
    assert again.status_code == 409
    assert len(_reviews(study)) == 4


def test_a_quiet_annotators_places_are_given_back_and_they_are_not_stranded(
    study: Engine,
) -> None:
    one = {"reviews_per_action": 1, "actions_per_annotator": 12, "idle_minutes": 0.005}
    first = _walker(study, **one)
    _to_reviews(first)
    first.web.get("/reviews")
    page = shown(first.get("/review/1"))
    assert len(_dealt(study)) == 12
    time.sleep(0.5)  # past idle_minutes: the first annotator's places are free again
    second = _walker(study, **one)
    _to_reviews(second)
    assert len(review_all(second, all_yes)) == 6
    assert {p for p, _, _ in _dealt(study)} == {2}
    late = {f"{c}_{a}": "yes" for a, _ in page for c in CRITERIA}
    refused = first.post("/review/1", late)
    assert refused.status_code == 403 and "not given to you" in refused.text
    assert len(_reviews(study)) == 12  # the second annotator's, all kept
    assert first.web.get("/").headers["location"] == "/reviews"
    assert first.web.get("/reviews").headers["location"] == "/open"  # none left: on


def test_a_review_study_needs_a_usable_set(engine: Engine, store_url: str, tmp_path: Path) -> None:
    truncate_actions(engine)
    with pytest.raises(SurveyConfigError, match="no action set of that name"):
        support.client(engine, **STUDY)
    with pytest.raises(SurveyConfigError, match="needs an action set"):
        support.client(engine, **{**STUDY, "action_set": None})
    review_set(store_url, tmp_path)
    with pytest.raises(SurveyConfigError, match="instrument 'value_actions'"):
        support.client(engine, action_set=SET, study="review")
    with pytest.raises(SurveyConfigError, match="takes no action set"):
        support.client(engine, **{**STUDY, "study": "stated"})


def test_the_review_pages_are_in_german_and_french(
    engine: Engine, store_url: str, tmp_path: Path
) -> None:
    truncate_actions(engine)
    multi = load_instrument("value_form_multilingual")
    review_set(store_url, tmp_path, [("india", "education")], ("ambitious", "honest"),
               instrument=multi)  # fmt: skip
    words = {
        "de": ("Bewerten Sie diese Handlungen", "Bewertungen, Seite 1 von 1", "Ist diese "
               "Handlung harmlos?", "den Wert „", "Anmerkung", ">Ja<", ">Nein<"),
        "fr": ("Évaluez ces actions", "Évaluations, page 1 sur 1", "Cette action est-elle sans "
               "danger ?", "la valeur « ", "Commentaire", ">Oui<", ">Non<"),
    }  # fmt: skip
    english = (
        "Judge these actions",
        "Reviews, page",
        "Is this action",
        ">Comment <",
        ">Yes<",
        ">No<",
    )
    for lang, expected in words.items():
        walker = _walker(engine, instrument=multi, scenarios=("education",),
                         reviews_per_page=4)  # fmt: skip
        walker.to_form("india", lang=lang)
        walker.form()
        walker.web.get("/reviews")
        page = walker.get("/review/1")
        assert page.status_code == 200
        for text in expected:
            assert text in page.text, (lang, text)
        for text in english:
            assert text not in page.text, (lang, text)
        refused = walker.post("/review/1", {"intended_x": "yes"})
        assert refused.status_code == 400
        assert "could not be saved" not in refused.text


def test_a_review_study_of_an_instrument_unlike_the_value_form_uses_its_words(
    engine: Engine, store_url: str, tmp_path: Path
) -> None:
    """odd_instrument.yaml: items are traits, three context axes, its own scale; the review
    pages speak of traits and show each action's every axis, and the export has them all."""
    truncate_actions(engine)
    odd = load_instrument(Path(__file__).parent / "data" / "odd_instrument.yaml")
    checks = {c.id: c.expected(odd.people_scale) for c in load_content().attention_checks}
    cells = [("north", "shop", "formal"), ("south", "farm", "casual")]
    odd_file = str(Path(__file__).parent / "data" / "odd_instrument.yaml")
    review_set(store_url, tmp_path, cells, ("tidy", "warm"), instrument=odd,
               instrument_arg=odd_file)  # fmt: skip
    walker = _walker(engine, instrument=odd, scenarios=(), reviews_per_page=8)
    walker.to_form("north")
    walker.form(lambda item, i: checks.get(item, ("a", "b", "c", "d", "e", "f", "g")[i % 7]))
    walker.web.get("/reviews")
    page = walker.get("/review/1")
    assert page.status_code == 200 and len(shown(page)) == 4
    text = html.unescape(page.text)
    assert "trait" in text and "the value" not in text.lower()
    assert 'Does this action express the trait "' in text or "go against the trait" in text
    names = {a.name for a in odd.context_axes}
    assert all(f"<dt>{n}</dt>" in text for n in names), names
    review_all(walker)
    assert walker.finish().headers["location"] == "/done"
    out, reviews = tmp_path / "answers.csv", tmp_path / "reviews.csv"
    args = ["survey", "export", "--db", store_url, "--instrument", str(
        Path(__file__).parent / "data" / "odd_instrument.yaml"), "--out", str(out),
        "--reviews", str(reviews)]  # fmt: skip
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    table = pd.read_csv(reviews, dtype=str, keep_default_na=False)
    assert list(table.columns)[:4] == ["region", "setting", "tone", "value"]
    assert len(table) == 4 and set(table["intended"]) == {"yes"}
    assert {tuple(r) for r in table[["region", "setting", "tone"]].itertuples(index=False)} <= set(
        cells
    )
