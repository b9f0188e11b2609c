"""Load an instrument: a bundled one by id, or a user's file (format 2, or format 1).

Malformed files are reported by file, field and line.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from valuecompass.common import describe, line_of, read_file, read_mapping, validate
from valuecompass.errors import ValueCompassError
from valuecompass.instrument._convert import from_v1, legacy_view
from valuecompass.instrument._instrument import Instrument
from valuecompass.instrument._legacy import FormV1
from valuecompass.instrument._refs import problems

DEFAULT_ID = "value_form"


def _discover() -> dict[str, str]:
    """Every ``<id>.yaml`` under instrument/data/ (not its translation overlays): adding an
    instrument to the package is adding its file. The Value Form first, then by id."""
    data = resources.files("valuecompass.instrument").joinpath("data")
    names = [f.name for f in data.iterdir() if f.name.endswith(".yaml") and f.is_file()]
    ids = sorted(n.removesuffix(".yaml") for n in names)
    ordered = [DEFAULT_ID, *(i for i in ids if i != DEFAULT_ID)]
    return {i: f"{i}.yaml" for i in ordered if f"{i}.yaml" in names}


#: Bundled instruments: id → file under instrument/data/ (the file's ``id`` must match).
BUNDLED = _discover()
#: Old names of bundled instruments (``base: default`` in format-1 files).
ALIASES = {"default": "value_form"}
_V1_KEYS = {"name", "version", "values", "scenarios", "countries", "scales"}


class InstrumentError(ValueCompassError, ValueError):
    """An instrument file that cannot be used; the message names the file, field and line."""


def bundled_ids() -> list[str]:
    """The ids of the bundled instruments, in registry order."""
    return list(BUNDLED)


def load_instrument(source: str | Path | None = None) -> Instrument:
    """The instrument SOURCE names: a bundled id, a file path, or ``None`` (the Value Form).

    A file may be a whole format 2 instrument; or start with ``base: <id>`` and give only the
    top-level sections it replaces (``extend_axes:`` appends axes to the base's); or be a
    format-1 file (``values``/``scenarios``/``countries``/``scales``, optionally with
    ``base: default``), which is converted to format 2.
    """
    if source is None:
        return _bundled(DEFAULT_ID)
    key = str(source)
    path = Path(source)
    if not path.exists() and ALIASES.get(key, key) in BUNDLED:
        return _bundled(ALIASES.get(key, key))
    if not path.exists():
        known = ", ".join(BUNDLED)
        raise InstrumentError(f"{path}: no such instrument file; bundled ids: {known}")
    return _parse(read_file(path, "instrument file", InstrumentError), str(path))


@cache
def _bundled(instrument_id: str) -> Instrument:
    name = BUNDLED[instrument_id]
    text = resources.files("valuecompass.instrument").joinpath("data", name)
    instrument = _parse(text.read_text(encoding="utf-8"), f"<bundled {name}>")
    if instrument.id != instrument_id:
        raise InstrumentError(
            f"<bundled {name}>: its id is {instrument.id!r}, not {instrument_id!r}"
        )
    return instrument


def _parse(text: str, origin: str) -> Instrument:
    data, node = read_mapping(text, origin, InstrumentError)
    base = data.pop("base", None)
    if base is not None:
        base_id = ALIASES.get(str(base), str(base))
        if base_id not in BUNDLED:
            known = ", ".join(["default", *BUNDLED])
            raise InstrumentError(
                f"{origin}: 'base' must be 'default' or a bundled id ({known}), got {base!r}"
            )
        if "format" not in data and set(data) <= _V1_KEYS:
            return _from_v1(data, node, origin, _bundled(base_id))
        return _v2(_over_base(data, _bundled(base_id)), node, origin)
    if "format" not in data and "values" in data:
        return _from_v1(data, node, origin, None)
    return _v2(data, node, origin)


def _over_base(data: dict[str, Any], base: Instrument) -> dict[str, Any]:
    merged = base.to_data()
    extra_axes = data.pop("extend_axes", None)
    merged.update(data)
    if extra_axes is not None:
        merged["axes"] = [*merged["axes"], *(extra_axes if isinstance(extra_axes, list) else [])]
    return merged


def _from_v1(
    data: dict[str, Any], node: yaml.Node | None, origin: str, base: Instrument | None
) -> Instrument:
    """A format-1 file (whole, or over a bundled base) converted to format 2."""
    replaces_values = "values" in data
    if base is not None:
        data = {**legacy_view(base).model_dump(mode="json"), **data}
    form = validate(FormV1, data, node, origin, InstrumentError)
    converted = from_v1(form, base.id if base is not None else "custom")
    if base is not None and not replaces_values:
        kept = base.to_data()
        converted["items"], converted["groupings"] = kept["items"], kept["groupings"]
    return _v2(converted, None, origin)


def _v2(data: dict[str, Any], node: yaml.Node | None, origin: str) -> Instrument:
    """Validate format 2 DATA: fields first, then every cross-reference, each with its line."""
    try:
        draft = Instrument.model_validate(data, context={"defer_references": True})
    except ValidationError as exc:
        raise InstrumentError(describe(exc, node, origin)) from exc
    found = problems(draft)
    if found:
        lines = [f"{origin}: {len(found)} problem(s)"]
        for loc, message in found[:20]:
            line = line_of(node, loc)
            where = f" (line {line})" if line is not None else ""
            lines.append(f"  {'.'.join(map(str, loc))}{where}: {message}")
        raise InstrumentError("\n".join(lines))
    return Instrument.model_validate(data)
