"""The local backend's sampler: greedy at temperature 0, llama.cpp's default cut-offs above it,
and every request's draws from its own seeded generator."""

from __future__ import annotations

import numpy as np
import pytest

from valuecompass.models._sampling import generator, next_token


def test_temperature_zero_is_greedy_and_takes_the_first_of_a_tie() -> None:
    logits = np.array([0.5, 2.0, 2.0, -1.0])
    assert next_token(logits, 0.0, generator(0)) == 1


def test_draws_depend_only_on_the_logits_temperature_and_seed() -> None:
    logits = np.log(np.array([0.4, 0.3, 0.2, 0.1]))
    rng = generator(7)
    alone = [next_token(logits, 1.0, rng) for _ in range(20)]
    # Draws made for another request in between do not move this request's draws.
    rng, other = generator(7), generator(8)
    drawn = []
    for _ in range(20):
        next_token(logits, 1.0, other)
        drawn.append(next_token(logits, 1.0, rng))
    assert drawn == alone
    assert len(set(alone)) > 1  # it does draw
    another = generator(8)
    assert [next_token(logits, 1.0, another) for _ in range(20)] != alone  # seeds matter


def test_cut_offs_and_temperature_give_the_expected_frequencies() -> None:
    # Probabilities 0.5, 0.3, 0.16, 0.035, 0.005 at temperature 1. top-p 0.95: cumulative
    # 0.5, 0.8, 0.96 reaches 0.95 at the third token, so three are kept; min-p 0.05 keeps
    # those at least 0.025 likely (all three). At temperature 0.5 the kept weights are
    # p**2: 0.25, 0.09, 0.0256, renormalised to 0.6831, 0.2459, 0.0710 (sum 0.3656).
    probs = np.array([0.5, 0.3, 0.16, 0.035, 0.005])
    logits = np.log(probs)
    rng = generator(0)
    n = 20_000
    counts = np.bincount([next_token(logits, 0.5, rng) for _ in range(n)], minlength=5)
    assert counts[3] == counts[4] == 0
    expected = np.array([0.25, 0.09, 0.0256]) / 0.3656
    assert counts[:3] / n == pytest.approx(expected, abs=0.015)


def test_min_p_drops_the_unlikely_tail() -> None:
    # 0.9 and 0.04: 0.04 < 0.05 * 0.9 = 0.045, so only the first is ever drawn.
    logits = np.log(np.array([0.9, 0.04, 0.03, 0.03]))
    rng = generator(3)
    assert {next_token(logits, 2.0, rng) for _ in range(500)} == {0}
