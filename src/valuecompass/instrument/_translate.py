"""Translation overlays: an instrument's texts in another language, keyed by id.

An overlay (``translations/<id>.<lang>.yaml``) gives texts by the ids they translate; what it
leaves out falls back to the instrument's own language, and ``missing_translations`` lists it.
Its ``prompts`` and ``survey`` sections belong to the prompt design and the survey, not here.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from valuecompass.common import line_of, read_mapping

if TYPE_CHECKING:
    from valuecompass.instrument._instrument import Instrument

#: Overlay sections that translate the instrument itself (others are for prompts / survey).
SECTIONS = ("title", "item_noun", "items", "groupings", "scales", "axes")
TextPath = tuple[str, ...]
Slot = tuple[dict[str, Any], str]


def _error(message: str) -> Exception:
    from valuecompass.instrument._load import InstrumentError

    return InstrumentError(message)


def overlay_languages(instrument: Instrument) -> list[str]:
    """Languages with a bundled overlay for INSTRUMENT (its own language first)."""
    owner = instrument.translations or instrument.id
    folder = resources.files("valuecompass.instrument").joinpath("data", "translations")
    found = sorted(p.name.split(".")[1] for p in folder.iterdir() if p.name.startswith(f"{owner}."))
    return [instrument.language, *(lang for lang in found if lang != instrument.language)]


def load_overlay(
    instrument: Instrument, language: str, path: str | Path | None = None
) -> tuple[dict[str, Any], Any, str]:
    """The overlay of INSTRUMENT in LANGUAGE (the bundled one, or the file PATH):
    (data, YAML node, origin)."""
    if path is not None:
        origin = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise _error(f"{origin}: cannot read translation file ({exc.strerror})") from exc
    else:
        owner = instrument.translations or instrument.id
        name = f"{owner}.{language}.yaml"
        bundled = resources.files("valuecompass.instrument").joinpath("data", "translations", name)
        if not bundled.is_file():
            have = ", ".join(overlay_languages(instrument))
            raise _error(
                f"instrument {instrument.id!r} has no {language!r} translation; have: {have}"
            )
        origin, text = f"<bundled translations/{name}>", bundled.read_text(encoding="utf-8")
    data, node = read_mapping(text, origin, _error_type())
    if data.get("language") != language:
        raise _error(f"{origin}: 'language' must be {language!r}, got {data.get('language')!r}")
    return data, node, origin


def overlay_section(instrument: Instrument, language: str, section: str) -> dict[str, Any]:
    """The SECTION of INSTRUMENT's bundled LANGUAGE overlay that another room reads (the
    ``prompts`` texts, the ``survey`` words); empty when the overlay has no such section. An
    instrument with no LANGUAGE overlay is an :class:`InstrumentError` naming what it has."""
    found = load_overlay(instrument, language)[0].get(section) or {}
    if not isinstance(found, dict):
        raise _error(f"{instrument.id} {language} translation: {section!r} must be a mapping")
    return dict(found)


def _error_type() -> Any:
    from valuecompass.instrument._load import InstrumentError

    return InstrumentError


def translate(
    instrument: Instrument, language: str, overlay: str | Path | None = None
) -> Instrument:
    """INSTRUMENT in LANGUAGE: every text the overlay gives (the bundled one, or the file
    OVERLAY), the rest in the base language. A text the instrument lacks is an error."""
    from valuecompass.instrument._instrument import Instrument

    if language == instrument.language:
        return instrument
    texts, node, origin = load_overlay(instrument, language, overlay)
    data = instrument.to_data()
    slots = _slots(data)
    for key_path, text in _flatten(texts).items():
        if key_path not in slots:
            line = line_of(node, key_path)
            where = f" (line {line})" if line is not None else ""
            dotted = ".".join(key_path)
            raise _error(f"{origin}: {dotted}{where}: no such text in {instrument.id!r}")
        container, key = slots[key_path]
        container[key] = text
    data["language"] = language
    return Instrument.model_validate(data)


def missing_translations(
    instrument: Instrument, language: str, overlay: str | Path | None = None
) -> list[str]:
    """Dotted paths of the texts the LANGUAGE overlay leaves out (they stay untranslated)."""
    if language == instrument.language:
        return []
    texts, _, _ = load_overlay(instrument, language, overlay)
    given = set(_flatten(texts))
    return [".".join(path) for path in _slots(instrument.to_data()) if path not in given]


def _flatten(overlay: dict[str, Any]) -> dict[TextPath, str]:
    out: dict[TextPath, str] = {}

    def walk(value: Any, path: TextPath) -> None:
        if isinstance(value, dict):
            for key, child in value.items():
                walk(child, (*path, str(key)))
        else:
            out[path] = str(value)

    for section in SECTIONS:
        if section in overlay:
            walk(overlay[section], (section,))
    return out


def _slots(data: dict[str, Any]) -> dict[TextPath, Slot]:
    """Every translatable text: its overlay path → (the dict holding it, its key)."""
    out: dict[TextPath, Slot] = {("title",): (data, "title"), ("item_noun",): (data, "item_noun")}
    for item in data["items"]:
        base = ("items", item["id"])
        out[(*base, "name")] = (item, "name")
        if item.get("definition"):
            out[(*base, "definition")] = (item, "definition")
        for wording in item["wordings"]:
            out[(*base, "wordings", wording)] = (item["wordings"], wording)
    for grouping in data["groupings"]:
        base = ("groupings", grouping["id"])
        out[(*base, "name")] = (grouping, "name")
        for level in grouping["levels"]:
            out[(*base, "levels", level["id"])] = (level, "name")
    for scale in data["scales"]:
        for kind in ("points", "missing"):
            for point in scale.get(kind) or ():
                out[("scales", scale["id"], kind, point["code"])] = (point, "label")
    for axis in data["axes"]:
        if axis.get("role") != "language":
            out.update(_axis_slots(axis))
    return out


def _axis_slots(axis: dict[str, Any]) -> dict[TextPath, Slot]:
    base = ("axes", axis["id"])
    out: dict[TextPath, Slot] = {(*base, "name"): (axis, "name")}
    for level in axis["levels"]:
        here = (*base, "levels", level["id"])
        out[(*here, "name")] = (level, "name")
        if level.get("text"):
            out[(*here, "text")] = (level, "text")
        for key in level.get("fields") or {}:
            out[(*here, "fields", key)] = (level["fields"], key)
    return out


__all__ = ["missing_translations", "overlay_languages", "translate"]
