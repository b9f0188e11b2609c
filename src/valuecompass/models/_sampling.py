"""Choosing the next token from logits: greedy at temperature 0, else llama.cpp's default chain.

Every request draws from its own generator seeded with its seed, so its answer does not depend
on the batch it lands in or on the requests before it.
"""

from __future__ import annotations

import numpy as np

#: llama-cpp-python's default cut-offs, applied in its order: top-k, top-p, min-p, temperature.
TOP_K, TOP_P, MIN_P = 40, 0.95, 0.05


def generator(seed: int) -> np.random.Generator:
    """The request's own random generator (PCG64 seeded with SEED)."""
    return np.random.default_rng(seed & 0xFFFFFFFFFFFFFFFF)


def next_token(logits: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    """The token after LOGITS (one row over the vocabulary).

    Temperature 0 or below is greedy (the most likely token; the first of a tie). Otherwise the
    40 most likely tokens are kept, then the fewest whose probabilities reach 0.95, then those
    at least 0.05 times as likely as the best; the rest are divided by TEMPERATURE and one is
    drawn from RNG.
    """
    if temperature <= 0:
        return int(np.argmax(logits))
    logits = np.asarray(logits, dtype=np.float64)
    k = min(TOP_K, logits.size)
    top = np.argpartition(-logits, k - 1)[:k]
    top = top[np.argsort(-logits[top], kind="stable")]
    values = logits[top]
    probs = np.exp(values - values[0])
    probs /= probs.sum()
    reach = int(np.searchsorted(np.cumsum(probs), TOP_P)) + 1  # smallest set reaching TOP_P
    keep = min(reach, k)
    keep = min(keep, int((probs[:keep] >= MIN_P * probs[0]).sum()))
    scaled = (values[:keep] - values[0]) / temperature
    weights = np.exp(scaled)
    pick = int(np.searchsorted(np.cumsum(weights), rng.random() * weights.sum(), side="right"))
    return int(top[min(pick, keep - 1)])
