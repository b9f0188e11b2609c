"""Issue 20, item 3: generating actions (``valuecompass actions generate``).

Parsing replies, generation designs as data, the mock end to end through the CLI (resume,
cache, regenerate, the odd instrument), a SIGKILL mid-run, and the JSON schema each backend
is given. The bundled model's run is in test_actions_generate_local.py.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from _store_support import spawn, wait_for
from valuecompass.answers import first_person, parse_action
from valuecompass.cli import main
from valuecompass.instrument import load_instrument
from valuecompass.models import Request
from valuecompass.models.mock import MockBackend
from valuecompass.models.openai import OpenAIBackend, response_format
from valuecompass.prompts import PromptError, load_design, read_design, render_action
from valuecompass.store import actions as store
from valuecompass.store import open_store

ODD = Path(__file__).parent / "data" / "odd_instrument.yaml"
ONE = ["--instrument", "value_actions", "--countries", "India", "--where", "topic=Politics"]


# --- parsing ----------------------------------------------------------------------------


def test_a_plain_json_reply_is_read_whole() -> None:
    got = parse_action('{"action": "I vote early.", "spans": ["vote"], "explanation": "Duty."}')
    assert (got.text, got.spans, got.explanation, got.missing) == (
        "I vote early.", ["vote"], "Duty.", None)  # fmt: skip


def test_a_fenced_reply_with_text_around_it_is_read() -> None:
    reply = 'Sure!\n```json\n{"action": "I share my food.", "spans": ["share"]}\n```\nHope it helps'
    got = parse_action(reply)
    assert got.ok and got.text == "I share my food." and got.spans == ["share"]
    assert got.explanation == ""  # not given: empty, not missing


def test_single_quotes_and_trailing_text_are_read() -> None:
    got = parse_action("{'Action': 'We plant trees', 'Spans': 'plant trees'} The Answer is: done")
    assert got.ok and got.text == "We plant trees" and got.spans == ["plant trees"]


def test_raw_line_breaks_inside_strings_are_read() -> None:
    got = parse_action('{"action": "I help.", "explanation": "Because\n\nit helps."}')
    assert got.ok and got.explanation == "Because it helps."


def test_keys_match_without_case_spaces_or_underscores() -> None:
    reply = '{"Human Action": "I call my mother.", "feature_attributions": ["call"]}'
    got = parse_action(reply, ("human_action", "Feature Attributions", "why"))
    assert got.ok and got.text == "I call my mother." and got.spans == ["call"]


def test_a_truncated_reply_keeps_its_finished_action() -> None:
    got = parse_action('{"action": "I help my neighbour.", "spans": ["help", "neigh')
    assert got.ok and got.text == "I help my neighbour."


def test_missing_reasons() -> None:
    assert parse_action("no JSON at all").missing == "no_json"
    assert parse_action('{"other": "I do it."}').missing == "no_json"  # no action key
    assert parse_action("").missing == "no_json"
    assert parse_action('{"action": "   "}').missing == "no_action"
    third = parse_action('{"action": "The person votes."}')
    assert third.missing == "not_first_person" and third.text == "The person votes."


def test_the_first_person_rule() -> None:
    assert first_person("I'm voting") and first_person("Our family eats together")
    assert first_person("it is ours") and first_person("Give it to me.")
    assert not first_person("They move to the US.")  # the country, in capitals
    assert first_person("They told us.")
    assert not first_person("Idle hands")  # whole words only
    assert first_person("Ich gehe", ["ich"]) and not first_person("I go", ["ich"])
    assert first_person("anything at all", [])  # no words: no rule


# --- designs ----------------------------------------------------------------------------


def test_the_paper_design_is_a_full_two_by_two_by_two() -> None:
    design = read_design("paper")
    combos = {(v.ask, v.extras, v.format) for v in design.variants}
    assert len(design.variants) == 8 and len(combos) == 8
    assert {c[0] for c in combos} == set(design.asks) and len(design.asks) == 2
    assert {c[1] for c in combos} == set(design.extras) and len(design.extras) == 2
    assert {c[2] for c in combos} == set(design.formats) and len(design.formats) == 2
    assert design.variant().index == 5


def test_the_schema_follows_the_order_of_the_extras() -> None:
    design = read_design("paper")
    for variant in design.variants:
        schema = design.reply_schema(variant)
        order = list(schema["properties"])
        first = design.extras[variant.extras].first
        assert order[0] == "action" and order[1] == first, variant
        assert schema["required"] == order and schema["additionalProperties"] is False


def test_the_default_design_holds_the_first_word() -> None:
    design = read_design(None)
    action = design.reply_schema(design.variant())["properties"]["action"]
    assert action["pattern"].startswith("^I ") and action["pattern"].endswith("{1,158}$")


def test_placeholders_come_from_the_instrument() -> None:
    odd = load_instrument(ODD)
    design = load_design(None, odd)
    context = {"region": "south", "setting": "farm", "tone": "casual"}
    prompt = render_action(odd, design, context, "patient", "opposes", design.variant())
    assert "Region: the South; Setting: Farm; Tone: casual" in prompt.user
    assert 'goes against the trait "Patient" (waits calmly)' in prompt.user
    assert "value" not in prompt.user  # the instrument's noun, never the Value Form's
    assert prompt.context == (("region", "south"), ("setting", "farm"), ("tone", "casual"))


def test_a_design_that_names_a_missing_axis_is_refused_at_load() -> None:
    with pytest.raises(PromptError, match=r"asks\.suppose: unknown placeholder \{country\}"):
        load_design("paper", load_instrument(ODD))


def test_a_design_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(
        "name: mine\nversion: '1'\n"
        "inclinations: {expresses: {how: honours}, opposes: {how: breaks}}\n"
        "asks: {a: 'In {context}, one act that {how} {name}.'}\n"
        "extras: {e: {first: spans, text: 'Spans, then why.'}}\n"
        "formats: {f: 'JSON with {action_key}.'}\n"
        "variants: [{index: 3, ask: a, extras: e, format: f}]\n",
        encoding="utf-8",
    )
    odd = load_instrument(ODD)
    design = load_design(path, odd)
    prompt = render_action(odd, design, next(odd.contexts()), "tidy", "opposes", design.variant())
    assert prompt.variant == 3
    assert prompt.user == (
        "In Region: the North; Setting: Shop; Tone: formal, one act that breaks Tidy.\n\n"
        "Spans, then why.\n\nJSON with action."
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(path.read_text().replace("opposes: {how: breaks}", "opposes: {}"))
    with pytest.raises(PromptError, match="same keys"):
        read_design(bad)


# --- backends ---------------------------------------------------------------------------


def _request(schema: dict[str, Any] | None) -> Request:
    return Request([{"role": "user", "content": "x"}], 0.0, 50, 0, json_schema=schema)


def test_the_mock_writes_a_valid_action() -> None:
    design = read_design("paper")
    schema = design.reply_schema(design.variant())
    reply = MockBackend().complete(_request(schema)).text
    data = json.loads(reply)
    assert list(data) == list(schema["properties"])
    got = parse_action(reply)
    assert got.ok and got.spans == ["my own way"] and got.text.startswith("I act on it")
    assert MockBackend(answer="nonsense").complete(_request(schema)).text == "nonsense"


def test_openai_sends_the_schema_as_asked() -> None:
    schema = read_design(None).reply_schema(read_design(None).variant())
    strict = OpenAIBackend("m", base_url="http://127.0.0.1:1/v1")
    body = json.loads(strict._body(_request(schema)))
    sent = body["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["strict"] is True
    # string lengths are left out of OpenAI's strict schema; the rest is kept
    spans = sent["json_schema"]["schema"]["properties"]["spans"]
    plain = r'[^"\\\x00-\x1f]'  # no quote, backslash or control character
    assert spans == {"type": "array", "items": {"type": "string", "pattern": f"^{plain}{{0,40}}$"},
                     "maxItems": 2}  # fmt: skip
    assert "pattern" in sent["json_schema"]["schema"]["properties"]["action"]
    as_object = OpenAIBackend("m", base_url="http://127.0.0.1:1/v1", schema_format="json_object")
    assert json.loads(as_object._body(_request(schema)))["response_format"] == {
        "type": "json_object", "schema": schema}  # fmt: skip
    assert response_format(schema, "json_object")["schema"] == schema
    assert "response_format" not in json.loads(strict._body(_request(None)))
    cut = response_format({"type": "string", "minLength": 1, "maxLength": 5}, "json_schema")
    assert cut["json_schema"]["schema"] == {"type": "string"}


# --- the CLI with the mock ----------------------------------------------------------------


def _gen(*args: str) -> Any:
    result = CliRunner().invoke(main, ["actions", "generate", *args, "--no-progress"])
    return result


def _rows(db: Path, name: str) -> dict[tuple[str, ...], tuple[str, str | None, dict[str, Any]]]:
    with sqlite3.connect(db) as conn:
        found = conn.execute(
            "select a.country, a.scenario, a.context, a.item, a.inclination, a.text, a.missing,"
            " a.source_detail from actions a join action_sets s on s.id = a.set_id"
            " where s.name = ?",
            (name,),
        ).fetchall()
    return {tuple(r[:5]): (r[5], r[6], json.loads(r[7])) for r in found}


def test_generate_fills_a_set_and_resumes(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    two = ["--items", "Equality,Wealth"]
    first = _gen(*ONE, *two, "--model", "mock", "--set", "s", "--db", str(db))
    assert first.exit_code == 0, first.output
    assert "4 places; 0 already stored, 0 from cache, 4 asked, 0 failed; 4/4 new" in first.output
    rows = _rows(db, "s")
    assert sorted((k[3], k[4]) for k in rows) == [
        ("equality", "expresses"), ("equality", "opposes"),
        ("wealth", "expresses"), ("wealth", "opposes")]  # fmt: skip
    text, missing, detail = rows[("india", "politics", "", "equality", "opposes")]
    assert missing is None and text.startswith("I act on it in my own way")
    assert detail["model"] == "mock:answer=hash" and detail["variant"] == 0
    assert detail["design"] == "default" and len(detail["design_digest"]) == 64
    assert json.loads(detail["reply"])["action"] == text and detail["attempt"] == 0
    again = _gen(*ONE, *two, "--model", "mock", "--set", "s", "--db", str(db))
    assert "4 already stored, 0 from cache, 0 asked" in again.output
    assert _rows(db, "s") == rows
    # a second set asking the same requests reads the stored replies: nothing asked
    more = _gen(*ONE, "--items", "Equality,Wealth,Honest", "--model", "mock", "--set", "t",
                "--db", str(db))  # fmt: skip
    assert "6 places; 0 already stored, 4 from cache, 2 asked" in more.output, more.output
    copied = _rows(db, "t")[("india", "politics", "", "equality", "opposes")]
    assert copied[0] == text and copied[2]["cached_from"] == "mock:answer=hash"
    shown = CliRunner().invoke(main, ["actions", "show", "t", "--db", str(db), "--format", "json"])
    assert json.loads(shown.output)["actions"] == 6


def test_missing_places_are_kept_and_regenerated(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    args = [*ONE, "--items", "Equality", "--set", "s", "--db", str(db)]
    bad = _gen(*args, "--model", "mock:answer=nonsense")
    assert "0/2 new actions, missing: no_json 2" in bad.output, bad.output
    kept = _gen(*args, "--model", "mock")
    assert "2 already stored" in kept.output and "2 places are kept missing" in kept.output
    redo = _gen(*args, "--model", "mock", "--regenerate")
    assert "0 already stored, 0 from cache, 2 asked, 0 failed; 2/2 new" in redo.output
    rows = _rows(db, "s")
    for text, missing, detail in rows.values():
        assert missing is None and text.startswith("I act")
        assert detail["attempt"] == 1 and detail["params"]["seed"] == 0
        (earlier,) = detail["earlier"]
        assert earlier["missing"] == "no_json" and earlier["reply"] == "nonsense"
    # an action already stored is never replaced, even when regenerating
    again = _gen(*args, "--model", "mock", "--regenerate")
    assert "2 already stored, 0 from cache, 0 asked" in again.output
    assert _rows(db, "s") == rows


def test_a_stored_action_is_never_overwritten(tmp_path: Path) -> None:
    engine = open_store(str(tmp_path / "s.db"))
    found = store.create_set(engine, "x", "i", "d", ["country", "scenario"])
    place = {"context": [("country", "a"), ("scenario", "b")], "item": "v",
             "inclination": "expresses", "spans": [], "explanation": "",
             "source": "generated"}  # fmt: skip
    first = {**place, "text": "I do.", "source_detail": {"n": 1}, "missing": None}
    second = {**place, "text": "I do not.", "source_detail": {"n": 2}, "missing": None}
    assert store.put_generated(engine, found.id, [first]) == [True]
    assert store.put_generated(engine, found.id, [second], replace_missing=True) == [False]
    table = store.set_actions(engine, found)
    assert list(table["action"]) == ["I do."] and table["source_detail"][0] == {"n": 1}
    engine.dispose()


def test_the_odd_instrument_goes_through_generation(tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    done = _gen("--instrument", str(ODD), "--model", "mock", "--set", "odd", "--db", str(db),
                "--where", "tone=casual")  # fmt: skip
    assert done.exit_code == 0, done.output
    # 2 regions x 2 settings x 1 tone x 9 traits x 2 inclinations
    assert "72 places; 0 already stored, 0 from cache, 72 asked, 0 failed; 72/72" in done.output
    rows = _rows(db, "odd")
    assert {k[2] for k in rows} == {"tone=casual"} and {k[0] for k in rows} == {"north", "south"}
    exported = tmp_path / "odd.csv"
    out = CliRunner().invoke(main, ["actions", "export", "odd", "--db", str(db),
                                    "--out", str(exported)])  # fmt: skip
    assert out.exit_code == 0
    assert exported.read_text().splitlines()[0].startswith("region,setting,tone,value,")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--variant", "9"], "no variant 9 in design"),
        (["--design", "paper", "--instrument", str(ODD)], "unknown placeholder {country}"),
        (["--where", "planet=Mars"], "has no axis 'planet'"),
        (["--design", "nowhere.yaml"], "nowhere.yaml: no such generation design"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    db = tmp_path / "b.db"
    base = ["--model", "mock", "--set", "s", "--db", str(db)]
    instrument = [] if "--instrument" in args else ["--instrument", "value_actions"]
    result = _gen(*instrument, *base, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert len([line for line in result.output.splitlines() if line.strip()]) == 1


# --- SIGKILL mid-run ------------------------------------------------------------------------


def test_sigkill_mid_run_loses_nothing_and_asks_nothing_twice(tmp_path: Path) -> None:
    db = str(tmp_path / "k.db")
    # India x all 11 topics x 56 values x 2 inclinations = 1,232 places
    args = ["actions", "generate", "--instrument", "value_actions", "--countries", "India",
            "--model", "mock:delay=0.004", "--set", "k", "--db", db, "--concurrency", "2",
            "--no-progress"]  # fmt: skip
    proc = spawn(*args)

    def stored() -> int:
        if not Path(db).exists():
            return 0
        with sqlite3.connect(db) as conn:
            try:
                return int(conn.execute("select count(*) from actions").fetchone()[0])
            except sqlite3.OperationalError:  # the tables are being made
                return 0

    wait_for(lambda: stored() >= 100, proc)
    assert proc.poll() is None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _rows(Path(db), "k")
    assert 100 <= len(before) < 1232
    keys = [d["key"] for _, _, d in before.values()]
    assert len(set(keys)) == len(keys)  # each request stored once
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0, again.output
    n = len(before)
    assert f"1232 places; {n} already stored, 0 from cache, {1232 - n} asked" in again.output
    after = _rows(Path(db), "k")
    assert len(after) == 1232 and all(after[k] == v for k, v in before.items())
    assert len({d["key"] for _, _, d in after.values()}) == 1232


def test_ctrl_c_stops_promptly_and_keeps_what_arrived(tmp_path: Path) -> None:
    db = str(tmp_path / "i.db")
    args = ["actions", "generate", "--instrument", "value_actions", "--countries", "India",
            "--model", "mock:delay=0.004", "--set", "i", "--db", db, "--concurrency", "2",
            "--no-progress"]  # fmt: skip
    proc = spawn(*args)
    wait_for(lambda: len(_rows(Path(db), "i")) >= 50, proc)
    assert proc.poll() is None
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert err.strip().splitlines() == [
        "interrupted: what was generated is stored; run the same command to resume"]  # fmt: skip
    kept = _rows(Path(db), "i")
    assert 50 <= len(kept) < 1232 and all(m is None and t for t, m, _ in kept.values())
