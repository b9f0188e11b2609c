"""Real Chromium takes the survey for each new instrument, and the Value Form in German and
French; a full-page screenshot of every page goes to ``tests/artifacts/survey-i18n/``.

The walk reads everything from the page (the options each statement offers), so it has no
special case for any instrument; the attention checks are answered from the scale's ends.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from valuecompass.instrument import load_instrument
from valuecompass.store import open_store
from valuecompass.store import survey as store
from valuecompass.survey import load_content
from valuecompass.testing import survey_load as load

ARTIFACTS = Path(__file__).parent / "artifacts" / "survey-i18n"
#: (instrument, language, a word its statement pages show, the save button's label)
CASES = [
    ("schwartz_refined", "en", "Very much like me", "Save and continue"),
    ("moral_foundations", "en", "Describes extremely well", "Save and continue"),
    ("value_form_multilingual", "de", "Stimme voll und ganz zu", "Speichern und weiter"),
    ("value_form_multilingual", "fr", "Tout à fait d'accord", "Enregistrer et continuer"),
]

pytestmark = pytest.mark.slow


def _shot(page: Page, paths: list[Path], prefix: str, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{prefix}-{len(paths) + 1:02d}-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    paths.append(path)


def _statements(p: Page, expect: dict[str, str], paths: list[Path], prefix: str) -> int:
    """Answer every statement page; returns how many statements were shown."""
    shown, page = 0, 1
    while True:
        p.wait_for_url(f"**/page/{page}")
        names = p.eval_on_selector_all("input[type=radio][required]", "els => els.map(e => e.name)")
        for i, name in enumerate(names):
            codes = p.eval_on_selector_all(f"input[name='{name}']", "els => els.map(e => e.value)")
            code = expect.get(name.removeprefix("r_"), codes[(shown + i) % len(codes)])
            p.check(f"input[name='{name}'][value='{code}']")
        shown += len(names)
        _shot(p, paths, prefix, f"page-{page}")
        p.click("button[type=submit]")
        p.wait_for_load_state()
        if p.url.endswith("/open"):
            return shown
        page += 1


@pytest.mark.parametrize(("name", "lang", "label", "save"), CASES)
def test_the_survey_in_chromium(
    tmp_path: Path, browser: Browser, name: str, lang: str, label: str, save: str
) -> None:
    db = str(tmp_path / "survey.db")
    port = load.free_port()
    args = ["--instrument", name, "--min-form-seconds", "0"]
    proc = load.start_server(db, port, *args, log=tmp_path / "server.log")
    inst = load_instrument(name)
    expect = {c.id: c.expected(inst.people_scale) for c in load_content().attention_checks}
    paths: list[Path] = []
    prefix = f"{name}-{lang}"
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}, locale=lang
    )
    try:
        p = context.new_page()
        p.goto(f"http://127.0.0.1:{port}/?PROLIFIC_PID={load.prolific_id(lang)}&lang={lang}")
        assert p.locator("html").get_attribute("lang") == lang
        _shot(p, paths, prefix, "consent")
        p.check("#consent")
        p.click("button[type=submit]")
        p.wait_for_url("**/demographics")
        p.select_option("#country", "germany")
        p.select_option("#age_band", index=2)
        _shot(p, paths, prefix, "demographics")
        p.click("button[type=submit]")
        p.wait_for_url("**/vignette")
        assert p.locator("figure.illustration img").evaluate("i => i.naturalWidth > 0")
        _shot(p, paths, prefix, "vignette")
        p.click("button[type=submit]")
        p.wait_for_url("**/page/1")
        assert label in p.inner_text("main") and save in p.inner_text("main")
        shown = _statements(p, expect, paths, prefix)
        for area in p.query_selector_all("textarea"):
            area.fill("Eine Antwort." if lang == "de" else "A written answer.")
        _shot(p, paths, prefix, "open-questions")
        p.click("button[type=submit]")
        p.wait_for_url("**/done")
        _shot(p, paths, prefix, "done")
    finally:
        context.close()
        proc.terminate()
        proc.wait()
    assert shown == len(inst.items) + len(expect)
    engine = open_store(db, create=False)
    try:
        record = store.participants_frame(engine).iloc[0]
        table = store.human_answers(engine, inst)
    finally:
        engine.dispose()
    assert record["step"] == "done" and record["language"] == lang
    assert record["attention_failed"] == 0 and not record["excluded"]
    assert len(table) == len(inst.items)
    assert set(table["raw"]) <= {*inst.people_scale.codes, *inst.people_scale.missing_codes}
    assert all(path.stat().st_size > 5000 for path in paths)
