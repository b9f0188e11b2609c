"""The Value Form as data, and malformed instrument files."""

from __future__ import annotations

from pathlib import Path

import pytest

from valuecompass.instrument import (
    Instrument,
    InstrumentError,
    MotivationalType,
    instrument_digest,
    legacy_view,
    load_instrument,
)


def test_bundled_form(form: Instrument) -> None:
    old = legacy_view(form)
    assert len(old.values) == 56 and len(old.scenarios) == 4 and len(old.countries) == 7
    unassigned = {v.id for v in old.values if v.type is MotivationalType.UNASSIGNED}
    assert len(unassigned) == 11 and "inner_harmony" in unassigned
    assert {v.type for v in old.values} == set(MotivationalType)
    assert old.value("Ambitious").definition == "hardworking, aspiring"
    assert old.value("wealth").definition == "material possessions, money"
    axes = {s.id: (s.scope, s.stakes) for s in old.scenarios}
    assert axes == {
        "collaborative_writing": ("individual", "low"),
        "education": ("social", "low"),
        "public_sector": ("social", "high"),
        "healthcare": ("individual", "high"),
    }
    assert [o.position for o in old.scales.human.options] == [1, 2, 2.5, 3, 4, None]
    assert len(instrument_digest(form)) == 64


def test_lookup_names_spellings_and_unknowns(form: Instrument) -> None:
    old = legacy_view(form)
    assert old.value("Preserving Human's Public Image").id == "preserving_my_public_image"
    assert old.value("protect the environment").id == "protecting_the_environment"
    assert old.country("USA").id == "united_states"
    assert old.scenario("Public Sectors").id == "public_sector"
    with pytest.raises(KeyError, match="unknown country 'Egypt'; valid: united_states"):
        old.country("Egypt")
    # the format 2 lookups match the same spellings and say the same of an unknown one
    assert form.item("Preserving Human's Public Image").id == "preserving_my_public_image"
    assert form.item("protect the environment").id == "protecting_the_environment"
    assert form.level("country", "USA").id == "united_states"
    assert form.level("scenario", "Public Sectors").id == "public_sector"
    with pytest.raises(KeyError, match="unknown country 'Egypt'; valid: united_states"):
        form.level("country", "Egypt")


def test_malformed_file_names_field_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "form.yaml"
    bad.write_text(
        "base: default\n"
        "countries:\n"
        "  - id: kenya\n"
        "    name: Kenya\n"
        "  - id: Bad Id\n"
        "    name: Nowhere\n"
        "    colour: blue\n"
    )
    with pytest.raises(InstrumentError) as err:
        load_instrument(bad)
    message = str(err.value)
    assert str(bad) in message
    assert "countries.1.id (line 5)" in message
    assert "countries.1.colour (line 7)" in message and "Extra inputs" in message


def test_user_file_extends_default(tmp_path: Path) -> None:
    custom = tmp_path / "form.yaml"
    custom.write_text("base: default\ncountries:\n  - id: kenya\n    name: Kenya\n")
    form = load_instrument(custom)
    assert form.axis("country").level_ids == ["kenya"]
    assert len(form.items) == 56


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "empty"),
        ("values: [\n", "not valid YAML"),
        ("- a list\n", "mapping of sections"),
        ("base: other\n", "'base' must be 'default'"),
    ],
)
def test_unusable_files(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(text)
    with pytest.raises(InstrumentError, match=expected):
        load_instrument(path)


def test_duplicate_ids_refused(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("base: default\ncountries:\n  - {id: a, name: A}\n  - {id: a, name: B}\n")
    with pytest.raises(InstrumentError, match="country id 'a' appears twice"):
        load_instrument(path)
