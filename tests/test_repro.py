"""Reproducing what the authors did: excluded respondents and the two ways of a group distance."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from _tidy import model, people
from valuecompass import metrics as al
from valuecompass.api import align_sources
from valuecompass.cli import main
from valuecompass.errors import ValueCompassError
from valuecompass.instrument import Instrument
from valuecompass.metrics import Alignment, align
from valuecompass.sources import (
    ExclusionError,
    apply_exclusions,
    read_exclusions,
    read_human_folder,
)
from valuecompass.stats._groups import Layout, group_statistics

NAN = np.nan

# Overall F1 with the 18 respondents who failed an attention check left out (the released
# data's README), against the paper's Table 2 with everyone.
EXCLUDED_F1 = {
    "deepseek-r1-distill-llama-70b": 0.559,
    "openai_o3-mini": 0.504,
    "gpt-4o-mini": 0.390,
    "llama3-70b-8192": 0.462,
    "gemma2-9b-it": 0.501,
}


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


# --- the group distance, both ways -------------------------------------------------------


def test_means_distance_hand_computed() -> None:
    # paired cells: values 1-4; l - h = .1, -.1, -.5, .4 → mean -.1/4 = -.025 → |.| = .025
    # (Eq. 2's mean of |l - h| is (.1 + .1 + .5 + .4) / 4 = .275)
    h = np.array([0.1, 0.8, 0.6, 0.2, 0.9, NAN])
    m = np.array([0.2, 0.7, 0.1, 0.6, NAN, 0.3])
    assert al.means_distance(h, m) == pytest.approx(0.025)
    assert al.mean_distance(h, m) == pytest.approx(0.275)
    # one sign throughout: the two agree; nothing paired: NaN; leading axes carried through
    assert al.means_distance(np.array([0.0, 0.2]), np.array([0.5, 0.3])) == pytest.approx(0.3)
    assert np.isnan(al.means_distance(np.array([NAN, 0.1]), np.array([0.2, NAN])))
    assert al.means_distance(np.stack([h, h]), np.stack([m, h])) == pytest.approx([0.025, 0])


def _two_contexts(form: Instrument, group_distance: str) -> Alignment:
    # Two contexts of the United States, two values; positions 1..4 normalise as (p - 1) / 3.
    #            people (h)         model (l)          l - h
    # healthcare ambitious 1 → 0    2 → 1/3            +1/3
    #            wealth    4 → 1    3 → 2/3            -1/3
    # education  ambitious 4 → 1    1 → 0              -1
    #            wealth    1 → 0    2 → 1/3            +1/3
    h = people(
        [
            ("united_states", "healthcare", "ambitious", "p1", 1),
            ("united_states", "healthcare", "wealth", "p1", 4),
            ("united_states", "education", "ambitious", "p2", 4),
            ("united_states", "education", "wealth", "p2", 1),
        ]
    )
    m = model(
        [
            ("united_states", "healthcare", "ambitious", 0, 2),
            ("united_states", "healthcare", "wealth", 0, 3),
            ("united_states", "education", "ambitious", 0, 1),
            ("united_states", "education", "wealth", 0, 2),
        ]
    )
    return align(h, m, form, group_distance)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        # cells (Eq. 2): mean of |l - h|
        #   country: (1/3 + 1/3 + 1 + 1/3) / 4 = 1/2; contexts: 1/3 and 2/3
        #   values: ambitious (1/3 + 1) / 2 = 2/3, wealth (1/3 + 1/3) / 2 = 1/3
        ("cells", {"country": 1 / 2, "ctx": [1 / 3, 2 / 3], "value": [2 / 3, 1 / 3]}),
        # means (the authors' notebook): |mean(l - h)|
        #   country: |1/3 - 1/3 - 1 + 1/3| / 4 = 1/6; contexts: |0| / 2 = 0, |-2/3| / 2 = 1/3
        #   values: ambitious |1/3 - 1| / 2 = 1/3, wealth |-1/3 + 1/3| / 2 = 0
        ("means", {"country": 1 / 6, "ctx": [0, 1 / 3], "value": [1 / 3, 0]}),
    ],
)
def test_group_distance_hand_computed(form: Instrument, how: str, expected: dict) -> None:
    a = _two_contexts(form, how)
    assert a.by("country")["distance"].tolist() == pytest.approx([expected["country"]])
    assert a.overall()["distance"] == pytest.approx(expected["country"])
    contexts = a.by("context").set_index("scenario")["distance"]
    assert [contexts["healthcare"], contexts["education"]] == pytest.approx(expected["ctx"])
    topics = a.by("scenario").set_index("scenario")["distance"]
    assert [topics["healthcare"], topics["education"]] == pytest.approx(expected["ctx"])
    values = a.by("value").set_index("value")["distance"]
    assert [values["ambitious"], values["wealth"]] == pytest.approx(expected["value"])
    ranking = a.ranking().set_index("value")["distance"]
    assert [ranking["ambitious"], ranking["wealth"]] == pytest.approx(expected["value"])
    # the report's grouped heatmaps use the same rule
    by_topic = a.distance_by(["country", "scenario"]).droplevel("country")
    assert [by_topic["healthcare"], by_topic["education"]] == pytest.approx(expected["ctx"])
    # the cells themselves are the same either way
    assert sorted(a.cells()["distance"].dropna()) == pytest.approx([1 / 3, 1 / 3, 1 / 3, 1])


@pytest.mark.parametrize("how", ["cells", "means"])
def test_resampling_statistics_follow_the_group_distance(form: Instrument, how: str) -> None:
    a = _two_contexts(form, how)
    layout = Layout.of(a)
    assert layout.group_distance == how
    stats = group_statistics(a.human.to_numpy(), a.model.to_numpy(), layout)
    for group in ("context", "country", "scenario", "value", "type"):
        got = stats[group]["distance"]
        want = a.by(group)["distance"].to_numpy()
        np.testing.assert_allclose(got, want, err_msg=f"{how} by {group}")
    assert stats["overall"]["distance"][0] == pytest.approx(a.overall()["distance"])


@pytest.mark.parametrize("how", ["cells", "means"])
def test_significance_follows_the_group_distance(released: Path, how: str) -> None:
    from valuecompass.stats import permutation_test

    r = align_sources(released, released / "llm_outputs" / "gpt-4o-mini", group_distance=how)
    assert r.human_answers is not None and r.model_answers is not None
    table = permutation_test(r.alignment, r.human_answers, r.model_answers, permutations=20)
    want = r.alignment.by("value").set_index("value")["distance"]
    got = table.set_index("value")["distance"]
    np.testing.assert_allclose(got.to_numpy(), want.loc[got.index].to_numpy(), atol=1e-12)


def test_unknown_group_distance_is_refused(form: Instrument) -> None:
    with pytest.raises(ValueCompassError, match="unknown group distance 'median'"):
        _two_contexts(form, "median")


def test_means_never_exceed_cells_on_released(released: Path) -> None:
    folder = released / "llm_outputs" / "gemma2-9b-it"
    cells = align_sources(released, folder).alignment
    means = align_sources(released, folder, group_distance="means").alignment
    by_cells, by_means = cells.by("country"), means.by("country")
    assert (by_means["distance"] <= by_cells["distance"] + 1e-12).all()
    assert (by_means["distance"] < by_cells["distance"]).any()  # signs mix within countries
    pd.testing.assert_series_equal(by_cells["f1"], by_means["f1"])


# --- excluded respondents ----------------------------------------------------------------


@pytest.fixture(scope="module")
def everyone(released: Path, form: Instrument) -> pd.DataFrame:
    return read_human_folder(released / "humans", form)[0]


def test_released_exclusions_leave_94(released: Path, form: Instrument, everyone) -> None:
    exclusions = read_exclusions(released / "exclusions_attention.csv", form)
    assert len(exclusions.entries) == 18
    # 6 + 6 + 4 + 2 in the four scenario files
    topics = pd.Series([e.scenario for e in exclusions.entries]).value_counts().to_dict()
    assert topics == {
        "collaborative_writing": 6,
        "healthcare": 6,
        "education": 4,
        "public_sector": 2,
    }
    kept = apply_exclusions(everyone, exclusions)
    assert kept.groupby("scenario")["respondent"].nunique().sum() == 112 - 18
    assert len(kept) == (112 - 18) * 56


@pytest.mark.parametrize("name", sorted(EXCLUDED_F1))
def test_table_2_with_exclusions(released: Path, name: str) -> None:
    result = align_sources(
        released, released / "llm_outputs" / name, exclude=released / "exclusions_attention.csv"
    )
    assert result.humans.excluded == 18
    assert "18 respondent(s) excluded" in result.humans.summary()
    assert result.alignment.overall()["f1"] == pytest.approx(EXCLUDED_F1[name], abs=0.0015)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "exclude.csv"
    path.write_text(text)
    return path


def test_bad_exclusion_files(tmp_path: Path, form: Instrument, everyone) -> None:
    with pytest.raises(ExclusionError, match=r"missing column\(s\) reason"):
        read_exclusions(_write(tmp_path, "file,PID\nhuman_S2_Healthcare.csv,P1\n"), form)
    with pytest.raises(ExclusionError, match="no such exclusion file"):
        read_exclusions(tmp_path / "absent.csv", form)
    with pytest.raises(ExclusionError, match=r"line 2: .*cannot tell the scenario"):
        read_exclusions(_write(tmp_path, "file,PID,reason\nhuman_S9_Space.csv,P1,x\n"), form)
    with pytest.raises(ExclusionError, match="line 3: empty PID"):
        read_exclusions(_write(tmp_path, "file,PID,reason\nhealthcare,P1,\nhealthcare,,\n"), form)
    unknown = read_exclusions(
        _write(tmp_path, "file,PID,reason\nhuman_S2_Healthcare.csv,P999,typo\n"), form
    )
    with pytest.raises(ExclusionError, match=r"line 2: P999 in human_S2_Healthcare\.csv"):
        apply_exclusions(everyone, unknown)
    # P12 answered the collaborative-writing survey, not the healthcare one: the pair counts
    elsewhere = read_exclusions(
        _write(tmp_path, "file,PID,reason\nhuman_S2_Healthcare.csv,P12,x\n"), form
    )
    with pytest.raises(ExclusionError, match="1 excluded respondent"):
        apply_exclusions(everyone, elsewhere)
    # a scenario id instead of a file (people from a survey store), repeats counted once
    by_id = read_exclusions(
        _write(tmp_path, "file,PID,reason\nhealthcare,P29,\nhealthcare,P29,\n"), form
    )
    assert len(by_id.entries) == 1
    assert apply_exclusions(everyone, by_id)["respondent"].nunique() == 111


def test_cli_exclude_and_group_distance(released: Path, tmp_path: Path) -> None:
    llm = str(released / "llm_outputs" / "gpt-4o-mini")
    exclude = str(released / "exclusions_attention.csv")
    code, out, err = _run(
        "align", "--humans", str(released), "--llm", llm, "--exclude", exclude, "--format", "json"
    )
    assert code == 0, err
    assert json.loads(out)["overall"]["f1"] == pytest.approx(0.390, abs=0.0015)
    assert "18 respondent(s) excluded" in err
    code, out, _ = _run(
        "align", "--humans", str(released), "--llm", llm, "--group-distance", "means",
        "--by", "value", "--format", "json",
    )  # fmt: skip
    assert code == 0
    rows = json.loads(out)["rows"]
    assert len(rows) == 56
    bad = _write(tmp_path, "file,PID,reason\nhuman_S1_Collaborative_Writing.csv,P404,x\n")
    for command in (["align"], ["rigor", "ceiling"], ["rigor", "irrelevant"]):
        code, out, err = _run(
            *command, "--humans", str(released), "--llm", llm, "--exclude", str(bad)
        )
        assert code == 2, command
        assert err.strip().count("\n") == 0 and "P404" in err, err
    code, out, err = _run(
        "rigor", "ceiling", "--humans", str(released), "--llm", llm, "--exclude", exclude,
        "--group-distance", "means", "--by", "overall", "--splits", "5", "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    assert "18 respondent(s) excluded" in err


def test_report_with_exclusions_means_and_a_paper_run(released: Path, tmp_path: Path) -> None:
    from valuecompass.runner import RunConfig, run_model

    db = tmp_path / "runs.db"
    run_model(
        RunConfig(model="mock", db=str(db), mode="all", countries=["India"],
                  scenarios=["healthcare"], prompts_path=Path("paper"), run="mock-paper",
                  progress=False)
    )  # fmt: skip
    out = tmp_path / "r.html"
    exclude = released / "exclusions_attention.csv"
    gemma = str(released / "llm_outputs" / "gemma2-9b-it")
    code, _, err = _run(
        "report", "--humans", str(released), "--llm", gemma,
        "--llm", f"mock={db}#mock-paper", "--out", str(out), "--exclude", str(exclude),
        "--group-distance", "means", "--jobs", "1",
    )  # fmt: skip
    assert code == 0, err
    files = tmp_path / "r_files"
    table = pd.read_csv(files / "reproduction-table-2.csv").set_index(["model", "version"])
    assert table.loc[("gemma2-9b-it", "without the 18 excluded"), "average"] == pytest.approx(
        EXCLUDED_F1["gemma2-9b-it"], abs=0.0015
    )
    assert ("mock", "published") not in table.index  # only the paper's models were published
    # the report's own numbers are those without the excluded respondents
    overall = pd.read_csv(files / "overall.csv")
    row = overall[overall.iloc[:, 0].astype(str).str.contains("gemma")]
    assert row["f1"].iloc[0] == pytest.approx(EXCLUDED_F1["gemma2-9b-it"], abs=0.0015)
    designs = pd.read_csv(files / "reproduction-designs.csv").set_index("model")
    assert designs.loc["mock", "design"] == "bundled 'paper'"
    assert designs.loc["gemma2-9b-it", "design"] == "the authors' (released data)"
    html = out.read_text()
    assert "|mean(model) − mean(people)|, as the authors" in html
    provenance = json.loads((files / "provenance.json").read_text())
    assert (
        "--exclude" in provenance["command"] and "--group-distance means" in provenance["command"]
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("file,PID\n")
    code, _, err = _run(
        "report", "--humans", str(released), "--llm", gemma,
        "--out", str(tmp_path / "b.html"), "--exclude", str(bad),
    )  # fmt: skip
    assert code == 2 and "missing column(s) reason" in err
    assert not (tmp_path / "b.html").exists()
