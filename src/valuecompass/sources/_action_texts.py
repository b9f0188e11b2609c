"""Action texts for showing: per context × item × inclination, the words of its action.

An ``--actions`` SRC is a file :func:`read_action_file` reads (a tidy CSV or JSONL, or the
value–action study's released actions) or an action set in a store (``STORE#SET``). Both give
the same table, so what shows the actions (the report's most misaligned cells) never needs to
know where they came from.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from valuecompass.answers import INCLINATIONS
from valuecompass.instrument import Instrument, context_columns
from valuecompass.sources._actions import ActionFileError, read_action_file
from valuecompass.sources._load import is_store

#: The table's columns past the context axes.
TEXT_COLUMNS = ("value", "inclination", "action")


def load_action_texts(src: str | Path, instrument: Instrument) -> pd.DataFrame:
    """The actions of SRC as a table: one column per context axis of INSTRUMENT, ``value``
    (the item id), ``inclination`` and ``action`` (its text; '' where the set keeps only a
    reason it is missing).

    Edge cases: a store without the set, or with none, and a set of another instrument are
    refused (:class:`ActionFileError`) saying which; a file is checked as an import would be.
    """
    axes = context_columns(instrument)
    text = str(src)
    if is_store(text):
        table = _store_set(text, instrument)
    else:
        path = Path(src)
        if not path.is_file():
            raise ActionFileError(f"{path}: no such file")
        found = read_action_file(path, instrument)
        table = pd.DataFrame.from_records(
            [{**dict(r["context"]), "value": r["item"], "inclination": r["inclination"],
              "action": r["text"]} for r in found.rows],
            columns=[*found.axes, *TEXT_COLUMNS],
        )  # fmt: skip
    return table[[*axes, *TEXT_COLUMNS]].astype(str)


def _store_set(text: str, instrument: Instrument) -> pd.DataFrame:
    from valuecompass.store import actions as store
    from valuecompass.store import open_store, redact

    location, _, name = text.partition("#")
    shown = redact(location)
    engine = open_store(location, create=False)
    try:
        sets = store.list_sets(engine)
        if not name:
            if len(sets) != 1:
                known = ", ".join(s.name for s in sets) or "none"
                raise ActionFileError(f"{shown}: name the action set as STORE#SET (sets: {known})")
            name = sets[0].name
        found = next((s for s in sets if s.name == name), None)
        if found is None:
            known = ", ".join(s.name for s in sets) or "none"
            raise ActionFileError(f"{shown}: no action set {name!r} (sets: {known})")
        if found.instrument != instrument.id:
            raise ActionFileError(
                f"{shown}#{name}: an action set of instrument {found.instrument!r}, not "
                f"{instrument.id!r}"
            )
        table = store.set_actions(engine, found)
    finally:
        engine.dispose()
    absent = [a for a in context_columns(instrument) if a not in table.columns]
    if absent:
        raise ActionFileError(f"{shown}#{name}: the set has no axis {', '.join(absent)}")
    return table[table["inclination"].isin(INCLINATIONS)]
