"""Prompt variants as data: the design, both modes, and errors that name what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from valuecompass.instrument import Instrument, load_instrument
from valuecompass.prompts import (
    PromptError,
    context_fields,
    load_prompts,
    read_prompts,
    render,
    render_context,
    render_grid,
)


def test_default_design_is_a_fractional_factorial() -> None:
    prompts = load_prompts(None, load_instrument())
    assert [v.index for v in prompts.variants] == list(range(8))
    portrait = {v.index for v in prompts.variants if v.style == "pvq"}
    assert portrait == {2, 3, 6, 7}  # as in the paper's released data
    # Every pair of factors is balanced: each combination of levels appears exactly twice.
    factors = ("framing", "style", "requirement", "order")
    for i, a in enumerate(factors):
        for b in factors[i + 1 :]:
            combos = [(getattr(v, a), getattr(v, b)) for v in prompts.variants]
            assert all(combos.count(c) == 2 for c in set(combos)), (a, b)


def test_form_prompt_lists_every_value_once(form: Instrument) -> None:
    prompts = load_prompts(None, load_instrument())
    [prompt] = render(form, prompts, "India", "healthcare", prompts.variant(0), "all")
    assert prompt.values == tuple(form.item_ids)
    assert prompt.scale == "agreement"
    for value in form.items:
        assert prompt.user.count(f"- {value.name}:") == 1
    assert "India" in prompt.user and "doctor" in prompt.user
    assert "1: strongly agree" in prompt.user


def test_reversed_order_reverses_values_and_options(form: Instrument) -> None:
    prompts = load_prompts(None, load_instrument())
    [fwd] = render(form, prompts, "UK", "education", prompts.variant(0), "all")
    [rev] = render(form, prompts, "UK", "education", prompts.variant(1), "all")
    assert rev.values == fwd.values[::-1]
    assert rev.user.index("4: strongly disagree") < rev.user.index("1: strongly agree")
    [pvq] = render(form, prompts, "UK", "education", prompts.variant(2), "all")
    assert pvq.scale == "portrait" and "1: very much like me" in pvq.user


def test_item_prompts_share_the_context_prefix(form: Instrument) -> None:
    prompts = load_prompts(None, load_instrument())
    items = render(form, prompts, "Germany", "public_sector", prompts.variant(5), "item")
    assert len(items) == 56 and all(len(p.values) == 1 for p in items)
    # Everything before the value is shared, so a model server evaluates it once.
    first, second = items[0].user, items[1].user
    prefix = first[: first.rindex("\n")]
    assert second.startswith(prefix) and first != second
    assert items[0].value == form.item_ids[0]


def test_grid_size(form: Instrument) -> None:
    prompts = load_prompts(None, load_instrument())
    contexts = [("india", "healthcare"), ("france", "education")]
    assert len(render_grid(form, prompts, contexts, "all")) == 2 * 8
    assert len(render_grid(form, prompts, contexts, "item", variants=[0, 3])) == 2 * 2 * 56


def _write_variant(tmp_path: Path, old: str, new: str) -> Path:
    bundled = Path(__file__).parents[1] / "src/valuecompass/prompts/data/prompts.yaml"
    text = bundled.read_text()
    assert old in text
    path = tmp_path / "prompts.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


def test_unknown_placeholder_is_named(tmp_path: Path) -> None:
    path = _write_variant(tmp_path, "Suppose you are from {country}.", "Suppose {nation}.")
    with pytest.raises(PromptError, match=r"framings\.a.*\{nation\}"):
        load_prompts(path, load_instrument())


def test_unknown_level_and_extra_field_are_refused_with_line(tmp_path: Path) -> None:
    path = _write_variant(tmp_path, "{index: 0, framing: a,", "{index: 0, framing: z,")
    with pytest.raises(PromptError, match="framing 'z' is not defined"):
        load_prompts(path, load_instrument())
    path = _write_variant(tmp_path, '    item: "{name}: {definition}"', "    itme: x")
    with pytest.raises(PromptError, match=r"line \d+"):
        load_prompts(path, load_instrument())


def test_styles_name_wordings_and_their_scales_for_any_instrument() -> None:
    refined = load_instrument("schwartz_refined")  # wordings pvq (likeness), svs (agreement)
    prompts = load_prompts(None, refined)
    [form] = render_context(refined, prompts, {"country": "India", "scenario": "healthcare"},
                            prompts.variant(2), "all")  # fmt: skip
    assert form.wording == "pvq" and form.scale == "likeness"
    assert "6: " in form.user and len(form.values) == len(refined.items)
    assert refined.items[0].wordings["pvq"] in form.user
    # one wording only: every style asks it, on its scale (five points)
    foundations = load_instrument("moral_foundations")
    prompts = load_prompts(None, foundations)
    grid = render_grid(foundations, prompts, [("india", "healthcare")], "item", [0, 2])
    assert {p.wording for p in grid} == {"describe"} and {p.scale for p in grid} == {"describes"}
    assert len(grid) == 2 * len(foundations.items) and "5: describes extremely well" in grid[0].user
    assert foundations.items[-1].wordings["describe"] in grid[-1].user  # pvq style: the wording


def test_a_language_axis_renders_each_context_in_its_language() -> None:
    multi = load_instrument("value_form_multilingual")
    prompts = load_prompts(None, multi)
    where = {"country": "germany", "scenario": "healthcare"}
    [de] = render_context(multi, prompts, {**where, "language": "de"}, prompts.variant(0), "all")
    [en] = render_context(multi, prompts, where, prompts.variant(0), "all")  # base language
    assert dict(de.context)["language"] == "de" and dict(en.context)["language"] == "en"
    assert de.system.startswith("Sie nehmen an einer Umfrage") and "Optionen:" in de.user
    assert "Options:" in en.user and en.system.startswith("You are taking part")
    assert "Ehrgeizig" in de.user and "Ambitious" in en.user


def test_axis_placeholders_and_unknown_wordings() -> None:
    form = load_instrument(None)
    fields = context_fields(form, {"country": "india", "scenario": "healthcare"})
    assert fields["country"] == "India" and fields["scenario"] == "Healthcare"
    assert (
        fields["vignette"] == fields["scenario_text"] == form.level("scenario", "healthcare").text
    )
    assert fields["user"] == fields["scenario_user"]


def test_a_style_must_name_a_wording_the_instrument_has(tmp_path: Path) -> None:
    path = _write_variant(tmp_path, "    scale: portrait\n", "    wording: portrayal\n")
    with pytest.raises(PromptError, match=r"style 'pvq'.*no wording 'portrayal'.*svs, pvq"):
        load_prompts(path, load_instrument())
    path = _write_variant(tmp_path, "{country}. You are", "{country_text}, {region}. You are")
    with pytest.raises(PromptError, match=r"unknown placeholder \{region\}"):
        load_prompts(path, load_instrument())


def test_load_prompts_needs_the_instrument_and_read_prompts_checks_none(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        load_prompts(None)  # type: ignore[call-arg]  # no hidden Value Form default
    # A design whose template names a placeholder no instrument declares: read as written
    # (its levels and digest), refused when loaded to run against an instrument.
    path = _write_variant(tmp_path, "Suppose you are from {country}.", "Suppose {nation}.")
    assert read_prompts(path).levels() == load_prompts(None, load_instrument()).levels()
    with pytest.raises(PromptError, match=r"\{nation\}"):
        load_prompts(path, load_instrument("moral_foundations"))


WARD_DIR = Path(__file__).parent / "data"


def _ward_design(tmp_path: Path, framing: str, instrument_edit: tuple[str, str] = ("", "")) -> Path:
    """The ward design with its first framing replaced, in TMP_PATH beside a ward instrument
    (edited by INSTRUMENT_EDIT); returns the design's path."""
    design = (WARD_DIR / "ward_prompts.yaml").read_text()
    old = '  near: "You are {persona_who}. {domain_text}"'
    assert old in design
    (tmp_path / "p.yaml").write_text(design.replace(old, f'  near: "{framing}"'))
    text = (WARD_DIR / "ward_instrument.yaml").read_text()
    if instrument_edit[0]:
        assert instrument_edit[0] in text
        text = text.replace(*instrument_edit)
    (tmp_path / "i.yaml").write_text(text)
    return tmp_path / "p.yaml"


def test_a_field_only_one_axis_gives_is_found_bare(tmp_path: Path) -> None:
    """The ward persona levels give ``who`` and no other axis does: ``{who}`` works bare, as
    ``{persona_who}`` does, though persona has no text (so is not the vignette's axis)."""
    design = _ward_design(tmp_path, "You are {who}. {vignette}")
    ward = load_instrument(tmp_path / "i.yaml")
    prompts = load_prompts(design, ward)
    near = next(v for v in prompts.variants if v.framing == "near")
    (first,) = render_context(ward, prompts, {"persona": "retiree", "domain": "transit"},
                              near, "all")  # fmt: skip
    assert first.user.startswith("You are a retiree. The ward plans a bus line.")
    fields = context_fields(ward, {"persona": "student", "domain": "housing"})
    assert fields["who"] == fields["persona_who"] == "a student"


def test_a_field_two_axes_give_needs_its_axis_and_says_so(tmp_path: Path) -> None:
    edit = ('text: "The ward plans new housing."}',
            'text: "The ward plans new housing.", fields: {who: tenants}}')  # fmt: skip
    design = _ward_design(tmp_path, "You are {who}. {domain_text}", edit)
    ward = load_instrument(tmp_path / "i.yaml")
    with pytest.raises(PromptError) as caught:
        load_prompts(design, ward)
    message = str(caught.value)
    assert "framings.near" in message and "{who} is a field of more than one axis" in message
    assert "(persona, domain)" in message and "{persona_who} or {domain_who}" in message
    # with the prefix, each axis's own field
    design = _ward_design(tmp_path, "You are {persona_who} among {domain_who}.", edit)
    prompts = load_prompts(design, ward)
    near = next(v for v in prompts.variants if v.framing == "near")
    (first,) = render_context(ward, prompts, {"persona": "student", "domain": "housing"},
                              near, "all")  # fmt: skip
    assert first.user.startswith("You are a student among tenants.")
