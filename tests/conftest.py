"""Shared fixtures: the bundled instrument and the paper's released data (read from ../shared)."""

from __future__ import annotations

from pathlib import Path

import pytest

from valuecompass.instrument import Instrument, load_instrument

RELEASED = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "valuecompass-2025"


@pytest.fixture(scope="session")
def form() -> Instrument:
    return load_instrument()


@pytest.fixture(scope="session")
def released() -> Path:
    assert RELEASED.is_dir(), f"the released data must be at {RELEASED}"
    return RELEASED
