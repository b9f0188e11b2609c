"""Instrument format 2: bundled instruments, derived scale numbers, an odd-shaped instrument,
cross-reference errors, the deprecated old API, translation overlays and ``form list|show``."""

from __future__ import annotations

import ast
import itertools
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import assume, given
from hypothesis import strategies as st

import valuecompass.instrument
from valuecompass.cli import main
from valuecompass.instrument import (
    FormV1,
    Instrument,
    InstrumentError,
    NoLegacyView,
    RatingScale,
    bundled_ids,
    has_legacy_view,
    instrument_digest,
    legacy_view,
    load_instrument,
    missing_translations,
    translate,
)

V1 = Path(__file__).parent / "data" / "value_form_v1.yaml"

ODD = (
    """\
format: 2
id: odd
title: Odd shape
items:
"""
    + "".join(
        f"  - {{id: i{n}, name: Item {n}, wordings: {{short: S{n}, long: L{n}}}, "
        f"groups: {{kind: {'abc'[n // 3]}}}}}\n"
        for n in range(9)
    )
    + """\
groupings:
  - id: kind
    name: Kind
    levels: [{id: a, name: A}, {id: b, name: B}, {id: c, name: C}]
scales:
  - id: seven
    agree: last
    points: [{code: "1", label: not at all}, {code: "2", label: l2}, {code: "3", label: l3},
             {code: "4", label: l4}, {code: "5", label: l5}, {code: "6", label: l6},
             {code: "7", label: fully}]
    missing: [{code: dk, label: Don't know}]
roles: {people: seven, wordings: {short: seven, long: seven}}
axes:
  - {id: place, name: Place, levels: [{id: p1, name: P1}, {id: p2, name: P2}]}
  - {id: time, name: Time, levels: [{id: t1, name: T1}, {id: t2, name: T2}, {id: t3, name: T3}]}
  - {id: mood, name: Mood, levels: [{id: m1, name: M1}, {id: m2, name: M2}]}
"""
)


def test_every_bundled_instrument_loads() -> None:
    shapes = {i: load_instrument(i) for i in bundled_ids()}
    assert {i: len(x.items) for i, x in shapes.items()} == {
        "value_form": 56,
        "value_form_multilingual": 56,
        "schwartz_refined": 57,
        "moral_foundations": 24,
        "value_actions": 56,
    }
    assert [a.id for a in shapes["value_form"].axes] == ["country", "scenario"]
    multi = shapes["value_form_multilingual"]
    assert multi.language_axis is not None and multi.language_axis.level_ids == ["en", "de", "fr"]
    assert load_instrument("default") is shapes["value_form"]
    # 7 countries x 4 scenarios x 3 languages.
    assert len(list(multi.contexts())) == 84


def _scales() -> list[RatingScale]:
    return [s for i in bundled_ids() for s in load_instrument(i).rating_scales]


@pytest.mark.parametrize("scale", _scales(), ids=lambda s: s.id)
def test_endpoints_normalise_to_0_and_1_and_monotone(scale: RatingScale) -> None:
    agree, other = (scale.codes[0], scale.codes[-1])
    if scale.agree == "last":
        agree, other = other, agree
    assert scale.normalised[agree] == 0.0 and scale.normalised[other] == 1.0
    values = [scale.normalised[c] for c in scale.codes]
    assert values == sorted(values) or values == sorted(values, reverse=True)
    assert all(scale.normalised_of(m) is None for m in scale.missing_codes)


@given(
    st.lists(st.floats(-100, 100, allow_nan=False), min_size=2, max_size=12, unique=True),
    st.sampled_from(["first", "last"]),
)
def test_any_scale_normalises_its_ends_and_keeps_order(raw: list[float], agree: str) -> None:
    positions = sorted(raw)
    assume(min(b - a for a, b in itertools.pairwise(positions)) > 1e-6)
    scale = RatingScale.model_validate(
        {
            "id": "s",
            "agree": agree,
            "points": [
                {"code": str(n), "label": f"p{n}", "position": p} for n, p in enumerate(positions)
            ],
        }
    )
    ends = [scale.normalised["0"], scale.normalised[str(len(positions) - 1)]]
    assert ends == ([0.0, 1.0] if agree == "first" else [1.0, 0.0])
    values = [scale.normalised[str(n)] for n in range(len(positions))]
    assert values == sorted(values, reverse=agree == "last")
    assert all(0.0 <= v <= 1.0 for v in values)


def test_value_form_numbers_are_todays() -> None:
    human = load_instrument().people_scale
    # positions 1, 2, 2.5, 3, 4: (p - 1) / 3 = 0, 1/3, 1/2, 2/3, 1
    assert human.support == (0.0, 1 / 3, 0.5, 2 / 3, 1.0)
    assert human.raw_support == (1, 2, 2.5, 3, 4)
    # The neutral point at exactly 0.5 counts as disagree; "1" (agree) agrees.
    assert human.agrees("0") is False and human.agrees("1") is True
    assert human.agrees("irrelevant") is None and human.code_of("N/A") == "irrelevant"


def test_odd_instrument_derived_numbers(tmp_path: Path) -> None:
    path = tmp_path / "odd.yaml"
    path.write_text(ODD)
    odd = load_instrument(path)
    seven = odd.scale("seven")
    # agree end is the last point, position 7: normalised(p) = (p - 7) / (1 - 7)
    # 7 -> 0, 6 -> 1/6, 5 -> 1/3, 4 -> 1/2 (no neutral flag; still disagree), 1 -> 1
    assert seven.normalised["7"] == 0.0 and seven.normalised["1"] == 1.0
    assert seven.normalised["5"] == pytest.approx(1 / 3) and seven.normalised["4"] == 0.5
    assert [seven.agrees(c) for c in seven.codes] == [False] * 4 + [True] * 3
    assert seven.support == tuple(sorted((7 - p) / 6 for p in range(1, 8)))
    assert odd.members("kind") == {
        "a": ["i0", "i1", "i2"],
        "b": ["i3", "i4", "i5"],
        "c": ["i6", "i7", "i8"],
    }
    assert odd.scale_for("long") is seven and odd.wording_ids == ["short", "long"]
    # 2 places x 3 times x 2 moods
    assert len(list(odd.contexts())) == 12
    assert not has_legacy_view(odd) and instrument_digest(odd) == odd.spec_digest
    with pytest.raises(NoLegacyView, match="instrument 'odd' has no format-1 view"):
        legacy_view(odd)


def test_broken_reference_names_file_field_and_line(tmp_path: Path) -> None:
    path = tmp_path / "odd.yaml"
    path.write_text(
        ODD.replace("groups: {kind: b}}", "groups: {kind: z}}", 1).replace(
            "people: seven", "people: eight"
        )
    )
    with pytest.raises(InstrumentError) as err:
        load_instrument(path)
    message = str(err.value)
    assert str(path) in message
    # items start at line 5, so item i3 is on line 8; roles on line 25
    assert "items.3.groups.kind (line 8): unknown kind 'z'; valid: a, b, c" in message
    assert "roles.people (line 25): unknown scale 'eight'; valid: seven" in message


def test_bad_scale_and_unknown_field(tmp_path: Path) -> None:
    path = tmp_path / "odd.yaml"
    path.write_text(ODD.replace("agree: last", "agree: middle\n    colour: red"))
    with pytest.raises(InstrumentError) as err:
        load_instrument(path)
    assert "scales.0.agree (line 20)" in str(err.value)
    assert "scales.0.colour (line 21)" in str(err.value)


def test_old_view_is_exactly_the_format_1_file() -> None:
    reference = FormV1.model_validate(yaml.safe_load(V1.read_text(encoding="utf-8")))
    form = load_instrument()
    old = legacy_view(form)
    assert old.model_dump() == reference.model_dump()
    assert instrument_digest(form) == reference.digest  # runs made before format 2 still resume
    # the digest runs record for the bundled Value Form since before format 2
    assert reference.digest == "81378313e98a1579565a1167da9486b78446e89c3cab2c30cf1083cfd78cb114"
    assert [v.statement for v in old.values] == [v.statement for v in reference.values]
    assert old.value("intelligent").display_type.value == "achievement"
    assert old.scenario("S2").vignette == reference.scenario("healthcare").vignette
    assert old.scales.human.positions == reference.scales.human.positions
    assert old.scales.get("portrait").position_of("4") == 4.0
    # A format-1 file still loads, converted, with the same old view.
    assert legacy_view(load_instrument(V1)).model_dump() == reference.model_dump()


#: What the format 2 model offered of the old shape before the view became the converter's.
FORMAT_1_ATTRIBUTES = (
    "legacy",
    "has_legacy_view",
    "digest",
    "name",
    "values",
    "scenarios",
    "countries",
    "scales",
    "value_ids",
    "value",
    "scenario",
    "country",
)


def test_the_format_2_model_has_no_format_1_attributes() -> None:
    form = load_instrument()
    assert has_legacy_view(form)  # the view exists, but only as the converter's function
    for name in FORMAT_1_ATTRIBUTES:
        assert not hasattr(form, name), name
        assert not hasattr(Instrument, name), name
    assert not any(hasattr(scale, "legacy") for scale in form.rating_scales)
    # nor do its modules know that shape: neither imports the converter or the old classes
    for module in ("_instrument", "_parts"):
        source = Path(valuecompass.instrument.__file__).with_name(f"{module}.py")
        imported = {
            node.module
            for node in ast.walk(ast.parse(source.read_text(encoding="utf-8")))
            if isinstance(node, ast.ImportFrom)
        }
        assert imported.isdisjoint(
            {"valuecompass.instrument._convert", "valuecompass.instrument._legacy"}
        ), module


def test_base_file_over_a_bundled_instrument(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(
        "base: schwartz_refined\nid: mine\ntitle: Mine\naxes:\n"
        "  - {id: country, name: Country, levels: [{id: kenya, name: Kenya}]}\n"
    )
    mine = load_instrument(path)
    assert (
        mine.id == "mine" and len(mine.items) == 57 and mine.axis("country").level_ids == ["kenya"]
    )
    # format-1 base file keeps the bundled groupings
    path.write_text("base: default\ncountries:\n  - {id: kenya, name: Kenya}\n")
    kept = load_instrument(path)
    assert [g.id for g in kept.groupings] == [
        "type",
        "display_type",
        "higher_order",
        "authors_type",
    ]


def test_overlays_translate_and_list_what_is_missing(tmp_path: Path) -> None:
    form = load_instrument()
    de, fr = translate(form, "de"), translate(form, "fr")
    assert de.item("ambitious").wordings["svs"].startswith("Das KI-System sollte hart arbeiten")
    assert de.level("country", "germany").name == "Deutschland"
    assert de.scale("human").points[0].label == "Stimme voll und ganz zu"
    assert legacy_view(de).value("ambitious").name == "Ehrgeizig"  # the old view follows
    assert fr.language == "fr" and fr.item("ambitious").name != "Ambitious"
    assert form.item("ambitious").name == "Ambitious"  # the base is untouched
    assert missing_translations(form, "de") == missing_translations(form, "fr") == []
    partial = tmp_path / "value_form.de.yaml"  # a user's overlay that translates one item
    partial.write_text("language: de\nitems:\n  ambitious: {name: Ehrgeizig}\n", "utf-8")
    missing = missing_translations(form, "de", partial)
    assert "groupings.display_type.name" in missing and "items.capable.name" in missing
    assert "items.ambitious.name" not in missing
    assert missing_translations(form, "en") == []
    with pytest.raises(InstrumentError, match="no 'es' translation; have: en, de, fr"):
        translate(form, "es")


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_form_list_and_show() -> None:
    code, out = _cli("form", "list", "--format", "json")
    rows = {r["id"]: r for r in json.loads(out)}
    assert code == 0 and list(rows) == bundled_ids()
    assert rows["schwartz_refined"]["scales"][0] == {"id": "human", "points": 6}
    assert rows["value_form"]["axes"] == [
        {"name": "country", "levels": 7},
        {"name": "scenario", "levels": 4},
    ]
    code, out = _cli("form", "show", "moral_foundations", "--format", "yaml")
    assert code == 0 and yaml.safe_load(out)["id"] == "moral_foundations"
    code, out = _cli("form", "list")
    assert code == 0 and "value_form_multilingual" in out
    code, out = _cli("form", "show", "nonexistent.yaml")
    assert code == 2 and "nonexistent.yaml: no such instrument file" in out


def test_user_overlay_with_an_unknown_text_names_file_field_and_line(tmp_path: Path) -> None:
    path = tmp_path / "odd.nl.yaml"
    path.write_text("language: nl\nitems:\n  i0: {name: Ding 0}\n  nope: {name: Niets}\n")
    odd_file = tmp_path / "odd.yaml"
    odd_file.write_text(ODD)
    odd = load_instrument(odd_file)
    with pytest.raises(InstrumentError, match=r"odd.nl.yaml: items.nope.name \(line 4\): no such"):
        translate(odd, "nl", path)
    path.write_text("language: nl\nitems:\n  i0: {name: Ding 0, wordings: {short: K0}}\n")
    nl = translate(odd, "nl", path)
    assert nl.item("i0").name == "Ding 0" and nl.item("i1").name == "Item 1"  # falls back
    missing = missing_translations(odd, "nl", path)
    assert "items.i0.wordings.long" in missing and "items.i0.name" not in missing


def test_multilingual_value_form_uses_the_value_form_overlays() -> None:
    multi = load_instrument("value_form_multilingual")
    assert (
        translate(multi, "fr").item("ambitious").name
        == translate(load_instrument(), "fr").item("ambitious").name
    )
