"""The scale each of a stored run's answers is on, where the instrument's wordings differ.

A run's answers keep a position but not the scale it is on; a model's answers are read on
the instrument's one model scale (:func:`valuecompass.answers.model_scale`). Where its
wordings are on scales that score positions differently (the test-only odd instrument: a
plain 7-point scale and a reversed likeness scale), the run's manifest says which: each
variant's style asks one wording (:func:`valuecompass.prompts.style_wording`), whose scale
the variant's answers are on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from valuecompass.answers import ScaleError, model_scale

if TYPE_CHECKING:
    from valuecompass.store.runs import RunRecord


def with_scales(table: pd.DataFrame, record: RunRecord) -> pd.DataFrame:
    """TABLE with a ``scale`` column (each row's variant's scale) where the run's instrument
    has wordings on scales that normalise differently; unchanged where its wordings agree,
    or where the run predates the stored instrument and design (schema 4)."""
    if record.instrument_spec is None or record.prompt_design is None or "scale" in table:
        return table
    from valuecompass.instrument import Instrument
    from valuecompass.prompts import PromptSet, style_wording

    inst = Instrument.model_validate(record.instrument_spec)
    try:
        model_scale(inst)
        return table
    except ScaleError:
        pass
    design = PromptSet.model_validate(record.prompt_design)
    scales = {
        v.index: inst.scale_for(style_wording(inst, v.style, design.styles[v.style])).id
        for v in design.variants
    }
    out = table.copy()
    out["scale"] = [scales.get(int(v), "") if pd.notna(v) else "" for v in out["variant"]]
    return out
