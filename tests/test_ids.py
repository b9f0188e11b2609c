"""One rule for every id an instrument gives (issue 22, defect 10): slugs with hyphens work
wherever ids go (CSV columns, JSON keys, URLs, stored rows, on SQLite and PostgreSQL); ids that
would cut, merge or overflow a stored row are refused when the instrument loads, in one line
naming the file, the field and the id."""

from __future__ import annotations

import io
import itertools
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine

import _survey_support as support
from _store_support import pg_database as pg_database
from _store_support import run_store as run_store
from _survey_support import Walker, client
from valuecompass.cli import main
from valuecompass.instrument import InstrumentError, load_instrument
from valuecompass.survey import load_content

DATA = Path(__file__).parent / "data"
WARD = (DATA / "ward_instrument.yaml").read_text()
WARD_PROMPTS = (DATA / "ward_prompts.yaml").read_text()

store_url, engine = support.store_url, support.engine

#: The ward instrument with hyphens in an item, a grouping level, a wording and an axis level.
EDITS = {
    "id: kinship, name: Kinship": 'id: self-care, name: "Self-care (one\'s own)"',
    "id: private, name": "id: private-life, name",
    "theme: private}": "theme: private-life}",
    "id: retiree,": "id: retired-person,",
    "plain: ": "plain-text: ",
}
ITEMS = ["fairness", "candour", "thrift", "self-care"]


def _hyphenated(root: Path) -> tuple[Path, Path]:
    text = WARD
    for old, new in EDITS.items():
        assert old in text, old
        text = text.replace(old, new)
    instrument, design = root / "hy.yaml", root / "hy_prompts.yaml"
    instrument.write_text(text)
    design.write_text(WARD_PROMPTS.replace("wording: plain", "wording: plain-text"))
    return instrument, design


def _invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def _ok(*args: str | Path) -> str:
    result = _invoke(*args)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_hyphenated_ids_load_and_keep_their_spelling(tmp_path: Path) -> None:
    instrument = load_instrument(_hyphenated(tmp_path)[0])
    assert instrument.item_ids == ITEMS
    assert instrument.axis("persona").level_ids == ["student", "retired-person"]
    assert instrument.grouping("theme").level_ids == ["civic", "private-life"]
    assert instrument.wording_ids == ["plain-text"]
    assert instrument.item("self-care").id == "self-care"


def test_hyphenated_ids_go_through_a_run_export_align_and_profile(
    tmp_path: Path, run_store: str
) -> None:
    instrument, design = _hyphenated(tmp_path)
    _ok("run", "--instrument", instrument, "--prompts", design, "--model", "mock", "--mode",
        "all", "--db", run_store, "--run", "w", "--no-progress")  # fmt: skip
    model = pd.read_csv(io.StringIO(_ok("runs", "export", "w", "--db", run_store)))
    # 4 contexts x 4 variants, each form answering every item (its JSON keyed by item name)
    assert len(model) == 4 * 4 * 4 and model["position"].notna().all()
    assert model["value"].value_counts().to_dict() == dict.fromkeys(ITEMS, 16)
    assert set(model["persona"]) == {"student", "retired-person"}
    contexts = itertools.product(["student", "retired-person"], ["housing", "transit"], ITEMS)
    rows = [{"source": "humans", "persona": p, "domain": d, "value": v,
             "respondent": f"{p}-{d}-{r}", "position": 1 + (i + r) % 5}
            for i, (p, d, v) in enumerate(contexts) for r in range(3)]  # fmt: skip
    people = tmp_path / "people.csv"
    pd.DataFrame(rows).to_csv(people, index=False)
    got = json.loads(_ok("align", "--humans", people, "--llm", f"{run_store}#w", "--by",
                         "value", "--format", "json"))  # fmt: skip
    distance = {r["value"]: r["distance"] for r in got["rows"]}
    # by hand: per item, the mean over contexts of |model mean - people mean| on [0, 1],
    # the model's A..E (A agrees) as (p - 1) / 4 and people's 1..5 (5 agrees) as (5 - p) / 4
    keys = ["persona", "domain", "value"]
    m = model.assign(s=(model["position"] - 1) / 4).groupby(keys)["s"].mean()
    frame = pd.DataFrame(rows)
    h = frame.assign(s=(5 - frame["position"]) / 4).groupby(keys)["s"].mean()
    expect = (m - h.reindex(m.index)).abs().groupby(level="value").mean()
    assert distance == pytest.approx(expect.to_dict(), abs=1e-12)
    profile = pd.read_csv(io.StringIO(_ok("profile", "--llm", f"{run_store}#w", "--by", "theme",
                                          "--format", "csv")))  # fmt: skip
    assert sorted(profile["theme"]) == ["civic", "private-life"]
    private = model[model["value"].isin(["thrift", "self-care"])]
    means = private.groupby(keys)["position"].mean().sub(1).div(4)
    score = profile.set_index("theme").loc["private-life", "score"]
    assert score == pytest.approx(means.mean(), abs=1e-12)


def test_hyphenated_ids_go_through_the_survey_and_its_export(
    engine: Engine, store_url: str, tmp_path: Path
) -> None:
    instrument = load_instrument(_hyphenated(tmp_path)[0])
    walker = Walker(client(engine, instrument=instrument))
    answers = {"fairness": "1", "candour": "2", "thrift": "4", "self-care": "dk"}
    checks = load_content().attention_checks  # answered as asked, on the people scale
    rate = {**{c.id: c.expected(instrument.people_scale) for c in checks}, **answers}
    shown = walker.complete("retired-person", rate=lambda item, _i: rate[item])
    assert "self-care" in shown
    out = tmp_path / "people.csv"
    said = _ok("survey", "export", "--db", store_url, "--out", out)
    assert said.startswith("4 answers from 1 participants"), said
    table = pd.read_csv(out, dtype={"raw": str})
    assert dict(zip(table["value"], table["raw"], strict=True)) == answers
    assert set(table["persona"]) == {"retired-person"}
    positions = table.set_index("value")["position"]
    assert positions.isna().tolist() == [False, False, False, True]  # "dk": missing
    assert positions.dropna().tolist() == [1.0, 2.0, 4.0]


@pytest.mark.parametrize(
    ("bad", "shown"),
    [
        ("a;b", "'a;b'"),
        ("<script>", "'<script>'"),
        ("../up", "'../up'"),
        ("Student", "'Student'"),
        ("two words", "'two words'"),
        ("evil\u202etxt", "'evil\\u202etxt'"),
        ("tab\there", "'tab\\there'"),
        ("x" * 65, "is 65 characters"),
    ],
)
def test_an_id_off_the_rule_is_one_message_naming_file_field_and_id(
    tmp_path: Path, bad: str, shown: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(WARD.replace("id: retiree,", f"id: {json.dumps(bad)},"))
    with pytest.raises(InstrumentError) as caught:
        load_instrument(path)
    message = str(caught.value)
    assert str(path) in message and "axes.0.levels.1.id (line 50)" in message, message
    assert shown in message and "lowercase letters, digits, '_' and '-'" in message, message
    result = _invoke("instrument", "show", path)
    assert result.exit_code == 2 and shown in result.stderr, result.output


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("id: kinship,", "id: kin.ship,", "items.3.id"),
        ("theme: private}", "the;me: private}", "items.2.groups.the;me"),
        ("wordings: {plain: letters}", "wordings: {pl/ain: letters}", "roles.wordings.pl/ain"),
        ("id: theme\n", "id: The-me\n", "groupings.0.id"),
        ("id: persona\n", "id: per=sona\n", "axes.0.id"),
        ("id: agree5\n", "id: agree 5\n", "scales.0.id"),
        ("id: ward_study", "id: ward..study", "id"),
    ],
)
def test_every_kind_of_id_keeps_the_one_rule(
    tmp_path: Path, old: str, new: str, field: str
) -> None:
    path = tmp_path / "bad.yaml"
    assert old in WARD
    path.write_text(WARD.replace(old, new, 1))
    with pytest.raises(InstrumentError) as caught:
        load_instrument(path)
    assert f"  {field} (line" in str(caught.value) and "is not an id" in str(caught.value)


def test_ids_that_would_overflow_a_stored_context_are_refused(tmp_path: Path) -> None:
    """Five axes of 64-character ids: a context of the further axes would pass the stores'
    512-character column, so the file is refused when it loads, not part-way through a run."""
    long = "a" * 62
    axes = "".join(
        f"  - id: {long}{n:02d}\n    name: Axis {n}\n    levels: [{{id: {long}{n:02d}, name: L}}]\n"
        for n in range(5)
    )
    path = tmp_path / "long.yaml"
    path.write_text(f"format: 2\nbase: value_form\nid: long_axes\ntitle: Long\naxes:\n{axes}")
    with pytest.raises(InstrumentError) as caught:
        load_instrument(path)
    assert "reach 519 characters; at most 512" in str(caught.value), caught.value
