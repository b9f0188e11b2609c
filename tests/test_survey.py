"""The web survey's routes, validation and store, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

import _survey_support as support
from _survey_support import EXPECT, TOKEN, Walker, client, count_rows, items_of
from valuecompass.cli import main
from valuecompass.instrument import load_instrument
from valuecompass.store import survey
from valuecompass.store._survey_tables import answers, participants
from valuecompass.survey._form import draw_order

#: A Prolific participant id (24 hexadecimal digits).
PID = "60d1f000000000000000a0b1"

FORM = load_instrument()
pg_database, store_url, engine = support.pg_database, support.store_url, support.engine
POSITION = {"2": 1.0, "1": 2.0, "0": 2.5, "-1": 3.0, "-2": 4.0}


def test_a_participant_completes_the_path_and_nothing_is_lost(engine: Engine) -> None:
    web = client(
        engine,
        study_id="st1",
        completion_url="https://app.prolific.com/submissions/complete?cc={code}",
    )
    who = Walker(web)
    link = {"PROLIFIC_PID": "5f0a1b2c3d4e5f6a7b8c9d0e", "STUDY_ID": "st1", "SESSION_ID": "se1"}
    consent = who.arrive(**link)
    assert consent.status_code == 200 and "I agree to take part" in consent.text
    who.to_form("germany", **link)
    vignette = web.get("/vignette")
    assert '<img src="/static/img/' in vignette.text and 'alt="Illustration' in vignette.text
    shown = who.form()
    assert len(shown) == 58 and set(shown) == set(FORM.item_ids) | set(EXPECT)
    assert who.finish().headers["location"] == "/done"
    done = web.get("/done")
    record = survey.participants_frame(engine).iloc[0]
    code = record["completion_code"]
    assert code in done.text and f"cc={code}" in done.text
    assert (record["prolific_pid"], record["study_id"], record["session_id"]) == (
        link["PROLIFIC_PID"], "st1", "se1",
    )  # fmt: skip
    assert record["item_order"].split() == shown  # the order shown is the order recorded
    assert record["open_conflict"] == "A person decides."
    table = survey.human_answers(engine, FORM)
    assert len(table) == 56 and set(table["source"]) == {"humans"}
    assert set(table["country"]) == {"germany"} and set(table["respondent"]) == {"survey-1"}
    for row in table.itertuples():
        given = who.given[row.value]
        assert row.raw == given
        if given == "irrelevant":
            assert pd.isna(row.position) and row.missing == "irrelevant"
        else:
            assert row.position == POSITION[given] and row.missing == ""


def test_order_is_random_per_participant_and_checks_sit_among_the_values() -> None:
    checks = list(EXPECT)
    first, second = draw_order(FORM.item_ids, checks, 1), draw_order(FORM.item_ids, checks, 2)
    assert first != second and sorted(first) == sorted(second)
    assert draw_order(FORM.item_ids, checks, 1) == first  # the seed reproduces it
    for order in (first, second):
        places = sorted(order.index(c) for c in checks)
        assert 0 < places[0] <= 29 <= places[1]  # one in each half, never first


def test_reload_or_resend_of_a_page_keeps_one_answer_per_statement(engine: Engine) -> None:
    web = client(engine)
    who = Walker(web)
    who.to_form()
    items = items_of(web.get("/page/1"))
    first = {f"r_{i}": "1" for i in items}
    assert who.post("/page/1", first).headers["location"] == "/page/2"
    again = {**first, f"r_{items[0]}": "-2"}  # the page sent again, one answer changed
    assert who.post("/page/1", again).status_code == 303
    assert count_rows(engine, answers) == len(items)
    assert survey.answers_of(engine, 1)[items[0]] == "-2"
    page = web.get("/page/1")  # coming back shows the saved answers
    assert f'name="r_{items[0]}" value="-2" checked' in page.text
    # A lost connection: a new connection with the same cookies carries on from page 2.
    elsewhere = client(engine)
    elsewhere.cookies = web.cookies
    assert elsewhere.get("/").headers["location"] == "/page/2"


def test_pages_cannot_be_skipped_or_changed_after_finishing(engine: Engine) -> None:
    web = client(engine)
    who = Walker(web)
    who.to_form()
    assert web.get("/page/3").headers["location"] == "/page/1"
    assert web.get("/open").headers["location"] == "/page/1"
    shown = who.form()
    who.finish()
    assert web.get("/page/1").headers["location"] == "/done"
    items = shown[:15]  # page 1
    before = survey.answers_of(engine, 1)
    late = who.post("/page/1", {f"r_{i}": "0" for i in items})
    assert late.headers["location"] == "/done" and survey.answers_of(engine, 1) == before


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"country": "atlantis", "age_band": "25-34"}, "Choose your country of residence"),
        ({"country": "india", "age_band": "12"}, "Choose your age band"),
        ({"country": "india", "age_band": "25-34", "gender": "x" * 61}, "60 characters"),
    ],
)
def test_demographics_are_checked_on_the_server(
    engine: Engine, data: dict[str, str], message: str
) -> None:
    who = Walker(client(engine))
    who.consent()
    reply = who.post("/demographics", data)
    assert reply.status_code == 400 and message in reply.text
    assert survey.participants_frame(engine).iloc[0]["country"] is None


def test_ratings_are_checked_on_the_server(engine: Engine) -> None:
    web = client(engine)
    who = Walker(web)
    who.to_form()
    items = items_of(web.get("/page/1"))
    data = {f"r_{i}": "1" for i in items[1:]}
    data[f"r_{items[1]}"] = "3"  # off the scale
    reply = who.post("/page/1", data)
    assert reply.status_code == 400
    assert "Please check 2 answers" in reply.text and "not one of the options" in reply.text
    assert f'href="#item-{items[0]}"' in reply.text  # the summary links to the statement
    stray = who.post("/page/1", {**{f"r_{i}": "1" for i in items}, "r_not_here": "1"})
    assert stray.status_code == 400 and "not on this page" in stray.text
    assert count_rows(engine, answers) == 0


def test_open_questions_are_required_and_typed_text_is_escaped(engine: Engine) -> None:
    web = client(engine)
    who = Walker(web)
    who.to_form()
    who.form()
    script = "<script>alert('x')</script>"
    missing = who.post("/open", {"q_conflict": script})
    assert missing.status_code == 400 and "Please answer this question." in missing.text
    assert script not in missing.text and "&lt;script&gt;" in missing.text
    assert who.finish(q_conflict=script).headers["location"] == "/done"
    admin = web.get("/admin", headers={"authorization": f"Bearer {TOKEN}"})
    assert admin.status_code == 200 and script not in admin.text and "&lt;script&gt;" in admin.text


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"country=india&country=france", 400, "twice"),
        (b"country=%ff", 400, "UTF-8"),
        (b"country=in%00dia", 400, "cannot contain"),
    ],
)
def test_malformed_forms_are_refused(
    engine: Engine, body: bytes, status: int, message: str
) -> None:
    who = Walker(client(engine))
    who.consent()
    kind = {"content-type": "application/x-www-form-urlencoded"}
    reply = who.web.post(
        "/demographics", content=body + b"&csrf=" + who.token.encode(), headers=kind
    )
    assert reply.status_code == status and message in reply.text


def test_other_content_types_are_refused(engine: Engine) -> None:
    who = Walker(client(engine))
    who.arrive()
    reply = who.web.post("/consent", json={"csrf": who.token, "consent": "yes"})
    assert reply.status_code == 415


def test_forms_without_a_valid_csrf_token_are_refused(engine: Engine) -> None:
    web = client(engine)
    who = Walker(web)
    who.arrive()
    assert web.post("/consent", data={"consent": "yes"}).status_code == 403
    wrong = web.post("/consent", data={"consent": "yes", "csrf": "0" * 64})
    assert wrong.status_code == 403 and "security token" in wrong.text
    stranger = client(engine)  # a token from one browser is no good in another
    assert stranger.post("/consent", data={"consent": "yes", "csrf": who.token}).status_code == 403
    assert count_rows(engine, participants) == 0


def test_bodies_over_the_limit_get_413(engine: Engine) -> None:
    web = client(engine, max_body_bytes=4096)
    who = Walker(web)
    who.arrive()
    big = who.post("/consent", {"consent": "yes", "pad": "x" * 5000})
    assert big.status_code == 413 and "more than 4 KiB" in big.text

    def chunks() -> object:
        yield b"csrf=" + who.token.encode() + b"&pad="
        for _ in range(10):
            yield b"x" * 1000

    streamed = web.post(
        "/consent",
        content=chunks(),  # type: ignore[arg-type]
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert streamed.status_code == 413
    assert count_rows(engine, participants) == 0


def test_a_prolific_id_takes_part_once(engine: Engine) -> None:
    link = {"PROLIFIC_PID": "abc123abc123abc123abc123", "STUDY_ID": "st1"}
    Walker(client(engine)).complete(**link)
    again = Walker(client(engine))  # another browser
    page = again.arrive(**link)
    assert page.status_code == 409 and "already taken part" in page.text
    forced = client(engine)
    forced_who = Walker(forced)
    forced_who.arrive()
    raced = forced_who.post("/consent", {"consent": "yes", **link})
    assert raced.status_code == 409 and "already" in raced.text
    assert count_rows(engine, participants) == 1


def test_the_study_is_a_setting_not_what_the_link_says(engine: Engine) -> None:
    """Issue 14, item 3: finished with STUDY_ID=S, the same Prolific id comes back with no
    STUDY_ID and with another one; neither starts a second response, and the export holds p
    once. Only a server configured for another study takes p again."""
    Walker(client(engine, study_id="S")).complete(PROLIFIC_PID=PID, STUDY_ID="S")
    bare = Walker(client(engine, study_id="S"))
    assert bare.arrive(PROLIFIC_PID=PID).status_code == 409
    bare.arrive()
    forced = bare.post("/consent", {"consent": "yes", "PROLIFIC_PID": PID})
    assert forced.status_code == 409
    other = Walker(client(engine, study_id="S"))
    refused = other.arrive(PROLIFIC_PID=PID, STUDY_ID="other")
    assert refused.status_code == 400 and "another study" in refused.text
    other.arrive()
    sent = other.post("/consent", {"consent": "yes", "PROLIFIC_PID": PID, "STUDY_ID": "other"})
    assert sent.status_code == 400
    with engine.connect() as conn:
        rows = conn.execute(
            select(participants.c.prolific_pid, participants.c.study_id, participants.c.step)
        ).all()
    assert [tuple(r) for r in rows] == [(PID, "S", "done")]
    exported = survey.human_answers(engine, FORM)
    assert exported["respondent"].nunique() == 1 and len(exported) == 56
    elsewhere = Walker(client(engine, study_id="S2")).consent(PROLIFIC_PID=PID, STUDY_ID="S2")
    assert elsewhere.headers["location"] == "/demographics"


def test_a_prolific_id_is_one_participant_in_any_case(engine: Engine) -> None:
    """Issue 23, item 8: an id in upper case after the same id finished in lower case is the
    same participant (409, nothing new stored); an id that is not 24 hexadecimal digits is a
    400 naming PROLIFIC_PID; an upper-case id is stored in lower case."""
    Walker(client(engine)).complete(PROLIFIC_PID=PID)
    upper = Walker(client(engine))
    assert upper.arrive(PROLIFIC_PID=PID.upper()).status_code == 409
    upper.arrive()
    sent = upper.post("/consent", {"consent": "yes", "PROLIFIC_PID": PID.upper()})
    assert sent.status_code == 409
    for bad in ("aaaaaaaaaaaaaaaaaaaaaaa", "g" * 24, PID + "0", "p1"):
        refused = Walker(client(engine)).arrive(PROLIFIC_PID=bad)
        assert refused.status_code == 400 and "PROLIFIC_PID" in refused.text, bad
    assert count_rows(engine, participants) == 1
    other = "ABCDEF0123456789ABCDEF01"
    assert Walker(client(engine)).consent(PROLIFIC_PID=other).status_code == 303
    with engine.connect() as conn:
        stored = conn.execute(select(participants.c.prolific_pid)).scalars().all()
    assert sorted(stored) == sorted([PID, other.lower()])


def test_an_id_stored_in_upper_case_before_still_counts(engine: Engine) -> None:
    """A store written before ids were kept in lower case may hold one in upper case: the same
    id in lower case is still the same participant."""
    Walker(client(engine)).complete(PROLIFIC_PID=PID)
    with engine.begin() as conn:
        conn.execute(participants.update().values(prolific_pid=PID.upper()))
    assert Walker(client(engine)).arrive(PROLIFIC_PID=PID).status_code == 409


def test_consent_sent_twice_makes_one_participant(engine: Engine) -> None:
    who = Walker(client(engine))
    assert who.consent().headers["location"] == "/demographics"
    again = who.post("/consent", {"consent": "yes"})
    assert again.headers["location"] == "/demographics"
    assert count_rows(engine, participants) == 1


def test_malformed_links_get_a_clear_page(engine: Engine) -> None:
    web = client(engine)
    bad = web.get("/", params={"PROLIFIC_PID": "<script>x</script>"})
    assert bad.status_code == 400 and "PROLIFIC_PID" in bad.text and "<script>" not in bad.text
    unknown = web.get("/", params={"scenario": "space_travel"})
    assert unknown.status_code == 400 and "scenario" in unknown.text
    needs = client(engine, require_prolific=True).get("/")
    assert needs.status_code == 400 and "Prolific" in needs.text


def test_redirect_to_prolific_on_completion(engine: Engine) -> None:
    web = client(
        engine,
        completion_url="https://app.prolific.com/submissions/complete",
        completion_code="C1ABC2",
        redirect_on_complete=True,
    )
    who = Walker(web)
    who.to_form(PROLIFIC_PID="0000000000000000000000a1")
    who.form()
    reply = who.finish()
    assert reply.headers["location"] == "https://app.prolific.com/submissions/complete?cc=C1ABC2"
    assert "form-action 'self' https://app.prolific.com" in reply.headers["content-security-policy"]


def test_no_stack_trace_reaches_a_browser(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    web = client(engine)
    who = Walker(web)
    who.arrive()

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(survey, "create_participant", broken)
    reply = who.post("/consent", {"consent": "yes"})
    assert reply.status_code == 500 and "Something went wrong on our side" in reply.text
    assert "Traceback" not in reply.text and "secret internals" not in reply.text
    assert web.get("/no/such/page").status_code == 404
    assert web.get("/page/abc").status_code == 404
    assert web.put("/consent").status_code == 405


def test_every_page_carries_security_headers(engine: Engine) -> None:
    page = client(engine).get("/")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "httponly" in page.headers["set-cookie"].lower()
    assert "samesite=lax" in page.headers["set-cookie"].lower()


def test_serve_listens_on_loopback_unless_told() -> None:
    from valuecompass.cli.survey import serve

    host = next(p for p in serve.params if p.name == "host")
    assert host.default == "127.0.0.1"
    bad = CliRunner().invoke(main, ["survey", "serve", "--admin-token", "short"])
    assert bad.exit_code == 2 and "admin_token" in bad.output
