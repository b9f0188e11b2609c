"""The ward instrument (persona x domain, no country; people agree at 5 of 1..5 with missing
codes "Don't know" and "Prefer not to say"; items called principles) served by a real ``survey
serve`` and taken in Chromium: every page in the instrument's words (issue 22, defect 6), and
each missing code kept under its own id in the export (defect 7)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import Browser, Page

from _survey_support import TOKEN
from valuecompass.instrument import load_instrument
from valuecompass.survey import load_content
from valuecompass.testing import survey_load as load

WARD_PATH = Path(__file__).parent / "data" / "ward_instrument.yaml"
WARD = load_instrument(WARD_PATH)
FOREIGN = re.compile(r"\b(countr(y|ies)|values?|schwartz|irrelevant)\b", re.IGNORECASE)
SAID = '"Don\'t know" or "Prefer not to say"'
PLAN = ("dk", "na", "1", "5")  # the principles, in the order shown, get these codes

pytestmark = pytest.mark.slow


def _read(p: Page, pages: dict[str, str], name: str) -> str:
    """The page's visible text, checked for the Value Form's words."""
    text = " ".join(p.inner_text("body").split())
    found = [text[max(m.start() - 40, 0) : m.end() + 40] for m in FOREIGN.finditer(text)]
    assert not found, (name, found)
    pages[name] = text
    return text


def _walk(p: Page, port: int) -> tuple[dict[str, str], dict[str, str]]:
    """One retiree from the study link to the end; the pages' texts and the codes given."""
    expect = {c.id: c.expected(WARD.people_scale) for c in load_content().attention_checks}
    pages: dict[str, str] = {}
    p.goto(f"http://127.0.0.1:{port}/?PROLIFIC_PID=60d1f00000000000000000dd")
    assert "your persona," in _read(p, pages, "consent")
    p.check("#consent")
    p.click("button[type=submit]")
    p.wait_for_url("**/demographics")
    assert "Persona" in _read(p, pages, "about")
    options = p.eval_on_selector_all("#country option", "els => els.map(e => e.textContent)")
    assert options == ["Choose one…", "a student", "a retiree", "Other"]
    p.select_option("#country", "retiree")
    p.select_option("#age_band", index=3)
    p.click("button[type=submit]")
    p.wait_for_url("**/vignette")
    assert f"If you cannot or would rather not answer, choose {SAID}." in _read(
        p, pages, "scenario"
    )
    p.click("button[type=submit]")
    given: dict[str, str] = {}
    page = 1
    while not p.url.endswith("/open"):
        p.wait_for_url(f"**/page/{page}")
        assert "Which principles should the AI system uphold?" in _read(p, pages, f"page {page}")
        names = p.eval_on_selector_all("input[type=radio][required]", "els => els.map(e => e.name)")
        for name in names:
            item = name.removeprefix("r_")
            rated = sum(1 for k in given if k not in expect)
            given[item] = expect.get(item, PLAN[rated % len(PLAN)])
            p.check(f"input[name='{name}'][value='{given[item]}']")
        p.click("button[type=submit]")
        p.wait_for_load_state()
        page += 1
    views = _read(p, pages, "views")
    assert f"Why did you answer some of the principles with {SAID}?" in views
    for area in p.query_selector_all("textarea"):
        area.fill("A written answer.")
    p.click("button[type=submit]")
    p.wait_for_url("**/done")
    _read(p, pages, "done")
    return pages, given


def test_the_ward_survey_in_chromium_in_its_own_words(tmp_path: Path, browser: Browser) -> None:
    db = str(tmp_path / "survey.db")
    port = load.free_port()
    args = ["--instrument", str(WARD_PATH), "--min-form-seconds", "0", "--quota", "2"]
    args += ["--admin-token", TOKEN, *load.NO_HOLD_LIMITS]
    proc = load.start_server(db, port, *args, log=tmp_path / "server.log")
    context = browser.new_context(java_script_enabled=False)
    try:
        p = context.new_page()
        pages, given = _walk(p, port)
        p.goto(f"http://127.0.0.1:{port}/admin")
        p.fill("#token", TOKEN)
        p.click("button[type=submit]")
        p.wait_for_url("**/admin")
        assert "Quota: 2 per cell of Persona × Domain." in _read(p, pages, "admin")
    finally:
        context.close()
        proc.terminate()
        proc.wait()
    assert all("Principles for AI systems" in text for text in pages.values())
    out = tmp_path / "people.csv"
    command = [sys.executable, "-m", "valuecompass.cli", "survey", "export", "--db", db]
    done = subprocess.run([*command, "--out", str(out)], capture_output=True, text=True,
                          env=os.environ, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert set(table["persona"]) == {"retiree"} and len(table) == len(WARD.item_ids)
    for row in table.itertuples():
        assert row.raw == given[row.value]
        assert row.missing == (row.raw if row.raw in ("dk", "na") else "")
    assert {"dk", "na"} <= set(table["missing"])
