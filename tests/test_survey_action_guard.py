"""Issue 21, bad input: an action set that changes while a choice study runs, and the admin
page's view of the choices made.

A study records the set it serves (a digest of its content and one per pair). A restart in which
a pair dealt to a participant in progress is gone or reworded is refused in one line; one that
changed only elsewhere is served with a note. While the server runs, choices posted for texts
the store no longer holds are answered 409 with the page as it reads now: nothing is stored, a
pair the set no longer holds is taken back, and the participant goes on. Changes are made here
as only a hand on the database can make them (the tools never reword or remove an action).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, delete, select, update

import _survey_support as support
from _choice_support import ACTIONS, choose_all, hand_set, pairs_of, place_for, truncate_actions
from _survey_support import TOKEN, Walker
from valuecompass.store import survey as store
from valuecompass.store._survey_tables import choices, participants
from valuecompass.store.actions import actions as action_rows
from valuecompass.survey import SurveyConfigError

pg_database, store_url, engine = support.pg_database, support.store_url, support.engine
STUDY = {"instrument": ACTIONS, "action_set": "hand", "scenarios": ("politics",), "quota": 4,
         "choices_per_page": 10}  # fmt: skip
SHOWN = 'name="shown" value="'
CHANGED = "were changed by the researchers after it was shown to you"
WITHDRAWN = "are no longer asked. Your choices so far are kept."


@pytest.fixture
def study(engine: Engine, store_url: str, tmp_path: Path) -> Engine:
    truncate_actions(engine)
    hand_set(store_url, tmp_path)
    return engine


def _walker(engine: Engine, **overrides: object) -> Walker:
    return Walker(support.client(engine, **{**STUDY, **overrides}))


def _stored(engine: Engine) -> list[tuple[object, ...]]:
    """Every participant and every dealt pair, as stored."""
    with engine.connect() as conn:
        people = conn.execute(select(participants).order_by(participants.c.id)).all()
        pairs = conn.execute(select(choices).order_by(choices.c.participant_id, choices.c.seq))
        return [tuple(r) for r in people] + [tuple(r) for r in pairs]


def _reword(engine: Engine, item: str, text: str) -> None:
    """Put TEXT in place of ITEM's opposing action, as a hand on the database would."""
    with engine.begin() as conn:
        conn.execute(
            update(action_rows)
            .where(action_rows.c.item == item, action_rows.c.inclination == "opposes")
            .values(text=text)
        )


def _remove(engine: Engine, item: str) -> None:
    """Delete ITEM's opposing action, as a hand on the database would."""
    with engine.begin() as conn:
        conn.execute(
            delete(action_rows).where(
                action_rows.c.item == item, action_rows.c.inclination == "opposes"
            )
        )


def _at_choices(engine: Engine, **overrides: object) -> tuple[Walker, str, httpx.Response]:
    """A participant who rated every statement and has their first choice page open."""
    walker = _walker(engine, **overrides)
    walker.to_form("india")
    walker.form()
    url = walker.web.get("/choices").headers["location"]
    return walker, url, walker.get(url)


def _answer(page: httpx.Response, inclination: str = "expresses") -> dict[str, str]:
    """The page's form, every pair answered with INCLINATION, its own digest carried back."""
    data = {f"c_{i}": place_for(t, inclination) for i, t in pairs_of(page).items()}
    data["shown"] = page.text.split(SHOWN, 1)[1].split('"', 1)[0]
    return data


def test_a_restart_that_rewords_or_drops_a_pair_dealt_in_progress_is_refused(
    study: Engine,
) -> None:
    _, _, page = _at_choices(study)
    dealt = [d.item for d in store.choices_of(study, 1)]
    assert len(dealt) == 56 and list(pairs_of(page)) == dealt[:10]
    _reword(study, dealt[3], "I leave it be.")
    before = _stored(study)
    with pytest.raises(SurveyConfigError) as refused:
        _walker(study)
    said = str(refused.value)
    assert "\n" not in said
    assert said == (
        "the study: 1 participant(s) in progress were dealt pairs of actions that action set "
        f"'hand' no longer holds as they were shown (1 reworded; e.g. item {dealt[3]} in "
        "country=india;topic=politics); serve the study with the action set it was served "
        "with, or start a new study (--study-id)"
    )
    _remove(study, dealt[7])
    with pytest.raises(SurveyConfigError, match=r"\(1 reworded, 1 gone; e\.g\. "):
        _walker(study)
    with pytest.raises(SurveyConfigError, match=r"but this start serves no action set \(--"):
        _walker(study, action_set=None)  # served without the set: every pair dealt is gone
    assert _stored(study) == before  # nothing stored lost
    # a new study in the same store starts; so does this one once the set is as it was
    _walker(study, study_id="second")
    _reword(study, dealt[3], f"I drop {ACTIONS.item(dealt[3]).name}.")
    _remove(study, dealt[0])  # not yet: the other pair is still gone
    with pytest.raises(SurveyConfigError, match=r"\(2 gone; "):
        _walker(study)


def test_a_set_changed_where_nobody_in_progress_is_affected_is_served_with_a_note(
    study: Engine, store_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    walker, _, _ = _at_choices(study)
    said = hand_set(store_url, tmp_path, cells=[("Germany", "Politics")])  # the tools: adds
    assert "112 actions added" in said
    assert (
        "note: the survey serves action set 'hand' to 1 participant(s) in progress; they keep "
        "the pairs dealt to them, and the actions added reach those dealt pairs after the "
        "survey is next started"
    ) in said
    _reword(study, "ambitious", "I drop ambition.")  # India's and Germany's
    with pytest.raises(SurveyConfigError, match="1 reworded"):
        _walker(study)  # India's pair of 'ambitious' was dealt: refused
    _reword(study, "ambitious", f"I drop {ACTIONS.item('ambitious').name}.")
    with study.begin() as conn:  # reword Germany's only: dealt to nobody
        conn.execute(
            update(action_rows)
            .where(action_rows.c.item == "honest", action_rows.c.country == "germany",
                   action_rows.c.inclination == "opposes")
            .values(text="I drop honesty.")
        )  # fmt: skip
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="valuecompass.survey"):
        later = _walker(study)
    notes = [r.getMessage() for r in caplog.records if "changed since" in r.getMessage()]
    assert notes == [
        "survey: the study: action set 'hand' changed since it was last served (56 pair(s) "
        "added, 0 reworded or gone); no participant in progress was dealt one that changed"
    ]
    # the participant in progress goes on; a newcomer of Germany is dealt the new pairs
    for cookie, value in walker.web.cookies.items():
        later.web.cookies.set(cookie, value)
    walker.web, walker.session = later.web, None
    seen = choose_all(walker)
    assert len(seen) == 56 and walker.finish().headers["location"] == "/done"
    german = _walker(study)
    german.to_form("germany")
    german.form()
    assert len(choose_all(german)) == 56


def test_a_pair_reworded_while_the_server_runs_is_answered_409_with_the_pair_as_it_reads_now(
    study: Engine,
) -> None:
    walker, url, page = _at_choices(study)
    shown = pairs_of(page)
    item = list(shown)[2]
    _reword(study, item, "I set it aside.")
    before = _stored(study)
    stale = _answer(page)
    reply = walker.post(url, stale)
    assert reply.status_code == 409 and CHANGED in reply.text
    assert _stored(study) == before  # nothing stored
    now = pairs_of(reply)
    assert list(now) == list(shown)  # the same page, the same pairs, in the same order
    assert "I set it aside." in now[item].values() and now[item] != shown[item]
    assert {i: t for i, t in now.items() if i != item} == {
        i: t for i, t in shown.items() if i != item
    }
    # choosing the reworded pair's opposing action, by its new words, is stored as that
    fresh = _answer(reply)
    fresh[f"c_{item}"] = next(p for p, t in now[item].items() if t == "I set it aside.")
    stored = walker.post(url, fresh)
    assert stored.status_code == 303 and stored.headers["location"] == "/choice/2"
    chosen = {d.item: d.inclination for d in store.choices_of(study, 1) if d.page == 1}
    assert chosen == {i: ("opposes" if i == item else "expresses") for i in shown}
    # the new words were shown and stored against: the next restart is not refused
    assert walker.get("/choice/1").status_code == 200
    _walker(study)
    # a form whose digest was tampered with (or lost) stores nothing either
    second = walker.get("/choice/2")
    before = _stored(study)
    for digest in ("0" * 64, ""):
        reply = walker.post("/choice/2", {**_answer(second), "shown": digest})
        assert reply.status_code == 409 and CHANGED in reply.text
        assert pairs_of(reply) == pairs_of(second)
    assert _stored(study) == before
    assert walker.post("/choice/2", _answer(second)).status_code == 303


def test_a_pair_removed_while_the_server_runs_is_taken_back_and_no_one_is_stranded(
    study: Engine,
) -> None:
    walker, url, page = _at_choices(study)
    assert walker.post(url, _answer(page)).status_code == 303
    second = walker.get("/choice/2")
    gone = list(pairs_of(second))[4]
    kept = next(iter(pairs_of(page)))
    _remove(study, gone)
    _remove(study, kept)  # chosen already: the choice stays
    chosen_before = [d for d in store.choices_of(study, 1) if d.inclination is not None]
    reply = walker.post("/choice/2", _answer(second))
    assert reply.status_code == 409 and CHANGED in reply.text
    assert list(pairs_of(reply)) == [i for i in pairs_of(second) if i != gone]
    dealt = store.choices_of(study, 1)
    assert gone not in {d.item for d in dealt} and len(dealt) == 55
    assert [d for d in dealt if d.inclination is not None] == chosen_before  # none lost
    seen = choose_all(walker)
    assert walker.finish().headers["location"] == "/done"
    assert len(seen) == 45 and gone not in {s[0] for s in seen}
    table = store.human_choices(study, ACTIONS)
    assert len(table) == 55 and kept in set(table["value"])


def test_when_every_pair_left_is_removed_the_participant_goes_on_to_the_open_questions(
    study: Engine,
) -> None:
    walker, url, page = _at_choices(study, choice_items=2, choices_per_page=1)
    assert walker.post(url, _answer(page)).status_code == 303
    last = walker.get("/choice/2")
    (item,) = pairs_of(last)
    _remove(study, item)
    reply = walker.post("/choice/2", _answer(last))
    assert reply.status_code == 409 and WITHDRAWN in reply.text
    assert 'href="/choices"' in reply.text and "<form" not in reply.text.split("<main", 1)[1]
    assert walker.web.get("/choices").headers["location"] == "/open"
    assert walker.finish().headers["location"] == "/done"
    assert len(store.human_choices(study, ACTIONS)) == 1


def test_the_admin_page_counts_choices_per_cell_in_the_instruments_words(
    engine: Engine, store_url: str, tmp_path: Path
) -> None:
    truncate_actions(engine)
    hand_set(store_url, tmp_path, [("India", "Politics"), ("Germany", "Politics")])
    principles = ACTIONS.model_copy(update={"item_noun": "principle"})
    small = {"instrument": principles, "choice_items": 4, "choices_per_page": 2}
    firsts: list[str] = []

    def once(item: str) -> str:  # opposes the first pair only
        firsts.append(item)
        return "opposes" if len(firsts) == 1 else "expresses"

    for chooser in (lambda item: "expresses", once):
        walker = _walker(engine, **small)
        walker.to_form("india")
        walker.form()
        assert len(choose_all(walker, chooser)) == 4
        assert walker.finish().headers["location"] == "/done"
    _at_choices(engine, **small)  # at the choices, none made yet
    german = _walker(engine, **small)
    german.to_form("germany")
    german.form()
    url = german.web.get("/choices").headers["location"]
    assert german.post(url, _answer(german.get(url), "opposes")).status_code == 303
    web = _walker(engine, **small).web
    bearer = {"authorization": f"Bearer {TOKEN}"}
    admin = web.get("/admin", headers=bearer).text
    assert "Choices between actions per cell" in admin
    assert "the share of those choices for the action that expresses the principle." in admin
    assert "Share for the action expressing the principle" in admin
    body = admin.split('<table id="choices">', 1)[1].split("</table>", 1)[0]
    cells = re.findall(r'<tr><th scope="row">([^<]*)</th><td>(\d+)</td><td>(\d+)</td>'
                       r"<td>([0-9.]+)</td></tr>", body)  # fmt: skip
    rows = {c: (int(p), int(n), float(s)) for c, p, n, s in cells}
    # India: 8 choices by 2 people, 7 expressing; Germany: 2 by 1 (in progress), none
    # (a participant still at the statements and the one on page 1 made no choice)
    assert rows == {"Germany · Politics": (1, 2, 0.0), "India · Politics": (2, 8, 0.875)}
    assert '<a href="/admin/choices.csv">' in admin
    got = web.get("/admin/choices.csv", headers=bearer)
    assert got.status_code == 200 and "survey-choices.csv" in got.headers["content-disposition"]
    lines = got.text.splitlines()
    assert lines[0].split(",")[-1] == "shown_first" and len(lines) == 1 + 8  # finished only
    assert sum(1 for line in lines if ",opposes," in line) == 1
    assert web.get("/admin/choices.csv").status_code == 401  # no token: nothing
