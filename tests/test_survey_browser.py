"""A real browser takes the survey end to end: Debian's chromium, driven by Playwright.

The survey server runs as its own process on a free loopback port. A participant walks the
whole path on a desktop screen with JavaScript switched off (the pages must work without it),
and again on a phone-sized screen; a screenshot of every page is saved under
``tests/artifacts/survey/``. Along the way: labels on every control, the keyboard reaching and
ticking the consent box, text contrast of at least 4.5:1, no sideways scrolling on the phone.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from _survey_support import EXPECT, TOKEN
from valuecompass.store import open_store
from valuecompass.store import survey as store
from valuecompass.testing import survey_load as load

ARTIFACTS = Path(__file__).parent / "artifacts" / "survey"
COMPLETE = "https://app.prolific.com/submissions/complete?cc={code}"

#: Every visible control without a label, as the accessibility tree would find it.
UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(e => e.type !== 'hidden')
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
  .map(e => e.name)"""

#: The lowest contrast ratio between text and its background among the page's text elements.
CONTRAST = """() => {
  const rgb = s => s.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = c => { const [r, g, b] = c.map(v => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const bg = e => { for (; e; e = e.parentElement) { const c = getComputedStyle(e).backgroundColor;
    if (c && !c.startsWith('rgba(0, 0, 0, 0)') && c !== 'transparent') return rgb(c); }
    return [255, 255, 255]; };
  let worst = 21;
  const texts = 'p, li, label, legend, h1, h2, a, button, span, summary';
  for (const e of document.querySelectorAll(texts)) {
    if (!e.innerText || !e.innerText.trim()) continue;
    const a = lum(rgb(getComputedStyle(e).color)), b = lum(bg(e));
    worst = Math.min(worst, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05));
  }
  return worst;
}"""

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A survey server on loopback; yields (base URL, store path)."""
    db = str(tmp_path / "survey.db")
    port = load.free_port()
    args = ["--admin-token", TOKEN, "--completion-url", COMPLETE, "--min-form-seconds", "0"]
    proc = load.start_server(db, port, *args, log=tmp_path / "server.log")
    try:
        yield f"http://127.0.0.1:{port}", db
    finally:
        proc.terminate()
        proc.wait()


class Shots:
    """Numbered full-page screenshots, and the checks every page gets."""

    def __init__(self, page: Page, prefix: str, phone: bool = False) -> None:
        self.page = page
        self.prefix = prefix
        self.phone = phone
        self.count = 0
        self.paths: list[Path] = []

    def take(self, name: str) -> None:
        page = self.page
        assert page.evaluate(UNLABELLED) == [], f"{name}: controls without labels"
        contrast = page.evaluate(CONTRAST)
        assert contrast >= 4.5, f"{name}: text contrast {contrast:.2f}:1 is under 4.5:1"
        if self.phone:
            wide = page.evaluate("() => document.documentElement.scrollWidth > innerWidth")
            assert not wide, f"{name}: the page scrolls sideways on a phone"
        self.count += 1
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.prefix}{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.paths.append(path)


def _walk(page: Page, base: str, shots: Shots, pid: str) -> str:
    """The participant's whole path; returns the completion code shown."""
    p = page
    p.goto(f"{base}/?PROLIFIC_PID={pid}&STUDY_ID=study1&SESSION_ID=s1")
    assert p.locator("html").get_attribute("lang") == "en"
    shots.take("consent")
    p.focus("#consent")
    p.keyboard.press("Space")
    assert p.is_checked("#consent")
    p.keyboard.press("Tab")
    p.keyboard.press("Enter")
    p.wait_for_url("**/demographics")
    p.click("button[type=submit]")  # nothing chosen: the browser's own check stops it
    p.select_option("#country", "united_kingdom")
    p.select_option("#age_band", "35-44")
    p.fill("#gender", "<b>non-binary</b>")
    shots.take("demographics")
    p.click("button[type=submit]")
    p.wait_for_url("**/vignette")
    image = p.locator("figure.illustration img")
    assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    shots.take("vignette")
    p.click("button[type=submit]")
    _form_pages(p, shots)
    p.fill("#q_irrelevant_why", "Tradition has little to do with this.")
    p.fill("#q_ai_should_uphold", "Honesty & <fairness>, above all.")
    p.fill("#q_conflict", "The person should decide.")
    shots.take("open-questions")
    p.click("button[type=submit]")
    p.wait_for_url("**/done")
    shots.take("done")
    code: str = p.inner_text("#completion-code")
    link = p.get_attribute("a.button", "href")
    assert link == COMPLETE.replace("{code}", code)
    return code


def _form_pages(p: Page, shots: Shots) -> None:
    page = 1
    while True:
        p.wait_for_url(f"**/page/{page}")
        names = p.eval_on_selector_all(
            "input[type=radio][value='2']", "els => els.map(e => e.name)"
        )
        for i, name in enumerate(names):
            item = name.removeprefix("r_")
            code = EXPECT.get(item, ("2", "1", "0", "-1", "irrelevant")[i % 5])
            p.check(f"input[name='{name}'][value='{code}']")
        shots.take(f"values-page-{page}")
        p.click("button[type=submit]")
        p.wait_for_load_state()
        if p.url.endswith("/open"):
            return
        page += 1


def _stored(db: str) -> dict[str, object]:
    engine = open_store(db, create=False)
    try:
        return dict(store.participants_frame(engine).iloc[0])
    finally:
        engine.dispose()


def test_a_participant_takes_the_survey_without_javascript(
    server: tuple[str, str], browser: Browser
) -> None:
    base, db = server
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    try:
        page = context.new_page()
        shots = Shots(page, "")
        code = _walk(page, base, shots, "60d1f00000000000000000aa")
        page.goto(f"{base}/admin")
        page.fill("#token", TOKEN)
        page.click("button[type=submit]")
        page.wait_for_url("**/admin")
        assert "1 finished" in page.inner_text("main")
        assert "&lt;fairness&gt;" in page.content()  # typed text shown escaped
        shots.take("admin")
    finally:
        context.close()
    record = _stored(db)
    assert record["completion_code"] == code and record["step"] == "done"
    assert record["gender"] == "<b>non-binary</b>" and record["country"] == "united_kingdom"
    assert record["attention_failed"] == 0 and not record["excluded"]
    assert len(shots.paths) == 10 and all(p.stat().st_size > 5000 for p in shots.paths)


def test_a_participant_takes_the_survey_on_a_phone(
    server: tuple[str, str], browser: Browser
) -> None:
    base, db = server
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
        device_scale_factor=2,
    )  # fmt: skip
    try:
        page = context.new_page()
        shots = Shots(page, "phone-", phone=True)
        code = _walk(page, base, shots, "60d1f00000000000000000bb")
        targets = page.eval_on_selector_all(
            "a.button", "els => els.map(e => e.getBoundingClientRect().height)"
        )
        assert all(h >= 44 for h in targets), "touch targets under 44 px"
    finally:
        context.close()
    assert _stored(db)["completion_code"] == code


def test_the_server_binds_to_loopback_only(server: tuple[str, str]) -> None:
    base, _ = server
    port = base.rsplit(":", 1)[1]
    listening = subprocess.run(["ss", "-ltn"], capture_output=True, text=True).stdout
    lines = [line for line in listening.splitlines() if f":{port} " in line]
    assert lines and all("127.0.0.1:" in line for line in lines), lines
