"""Shared fixtures: the bundled instrument and the paper's released data (read from ../shared)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from valuecompass.instrument import Instrument, load_instrument

_DATASET = Path("datasets") / "valuecompass-2025"


def _find_released() -> Path:
    """The released data: $VALUECOMPASS_SHARED, else ../shared beside the checkout, else
    /work/shared (where the workplace keeps it for clones made elsewhere)."""
    candidates = [Path(__file__).resolve().parents[2] / "shared", Path("/work/shared")]
    if os.environ.get("VALUECOMPASS_SHARED"):
        candidates.insert(0, Path(os.environ["VALUECOMPASS_SHARED"]))
    for root in candidates:
        if (root / _DATASET).is_dir():
            return root / _DATASET
    return candidates[0] / _DATASET


RELEASED = _find_released()


@pytest.fixture(scope="session")
def form() -> Instrument:
    return load_instrument()


@pytest.fixture(scope="session")
def released() -> Path:
    assert RELEASED.is_dir(), f"the released data must be at {RELEASED}"
    return RELEASED


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, driven by Playwright (one per test module that asks for it)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``long`` (the docs' long examples) run only when ``-m`` names them."""
    if "long" in (config.getoption("markexpr") or ""):
        return
    kept = [item for item in items if item.get_closest_marker("long") is None]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept
