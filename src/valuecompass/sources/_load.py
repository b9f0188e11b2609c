"""Resolve a ``--humans`` or ``--llm`` SRC into a tidy answer table.

A SRC is one of:

* a folder in the paper's released layout (its root, ``humans/``, ``llm_outputs/`` or one
  model's folder under it);
* a people's CSV with ``PID``, ``location`` and one column per value;
* a tidy answer CSV written by ``valuecompass runs export`` or ``survey export``;
* a store (a SQLite file or a database URL): a model run with ``--llm STORE#RUN`` (the run
  name may be left out when the store holds one run), the survey's people with ``--humans``
  (``--humans STORE#RUN`` sets a run in the people's place: one model, or one model's
  choices, against another).

A model is scored by its answers (``score="answer"``, the paper's way: the option it wrote) or
by its option probabilities (``score="probs"``: the expected scale position under the
distribution read from the first answer token, stored by runs whose backend returns it).
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from valuecompass import answers as ans
from valuecompass.answers import read_tidy
from valuecompass.common import header_of
from valuecompass.errors import ValueCompassError
from valuecompass.instrument import Instrument
from valuecompass.sources._comparable import Side, check_comparable, check_run, record_instrument
from valuecompass.sources._humans import read_human_csv, read_human_folder
from valuecompass.sources._released import FILE_GLOB, model_folders, read_model_folder
from valuecompass.sources._run_scales import with_scales
from valuecompass.store import runs
from valuecompass.store.runs import RunRecord

Scoring = Literal["answer", "probs"]
SCORINGS: tuple[Scoring, ...] = ("answer", "probs")


class SourceError(ValueCompassError, ValueError):
    """A SRC that names nothing readable."""


def load_source(
    src: str | Path,
    instrument: Instrument,
    side: Side,
    score: Scoring = "answer",
    choices: bool = False,
) -> tuple[pd.DataFrame, ans.ImportReport]:
    """Read SRC as people's answers (``side="humans"``) or a model's (``side="llm"``).

    ``score="probs"`` scores a model by its option probabilities instead of its answers. A
    choice run (``run --task choice``) reads as the tidy choice table when CHOICES is true
    (with probabilities kept in ``p_opposes``); otherwise it is refused, naming the commands
    that read choices.
    """
    if score not in SCORINGS:
        raise SourceError(f"{src}: unknown scoring {score!r}; choose one of {', '.join(SCORINGS)}")
    table, report = _read_source(src, instrument, side)
    if ans.is_choice_table(table):
        if not choices:
            raise SourceError(
                f"{report.source}: a choice run (run --task choice): its answers are choices "
                "between two actions, not ratings; read them with gap --acted, report --acted "
                "or align"
            )
        return table, report
    if side == "llm":  # a run that says it used other items or scales is refused
        check_run(report.manifest, instrument, report.source)
    if side == "llm" and score == "probs":
        table = score_by_probs(table, report.source, option_positions(instrument))
        report.scoring = score
        report.missing.clear()
        report.missing.update(m for m in table["missing"] if m)
    return table, report


def _read_source(
    src: str | Path, instrument: Instrument, side: Side
) -> tuple[pd.DataFrame, ans.ImportReport]:
    text = str(src)
    if is_store(text):
        return _load_store(text, instrument, side)
    path = Path(src)
    if not path.exists():
        raise SourceError(f"{path}: no such file or folder")
    if path.is_file():
        return _load_file(path, instrument, side)
    return _load_folder(path, instrument, side)


def option_positions(instrument: Instrument) -> dict[str, float]:
    """Option code → raw position over the scales a model answers on (``roles.wordings``)."""
    out: dict[str, float] = {}
    for scale in dict.fromkeys(instrument.scale_for(w).id for w in instrument.wording_ids):
        rating = instrument.scale(scale)
        for code, position in zip(rating.codes, rating.positions, strict=True):
            if out.setdefault(code, position) != position:
                raise SourceError(
                    f"the instrument's model scales give option {code!r} two positions "
                    f"({out[code]} and {position}); scoring by probabilities "
                    "needs one position per option code"
                )
    return out


def score_by_probs(table: pd.DataFrame, source: str, positions: dict[str, float]) -> pd.DataFrame:
    """The answers scored by their option probabilities.

    Each position becomes the expected position under the answer's distribution, and the
    ``probs`` column that distribution over positions (``{position: probability}``, for the
    distribution distances); an answer without probabilities becomes missing (``no_probs``).
    POSITIONS maps option codes to positions (:func:`option_positions`).
    """
    expected = (
        pd.to_numeric(table["expected"], errors="coerce")
        if "expected" in table.columns
        else pd.Series(np.nan, index=table.index)
    )
    if expected.isna().all():
        raise SourceError(
            f"{source}: no option probabilities to score by; they are stored by runs of the "
            "local and transformers backends (and openai with --logprobs), and kept in the "
            "CSV of 'runs export'"
        )
    out = table.copy()
    out["position"] = expected.astype(float)
    had = out["missing"].where(out["missing"] != "", "no_probs")
    out["missing"] = had.where(expected.isna(), "")
    stored = out["probs"] if "probs" in out.columns else pd.Series(None, index=out.index)
    out["probs"] = [
        _by_position(text, positions, source) if has else None
        for text, has in zip(stored, expected.notna(), strict=True)
    ]
    return out


def _by_position(
    text: object, positions: dict[str, float], source: str
) -> dict[float, float] | None:
    """A stored ``{code: probability}`` JSON as ``{position: probability}`` (renormalised
    over the scored options); ``None`` when there is none."""
    if not isinstance(text, str) or not text:
        return None
    try:
        by_code = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(f"{source}: option probabilities that are not JSON: {text!r}") from exc
    mass: dict[float, float] = {}
    for code, p in by_code.items():
        if code in positions:
            mass[positions[code]] = mass.get(positions[code], 0.0) + float(p)
    total = sum(mass.values())
    return {pos: p / total for pos, p in mass.items()} if total > 0 else None


def _load_file(
    path: Path, instrument: Instrument, side: Side
) -> tuple[pd.DataFrame, ans.ImportReport]:
    if path.suffix.lower() != ".csv":
        raise SourceError(f"{path}: expected a CSV file or a folder in the released layout")
    header = header_of(path, SourceError)
    if not header:
        raise SourceError(f"{path}: the file is empty")
    if "PID" in header and "location" in header:
        if side == "llm":
            raise SourceError(
                f"{path}: looks like people's answers (PID and location columns), not a "
                "model's; give it as --humans"
            )
        return read_human_csv(path, instrument)
    if {"source", "value", "position"} <= set(header):
        return read_tidy(path, instrument, side)
    raise SourceError(
        f"{path}: neither a people's CSV (PID, location, value columns) "
        "nor a tidy answer CSV (source, a column per context axis, value, position, ...)"
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
#: Endings of files meant as stores: such a file that is not one is refused as a store.
STORE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


def is_store(text: str) -> bool:
    """A database URL, or a file meant as a store: a SQLite file, one named ``*.db`` (or
    ``.sqlite``), or one followed by ``#RUN``; opening one that is no store says why."""
    if "://" in text:
        return True
    path, run = Path(text), False
    if not path.exists() and "#" in text:
        path, run = Path(text.split("#", 1)[0]), True
    if not path.is_file():
        return False
    if run or path.suffix.lower() in STORE_SUFFIXES:
        return True
    try:
        with path.open("rb") as fh:
            return fh.read(16) == SQLITE_MAGIC
    except OSError:
        return False


def _load_store(
    text: str, instrument: Instrument, side: Side
) -> tuple[pd.DataFrame, ans.ImportReport]:
    from valuecompass.store import open_store, redact

    location, _, run_name = text.partition("#")
    engine = open_store(location, create=False)
    shown = redact(location)  # no password in messages or the report
    try:
        if side == "humans" and not run_name:
            survey = importlib.import_module("valuecompass.store.survey")
            table = survey.human_answers(engine, instrument)
            report = ans.ImportReport(source=shown, rows=len(table), answers=len(table))
            report.respondents = int(table["respondent"].nunique())
        else:
            table, report = _load_run(engine, shown, run_name, instrument)
    finally:
        engine.dispose()
    report.store = True
    report.missing.update(m for m in table["missing"] if m)
    return table, report


def _load_run(
    engine: Engine, location: str, run_name: str, instrument: Instrument
) -> tuple[pd.DataFrame, ans.ImportReport]:
    """A stored run's answers, refused when the instrument it stored differs from INSTRUMENT
    in its items, axes or scales (:func:`check_comparable`)."""
    record = find_run(engine, location, run_name)
    used = record_instrument(record)
    if used is not None:
        check_comparable(used, instrument, f"{location}#{record.name}")
    if record.task == "choice":
        table = runs.run_choices(engine, record)
        report = ans.ImportReport(source=f"{location}#{record.name}", rows=len(table),
                                  answers=len(table))  # fmt: skip
        report.manifest = record.summary()
        report.notes.append(f"choices between the actions of set {record.action_set!r}")
        return table, report
    table = with_scales(runs.run_answers(engine, record), record)
    report = ans.ImportReport(
        source=f"{location}#{record.name}", rows=len(table), answers=len(table)
    )
    report.manifest = record.summary()
    report.design = record.prompt_design
    report.variant_levels = run_levels(record)
    return table, report


def find_run(engine: Engine, location: str, run_name: str) -> RunRecord:
    """The run RUN_NAME of the store at LOCATION, or its one run when RUN_NAME is empty; a
    :class:`SourceError` naming the runs there when it is not one of them."""
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
    return record


def run_levels(record: RunRecord) -> dict[int, dict[str, str]] | None:
    """The factor levels of each variant of the prompt design RECORD's run used: its stored
    design (runs from store schema 4 on), else the bundled design with its digest."""
    if record.prompt_design is not None:
        from valuecompass.prompts import PromptSet

        return PromptSet.model_validate(record.prompt_design).levels()
    return bundled_levels(record.prompts_digest)


def bundled_levels(digest: str) -> dict[int, dict[str, str]] | None:
    """The variant levels of the bundled prompt design with this digest, if one has it (a run
    made with a design of one's own says only its digest: pass the design itself then)."""
    from valuecompass.prompts import BUNDLED, read_prompts
    from valuecompass.runner import prompts_digest

    for name in BUNDLED:
        design = read_prompts(name)
        if prompts_digest(design) == digest:
            return design.levels()
    return None
