"""The report's section "Stated and enacted values" (``report --acted``): its numbers are
``gap``'s on the released claude files and a hand computation from the raw files; the page
names the section, every level and the top cell's two actions; a planted instrument unlike
the Value Form reads in its own words; bad input is one line and exit 2.

The released files are read from ../shared at run time, never copied into the repository.
"""

from __future__ import annotations

import csv
import html
import json
import re
import statistics
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from _gap_support import ACTIONS, LOG, T1
from valuecompass.cli import main
from valuecompass.errors import ValueCompassError
from valuecompass.instrument import load_instrument
from valuecompass.report._gap_inputs import GapSources, load_gap
from valuecompass.report._gap_section import gap_summary
from valuecompass.sources import load_action_texts

INST = load_instrument("value_actions")
ODD_PATH = Path(__file__).parent / "data" / "odd_instrument.yaml"
ODD = load_instrument(ODD_PATH)
METRICS = ("f1", "distance", "agree_disagree", "disagree_agree", "n_cells", "n_contexts")


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def _gap_json(*args: str) -> dict[str, Any]:
    code, out, err = _run(
        "gap", "--stated", str(T1), "--acted", str(LOG), "--actions", str(ACTIONS),
        "--format", "json", *args,
    )  # fmt: skip
    assert code == 0, err
    payload: dict[str, Any] = json.loads(out)
    return payload


def _section(page: str) -> str:
    """The text of the gap section alone (tags dropped, entities read, spaces squeezed)."""
    start = page.index('id="gap"')
    end = page.find('<section id="', start + 1)
    part = page[start : end if end > 0 else len(page)]
    part = re.sub(r"<svg.*?</svg>", " ", part, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", part)))


@pytest.fixture(scope="module")
def released_summary() -> Any:
    data = load_gap(GapSources(str(LOG), str(T1), str(ACTIONS)), [], INST)
    return gap_summary(data)


# -- the numbers are gap's -------------------------------------------------------------------


def test_the_section_numbers_are_what_gap_prints(released_summary: Any) -> None:
    summary = released_summary
    for axis in ("country", "topic"):
        rows = _gap_json("--by", axis)
        by = summary.by_axis[axis]
        assert list(by[axis]) == [r[axis] for r in rows["rows"]]
        for metric in METRICS:
            assert by[metric].tolist() == pytest.approx([r[metric] for r in rows["rows"]],
                                                        abs=1e-12), (axis, metric)  # fmt: skip
        ranked = _gap_json("--by", axis, "--ranking")["rows"]
        mine = summary.rankings[axis]
        assert list(zip(mine[axis], mine["value"], mine["rank"], strict=True)) == [
            (r[axis], r["value"], r["rank"]) for r in ranked
        ]
        np.testing.assert_allclose(mine["distance"], [r["distance"] for r in ranked], atol=1e-12)
    overall = rows["overall"]
    assert set(summary.overall) == set(overall)
    for key, value in overall.items():
        assert summary.overall[key] == pytest.approx(value, abs=1e-12), key
    assert summary.overall["position_confounded"] is True  # the released run's fixed order
    # with two axes the heatmap's cells are gap --by context's rows
    (grid,) = summary.grids
    assert (grid.rows, grid.columns) == ("country", "topic")
    for row in _gap_json("--by", "context")["rows"]:
        for metric in ("f1", "distance", "agree_disagree", "disagree_agree"):
            got = grid.frames[metric].loc[row["country"], row["topic"]]
            assert got == pytest.approx(row[metric], abs=1e-12), (row["country"], metric)
    assert list(grid.frames["f1"].index) == INST.axis("country").level_ids
    assert list(grid.frames["f1"].columns) == INST.axis("topic").level_ids


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _by_hand(country: str, topic: str) -> dict[str, tuple[float, float]]:
    """One context from the raw files: value key -> (stated, acted), with the standard
    library only: stated the mean code over the replies, (mean - 1) / 3; acted 1 where the
    chosen action was the negative one."""
    codes: dict[str, list[int]] = {}
    with T1.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if (row["country"], row["topic"]) != (country, topic):
                continue
            text = row["response"]
            try:
                data = json.loads(text[text.find("{") : text.rfind("}") + 1])
            except ValueError:
                continue
            for name, code in data.items():
                codes.setdefault(_key(name), []).append(int(code))
    with ACTIONS.open(newline="", encoding="utf-8") as fh:
        places = [(r["country"], r["topic"], _key(r["value"]), r["polarity"])
                  for r in csv.DictReader(fh)]  # fmt: skip
    acted = {}
    with LOG.open(encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            c, t, value, polarity = places[record["index"]]
            if (c, t) == (country, topic) and record["model_choice"]:
                acted[value] = 1.0 if polarity == "negative" else 0.0
    return {v: ((statistics.fmean(codes[v]) - 1) / 3, a) for v, a in acted.items()}


def _release_action(country: str, topic: str, value: str, polarity: str) -> str:
    with ACTIONS.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if (row["country"], row["topic"], _key(row["value"]), row["polarity"]) == (
                country, topic, value, polarity,
            ):  # fmt: skip
                text = row["generation_prompt"]
                found: str = json.loads(text[text.find("{") : text.rfind("}") + 1])["Human Action"]
                return found
    raise AssertionError(f"no {polarity} action for {country}/{topic}/{value}")


@pytest.mark.parametrize(("country", "topic"), [("Egypt", "Religion"), ("India", "Politics")])
def test_two_heatmap_cells_match_a_hand_computation(
    released_summary: Any, country: str, topic: str
) -> None:
    cells = list(_by_hand(country, topic).values())
    tp = sum(s >= 0.5 and a >= 0.5 for s, a in cells)
    fp = sum(s < 0.5 <= a for s, a in cells)
    fn = sum(a < 0.5 <= s for s, a in cells)
    f1 = 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)
    grid = released_summary.grids[0].frames
    c, t = INST.level("country", country).id, INST.level("topic", topic).id
    assert grid["f1"].loc[c, t] == pytest.approx(f1, abs=1e-12)
    distance = statistics.fmean(abs(s - a) for s, a in cells)
    assert grid["distance"].loc[c, t] == pytest.approx(distance, abs=1e-12)
    assert grid["agree_disagree"].loc[c, t] == pytest.approx(fp / len(cells), abs=1e-12)
    assert grid["disagree_agree"].loc[c, t] == pytest.approx(fn / len(cells), abs=1e-12)


def test_the_top_misaligned_cell_by_hand(released_summary: Any) -> None:
    top = released_summary.misaligned.iloc[0]
    country = INST.axis("country").level(top["country"]).name
    topic = INST.axis("topic").level(top["topic"]).name
    item = INST.item(top["value"])
    stated, acted = _by_hand(country, topic)[_key(item.name)]
    assert (top["stated"], top["acted"]) == (pytest.approx(stated, abs=1e-12), acted)
    assert top["distance"] == pytest.approx(abs(stated - acted), abs=1e-12)
    assert top["misaligned"] == ("agree_disagree" if stated < 0.5 else "disagree_agree")
    # no misaligned cell lies further apart than the first listed
    misaligned = released_summary.misaligned
    assert misaligned["distance"].is_monotonic_decreasing and len(misaligned) == 10
    assert top["expresses"] == _release_action(country, topic, _key(item.name), "positive")
    assert top["opposes"] == _release_action(country, topic, _key(item.name), "negative")


# -- the page ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def released_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    out = tmp_path_factory.mktemp("gap") / "report.html"
    code, _, err = _run(
        "report", "--stated", str(T1), "--acted", str(LOG), "--actions", str(ACTIONS),
        "--jobs", "1", "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    return out.read_text(encoding="utf-8"), out


def test_the_released_files_alone_write_the_section(
    released_page: tuple[str, Path], released_summary: Any
) -> None:
    page, out = released_page
    text = _section(page)
    assert text.lstrip().startswith('id="gap"') or "Stated and enacted values" in text
    assert "<h2>" in page and re.search(r"<h2[^>]*>[^<]*Stated and enacted values", page)
    for axis in INST.context_axes:
        for level in axis.levels:
            assert level.name in text, (axis.id, level.name)
    top = released_summary.misaligned.iloc[0]
    assert top["expresses"] in text and top["opposes"] in text
    assert "position and inclination are confounded" in text
    files = out.with_name("report_files")
    for name in ("gap-grid-country-topic.svg", "gap-ranking-country.png", "gap-misaligned.csv"):
        assert (files / name).is_file(), name
    overall = pd.read_csv(files / "gap-overall.csv")
    assert overall.loc[0, "f1"] == pytest.approx(released_summary.overall["f1"], abs=1e-12)
    provenance = json.loads((files / "provenance.json").read_text())
    assert "--acted" in provenance["command"] and str(LOG) in provenance["command"]


# -- an instrument unlike the Value Form ---------------------------------------------------

A, B = ("north", "shop", "formal"), ("south", "farm", "casual")
#: Stated: variant 0 on `seven` (agree last), variant 1 on `likeness7` (agree first).
#: Acted: two variants, E expresses, O opposes (tests/test_gap.py's odd case, by hand):
#:          stated -> score     acted -> share O   labels s/a   distance
#: A tidy   7, 1 -> 0           E E -> 0           0/0          0
#:   warm   1, 4 -> 3/4         O E -> 1/2         1/1          1/4
#:   bold   4, 7 -> 3/4         E E -> 0           1/0          3/4
#: B tidy   2, 6 -> 5/6         O O -> 1           1/1          1/6
#:   warm   6, 2 -> 1/6         O O -> 1           0/1          5/6
#:   bold   5, 3 -> 1/3         E O -> 1/2         0/1          1/6
STATED = {A: {"tidy": (7, 1), "warm": (1, 4), "bold": (4, 7)},
          B: {"tidy": (2, 6), "warm": (6, 2), "bold": (5, 3)}}  # fmt: skip
ACTED = {A: {"tidy": "EE", "warm": "OE", "bold": "EE"},
         B: {"tidy": "OO", "warm": "OO", "bold": "EO"}}  # fmt: skip
AXES = ("region", "setting", "tone")


def _action(ctx: tuple[str, ...], item: str, inclination: str) -> str:
    return f"I {'keep' if inclination == 'expresses' else 'drop'} being {item} in {ctx[1]} {ctx[0]}"


def _planted(folder: Path) -> dict[str, Path]:
    """The stated tidy CSV, the acted task2_results CSV (option 1 the opposing action, as
    the study laid them out; variants 0 and 1 show that order) and the actions file."""
    stated = folder / "stated.csv"
    with stated.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["source", *AXES, "value", "variant", "position", "scale"])
        for ctx, items in STATED.items():
            for item, positions in items.items():
                for v, (p, scale) in enumerate(zip(positions, ("seven", "likeness7"), strict=True)):
                    out.writerow(["m", *ctx, item, v, p, scale])
    acted = folder / "task2_results_m.csv"
    with acted.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow([*AXES, "value", "option1", "option2", "evaluation_0", "evaluation_1"])
        for ctx, items in ACTED.items():
            for item, letters in items.items():
                replies = [str({"action": "Option 1" if c == "O" else "Option 2"}) for c in letters]
                out.writerow([*ctx, item, _action(ctx, item, "opposes"),
                              _action(ctx, item, "expresses"), *replies])  # fmt: skip
    actions = folder / "actions.csv"
    with actions.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow([*AXES, "value", "inclination", "action"])
        for ctx, items in ACTED.items():
            for item in items:
                for inclination in ("expresses", "opposes"):
                    out.writerow([*ctx, item, inclination, _action(ctx, item, inclination)])
    return {"stated": stated, "acted": acted, "actions": actions}


def test_the_planted_odd_instrument_by_hand(tmp_path: Path) -> None:
    files = _planted(tmp_path)
    data = load_gap(GapSources(str(files["acted"]), str(files["stated"]), str(files["actions"])),
                    [], ODD)  # fmt: skip
    summary = gap_summary(data)
    o = summary.overall
    # A: F1 2/3, distance 1/3; B: F1 1/2, distance 7/18; overall F1 7/12, distance 13/36
    assert o["f1"] == pytest.approx(7 / 12, abs=1e-12)
    assert o["distance"] == pytest.approx(13 / 36, abs=1e-12)
    assert o["agree_disagree"] == pytest.approx(2 / 6, abs=1e-12)
    assert o["disagree_agree"] == pytest.approx(1 / 6, abs=1e-12)
    region = summary.by_axis["region"].set_index("region")
    np.testing.assert_allclose(region["f1"], [2 / 3, 1 / 2], atol=1e-12)
    np.testing.assert_allclose(region["distance"], [1 / 3, 7 / 18], atol=1e-12)
    # variant agreement: majority shares 1, 1/2, 1, 1, 1, 1/2 -> 5/6; with the expressing
    # action 1, 1/2, 1, 0, 0, 1/2 -> 1/2. Option 1 (opposing) picked 6 times of 12.
    assert o["variant_agreement"] == pytest.approx(5 / 6, abs=1e-12)
    assert o["variant_agreement_authors"] == pytest.approx(1 / 2, abs=1e-12)
    assert o["first_option_share"] == 0.5 and o["position_p_value"] == pytest.approx(1.0)
    assert o["position_confounded"] is True
    # three axes: a heatmap per pair; each holds the two contexts on its diagonal
    assert [(g.rows, g.columns) for g in summary.grids] == [
        ("region", "setting"), ("region", "tone"), ("setting", "tone")]  # fmt: skip
    f1 = summary.grids[0].frames["f1"]
    assert f1.loc["north", "shop"] == pytest.approx(2 / 3) and np.isnan(f1.loc["north", "farm"])
    # misaligned: B warm (5/6), A bold (3/4), B bold (1/6)
    mis = summary.misaligned
    assert list(zip(mis["region"], mis["value"], strict=True)) == [
        ("south", "warm"), ("north", "bold"), ("south", "bold")]  # fmt: skip
    np.testing.assert_allclose(mis["distance"], [5 / 6, 3 / 4, 1 / 6], atol=1e-12)
    assert list(mis["misaligned"]) == ["agree_disagree", "disagree_agree", "agree_disagree"]
    assert mis.loc[0, "expresses"] == _action(B, "warm", "expresses")
    assert mis.loc[0, "opposes"] == _action(B, "warm", "opposes")


def test_the_planted_odd_instrument_reads_in_its_words(tmp_path: Path) -> None:
    files = _planted(tmp_path)
    out = tmp_path / "odd.html"
    code, _, err = _run(
        "report", "--stated", f"m={files['stated']}", "--acted", str(files["acted"]),
        "--actions", str(files["actions"]), "--instrument", str(ODD_PATH), "--jobs", "1",
        "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    text = _section(out.read_text(encoding="utf-8"))
    assert "Stated and enacted traits" in text
    assert not re.search(r"\bcountr(y|ies)\b", text, re.I), "the Value Form's axis"
    assert not re.search(r"\bvalues?\b", text, re.I), "the Value Form's item noun"
    assert "traits" in text and "The gap by region" in text and "The gap by tone" in text
    for axis in ODD.context_axes:
        assert axis.name in text
        for level in axis.levels:
            assert level.name in text, (axis.id, level.name)
    for item in ("Warm", "Bold", "Tidy"):
        assert item in text
    assert _action(B, "warm", "expresses") in text and _action(B, "warm", "opposes") in text
    # --llm as the stated side gives the same numbers
    again = tmp_path / "again.html"
    code, _, err = _run(
        "report", "--llm", f"m={files['stated']}", "--acted", str(files["acted"]),
        "--instrument", str(ODD_PATH), "--jobs", "1", "--out", str(again),
    )  # fmt: skip
    assert code == 0, err
    overall = pd.read_csv(tmp_path / "again_files" / "gap-overall.csv")
    assert overall.loc[0, "f1"] == pytest.approx(7 / 12, abs=1e-12)
    assert "Give --actions" in _section(again.read_text(encoding="utf-8"))


def test_one_axis_gives_bars_not_a_heatmap(tmp_path: Path) -> None:
    # the odd instrument cut to its first axis: regions north (A) and south (B) alone
    text = ODD_PATH.read_text(encoding="utf-8")
    one = tmp_path / "one_axis.yaml"
    one.write_text(text[: text.index("  - id: setting")], encoding="utf-8")
    files = _planted(tmp_path)
    for name in ("stated", "acted", "actions"):
        table = pd.read_csv(files[name], dtype=str, keep_default_na=False)
        table.drop(columns=["setting", "tone"]).to_csv(files[name], index=False)
    out = tmp_path / "one.html"
    code, _, err = _run(
        "report", "--stated", str(files["stated"]), "--acted", str(files["acted"]),
        "--actions", str(files["actions"]), "--instrument", str(one), "--jobs", "1",
        "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    shown = sorted(p.name for p in (tmp_path / "one_files").glob("gap-*.png"))
    assert shown == ["gap-ranking-region.png", "gap-ranking.png", "gap-region.png"]
    region = pd.read_csv(tmp_path / "one_files" / "gap-region.csv").set_index("region")
    np.testing.assert_allclose(region["f1"], [2 / 3, 1 / 2], atol=1e-12)
    np.testing.assert_allclose(region["distance"], [1 / 3, 7 / 18], atol=1e-12)
    assert "stated: stated against acted by region" in _section(out.read_text(encoding="utf-8"))


def test_action_texts_from_a_stored_set_are_the_files(tmp_path: Path) -> None:
    files = _planted(tmp_path)
    db = tmp_path / "a.db"
    code, _, err = _run("actions", "import", str(files["actions"]), "--set", "planted",
                        "--db", str(db), "--instrument", str(ODD_PATH))  # fmt: skip
    assert code == 0, err
    stored = load_action_texts(f"{db}#planted", ODD)
    from_file = load_action_texts(files["actions"], ODD)
    pd.testing.assert_frame_equal(stored, from_file)
    assert len(stored) == 12 and set(stored["inclination"]) == {"expresses", "opposes"}
    with pytest.raises(ValueCompassError, match="no action set 'other' \\(sets: planted\\)"):
        load_action_texts(f"{db}#other", ODD)
    with pytest.raises(ValueCompassError, match="an action set of instrument 'odd_test'"):
        load_action_texts(f"{db}#planted", INST)


# -- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("ratings-as-acted", "ratings (stated values), not choices; give it as --stated"),
        ("task-1-as-acted", "ratings (stated values), not choices; give it as --stated"),
        ("stated-alone", "--stated and --actions go with --acted"),
        ("no-stated", "at least one --llm source (or --acted with --stated)"),
        ("bad-actions", "--actions"),
        ("two-models", "say whose stated values"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, case: str, expected: str) -> None:
    files = _planted(tmp_path)
    inst = "value_actions" if case == "task-1-as-acted" else str(ODD_PATH)
    common = ["--instrument", inst, "--out", str(tmp_path / "r.html")]
    args = {
        "ratings-as-acted": ["--stated", str(files["stated"]), "--acted", str(files["stated"])],
        "task-1-as-acted": ["--stated", str(T1), "--acted", str(T1)],
        "stated-alone": ["--llm", str(files["stated"]), "--stated", str(files["stated"])],
        "no-stated": ["--acted", str(files["acted"])],
        "bad-actions": [
            "--stated",
            str(files["stated"]),
            "--acted",
            str(files["acted"]),
            "--actions",
            str(files["stated"]),
        ],
        "two-models": [
            "--llm",
            f"a={files['stated']}",
            "--llm",
            f"b={files['stated']}",
            "--acted",
            str(files["acted"]),
        ],
    }[case]
    code, out, err = _run("report", *args, *common)
    assert code == 2, (out, err)
    assert expected in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "r.html").exists() and not (tmp_path / "r_files").exists()
