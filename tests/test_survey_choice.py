"""Issue 21, item 2: a choice study (``survey serve --actions SET``). After the statements a
participant chooses between the two actions of each item of their context, in the order the
choice design counterbalances (reversed for every other place of a cell); their choices are
stored with their ratings. Tampered posts are refused with nothing stored lost.
"""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

import _survey_support as support
from _choice_support import ACTIONS, choose_all, hand_set, pairs_of, place_for, truncate_actions
from _survey_support import Walker
from valuecompass.instrument import load_instrument, translate
from valuecompass.prompts import given_order
from valuecompass.store import survey as store
from valuecompass.store._survey_tables import choices
from valuecompass.survey import SurveyConfigError

pg_database, store_url, engine = support.pg_database, support.store_url, support.engine
STUDY = {"instrument": ACTIONS, "action_set": "hand", "scenarios": ("politics",), "quota": 4}


@pytest.fixture
def study(engine: Engine, store_url: str, tmp_path: Path) -> Engine:
    truncate_actions(engine)
    hand_set(store_url, tmp_path, lacking=("wealth",))
    return engine


def _walker(engine: Engine, **overrides: object) -> Walker:
    return Walker(support.client(engine, **{**STUDY, **overrides}))


def _stored(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(select(choices).order_by(choices.c.participant_id, choices.c.seq))
        return [tuple(r) for r in rows]


def test_a_participant_rates_then_chooses_and_both_are_stored_together(study: Engine) -> None:
    walker = _walker(study)
    walker.to_form("india")
    rated = walker.form()
    chose_opposing = {"ambitious", "honest"}
    seen = choose_all(walker, lambda item: "opposes" if item in chose_opposing else "expresses")
    assert walker.finish().headers["location"] == "/done"
    items = [i for i in rated if i in ACTIONS.item_ids]
    # every item rated is asked, in the order rated, except the one the set lacks a pair for
    assert [s[0] for s in seen] == [i for i in items if i != "wealth"] and len(seen) == 55
    context = (("country", "india"), ("topic", "politics"))
    assert [s[1] for s in seen] == [given_order(context, s[0])[0] for s in seen]  # place 0
    table = store.human_choices(study, ACTIONS, shown_first=True)
    assert set(table["respondent"]) == {"survey-1"} and len(table) == 55
    assert list(table["value"]) == [s[0] for s in seen]
    assert {r.value for r in table.itertuples() if r.inclination == "opposes"} == chose_opposing
    assert list(table["option"].astype(str)) == [s[2] for s in seen]
    assert list(table["shown_first"]) == [s[1] for s in seen]
    assert set(table["country"]) == {"india"} and set(table["topic"]) == {"politics"}
    ratings = store.human_answers(study, ACTIONS)
    assert set(ratings["respondent"]) == {"survey-1"} and len(ratings) == 56


def test_every_other_place_of_a_cell_sees_each_pair_the_other_way_round(study: Engine) -> None:
    orders = []
    for _ in range(2):
        walker = _walker(study)
        walker.to_form("india")
        walker.form()
        orders.append({item: first for item, first, _ in choose_all(walker)})
        walker.finish()
    assert set(orders[0]) == set(orders[1])
    assert all(orders[0][i] != orders[1][i] for i in orders[0])  # each pair shown both ways
    firsts = list(orders[0].values())
    assert 15 <= firsts.count("expresses") <= 40  # the given order: about half expressing first


def test_choice_items_and_pages_follow_the_settings(study: Engine) -> None:
    walker = _walker(study, choice_items=5, choices_per_page=2)
    walker.to_form("india")
    rated = [i for i in walker.form() if i in ACTIONS.item_ids and i != "wealth"]
    page = walker.get("/choice/1")
    assert "Choices, page 1 of 3" in page.text and "What would you do?" in page.text
    assert list(pairs_of(page)) == rated[:2]
    seen = choose_all(walker)
    assert [s[0] for s in seen] == rated[:5]


def test_tampered_choices_are_refused_and_nothing_stored_is_lost(study: Engine) -> None:
    walker = _walker(study, choices_per_page=10)
    walker.to_form("india")
    walker.form()
    first = walker.get(walker.web.get("/choices").headers["location"])
    shown = pairs_of(first)
    good = {f"c_{i}": place_for(t, "expresses") for i, t in shown.items()}
    assert walker.post("/choice/1", good).status_code == 303
    before = _stored(study)
    assert sum(1 for r in before if r[5] is not None) == 10
    second = pairs_of(walker.get("/choice/2"))
    answers = {f"c_{i}": "1" for i in second}
    cases = [
        {**answers, "c_wealth": "1"},  # the pair the set lacks: never shown
        {**answers, "c_ambitious_x": "2"},  # no such item
        {**answers, next(iter(answers)): "3"},  # no such place
        {**answers, **dict(list(good.items())[:1])},  # a pair of another page
    ]
    for data in cases:
        reply = walker.post("/choice/2", data)
        assert reply.status_code == 400, data
        assert "could not be saved" in reply.text
    assert _stored(study) == before
    skipped = walker.post("/choice/3", {})  # a page past the first one not answered
    assert skipped.status_code in (303, 400)
    assert _stored(study) == before
    unanswered = walker.post("/choice/2", {})
    assert unanswered.status_code == 400 and "Choose one of the two actions." in unanswered.text
    assert _stored(study) == before
    assert walker.web.get("/choice/4").headers["location"] == "/choices"  # not yet reached


def test_a_participant_of_a_context_without_pairs_goes_straight_to_the_open_questions(
    study: Engine,
) -> None:
    walker = _walker(study)
    walker.to_form("germany")  # the set holds pairs for India only
    walker.form()
    assert walker.finish().headers["location"] == "/done"
    assert _stored(study) == []


def test_a_study_whose_set_is_missing_or_unusable_does_not_start(
    engine: Engine, store_url: str, tmp_path: Path
) -> None:
    truncate_actions(engine)
    with pytest.raises(SurveyConfigError, match="no action set of that name"):
        support.client(engine, **STUDY)
    hand_set(store_url, tmp_path)
    with pytest.raises(SurveyConfigError, match="no item with both actions"):
        support.client(engine, **{**STUDY, "scenarios": ("religion",)})
    with pytest.raises(SurveyConfigError, match="instrument 'value_actions'"):
        support.client(engine, action_set="hand")  # the Value Form with a set of another


def test_the_choice_pages_are_in_german_and_french(engine: Engine, store_url: str,
                                                   tmp_path: Path) -> None:  # fmt: skip
    truncate_actions(engine)
    multi = load_instrument("value_form_multilingual")
    hand_set(store_url, tmp_path, [("India", "education")], instrument=multi)
    words = {
        "de": ("Was würden Sie tun?", "Entscheidungen, Seite 1 von 7", "Handlung 1"),
        "fr": ("Que feriez-vous ?", "Choix, page 1 sur 7", "Action 1"),
    }
    for lang, expected in words.items():
        walker = _walker(engine, instrument=multi, scenarios=("education",))
        walker.to_form("india", lang=lang)
        walker.form()
        page = walker.get("/choice/1")
        assert page.status_code == 200
        for text in expected:
            assert text in page.text, (lang, text)
        assert "What would you do" not in page.text and "Choices" not in page.text
        names = {item.id: item.name for item in translate(multi, lang).items}
        english = {item.id: item.name for item in multi.items}
        for item in pairs_of(page):  # each item by its name in the participant's language
            shown = html.unescape(page.text)
            assert f"<strong>{names[item]}</strong>" in shown
            assert names[item] == english[item] or f"<strong>{english[item]}<" not in shown
