"""Prompt variants as data: the design, both modes, and errors that name what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from valuecompass.instrument import Instrument
from valuecompass.prompts import PromptError, load_prompts, render, render_grid


def test_default_design_is_a_fractional_factorial() -> None:
    prompts = load_prompts()
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
    prompts = load_prompts()
    [prompt] = render(form, prompts, "India", "healthcare", prompts.variant(0), "form")
    assert prompt.values == tuple(form.value_ids)
    assert prompt.scale == "agreement"
    for value in form.values:
        assert prompt.user.count(f"- {value.name}:") == 1
    assert "India" in prompt.user and "doctor" in prompt.user
    assert "1: strongly agree" in prompt.user


def test_reversed_order_reverses_values_and_options(form: Instrument) -> None:
    prompts = load_prompts()
    [fwd] = render(form, prompts, "UK", "education", prompts.variant(0), "form")
    [rev] = render(form, prompts, "UK", "education", prompts.variant(1), "form")
    assert rev.values == fwd.values[::-1]
    assert rev.user.index("4: strongly disagree") < rev.user.index("1: strongly agree")
    [pvq] = render(form, prompts, "UK", "education", prompts.variant(2), "form")
    assert pvq.scale == "portrait" and "1: very much like me" in pvq.user


def test_item_prompts_share_the_context_prefix(form: Instrument) -> None:
    prompts = load_prompts()
    items = render(form, prompts, "Germany", "public_sector", prompts.variant(5), "item")
    assert len(items) == 56 and all(len(p.values) == 1 for p in items)
    # Everything before the value is shared, so a model server evaluates it once.
    first, second = items[0].user, items[1].user
    prefix = first[: first.rindex("\n")]
    assert second.startswith(prefix) and first != second
    assert items[0].value == form.value_ids[0]


def test_grid_size(form: Instrument) -> None:
    prompts = load_prompts()
    contexts = [("india", "healthcare"), ("france", "education")]
    assert len(render_grid(form, prompts, contexts, "form")) == 2 * 8
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
        load_prompts(path)


def test_unknown_level_and_extra_field_are_refused_with_line(tmp_path: Path) -> None:
    path = _write_variant(tmp_path, "{index: 0, framing: a,", "{index: 0, framing: z,")
    with pytest.raises(PromptError, match="framing 'z' is not defined"):
        load_prompts(path)
    path = _write_variant(tmp_path, '    item: "{name}: {definition}"', "    itme: x")
    with pytest.raises(PromptError, match=r"line \d+"):
        load_prompts(path)
