"""Instruments as data (format 2): items, wordings, groupings, scales, roles and context axes.

``load_instrument(ID|PATH|None)`` returns an ``Instrument``; ``bundled_ids()`` lists the
bundled ones. ``translate(instrument, lang)`` applies a translation overlay and
``missing_translations`` lists what it leaves out; ``overlay_section`` gives an overlay's
texts for other rooms (prompts, survey). ``instrument_digest`` is the id a run's manifest
records. The Value Form's old shape (format 1: ``FormV1`` with ``Value``, ``Scenario``,
``Country``, ``Scales`` of ``Scale`` and ``ScaleOption``, ``MotivationalType``) remains as a
deprecated view that ``legacy_view(instrument)`` derives from an instrument of that shape.
"""

from valuecompass.instrument._convert import (
    NoLegacyView,
    has_legacy_view,
    instrument_digest,
    legacy_view,
)
from valuecompass.instrument._grouping import (
    AXIS_ALIASES,
    GROUPS,
    GroupBy,
    GroupingError,
    GroupRule,
    context_columns,
    group_rule,
    group_rules,
)
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
from valuecompass.instrument._load import InstrumentError, bundled_ids, load_instrument
from valuecompass.instrument._names import UnknownNameError
from valuecompass.instrument._parts import (
    ID_MAX,
    ID_RULE,
    THRESHOLD,
    Axis,
    AxisLevel,
    Grouping,
    Id,
    Item,
    Level,
    MissingCode,
    Point,
    RatingScale,
    Roles,
    check_id,
)
from valuecompass.instrument._translate import (
    missing_translations,
    overlay_languages,
    overlay_section,
    translate,
)

__all__ = [
    "AXIS_ALIASES",
    "GROUPS",
    "ID_MAX",
    "ID_RULE",
    "THRESHOLD",
    "Axis",
    "AxisLevel",
    "Country",
    "FormV1",
    "GroupBy",
    "GroupRule",
    "Grouping",
    "GroupingError",
    "Id",
    "Instrument",
    "InstrumentError",
    "Item",
    "Level",
    "MissingCode",
    "MotivationalType",
    "NoLegacyView",
    "Point",
    "RatingScale",
    "Roles",
    "Scale",
    "ScaleOption",
    "Scales",
    "Scenario",
    "UnknownNameError",
    "Value",
    "bundled_ids",
    "check_id",
    "context_columns",
    "group_rule",
    "group_rules",
    "has_legacy_view",
    "instrument_digest",
    "legacy_view",
    "load_instrument",
    "missing_translations",
    "overlay_languages",
    "overlay_section",
    "translate",
]
