"""A real browser takes a choice study (``survey serve --actions SET``): one participant rates
the statements, then chooses between the two actions of each item, on a desktop screen with
JavaScript off and on a phone-sized screen. Screenshots of the choice pages go to
``tests/artifacts/survey/``; every control is labelled, text contrast is at least 4.5:1 and
the phone never scrolls sideways. The choices stored are those clicked.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from _choice_support import ACTIONS, hand_set
from test_survey_browser import Shots
from valuecompass.store import open_store
from valuecompass.store import survey as store
from valuecompass.testing import survey_load as load

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    db = str(tmp_path / "survey.db")
    hand_set(db, tmp_path)
    port = load.free_port()
    args = ["--instrument", ACTIONS.id, "--actions", "hand", "--scenario", "politics"]
    args += ["--min-form-seconds", "0", "--items-per-page", "28", "--choices-per-page", "28"]
    proc = load.start_server(db, port, *args, log=tmp_path / "server.log")
    try:
        yield f"http://127.0.0.1:{port}", db
    finally:
        proc.terminate()
        proc.wait()


def _walk(p: Page, base: str, shots: Shots, pid: str) -> dict[str, str]:
    """Consent to the end; returns item → inclination chosen (the 'I drop' action for every
    third pair, the 'I keep' one otherwise)."""
    p.goto(f"{base}/?PROLIFIC_PID={pid}")
    p.check("#consent")
    p.click("button[type=submit]")
    p.wait_for_url("**/demographics")
    p.select_option("#country", "india")
    p.select_option("#age_band", "35-44")
    p.click("button[type=submit]")
    p.wait_for_url("**/vignette")
    p.click("button[type=submit]")
    page = 1
    while "/page/" in p.url:
        names = p.eval_on_selector_all("input[type=radio][value='2']", "e => e.map(x => x.name)")
        for name in names:
            p.check(f"input[name='{name}'][value='{'2' if name != 'r_check_disagree' else '-2'}']")
        p.click("button[type=submit]")
        p.wait_for_load_state()
        page += 1
    chosen: dict[str, str] = {}
    page = 1
    while "/choice/" in p.url:
        shots.take(f"choices-page-{page}")
        labels = p.locator("fieldset.item")
        for i in range(labels.count()):
            pair = labels.nth(i)
            item = pair.get_attribute("id").removeprefix("pair-")  # type: ignore[union-attr]
            word = "I drop" if i % 3 == 0 else "I keep"
            pair.locator("label.opt", has_text=word).click()
            chosen[item] = "opposes" if word == "I drop" else "expresses"
        p.click("button[type=submit]")
        p.wait_for_load_state()
        page += 1
    assert p.url.endswith("/open")
    p.fill("#q_ai_should_uphold", "Honesty.")
    p.fill("#q_conflict", "The person decides.")
    p.click("button[type=submit]")
    p.wait_for_url("**/done")
    return chosen


def _choices(db: str) -> dict[str, str]:
    engine = open_store(db, create=False)
    try:
        table = store.human_choices(engine, ACTIONS)
    finally:
        engine.dispose()
    return dict(zip(table["value"], table["inclination"], strict=True))


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_a_participant_rates_then_chooses_in_a_browser(
    server: tuple[str, str], browser: Browser, phone: bool
) -> None:
    base, db = server
    if phone:
        context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                      has_touch=True, device_scale_factor=2)  # fmt: skip
    else:
        context = browser.new_context(java_script_enabled=False,
                                      viewport={"width": 1280, "height": 900})  # fmt: skip
    try:
        page = context.new_page()
        shots = Shots(page, "choice-phone-" if phone else "choice-", phone=phone)
        chosen = _walk(page, base, shots, "60d1f00000000000000000c1")
    finally:
        context.close()
    assert len(chosen) == 56 and _choices(db) == chosen
    assert len(shots.paths) == 2 and all(p.stat().st_size > 5000 for p in shots.paths)
