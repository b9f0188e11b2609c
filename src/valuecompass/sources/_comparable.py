"""Whether a model's run and the instrument an analysis reads can be compared.

A run's manifest says which instrument it used: the whole instrument (a mapping in the
instrument file's shape, or its JSON, under any manifest field), or at least its digest (the
``instrument`` field). The run can be read with the analysis's instrument only when the two
have the same items and context axes and the model's wordings are on scales that score alike
(the same agree end and positions); otherwise an alignment would pair unrelated items or
misread positions, so it is refused. Words are not compared: a translated or reworded copy
reads the same answers. A digest that names no bundled instrument says nothing either way:
the analysis's instrument is assumed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from valuecompass.errors import ValueCompassError
from valuecompass.instrument import Instrument, bundled_ids, instrument_digest, load_instrument

if TYPE_CHECKING:
    from valuecompass.store.runs import RunRecord

_SHAPE = {"format", "id", "items", "scales"}
#: Whose answers: people's or a model's.
Side = Literal["humans", "llm"]


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


def record_instrument(record: RunRecord) -> Instrument | None:
    """The instrument a stored run RECORD was made with: its stored copy (runs from store
    schema 4 on), else the bundled instrument its digest names; ``None`` when it cannot say."""
    if record.instrument_spec is not None:
        return Instrument.model_validate(record.instrument_spec)
    return run_instrument({"instrument": record.instrument})


def _scoring(inst: Instrument, side: Side) -> dict[str, tuple[str, str, tuple[float, ...]]]:
    """What scores SIDE's answers: wording → (scale id, agree end, positions) of the scale a
    model answers it on, or the people scale under ``""`` for people."""
    scales = (
        {"": inst.people_scale}
        if side == "humans"
        else {w: inst.scale_for(w) for w in inst.wording_ids}
    )
    return {w: (s.id, s.agree, s.positions) for w, s in scales.items()}


def _scale_words(scoring: tuple[str, str, tuple[float, ...]] | None) -> str:
    if scoring is None:
        return "no such wording"
    scale, agree, positions = scoring
    points = ", ".join(f"{p:g}" for p in positions)
    return f"scale {scale!r}, agree {agree}, positions {points}"


def _listed(ids: list[str], limit: int = 4) -> str:
    shown = ", ".join(ids[:limit]) or "none"
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def difference(
    used: Instrument, given: Instrument, side: Side = "llm", labels: tuple[str, str] = ("", "")
) -> str | None:
    """What keeps SIDE's answers given on USED from being read with GIVEN, as ``their ...
    differ (...)`` with LABELS naming each instrument's part, or ``None`` when nothing does.

    Only what reads or scores a stored answer counts: item and context axis ids, and each
    scale's agree end and positions (a model's wordings' for ``llm``, the people scale for
    ``humans``). Words (titles, names, definitions, wording texts, labels: a translation or a
    rewording), groupings and each axis's levels may differ.
    """
    a, b = labels[0] or f"{used.id!r}", labels[1] or f"{given.id!r}"
    if set(used.item_ids) != set(given.item_ids):
        extra = [i for i in used.item_ids if i not in set(given.item_ids)]
        lacking = [i for i in given.item_ids if i not in set(used.item_ids)]
        return (
            f"their items differ ({len(used.item_ids)} in {a}, {len(given.item_ids)} in {b}; "
            f"only in {a}: {_listed(extra)}; only in {b}: {_listed(lacking)})"
        )
    axes = [[x.id for x in inst.context_axes] for inst in (used, given)]
    if set(axes[0]) != set(axes[1]):
        return (
            f"their context axes differ ({_listed(axes[0], 8)} in {a}; "
            f"{_listed(axes[1], 8)} in {b})"
        )
    ours, theirs = _scoring(given, side), _scoring(used, side)
    differ = [w for w in theirs if ours.get(w) != theirs[w]]
    if not differ:
        return None
    first = differ[0]
    what = f"wording {first!r}" if first else "the people scale"
    more = f", and {len(differ) - 1} more wording(s)" if len(differ) > 1 else ""
    return (
        f"their scale for {what} differs ({_scale_words(theirs[first])} in {a}; "
        f"{_scale_words(ours.get(first))} in {b}{more})"
    )


def check_comparable(used: Instrument, given: Instrument, where: str, side: Side = "llm") -> None:
    """:class:`IncomparableError` naming WHERE unless SIDE's answers, given on USED (the
    instrument the run or the study kept), can be read with GIVEN (the analysis's): see
    :func:`difference` for what must agree."""
    made = "the run used" if side == "llm" else "the people answered"
    same = used.id == given.id
    names = ("the run's" if side == "llm" else "the study's", "the one given") if same else ("", "")
    found = difference(used, given, side, names)
    if found is None:
        return
    head = (
        f"{made} another version of instrument {used.id!r} than the one given"
        if same
        else f"{made} instrument {used.id!r}, not {given.id!r} as given"
    )
    raise IncomparableError(
        f"{where}: {head}: {found}, so the answers cannot be compared (give the instrument "
        "they were made with, or leave --instrument out to read the one the store kept)"
    )


def check_run(manifest: Mapping[str, Any] | None, given: Instrument, where: str) -> None:
    """:func:`check_comparable` for the instrument a run's MANIFEST names, when it names one."""
    used = run_instrument(manifest)
    if used is not None:
        check_comparable(used, given, where)
