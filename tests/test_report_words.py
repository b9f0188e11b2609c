"""The report reads in the instrument's own words: no Value Form wording (motivational types,
topics) in the report of another instrument; its axes, grouping and items named."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from valuecompass.cli import main
from valuecompass.instrument import load_instrument

FOREIGN = ("motivational type", "topic")


def _cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, (args, result.stderr, result.exception)
    return result.stdout


def _report(tmp_path: Path, inst: str) -> str:
    """A mock model's run over two levels of each context axis, a hand-made panel of 3 people
    per cell, and the report's text."""
    instrument = load_instrument(inst)
    db = str(tmp_path / "s.db")
    where = [f"{a.id}={','.join(a.level_ids[:2])}" for a in instrument.context_axes]
    grid = [w for x in where for w in ("--where", x)]
    _cli("run", "--instrument", inst, "--model", "mock", "--db", db, "--run", "m",
         "--variants", "0,1", "--no-progress", *grid)  # fmt: skip
    _cli("runs", "export", "m", "--db", db, "--out", str(tmp_path / "m.csv"))
    model = pd.read_csv(tmp_path / "m.csv", dtype=str)
    axes = [a.id for a in instrument.context_axes]
    points = instrument.people_scale.positions
    rows = [
        {"source": "humans", **dict(zip(axes, key[:-1], strict=True)), "value": key[-1],
         "respondent": f"p{r}-{'-'.join(key[:-1])}", "position": points[(i + r) % len(points)]}
        for i, key in enumerate(sorted(set(map(tuple, model[[*axes, "value"]].to_numpy()))))
        for r in range(3)
    ]  # fmt: skip
    pd.DataFrame(rows).to_csv(tmp_path / "h.csv", index=False)
    out = tmp_path / "report.html"
    _cli("report", "--humans", str(tmp_path / "h.csv"), "--llm", f"m={db}#m",
         "--instrument", inst, "--jobs", "1", "--out", str(out))  # fmt: skip
    page = html.unescape(out.read_text())
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


# The odd instrument's report is not here yet: its wordings are on scales that score positions
# differently, which align reads (tests/test_run_scales.py) but the bootstrap's units do not.
@pytest.mark.parametrize("inst", ["moral_foundations", "schwartz_refined"])
def test_the_report_speaks_the_instruments_words(tmp_path: Path, inst: str) -> None:
    text = _report(tmp_path, inst)
    instrument = load_instrument(inst)
    found = [w for w in FOREIGN if w in text.lower()]
    assert not found, f"Value Form wording in the {inst} report: {found}"
    for axis in instrument.context_axes:
        assert f"× {axis.id.replace('_', ' ')}" in text or axis.name.lower() in text.lower()
    nouns = f"{instrument.item_noun}s"
    assert f"Heatmaps of {nouns}" in text and f"Rankings of {nouns} by alignment distance" in text
    assert f"The ten most misaligned {nouns}" in text
    grouping = instrument.groupings[0].name.split(" (")[0].lower()
    assert f"white rules separate {grouping}s" in text.lower()
