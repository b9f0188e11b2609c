"""The run record: what the store keeps about a run, as one typed, versioned model.

A run's manifest (:class:`RunManifest`) is what the runner decides before it asks anything:
the run's name, model, parameters, grid and design. The store adds how the run went and gives
back a :class:`RunRecord`. Both are validated: ``start_run`` takes the model, never a dict, and
every row read back goes through :func:`read_record`, so a damaged or foreign row is one
:class:`RecordError` naming the run and the store.

Records written by earlier versions are upgraded when read, here and nowhere else
(:func:`upgrade`); what they were is listed at :data:`RECORD_VERSION`. Two rules derived from
stored words stay frozen here as well, because changing them would orphan stored runs: the
default run name (:func:`default_name`) and the design digest (:func:`design_digest`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Engine

from valuecompass.instrument import Instrument, instrument_digest
from valuecompass.prompts import Mode
from valuecompass.store._open import StoreError

#: The run record's version, written with every run as ``record_version``.
#:
#: * 1 (no ``record_version``; every run made before it had one): mode ``all`` stored as
#:   ``form``; the grid's items under ``values``; a format-1 grid (a run of the Value Form)
#:   keeps its levels under ``countries`` and ``topics`` instead of ``axes``.
#: * 2: today's words: mode ``all``, the grid as ``axes`` (axis id → levels) and ``items``.
RECORD_VERSION = 2

#: How a run stopped, or that it is under way.
RunStatus = Literal["running", "finished", "interrupted", "failed"]


class RecordError(StoreError):
    """A run record that does not read: damaged, written by another program, or too new."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class RunParams(_Strict):
    """The generation parameters every prompt of the run is asked with."""

    temperature: float = Field(ge=0.0, le=2.0)
    """Sampling temperature, 0 to 2."""

    max_tokens: int = Field(ge=1)
    """Tokens the model may generate per answer (the mode's default when none was given)."""

    seed: int
    """Seed of the first sample; sample *k* is asked with seed + *k*."""

    samples: int = Field(ge=1)
    """Answers asked per prompt."""


class RunGrid(_Strict):
    """What the run asks: the levels of each context axis, the items and the prompt variants."""

    axes: dict[str, list[str]]
    """Context axis id → the level ids asked, in the instrument's axis order (a context is one
    level of each axis)."""

    items: list[str]
    """Ids of the items asked, in the instrument's order."""

    variants: list[int]
    """Indices of the prompt design's variants asked."""


class RunManifest(_Strict):
    """What the store keeps about a run before it asks anything; the same settings resume it."""

    record_version: int = RECORD_VERSION
    """Version of this record's layout (:data:`RECORD_VERSION`); older ones are upgraded."""

    name: str = Field(min_length=1)
    """The run's name, unique in its store; running the same name again resumes it."""

    model: str
    """The backend's exact model identity (e.g. ``mock:answer=hash``); a resumed run must match."""

    spec: str
    """The ``--model`` spec the user gave (``mock``, ``openai:NAME``, ``local:PATH``)."""

    mode: Mode
    """``all``: every item in one prompt; ``item``: one item per prompt."""

    params: RunParams
    """Generation parameters: temperature, max_tokens, seed, samples."""

    grid: RunGrid
    """The axes' levels, items and variants asked."""

    instrument: str
    """SHA-256 (hex) of the instrument: the format-1 digest for the Value Form, so runs made
    before instrument format 2 still match."""

    prompts_digest: str
    """SHA-256 (hex) of the prompt design (:func:`design_digest`)."""

    version: str
    """Version of ValueCompass that started the run."""

    instrument_spec: dict[str, Any] | None = None
    """The whole instrument, in its file's shape (format 2); ``None`` for a run made before
    store schema 4. Read with ``Instrument.model_validate``."""

    prompt_design: dict[str, Any] | None = None
    """The whole prompt design; ``None`` for a run made before store schema 4. Read with
    ``PromptSet.model_validate`` (a rating run) or ``ChoiceDesign.model_validate`` (a choice
    run)."""

    task: Literal["rating", "choice"] = "rating"
    """``rating``: items rated on a scale; ``choice``: one of an item's two actions chosen
    (every run made before store schema 11 is a rating run)."""

    action_set: str | None = None
    """A choice run's action set (its name in the same store); ``None`` for a rating run."""


class RunRecord(RunManifest):
    """A run as stored: its manifest, and how it went."""

    id: int
    """The run's number in its store."""

    status: RunStatus
    """``running``, ``finished``, ``interrupted`` (stopped by the user) or ``failed``."""

    started_at: datetime
    """When the run was first started (UTC)."""

    finished_at: datetime | None = None
    """When it last stopped (UTC); ``None`` while it runs."""

    note: str | None = None
    """Why it stopped, when it did not finish."""

    def summary(self) -> dict[str, Any]:
        """The record as JSON-ready data, without the whole instrument and design."""
        out = self.model_dump(mode="json", exclude={"instrument_spec", "prompt_design"})
        for key in ("started_at", "finished_at"):
            stamp = getattr(self, key)
            out[key] = stamp.isoformat() if stamp else None
        return out


#: Mode ``all``'s old word in a version-1 record.
_V1_ALL = "form"
#: The axes of a version-1 grid kept under ``countries`` and ``topics`` (a format-1 grid: the
#: Value Form's axes).
_V1_AXES = {"countries": "country", "topics": "scenario"}


def upgrade(stored: Mapping[str, Any]) -> dict[str, Any]:
    """A stored run row of any record version as today's fields (still to be validated).

    The one place that knows the old words (see :data:`RECORD_VERSION`); anything it does not
    recognise is left as it is, for validation to name.
    """
    data = dict(stored)
    if (data.get("record_version") or 1) == 1:
        if data.get("mode") == _V1_ALL:
            data["mode"] = "all"
        if "grid" in data:
            data["grid"] = _v1_grid(data["grid"])
        data["record_version"] = 2
    return data


def _v1_grid(grid: object) -> object:
    """A version-1 grid in today's keys; anything else as it is."""
    if not isinstance(grid, Mapping):
        return grid
    out = dict(grid)
    if "axes" not in out and set(_V1_AXES) <= set(out):
        out["axes"] = {axis: out.pop(key) for key, axis in _V1_AXES.items()}
    if "values" in out and "items" not in out:
        out["items"] = out.pop("values")
    return out


def read_record(row: Mapping[str, Any], engine: Engine) -> RunRecord:
    """A stored run ROW as a :class:`RunRecord`; a :class:`RecordError` naming the run and the
    store when it does not read."""
    data = dict(row)
    for key in ("params", "grid", "instrument_spec", "prompt_design"):
        if isinstance(data.get(key), str):
            try:
                data[key] = json.loads(data[key])
            except json.JSONDecodeError as exc:
                raise _damaged(data, engine, f"{key}: not JSON ({exc.msg})") from exc
    version = data.get("record_version") or 1
    if isinstance(version, int) and version > RECORD_VERSION:
        raise RecordError(
            f"{where(engine)}: run {data.get('name')!r} has record version {version}, newer "
            f"than this ValueCompass reads ({RECORD_VERSION}); upgrade ValueCompass"
        )
    try:
        return RunRecord.model_validate(upgrade(data))
    except ValidationError as exc:
        raise _damaged(data, engine, _problems(exc)) from exc


def _problems(exc: ValidationError) -> str:
    shown = [
        f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}" for e in exc.errors()[:4]
    ]
    more = exc.error_count() - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


def _damaged(data: Mapping[str, Any], engine: Engine, problem: str) -> RecordError:
    return RecordError(
        f"{where(engine)}: run {data.get('name')!r} has a record this ValueCompass cannot read "
        f"({problem}); it was damaged or written by another program"
    )


def where(engine: Engine) -> str:
    """The store as messages name it: a SQLite file's path, or the URL without its password."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database:
        return str(url.database)
    return url.render_as_string(hide_password=True)


def default_name(
    spec: str, mode: Mode, grid: RunGrid, samples: int, *, partial: bool, instrument: Instrument
) -> str:
    """The name of a run given none: ``MODEL-MODE``, or ``MODEL-INSTRUMENT-MODE`` for an
    instrument other than the format-1 Value Form, plus a hash of the grid when it asks part
    of it (PARTIAL) or more than one sample.

    Frozen as version 1 wrote it (mode ``all`` as ``form``, the grid hashed in its version-1
    shape), so the same command finds and resumes a run made by any earlier version.
    """
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", spec).strip("-") or "model"
    word = _V1_ALL if mode == "all" else mode
    format1 = _named_as_format1(instrument)
    name = f"{slug}-{word}" if format1 else f"{slug}-{instrument.id}-{word}"
    if partial or samples > 1:
        shape = _as_v1_grid(grid, format1)
        name += "-" + hashlib.sha256(repr((shape, samples)).encode()).hexdigest()[:8]
    return name


def _named_as_format1(instrument: Instrument) -> bool:
    """Whether INSTRUMENT's runs were named and gridded as before instrument format 2: those
    whose record keeps the format-1 digest (the Value Form)."""
    return instrument_digest(instrument) != instrument.spec_digest and len(instrument.axes) == 2


def _as_v1_grid(grid: RunGrid, format1: bool) -> dict[str, Any]:
    """GRID as a version-1 record kept it, keys in their order then (for the name's hash)."""
    if format1:
        first, second = grid.axes.values()
        return {
            "countries": first,
            "topics": second,
            "values": grid.items,
            "variants": grid.variants,
        }
    return {"axes": grid.axes, "values": grid.items, "variants": grid.variants}


def design_digest(design: Mapping[str, Any]) -> str:
    """SHA-256 of a prompt DESIGN (``PromptSet.model_dump(mode="json")``), as runs record it.

    Frozen so a design's digest is what it always was: fields left at their defaults that
    older designs did not have (``layouts``, a variant's ``layout``, a style's ``bullet`` or
    ``wording``/``scale``) are left out, and mode ``all``'s keys are hashed under its old
    name, ``form``.
    """
    data = json.loads(json.dumps(design))  # a copy to trim
    for per_mode in [data["requirements"], data["layout"], *data["layouts"].values()]:
        if per_mode is not None:
            per_mode[_V1_ALL] = per_mode.pop("all")
    if not data["layouts"]:
        del data["layouts"]
    for variant in data["variants"]:
        if variant["layout"] is None:
            del variant["layout"]
    for style in data["styles"].values():
        if style["bullet"] == "- ":
            del style["bullet"]
        for key in ("wording", "scale"):
            if style[key] is None:
                del style[key]
    payload = json.dumps(data, sort_keys=True).encode()
    return hashlib.sha256(payload).hexdigest()
