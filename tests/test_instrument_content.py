"""The bundled instrument content written in format 2 (issue 11): Schwartz's refined values,
Moral Foundations and the Value Form's grouping schemes.

Nothing loads these files yet (the format 2 loader comes with the core of issue 11), so this
test reads them with PyYAML and checks that the content is complete and consistent: ids, counts,
groupings, circles, scales and axes. The Value Form's own file (format 1) is the reference for
the axes and for the value ids.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

DATA = Path(__file__).resolve().parents[1] / "src" / "valuecompass" / "instrument" / "data"
ID = re.compile(r"^[a-z][a-z0-9_]*$")
THIRD_PERSON = {"they", "them", "their", "themselves"}

Doc = dict[str, Any]


def _read(name: str) -> Doc:
    doc = yaml.safe_load((DATA / name).read_text(encoding="utf-8"))
    assert isinstance(doc, dict), name
    return doc


V1_REFERENCE = Path(__file__).parent / "data" / "value_form_v1.yaml"


@pytest.fixture(scope="module")
def value_form() -> Doc:
    """The Value Form as it was in format 1 (the reference for ids, texts and numbers)."""
    doc = yaml.safe_load(V1_REFERENCE.read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


@pytest.fixture(scope="module")
def refined() -> Doc:
    return _read("schwartz_refined.yaml")


@pytest.fixture(scope="module")
def foundations() -> Doc:
    return _read("moral_foundations.yaml")


@pytest.fixture(scope="module")
def vf_groupings() -> Doc:
    """The Value Form's display groupings from value_form.yaml (format 2), with members listed
    per level: ``display_type`` (called ``type`` here), ``higher_order``, ``authors_type``."""
    doc = _read("value_form.yaml")
    out = []
    for gid, name in (("display_type", "type"), ("higher_order", None), ("authors_type", None)):
        grouping = dict(next(g for g in doc["groupings"] if g["id"] == gid))
        members: dict[str, list[str]] = {level["id"]: [] for level in grouping["levels"]}
        for item in doc["items"]:
            members[item["groups"][gid]].append(item["id"])
        out.append({**grouping, "id": name or gid, "members": members})
    return {"groupings": out}


def _unique_ids(entries: list[Doc], where: str) -> list[str]:
    ids = [entry["id"] for entry in entries]
    bad = [i for i in ids if not isinstance(i, str) or not ID.match(i)]
    assert not bad, f"{where}: malformed ids {bad}"
    dupes = [i for i, n in Counter(ids).items() if n > 1]
    assert not dupes, f"{where}: duplicate ids {dupes}"
    return ids


def _check_circle(grouping: Doc) -> None:
    """A circle, where given, lists each level of its grouping exactly once."""
    if "circle" in grouping:
        levels = [level["id"] for level in grouping["levels"]]
        circle = grouping["circle"]
        assert len(circle) == len(set(circle)) and set(circle) == set(levels), grouping["id"]


def _check_items_and_groupings(doc: Doc) -> None:
    """Item, grouping and level ids are unique and well-formed; each item names one existing
    level of every grouping (so each item sits in each grouping exactly once); every level is
    used; wordings are the ones the roles give a scale."""
    _unique_ids(doc["items"], f"{doc['id']} items")
    groupings = {g["id"]: g for g in doc["groupings"]}
    assert list(groupings) == _unique_ids(doc["groupings"], f"{doc['id']} groupings")
    for gid, grouping in groupings.items():
        levels = _unique_ids(grouping["levels"], f"{doc['id']} grouping {gid}")
        used = {item["groups"][gid] for item in doc["items"]}
        assert used == set(levels), (
            f"{gid}: unused {set(levels) - used}, unknown {used - set(levels)}"
        )
        _check_circle(grouping)
    wordings = set(doc["roles"]["wordings"])
    for item in doc["items"]:
        assert set(item["groups"]) == set(groupings), item["id"]
        assert set(item["wordings"]) == wordings, item["id"]
        assert item["name"].strip() and item["definition"].strip(), item["id"]
    for name in wordings:
        texts = [item["wordings"][name] for item in doc["items"]]
        assert len(set(texts)) == len(texts), f"{doc['id']}: two items share a {name} text"


def _normalised(scale: Doc) -> list[float]:
    """Each point's normalised position: 0 at the agree end, 1 at the other end."""
    positions = [float(p.get("position", n)) for n, p in enumerate(scale["points"], 1)]
    agree, other = (
        (positions[0], positions[-1])
        if scale["agree"] == "first"
        else (positions[-1], positions[0])
    )
    return [(p - agree) / (other - agree) for p in positions]


def _check_scales(doc: Doc) -> dict[str, Doc]:
    """Points are ordered by position with distinct codes (missing codes included), both ends
    normalise to 0 and 1, and the roles name existing scales."""
    scales = {s["id"]: s for s in doc["scales"]}
    assert list(scales) == _unique_ids(doc["scales"], f"{doc['id']} scales")
    for sid, scale in scales.items():
        positions = [p["position"] for p in scale["points"]]
        assert positions == sorted(positions) and len(set(positions)) == len(positions), sid
        codes = [p["code"] for p in scale["points"]] + [m["code"] for m in scale.get("missing", [])]
        assert all(isinstance(c, str) for c in codes) and len(set(codes)) == len(codes), sid
        assert scale["agree"] in ("first", "last"), sid
        normalised = _normalised(scale)
        assert min(normalised) == 0.0 and max(normalised) == 1.0, sid
        assert scale["description"].strip(), sid
    assert doc["roles"]["people"] in scales
    assert set(doc["roles"]["wordings"].values()) <= set(scales)
    return scales


def _value_form_axes(value_form: Doc) -> list[Doc]:
    """The Value Form's countries and scenarios (format 1) written as format 2 axes."""
    countries = [
        {"id": c["id"], "name": c["name"], **({"aliases": c["aliases"]} if "aliases" in c else {})}
        for c in value_form["countries"]
    ]
    scenarios = [
        {
            "id": s["id"],
            "name": s["name"],
            "text": s["vignette"],
            "fields": {key: s[key] for key in ("user", "purpose", "scope", "stakes")},
            "illustration": s["illustration"],
            **({"aliases": s["aliases"]} if "aliases" in s else {}),
        }
        for s in value_form["scenarios"]
    ]
    return [
        {"id": "country", "name": "Country", "levels": countries},
        {"id": "scenario", "name": "Scenario", "levels": scenarios},
    ]


@pytest.mark.parametrize("name", ["schwartz_refined.yaml", "moral_foundations.yaml"])
def test_new_instrument_is_complete_and_consistent(name: str, value_form: Doc) -> None:
    doc = _read(name)
    assert (
        doc["format"] == 2 and doc["id"] == name.removesuffix(".yaml") and doc["language"] == "en"
    )
    assert ID.match(doc["id"]) and doc["title"].strip() and isinstance(doc["version"], str)
    _check_items_and_groupings(doc)
    _check_scales(doc)
    assert doc["axes"] == _value_form_axes(value_form)


def test_refined_values_three_items_each_in_circle_arcs(refined: Doc) -> None:
    items = refined["items"]
    assert len(items) == 57
    per_value = Counter(item["groups"]["value"] for item in items)
    assert len(per_value) == 19 and set(per_value.values()) == {3}
    value, higher = refined["groupings"]
    assert value["id"] == "value" and higher["id"] == "higher_order"
    assert value["circle"][0] == "self_direction_thought"
    assert value["circle"][-1] == "universalism_tolerance"
    by_value: dict[str, set[str]] = {}
    definition: dict[str, set[str]] = {}
    for item in items:
        by_value.setdefault(item["groups"]["value"], set()).add(item["groups"]["higher_order"])
        definition.setdefault(item["groups"]["value"], set()).add(item["definition"])
    # The three items of a value share its definition and its higher-order value.
    assert all(len(levels) == 1 for levels in by_value.values())
    assert all(len(texts) == 1 for texts in definition.values())
    higher_of = {v: next(iter(levels)) for v, levels in by_value.items()}
    # The border values, placed as the file's comment states.
    assert {v: higher_of[v] for v in ("hedonism", "face", "humility")} == {
        "hedonism": "openness_to_change",
        "face": "conservation",
        "humility": "self_transcendence",
    }
    # Each higher-order value is one unbroken arc of the 19-value circle, in the circle's order:
    # reading the circle, the level changes exactly four times (counting the wrap-around).
    around = [higher_of[v] for v in value["circle"]]
    changes = sum(a != b for a, b in zip(around, around[1:] + around[:1], strict=True))
    assert changes == 4
    assert list(dict.fromkeys(around)) == higher["circle"]


def test_refined_wordings_and_likeness_scale(refined: Doc) -> None:
    for item in refined["items"]:
        assert item["wordings"]["svs"].startswith("The AI system should "), item["id"]
        words = set(re.findall(r"[a-z]+", item["wordings"]["pvq"].lower()))
        assert words & THIRD_PERSON, f"{item['id']}: the portrait is not in the third person"
    scales = {s["id"]: s for s in refined["scales"]}
    assert refined["roles"] == {
        "people": "human",
        "wordings": {"pvq": "likeness", "svs": "agreement"},
    }
    labels = [p["label"].lower() for p in scales["likeness"]["points"]]
    assert labels == [
        "very much like me",
        "like me",
        "somewhat like me",
        "a little like me",
        "not like me",
        "not like me at all",
    ]
    assert [p["label"].lower() for p in scales["human"]["points"]] == labels
    assert [m["code"] for m in scales["human"]["missing"]] == ["irrelevant"]
    for scale in scales.values():
        # Six points at 1..6, agree end first: normalised (p - 1) / 5 = 0, .2, .4, .6, .8, 1;
        # no neutral point, and the threshold 0.5 falls between points 3 (0.4) and 4 (0.6).
        assert [p["position"] for p in scale["points"]] == [1, 2, 3, 4, 5, 6]
        assert _normalised(scale) == pytest.approx([0, 0.2, 0.4, 0.6, 0.8, 1])
        assert not any(p.get("neutral") for p in scale["points"])
        assert "between" in scale["description"]
        assert "missing" not in scale or scale["id"] == "human"


def test_foundations_four_items_each_and_describes_scale(foundations: Doc) -> None:
    items = foundations["items"]
    assert len(items) == 24
    per_foundation = Counter(item["groups"]["foundation"] for item in items)
    assert per_foundation == dict.fromkeys(
        ["care", "equality", "proportionality", "loyalty", "authority", "purity"], 4
    )
    side = {
        item["groups"]["foundation"]: item["groups"]["binding_individualizing"] for item in items
    }
    assert all(
        item["groups"]["binding_individualizing"] == side[item["groups"]["foundation"]]
        for item in items
    )
    # proportionality with the binding foundations, as the file's comment states and argues.
    assert side == {
        "care": "individualizing",
        "equality": "individualizing",
        "proportionality": "binding",
        "loyalty": "binding",
        "authority": "binding",
        "purity": "binding",
    }
    assert all(item["wordings"]["describe"].startswith("The AI system ") for item in items)
    scales = {s["id"]: s for s in foundations["scales"]}
    assert foundations["roles"] == {"people": "human", "wordings": {"describe": "describes"}}
    for scale in scales.values():
        # Positions 1..5, agree end last: normalised (5 - p) / 4 = 1, .75, .5, .25, 0. The middle
        # point is the one neutral point, at exactly 0.5 (which counts as disagree).
        assert scale["agree"] == "last"
        assert scale["points"][-1]["label"].lower() == "describes extremely well"
        assert _normalised(scale) == [1.0, 0.75, 0.5, 0.25, 0.0]
        assert [bool(p.get("neutral")) for p in scale["points"]] == [
            False,
            False,
            True,
            False,
            False,
        ]
        assert "disagree" in scale["description"]
    assert [m["code"] for m in scales["human"]["missing"]] == ["irrelevant"]


def _vf_ids_by_name(value_form: Doc) -> dict[str, str]:
    names: dict[str, str] = {}
    for value in value_form["values"]:
        for name in [value["name"], *value.get("aliases", [])]:
            names[name.casefold()] = value["id"]
    return names


def _assignment(grouping: Doc) -> dict[str, str]:
    """value id -> level id; asserts each value is listed exactly once and every level used."""
    listed = [(vid, level) for level, ids in grouping["members"].items() for vid in ids]
    counts = Counter(vid for vid, _ in listed)
    assert all(n == 1 for n in counts.values()), [v for v, n in counts.items() if n > 1]
    levels = _unique_ids(grouping["levels"], grouping["id"])
    assert set(grouping["members"]) == set(levels)
    assert all(grouping["members"][level] for level in levels), grouping["id"]
    _check_circle(grouping)
    return dict(listed)


def test_value_form_groupings_cover_all_56(vf_groupings: Doc, value_form: Doc) -> None:
    ids = {v["id"] for v in value_form["values"]}
    assert len(ids) == 56
    schemes = {g["id"]: _assignment(g) for g in vf_groupings["groupings"]}
    assert list(schemes) == ["type", "higher_order", "authors_type"]
    for assignment in schemes.values():
        assert set(assignment) == ids
    display = {v["id"]: v.get("near") or v["type"] for v in value_form["values"]}
    assert schemes["type"] == display
    # Each type lies wholly inside one higher-order value; hedonism in openness to change.
    higher = {display[v]: schemes["higher_order"][v] for v in ids}
    assert all(schemes["higher_order"][v] == higher[display[v]] for v in ids)
    assert higher == {
        "self_direction": "openness_to_change",
        "stimulation": "openness_to_change",
        "hedonism": "openness_to_change",
        "achievement": "self_enhancement",
        "power": "self_enhancement",
        "security": "conservation",
        "conformity": "conservation",
        "tradition": "conservation",
        "benevolence": "self_transcendence",
        "universalism": "self_transcendence",
    }
    circle = vf_groupings["groupings"][0]["circle"]
    assert circle[:3] == ["self_direction", "stimulation", "hedonism"] and len(circle) == 10


def test_authors_type_matches_released_csv(
    vf_groupings: Doc, value_form: Doc, released: Path
) -> None:
    names = _vf_ids_by_name(value_form)
    with (released / "authors_value_types.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    expected = {
        names[row["value"].strip().casefold()]: row["type"].strip().lower().replace("-", "_")
        for row in rows
    }
    assert len(rows) == 56 and len(expected) == 56
    authors = next(g for g in vf_groupings["groupings"] if g["id"] == "authors_type")
    assert _assignment(authors) == expected
    # The one value where the authors differ from the display type in value_form.yaml.
    display = {v["id"]: v.get("near") or v["type"] for v in value_form["values"]}
    assert {v for v in expected if expected[v] != display[v]} == {"self_respect"}
