"""The report's science section, and ``report --centre``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from valuecompass import align_sources
from valuecompass.cli import main

MODELS = ("gpt-4o-mini", "deepseek-r1-distill-llama-70b")


def _report(released: Path, out: Path, *extra: str) -> Path:
    args = ["report", "--humans", str(released), "--out", str(out), "--jobs", "1", *extra]
    for m in MODELS:
        args += ["--llm", str(released / "llm_outputs" / m)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return out.with_name(f"{out.stem}_files")


def test_science_section_shows_the_findings_both_ways(released: Path, tmp_path: Path) -> None:
    files = _report(released, tmp_path / "r.html")
    both = pd.read_csv(files / "science-both-ways.csv").set_index("model")
    for m in MODELS:
        llm = released / "llm_outputs" / m
        raw = align_sources(released, llm).alignment.overall()
        centred = align_sources(released, llm, centre=True).alignment.overall()
        assert both.loc[m, "f1"] == pytest.approx(raw["f1"])
        assert both.loc[m, "f1_centred"] == pytest.approx(centred["f1"])
        assert both.loc[m, "distance_centred"] == pytest.approx(centred["distance"])
        # The chance-corrected rate (kappa) leads, both ways, beside each F1's chance level.
        assert both.loc[m, "f1_corrected"] == pytest.approx(raw["kappa"])
        assert both.loc[m, "f1_corrected_centred"] == pytest.approx(centred["kappa"])
        assert both.loc[m, "f1_chance_centred"] == pytest.approx(centred["f1_chance"])
    assert list(both.columns[:4]) == [
        "f1_corrected", "f1_corrected_rank", "f1_corrected_centred", "f1_corrected_centred_rank"
    ]  # fmt: skip
    # Centring raises the F1 chance alone gives (deepseek: 0.343 raw, 0.485 centred).
    deepseek = both.loc["deepseek-r1-distill-llama-70b"]
    assert deepseek["f1_chance"] == pytest.approx(0.343, abs=0.0015)
    assert deepseek["f1_chance_centred"] == pytest.approx(0.485, abs=0.0015)
    # The paper's headline rate (deepseek 0.529) and its National Security finding: people
    # endorse it, the model rejects it (gap > 0), among the largest gaps.
    assert both.loc["deepseek-r1-distill-llama-70b", "f1"] == pytest.approx(0.529, abs=0.0015)
    assert both.loc["deepseek-r1-distill-llama-70b", "national_security_gap"] > 0.3
    assert both.loc["deepseek-r1-distill-llama-70b", "national_security_rank"] <= 3
    gaps = pd.read_csv(files / "science-gaps.csv")
    assert len(gaps) == 10 and gaps["distance"].is_monotonic_decreasing
    steer = pd.read_csv(files / "science-steer.csv").set_index("model")
    assert "overall" in steer.columns and len(steer) == 3  # two models, then the ceiling
    assert steer.index[-1] == "people against people (ceiling)"
    structure = pd.read_csv(files / "science-structure.csv").set_index("source")
    assert structure.loc["people", "p_value"] < 0.05  # people's answers show the circle
    # Both nulls: the weaker (labels shuffled over items) never gives a larger p here.
    assert (structure["p_value_items"] <= structure["p_value"]).all()
    ties = pd.read_csv(files / "ties.csv").set_index("model")
    assert ties.loc["deepseek-r1-distill-llama-70b", "f1_agree"] == pytest.approx(0.478, abs=5e-4)
    assert (ties["change_agree"] < 0).all() and (ties["ties_share"] > 0).all()
    assert (files / "science-mds.svg").exists() and (files / "science-steer.svg").exists()
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "The rest of\nthis report is on raw scores" in html


def test_report_centre_states_it_and_centres_every_section(released: Path, tmp_path: Path) -> None:
    files = _report(released, tmp_path / "c.html", "--centre")
    html = (tmp_path / "c.html").read_text(encoding="utf-8")
    assert "Scores are person-centred" in html
    assert "The rest of this report is on person-centred scores." in html
    overall = pd.read_csv(files / "overall.csv").set_index("model")
    centred = align_sources(released, released / "llm_outputs" / MODELS[0], centre=True)
    assert overall.loc[MODELS[0], "f1"] == pytest.approx(centred.alignment.overall()["f1"])
    expected = centred.alignment.overall()
    assert overall.loc[MODELS[0], "f1_chance"] == pytest.approx(expected["f1_chance"])
    assert overall.loc[MODELS[0], "f1_corrected"] == pytest.approx(expected["kappa"])
    assert "--centre" in (files / "provenance.json").read_text()


def test_steerability_of_models_sharing_different_countries(
    released: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model asked in two countries beside one asked in all seven: one row per country any
    model has, in the instrument's order, the first model's other countries left empty (it
    used to stop the report with a broadcasting error when drawing the figure)."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    ran = runner.invoke(main, ["run", "--model", "mock", "--countries", "India,Germany",
                               "--run", "two", "--no-progress"])  # fmt: skip
    assert ran.exit_code == 0, ran.output
    gpt = released / "llm_outputs" / "gpt-4o-mini"
    args = ["report", "--humans", str(released), "--out", "r.html", "--jobs", "1"]
    result = runner.invoke(main, [*args, "--llm", "two=valuecompass.db#two", "--llm", str(gpt)])
    assert result.exit_code == 0, result.output
    steer = pd.read_csv(tmp_path / "r_files" / "science-steer.csv").set_index("model")
    countries = ["united_states", "united_kingdom", "india", "germany", "france", "canada"]
    assert list(steer.columns) == [*countries, "australia", "overall"]
    assert steer.loc["two"].isna().tolist() == [True, True, False, False, True, True, True, False]
    assert steer.loc["gpt-4o-mini"].notna().all()
    assert (tmp_path / "r_files" / "science-steer.svg").exists()
