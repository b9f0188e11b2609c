"""The odd instrument (axes region, setting, tone; a 7-point letter scale with no neutral point)
served by a real ``survey serve``: one participant in real Chromium through every page, seven
more by the load driver, the quota balancing setting x tone within the region, and the export
giving each participant's region, setting, tone and answers. Screenshots of every page go to
``tests/artifacts/survey-odd/``.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import Browser, Page

from _survey_support import TOKEN
from valuecompass.instrument import load_instrument
from valuecompass.survey import load_content
from valuecompass.testing import survey_load as load

ODD_PATH = Path(__file__).parent / "data" / "odd_instrument.yaml"
ODD = load_instrument(ODD_PATH)
ARTIFACTS = Path(__file__).parent / "artifacts" / "survey-odd"
LETTERS = {"a", "b", "c", "d", "e", "f", "g"}

pytestmark = pytest.mark.slow


def _shot(page: Page, paths: list[Path], name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"odd-{len(paths) + 1:02d}-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    paths.append(path)


def _context_shown(p: Page) -> dict[str, str]:
    """The participant's further axes as the page lists them: axis name -> level."""
    names = p.eval_on_selector_all("dl.context dt", "els => els.map(e => e.textContent.trim())")
    levels = p.eval_on_selector_all("dl.context dd", "els => els.map(e => e.textContent.trim())")
    return dict(zip(names, levels, strict=True))


def _statements(p: Page, expect: dict[str, str], paths: list[Path]) -> dict[str, str]:
    """Answer every statement page on the letter scale; returns item -> code given."""
    given: dict[str, str] = {}
    page = 1
    while True:
        p.wait_for_url(f"**/page/{page}")
        assert _context_shown(p).keys() == {"Tone"}  # the reminder carries the whole context
        names = p.eval_on_selector_all("input[type=radio][required]", "els => els.map(e => e.name)")
        for name in names:
            codes = p.eval_on_selector_all(f"input[name='{name}']", "els => els.map(e => e.value)")
            assert set(codes) == {*LETTERS, "skip"}  # 7 letters, no neutral point, and skip
            item = name.removeprefix("r_")
            given[item] = expect.get(item, sorted(LETTERS)[len(given) % 7])
            p.check(f"input[name='{name}'][value='{given[item]}']")
        _shot(p, paths, f"page-{page}")
        p.click("button[type=submit]")
        p.wait_for_load_state()
        if p.url.endswith("/open"):
            return given
        page += 1


def _walk(p: Page, port: int, expect: dict[str, str], paths: list[Path]) -> dict[str, str]:
    """One participant from the study link to the end, in region 'north'."""
    p.goto(f"http://127.0.0.1:{port}/?PROLIFIC_PID=60d1f00000000000000000cc")
    _shot(p, paths, "consent")
    p.check("#consent")
    p.click("button[type=submit]")
    p.wait_for_url("**/demographics")
    regions = p.eval_on_selector_all("#country option", "els => els.map(e => e.textContent)")
    assert "the North" in regions and "the South" in regions
    p.select_option("#country", "north")
    p.select_option("#age_band", index=2)
    _shot(p, paths, "demographics")
    p.click("button[type=submit]")
    p.wait_for_url("**/vignette")
    shown = _context_shown(p)
    assert shown.keys() == {"Tone"} and shown["Tone"] in {"formal", "casual"}
    vignette = p.inner_text("p.vignette")
    assert vignette in {"A small shop hires a helper.", "A farm hires a helper."}
    _shot(p, paths, "vignette")
    p.click("button[type=submit]")
    given = _statements(p, expect, paths)
    assert _context_shown(p) == shown  # the open questions' page too
    for area in p.query_selector_all("textarea"):
        area.fill("A written answer.")
    _shot(p, paths, "open-questions")
    p.click("button[type=submit]")
    p.wait_for_url("**/done")
    _shot(p, paths, "done")
    return {**given, "_tone": shown["Tone"], "_vignette": vignette}


def _admin(p: Page, port: int, paths: list[Path]) -> str:
    p.goto(f"http://127.0.0.1:{port}/admin")
    p.fill("#token", TOKEN)
    p.click("button[type=submit]")
    p.wait_for_url("**/admin")
    _shot(p, paths, "admin")
    return p.inner_text("main")


def _export(db: str, tmp_path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    answers, people = tmp_path / "answers.csv", tmp_path / "people.csv"
    command = [sys.executable, "-m", "valuecompass.cli", "survey", "export", "--db", db]
    command += ["--instrument", str(ODD_PATH), "--out", str(answers)]
    command += ["--participants", str(people)]
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ, timeout=120)
    assert done.returncode == 0, done.stderr
    return pd.read_csv(answers, dtype=str), pd.read_csv(people, dtype=str)


def test_the_odd_instrument_in_chromium_and_by_the_load_driver(
    tmp_path: Path, browser: Browser
) -> None:
    db = str(tmp_path / "survey.db")
    port = load.free_port()
    args = ["--instrument", str(ODD_PATH), "--min-form-seconds", "0", "--quota", "2"]
    args += ["--admin-token", TOKEN, "--items-per-page", "5", *load.NO_HOLD_LIMITS]
    proc = load.start_server(db, port, *args, log=tmp_path / "server.log")
    expect = {c.id: c.expected(ODD.people_scale) for c in load_content().attention_checks}
    paths: list[Path] = []
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    try:
        p = context.new_page()
        walked = _walk(p, port, expect, paths)

        async def others() -> list[str]:  # 7 more in the North, one at a time
            return [
                await load.take_part(
                    port, load.prolific_id("odd", i), "north", instrument=ODD, salt=i
                )
                for i in range(7)
            ]

        with ThreadPoolExecutor(1) as pool:  # Playwright's loop runs in this thread
            assert pool.submit(asyncio.run, others()).result() == ["/done"] * 7
        admin = _admin(p, port, paths)
    finally:
        context.close()
        proc.terminate()
        proc.wait()
    assert walked["_tone"] in {"formal", "casual"}
    for heading in ("Shop · formal", "Shop · casual", "Farm · formal", "Farm · casual"):
        assert heading in admin
    assert "Quota: 2 per cell of Region × Setting × Tone." in admin
    answers, people = _export(db, tmp_path)
    # 8 participants in the North, quota 2 per cell: setting x tone balanced, 2 in each
    done = people[people["step"] == "done"]
    assert len(done) == 8 and set(done["region"]) == {"north"}
    cells = Counter(zip(done["setting"], done["tone"], strict=True))
    assert cells == {(s, t): 2 for s in ("shop", "farm") for t in ("formal", "casual")}
    # the export: every participant's region, setting, tone and their 9 answers
    assert len(answers) == 8 * 9
    assert set(answers.columns) >= {"region", "setting", "tone", "value", "raw", "position"}
    assert set(answers["raw"]) <= {*LETTERS, "skip"}
    per_person = answers.groupby("respondent")[["region", "setting", "tone"]].nunique()
    assert (per_person == 1).all().all()
    mine = answers[answers["respondent"] == "survey-1"]
    assert dict(zip(mine["value"], mine["raw"], strict=True)) == {
        k: v for k, v in walked.items() if k in ODD.item_ids
    }
    assert set(mine["tone"]) == {walked["_tone"]}
    setting = "shop" if "shop" in walked["_vignette"] else "farm"
    assert set(mine["setting"]) == {setting}
    assert all(path.stat().st_size > 5000 for path in paths)
