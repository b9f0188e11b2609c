"""The report: the five released models' report builds, parses, holds every figure and table,
matches the alignment numbers, renders in a real browser; bad input leaves nothing behind."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from valuecompass import align, build_report, load_source
from valuecompass.answers import write_csv
from valuecompass.cli import main
from valuecompass.instrument import Instrument, instrument_digest
from valuecompass.report import ReportError, ReportResult, parse_llm_option

MODELS = (
    "deepseek-r1-distill-llama-70b",
    "openai_o3-mini",
    "gpt-4o-mini",
    "llama3-70b-8192",
    "gemma2-9b-it",
)
ARTIFACTS = Path(__file__).parent / "artifacts"


class _Page(HTMLParser):
    """Collects what the checks need: element ids by tag, external references, text."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: dict[str, list[str]] = {}
        self.external: list[str] = []
        self.tags: Counter[str] = Counter()
        self.stack: list[str] = []
        self.figure_svgs: Counter[str] = Counter()
        self.all_ids: Counter[str] = Counter()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags[tag] += 1
        if found.get("id"):
            self.ids.setdefault(tag, []).append(str(found["id"]))
            self.all_ids[str(found["id"])] += 1
        for name in ("src", "href"):
            value = found.get(name) or ""
            if value.startswith(("http:", "https:", "//")) and tag != "svg":
                self.external.append(f"<{tag} {name}={value}>")
        if tag == "svg" and self.stack:
            self.figure_svgs[self.stack[-1]] += 1
        if tag == "figure":
            self.stack.append(str(found.get("id")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "figure" and self.stack:
            self.stack.pop()


@dataclass(frozen=True)
class Built:
    result: ReportResult
    html: str
    page: _Page


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


@pytest.fixture(scope="module")
def five(released: Path, tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The report of the paper's five models against its people, built once."""
    out = tmp_path_factory.mktemp("report") / "report.html"
    llms = [(m, released / "llm_outputs" / m) for m in MODELS]
    result = build_report(released, llms, out, command="pytest five-model report")
    html = out.read_text(encoding="utf-8")
    return Built(result, html, _parse(html))


def _figure_ids(page: _Page, prefix: str) -> list[str]:
    return [i for i in page.ids.get("figure", []) if i.startswith(f"fig-{prefix}")]


def test_report_has_every_section_figure_and_table(five: Built) -> None:
    page = five.page
    assert page.ids["section"] == ["overview", "rates", "heatmaps", "rankings", "types",
                                   "reproduction", "rigor", "science", "provenance"]  # fmt: skip
    # 2 heatmap figures (countries, scenarios) × 5 models, each with 3 panels: people, model,
    # distance; the same for rankings; one figure of types per model; one top-10 figure.
    assert len(_figure_ids(page, "heatmap-country-")) == 5
    assert len(_figure_ids(page, "heatmap-scenario-")) == 5
    assert len(_figure_ids(page, "ranking-country-")) == 5
    assert len(_figure_ids(page, "ranking-scenario-")) == 5
    assert len(_figure_ids(page, "types-")) == 5
    assert _figure_ids(page, "top-misaligned") == ["fig-top-misaligned"]
    figures = page.ids["figure"]
    assert _figure_ids(page, "science-") == ["fig-science-mds", "fig-science-steer"]
    assert len(figures) == 28 == len(five.result.figures) // 2
    assert all(page.figure_svgs[f] == 1 for f in figures), "every figure holds one inline SVG"
    tables = {t.removeprefix("tab-") for t in page.ids["table"]}
    assert tables == {
        "sources", "respondents", "exclusions", "parsing", "missing", "overall", "ties",
        "f1-country", "distance-country", "f1-scenario", "distance-scenario", "top-misaligned",
        "f1-type", "distance-type", "provenance", "rigor-overall", "rigor-country",
        "rigor-sensitivity", "rigor-significance", "rigor-irrelevant",
        "reproduction-table-2", "reproduction-designs", "science-both-ways",
        "science-gaps", "science-reliability", "science-structure", "science-steer",
    }  # fmt: skip
    assert [i for i, n in page.all_ids.items() if n > 1] == [], "ids must be unique"
    assert page.external == [], "the report must not fetch anything"
    assert page.tags["script"] == 0 and page.tags["link"] == 0 and page.tags["img"] == 0


def test_reproduction_section(five: Built) -> None:
    from test_released import TABLE_2
    from test_repro import EXCLUDED_F1

    table = pd.read_csv(five.result.files_dir / "reproduction-table-2.csv")
    assert table["version"].unique().tolist() == [
        "published", "recomputed, everyone", "without the 18 excluded",
    ]  # fmt: skip
    rows = table.set_index(["model", "version"])
    for model in MODELS:
        published = rows.loc[(model, "published")].to_numpy(float)
        assert published.tolist() == list(TABLE_2[model])
        recomputed = rows.loc[(model, "recomputed, everyone")].to_numpy(float)
        np.testing.assert_allclose(recomputed, published, atol=0.0015)
        excluded = rows.loc[(model, "without the 18 excluded"), "average"]
        assert excluded == pytest.approx(EXCLUDED_F1[model], abs=0.0015)
    designs = pd.read_csv(five.result.files_dir / "reproduction-designs.csv")
    assert designs["design"].eq("the authors' (released data)").all()
    assert "full 2 × 2 × 2" in designs["notes"].iloc[0]
    assert "failed 1 of 3 attention checks" in five.html
    assert "as the paper's Eq. 2 defines them" in five.html


def test_heatmaps_share_one_scale_and_name_every_value(five: Built, form: Instrument) -> None:
    svg = (five.result.files_dir / "heatmap-country-gpt-4o-mini.svg").read_text()
    for panel in ("(A) People", "(B) Model", "(C) Distance"):
        assert panel in svg
    for value in form.items:
        assert f">{value.name.replace('&', '&amp;')}</text>" in svg, value.name
    for country in form.axis("country").levels:
        assert country.name in svg
    # One colour bar, the same ticks on every heatmap: 0 agree, 0.5 threshold, 1 disagree.
    for name in ("heatmap-scenario-gemma2-9b-it.svg", "types-openai_o3-mini.svg"):
        other = (five.result.files_dir / name).read_text()
        assert "0 strongly agree" in other and "1 strongly disagree" in other


def test_files_beside_the_html(five: Built) -> None:
    from matplotlib.image import imread

    files = five.result.files_dir
    assert files == five.result.html.with_name("report_files")
    for figure in five.page.ids["figure"]:
        stem = figure.removeprefix("fig-")
        png, svg = files / f"{stem}.png", files / f"{stem}.svg"
        assert svg.read_text().lstrip().startswith("<?xml")
        pixels = imread(png)
        assert pixels.shape[0] > 200 and pixels.shape[1] > 400, png.name
        assert pixels.std() > 0.05, f"{png.name} looks blank"
    for table in five.page.ids["table"]:
        frame = pd.read_csv(files / f"{table.removeprefix('tab-')}.csv")
        assert len(frame) > 0, table
    assert (files / "provenance.json").is_file()
    assert all(p.is_file() for p in five.result.paths)
    leftovers = [p.name for p in five.result.html.parent.iterdir()]
    assert sorted(leftovers) == ["report.html", "report_files"]


def test_rate_tables_match_the_alignment(five: Built, released: Path, form: Instrument) -> None:
    people, _ = load_source(released, form, "humans")
    f1 = pd.read_csv(five.result.files_dir / "f1-country.csv").set_index("model")
    distance = pd.read_csv(five.result.files_dir / "distance-scenario.csv").set_index("model")
    for model in MODELS:
        answers, _ = load_source(released / "llm_outputs" / model, form, "llm")
        alignment = align(people, answers, form)
        by_country = alignment.by("country").set_index("country")
        for country, row in by_country.iterrows():
            assert f1.loc[model, country] == pytest.approx(row["f1"], abs=1e-12)
        assert f1.loc[model, "average"] == pytest.approx(by_country["f1"].mean(), abs=1e-12)
        by_topic = alignment.by("scenario").set_index("scenario")
        for topic, row in by_topic.iterrows():
            assert distance.loc[model, topic] == pytest.approx(row["distance"], abs=1e-12)
    # The paper's Table 2: Deepseek-r1 averages 0.529, GPT-4o-mini 0.405, Gemma2 0.516.
    assert f1.loc["deepseek-r1-distill-llama-70b", "average"] == pytest.approx(0.529, abs=5e-4)
    assert f1.loc["gpt-4o-mini", "average"] == pytest.approx(0.405, abs=5e-4)
    assert f1.loc["gemma2-9b-it", "average"] == pytest.approx(0.516, abs=5e-4)


def test_overview_counts_and_provenance(five: Built, form: Instrument) -> None:
    files = five.result.files_dir
    sources = pd.read_csv(files / "sources.csv").set_index("name")
    assert sources.loc["people", "respondents"] == 112
    assert sources.loc["people", "answers"] == 6272
    assert (sources.loc[list(MODELS), "shared_contexts"] == 28).all()
    parsing = pd.read_csv(files / "parsing.csv").set_index("model")
    # Deepseek's two portrait variants 6 and 7 each lost 56 answers to errors.
    assert parsing.loc["deepseek-r1-distill-llama-70b", "variant_6"] == pytest.approx(1 - 56 / 1568)
    assert parsing.loc["deepseek-r1-distill-llama-70b", "missing"] == 112
    provenance = pd.read_csv(files / "provenance.csv").set_index("item")["value"]
    assert provenance["instrument digest (SHA-256)"] == instrument_digest(form)
    assert provenance["command"] == "pytest five-model report"
    assert "What the numbers mean" in five.html and "Alignment rate (F1)" in five.html


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_llm_alone_gives_the_value_profile(released: Path, tmp_path: Path) -> None:
    out = tmp_path / "profile.html"
    llm = released / "llm_outputs"
    code, stdout, stderr = _run(
        "report", "--llm", str(llm / "gpt-4o-mini"), "--llm", f"gemma={llm / 'gemma2-9b-it'}",
        "--out", str(out), "--jobs", "1",
    )  # fmt: skip
    assert code == 0, stderr
    assert "wrote" in stdout
    page = _parse(out.read_text(encoding="utf-8"))
    assert page.ids["section"] == ["overview", "profile", "provenance"]
    assert page.ids["figure"] == ["fig-profile-gpt-4o-mini", "fig-profile-gemma"]
    tables = {t.removeprefix("tab-") for t in page.ids["table"]}
    assert {"sources", "parsing", "missing", "profile-types", "profile-extremes"} <= tables
    assert "respondents" not in tables and "f1-country" not in tables
    parsing = pd.read_csv(tmp_path / "profile_files" / "parsing.csv").set_index("model")
    assert parsing.loc["gemma", "missing"] == 27
    command = pd.read_csv(tmp_path / "profile_files" / "provenance.csv").set_index("item")
    assert command.loc["command", "value"].startswith("valuecompass report --llm ")


def _nothing_left(folder: Path) -> None:
    assert list(folder.iterdir()) == [], f"left behind: {list(folder.iterdir())}"


def test_duplicate_model_name_is_refused(released: Path, tmp_path: Path) -> None:
    llm = released / "llm_outputs"
    out = tmp_path / "r.html"
    code, _, stderr = _run(
        "report", "--humans", str(released), "--llm", str(llm / "gpt-4o-mini"),
        "--llm", f"gpt-4o-mini={llm / 'gemma2-9b-it'}", "--out", str(out),
    )  # fmt: skip
    assert code == 2
    assert "used more than once: 'gpt-4o-mini'" in stderr
    _nothing_left(tmp_path)


def test_source_without_shared_context_is_refused(
    released: Path, tmp_path: Path, form: Instrument
) -> None:
    people = tmp_path / "people"
    people.mkdir()
    shutil.copy(released / "humans" / "human_S1_Collaborative_Writing.csv", people)
    answers, _ = load_source(released / "llm_outputs" / "gpt-4o-mini", form, "llm")
    model_csv = tmp_path / "healthcare.csv"
    write_csv(answers[answers["scenario"] == "healthcare"], model_csv, ["country", "scenario"])
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, _, stderr = _run(
        "report", "--humans", str(people), "--llm", f"hc={model_csv}",
        "--out", str(out_dir / "r.html"),
    )  # fmt: skip
    assert code == 2
    assert "model 'hc'" in stderr and "share no context" in stderr
    _nothing_left(out_dir)


@pytest.mark.parametrize("where", ["under-a-file", "a-folder"])
def test_unwritable_output_is_refused(released: Path, tmp_path: Path, where: str) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    out = {"under-a-file": blocker / "r.html", "a-folder": tmp_path}[where]
    llm = released / "llm_outputs" / "gpt-4o-mini"
    code, _, stderr = _run("report", "--llm", str(llm), "--out", str(out))
    assert code == 2
    assert "cannot write the report" in stderr
    assert [p.name for p in tmp_path.iterdir()] == ["file.txt"]


@pytest.mark.parametrize("theirs", ["page", "folder"])
def test_a_file_or_folder_not_ours_is_never_written(
    released: Path, tmp_path: Path, theirs: str
) -> None:
    """A report replaces an earlier report; a page or a files folder of the user's at the
    output path is refused in one line and left as it was."""
    page, folder = tmp_path / "r.html", tmp_path / "r_files"
    if theirs == "page":
        page.write_text("<html>my own notes</html>")
    else:
        folder.mkdir()
        (folder / "mine.txt").write_text("keep me")
    before = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    llm = released / "llm_outputs" / "gpt-4o-mini"
    code, _, stderr = _run("report", "--llm", str(llm), "--out", str(page))
    assert code == 2
    assert "not a ValueCompass report" in stderr or "not a report's" in stderr
    assert len(stderr.strip().splitlines()) == 1
    after = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before
    # a report of ours at the same place is replaced
    (page.unlink() if theirs == "page" else shutil.rmtree(folder))
    assert _run("report", "--llm", str(llm), "--out", str(page))[0] == 0
    assert _run("report", "--llm", str(llm), "--out", str(page))[0] == 0


class _FailingSpec:
    """A figure that fails while being drawn, after other files are written."""

    def build(self) -> Any:
        raise RuntimeError("a figure failed")


class _Broken:
    """A section whose figure fails to draw."""

    id = "broken"
    title = "Broken"
    template = "sections/overview.html.j2"

    def applies(self, data: Any) -> bool:
        return True

    def build(self, data: Any, assets: Any) -> dict[str, Any]:
        assets.figure("zz-broken", "Broken", "It fails.", _FailingSpec())
        return {}


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_failed_build_leaves_the_previous_report(
    released: Path, tmp_path: Path, jobs: int
) -> None:
    from valuecompass.report._sections import DEFAULT_SECTIONS

    out = tmp_path / "r.html"
    llm = [("gpt", released / "llm_outputs" / "gpt-4o-mini")]
    first = build_report(None, llm, out, jobs=1)
    before = {p.name: p.read_bytes() for p in [out, *first.files_dir.iterdir()]}
    with pytest.raises(RuntimeError, match="a figure failed"):
        build_report(None, llm, out, sections=[*DEFAULT_SECTIONS, _Broken()], jobs=jobs)
    after = {p.name: p.read_bytes() for p in [out, *first.files_dir.iterdir()]}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html", "r_files"]


def test_missing_folders_are_made_and_taken_back_on_failure(released: Path, tmp_path: Path) -> None:
    """Issue 22, item 14: ``--out DIR/report.html`` into a folder that did not exist failed.
    Now the folders are made; a build that fails removes the ones it made (nothing else)."""
    from valuecompass.report._sections import DEFAULT_SECTIONS

    llm = [("gpt", released / "llm_outputs" / "gpt-4o-mini")]
    with pytest.raises(RuntimeError, match="a figure failed"):
        build_report(None, llm, tmp_path / "a" / "b" / "r.html", sections=[*DEFAULT_SECTIONS,
                     _Broken()], jobs=1)  # fmt: skip
    assert list(tmp_path.iterdir()) == []
    code, _, stderr = _run(
        "report", "--llm", str(llm[0][1]), "--out", str(tmp_path / "a" / "b" / "r.html")
    )
    assert code == 0, stderr
    assert sorted(p.name for p in (tmp_path / "a" / "b").iterdir()) == ["r.html", "r_files"]


def test_python_api_errors(released: Path, tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="at least one"):
        build_report(released, [], tmp_path / "r.html")
    with pytest.raises(ReportError, match="model 'x'"):
        build_report(None, [("x", tmp_path / "absent")], tmp_path / "r.html")
    _nothing_left(tmp_path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gpt=runs/gpt", ("gpt", "runs/gpt")),
        ("data/llm_outputs/gpt-4o-mini", ("gpt-4o-mini", "data/llm_outputs/gpt-4o-mini")),
        ("data/llm_outputs/gpt-4o-mini/", ("gpt-4o-mini", "data/llm_outputs/gpt-4o-mini/")),
        ("answers.csv", ("answers", "answers.csv")),
        ("runs/llama-3.1-8b", ("llama-3.1-8b", "runs/llama-3.1-8b")),
        ("valuecompass.db#bundled-item", ("bundled-item", "valuecompass.db#bundled-item")),
        ("postgresql://h/db?ssl=1#run", ("run", "postgresql://h/db?ssl=1#run")),
        ("pg=postgresql://h/db?ssl=1#run", ("pg", "postgresql://h/db?ssl=1#run")),
    ],
)
def test_parse_llm_option(text: str, expected: tuple[str, str]) -> None:
    assert parse_llm_option(text) == expected


def test_import_stays_light() -> None:
    code = (
        "import sys, valuecompass; "
        "heavy = [m for m in ('matplotlib', 'jinja2') if m in sys.modules]; "
        "assert not heavy, heavy; assert callable(valuecompass.build_report)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.slow
def test_a_real_browser_renders_the_report(five: Built) -> None:
    from matplotlib.image import imread
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("request", lambda r: requests.append(r.url))
            page.goto(five.result.html.as_uri())
            widths = page.eval_on_selector_all(
                "figure.chart svg", "els => els.map(e => e.getBoundingClientRect().width)"
            )
            headings = page.eval_on_selector_all("h2", "els => els.map(e => e.innerText)")
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    assert len(widths) == 28 and min(widths) > 300
    assert headings[0] == "1. Overview" and len(headings) == 9
    assert "6. Reproducing the paper" in headings
    pixels = imread(shot)
    assert pixels.shape[0] > 10_000, "the full page should be captured"
    assert pixels.std() > 0.1, "the screenshot is blank"
    sample = (pixels[::4, ::4, :3] * 255).astype(np.int64)
    colours = np.unique(sample[..., 0] << 16 | sample[..., 1] << 8 | sample[..., 2])
    assert colours.size > 1000, f"only {colours.size} colours: the figures did not render"
