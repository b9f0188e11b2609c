"""``valuecompass instrument list|show``: instruments as a table, JSON or YAML."""

from __future__ import annotations

import json
import sys
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from valuecompass.instrument import Instrument, bundled_ids, instrument_digest, load_instrument


def summary(instrument: Instrument) -> dict[str, Any]:
    """The one-line facts of an instrument: id, title, items, scales, axes, groupings."""
    return {
        "id": instrument.id,
        "title": instrument.title,
        "items": len(instrument.items),
        "scales": [{"id": s.id, "points": len(s.points)} for s in instrument.rating_scales],
        "axes": [{"name": a.id, "levels": len(a.levels)} for a in instrument.axes],
        "groupings": [g.id for g in instrument.groupings],
    }


def list_forms(fmt: str, console: Console) -> None:
    rows = [summary(load_instrument(i)) for i in bundled_ids()]
    if fmt == "json":
        sys.stdout.write(json.dumps(rows, ensure_ascii=False) + "\n")
        return
    table = Table(title=f"{len(rows)} bundled instruments")
    for col in ("id", "title", "items", "scales", "axes", "groupings"):
        table.add_column(col, overflow="fold")
    for r in rows:
        scales = ", ".join(f"{s['id']} ({s['points']})" for s in r["scales"])
        axes = ", ".join(f"{a['name']} ({a['levels']})" for a in r["axes"])
        table.add_row(r["id"], r["title"], str(r["items"]), scales, axes, ", ".join(r["groupings"]))
    console.print(table)


def show_form(instrument: Instrument, fmt: str, console: Console) -> None:
    data = instrument.to_data()
    if fmt == "json":  # each point also with its position on [0, 1] (0: the agree end)
        normalised = {s.id: s.normalised for s in instrument.rating_scales}
        for shown in data.get("scales", []):
            for raw in shown.get("points", []):
                raw["normalised"] = normalised.get(shown["id"], {}).get(raw["code"])
        sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
        return
    if fmt == "yaml":
        sys.stdout.write(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10**6))
        return
    console.print(
        f"[bold]{instrument.title}[/bold] ({instrument.id}) v{instrument.version}  "
        f"sha256 {instrument_digest(instrument)[:12]}"
    )
    wordings = instrument.wording_ids
    items = Table(title=f"{len(instrument.items)} {instrument.item_noun}s")
    for col in ("id", "name", "definition", "groups", *wordings):
        items.add_column(col, overflow="fold")
    for item in instrument.items:
        groups = ", ".join(f"{k}={v}" for k, v in item.groups.items())
        texts = [item.wordings.get(w, "") for w in wordings]
        items.add_row(item.id, item.name, item.definition, groups, *texts)
    console.print(items)
    for axis in instrument.axes:
        console.print(f"Axis [bold]{axis.id}[/bold]: " + ", ".join(lv.name for lv in axis.levels))
    for scale in instrument.rating_scales:
        points = ", ".join(
            f"{p.code} {p.label} ({scale.normalised[p.code]:.3g})" for p in scale.points
        )
        missing = "".join(f", {m.code} {m.label} (no score)" for m in scale.missing)
        console.print(f"Scale [bold]{scale.id}[/bold] (agree {scale.agree}): {points}{missing}")
    for grouping in instrument.groupings:
        levels = ", ".join(f"{lv.id} ({lv.name})" for lv in grouping.levels)
        console.print(f"Grouping [bold]{grouping.id}[/bold] ({grouping.name}): {levels}")
    roles = instrument.roles
    asked = ", ".join(f"{w} on {s}" for w, s in roles.wordings.items())
    console.print(f"Roles: people answer on {roles.people}; a model answers {asked}")
