"""Whether a model's run and the instrument an analysis reads can be compared.

A run's manifest says which instrument it used: the whole instrument (a mapping in the
instrument file's shape, or its JSON, under any manifest field), or at least its digest (the
``instrument`` field). The run can be read with the analysis's instrument only when the two
have the same items and the model's wordings are on scales that score alike; otherwise an
alignment would pair unrelated items or misread positions, so it is refused. A digest that
names no bundled instrument says nothing either way: the analysis's instrument is assumed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from valuecompass.errors import ValueCompassError
from valuecompass.instrument import Instrument, bundled_ids, instrument_digest, load_instrument

_SHAPE = {"format", "id", "items", "scales"}


class IncomparableError(ValueCompassError, ValueError):
    """A run made with an instrument whose items or scales differ from the analysis's."""


def _as_instrument(value: object) -> Instrument | None:
    data = value
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            data = json.loads(value)
        except json.JSONDecodeError:
            return None
    if isinstance(data, Mapping) and set(data) >= _SHAPE:
        return Instrument.model_validate(dict(data))
    return None


def run_instrument(manifest: Mapping[str, Any] | None) -> Instrument | None:
    """The instrument a run's MANIFEST says it used, or ``None`` when it cannot say.

    Looks for a whole instrument among the manifest's fields (and one level down, e.g. in
    ``params``), else matches the ``instrument`` digest against the bundled instruments.
    """
    if not manifest:
        return None
    fields = list(manifest.values())
    fields += [v for m in manifest.values() if isinstance(m, Mapping) for v in m.values()]
    for value in fields:
        found = _as_instrument(value)
        if found is not None:
            return found
    digest = manifest.get("instrument")
    if isinstance(digest, str) and digest:
        for inst_id in bundled_ids():
            inst = load_instrument(inst_id)
            if digest in (instrument_digest(inst), inst.spec_digest):
                return inst
    return None


def _scoring(inst: Instrument) -> dict[str, tuple[str, tuple[float, ...]]]:
    """Wording → (agree end, positions) of the scale a model answers it on."""
    return {w: (inst.scale_for(w).agree, inst.scale_for(w).positions) for w in inst.wording_ids}


def check_comparable(used: Instrument, given: Instrument, where: str) -> None:
    """:class:`IncomparableError` naming WHERE unless USED (the run's instrument) and GIVEN
    (the analysis's) have the same items and score the model's wordings alike."""
    if set(used.item_ids) != set(given.item_ids):
        only = sorted(set(used.item_ids) - set(given.item_ids))[:4]
        raise IncomparableError(
            f"{where}: the run used instrument {used.id!r} ({len(used.item_ids)} items, e.g. "
            f"{', '.join(only)}), not {given.id!r} ({len(given.item_ids)} items); their items "
            f"differ, so the answers cannot be compared (pass --instrument {used.id} with "
            "people's answers to that instrument)"
        )
    ours, theirs = _scoring(given), _scoring(used)
    differ = sorted(w for w in theirs if ours.get(w) != theirs[w])
    if differ:
        raise IncomparableError(
            f"{where}: the run used instrument {used.id!r}, whose scale for wording(s) "
            f"{', '.join(differ)} differs from {given.id!r}'s; the answers cannot be compared"
        )


def check_run(manifest: Mapping[str, Any] | None, given: Instrument, where: str) -> None:
    """:func:`check_comparable` for the instrument a run's MANIFEST names, when it names one."""
    used = run_instrument(manifest)
    if used is not None:
        check_comparable(used, given, where)
