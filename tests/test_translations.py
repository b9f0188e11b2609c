"""The Value Form's German and French translation overlays are complete and consistent.

The overlays (instrument/data/translations/value_form.{de,fr}.yaml, format v2 of issue 11) are
not loaded by the package yet, so this test reads them with PyYAML directly and checks them
against today's English sources: value_form.yaml, prompts.yaml and survey/data/content.yaml,
and, for the survey's interface strings, value_form.en.yaml.
"""

from __future__ import annotations

import re
import string
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from valuecompass.instrument import Instrument, load_instrument, missing_translations, translate
from valuecompass.survey import load_content

LANGUAGES = ("de", "fr")
#: The groupings by Schwartz's ten types (Tradition is the same word in German and French).
TYPES = ("type", "display_type", "authors_type")

#: Texts that are truly the same word in English and the translation (compared case-folded).
SAME_IN_BOTH = {
    *((lang, f"groupings.{g}.levels.tradition") for lang in LANGUAGES for g in TYPES),
    *(("fr", f"groupings.{g}.levels.stimulation") for g in TYPES),  # Stimulation
    ("fr", "items.intelligent.name"),  # Intelligent
    ("fr", "items.humble.name"),  # Humble
    ("fr", "axes.country.levels.france.name"),  # France
    ("fr", "axes.country.levels.canada.name"),  # Canada
    ("fr", "prompts.labels.options"),  # Options (matches "option" in the requirements)
    ("fr", "survey.ui.choice_option"),  # Action {number}
    ("fr", "survey.ui.review_action"),  # Action {number}
}

#: English words that never occur in a German or French sentence of ours.
ENGLISH_WORDS = re.compile(r"\b(the|should|you|your|and|with|which|of|is|are)\b", re.IGNORECASE)

#: Quoted phrases: "..." in English, „...“ in German, « ... » in French.
QUOTED = {
    "en": re.compile(r'"([^"]+)"'),
    "de": re.compile(r"„([^“]+)“"),
    "fr": re.compile(r"«\s*([^»]+?)\s*»"),
}


def _package() -> Path:
    return Path(str(resources.files("valuecompass")))


def _read(relative: str) -> Any:
    return yaml.safe_load((_package() / relative).read_text(encoding="utf-8"))


# The Value Form's format-1 file (value_form.yaml is now format 2, with the same texts).
FORM = yaml.safe_load((Path(__file__).parent / "data" / "value_form_v1.yaml").read_text("utf-8"))
PROMPTS = _read("prompts/data/prompts.yaml")
CONTENT = _read("survey/data/content.yaml")
UI_EN = _read("instrument/data/translations/value_form.en.yaml")["survey"]["ui"]
#: The Value Form's people scale: the attention checks ask for its ends.
SCALE = load_instrument().people_scale
OVERLAYS = {
    lang: _read(f"instrument/data/translations/value_form.{lang}.yaml") for lang in LANGUAGES
}


def _placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


def _type_ids() -> set[str]:
    return {v["type"] for v in FORM["values"]} | {v["near"] for v in FORM["values"] if "near" in v}


def _form_pairs(o: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(path, English source, translation) for the instrument's own texts."""
    pairs = []
    for v in FORM["values"]:
        t, key = o["items"][v["id"]], f"items.{v['id']}"
        pairs += [(f"{key}.name", v["name"], t["name"])]
        pairs += [(f"{key}.definition", v["definition"], t["definition"])]
        pairs += [(f"{key}.wordings.svs", v["statement"], t["wordings"]["svs"])]
        pairs += [(f"{key}.wordings.pvq", v["portrait"], t["wordings"]["pvq"])]
    for s in FORM["scenarios"]:
        t, key = o["axes"]["scenario"]["levels"][s["id"]], f"axes.scenario.levels.{s['id']}"
        pairs += [(f"{key}.name", s["name"], t["name"]), (f"{key}.text", s["vignette"], t["text"])]
        pairs += [(f"{key}.fields.{f}", s[f], t["fields"][f]) for f in ("user", "purpose")]
    for c in FORM["countries"]:
        key = f"axes.country.levels.{c['id']}.name"
        pairs.append((key, c["name"], o["axes"]["country"]["levels"][c["id"]]["name"]))
    for scale_id, scale in FORM["scales"].items():
        for opt in scale["options"]:
            part = "points" if opt["position"] is not None else "missing"
            translated = o["scales"][scale_id][part][opt["code"]]
            pairs.append((f"scales.{scale_id}.{part}.{opt['code']}", opt["label"], translated))
    for type_id in sorted(_type_ids()):
        english = type_id.replace("_", "-")  # Schwartz's names: power, self-direction, ...
        translated = o["groupings"]["type"]["levels"][type_id]
        pairs.append((f"groupings.type.levels.{type_id}", english, translated))
    pairs.append(("groupings.type.name", "Motivational type", o["groupings"]["type"]["name"]))
    pairs += _v2_pairs(o)
    pairs.append(("title", FORM["name"], o["title"]))
    pairs.append(("item_noun", "value", o["item_noun"]))
    return pairs


def _v2_pairs(o: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(path, English, translation) for the texts format 2 added: the groupings other than
    ``type``, the axes' names, and the scenarios' fields past user and purpose."""
    base = load_instrument()
    pairs = []
    for g in base.groupings:
        if g.id == "type":
            continue  # paired with the format-1 names above
        t = o["groupings"][g.id]
        pairs.append((f"groupings.{g.id}.name", g.name, t["name"]))
        pairs += [(f"groupings.{g.id}.levels.{lv.id}", lv.name, t["levels"][lv.id])
                  for lv in g.levels]  # fmt: skip
    for axis in base.axes:
        pairs.append((f"axes.{axis.id}.name", axis.name, o["axes"][axis.id]["name"]))
        for lv in axis.levels:
            for key in sorted(set(lv.fields) - {"user", "purpose"}):
                translated = o["axes"][axis.id]["levels"][lv.id]["fields"][key]
                pairs.append((f"axes.{axis.id}.levels.{lv.id}.fields.{key}", lv.fields[key],
                              translated))  # fmt: skip
    return pairs


def _prompt_pairs(o: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(path, English template, translated template) for the prompt design's texts."""
    p = o["prompts"]
    pairs = [("prompts.system", PROMPTS["system"], p["system"])]
    for k, v in PROMPTS["framings"].items():
        pairs.append((f"prompts.framings.{k}", v, p["framings"][k]))
    for style, spec in PROMPTS["styles"].items():
        pairs.append((f"prompts.styles.{style}.intro", spec["intro"], p["styles"][style]["intro"]))
    for mode, texts in PROMPTS["requirements"].items():
        for k, v in texts.items():
            pairs.append((f"prompts.requirements.{mode}.{k}", v, p["requirements"][mode][k]))
    pairs.append(("prompts.labels.options", "Options", p["labels"]["options"]))
    return pairs


def _survey_pairs(o: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(path, English source, translation) for the survey's words and its interface strings."""
    s = o["survey"]
    pairs = [(f"survey.{k}", CONTENT[k], s[k]) for k in ("title", "consent_label", "gender_hint")]
    pairs += [(f"survey.{k}", CONTENT[k], s[k]) for k in ("task", "thanks")]
    for key in ("consent", "age_bands"):
        both = enumerate(zip(CONTENT[key], s[key], strict=True))
        pairs += [(f"survey.{key}.{i}", e, t) for i, (e, t) in both]
    for check in CONTENT["attention_checks"]:
        translated = s["attention_checks"][check["id"]]["statement"]
        pairs.append((f"survey.attention_checks.{check['id']}", check["statement"], translated))
    for q in CONTENT["open_questions"]:
        for field in ("label", "hint"):
            if field in q:
                translated = s["open_questions"][q["id"]][field]
                pairs.append((f"survey.open_questions.{q['id']}.{field}", q[field], translated))
    pairs += [(f"survey.ui.{k}", v, s["ui"][k]) for k, v in UI_EN.items()]
    return pairs


def _pairs(lang: str) -> list[tuple[str, str, str]]:
    o = OVERLAYS[lang]
    return _form_pairs(o) + _prompt_pairs(o) + _survey_pairs(o)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_overlay_has_the_v2_sections_and_its_language(lang: str) -> None:
    o = OVERLAYS[lang]
    sections = {"items", "groupings", "scales", "axes", "prompts", "survey"}
    assert set(o) == {"language", "title", "item_noun"} | sections
    assert o["language"] == lang


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_item_scenario_country_scale_and_type_nothing_extra(lang: str) -> None:
    o = OVERLAYS[lang]
    assert set(o["items"]) == {v["id"] for v in FORM["values"]}
    assert len(o["items"]) == 56
    for item_id, t in o["items"].items():
        assert set(t) == {"name", "definition", "wordings"}, item_id
        assert set(t["wordings"]) == {"svs", "pvq"}, item_id
    scenarios = o["axes"]["scenario"]["levels"]
    assert set(scenarios) == {s["id"] for s in FORM["scenarios"]}
    for scenario_id, t in scenarios.items():
        assert set(t) == {"name", "text", "fields"}, scenario_id
        assert set(t["fields"]) == {"user", "purpose", "scope", "stakes"}, scenario_id
    assert set(o["axes"]) == {"country", "scenario"}
    for axis_id, t in o["axes"].items():
        assert set(t) == {"name", "levels"}, axis_id
    assert set(o["axes"]["country"]["levels"]) == {c["id"] for c in FORM["countries"]}
    assert set(o["scales"]) == set(FORM["scales"]) == {"human", "agreement", "portrait"}
    for scale_id, scale in FORM["scales"].items():
        rated = {opt["code"] for opt in scale["options"] if opt["position"] is not None}
        missing = {opt["code"] for opt in scale["options"] if opt["position"] is None}
        assert set(o["scales"][scale_id]["points"]) == rated, scale_id
        assert set(o["scales"][scale_id].get("missing", {})) == missing, scale_id
    assert set(o["groupings"]) == {g.id for g in load_instrument().groupings}
    assert set(o["groupings"]["type"]["levels"]) == _type_ids()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_prompt_and_survey_keys_match_the_english(lang: str) -> None:
    p, s = OVERLAYS[lang]["prompts"], OVERLAYS[lang]["survey"]
    assert set(p) == {"system", "framings", "styles", "requirements", "labels"}
    assert set(p["framings"]) == set(PROMPTS["framings"])
    assert {k: set(v) for k, v in p["styles"].items()} == {k: {"intro"} for k in PROMPTS["styles"]}
    assert {k: set(v) for k, v in p["requirements"].items()} == {
        k: set(v) for k, v in PROMPTS["requirements"].items()
    }
    assert set(p["labels"]) == {"options"}
    assert "\nOptions:\n" in PROMPTS["layout"]["all"]  # the fixed word the label replaces
    assert set(s) == set(CONTENT) | {"ui"}
    assert len(s["consent"]) == len(CONTENT["consent"])
    assert len(s["age_bands"]) == len(CONTENT["age_bands"])
    assert set(s["attention_checks"]) == {c["id"] for c in CONTENT["attention_checks"]}
    assert {k: set(v) for k, v in s["open_questions"].items()} == {
        q["id"]: {f for f in ("label", "hint") if f in q} for q in CONTENT["open_questions"]
    }


@pytest.mark.parametrize("lang", LANGUAGES)
def test_ui_keys_are_the_same_in_en_de_fr(lang: str) -> None:
    assert set(OVERLAYS[lang]["survey"]["ui"]) == set(UI_EN)
    assert len(UI_EN) >= 70  # every visible string of the thirteen templates


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_text_is_a_nonempty_string(lang: str) -> None:
    pairs = _pairs(lang)
    assert len(pairs) > 56 * 4 + 4 * 5 + 7 + 70
    for path, _, translated in pairs:
        assert isinstance(translated, str) and translated.strip() == translated != "", path


@pytest.mark.parametrize("lang", LANGUAGES)
def test_placeholders_equal_the_english(lang: str) -> None:
    for path, english, translated in _pairs(lang):
        if path.startswith("survey.") and not path.startswith("survey.ui."):
            # survey/data/content.yaml serves any instrument: {item_noun}, {irrelevant}, ...
            # are filled from the instrument, and one instrument's translation may spell them
            # out; it never brings a placeholder of its own.
            assert _placeholders(translated) <= _placeholders(english), path
        else:
            assert _placeholders(translated) == _placeholders(english), path
    # The templates that carry context do have placeholders, so the check above bites.
    assert _placeholders(OVERLAYS[lang]["prompts"]["framings"]["a"]) == {"country", "vignette"}
    assert _placeholders(OVERLAYS[lang]["survey"]["ui"]["page_of"]) == {"page", "pages"}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_nothing_left_in_english(lang: str) -> None:
    same = set()
    for path, english, translated in _pairs(lang):
        if not re.search(r"[^\W\d_]", english):
            continue  # no letters at all ("18-24"): nothing to translate
        if translated.casefold() == english.casefold():
            same.add((lang, path))
        assert not ENGLISH_WORDS.search(translated), (path, translated)
    # Exactly the listed exceptions, so the list cannot outlive a change of wording.
    assert same == {e for e in SAME_IN_BOTH if e[0] == lang}


@pytest.mark.parametrize("lang", ("en", *LANGUAGES))
def test_quoted_answer_labels_are_the_scales_labels(lang: str) -> None:
    """Where the survey's words name an answer ("Irrelevant", "Strongly agree"), they quote the
    human scale's label in the same language, and an attention check quotes its expected one."""
    if lang == "en":
        labels = {o["code"]: o["label"] for o in FORM["scales"]["human"]["options"]}
        ends = {c.id: labels[c.expected(SCALE)] for c in load_content().attention_checks}
        checks = {
            c["id"]: c["statement"].replace("{label}", ends[c["id"]])
            for c in CONTENT["attention_checks"]
        }
        # the task's sentence about the missing code is the ui phrase chosen for the Value Form
        chosen = CONTENT["ui"]["on_missing_irrelevant"]
        task = CONTENT["task"].replace("{on_missing}", chosen)
        texts = [task.replace("{irrelevant}", labels["irrelevant"]), UI_EN["values_instructions"]]
    else:
        scale, survey = OVERLAYS[lang]["scales"]["human"], OVERLAYS[lang]["survey"]
        labels = {**scale["points"], **scale["missing"]}
        checks = {k: v["statement"] for k, v in survey["attention_checks"].items()}
        texts = [survey["task"], survey["ui"]["values_instructions"]]
    for text in texts:
        quoted = QUOTED[lang].findall(text)
        assert quoted == [labels["irrelevant"]], text
    for check in load_content().attention_checks:
        quoted = QUOTED[lang].findall(checks[check.id])
        assert quoted == [labels[check.expected(SCALE)]], check.id


@pytest.mark.parametrize("lang", LANGUAGES)
def test_item_names_are_distinct_so_they_can_key_a_json_answer(lang: str) -> None:
    """The form-mode requirement asks for one JSON key per value, written as its name."""
    names = [t["name"].casefold() for t in OVERLAYS[lang]["items"].values()]
    assert len(set(names)) == len(names) == 56
    levels = OVERLAYS[lang]["groupings"]["type"]["levels"].values()
    assert len({n.casefold() for n in levels}) == len(_type_ids())


def _shown_texts(instrument: Instrument) -> set[str]:
    """The dotted paths of every text a prompt or a survey page can show: the title and item
    noun, each item's name, definition and wordings, every scale label, and each axis level's
    name, text and fields (any field is a prompt placeholder: ``{scope}``, ``{scenario_stakes}``).
    """
    shown = {"title", "item_noun"}
    for item in instrument.items:
        shown |= {f"items.{item.id}.name", f"items.{item.id}.definition"}
        shown |= {f"items.{item.id}.wordings.{w}" for w in item.wordings}
    for scale in instrument.rating_scales:
        shown |= {f"scales.{scale.id}.points.{p.code}" for p in scale.points}
        shown |= {f"scales.{scale.id}.missing.{m.code}" for m in scale.missing}
    for axis in instrument.axes:
        if axis.role == "language":
            continue  # its levels name the languages themselves
        for lv in axis.levels:
            here = f"axes.{axis.id}.levels.{lv.id}"
            shown |= {f"{here}.name", *([f"{here}.text"] if lv.text else [])}
            shown |= {f"{here}.fields.{key}" for key in lv.fields}
    return shown


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_shown_text_of_the_multilingual_form_is_translated(lang: str) -> None:
    multi = load_instrument("value_form_multilingual")
    shown = _shown_texts(multi)
    assert len(shown) > 56 * 4 + 4 * 6 + 7  # items (4 texts each), scenarios, countries
    assert {"axes.scenario.levels.healthcare.fields.scope", "scales.human.missing.irrelevant"} <= (
        shown
    )
    assert set(missing_translations(multi, lang)) & shown == set()
    assert missing_translations(multi, lang) == []  # and the rest (groupings, axis names) too
    local = translate(multi, lang)
    english = {lv.id: lv.fields for lv in multi.axis("scenario").levels}
    for lv in local.axis("scenario").levels:
        assert set(lv.fields) == set(english[lv.id])
        changed = {k for k in lv.fields if lv.fields[k] != english[lv.id][k]}
        assert changed == set(lv.fields), (lang, lv.id, lv.fields)  # no field left in English
