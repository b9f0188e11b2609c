"""Structure: do the answers show the circle that the theory predicts?

Classical (Torgerson) multidimensional scaling of the items' correlations puts each item on a
plane; the theory (for the bundled form, Schwartz's circle of motivational types) gives each
group a place on a circle. :func:`circle_structure` measures how well the items' angles follow
their groups' places, up to a rotation and a reflection, with a permutation p-value.

Two nulls for that p-value (:data:`Null`):

* ``types`` (the default): the items stay in their groups and the groups' places on the circle
  are permuted. It asks whether the groups sit in the theory's *order*; any clustering of items
  within their groups is kept in every permutation, so it earns nothing by itself.
* ``items``: the group labels are shuffled over the items (group sizes kept). It rewards any
  clustering within groups, whatever the groups' order, so it is the weaker test.

With few groups the ``types`` null has few distinct arrangements (rotations and reflections
fit alike: ``(G - 1)! / 2`` of them), so its p-value cannot be small: with 3 groups it is 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from valuecompass.stats._reliability import wide
from valuecompass.stats._units import FloatArray

#: Which permutations the circle test's p-value is against: ``types`` (groups' places on the
#: circle permuted, items kept in their groups; the default) or ``items`` (group labels
#: shuffled over the items).
Null = Literal["types", "items"]
NULLS: tuple[Null, ...] = ("types", "items")


def classical_mds(distances: FloatArray, dims: int = 2) -> FloatArray:
    """Torgerson's classical scaling: coordinates ``(K, dims)`` from a ``(K, K)`` distance matrix.

    ``B = -½ J D² J`` (J centres), then the leading eigenvectors scaled by the square roots of
    their eigenvalues (negative eigenvalues count as 0). The result is centred at the origin.
    """
    d2 = np.asarray(distances, dtype=float) ** 2
    k = d2.shape[0]
    j = np.eye(k) - np.ones((k, k)) / k
    vals, vecs = np.linalg.eigh(-0.5 * j @ d2 @ j)
    top = np.argsort(vals)[::-1][:dims]
    coords: FloatArray = vecs[:, top] * np.sqrt(np.maximum(vals[top], 0.0))
    return coords


def circle_fit(angles: FloatArray, places: FloatArray) -> float:
    """Agreement of item angles with their groups' places on the circle, in ``[0, 1]``.

    ``R = max over s in {+1, -1} of |mean_i exp(i·(φ_i - s·θ_i))|``: the mean resultant length
    of the differences between each item's angle and its group's place, so it is unchanged by
    any rotation of the plane, and the reflection is chosen to fit. 1: every item sits exactly
    at its group's place (up to rotation and reflection); near 0: no relation. Edge case:
    ``NaN`` with no item.
    """
    if len(angles) == 0:
        return float("nan")
    return float(max(abs(np.mean(np.exp(1j * (angles - s * places)))) for s in (1.0, -1.0)))


def adjacent_pairs(group_angles: Mapping[str, float], order: Sequence[str]) -> int:
    """How many of the theory's neighbouring pairs (``order[i]``, ``order[i+1]``, and the last
    with the first) are also neighbours in the observed circular order of the groups."""
    present = [g for g in order if g in group_angles]
    observed = sorted(present, key=lambda g: group_angles[g])
    pairs = {
        frozenset((observed[i], observed[(i + 1) % len(observed)])) for i in range(len(observed))
    }
    theory = {frozenset((present[i], present[(i + 1) % len(present)])) for i in range(len(present))}
    return len(pairs & theory) if len(present) > 2 else 0


@dataclass(frozen=True)
class Structure:
    """The scaling and the circle test of one answer table."""

    coords: pd.DataFrame  # per item: value, group, x, y, angle
    fit: float  # circle_fit R of the items in the theory's groups
    p_value: float  # share of permutations (under ``null``) fitting as well, with the observed
    adjacent: int  # theory-adjacent group pairs that are adjacent in the data
    groups: int  # groups placed
    permutations: int
    dropped: tuple[str, ...]  # items left out: never varied, or no pair of answers
    null: Null = "types"

    def summary(self) -> dict[str, object]:
        return {
            "fit": self.fit,
            "p_value": self.p_value,
            "adjacent_pairs": self.adjacent,
            "groups": self.groups,
            "items": len(self.coords),
            "dropped": len(self.dropped),
            "permutations": self.permutations,
            "null": self.null,
        }


def item_plane(table: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Classical MDS of the items' pairwise correlations: ``d_ij = sqrt(2 (1 - r_ij))``.

    Items that never vary are dropped; a pair never answered together counts as ``r = 0``.
    With fewer than 3 varying items the coordinates are ``NaN``.
    """
    varying = [c for c in table.columns if table[c].std() > 0]
    dropped = tuple(str(c) for c in table.columns if c not in varying)
    if len(varying) < 3:  # no plane to speak of: every item unplaced
        coords = np.full((len(varying), 2), np.nan)
    else:
        corr = table[varying].corr().fillna(0.0).to_numpy().copy()
        np.fill_diagonal(corr, 1.0)
        coords = classical_mds(np.sqrt(np.clip(2.0 * (1.0 - corr), 0.0, None)))
    plane = pd.DataFrame({"value": varying, "x": coords[:, 0], "y": coords[:, 1]})
    plane["angle"] = np.arctan2(plane["y"], plane["x"])
    return plane, dropped


def circle_structure(
    answers: pd.DataFrame,
    groups: Mapping[str, str],
    order: Sequence[str],
    *,
    contexts: Sequence[str],
    permutations: int = 2000,
    seed: int | np.random.Generator = 0,
    null: Null = "types",
) -> Structure:
    """Scale the items of ANSWERS and test the groups' circular ORDER against them.

    ``groups`` maps value id → group; ``order`` is the theory's order of the groups around the
    circle (group ``order[i]`` placed at angle ``2π i / len(order)``); values whose group is
    not in ``order`` are scaled but not scored. Units are respondents or prompt sets within a
    context, the context keyed by the CONTEXTS columns (see
    :func:`valuecompass.stats._reliability.wide`).

    The statistic is :func:`circle_fit`; its p-value is ``(1 + #{R_perm >= R}) / (1 +
    permutations)`` under NULL (see :data:`Null`): ``types`` permutes the groups' places on
    the circle (the items keep their groups), ``items`` permutes the group labels over the
    scored items (group sizes kept). Also reported:
    the number of theory-adjacent pairs of groups adjacent in the observed order of the groups'
    mean directions.
    """
    plane, dropped = item_plane(wide(answers, list(groups), contexts))
    plane["group"] = plane["value"].map(groups)
    scored = plane[plane["group"].isin(list(order)) & plane["x"].notna()]
    place = {g: 2 * np.pi * i / len(order) for i, g in enumerate(order)}
    angles = scored["angle"].to_numpy(float)
    labels = scored["group"].to_numpy()
    fit = circle_fit(angles, np.array([place[g] for g in labels]))
    if null not in NULLS:
        raise ValueError(f"unknown null {null!r}; choose one of {', '.join(NULLS)}")
    rng = np.random.default_rng(seed)
    present = [g for g in order if g in set(labels)]
    index = np.array([present.index(g) for g in labels], dtype=int)
    slots = np.array([place[g] for g in present])
    at_least = 0
    for _ in range(permutations):
        # types: each group to another group's place; items: the labels shuffled over items
        moved = slots[rng.permutation(index)] if null == "items" else rng.permutation(slots)[index]
        at_least += circle_fit(angles, moved) >= fit - 1e-12
    centres = scored.groupby("group")[["x", "y"]].mean()
    directions = {str(g): float(np.arctan2(r.y, r.x)) for g, r in centres.iterrows()}
    return Structure(
        coords=plane[["value", "group", "x", "y", "angle"]],
        fit=fit,
        p_value=(1 + at_least) / (1 + permutations) if len(angles) else float("nan"),
        adjacent=adjacent_pairs(directions, order),
        groups=len(directions),
        permutations=permutations,
        dropped=dropped,
        null=null,
    )
