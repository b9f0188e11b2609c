"""Load an instrument from YAML, reporting malformed files by field and line."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from valuecompass._yaml import read_file, read_mapping, validate
from valuecompass.errors import ValueCompassError
from valuecompass.instrument._models import Instrument

DEFAULT_FILE = "value_form.yaml"


class InstrumentError(ValueCompassError, ValueError):
    """An instrument file that cannot be used; the message names the file, field and line."""


def load_instrument(path: str | Path | None = None) -> Instrument:
    """Load the bundled Value Form, or a user's instrument file.

    A user's file may hold a whole instrument, or start with ``base: default`` and give only the
    sections it replaces (``values``, ``scenarios``, ``countries``, ``scales``, ``name``,
    ``version``); the rest come from the bundled form.
    """
    if path is None:
        text = resources.files("valuecompass.instrument").joinpath("data", DEFAULT_FILE)
        return _parse(text.read_text(encoding="utf-8"), f"<bundled {DEFAULT_FILE}>")
    p = Path(path)
    return _parse(read_file(p, "instrument file", InstrumentError), str(p))


def _parse(text: str, origin: str) -> Instrument:
    data, node = read_mapping(text, origin, InstrumentError)
    base = data.pop("base", None)
    if base is not None:
        if base != "default":
            raise InstrumentError(f"{origin}: 'base' must be 'default', got {base!r}")
        merged = load_instrument().model_dump(mode="json")
        merged.update(data)
        data = merged
    return validate(Instrument, data, node, origin, InstrumentError)
