"""Reading a tidy answer CSV with every row checked, against pandas reading it unchecked.

A mock run of the whole grid with 4 samples (50,176 answers) is exported with ``runs export``,
then read back by ``load_source`` (each row's ids, position, variant and duplicates checked,
with line numbers). The baseline, measured in the same run, is ``pandas.read_csv`` of the same
file into the answer table with no checks; the printed ratio is checked over unchecked
(target: at most 2).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from valuecompass import answers as ans
from valuecompass.instrument import load_instrument
from valuecompass.runner import RunConfig, run_model
from valuecompass.sources import load_source
from valuecompass.store import open_store
from valuecompass.store import runs as store


def _unchecked(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    for column in ("position", "variant", "expected"):
        df[column] = df[column].replace("", np.nan)
    table = ans.frame(df.to_dict("records"), ["country", "scenario"])
    table["expected"] = pd.to_numeric(df["expected"], errors="coerce").to_numpy()
    table["probs"] = df["probs"].replace("", None).to_numpy()
    return table


def _best(func: object, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    form = load_instrument()
    with tempfile.TemporaryDirectory() as tmp:
        db, csv = Path(tmp) / "b.db", Path(tmp) / "b.csv"
        run_model(RunConfig(model="mock", db=str(db), run="b", samples=4, progress=False))
        engine = open_store(db, create=False)
        record = store.get_run(engine, "b")
        assert record is not None
        answers = store.run_answers(engine, record)
        ans.write_csv(answers, csv, store.run_axes(record), extra=("expected", "probs"))
        engine.dispose()
        rows = len(_unchecked(csv))
        base = _best(lambda: _unchecked(csv))
        checked = _best(lambda: load_source(csv, form, "llm"))
    print(f"tidy CSV of {rows} answers: unchecked {base:.2f} s, checked {checked:.2f} s")
    print(f"ratio checked/unchecked: {checked / base:.2f} (target <= 2)")


if __name__ == "__main__":
    main()
