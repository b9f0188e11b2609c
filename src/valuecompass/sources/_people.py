"""People's side of the value–action gap: a survey store's ratings and choices, and a tidy
choice CSV (``survey export --choices``).

A store given without ``#RUN`` is read as people when it holds people who finished the
survey and either no model runs or people's choices (a choice study); otherwise as a model
run, as before. People's ratings keep their scale (the instrument's people scale), so the gap
reads them on it; their choices are the tidy choice table with ``source="humans"`` and a
``respondent`` per participant.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from valuecompass import answers as ans
from valuecompass.answers import INCLINATIONS
from valuecompass.common import read_rows
from valuecompass.errors import ValueCompassError
from valuecompass.instrument import Instrument, context_columns
from valuecompass.sources._gap_release import GapFileError, Places, axis_columns, require
from valuecompass.sources._load import is_store

#: Columns a tidy choice CSV must have (with one per context axis).
CHOICE_CSV = ("source", "value", "inclination")


def is_people_store(src: str | Path) -> bool:
    """Whether SRC is a store without ``#RUN`` whose people are read (see the module)."""
    text = str(src)
    if not is_store(text) or ("#" in text and not Path(text).exists()):
        return False
    from valuecompass.store import open_store, runs
    from valuecompass.store import survey as people

    try:
        engine = open_store(text, create=False)
    except ValueCompassError:  # reading it as a run says why it cannot be opened
        return False
    try:
        if not people.has_people(engine):
            return False
        return not runs.list_runs(engine) or people.has_choices(engine)
    finally:
        engine.dispose()


def _report(shown: str, table: pd.DataFrame) -> ans.ImportReport:
    report = ans.ImportReport(source=shown, rows=len(table), answers=len(table))
    report.respondents = int(table["respondent"].nunique())
    report.store = True
    report.missing.update(m for m in table["missing"] if m)
    return report


def people_stated(src: str | Path, instrument: Instrument) -> tuple[pd.DataFrame, ans.ImportReport]:
    """The ratings of the people who finished the survey in the store SRC, each row on the
    instrument's people scale (its ``scale`` column)."""
    from valuecompass.store import open_store, redact
    from valuecompass.store import survey as people

    engine = open_store(str(src), create=False)
    try:
        table = people.human_answers(engine, instrument)
    finally:
        engine.dispose()
    table = table.assign(scale=instrument.people_scale.id)
    return table, _report(redact(str(src)), table)


def people_choices(
    src: str | Path, instrument: Instrument
) -> tuple[pd.DataFrame, ans.ImportReport]:
    """The choices of the people who finished a choice study in the store SRC, as the tidy
    choice table; a store whose survey has no choices is refused."""
    from valuecompass.store import open_store, redact
    from valuecompass.store import survey as people

    shown = redact(str(src))
    engine = open_store(str(src), create=False)
    try:
        if not people.has_choices(engine):
            raise GapFileError(
                f"{shown}: its survey asked ratings only, no choices (a choice study is "
                "served with survey serve --actions SET); give it as --stated"
            )
        table = people.human_choices(engine, instrument)
    finally:
        engine.dispose()
    report = _report(shown, table)
    report.notes.append("people's choices between the actions of a choice study")
    return table, report


def is_choice_csv(header: list[str]) -> bool:
    """Whether a CSV header is a tidy choice table's (it has ``inclination``)."""
    return "inclination" in header and "position" not in header


def read_choice_csv(path: Path, instrument: Instrument) -> tuple[pd.DataFrame, ans.ImportReport]:
    """A tidy choice CSV (``survey export --choices``) as the tidy choice table. Refused with
    file, line and column: a missing column, a level or item the instrument lacks, an
    inclination of neither kind, an option that is not 1 or 2."""
    rows = read_rows(path, GapFileError)
    require(path, rows.header, CHOICE_CSV, "a tidy choice CSV")
    columns = axis_columns(path, rows.header, instrument)
    places = Places(instrument, columns)
    records = []
    for line, row in rows:
        where = f"{path} line {line}"
        context = dict(zip(columns, places.context(row, where), strict=True))
        inclination = row["inclination"].strip()
        if inclination and inclination not in INCLINATIONS:
            raise GapFileError(
                f"{where}, column 'inclination': {inclination!r} is not one of "
                f"{', '.join(INCLINATIONS)}"
            )
        option = row.get("option", "").strip()
        if option not in ("", "1", "2"):
            raise GapFileError(f"{where}, column 'option': {option!r} is not 1 or 2")
        variant = row.get("variant", "").strip()
        records.append({
            "source": row["source"], **context, "value": places.item(row, where),
            "respondent": row.get("respondent", ""), "variant": int(variant) if variant else None,
            "sample": int(row.get("sample", "") or 0), "inclination": inclination,
            "option": int(option) if option else None, "raw": row.get("raw", ""),
            "missing": row.get("missing", "") or ("" if inclination else "absent"),
        })  # fmt: skip
    table = ans.choice_frame(records, context_columns(instrument))
    report = ans.ImportReport(source=str(path), files=1, rows=len(rows.rows), answers=len(table))
    report.respondents = int(table["respondent"].replace("", pd.NA).nunique())
    report.missing.update(m for m in table["missing"] if m)
    return table, report
