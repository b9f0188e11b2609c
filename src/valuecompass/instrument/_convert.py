"""Between format 1 (the Value Form's old fixed shape) and format 2.

``from_v1`` turns a format-1 file into format 2 data (users have such files); ``legacy_view``
gives a format 2 instrument of the Value Form's shape its deprecated format-1 view, and
``instrument_digest`` the id run manifests record, which is that view's digest where runs
made before format 2 must still resume.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from valuecompass.errors import ValueCompassError
from valuecompass.instrument._instrument import Instrument
from valuecompass.instrument._legacy import (
    Country,
    FormV1,
    MotivationalType,
    Scale,
    ScaleOption,
    Scales,
    Scenario,
    Value,
)
from valuecompass.instrument._parts import AxisLevel, RatingScale

#: The format-1 scales and the wording each belongs to (the old fixed shape).
V1_SCALES = ("human", "agreement", "portrait")
V1_WORDINGS = {"svs": "agreement", "pvq": "portrait"}
_SCENARIO_FIELDS = ("user", "purpose", "scope", "stakes")


class NoLegacyView(ValueCompassError, ValueError):
    """The instrument's shape is not the Value Form's, so the format-1 view does not exist."""


def _type_name(level: str) -> str:
    return level.replace("_", "-").capitalize()


def legacy_view(inst: Instrument) -> FormV1:
    """The deprecated format-1 view of INST: its values, scenarios, countries and the three
    scales ``human``/``agreement``/``portrait``; ``NoLegacyView`` if its shape differs (it needs
    wordings svs/pvq, grouping ``type``, axes ``country`` and ``scenario`` and those scales)."""
    axes = {a.id for a in inst.axes}
    scales = {s.id for s in inst.rating_scales}
    groupings = {g.id for g in inst.groupings}
    need = {"type"} <= groupings and {"country", "scenario"} <= axes and set(V1_SCALES) <= scales
    if not need or not set(V1_WORDINGS) <= set(inst.roles.wordings):
        raise NoLegacyView(
            f"instrument {inst.id!r} has no format-1 view (needs grouping 'type', axes "
            "'country' and 'scenario', scales human/agreement/portrait, wordings svs/pvq)"
        )
    try:
        return _form(inst)
    except ValidationError as exc:
        raise NoLegacyView(f"instrument {inst.id!r} has no format-1 view: {exc}") from exc


def has_legacy_view(inst: Instrument) -> bool:
    """Whether INST has the format-1 view (:func:`legacy_view` gives it)."""
    try:
        legacy_view(inst)
    except NoLegacyView:
        return False
    return True


def instrument_digest(inst: Instrument) -> str:
    """The id run manifests record for INST: the format-1 digest where the old view exists and
    the axes are exactly country, scenario (so runs made before format 2 still resume), else
    the format 2 ``spec_digest``."""
    if [a.id for a in inst.axes] != ["country", "scenario"]:
        return inst.spec_digest
    try:
        return legacy_view(inst).digest
    except NoLegacyView:
        return inst.spec_digest


def _form(inst: Instrument) -> FormV1:
    return FormV1(
        name=inst.title,
        version=inst.version,
        values=tuple(_value(inst, item_id) for item_id in inst.item_ids),
        scenarios=tuple(_scenario(level) for level in inst.axis("scenario").levels),
        countries=tuple(
            Country(id=c.id, name=c.name, aliases=c.aliases) for c in inst.axis("country").levels
        ),
        scales=Scales(**{sid: _v1_scale(inst.scale(sid)) for sid in V1_SCALES}),
    )


def _v1_scale(scale: RatingScale) -> Scale:
    """A format-1 scale: the points with their positions, then the missing codes."""
    rated = [
        ScaleOption(code=p.code, label=p.label, position=x, aliases=p.aliases)
        for p, x in zip(scale.points, scale.positions, strict=True)
    ]
    missing = [
        ScaleOption(code=m.code, label=m.label, position=None, aliases=m.aliases)
        for m in scale.missing
    ]
    return Scale(id=scale.id, description=scale.description, options=(*rated, *missing))


def _value(inst: Instrument, item_id: str) -> Value:
    item = inst.item(item_id)
    kind = MotivationalType(item.groups["type"])
    display = item.groups.get("display_type")
    unassigned = kind is MotivationalType.UNASSIGNED
    return Value(
        id=item.id,
        name=item.name,
        definition=item.definition,
        type=kind,
        near=MotivationalType(display) if unassigned and display else None,
        statement=item.wordings["svs"],
        portrait=item.wordings["pvq"],
        aliases=item.aliases,
    )


def _scenario(level: AxisLevel) -> Scenario:
    fields = {k: level.fields[k] for k in _SCENARIO_FIELDS if k in level.fields}
    return Scenario(
        id=level.id,
        name=level.name,
        vignette=level.text or "",
        illustration=level.illustration,
        aliases=level.aliases,
        **fields,
    )


def from_v1(form: FormV1, instrument_id: str = "value_form") -> dict[str, Any]:
    """Format 2 data for a format-1 form: groupings ``type`` and ``display_type``, the three
    scales (agree end first), roles svs → agreement and pvq → portrait, axes country, scenario."""
    kinds = [t.value for t in MotivationalType]
    shown = [k for k in kinds if k != MotivationalType.UNASSIGNED.value]
    return {
        "format": 2,
        "id": instrument_id,
        "title": form.name,
        "version": form.version,
        "item_noun": "value",
        "language": "en",
        "items": [_item(v) for v in form.values],
        "groupings": [
            _grouping("type", "Motivational type", kinds),
            _grouping("display_type", "Motivational type (as displayed)", shown),
        ],
        "scales": [_scale(getattr(form.scales, sid)) for sid in V1_SCALES],
        "roles": {"people": "human", "wordings": dict(V1_WORDINGS)},
        "axes": [
            {
                "id": "country",
                "name": "Country",
                "levels": [c.model_dump(exclude_defaults=True) for c in form.countries],
            },
            {"id": "scenario", "name": "Scenario", "levels": [_level(s) for s in form.scenarios]},
        ],
    }


def _item(v: Value) -> dict[str, Any]:
    out: dict[str, Any] = {"id": v.id, "name": v.name, "definition": v.definition}
    out["wordings"] = {"svs": v.statement, "pvq": v.portrait}
    out["groups"] = {"type": v.type.value, "display_type": v.display_type.value}
    if v.aliases:
        out["aliases"] = list(v.aliases)
    return out


def _grouping(gid: str, name: str, levels: list[str]) -> dict[str, Any]:
    return {"id": gid, "name": name, "levels": [{"id": k, "name": _type_name(k)} for k in levels]}


def _scale(scale: Scale) -> dict[str, Any]:
    rated = [o for o in scale.options if o.position is not None]
    ends = (rated[0].position or 0.0, rated[-1].position or 0.0)
    points = []
    for o in rated:
        point: dict[str, Any] = {"code": o.code, "label": o.label, "position": o.position}
        if ends[0] != ends[1] and o.position == (ends[0] + ends[1]) / 2:
            point["neutral"] = True
        if o.aliases:
            point["aliases"] = list(o.aliases)
        points.append(point)
    missing = [
        {"code": o.code, "label": o.label, **({"aliases": list(o.aliases)} if o.aliases else {})}
        for o in scale.options
        if o.position is None
    ]
    agree = "first" if ends[0] <= ends[1] else "last"  # format 1: the lower position agrees
    out: dict[str, Any] = {"id": scale.id, "description": scale.description, "agree": agree}
    out["points"] = points
    if missing:
        out["missing"] = missing
    return out


def _level(s: Scenario) -> dict[str, Any]:
    out: dict[str, Any] = {"id": s.id, "name": s.name, "text": s.vignette}
    out["fields"] = {k: getattr(s, k) for k in _SCENARIO_FIELDS}
    if s.illustration:
        out["illustration"] = s.illustration
    if s.aliases:
        out["aliases"] = list(s.aliases)
    return out
