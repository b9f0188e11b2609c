"""Open-ended answers and codes as tidy tables, read from and written to CSV.

* Answers: one row per answer: ``respondent``, ``scenario``, ``question``, ``text`` (a file
  written before with ``topic`` for ``scenario`` is still read: a deprecated alias).
* Codes: one row per (answer, coder): the answer's keys, ``coder``, ``themes`` (theme ids
  joined by ``;``, empty when the answer expresses none) and ``missing`` (why it has no codes,
  e.g. a model's unreadable reply; empty when coded).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from valuecompass.coding._codebook import Codebook, CodingError
from valuecompass.common import read_frame
from valuecompass.instrument import Instrument, UnknownNameError

KEYS = ["respondent", "scenario", "question"]
#: Deprecated: the column name files written before had for ``scenario``; read, never written.
OLD_SCENARIO = "topic"
ANSWER_COLUMNS = [*KEYS, "text"]
CODE_COLUMNS = [*KEYS, "coder", "themes", "missing"]


def _read(path: Path, required: list[str], what: str) -> pd.DataFrame:
    df = read_frame(path, CodingError)
    if "scenario" not in df.columns and OLD_SCENARIO in df.columns:
        df = df.rename(columns={OLD_SCENARIO: "scenario"})  # deprecated alias
        df.attrs["scenario_column"] = OLD_SCENARIO
    absent = [c for c in required if c not in df.columns]
    if absent:
        raise CodingError(f"{path}: not {what}; missing column(s): {', '.join(absent)}")
    return df


def _scenarios(df: pd.DataFrame, path: Path, instrument: Instrument | None) -> pd.Series:
    if instrument is None:
        return df["scenario"].str.strip()
    out = []
    column = df.attrs.get("scenario_column", "scenario")  # the file's own name for it
    for line, name in enumerate(df["scenario"], start=2):
        try:
            out.append(instrument.level("scenario", name.strip()).id)
        except UnknownNameError as exc:
            raise CodingError(f"{path} line {line}, column {column!r}: {exc}") from exc
    return pd.Series(out, index=df.index)


def read_answers(path: Path, instrument: Instrument | None = None) -> pd.DataFrame:
    """Open-ended answers from a CSV with respondent, scenario, question and text.

    With an instrument, scenarios are checked and mapped to scenario ids (names and aliases are
    accepted). An empty respondent or question is an error naming the line.
    """
    df = _read(path, ANSWER_COLUMNS, "an answer file (respondent, scenario, question, text)")
    for col in ("respondent", "question"):
        empty = df.index[df[col].str.strip() == ""]
        if len(empty):
            raise CodingError(f"{path} line {empty[0] + 2}: column {col!r} is empty")
    df["scenario"] = _scenarios(df, path, instrument)
    df["text"] = df["text"].map(_undefuse)
    return df[ANSWER_COLUMNS].reset_index(drop=True)


def load_answers(src: str | Path, instrument: Instrument | None = None) -> pd.DataFrame:
    """Open-ended answers from a CSV (:func:`read_answers`) or straight from a survey store
    (a SQLite file or a database URL): its finished, non-excluded participants'."""
    from valuecompass.sources import is_store

    if not is_store(str(src)):
        return read_answers(Path(src), instrument)
    from valuecompass.store import StoreError, open_store
    from valuecompass.store.survey import open_answers

    try:
        engine = open_store(str(src), create=False)
    except StoreError as exc:
        raise CodingError(str(exc)) from exc
    try:
        table = open_answers(engine)
    finally:
        engine.dispose()
    if table.empty:
        raise CodingError(f"{src}: the survey store holds no finished participant's open answer")
    return table


_SPREADSHEET_GUARD = re.compile(r"^'(?=[=+\-@\t\r])")


def _undefuse(text: str) -> str:
    """Take off the apostrophe ``survey export`` puts before formula-like text."""
    return _SPREADSHEET_GUARD.sub("", text)


def split_themes(text: str) -> list[str]:
    """``"a; b, c"`` → ``["a", "b", "c"]``."""
    return [t.strip() for t in re.split(r"[;,|]", text) if t.strip()]


def import_codes(
    path: Path, coder: str, codebook: Codebook, instrument: Instrument | None = None
) -> pd.DataFrame:
    """Hand codes from a CSV with respondent, scenario, question and themes (ids or names,
    separated by ``;`` or ``,``; empty for none) as the codes table of CODER.

    An unknown theme is an error naming the line; so is an answer coded twice.
    """
    if not coder.strip():
        raise CodingError("the coder's name is empty")
    df = _read(path, [*KEYS, "themes"], "a code file (respondent, scenario, question, themes)")
    df["scenario"] = _scenarios(df, path, instrument)
    ids = []
    for line, text in enumerate(df["themes"], start=2):
        found = []
        for name in split_themes(text):
            theme = codebook.theme(name)
            if theme is None:
                known = ", ".join(codebook.ids)
                raise CodingError(f"{path} line {line}: unknown theme {name!r}; known: {known}")
            found.append(theme.id)
        ids.append(join_themes(found, codebook))
    twice = df.duplicated(KEYS, keep="first")
    if twice.any():
        line = int(df.index[twice][0]) + 2
        raise CodingError(f"{path} line {line}: this answer is coded twice")
    return pd.DataFrame({**{k: df[k] for k in KEYS}, "coder": coder, "themes": ids, "missing": ""})[
        CODE_COLUMNS
    ]


def join_themes(ids: list[str], codebook: Codebook) -> str:
    """Theme ids in the codebook's order, joined by ``;``."""
    wanted = set(ids)
    return ";".join(t for t in codebook.ids if t in wanted)


def read_codes(path: Path) -> pd.DataFrame:
    """A codes table written by :func:`write_codes`; an absent file is an empty table."""
    if not path.exists():
        return pd.DataFrame(columns=CODE_COLUMNS)
    return _read(path, CODE_COLUMNS, "a codes file")[CODE_COLUMNS]


def merge_codes(existing: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """EXISTING with NEW's rows replacing those of the same answer and coder."""
    both = pd.concat([existing, new], ignore_index=True)
    return both.drop_duplicates([*KEYS, "coder"], keep="last").reset_index(drop=True)


def write_codes(codes: pd.DataFrame, path: Path) -> None:
    """Write the codes table atomically (a temporary file renamed into place)."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        codes[CODE_COLUMNS].to_csv(tmp, index=False)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
