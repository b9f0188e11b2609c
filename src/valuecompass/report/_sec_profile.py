"""Sections shown without people's answers (the model's value profile) and always (provenance)."""

from __future__ import annotations

import json
import platform
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import pandas as pd

from valuecompass import __version__
from valuecompass.instrument import context_columns, instrument_digest
from valuecompass.report import _tables as tb
from valuecompass.report._figures import HeatmapSpec, HeatPanel
from valuecompass.report._inputs import ModelData, ReportData
from valuecompass.report._sec_alignment import PLURAL, SCALE_NOTE, type_breaks
from valuecompass.report._section import Assets


def profile_spec(model: ModelData, names: dict[str, str], breaks: tuple[int, ...]) -> HeatmapSpec:
    """The model's mean score per item, by each context axis, side by side."""
    panels = []
    for group in context_columns(model.profile.instrument):
        table = model.profile.by(group)
        columns = tuple(names.get(str(c), str(c)) for c in table.columns)
        word = tb.axis_word(model.profile.instrument, group)
        panels.append(HeatPanel(f"By {word}", table.to_numpy(dtype=float), columns))
    inst = model.profile.instrument
    rows = tuple(names.get(v, v) for v in inst.item_ids)
    return HeatmapSpec(f"{model.name}: {inst.item_noun} profile", rows, tuple(panels), breaks, "")


class ProfileSection:
    """Each model's value profile: heatmaps, types and extremes (shown without people)."""

    id = "profile"
    title = "Value profiles"
    template = "sections/profile.html.j2"

    def applies(self, data: ReportData) -> bool:
        return data.people is None

    def build(self, data: ReportData, assets: Assets) -> dict[str, Any]:
        names = tb.display_names(data.instrument)
        breaks = type_breaks(data.instrument)
        noun, nouns = data.instrument.item_noun, tb.item_words(data.instrument)
        kind = tb.group_words(data.instrument)[0]
        figures = [
            assets.figure(
                f"profile-{model.slug}",
                f"{model.name}: {noun} profile",
                f"The model's mean score per {noun} over the contexts of each level of each "
                "context axis. " + SCALE_NOTE,
                profile_spec(model, names, breaks),
            )
            for model in data.models
        ]
        tables = [
            assets.table(
                "profile-types",
                f"Mean score by {kind}",
                f"Each model's mean score over a {kind}'s {nouns} and all its contexts "
                "(0 = strongly agree, 1 = strongly disagree).",
                tb.profile_types(data),
                labels=names,
            ),
            assets.table(
                "profile-extremes",
                f"Most and least endorsed {nouns}",
                "Each model's five lowest (most agreed with) and highest mean scores.",
                tb.profile_extremes(data, names),
            ),
        ]
        title = f"{noun[:1].upper()}{noun[1:]} profiles"
        return {"figures": figures, "tables": tables, "plural": PLURAL, "title": title}


def _versions() -> dict[str, str]:
    out = {"valuecompass": __version__, "python": platform.python_version()}
    for package in ("numpy", "pandas", "matplotlib", "jinja2"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:  # pragma: no cover
            out[package] = "not installed"
    return out


def provenance(data: ReportData) -> dict[str, Any]:
    """Everything needed to say how the report was made; also written as provenance.json."""
    sources = ([("people", data.people)] if data.people else []) + [
        ("model", m.source) for m in data.models
    ]
    return {
        "command": data.command,
        "generated_at": data.generated_at,
        "versions": _versions(),
        "instrument": {
            "name": data.instrument.title,
            "version": data.instrument.version,
            "digest": instrument_digest(data.instrument),
        },
        "sources": [
            {"role": role, "name": s.name, "source": s.src, "manifest": s.manifest}
            for role, s in sources
        ],
    }


class ProvenanceSection:
    """Package and instrument versions, the command, and each source's manifest or path."""

    id = "provenance"
    title = "Provenance"
    template = "sections/provenance.html.j2"

    def applies(self, data: ReportData) -> bool:
        return True

    def build(self, data: ReportData, assets: Assets) -> dict[str, Any]:
        record = provenance(data)
        rows = [
            ("valuecompass version", record["versions"]["valuecompass"]),
            ("instrument", f"{record['instrument']['name']} v{record['instrument']['version']}"),
            ("instrument digest (SHA-256)", record["instrument"]["digest"]),
            ("command", record["command"] or "(called from Python)"),
            ("generated at (UTC)", record["generated_at"]),
        ]
        rows += [(f"{k} version", v) for k, v in record["versions"].items() if k != "valuecompass"]
        table = assets.table(
            "provenance",
            "How this report was made",
            "Versions, the instrument's digest and the command; also in provenance.json.",
            pd.DataFrame(rows, columns=["item", "value"]),
            labels={"item": "what", "value": "entry"},  # neutral: no instrument's word
        )
        sources = [
            {
                **s,
                "manifest_json": json.dumps(s["manifest"], indent=2, default=str)
                if s["manifest"]
                else None,
            }
            for s in record["sources"]
        ]
        return {"table": table, "sources": sources, "record": record}
