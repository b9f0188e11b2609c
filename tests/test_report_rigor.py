"""The report's rigour section: intervals, ceilings, sensitivity, significance and themes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from valuecompass import build_report
from valuecompass.report._sec_rigor import RigorSection
from valuecompass.report._sections import DEFAULT_SECTIONS


def test_rigor_section_tables(released: Path, tmp_path: Path) -> None:
    codes = pd.DataFrame(
        [
            {"respondent": "p1", "scenario": "healthcare", "question": "q", "coder": "ann",
             "themes": "human_oversight;fairness_bias", "missing": ""},
            {"respondent": "p2", "scenario": "education", "question": "q", "coder": "ann",
             "themes": "fairness_bias", "missing": ""},
        ]
    )  # fmt: skip
    section = RigorSection(resamples=200, permutations=100, splits=20, codes=codes)
    llm = [("gpt-4o-mini", released / "llm_outputs" / "gpt-4o-mini")]
    sections = [s for s in DEFAULT_SECTIONS if s.id != "rigor"] + [section]
    result = build_report(released, llm, tmp_path / "r.html", sections=sections, jobs=1)
    html = result.html.read_text()
    for table in ("overall", "country", "sensitivity", "significance", "irrelevant", "themes"):
        assert f'id="tab-rigor-{table}"' in html
    overall = pd.read_csv(result.files_dir / "rigor-overall.csv").iloc[0]
    assert overall["f1_low"] <= overall["f1"] <= overall["f1_high"]
    assert 0 < overall["ceiling_f1"] < 1
    themes = pd.read_csv(result.files_dir / "rigor-themes.csv").set_index("name")
    assert themes.loc["Fairness and bias", "all"] == 2
