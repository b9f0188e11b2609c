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
