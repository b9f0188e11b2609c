"""Action sets from files: a tidy CSV or JSONL a person may write, or the study's release.

A tidy file has a column per context axis of the instrument (its id; ``topic`` is read for
``scenario``), ``value`` (the item's id, name or alias), ``inclination`` (``expresses`` or
``opposes``; the release's ``positive`` and ``negative`` are read too) and ``action``; and may
have ``spans`` (a JSON list of strings, or spans separated by ``|``), ``explanation``,
``source`` (``imported`` if absent: the file and line are its detail; ``generated`` or
``person`` otherwise), ``source_detail`` (a JSON object) and ``missing`` (why an action is
absent; its ``action`` is then empty). A JSONL file has one object per line with those keys
(a list or object may be given as such). ``valuecompass actions export`` writes this layout;
the verdict columns ``actions export --reviewed`` adds (``reviews``, ``intended_yes`` ...,
``passed``) are read and left out, since a set's reviews are its own.

Refused with file, line and column, so that nothing of a refused file is stored: a row the
instrument cannot place (unknown level or item), an inclination of neither kind, a pair
(context × item) given one inclination twice or only one of the two, bad ``spans`` or
``source_detail`` JSON, an empty action with no reason, an unknown column.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from valuecompass.answers import Inclination
from valuecompass.common import read_rows, read_text
from valuecompass.instrument import Instrument, instrument_digest
from valuecompass.sources._actions_release import is_release_header, release_rows
from valuecompass.sources._gap_release import GapFileError, Places, axis_columns, require
from valuecompass.store import actions as store
from valuecompass.store.reviews import VERDICT_COLUMNS

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy import Engine

INCLINATION_WORDS: dict[str, Inclination] = {
    "expresses": "expresses", "opposes": "opposes", "positive": "expresses", "negative": "opposes",
}  # fmt: skip
REQUIRED = ("value", "inclination", "action")
OPTIONAL = ("spans", "explanation", "source", "source_detail", "missing")


class ActionFileError(GapFileError):
    """An actions file that cannot be imported as it stands."""


@dataclass(frozen=True)
class ActionFile:
    """A file's actions placed by the instrument: rows for :func:`store.save_set`."""

    path: Path
    axes: list[str]
    rows: list[dict[str, Any]]


def read_action_file(path: Path, instrument: Instrument) -> ActionFile:
    """The actions in PATH (tidy CSV, JSONL, or the release's CSV), checked (see the module)."""
    if path.suffix.lower() == ".jsonl":
        lines = _jsonl_rows(path)
        header = list(dict.fromkeys(k for _, row in lines for k in row))
        columns = _tidy_columns(path, header, instrument)
    else:
        rows = read_rows(path, ActionFileError)
        if is_release_header(rows.header):
            lines = release_rows(path)
            columns = axis_columns(path, rows.header, instrument)
        else:
            lines = rows.rows
            columns = _tidy_columns(path, rows.header, instrument)
    places = Places(instrument, columns)
    seen: dict[tuple[str, ...], dict[str, int]] = {}
    out = []
    for line, row in lines:
        where = f"{path} line {line}"
        context = places.context(row, where)
        item = places.item(row, where)
        inclination = _inclination(row["inclination"], where)
        sides = seen.setdefault((*context, item), {})
        if inclination in sides:
            raise ActionFileError(
                f"{where}, column 'inclination': a second {inclination!r} action for "
                f"{'/'.join((*context, item))} (the first is on line {sides[inclination]})"
            )
        sides[inclination] = line
        pairs = list(zip(columns, context, strict=True))
        out.append({"context": pairs, "item": item, "inclination": inclination,
                    **_fields(path, line, row)})  # fmt: skip
    _check_pairs(path, seen)
    return ActionFile(path, list(columns), out)


def import_actions(
    engine: Engine | Callable[[], Engine],
    path: Path,
    name: str,
    instrument: Instrument,
    note: str = "",
) -> tuple[store.ActionSet, int]:
    """Read PATH and store its actions as the set NAME, all or nothing; the set and how many
    actions were new (importing the same file again adds none). ENGINE may be a function that
    opens the store: it is called only once the file has been read, so a refused file leaves
    no new store behind."""
    found = read_action_file(path, instrument)
    engine = engine() if callable(engine) else engine
    digest = instrument_digest(instrument)
    return store.save_set(engine, name, instrument.id, digest, found.axes, found.rows, note)


def write_action_csv(table: pd.DataFrame, path: Path) -> None:
    """Write a set's table (:func:`valuecompass.store.actions.set_actions`) as a tidy CSV
    that :func:`read_action_file` reads back as it was (spans and source detail as JSON)."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(table.columns)
        for row in table.itertuples(index=False):
            writer.writerow(_cell(v) for v in row)


def _tidy_columns(path: Path, header: list[str], instrument: Instrument) -> dict[str, str]:
    require(path, header, REQUIRED, "an actions file")
    columns = axis_columns(path, header, instrument)
    known_columns = {*columns.values(), *REQUIRED, *OPTIONAL, *VERDICT_COLUMNS}
    unknown = [c for c in header if c not in known_columns]
    if unknown:
        known = ", ".join([*columns, *REQUIRED, *OPTIONAL])
        raise ActionFileError(
            f"{path} line 1: unknown column(s) {', '.join(map(repr, unknown))} (an actions "
            f"file has: {known})"
        )
    return columns


def _jsonl_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """Each line's object, its values as a CSV cell's text (a list or object as JSON)."""
    out = []
    for line, text in enumerate(read_text(path, ActionFileError).splitlines(), start=1):
        if not text.strip():
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ActionFileError(f"{path} line {line}: not JSON ({exc.msg})") from exc
        if not isinstance(data, dict):
            raise ActionFileError(f"{path} line {line}: not a JSON object")
        out.append((line, {str(k): _cell(v) for k, v in data.items()}))
    return out


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _inclination(text: str, where: str) -> Inclination:
    key = text.strip().lower()
    if key not in INCLINATION_WORDS:
        valid = ", ".join(INCLINATION_WORDS)
        raise ActionFileError(f"{where}, column 'inclination': {text!r} is not one of {valid}")
    return INCLINATION_WORDS[key]


def _fields(path: Path, line: int, row: dict[str, str]) -> dict[str, Any]:
    """The action's own fields from ROW, checked."""
    where = f"{path} line {line}"
    action, missing = row["action"].strip(), row.get("missing", "").strip()
    if missing and missing not in store.MISSING_REASONS:
        valid = ", ".join(store.MISSING_REASONS)
        raise ActionFileError(f"{where}, column 'missing': {missing!r} is not one of {valid}")
    if not action and not missing:
        raise ActionFileError(f"{where}, column 'action': empty (give the action, or a reason "
                              "in a 'missing' column)")  # fmt: skip
    source = row.get("source", "").strip() or "imported"
    if source not in store.SOURCES:
        valid = ", ".join(store.SOURCES)
        raise ActionFileError(f"{where}, column 'source': {source!r} is not one of {valid}")
    if "source" in row and row["source"].strip():
        detail = _json(row.get("source_detail", ""), dict, where, "source_detail") or {}
    else:
        detail = {"file": str(path), "line": line}
    return {"text": action, "spans": _spans(row.get("spans", ""), where),
            "explanation": row.get("explanation", "").strip(), "source": source,
            "source_detail": detail, "missing": missing or None}  # fmt: skip


def _spans(text: str, where: str) -> list[str]:
    """``spans``: a JSON list of strings (starting with ``[``), or spans split at ``|``."""
    if not text.strip().startswith("["):
        return [part.strip() for part in text.split("|") if part.strip()]
    found = _json(text, list, where, "spans")
    if not all(isinstance(s, str) for s in found):
        raise ActionFileError(f"{where}, column 'spans': not a JSON list of strings")
    return [s.strip() for s in found]


def _json(text: str, kind: type, where: str, column: str) -> Any:
    if not text.strip():
        return kind()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ActionFileError(f"{where}, column {column!r}: not valid JSON ({exc.msg})") from exc
    if not isinstance(data, kind):
        what = "list" if kind is list else "object"
        raise ActionFileError(f"{where}, column {column!r}: not a JSON {what}")
    return data


def _check_pairs(path: Path, seen: dict[tuple[str, ...], dict[str, int]]) -> None:
    """Every pair has both inclinations; the first that lacks one is refused."""
    for key, sides in seen.items():
        if len(sides) != 2:
            lacking = next(i for i in ("expresses", "opposes") if i not in sides)
            raise ActionFileError(
                f"{path} line {min(sides.values())}, column 'inclination': the pair "
                f"{'/'.join(key)} has no {lacking!r} action (each pair needs both)"
            )
