"""The survey's quotas, quality flags, admin page and export, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pandas as pd
from click.testing import CliRunner
from sqlalchemy import Engine, select

import _survey_support as support
from _survey_support import EXPECT, TOKEN, Walker, client, count_rows, token_of
from valuecompass import answers as ans
from valuecompass.cli import main
from valuecompass.instrument import load_instrument
from valuecompass.sources import load_source
from valuecompass.store import survey
from valuecompass.store._survey_tables import participants, slots
from valuecompass.survey._form import draw_order

FORM = load_instrument()
pg_database, store_url, engine = support.pg_database, support.store_url, support.engine


def test_a_full_cell_turns_new_arrivals_away(engine: Engine) -> None:
    Walker(client(engine, quota=1)).complete("india", scenario="healthcare")
    late = Walker(client(engine, quota=1))
    late.consent(scenario="healthcare")
    assert late.demographics("india").headers["location"] == "/full"
    page = late.web.get("/full")
    assert "Thank you for your interest" in page.text
    assert late.web.get("/page/1").headers["location"] == "/full"
    elsewhere = Walker(client(engine, quota=1))
    elsewhere.consent(scenario="healthcare")
    assert elsewhere.demographics("france").headers["location"] == "/vignette"


def test_assignment_balances_scenarios_within_a_country(engine: Engine) -> None:
    for _ in range(4):
        who = Walker(client(engine, quota=1))
        who.consent()
        assert who.demographics("canada").headers["location"] == "/vignette"
    with engine.connect() as conn:
        got = sorted(r[0] for r in conn.execute(select(participants.c.scenario)))
    assert got == sorted(s.id for s in FORM.axis("scenario").levels)
    fifth = Walker(client(engine, quota=1))
    fifth.consent()
    assert fifth.demographics("canada").headers["location"] == "/full"


def test_quotas_hold_under_64_simultaneous_arrivals(engine: Engine) -> None:
    people = []
    for i in range(64):
        order = draw_order(FORM.item_ids, list(EXPECT), i)
        made = survey.create_participant(
            engine, key=f"k{i}", prolific_pid=None, study_id="", session_id=None,
            link_scenario=None, seed=i, item_order=order,
        )  # fmt: skip
        assert made is not None
        people.append(made)
    gate = threading.Barrier(64)
    got: list[str | None] = [None] * 64

    def arrive(i: int) -> None:
        gate.wait()
        got[i] = survey.save_demographics(
            engine, people[i], country="india", age_band="25-34", gender=None,
            candidates=[s.id for s in FORM.axis("scenario").levels], quota=4, hold_seconds=3600,
        )  # fmt: skip

    threads = [threading.Thread(target=arrive, args=(i,)) for i in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    placed = [g for g in got if g is not None]
    assert len(placed) == 16 and count_rows(engine, slots) == 16
    assert all(placed.count(s.id) == 4 for s in FORM.axis("scenario").levels)
    frame = survey.participants_frame(engine)
    assert (frame["step"] == "full").sum() == 48


def test_stale_places_are_given_to_new_arrivals(engine: Engine) -> None:
    first = Walker(client(engine, quota=1, hold_minutes=0.0001))
    first.consent(scenario="education")
    first.demographics("india")
    second = Walker(client(engine, quota=1, hold_minutes=0.0001))
    second.consent(scenario="education")
    assert second.demographics("india").headers["location"] == "/vignette"
    assert count_rows(engine, slots) == 1


def test_attention_checks_speed_and_straight_lining_are_flagged(engine: Engine) -> None:
    def careless(item: str, index: int) -> str:
        return "1"  # fails the "strongly agree" and "strongly disagree" checks alike

    Walker(client(engine, min_form_seconds=3600)).complete(rate=careless)
    Walker(client(engine)).complete()
    people = survey.participants_frame(engine)
    bad, good = people.iloc[0], people.iloc[1]
    assert bad["attention_failed"] == 2 and bad["straightlined"] and bad["too_fast"]
    assert bad["excluded"] and bad["exclusion"] == "attention"
    assert not good["excluded"] and good["attention_failed"] == 0 and not good["straightlined"]
    kept = survey.human_answers(engine, FORM)
    assert set(kept["respondent"]) == {"survey-2"}
    everyone = survey.human_answers(engine, FORM, include_excluded=True)
    assert set(everyone["respondent"]) == {"survey-1", "survey-2"} and len(everyone) == 112


def test_unfinished_participants_are_not_in_the_answer_table(engine: Engine) -> None:
    who = Walker(client(engine))
    who.to_form()
    who.form()  # every rating saved, open questions not sent
    assert survey.human_answers(engine, FORM, include_excluded=True).empty


def test_the_admin_page_needs_the_token(engine: Engine) -> None:
    web = client(engine)
    Walker(client(engine)).complete("australia")
    assert web.get("/admin").status_code == 401
    assert web.get("/admin/answers.csv").status_code == 401
    login = web.get("/admin")
    wrong = web.post("/admin/login", data={"csrf": token_of(login), "token": "guess" * 5})
    assert wrong.status_code == 403 and "not right" in wrong.text
    right = web.post("/admin/login", data={"csrf": token_of(login), "token": TOKEN})
    assert right.status_code == 303 and TOKEN not in right.headers["set-cookie"]
    page = web.get("/admin")
    assert page.status_code == 200 and "1 finished" in page.text
    assert '<th scope="row">Australia</th>' in page.text
    csv = web.get("/admin/answers.csv")
    assert csv.headers["content-type"].startswith("text/csv") and csv.text.count("\n") == 57
    people = web.get("/admin/participants.csv")
    assert "completion_code" in people.text.splitlines()[0]
    frame = survey.participants_frame(engine)
    assert "key" not in frame.columns
    with engine.connect() as conn:
        secret_key = conn.execute(select(participants.c.key)).scalar_one()
    assert secret_key not in people.text and secret_key not in csv.text  # session key stays
    assert client(engine, admin_token=None).get("/admin").status_code == 404


def test_export_writes_the_tidy_csv_and_the_store_is_a_humans_source(
    engine: Engine, store_url: str, tmp_path: Path
) -> None:
    Walker(client(engine)).complete("france", scenario="education")
    out, people = tmp_path / "answers.csv", tmp_path / "people.csv"
    result = CliRunner().invoke(
        main,
        ["survey", "export", "--db", store_url, "--out", str(out), "--participants", str(people)],
    )
    assert result.exit_code == 0, result.output
    assert "56 answers from 1 participants" in result.output
    table = ans.read_csv(out)
    assert list(table.columns) == list(ans.columns(["country", "scenario"])) and len(table) == 56
    assert set(table["scenario"]) == {"education"} and set(table["country"]) == {"france"}
    assert pd.read_csv(people)["country"].tolist() == ["france"]
    loaded, report = load_source(store_url, FORM, "humans")
    pd.testing.assert_frame_equal(
        loaded.reset_index(drop=True), survey.human_answers(engine, FORM).reset_index(drop=True)
    )
    assert report.respondents == 1


def test_export_of_a_missing_store_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["survey", "export", "--db", str(tmp_path / "none.db"), "--out", "x.csv"]
    )
    assert result.exit_code == 2 and "no such store" in result.output


def test_align_takes_the_survey_store_as_its_humans(
    engine: Engine, store_url: str, released: Path
) -> None:
    for country in ("india", "india", "france"):
        Walker(client(engine)).complete(country, scenario="healthcare")
    model = released / "llm_outputs" / "gemma2-9b-it"
    args = ["align", "--humans", store_url, "--llm", str(model), "--format", "json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["rows"]
    assert {r["country"] for r in rows} == {"india", "france"}
    assert all(r["n_contexts"] == 1 for r in rows)


def test_open_answers_go_to_coding_from_the_export_and_from_the_store(
    engine: Engine, store_url: str, tmp_path: Path
) -> None:
    formula = '=HYPERLINK("x") and fairness'
    first = Walker(client(engine))
    first.to_form("india", scenario="healthcare")
    first.form()
    assert first.finish(q_conflict=formula).headers["location"] == "/done"
    Walker(client(engine)).complete("france", scenario="education")
    Walker(client(engine)).complete(rate=lambda item, i: "1")  # excluded: failed the checks
    unfinished = Walker(client(engine))
    unfinished.to_form("germany")
    out, texts = tmp_path / "answers.csv", tmp_path / "open.csv"
    cli = CliRunner()
    result = cli.invoke(main, ["survey", "export", "--db", store_url, "--out", str(out),
                               "--open-answers", str(texts)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "6 open answers written" in result.output  # 2 kept participants x 3 questions
    exported = pd.read_csv(texts, dtype=str, keep_default_na=False)
    assert list(exported.columns) == ["respondent", "scenario", "question", "text"]
    assert set(exported["respondent"]) == {"survey-1", "survey-2"}
    assert set(exported["scenario"]) == {"healthcare", "education"}
    guarded = exported.loc[exported["question"] == "conflict", "text"].tolist()
    assert guarded[0] == "'" + formula  # a spreadsheet shows it as text

    from valuecompass.coding import load_answers

    from_csv, from_store = load_answers(texts, FORM), load_answers(store_url, FORM)
    pd.testing.assert_frame_equal(from_csv, from_store)  # the guard comes off again
    assert formula in from_store["text"].tolist()

    model = 'mock:answer=["fairness_bias"]'
    for src, codes in ((str(texts), tmp_path / "a.csv"), (store_url, tmp_path / "b.csv")):
        result = cli.invoke(main, ["code", "run", "--answers", src, "--model", model,
                                   "--coder", "m", "--codes", str(codes)])  # fmt: skip
        assert result.exit_code == 0, result.output
        assert "6 answer(s) coded, 0 missing" in result.output
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()
    coded = pd.read_csv(tmp_path / "b.csv", keep_default_na=False)
    assert set(coded["themes"]) == {"fairness_bias"}


def test_coding_a_store_without_open_answers_is_a_clear_error(
    engine: Engine, store_url: str
) -> None:
    Walker(client(engine)).to_form("india")  # started, never finished
    result = CliRunner().invoke(main, ["code", "run", "--answers", store_url, "--codes", "x.csv"])
    assert result.exit_code == 2 and "holds no finished participant's open answer" in result.output
