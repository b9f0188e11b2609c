"""Reproducing the paper: its Table 2 as published, as recomputed here, and with the respondents
who failed an attention check left out; and which prompt design each model's answers came from.

The published numbers are facts from the paper (Table 2, alignment rate F1 per country and on
average). Exclusions are the ``--exclude`` file, or, when the people's answers are the released
data's, its ``exclusions_attention.csv``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from valuecompass.instrument import has_legacy_view
from valuecompass.metrics import align
from valuecompass.report import _tables as tb
from valuecompass.report._inputs import ModelData, ReportData
from valuecompass.report._section import Assets, TableAsset
from valuecompass.sources import Exclusions, apply_exclusions, read_exclusions, released_levels

#: Table 2 of the paper: F1 per country (in this order) and the average, by released model.
PUBLISHED_COUNTRIES = (
    "united_states", "united_kingdom", "canada", "germany", "australia", "india", "france",
)  # fmt: skip
PUBLISHED = {
    "deepseek-r1-distill-llama-70b": (0.504, 0.543, 0.468, 0.685, 0.624, 0.255, 0.624, 0.529),
    "openai_o3-mini": (0.351, 0.646, 0.558, 0.611, 0.552, 0.345, 0.495, 0.508),
    "gpt-4o-mini": (0.367, 0.482, 0.538, 0.409, 0.420, 0.235, 0.386, 0.405),
    "llama3-70b-8192": (0.403, 0.654, 0.523, 0.507, 0.448, 0.304, 0.408, 0.464),
    "gemma2-9b-it": (0.451, 0.612, 0.649, 0.590, 0.508, 0.303, 0.499, 0.516),
}
RELEASED_EXCLUSIONS = "exclusions_attention.csv"

#: How each bundled design is built, and how it differs from what the authors ran.
DESIGNS = {
    "paper": "the authors' structure (their released code; the bundled 'paper' design): one "
    "user message, no system prompt, the context never varied; a full 2 × 2 × 2 over layout "
    "(value lines before or after the options), style (SVS lines with agreement options, or "
    "portraits with likeness options) and requirement (plain, or ending in a completion cue). "
    "The paper's text says the context sentence varies too; in their code it does not.",
    "default": "our default design: a system prompt and one user message; a 2^(4-1) "
    "fractional factorial over framing (two phrasings of the context, as the paper's text "
    "describes), style (SVS or portrait), requirement (two phrasings) and order (options and "
    "values listed forward or reversed), with the values always before the options. Unlike "
    "the authors' code it varies the context and the list order, not the layout, and has no "
    "completion cue (chat models need none).",
}


class ReproductionSection:
    """Table 2 three ways, and the prompt design of each model's answers."""

    id = "reproduction"
    title = "Reproducing the paper"
    template = "sections/reproduction.html.j2"

    def applies(self, data: ReportData) -> bool:
        """The paper's tables need people, a model and the paper's shape (the Value Form's
        countries, scenarios and types)."""
        ready = data.people is not None and data.everyone is not None and bool(data.aligned)
        return ready and has_legacy_view(data.instrument)

    def build(self, data: ReportData, assets: Assets) -> dict[str, Any]:
        exclusions = data.exclusions or _released_exclusions(data)
        tables = [self._table_2(data, exclusions, assets), self._designs(data, assets)]
        return {
            "tables": tables,
            "group_distance": data.options.group_distance,
            "exclusions": exclusions.path if exclusions else None,
            "n_excluded": len(exclusions.entries) if exclusions else 0,
            "reasons": dict(exclusions.reasons()) if exclusions else {},
        }

    def _table_2(
        self, data: ReportData, exclusions: Exclusions | None, assets: Assets
    ) -> TableAsset:
        assert data.everyone is not None
        rows = []
        for m, _ in data.aligned:
            key = _released_name(m)
            if key in PUBLISHED:
                rows.append(_row(m.name, "published", PUBLISHED[key]))
            rows.append(_row(m.name, "recomputed, everyone", _f1s(data, m, data.everyone)))
            if exclusions is not None:
                kept = apply_exclusions(data.everyone, exclusions)
                label = f"without the {len(exclusions.entries)} excluded"
                rows.append(_row(m.name, label, _f1s(data, m, kept)))
        return assets.table(
            "reproduction-table-2",
            "Table 2 of the paper: published, recomputed, and with exclusions",
            "Alignment rate (F1) per country and on average (the mean of the contexts' F1): "
            "as the paper prints it (released models only), recomputed here from the released "
            "answers with every respondent, and with the excluded respondents left out.",
            pd.DataFrame(rows),
            keys=2,
            labels=tb.display_names(data.instrument) | {"average": "Average"},
        )

    def _designs(self, data: ReportData, assets: Assets) -> TableAsset:
        rows = [{"model": m.name, **design_of(m)} for m in data.models]
        return assets.table(
            "reproduction-designs",
            "Prompt design of each model's answers",
            "Which prompt design produced each model's answers, and how it differs from what "
            "the authors ran.",
            pd.DataFrame(rows),
        )


def _row(model: str, version: str, values: tuple[float, ...] | list[float]) -> dict[str, Any]:
    return {"model": model, "version": version,
            **dict(zip([*PUBLISHED_COUNTRIES, "average"], values, strict=True))}  # fmt: skip


def _f1s(data: ReportData, m: ModelData, people: pd.DataFrame) -> list[float]:
    result = align(people, m.source.answers, data.instrument, data.options.group_distance)
    first = result.context_columns[0]  # the Value Form's countries
    by_country = result.by(first).set_index(first)["f1"]
    f1s = [float(by_country.get(c, float("nan"))) for c in PUBLISHED_COUNTRIES]
    return [*f1s, float(result.overall()["f1"])]


def _released_name(m: ModelData) -> str:
    return Path(m.source.src.rstrip("/\\")).name


def _released_exclusions(data: ReportData) -> Exclusions | None:
    """The released data's exclusion file, when the people's answers are the released data."""
    assert data.people is not None
    src = Path(data.people.src)
    root = src.parent if src.name == "humans" else src
    path = root / RELEASED_EXCLUSIONS
    if not (root / "humans").is_dir() or not path.is_file():
        return None
    return read_exclusions(path, data.instrument)


def design_of(m: ModelData) -> dict[str, str]:
    """The prompt design a model's answers came from (``design``) and what it is (``notes``)."""
    levels = m.source.report.variant_levels
    manifest = m.source.manifest
    if manifest is None and levels == released_levels():
        return {"design": "the authors' (released data)", "notes": DESIGNS["paper"]}
    if manifest is not None:
        from valuecompass.prompts import BUNDLED, read_prompts

        for name in BUNDLED:
            if levels is not None and read_prompts(name).levels() == levels:
                return {"design": f"bundled '{name}'", "notes": DESIGNS[name]}
        digest = str(manifest.get("prompts_digest", ""))[:12]
        notes = "not a bundled design; compare its YAML with the bundled 'paper' design."
        return {"design": f"one of the user's (digest {digest})", "notes": notes}
    notes = "the source (a tidy CSV) does not say which design produced it."
    return {"design": "not recorded", "notes": notes}
