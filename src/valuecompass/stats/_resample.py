"""Weight arrays that say which units each resample (or split, or permutation) uses.

Every function returns float weights of shape ``(B, C, U)``; :func:`cell_means` turns them into
resampled matrices. Randomness comes only from the generator passed in.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from valuecompass.stats._units import FloatArray, IntArray

#: ``"n"``: Efron's bootstrap, n draws from n units. ``"n-1"``: Rao and Wu's rescaling
#: bootstrap with n - 1 draws, whose variance for a mean is unbiased (s²/n) even with a
#: handful of units per context, where Efron's is too small by (n - 1)/n.
Draws = Literal["n", "n-1"]


def draw_counts(counts: IntArray, draws: Draws) -> IntArray:
    """How many units a resample draws in each context (at least one where any exist)."""
    if draws == "n":
        return counts.copy()
    return np.where(counts > 1, counts - 1, counts)


def resample_weights(
    rng: np.random.Generator, counts: IntArray, width: int, b: int, draws: Draws = "n-1"
) -> FloatArray:
    """Bootstrap weights: unit ``u`` of context ``c`` drawn ``w[b, c, u]`` times.

    Each context is resampled on its own (stratified), with replacement, from its
    ``counts[c]`` units; a context with no unit gets zero weights.
    """
    m = draw_counts(counts, draws)
    c_dim = len(counts)
    top = max(int(m.max(initial=0)), 1)
    picks = np.floor(rng.random((b, c_dim, top)) * counts[None, :, None]).astype(np.int64)
    used = np.arange(top)[None, None, :] < m[None, :, None]
    cell = np.arange(b * c_dim, dtype=np.int64).reshape(b, c_dim, 1) * width
    flat = (cell + picks)[np.broadcast_to(used, picks.shape)]
    w = np.bincount(flat, minlength=b * c_dim * width).astype(float)
    return w.reshape(b, c_dim, width)


def full_weights(counts: IntArray, width: int) -> FloatArray:
    """Every unit once: the weights that reproduce the observed cell means, shape (1, C, U)."""
    return (np.arange(width)[None, :] < counts[:, None]).astype(float)[None]


def random_ranks(rng: np.random.Generator, counts: IntArray, width: int, b: int) -> IntArray:
    """A random order of each context's units, per draw: ``ranks[b, c, u]`` in 0..counts[c]-1.

    Padding slots (``u >= counts[c]``) get ranks at or after ``counts[c]``.
    """
    keys = rng.random((b, len(counts), width))
    keys[:, np.arange(width)[None, :] >= counts[:, None]] = np.inf
    ranks: IntArray = np.argsort(np.argsort(keys, axis=-1), axis=-1)
    return ranks


def split_weights(
    rng: np.random.Generator, counts: IntArray, width: int, s: int
) -> tuple[FloatArray, FloatArray]:
    """Random split halves of each context's units, ``floor(n / 2)`` units each.

    With an odd count one unit sits out of each split; with fewer than two units both halves
    are empty (their cells come out ``NaN``).
    """
    ranks = random_ranks(rng, counts, width, s)
    half = (counts // 2)[None, :, None]
    first = (ranks < half).astype(float)
    second = ((ranks >= half) & (ranks < 2 * half)).astype(float)
    return first, second
