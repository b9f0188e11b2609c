"""``valuecompass demo``: the paper's released data, aligned model by model."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from rich.console import Console

from valuecompass.cli import _render
from valuecompass.cli._common import DEFAULT_DATA
from valuecompass.errors import ValueCompassError
from valuecompass.instrument import load_instrument
from valuecompass.metrics import align
from valuecompass.sources import model_folders, read_human_folder, read_model_folder


def released_rates(data: Path) -> pd.DataFrame:
    """Alignment rate per country and on average, one row per released model."""
    instrument = load_instrument()
    if not (data / "humans").is_dir():
        raise ValueCompassError(f"{data}: not the released data folder (no humans/ inside)")
    people, _ = read_human_folder(data / "humans", instrument)
    rows = []
    for folder in model_folders(data / "llm_outputs"):
        model, _ = read_model_folder(folder, instrument)
        result = align(people, model, instrument)
        by_country = result.by("country").set_index("country")["f1"]
        rows.append(
            {"model": folder.name, **by_country.to_dict(), "average": result.overall()["f1"]}
        )
    return pd.DataFrame(rows)


def released_summary(data: Path | None, console: Console) -> None:
    table = released_rates(data or DEFAULT_DATA)
    _render.print_table(console, table, "Alignment rate (F1) by country, released data")
