"""The authors' prompt design (``--prompts paper``) and the factor levels answers carry."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from valuecompass import answers as ans
from valuecompass.api import align_sources
from valuecompass.cli import main
from valuecompass.instrument import Instrument, load_instrument
from valuecompass.prompts import PromptError, load_prompts, render
from valuecompass.runner import RunConfig, run_model
from valuecompass.runner._config import prompts_digest
from valuecompass.sources import released_levels
from valuecompass.stats import factor_table, prompt_sensitivity, variant_factors

BUNDLED = Path(__file__).parents[1] / "src/valuecompass/prompts/data"

# The authors' generate_prompt, index by index (README of the released data; eval_llms/):
# bit 0 = layout (values or options first), bit 1 = style, bit 2 = requirement.
RELEASED = {
    0: ("values_first", "svs", "plain"),
    1: ("options_first", "svs", "plain"),
    2: ("values_first", "pvq", "plain"),
    3: ("options_first", "pvq", "plain"),
    4: ("values_first", "svs", "cue"),
    5: ("options_first", "svs", "cue"),
    6: ("values_first", "pvq", "cue"),
    7: ("options_first", "pvq", "cue"),
}


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_released_variant_levels_are_pinned() -> None:
    levels = released_levels()
    for index, (layout, style, requirement) in RELEASED.items():
        assert levels[index] == {
            "framing": "context",
            "style": style,
            "requirement": requirement,
            "order": "forward",
            "layout": layout,
        }, index
    table = factor_table(levels)
    # what varied: a full 2^3 over layout, style and requirement; framing and order never did
    assert sorted(table.columns) == ["layout", "requirement", "style"]
    assert table.groupby(list(table.columns)).size().tolist() == [1] * 8


def test_paper_design_has_the_released_levels() -> None:
    paper = load_prompts("paper", load_instrument())
    assert paper.levels() == released_levels()
    pd.testing.assert_frame_equal(variant_factors(paper), factor_table(released_levels()))
    by_path = load_prompts(BUNDLED / "paper.yaml", load_instrument())
    assert by_path == paper  # by path as well as by name


def test_paper_prompts_follow_the_authors_structure(form: Instrument) -> None:
    paper = load_prompts("paper", load_instrument())

    def user(index: int) -> tuple[str, list[dict[str, str]], str]:
        [p] = render(form, paper, "india", "healthcare", paper.variant(index), "all")
        return p.user, p.messages(), p.scale

    text, messages, scale = user(0)
    assert messages == [{"role": "user", "content": text}]  # one user message, no system
    assert scale == "agreement" and "1: strongly agree" in text
    assert "Equality: equal opportunity for all." in text  # an SVS line, no bullet
    assert "\n- " not in text
    assert text.index("Equality:") < text.index("Options:")  # values before the options
    assert "India" in text and "doctor" in text
    assert not text.rstrip().endswith("Your answer:")
    options_first, _, _ = user(1)
    assert options_first.index("Options:") < options_first.index("Equality:")
    portrait, _, scale = user(2)
    assert scale == "portrait" and "1: very much like me" in portrait
    equality = form.item("equality")
    assert f"Equality: {equality.wordings['pvq']}" in portrait
    # the context is never varied: the portrait variants still ask how strongly it agrees
    assert portrait.split("\n\n")[:2] == text.split("\n\n")[:2]
    for index in (4, 5, 6, 7):
        assert user(index)[0].rstrip().endswith("Your answer:"), index
    # item mode renders too, one prompt per value
    items = render(form, paper, "india", "healthcare", paper.variant(7), "item")
    assert len(items) == 56 and items[0].user.rstrip().endswith("Your answer:")


def test_default_design_digest_is_unchanged() -> None:
    # The schema grew (layouts, a variant's layout, a style's bullet); runs made before keep
    # their identity because fields left at their defaults stay out of the digest.
    digest = "6120f250a8b072c7952b6ce4ed323907ccf66ffdb3af207151326a215451aed1"
    assert prompts_digest(load_prompts(None, load_instrument())) == digest
    assert prompts_digest(load_prompts("default", load_instrument())) == digest
    assert prompts_digest(load_prompts("paper", load_instrument())) != digest


def test_layout_errors_name_the_variant(tmp_path: Path) -> None:
    text = (BUNDLED / "paper.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("layout: options_first}", "layout: sideways}", 1))
    with pytest.raises(PromptError, match="variant 1: layout 'sideways' is not defined"):
        load_prompts(bad, load_instrument())
    bad.write_text(text.replace(", layout: values_first}", "}", 1))
    with pytest.raises(PromptError, match="variant 0 names no layout"):
        load_prompts(bad, load_instrument())
    bad.write_text(text.replace("    item: |-\n      {framing}", "    item: |-\n      {frame}", 1))
    with pytest.raises(PromptError, match=r"layouts\.values_first\.item.*\{frame\}"):
        load_prompts(bad, load_instrument())
    with pytest.raises(PromptError, match="bundled designs: default, paper"):
        load_prompts(tmp_path / "papr", load_instrument())


def test_a_file_named_like_a_bundled_design_wins(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    text = (BUNDLED / "paper.yaml").read_text().replace('version: "1"', 'version: "mine"')
    Path("paper").write_text(text)
    assert load_prompts("paper", load_instrument()).version == "mine"


# --- sensitivity reads the answers' own levels -------------------------------------------


def test_released_sensitivity_names_what_varied(released: Path) -> None:
    result = align_sources(released, released / "llm_outputs" / "gpt-4o-mini")
    assert result.llm.variant_levels == released_levels()
    factors = factor_table(result.llm.variant_levels)
    s = prompt_sensitivity(result.alignment, result.model_answers, factors)
    shares = s.variance.set_index("factor")["share"]
    assert set(shares.index) == {"layout", "style", "requirement", "other"}
    # The old reading (our default design's table) called the layout share "framing" 0.160
    # and the layout × requirement interaction "order" 0.139; the main effects are these.
    assert shares["layout"] == pytest.approx(0.160, abs=0.0005)
    assert shares["style"] == pytest.approx(0.183, abs=0.0005)
    assert shares["requirement"] == pytest.approx(0.133, abs=0.0005)
    assert {"framing_flip_rate", "order_flip_rate"}.isdisjoint(s.flips.columns)
    assert "layout_flip_rate" in s.flips.columns


def test_rigor_sensitivity_cli_reads_the_levels(released: Path, tmp_path: Path) -> None:
    llm = released / "llm_outputs" / "gpt-4o-mini"
    code, out, err = _run(
        "rigor", "sensitivity", "--humans", str(released), "--llm", str(llm),
        "--view", "factors", "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    factors = {row["factor"] for row in json.loads(out)["rows"]}
    assert factors == {"layout", "style", "requirement", "other"}
    # a tidy CSV does not say which design its answers came from: refused, then named
    answers = align_sources(released, llm).model_answers
    assert answers is not None
    tidy = tmp_path / "gpt.csv"
    ans.write_csv(answers, tidy, ["country", "scenario"])
    args = ["rigor", "sensitivity", "--humans", str(released), "--llm", str(tidy)]
    code, _, err = _run(*args, "--view", "factors")
    last = err.strip().splitlines()[-1]
    assert code == 2 and last.startswith("error: ") and "--prompts" in last
    code, out, err = _run(*args, "--view", "factors", "--prompts", "paper", "--format", "json")
    assert code == 0, err
    assert {row["factor"] for row in json.loads(out)["rows"]} == factors
    # a --prompts that contradicts what the answers carry is refused
    code, _, err = _run(
        "rigor", "sensitivity", "--humans", str(released), "--llm", str(llm),
        "--view", "factors", "--prompts", "default",
    )  # fmt: skip
    assert code == 2 and "carry other factor levels" in err
    code, out, _ = _run(*args, "--view", "variants", "--format", "json")  # needs no levels
    assert code == 0 and len(json.loads(out)["rows"]) == 8


def test_a_run_with_the_paper_design_carries_its_levels(tmp_path: Path, released: Path) -> None:
    db = tmp_path / "runs.db"
    config = RunConfig(
        model="mock", db=str(db), mode="all", countries=["India", "France"],
        scenarios=["healthcare"], prompts_path=Path("paper"), progress=False,
    )  # fmt: skip
    summary = run_model(config)
    assert summary.failed == 0
    result = align_sources(released, str(db))
    assert result.llm.variant_levels == load_prompts("paper", load_instrument()).levels()
    code, out, err = _run(
        "rigor", "sensitivity", "--humans", str(released), "--llm", str(db),
        "--view", "flips", "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    row = json.loads(out)["rows"][0]
    assert "layout_flip_rate" in row and "framing_flip_rate" not in row
    code, _, err = _run(
        "rigor", "sensitivity", "--humans", str(released), "--llm", str(db),
        "--view", "factors", "--prompts", "default",
    )  # fmt: skip
    assert code == 2 and "not the design run" in err
