"""A real browser takes a review study (``survey serve --study review --actions SET``): one
annotator rates the statements, then judges a page of four actions (their spans marked) on
the four criteria, with a comment, on a desktop screen with JavaScript off and on a
phone-sized screen. Screenshots of the review page go to ``tests/artifacts/survey/``; every
control is labelled, text contrast is at least 4.5:1 and the phone never scrolls sideways.
The reviews stored are those clicked.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from _review_support import ACTIONS, SET, review_set
from test_survey_browser import Shots
from valuecompass.store import actions as action_store
from valuecompass.store import open_store
from valuecompass.store import reviews as review_store
from valuecompass.store.reviews import CRITERIA
from valuecompass.testing import survey_load as load

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    db = str(tmp_path / "survey.db")
    review_set(db, tmp_path)
    port = load.free_port()
    args = ["--instrument", ACTIONS.id, "--study", "review", "--actions", SET]
    args += ["--scenario", "politics", "--actions-per-annotator", "4", "--reviews-per-page", "4"]
    args += ["--min-form-seconds", "0", "--items-per-page", "28"]
    proc = load.start_server(db, port, *args, log=tmp_path / "server.log")
    try:
        yield f"http://127.0.0.1:{port}", db
    finally:
        proc.terminate()
        proc.wait()


def _walk(p: Page, base: str, shots: Shots, pid: str) -> dict[tuple[str, str, str], str]:
    """Consent to the end; returns (country, item, inclination) → the harmless answer clicked
    ('no' for every action that opposes, 'yes' otherwise; yes on the other criteria)."""
    p.goto(f"{base}/?PROLIFIC_PID={pid}")
    p.check("#consent")
    p.click("button[type=submit]")
    p.wait_for_url("**/demographics")
    p.select_option("#country", "india")
    p.select_option("#age_band", "35-44")
    p.click("button[type=submit]")
    p.wait_for_url("**/vignette")
    p.click("button[type=submit]")
    while "/page/" in p.url:
        names = p.eval_on_selector_all("input[type=radio][value='2']", "e => e.map(x => x.name)")
        for name in names:
            p.check(f"input[name='{name}'][value='{'2' if name != 'r_check_disagree' else '-2'}']")
        p.click("button[type=submit]")
        p.wait_for_load_state()
    assert "/review/1" in p.url, p.url
    sections = p.locator("section.action")
    assert sections.count() == 4
    assert p.locator("p.deed mark").count() == 4  # each action's span marked
    clicked = {}
    for i in range(sections.count()):
        section = sections.nth(i)
        text = section.locator("p.deed").inner_text()
        opposes = text.startswith("I drop")
        for criterion in CRITERIA:
            answer = "no" if criterion == "harmless" and opposes else "yes"
            section.locator(f"fieldset[id^='q-{criterion}_'] label.opt",
                            has_text="Yes" if answer == "yes" else "No").click()  # fmt: skip
        section.locator("textarea").fill(f"Comment {i + 1}.")
        clicked[text] = "no" if opposes else "yes"
    shots.take("reviews-page-1")
    p.click("button[type=submit]")
    p.wait_for_url("**/open")
    p.fill("#q_ai_should_uphold", "Honesty.")
    p.fill("#q_conflict", "The person decides.")
    p.click("button[type=submit]")
    p.wait_for_url("**/done")
    return clicked


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_an_annotator_reviews_a_page_of_actions_in_a_browser(
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
        shots = Shots(page, "review-phone-" if phone else "review-", phone=phone)
        clicked = _walk(page, base, shots, "60d1f00000000000000000d1")
    finally:
        context.close()
    engine = open_store(db, create=False)
    try:
        found = action_store.get_set(engine, SET)
        assert found is not None
        table = review_store.set_reviews(engine, found)
    finally:
        engine.dispose()
    assert len(table) == 4 and set(table["reviewer"]) == {"survey-1"}
    stored = {a: "yes" if h else "no" for a, h in zip(table["action"], table["harmless"],
                                                       strict=True)}  # fmt: skip
    assert stored == clicked
    assert all(table[c].all() for c in ("intended", "sufficient", "plausible"))
    assert sorted(table["comment"]) == [f"Comment {i}." for i in range(1, 5)]
    assert len(shots.paths) == 1 and all(p.stat().st_size > 5000 for p in shots.paths)
