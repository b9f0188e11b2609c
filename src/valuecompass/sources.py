"""Resolve a ``--humans`` or ``--llm`` SRC into a tidy answer table.

A SRC is one of:

* a folder in the paper's released layout (its root, ``humans/``, ``llm_outputs/`` or one
  model's folder under it);
* a people's CSV with ``PID``, ``location`` and one column per value;
* a tidy answer CSV written by ``valuecompass runs export`` or ``survey export``;
* a store (a SQLite file or a database URL): a model run with ``--llm STORE#RUN`` (the run
  name may be left out when the store holds one run), the survey's people with ``--humans``.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Literal

import pandas as pd
from sqlalchemy import Engine

from valuecompass import answers as ans
from valuecompass.errors import ValueCompassError
from valuecompass.humans import read_human_csv, read_human_folder
from valuecompass.instrument import Instrument
from valuecompass.released import FILE_GLOB, model_folders, read_model_folder

Side = Literal["humans", "llm"]


class SourceError(ValueCompassError, ValueError):
    """A SRC that names nothing readable."""


def load_source(
    src: str | Path, instrument: Instrument, side: Side
) -> tuple[pd.DataFrame, ans.ImportReport]:
    """Read SRC as people's answers (``side="humans"``) or a model's (``side="llm"``)."""
    text = str(src)
    if _is_store(text):
        return _load_store(text, instrument, side)
    path = Path(src)
    if not path.exists():
        raise SourceError(f"{path}: no such file or folder")
    if path.is_file():
        return _load_file(path, instrument)
    return _load_folder(path, instrument, side)


def _load_file(path: Path, instrument: Instrument) -> tuple[pd.DataFrame, ans.ImportReport]:
    if path.suffix.lower() != ".csv":
        raise SourceError(f"{path}: expected a CSV file or a folder in the released layout")
    try:
        header = pd.read_csv(path, nrows=0).columns
    except pd.errors.EmptyDataError as exc:
        raise SourceError(f"{path}: the file is empty") from exc
    if "PID" in header and "location" in header:
        return read_human_csv(path, instrument)
    if {"source", "value", "position"} <= set(header):
        table = ans.read_csv(path)
        report = ans.ImportReport(source=str(path), files=1, rows=len(table), answers=len(table))
        report.missing.update(m for m in table["missing"] if m)
        return table, report
    raise SourceError(
        f"{path}: neither a people's CSV (PID, location, value columns) "
        "nor a tidy answer CSV (source, country, topic, value, position, ...)"
    )


def _load_folder(
    path: Path, instrument: Instrument, side: Side
) -> tuple[pd.DataFrame, ans.ImportReport]:
    if any(path.glob(FILE_GLOB)):
        if side == "humans":
            raise SourceError(f"{path}: holds model outputs, not people's answers")
        return read_model_folder(path, instrument)
    if side == "humans":
        folder = path / "humans" if (path / "humans").is_dir() else path
        if any(folder.glob("*.csv")):
            return read_human_folder(folder, instrument)
    else:
        root = path / "llm_outputs" if (path / "llm_outputs").is_dir() else path
        models = model_folders(root)
        if len(models) == 1:
            return read_model_folder(models[0], instrument)
        if models:
            names = ", ".join(str(m) for m in models)
            raise SourceError(f"{path}: holds {len(models)} models; pass one of: {names}")
    raise SourceError(
        f"{path}: a folder in no known layout (expected the released layout's humans/ or "
        f"llm_outputs/<model>/{FILE_GLOB})"
    )


SQLITE_MAGIC = b"SQLite format 3\x00"


def _is_store(text: str) -> bool:
    """A database URL, or a SQLite file (optionally with ``#RUN``)."""
    if "://" in text:
        return True
    path = Path(text.split("#", 1)[0])
    if not path.is_file():
        return False
    with path.open("rb") as fh:
        return fh.read(16) == SQLITE_MAGIC


def _load_store(
    text: str, instrument: Instrument, side: Side
) -> tuple[pd.DataFrame, ans.ImportReport]:
    from valuecompass.store import open_store

    location, _, run_name = text.partition("#")
    engine = open_store(location, create=False)
    try:
        if side == "humans":
            survey = importlib.import_module("valuecompass.store.survey")
            table = survey.human_answers(engine, instrument)
            report = ans.ImportReport(source=location, rows=len(table), answers=len(table))
            report.respondents = int(table["respondent"].nunique())
        else:
            table, report = _load_run(engine, location, run_name)
    finally:
        engine.dispose()
    report.missing.update(m for m in table["missing"] if m)
    return table, report


def _load_run(
    engine: Engine, location: str, run_name: str
) -> tuple[pd.DataFrame, ans.ImportReport]:
    from valuecompass.store import runs

    records = runs.list_runs(engine)
    if not records:
        raise SourceError(f"{location}: the store holds no model runs")
    if not run_name and len(records) > 1:
        names = ", ".join(r.name for r in records)
        raise SourceError(
            f"{location}: holds {len(records)} runs; name one as {location}#RUN: {names}"
        )
    record = runs.get_run(engine, run_name) if run_name else records[0]
    if record is None:
        names = ", ".join(r.name for r in records)
        raise SourceError(f"{location}: no run {run_name!r}; runs there: {names}")
    table = runs.run_answers(engine, record)
    report = ans.ImportReport(
        source=f"{location}#{record.name}", rows=len(table), answers=len(table)
    )
    report.manifest = record.manifest()
    return table, report
