"""Scale-use correction: person-centred (ipsatised) scores for people and for a model's prompts.

People use a rating scale differently: one respondent agrees with nearly everything, another
keeps to the middle. Schwartz's scoring instructions therefore subtract each respondent's mean
rating over the items before values are compared. Here the same is done for every *unit* of an
answer table:

* a person: one respondent in one context (a level of every context axis), over the values
  they scored;
* a model: one prompt set, i.e. one context × prompt variant × sample, over its values.

The centred position is ``position - unit mean + midpoint``, where the midpoint is the raw
position halfway between the two ends of the row's scale (the one that normalises to 0.5; the
Value Form's 1..4 axes: 2.5). Kept on that scale, everything downstream (H and L, rates,
distances, intervals) works unchanged, and it reads as follows:

* the *centred score* of a cell is ``c = normalised - 0.5``: the cell's mean of the
  normalised ``position - unit mean``. It lies in ``[-1, 1]`` (in practice well inside it).
* the agree/disagree call is made against the centred midpoint: ``c < 0`` (normalised
  ``< 0.5``) is **agree**: the value is endorsed *more than the unit's own average value*;
  ``c >= 0`` is **disagree**: endorsed no more than its own average (exactly average counts as
  disagree, as a neutral average does on the raw scale).
* the distance ``|c_model - c_people|`` lies in ``[0, 2]``; it is unchanged by a shift of all
  of one unit's answers, so a model that answers one notch lower everywhere is not penalised.

The same values on both sides. People leave values out (N/A: 7.7 of the 56 a respondent on
the released data) while a model answers all of them, and a unit's mean depends on which values
it is taken over. So when the people's answers are given (``over``), a model's prompt set is
centred over the values each respondent of its context rated, in turn: its mean over one
respondent's rated values, averaged over the context's respondents (a respondent who rated
nothing is left out; a context with no rated answer falls back on the prompt set's own mean).
Each respondent is centred over their own rated values, so people and model are centred over
the same values wherever the model answered every value the respondent rated; a value the model
left unanswered drops out of its mean for that respondent only.

Edge cases: missing answers are left out of the unit's mean and stay missing; a unit with no
scored answer stays all missing; a unit that scored a single value gets the midpoint there (it
carries no information about relative endorsement).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from valuecompass.answers import row_scales
from valuecompass.instrument import Instrument, context_columns, load_instrument
from valuecompass.stats._units import unit_columns


def __getattr__(name: str) -> object:
    """``MIDPOINT`` (deprecated): the Value Form people scale's midpoint, read from its YAML."""
    if name == "MIDPOINT":
        return midpoints(load_instrument())[load_instrument().people_scale.id]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def midpoints(instrument: Instrument) -> dict[str, float]:
    """Scale id → the raw position halfway between its two ends (normalised 0.5)."""
    return {s.id: (s.positions[0] + s.positions[-1]) / 2 for s in instrument.rating_scales}


#: The line outputs print when scores are centred.
CENTRED_NOTE = (
    "Scores are person-centred: each respondent's (and each prompt's) mean over the values is "
    "subtracted; 0.5 is its own average, below 0.5 agrees more than its average."
)


def centre_answers(
    answers: pd.DataFrame, instrument: Instrument | None = None, over: pd.DataFrame | None = None
) -> pd.DataFrame:
    """A copy of the tidy answer table with centred positions (see the module docstring).

    People's rows (a ``respondent`` on every row) are centred per source, context and
    respondent; a model's per source, context, ``variant`` and ``sample``. The raw positions
    are kept in a ``raw_position`` column. Centring a centred table changes nothing. Each row
    is centred on its own scale's midpoint (INSTRUMENT's scales; default the Value Form).
    OVER, the people's answers, centres a model's prompt sets over the values each of its
    context's respondents rated (see the module docstring).
    """
    out = answers.copy()
    if out.empty:
        out["raw_position"] = pd.Series(dtype=float)
        return out
    inst = instrument or load_instrument()
    axes = [c for c in context_columns(inst) if c in out.columns]
    keys = ["source", *axes, *unit_columns(out)]
    groups = [out[k].astype(str) for k in keys]
    means = out["position"].groupby(groups, sort=False).transform("mean")
    if over is not None:
        means = _over_people(out, over, axes, keys).fillna(means)
    if "raw_position" not in out:
        out["raw_position"] = out["position"]
    mid = row_scales(out, inst, None).map(midpoints(inst)).to_numpy(float)
    out["position"] = out["position"] - means + np.asarray(mid)
    return out


def _over_people(
    model: pd.DataFrame, people: pd.DataFrame, axes: list[str], keys: list[str]
) -> pd.Series:
    """Per row of MODEL: its unit's (KEYS) mean position over each respondent's rated values
    in the same context (AXES), averaged over the context's respondents; NaN where no
    respondent of the context rated a value the unit answered."""
    rated = people[people["position"].notna()]
    if rated.empty or not axes:
        return pd.Series(np.nan, index=model.index)
    who = [*axes, "source", "respondent"]
    seen = rated[[*who, "value"]].astype(str).drop_duplicates()
    presence = seen.assign(one=1.0).pivot_table(
        index=who, columns="value", values="one", aggfunc="max", fill_value=0.0
    )
    mine = model[[*keys, "value"]].astype(str).assign(position=model["position"].to_numpy(float))
    wide = mine.pivot_table(index=keys, columns="value", values="position", aggfunc="mean")
    values = presence.columns.union(wide.columns)
    presence = presence.reindex(columns=values, fill_value=0.0)
    wide = wide.reindex(columns=values)
    people_at = presence.groupby(level=list(range(len(axes))), sort=False)
    found: dict[tuple[str, ...], float] = {}
    depth = [keys.index(a) for a in axes]
    for ctx, units in wide.groupby(level=depth, sort=False):
        ctx_key = ctx if isinstance(ctx, tuple) else (ctx,)
        if ctx_key not in people_at.groups:
            continue
        sets = people_at.get_group(ctx_key).to_numpy(float)  # (R, K) 0/1
        scores = units.to_numpy(float)  # (U, K), NaN where unanswered
        answered = ~np.isnan(scores)
        total = np.where(answered, scores, 0.0) @ sets.T  # (U, R)
        count = answered.astype(float) @ sets.T
        with np.errstate(divide="ignore", invalid="ignore"):
            per_person = np.where(count > 0, total / np.where(count > 0, count, 1.0), np.nan)
        usable = ~np.isnan(per_person)
        n = usable.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.where(n > 0, np.where(usable, per_person, 0.0).sum(axis=1) / n, np.nan)
        for unit, value in zip(units.index, mean, strict=True):
            found[unit if isinstance(unit, tuple) else (unit,)] = float(value)
    rows = zip(*(mine[k] for k in keys), strict=True)
    return pd.Series([found.get(tuple(r), np.nan) for r in rows], index=model.index, dtype=float)
