"""Everything a participant reads, in one language: built from the instrument and the content.

The instrument gives the items (in the wording the settings name), the people scale, the
scenarios and the countries; the content gives the survey's own words and the pages' fixed
words (``ui``). In a language other than the instrument's own, both come from the instrument's
translation overlay (``translate`` for the instrument, the overlay's ``survey`` section for the
content), and what it leaves out stays in the base language. Answers are stored as codes, so
they mean the same in every language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from valuecompass.instrument import (
    Axis,
    AxisLevel,
    Instrument,
    RatingScale,
    overlay_section,
    translate,
)
from valuecompass.survey._settings import SurveyContent, SurveySettings, load_content

#: The keys of the progress line's steps, in order.
STEP_KEYS: tuple[str, ...] = (
    "step_consent",
    "step_about",
    "step_scenario",
    "step_values",
    "step_views",
    "step_done",
)


@dataclass(frozen=True)
class Option:
    """One answer a statement offers: a point of the scale or a missing code."""

    code: str
    label: str


@dataclass(frozen=True)
class Texts:
    """What the pages show in one language."""

    language: str
    language_name: str
    content: SurveyContent
    ui: Mapping[str, str]
    options: tuple[Option, ...]
    statements: Mapping[str, tuple[str | None, str | None, str]]
    scenarios: Mapping[str, AxisLevel]
    axes: Mapping[str, Axis]
    countries: tuple[AxisLevel, ...]
    age_bands: tuple[tuple[str, str], ...]
    path: tuple[str, ...]

    def t(self, key: str, **values: object) -> str:
        """The ui string KEY with its ``{name}`` placeholders filled from VALUES."""
        return fill(self.ui[key], {k: str(v) for k, v in values.items()})

    def template_values(self) -> dict[str, Any]:
        """What every page's template is given of its language: the survey's content, the ui
        strings and ``t``, the page path and the language code."""
        return {"content": self.content, "ui": self.ui, "t": self.t, "path": self.path,
                "lang": self.language}  # fmt: skip


def fill(text: str, values: Mapping[str, str]) -> str:
    """TEXT with each ``{name}`` in VALUES replaced; other braces are left as they are."""
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


def languages(settings: SurveySettings) -> tuple[str, ...]:
    """The languages the survey is offered in: the levels of the instrument's language axis
    (those the settings allow), else only the instrument's own language."""
    inst = settings.instrument
    axis = inst.language_axis
    if axis is None:
        return (inst.language,)
    found = [level.id for level in axis.levels]
    if inst.language in found:  # the instrument's own language first: the default
        found.remove(inst.language)
        found.insert(0, inst.language)
    return tuple(found)


def build_texts(settings: SurveySettings, language: str) -> Texts:
    """The pages' texts in LANGUAGE (one of :func:`languages`)."""
    base = settings.instrument
    inst = translate(base, language)
    survey_overlay: dict[str, Any] = {}
    if language != base.language:
        survey_overlay = overlay_section(base, language, "survey")
    content = _content(settings.content, survey_overlay)
    scale = inst.people_scale
    options = tuple(Option(p.code, p.label) for p in scale.points) + tuple(
        Option(m.code, m.label) for m in scale.missing
    )
    words = _words(inst, settings, content.ui)
    content = _filled(content, words, scale)
    bands = tuple(zip(settings.content.age_bands, content.age_bands, strict=False))
    statements = _statements(inst, settings, content, scale)
    ui = {k: fill(v, words).strip() for k, v in content.ui.items()}
    if settings.asked_axis != "country":  # the demographics page asks for the axis by its name
        ui["country_label"] = words["asked_name"]
        ui["choose_country"] = ui["choose_level"]
        ui["error_country"] = ui["error_level"]
        ui["column_country"] = words["asked_name"]
    if settings.scenario_axis != "scenario":
        ui["column_scenario"] = inst.axis(settings.scenario_axis).name
    axis = base.language_axis
    names = {lv.id: lv.name for lv in axis.levels} if axis is not None else {}
    return Texts(
        language=language,
        language_name=names.get(language, language),
        content=content,
        ui=ui,
        options=options,
        statements=statements,
        scenarios={lv.id: lv for lv in inst.axis(settings.scenario_axis).levels},
        axes={a: inst.axis(a) for a in settings.assigned_axes},
        countries=inst.axis(settings.asked_axis).levels,
        age_bands=bands,
        path=tuple(ui.get(k, k) for k in STEP_KEYS),
    )


def _words(inst: Instrument, settings: SurveySettings, ui: Mapping[str, str]) -> dict[str, str]:
    """The placeholders' words for INST (translated): its counts and names, and the phrases of
    UI chosen for the instrument the survey serves: the Value Form's where people are asked
    their country, items are values and the one missing code is 'irrelevant'; neutral ones,
    in the instrument's words, where not."""
    ui = {**load_content().ui, **ui}  # a study's own words over the bundled ones
    scale = inst.people_scale
    asked = inst.axis(settings.asked_axis)
    noun = inst.item_noun
    labels = [fill(ui["quoted"], {"label": m.label}) for m in scale.missing]
    joined = [", ".join(labels[:-1]), labels[-1]] if len(labels) > 1 else labels
    base = {
        "item_count": str(len(inst.items)),
        "item_noun": noun,
        "Item_nouns": f"{noun[:1].upper()}{noun[1:]}s",
        "irrelevant": scale.missing[0].label if scale.missing else "",
        "missing": f" {ui['or_word']} ".join(joined),
        "asked": asked.name[:1].lower() + asked.name[1:],
        "asked_name": asked.name,
    }
    served = settings.instrument  # untranslated: its ids say which words fit
    country = "country" if settings.asked_axis == "country" else "other"
    values = "values" if served.item_noun == "value" else "other"
    codes = served.people_scale.missing_codes
    missing = "irrelevant" if codes == ["irrelevant"] else "codes"
    chosen = {
        "study_items": f"study_items_{values}",
        "your_values": f"your_values_{values}",
        "residence": f"residence_{country}",
        "from_yours": f"from_yours_{country}",
        "on_missing": f"on_missing_{missing}",
        "missing_why": f"missing_why_{missing}",
        "missing_hint": f"missing_hint_{missing}",
    }
    phrases = {name: fill(ui[key], base) for name, key in chosen.items()}
    if not codes:
        phrases["on_missing"] = ""
    return base | phrases


def _statements(
    inst: Instrument, settings: SurveySettings, content: SurveyContent, scale: RatingScale
) -> dict[str, tuple[str | None, str | None, str]]:
    wording = settings.wording_id
    found: dict[str, tuple[str | None, str | None, str]] = {
        item.id: (item.name, item.definition or None, item.wordings[wording])
        for item in inst.items
        if wording in item.wordings
    }
    for check in content.attention_checks:
        found[check.id] = (None, None, check.statement)
    return found


def _filled(content: SurveyContent, words: Mapping[str, str], scale: RatingScale) -> SurveyContent:
    """CONTENT with the instrument's words put in its placeholders."""
    labels = {o.code: o.label for o in scale.points}
    checks = [
        c.model_copy(update={"statement": fill(c.statement, {"label": labels[c.expected(scale)]})})
        for c in content.attention_checks
    ]
    questions = [
        q.model_copy(update={"label": fill(q.label, words), "hint": fill(q.hint, words)})
        for q in content.open_questions
    ]
    return content.model_copy(
        update={
            "title": fill(content.title, words),
            "consent": tuple(fill(p, words) for p in content.consent),
            "task": fill(content.task, words).strip(),
            "attention_checks": tuple(checks),
            "open_questions": tuple(questions),
        }
    )


def _content(content: SurveyContent, overlay: Mapping[str, Any]) -> SurveyContent:
    """CONTENT with the overlay's ``survey`` texts: ui strings always; the other texts only
    over the bundled content (a study's own file is in its own words)."""
    if not overlay:
        return content
    update: dict[str, Any] = {"ui": {**content.ui, **(overlay.get("ui") or {})}}
    if content == load_content():
        for key in ("title", "consent_label", "gender_hint", "task", "thanks"):
            if key in overlay:
                update[key] = overlay[key]
        for key in ("consent", "age_bands"):
            if key in overlay:
                update[key] = tuple(overlay[key])
        update["attention_checks"] = _by_id(content.attention_checks, overlay, "attention_checks")
        update["open_questions"] = _by_id(content.open_questions, overlay, "open_questions")
    return content.model_copy(update=update)


def _by_id(entries: Any, overlay: Mapping[str, Any], key: str) -> tuple[Any, ...]:
    texts = overlay.get(key) or {}
    return tuple(e.model_copy(update=dict(texts.get(e.id, {}))) for e in entries)
