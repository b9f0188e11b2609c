"""``valuecompass form show``: the instrument as a table, JSON or YAML."""

from __future__ import annotations

import json

import yaml
from rich.console import Console
from rich.table import Table

from valuecompass.instrument import Instrument


def show_form(instrument: Instrument, fmt: str, console: Console) -> None:
    data = instrument.model_dump(mode="json")
    if fmt == "json":
        console.print_json(json.dumps(data))
        return
    if fmt == "yaml":
        console.print(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), markup=False)
        return
    console.print(
        f"[bold]{instrument.name}[/bold] v{instrument.version}  sha256 {instrument.digest[:12]}"
    )
    values = Table(title=f"{len(instrument.values)} values")
    for col in ("id", "name", "definition", "type", "statement (SVS)", "portrait (PVQ)"):
        values.add_column(col, overflow="fold")
    for v in instrument.values:
        kind = v.type.value if v.near is None else f"unassigned (near {v.near.value})"
        values.add_row(v.id, v.name, v.definition, kind, v.statement, v.portrait)
    console.print(values)
    scenarios = Table(title=f"{len(instrument.scenarios)} scenarios")
    for col in ("id", "name", "scope", "stakes", "vignette"):
        scenarios.add_column(col, overflow="fold")
    for s in instrument.scenarios:
        scenarios.add_row(s.id, s.name, s.scope, s.stakes, s.vignette)
    console.print(scenarios)
    console.print("Countries: " + ", ".join(c.name for c in instrument.countries))
    for name, scale in instrument.scales:
        options = ", ".join(
            f"{o.code} {o.label}" + ("" if o.position is not None else " (no score)")
            for o in scale.options
        )
        console.print(f"Scale [bold]{name}[/bold]: {options}")
