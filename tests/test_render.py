"""How the CLI prints numbers (issue 24, item 7): counts whole, p-values to their resolution."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from rich.console import Console

from valuecompass.cli import _render


def _printed(df: pd.DataFrame, footer: dict[str, object] | None = None) -> str:
    console = Console(width=200, record=True)
    _render.print_table(console, df, "t", footer)
    return console.export_text()


def test_counts_print_whole_and_p_values_below_a_thousandth_say_so() -> None:
    df = pd.DataFrame(
        {"value": ["a", "b"], "n_cells": [112.0, 7.0], "p_value": [1 / 2001, 0.25],
         "q_value": [0.0004, np.nan], "distance": [0.12345, 1.0]}
    )  # fmt: skip
    text = _printed(df, {"n_cells": 119.0, "distance": 0.5})
    assert "112.000" not in text and " 112 " in text and " 119 " in text
    assert text.count("< 0.001") == 2 and "0.250" in text and "0.123" in text
    assert "1.000" in text  # a distance of 1 is not a count: three decimals as ever


def test_json_counts_are_integers() -> None:
    rows = pd.DataFrame({"country": ["india"], "n_contexts": [4.0], "f1": [0.5]})
    payload = json.loads(_render.to_json(rows, {"n_cells": np.float64(112.0), "f1": 0.25}))
    assert payload["rows"][0]["n_contexts"] == 4 and isinstance(
        payload["rows"][0]["n_contexts"], int
    )
    assert payload["overall"] == {"n_cells": 112, "f1": 0.25}
    assert isinstance(payload["overall"]["n_cells"], int)
    half = json.loads(_render.to_json(rows.assign(n_contexts=[2.5]), {}))
    assert half["rows"][0]["n_contexts"] == 2.5  # a mean of counts stays as it is


def test_p_text_never_prints_zero_and_says_a_permutation_floor() -> None:
    from valuecompass.common import p_text

    assert p_text(1 / 2001) == "< 0.001" and p_text(1 / 2001, 2000) == "< 0.001"
    assert p_text(1 / 201, 200) == "≤ 0.005"  # no permutation did as well: only that far
    assert p_text(2 / 201, 200) == "0.010" and p_text(0.25) == "0.250"
    assert p_text(float("nan")) == "–"


def test_report_tables_print_counts_whole_and_p_values_to_their_resolution() -> None:
    from valuecompass.report._htmltable import html_table

    frame = pd.DataFrame(
        {"source": ["people", "model"], "n_cells": [112.0, np.nan], "p_value": [1 / 2001, 0.02],
         "fit": [0.5, 0.25]}
    )  # fmt: skip
    html = html_table(frame, id="t", keys=1, labels={}, shade=None)
    assert ">112<" in html and "112.000" not in html
    assert ">&lt; 0.001<" in html
    assert "0.000" not in html and ">0.020<" in html and ">0.500<" in html
