"""Answers' positions onto [0, 1], each on the scale it was given on.

A position in the tidy answer table is raw: a point of the scale its answer was given on. People
answer on the instrument's people scale (``roles.people``); a model on the scale of the wording
its prompt used (``roles.wordings``). An answer table may say which scale each row is on (a
``scale`` column with scale ids); where it does not, a people's row (``source == "humans"``) is on
the people scale and a model's on its wordings' scale, which must then be one scale in effect
(all the model scales normalise alike), else the table has to say.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from valuecompass.errors import ValueCompassError
from valuecompass.instrument import Instrument, RatingScale

FloatArray = NDArray[np.float64]


def normalise(positions: FloatArray, scale: RatingScale | None = None) -> FloatArray:
    """Map raw positions on SCALE to 0 (its agree end) .. 1 (the other end), linearly.

    SCALE defaults to the bundled Value Form's people scale. ``NaN`` stays ``NaN``; a position
    beyond an end maps beyond [0, 1] (callers check positions against the scale first).
    """
    if scale is None:
        from valuecompass.instrument import load_instrument

        scale = load_instrument().people_scale
    agree, other = scale_ends(scale)
    # the very expression of RatingScale.normalise, so a neutral point lands exactly on 0.5
    return (np.asarray(positions, dtype=float) - agree) / (other - agree) + 0.0


def scale_ends(scale: RatingScale) -> tuple[float, float]:
    """The raw positions of SCALE's agree end and of its other end."""
    first, last = scale.positions[0], scale.positions[-1]
    return (first, last) if scale.agree == "first" else (last, first)


Side = Literal["humans", "llm"]
HUMANS = "humans"


class ScaleError(ValueCompassError, ValueError):
    """Answers whose scale cannot be told, or positions off their scale."""


def same_mapping(a: RatingScale, b: RatingScale) -> bool:
    """Whether A and B map every raw position to the same normalised score (the same agree
    end and the same other end; the points between may differ)."""
    return scale_ends(a) == scale_ends(b)


def model_scale(instrument: Instrument) -> RatingScale:
    """The one scale a model's answers are on when they do not say (all wordings alike).

    Edge case: wordings on scales that normalise differently raise :class:`ScaleError`, since a
    position alone could then mean two scores.
    """
    scales = [instrument.scale_for(w) for w in instrument.wording_ids]
    first = scales[0]
    if all(same_mapping(first, s) for s in scales[1:]):
        return first
    ids = ", ".join(dict.fromkeys(s.id for s in scales))
    raise ScaleError(
        f"instrument {instrument.id!r}: a model's wordings use scales that score positions "
        f"differently ({ids}); the answers must say which scale each is on (a 'scale' column)"
    )


def side_scale(instrument: Instrument, side: Side) -> RatingScale:
    """The scale SIDE answers on when its rows do not say."""
    return instrument.people_scale if side == HUMANS else model_scale(instrument)


def reference_scale(instrument: Instrument, side: Side) -> RatingScale:
    """The one scale SIDE's positions are put on for resampling and distributions: its own
    (:func:`side_scale`), or, where a model's wordings are on scales that score positions
    differently, the first wording's scale (see :func:`on_reference_scale`)."""
    try:
        return side_scale(instrument, side)
    except ScaleError:
        return instrument.scale_for(instrument.wording_ids[0])


def on_reference_scale(answers: pd.DataFrame, instrument: Instrument, side: Side) -> pd.DataFrame:
    """ANSWERS with every position re-expressed on :func:`reference_scale` (exact, as
    normalisation is linear in the position), its ``scale`` column naming that scale; the
    same table where no row is on a scale that scores differently.

    Edge case: a position off its own scale is refused by :func:`scores` (``ScaleError``).
    """
    if "scale" not in answers.columns or answers.empty:
        return answers
    ref = reference_scale(instrument, side)
    ids = row_scales(answers, instrument, side)
    if all(same_mapping(instrument.scale(i), ref) for i in dict.fromkeys(ids)):
        return answers
    agree, other = scale_ends(ref)
    out = answers.copy()
    out["position"] = agree + scores(answers, instrument, side) * (other - agree)
    out["scale"] = ref.id
    return out


def row_scales(answers: pd.DataFrame, instrument: Instrument, side: Side | None) -> pd.Series:
    """The scale id of each row: its ``scale`` column, else SIDE's scale (by ``source`` when
    SIDE is ``None``). The default is asked for only where a row does not say."""
    out = pd.Series("", index=answers.index, dtype=object)
    if "scale" in answers.columns:
        given = answers["scale"].astype(object).where(answers["scale"].notna(), "")
        out = given.astype(str).str.strip().astype(object)
    unsaid = out == ""
    if side is None:
        people = unsaid & (answers["source"] == HUMANS)
        out[people] = instrument.people_scale.id
        unsaid &= ~people
        side = "llm"
    if unsaid.any():
        out[unsaid] = side_scale(instrument, side).id
    return out


def scores(
    answers: pd.DataFrame, instrument: Instrument, side: Side | None = None
) -> NDArray[np.float64]:
    """Each row's position normalised on its own scale (``NaN`` where it has none).

    0 is the scale's agree end, 1 the other. A row naming a scale the instrument lacks raises
    :class:`ScaleError`.
    """
    positions = pd.to_numeric(answers["position"], errors="coerce").to_numpy(float)
    out = np.full(len(answers), np.nan)
    ids = row_scales(answers, instrument, side).to_numpy()
    for scale_id in dict.fromkeys(ids):
        scale = _scale(instrument, str(scale_id))
        rows = ids == scale_id
        out[rows] = normalise(positions[rows], scale)
    return out


def _scale(instrument: Instrument, scale_id: str) -> RatingScale:
    known = {s.id: s for s in instrument.rating_scales}
    if scale_id not in known:
        raise ScaleError(
            f"answers on scale {scale_id!r}, which instrument {instrument.id!r} does not have; "
            f"its scales: {', '.join(known)}"
        )
    return known[scale_id]
